"""Copy what TAs saved in formgrader into the rubric store.

Run before anything reads the store's TA scores (``report``, ``export``, ``feedback``, ``override``), when
``grade-ui`` stops, and by the grading coordinator before it merges a regraded submission into the
gradebook, so each save is tied to the answer formgrader showed when it was made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from autograder.review.ta_log import install, saves_after
from autograder.rubric.definition import Rubric, load_rubric
from autograder.rubric.store import FormgraderSave, RubricStore
from geoai_ref.phase import Phase


@dataclass
class SyncReport:
    """What one copy did: saves new to the store, and saves it could not place (with why)."""

    copied: int = 0
    skipped: list[str] = field(default_factory=list)


def gradebook_db(course: Path) -> Path:
    """The course's nbgrader gradebook (what formgrader edits)."""
    return Path(course) / "gradebook" / "gradebook.db"


def copy_formgrader_saves(course: Path, store: RubricStore, rubric: Rubric | None = None) -> SyncReport:
    """Copy the TA log of ``course``'s gradebook into ``store`` (saves copied earlier are left as they are).

    A course whose gradebook does not exist yet has nothing to copy. The log is installed if it was not, so
    that formgrader saves made from now on are logged.
    """
    db = gradebook_db(course)
    report = SyncReport()
    if not db.is_file():
        return report
    install(db)
    rubric = rubric or load_rubric()
    cell_checks = {c.id for c in rubric.checks() if c.source != "manual"}
    saves = []
    for save in saves_after(db):
        try:
            phase = Phase.parse(save.phase)
        except ValueError:
            report.skipped.append(f"{save.student}/{save.phase}/{save.cell}: not a phase of this exercise")
            continue
        if save.cell not in cell_checks:
            report.skipped.append(f"{save.student}/{phase}/{save.cell}: not a check of the rubric")
            continue
        saves.append(FormgraderSave(save.log_id, save.at, save.student, phase, save.cell, save.kind, save.score,
                                    save.comment, save.grader, store.answer_of(save.student, phase, save.cell)))
    report.copied = store.add_formgrader_saves(saves)
    return report
