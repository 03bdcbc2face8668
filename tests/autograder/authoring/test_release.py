"""The student release: what nbgrader generates plus each phase's data, and nothing that must stay home."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from conftest import FIXTURES, removed_when_passed

from autograder.authoring.course import PHASE_DATA, make_course
from autograder.authoring.notebooks import PHASES
from autograder.authoring.release import REQUIREMENTS_FILE, audit_release, build_release, expected_files
from autograder.paths import HIDDEN_DATA
from geoai_ref import layout
from geoai_ref.course import COURSE


@pytest.fixture(scope="module")
def release(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with removed_when_passed(request, tmp_path_factory.mktemp("course")) as root:
        yield build_release(make_course(root))


def test_each_phase_ships_exactly_its_notebook_data_and_requirements(release: Path) -> None:
    for phase in PHASES:
        files = {p.relative_to(release / phase) for p in (release / phase).rglob("*") if p.is_file()}
        assert files == expected_files(phase)
        assert set(PHASE_DATA[phase]) <= files
    assert "tensorflow" in (release / "phase4a" / REQUIREMENTS_FILE).read_text()
    assert audit_release(release) == []


def test_every_phase_ships_the_data_notes_with_the_courses_attribution(release: Path) -> None:
    for phase in PHASES:
        notes = (release / phase / layout.DATA_NOTES).read_text()
        assert COURSE.attribution in notes and "Synthetic" in notes
    # the course's real polygons travel with 4B, unchanged, beside that attribution
    assert (release / "phase4b" / layout.POLYGONS).read_bytes() == (FIXTURES / "course" / "larger_polygons.geojson"
                                                                   ).read_bytes()


def test_released_notebooks_hold_stubs_not_solutions_and_no_hidden_tests(release: Path) -> None:
    for phase in PHASES:
        nb = nbformat.read(release / phase / f"{PHASES[phase].notebook}.ipynb", as_version=4)
        text = "\n".join(c.source for c in nb.cells)
        assert "### BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        assert "geoai_ref" not in text and "from autograder" not in text
        solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        assert solutions and all("raise NotImplementedError()" in c.source or c.source == "YOUR ANSWER HERE"
                                 for c in solutions)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize(("leak", "message"), [
    ("solution", "contains '### BEGIN SOLUTION'"),
    ("hidden_test", "contains '### BEGIN HIDDEN TESTS'"),
    ("import", "imports geoai_ref or autograder"),
    ("hidden_data", "copy of hidden evaluation data"),
    ("source", "unexpected file Week_4_Exercise_Phase4A.src.py"),
    ("answer", "a written answer was released"),
])
def test_audit_catches_every_kind_of_leak(release: Path, tmp_path: Path, leak: str, message: str) -> None:
    copy = tmp_path / "release"
    shutil.copytree(release, copy)
    folder = copy / "phase4a"
    path = folder / f"{PHASES['phase4a'].notebook}.ipynb"
    nb = nbformat.read(path, as_version=4)
    code = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code")
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "markdown")
    if leak == "solution":
        code.source += "\n### BEGIN SOLUTION\nreturn 1\n### END SOLUTION"
    elif leak == "hidden_test":
        code.source += "\n### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS"
    elif leak == "import":
        code.source = "from autograder import hidden_data\n" + code.source
    elif leak == "hidden_data":
        shutil.copy(HIDDEN_DATA / "data" / "processed" / "y_hidden.npy", folder / "data" / "processed" / "y.npy")
    elif leak == "source":
        shutil.copy(PHASES["phase4a"].source, folder)
    elif leak == "answer":
        answer.source = "The model collapsed because ..."
    nbformat.write(nb, path)
    assert any(message in p for p in audit_release(copy, ["phase4a"])), audit_release(copy, ["phase4a"])


def test_audit_reports_a_missing_phase_folder(tmp_path: Path) -> None:
    assert audit_release(tmp_path, ["phase4b"]) == [f"phase4b: no release folder {tmp_path / 'phase4b'}"]
