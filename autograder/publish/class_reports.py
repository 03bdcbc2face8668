"""From the rubric store to the files of a whole class: every student's rubric dict (scored by
``autograder.rubric.scoring``), handed to the renderings that TAs and students read.

The renderings themselves are ``student_report`` (TA report), ``dashboard`` (class index), ``lms`` (CSVs)
and ``feedback`` (student feedback).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from autograder.review.server import FORMGRADER_URL
from autograder.rubric.scoring import class_rubrics
from autograder.rubric.store import RubricStore


def write_reports(store: RubricStore, out: Path, title: str = "GeoAI Week 4: class dashboard",
                  formgrader: str | None = FORMGRADER_URL) -> list[dict]:
    """``OUT/<student>/rubric.{json,md,html}``, ``OUT/summary.csv`` and ``OUT/index.html``; returns the rubrics.

    Written answers in the rubric reports link to formgrader at ``formgrader`` (None: no links).
    """
    from autograder.publish.dashboard import write_dashboard
    from autograder.publish.lms import write_summary_csv
    from autograder.publish.student_report import write_student_report

    rubrics = class_rubrics(store)
    out.mkdir(parents=True, exist_ok=True)
    for r in rubrics:
        write_student_report(r, out / r["student"], formgrader)
    write_summary_csv(rubrics, out / "summary.csv")
    write_dashboard(rubrics, out, title=title)
    return rubrics


def write_feedback_pages(store: RubricStore, course_root: Path, out: Path,
                         progress: Callable[[str], None] = lambda m: None) -> dict[str, Path]:
    """Student feedback per student: nbgrader's feedback (hidden tests removed) + the rubric feedback."""
    from autograder.authoring.course import Course
    from autograder.publish.feedback import nbgrader_feedback, write_feedback
    from autograder.publish.rubric_dict import ordered_phases

    rubrics = class_rubrics(store)
    phases = ordered_phases(p for r in rubrics for p in r["phases"])
    nb_pages = nbgrader_feedback(Course(course_root), phases, progress)
    return {r["student"]: write_feedback(r, out / r["student"], nb_pages.get(r["student"], {})) for r in rubrics}
