"""Notebook sources: the built notebooks match them, and the authoring rules are enforced."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.authoring.notebooks import (
    PHASES,
    SETUP_INCLUDE,
    NotebookSourceError,
    build_all,
    build_notebook,
    for_course,
    grade_cells,
)
from autograder.authoring.solutions import SOLUTIONS, solution_notebook
from autograder.paths import ASSIGNMENTS
from geoai_ref.course import REAL_COURSE


def test_committed_notebooks_match_their_sources() -> None:
    assert build_all(check=True) == [], "run `geoai-grade notebooks` and commit the rebuilt notebooks"


@pytest.mark.parametrize("phase", list(PHASES))
def test_every_notebook_starts_with_the_locked_setup_cell(phase: str) -> None:
    nb = build_notebook(PHASES[phase].source)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata["nbgrader"] == {"grade": False, "grade_id": "setup_cell", "locked": True,
                                            "schema_version": 3, "solution": False, "task": False}
    assert "_native_stderr_silenced" in code[0].source
    assert grade_cells(nb), "a notebook without grade cells grades nothing"


@pytest.mark.parametrize("phase", list(PHASES))
def test_every_written_answer_has_its_question_in_a_cell_students_keep(phase: str) -> None:
    """nbgrader replaces a markdown answer cell with "YOUR ANSWER HERE": its question must stand before it."""
    cells = build_notebook(PHASES[phase].source).cells
    answers = [i for i, c in enumerate(cells)
               if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
    assert answers, f"{phase} has no written answers"
    for i in answers:
        before = cells[i - 1]
        grade_id = cells[i].metadata["nbgrader"]["grade_id"]
        assert before.cell_type == "markdown" and not before.metadata.get("nbgrader", {}).get("solution"), grade_id
        assert "?" in before.source, f"{grade_id}: the cell before it asks no question"
        assert "?" not in cells[i].source.split("*Model answer.*")[0], f"{grade_id}: a question the release erases"


@pytest.mark.parametrize("phase", list(PHASES))
def test_committed_solutions_hold_the_same_cells_as_the_sources(phase: str) -> None:
    committed = SOLUTIONS / phase / f"{PHASES[phase].notebook}.ipynb"
    assert committed.exists(), f"run `geoai-grade solutions --phase {phase}` and commit {committed}"
    executed = nbformat.read(committed, as_version=4)
    expected = solution_notebook(phase)
    assert [c.source for c in executed.cells] == [c.source for c in expected.cells], \
        f"{committed} is out of date with assignments/{phase}: rerun `geoai-grade solutions --phase {phase}`"
    assert all(c.get("execution_count") for c in executed.cells if c.cell_type == "code"), "not executed"


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "assignments" / "p").mkdir(parents=True)
    (tmp_path / "assignments" / "shared.py").write_text("x = 1\n")
    path = tmp_path / "assignments" / "p" / "nb.src.py"
    path.write_text(text)
    return path


def test_short_metadata_is_completed_and_includes_are_inlined(tmp_path: Path) -> None:
    nb = build_notebook(_write(tmp_path, '# %% include="shared.py"\n\n'
                                         '# %% nbgrader={"grade_id": "t", "grade": true, "points": 2}\nassert x\n'))
    assert nb.cells[0].source == "x = 1"
    assert nb.cells[0].metadata["nbgrader"]["locked"] is True
    assert nb.cells[1].metadata["nbgrader"] == {"grade": True, "grade_id": "t", "locked": True, "points": 2,
                                                "schema_version": 3, "solution": False, "task": False}


@pytest.mark.parametrize(("text", "message"), [
    ('# %% nbgrader={"grade_id": "a", "grade": true}\nassert 1\n', "needs points"),
    ('# %% nbgrader={"grade_id": "a", "solution": true}\nx = 1\n', "no ### BEGIN SOLUTION"),
    ('# %% nbgrader={"grade_id": "a"}\nx = 1\n\n# %% nbgrader={"grade_id": "a"}\ny = 1\n', "duplicate grade_id"),
    ('# %% nbgrader={"grade_id": "a", "points": 1}\nx = 1\n', "not a grade cell"),
    ('# %% include="nope.py"\n', "not found"),
])
def test_authoring_mistakes_are_rejected_with_the_cell_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(NotebookSourceError, match=message):
        build_notebook(_write(tmp_path, text))


def test_the_setup_cell_states_the_course_it_is_built_for() -> None:
    from dataclasses import replace

    setup = (ASSIGNMENTS / SETUP_INCLUDE).read_text()
    assert for_course(setup, REAL_COURSE) == setup  # the shared file states the real course: the committed notebooks
    other = replace(REAL_COURSE, name="other", class_names=("Land", "Lake"), class_colors=("#aa7744", "#2255cc"),
                    class_kinds=("Agriculture", "Water"), s2_bands=("B4", "B8"), s2_scale=1.0)
    built = build_notebook(PHASES["phase4a"].source, other).cells
    changed = {line for line in built[[c.metadata.get("nbgrader", {}).get("grade_id") for c in built]
                                      .index("setup_cell")].source.splitlines()} - set(setup.splitlines())
    assert changed == {'CLASS_NAMES = ["Land", "Lake"]  # label i is CLASS_NAMES[i]', 'S2_BANDS = ["B4", "B8"]',
                       "S2_SCALE = 1.0  # the Week 3 patches store Sentinel-2 digital numbers: reflectance x S2_SCALE"}
    with pytest.raises(NotebookSourceError, match="S2_SCALE = ..."):
        for_course(setup.replace("S2_SCALE = ", "S2_SCALE: float = "), other)


def test_phase4c_given_simple_cnn_is_the_week3_architecture() -> None:
    """4C copies the Week 3 SimpleCNN inline (students never get geoai_ref): keep the copy in step."""
    import numpy as np

    from autograder.authoring.solutions import solution_namespace
    from geoai_ref.models.simple_cnn import build_simple_cnn as reference

    namespace = solution_namespace("phase4c")
    given = next(c for c in build_notebook(PHASES["phase4c"].source).cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "4c_simple_cnn")
    exec(compile(given.source, "<4c_simple_cnn>", "exec"), namespace)  # noqa: S102
    x = np.random.default_rng(0).random((20, 8, 8, 7)).astype(np.float32)
    ours, theirs = namespace["build_simple_cnn"](x), reference(7, x)
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in theirs.layers]
    assert ours.count_params() == theirs.count_params()
