"""Small real nbgrader gradebooks for the TA-review tests, and saving in them the way formgrader does."""

from __future__ import annotations

import functools
import shutil
import tempfile
import warnings
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.authoring.course import use_venv_tools
from autograder.rubric.definition import load_rubric

NOTEBOOK = "Week_4_Exercise_Phase4A"
PHASE = "phase4a"
ANSWER = "4a_analysis"  # a written answer (nbgrader-manual)
TEST = "4a_collapse"  # an automatic check (nbgrader)
#: Each cell carries its rubric check's points, as in the notebooks (rubric.definition.notebook_problems).
POINTS = {c.id: c.points for c in load_rubric().checks()}


def make_gradebook(db: Path, students: tuple[str, ...] = ("ada", "ben")) -> Path:
    """A gradebook at ``db`` with Phase 4A's notebook, one answer cell and one test cell, and a submission of each
    student (automatic cell passed, answer waiting for a TA), as nbgrader's autograde leaves it."""
    db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_template(students), db)
    return db


@functools.cache
def _template(students: tuple[str, ...]) -> Path:
    """Made once per test process: nbgrader stamps a new gradebook with `alembic` (seconds)."""
    use_venv_tools()  # nbgrader's Gradebook runs `alembic` from PATH
    db = Path(tempfile.mkdtemp(prefix="gradebook-")) / "gradebook.db"
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{db}") as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's "not in session" warnings of add_submission
        gb.add_assignment(PHASE)
        gb.update_or_create_notebook(NOTEBOOK, PHASE)
        gb.update_or_create_grade_cell(ANSWER, NOTEBOOK, PHASE, max_score=POINTS[ANSWER], cell_type="markdown")
        gb.update_or_create_solution_cell(ANSWER, NOTEBOOK, PHASE)
        gb.update_or_create_grade_cell(TEST, NOTEBOOK, PHASE, max_score=POINTS[TEST], cell_type="code")
        for student in students:
            gb.add_student(student)
            gb.add_submission(PHASE, student)
            test = gb.find_grade(TEST, NOTEBOOK, PHASE, student)
            test.auto_score, test.needs_manual_grade = POINTS[TEST], False
            answer = gb.find_grade(ANSWER, NOTEBOOK, PHASE, student)
            answer.needs_manual_grade = True
        gb.db.commit()
    return db


def formgrader_score(db: Path, student: str, cell: str, score: float | None) -> None:
    """Save a score the way formgrader's grade handler does (nbgrader.server_extensions.formgrader.apihandlers)."""
    with Gradebook(f"sqlite:///{db}") as gb:
        grade = gb.find_grade(cell, NOTEBOOK, PHASE, student)
        grade.manual_score = score
        grade.needs_manual_grade = score is None and grade.auto_score is None
        gb.db.commit()


def formgrader_comment(db: Path, student: str, cell: str, comment: str) -> None:
    """Save a comment the way formgrader's comment handler does."""
    with Gradebook(f"sqlite:///{db}") as gb:
        gb.find_comment(cell, NOTEBOOK, PHASE, student).manual_comment = comment
        gb.db.commit()


def needs_manual_grade(db: Path, student: str, cell: str) -> bool:
    with Gradebook(f"sqlite:///{db}") as gb:
        return bool(gb.find_grade(cell, NOTEBOOK, PHASE, student).needs_manual_grade)
