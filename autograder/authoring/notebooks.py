"""The assignment notebooks, built from reviewable text sources.

Each phase's instructor notebook ``assignments/<phase>/Week_4_Exercise_Phase4X.ipynb`` is
generated from ``Week_4_Exercise_Phase4X.src.py``, a jupytext "percent" file. A cell's nbgrader
role is written in its header in short form and completed here, so the sources stay readable::

    # %% nbgrader={"grade_id": "4a_normalise_code", "solution": true}
    # %% nbgrader={"grade_id": "4a_normalise", "grade": true, "points": 3}
    # %% include="setup_cell.py"

Defaults: ``grade`` and ``solution`` False, ``locked`` = not a solution cell,
``schema_version`` 3; ``points`` only on grade cells (required there). ``include`` replaces
the cell's source with a shared file under ``assignments/`` and locks it.
See ``assignments/AUTHORING.md``.

The setup cell states the course's conventions (``CLASS_NAMES``, ``S2_BANDS``, ``S2_SCALE``); a notebook is built
for a course (:data:`geoai_ref.course.COURSE` by default), whose values replace the ones ``setup_cell.py`` holds
(the real course's, so the committed notebooks are the real course's).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

from autograder.paths import ASSIGNMENTS
from geoai_ref.course import COURSE, REAL_COURSE, CourseConfig
from geoai_ref.errors import UsageError
from geoai_ref.phase import Phase

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
#: The shared file of the locked setup cell, and the cell's grade_id (an include's cell is named by its file).
SETUP_INCLUDE = "setup_cell.py"
SETUP_GRADE_ID = Path(SETUP_INCLUDE).stem


@dataclass(frozen=True)
class Assignment:
    """One phase's nbgrader assignment: its id (the phase) and its notebook's name."""

    phase: Phase
    notebook: str

    @property
    def id(self) -> str:
        return self.phase.value

    @property
    def source(self) -> Path:
        return ASSIGNMENTS / self.id / f"{self.notebook}.src.py"

    @property
    def ipynb(self) -> Path:
        return ASSIGNMENTS / self.id / f"{self.notebook}.ipynb"


#: Every phase's assignment, in the exercise's order.
PHASES: dict[Phase, Assignment] = {phase: Assignment(phase, f"Week_4_Exercise_Phase{phase.label}") for phase in Phase}


class NotebookSourceError(UsageError):
    """A notebook source breaks an authoring rule; the message names the cell."""


def _nbgrader_metadata(short: dict, where: str) -> dict:
    meta = {"grade": False, "solution": False, "task": False, "schema_version": 3, **short}
    if "grade_id" not in meta:
        raise NotebookSourceError(f"{where}: nbgrader cells need a grade_id")
    meta.setdefault("locked", not meta["solution"])  # tests and given code are locked; answers are not
    if meta["grade"]:
        if not isinstance(meta.get("points"), int | float) or meta["points"] < 0:
            raise NotebookSourceError(f"{where}: grade cell {meta['grade_id']!r} needs points >= 0")
    elif "points" in meta:
        raise NotebookSourceError(f"{where}: {meta['grade_id']!r} has points but is not a grade cell")
    return dict(sorted(meta.items()))


#: The setup cell's statements of the course's conventions, and the value each takes from a course.
COURSE_STATEMENTS: dict[str, Callable[[CourseConfig], object]] = {
    "CLASS_NAMES": lambda course: list(course.class_names),
    "S2_BANDS": lambda course: list(course.s2_bands),
    "S2_SCALE": lambda course: float(course.s2_scale),
}


def for_course(setup_source: str, course: CourseConfig) -> str:
    """The setup cell's text with ``course``'s conventions stated (each ``NAME = value`` line of
    :data:`COURSE_STATEMENTS` gets the course's value; a comment after it stays).

    Raises:
        NotebookSourceError: if the text lacks one of those statements.
    """
    for name, value in COURSE_STATEMENTS.items():
        pattern = re.compile(rf"^{name} = [^#\n]*?(\s*#.*)?$", re.MULTILINE)
        if not pattern.search(setup_source):
            raise NotebookSourceError(f"the setup cell must state `{name} = ...` on one line (the course's value "
                                      "is written there when a notebook is built)")
        statement = f"{name} = {json.dumps(value(course))}"
        setup_source = pattern.sub(lambda m, text=statement: text + (m.group(1) or ""), setup_source, count=1)
    return setup_source


def build_notebook(source: Path, course: CourseConfig = COURSE) -> nbformat.NotebookNode:
    """The instructor notebook described by a ``.src.py`` file, for ``course`` (its setup cell states the course's
    classes, bands and scale).

    Raises:
        NotebookSourceError: on a duplicate grade_id, a missing include file, a solution cell
            without solution markers, a hidden-test region, or malformed nbgrader metadata.
    """
    nb = jupytext.read(source, fmt="py:percent")
    seen: set[str] = set()
    for i, cell in enumerate(nb.cells):
        where = f"{source.name} cell {i + 1}"
        include = cell.metadata.pop("include", None)
        if include is not None:
            path = source.parent.parent / include
            if not path.is_file():
                raise NotebookSourceError(f"{where}: include file {path} not found")
            cell.source = path.read_text().rstrip("\n")
            if include == SETUP_INCLUDE:
                cell.source = for_course(cell.source, course)
            cell.metadata.setdefault("nbgrader", {"grade_id": Path(include).stem, "locked": True})
        if "nbgrader" in cell.metadata:
            meta = _nbgrader_metadata(dict(cell.metadata["nbgrader"]), where)
            if meta["grade_id"] in seen:
                raise NotebookSourceError(f"{where}: duplicate grade_id {meta['grade_id']!r}")
            seen.add(meta["grade_id"])
            if cell.cell_type == "code" and meta["solution"] and SOLUTION_BEGIN not in cell.source:
                raise NotebookSourceError(f"{where}: solution cell {meta['grade_id']!r} has no {SOLUTION_BEGIN} region")
            cell.metadata["nbgrader"] = meta
        cell.metadata.pop("lines_to_next_cell", None)
        if HIDDEN_BEGIN in cell.source:
            raise NotebookSourceError(f"{where}: a hidden-test region would run in the student's kernel, where the "
                                      "student's code runs first and can fake it (and, jailed, cannot import the "
                                      "grader): write the check in autograder/checks and judge it from a probe or a "
                                      "check of the submitted files (assignments/AUTHORING.md)")
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
        "language_info": {"name": "python"},
    }
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    return nb


def serialise(nb: nbformat.NotebookNode) -> str:
    """Canonical notebook JSON (sorted keys, one-space indent), so a rebuild is byte-stable."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def setup_source(nb: nbformat.NotebookNode) -> str | None:
    """The text of a notebook's locked setup cell (None if it has none)."""
    return next((c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == SETUP_GRADE_ID),
                None)


def build_all(check: bool = False) -> list[str]:
    """Write every phase's ``.ipynb`` from its source, for the real course (the committed notebooks); with
    ``check``, only report which differ.

    Returns the phases whose notebook was (or, with ``check``, would be) rewritten.
    """
    changed = []
    for phase in PHASES.values():
        text = serialise(build_notebook(phase.source, REAL_COURSE))
        if not phase.ipynb.exists() or phase.ipynb.read_text() != text:
            changed.append(phase.id)
            if not check:
                phase.ipynb.write_text(text)
    return changed


def grade_cells(nb: nbformat.NotebookNode) -> dict[str, dict]:
    """grade_id -> nbgrader metadata of the graded cells (automatic tests and manual answers)."""
    return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")}
