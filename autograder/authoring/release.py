"""The student release: nbgrader's generated notebooks plus the data each phase needs, audited.

``build_release`` runs ``nbgrader generate_assignment`` for each phase (which also records the
grade cells in the gradebook), copies the phase's data from the course's release data (the fixtures, or the
course's own Week 3 data: :mod:`autograder.authoring.release_data`), writes
``requirements.txt``, and then :func:`audit_release` proves that nothing else went out: no
solutions, no hidden tests, no ``geoai_ref`` / ``autograder``, no hidden data, no text sources.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat

from autograder.authoring.course import PHASE_DATA, REQUIREMENTS, Course, stage_data
from autograder.authoring.notebooks import (
    HIDDEN_BEGIN,
    HIDDEN_END,
    PHASES,
    SOLUTION_BEGIN,
    SOLUTION_END,
    build_all,
    build_notebook,
    setup_source,
)
from autograder.authoring.release_data import hidden_data, release_data
from autograder.paths import HIDDEN_DATA, REPO
from geoai_ref.course import COURSE
from geoai_ref.errors import ProblemsFound
from geoai_ref.phase import Phase

REQUIREMENTS_FILE = "requirements.txt"
_FORBIDDEN_IMPORT = re.compile(r"^\s*(from|import)\s+(geoai_ref|autograder)\b", re.MULTILINE)
_FORBIDDEN_TEXT = ("geoai_ref", SOLUTION_BEGIN, SOLUTION_END, HIDDEN_BEGIN, HIDDEN_END, "checks.phase4")


class ReleaseError(ProblemsFound):
    """The release would leak something or is incomplete; the message lists every problem."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def expected_files(phase: Phase) -> set[Path]:
    """Every file a phase's release folder holds, relative to it."""
    return {Path(f"{PHASES[phase].notebook}.ipynb"), Path(REQUIREMENTS_FILE), *PHASE_DATA[phase]}


def audit_release(release: Path, phases: list[Phase] | None = None) -> list[str]:
    """Problems in a release folder (empty when it is clean). Checks, per phase:

    exactly the expected files; no file identical to one of the hidden data; a notebook without
    solution or hidden-test markers, without ``geoai_ref`` / ``autograder`` imports, and with every
    solution region replaced by nbgrader's stub.
    """
    problems = []
    hidden = {_sha256(p) for p in HIDDEN_DATA.rglob("*") if p.is_file()}
    for phase in phases or list(PHASES):
        folder = release / phase
        if not folder.is_dir():
            problems.append(f"{phase}: no release folder {folder}")
            continue
        files = {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}
        for extra in sorted(files - expected_files(phase)):
            problems.append(f"{phase}: unexpected file {extra} (only the notebook, its data and "
                            f"{REQUIREMENTS_FILE} are released)")
        for missing in sorted(expected_files(phase) - files):
            problems.append(f"{phase}: missing {missing}")
        for rel in sorted(files):
            if _sha256(folder / rel) in hidden:
                problems.append(f"{phase}: {rel} is a copy of hidden evaluation data")
        notebook = folder / f"{PHASES[phase].notebook}.ipynb"
        if notebook.exists():
            problems += [f"{phase}: {p}" for p in audit_notebook(nbformat.read(notebook, as_version=4))]
    return problems


def audit_notebook(nb: nbformat.NotebookNode) -> list[str]:
    """Leaks in a student notebook: solution / hidden-test markers, reference imports, unstubbed solutions."""
    problems = []
    for i, cell in enumerate(nb.cells):
        where = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {i + 1}")
        for text in _FORBIDDEN_TEXT:
            if text in cell.source:
                problems.append(f"{where}: contains {text!r}")
        if cell.cell_type == "code" and _FORBIDDEN_IMPORT.search(cell.source):
            problems.append(f"{where}: imports geoai_ref or autograder")
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code" and "raise NotImplementedError()" not in cell.source:
            problems.append(f"{where}: a solution cell without nbgrader's stub (solution not cleared?)")
        if meta.get("solution") and cell.cell_type == "markdown" and cell.source.strip() != "YOUR ANSWER HERE":
            problems.append(f"{where}: a written answer was released (expected 'YOUR ANSWER HERE')")
    return problems


def _released_setup(course: Course, phase: Phase) -> str | None:
    """The setup cell of the course folder's source notebook of ``phase`` (None if it has none)."""
    path = course.source_notebook(phase)
    return setup_source(nbformat.read(path, as_version=4)) if path.is_file() else None


def build_release(course: Course, phases: list[Phase] | None = None,
                  progress: Callable[[str], None] | None = None) -> Path:
    """Generate, stage and audit the release of ``phases`` (default: all) under ``course.release``.

    The data come from :func:`~autograder.authoring.release_data.release_data` of the course.

    Raises:
        ReleaseError: if the sources and notebooks differ, the course folder's notebooks state another course's
            classes, or the audit finds a problem.
        geoai_ref.errors.MissingInput: if the course's own data is recorded but unreadable, or was built for another
            course than the one this process follows.
        autograder.authoring.course.NbgraderError: if nbgrader fails.
    """
    phases = phases or list(PHASES)
    data = release_data(course.root)
    if progress:
        progress(f"data: {data.origin}")
    if course.root == REPO:
        stale = build_all(check=True)
        if stale:
            raise ReleaseError(f"the notebooks of {stale} differ from their .src.py sources: run `geoai-grade "
                               "notebooks` and review the change before releasing")
    other = [p for p in phases if _released_setup(course, p) != setup_source(build_notebook(PHASES[p].source))]
    if other:
        raise ReleaseError(f"the source notebooks of {other} in {course.root / 'assignments'} do not state the "
                           f"classes, bands and scale of the course {COURSE.name!r} in their setup cell: build the "
                           "course folder's notebooks for it (`geoai-grade release --week3 FOLDER --config "
                           "course.json` does)")
    hidden_data(progress or (lambda _: None))  # audited against below; another course's is made once
    for phase in phases:
        if progress:
            progress(f"{phase}: nbgrader generate_assignment")
        folder = course.release / phase
        if folder.exists():
            shutil.rmtree(folder)
        course.generate(phase)
        stage_data(phase, folder, data)
        (folder / REQUIREMENTS_FILE).write_text(REQUIREMENTS)
    problems = audit_release(course.release, phases)
    if problems:
        raise ReleaseError("the release is not safe to hand out:\n  " + "\n  ".join(problems))
    if progress:
        total = sum(p.stat().st_size for p in course.release.rglob("*") if p.is_file())
        progress(f"release written to {course.release} ({total / 1e6:.1f} MB), audit clean")
    return course.release
