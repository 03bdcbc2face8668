"""The class's CSV files: ``summary.csv`` (points per criterion, for the TAs) and the grades file an LMS imports
(Canvas, Moodle or a generic layout, see :data:`GRADE_FORMATS`).

One row per student, read from the rubric dicts; the grade is always the rubric's total and the status its own
``"status"`` (the pending check ids come from ``autograder.rubric.scoring``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from autograder.grading.results import Outcome
from autograder.publish.html import fmt_num
from autograder.publish.rubric_dict import flag_ids, ordered_phases, status, student_id
from autograder.rubric.scoring import pending_check_ids

GRADE_FORMATS = ("generic", "canvas", "moodle")
CANVAS_ASSIGNMENT = "Week 4 GeoAI"
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


@contextmanager
def _csv_rows(path: Path) -> Iterator[Any]:
    """A csv.writer on path (its folder created), closed on exit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        yield csv.writer(fh)


def criterion_ids(rubrics: Iterable[Mapping]) -> list[str]:
    """Criterion ids over all rubrics, in first-seen order."""
    return list(dict.fromkeys(str(c.get("id")) for r in rubrics for c in r.get("criteria") or []))


def outcomes_text(rubric: Mapping) -> str:
    """Phase outcomes as 'phase4a=graded;phase4b=timeout'."""
    phases = rubric.get("phases") or {}
    return ";".join(f"{p}={(phases[p] or {}).get('outcome', '?')}" for p in ordered_phases(phases))


def write_summary_csv(rubrics: list[dict], path: Path) -> Path:
    """One row per student: student,total,possible,status,<criterion id>...,flags,outcomes.

    A criterion column holds its points, empty while it waits for a TA (points null) or when the student's
    rubric lacks it. flags: distinct flag ids joined by ';'. outcomes: 'phase4a=graded;phase4b=timeout'.
    status is the rubric's own (scoring makes it "manual-pending" while a check waits for a TA).

    Raises:
        ValueError: a rubric has no "student".
    """
    path = Path(path)
    ids = criterion_ids(rubrics)
    with _csv_rows(path) as writer:
        writer.writerow(["student", "total", "possible", "status", *ids, "flags", "outcomes"])
        for r in rubrics:
            points = {str(c.get("id")): c.get("points") for c in r.get("criteria") or []}
            writer.writerow([student_id(r), fmt_num(r.get("total")), fmt_num(r.get("possible", 100)), status(r),
                             *(fmt_num(points.get(i)) for i in ids), ";".join(flag_ids(r)), outcomes_text(r)])
    return path


def _grade_comment(rubric: Mapping) -> str:
    parts = []
    pending = pending_check_ids(rubric)
    if pending:
        parts.append("manual points pending: " + ", ".join(pending))
    phases = rubric.get("phases") or {}
    outcomes = ((p, (phases[p] or {}).get("outcome")) for p in ordered_phases(phases))
    bad = [f"{p}: {o}" for p, o in outcomes if o != Outcome.GRADED]
    if bad:
        parts.append("; ".join(bad))
    if flag_ids(rubric):
        parts.append("flags: " + ", ".join(flag_ids(rubric)))
    return " | ".join(parts)


def write_grades_csv(rubrics: list[dict], path: Path, fmt: str = "generic", *,
                     canvas_assignment_id: str | int | None = None,
                     roster: Mapping[str, Mapping[str, str]] | None = None) -> Path:
    """LMS-ready grades, one row per student. The grade is always the rubric total.

    A student whose manual points are still pending gets the points awarded so far, and (generic) status
    "manual-pending" with the pending check ids in the comment: re-export after the TAs have entered them.

    Layouts:

    * ``generic``: ``student_id,grade,max_grade,status,comment``.
    * ``canvas``: Canvas's gradebook-import layout ``Student,ID,SIS User ID,SIS Login ID,Section,
      Week 4 GeoAI (<id>)`` with a second ``Points Possible`` row, as in a Canvas gradebook export. Canvas
      matches rows on ID or SIS User ID: without a ``roster`` the student id goes into SIS User ID and the other
      identity columns stay empty. ``roster`` maps a student id to any of Student, ID, SIS User ID, SIS Login ID,
      Section. The column header carries the Canvas assignment id (``canvas_assignment_id``); without one Canvas
      creates a new assignment named "Week 4 GeoAI" on import.
    * ``moodle``: ``ID number,Grade``. In Moodle's "Import grades > CSV file", map "ID number" to the user field
      that holds the student id (ID number, or Username if the nbgrader ids are Moodle usernames) and "Grade"
      to the assignment's grade item.

    Raises:
        ValueError: fmt is not one of GRADE_FORMATS, or a rubric has no "student".
    """
    if fmt not in GRADE_FORMATS:
        raise ValueError(f"unknown grades format {fmt!r}: choose one of {', '.join(GRADE_FORMATS)}")
    path = Path(path)
    roster = roster or {}
    with _csv_rows(path) as writer:
        if fmt == "generic":
            writer.writerow(["student_id", "grade", "max_grade", "status", "comment"])
            for r in rubrics:
                writer.writerow([student_id(r), fmt_num(r.get("total") or 0), fmt_num(r.get("possible", 100)),
                                 status(r), _grade_comment(r)])
        elif fmt == "canvas":
            column = CANVAS_ASSIGNMENT
            if canvas_assignment_id not in (None, ""):
                column += f" ({canvas_assignment_id})"
            writer.writerow([*CANVAS_IDENTITY, column])
            possible = max((float(r.get("possible", 100)) for r in rubrics), default=100.0)
            writer.writerow(["    Points Possible", "", "", "", "", fmt_num(possible)])
            for r in rubrics:
                student = student_id(r)
                who = {"SIS User ID": student, **dict(roster.get(student, {}))}
                writer.writerow([who.get(k, "") for k in CANVAS_IDENTITY] + [fmt_num(r.get("total") or 0)])
        else:
            writer.writerow(["ID number", "Grade"])
            for r in rubrics:
                writer.writerow([student_id(r), fmt_num(r.get("total") or 0)])
    return path
