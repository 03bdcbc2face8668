"""The TA log inside nbgrader's gradebook: every score and comment a TA saves in formgrader, with who and when.

formgrader writes a TA's points to ``grade.manual_score`` and comments to ``comment.manual_comment`` of the
course's ``gradebook.db`` and keeps no history. Two SQLite triggers added to that database append each change
to ``geoai_ta_log`` as it is saved, with the time of the save and the TA named by ``geoai-grade grade-ui``; the
kit's own tables sit beside nbgrader's (nbgrader ignores tables it does not know). Because they are triggers,
a save is logged whichever program made it: formgrader started by ``grade-ui``, by ``nbgrader formgrader`` or
by JupyterHub. The grader installs them whenever it updates the gradebook.

A "score" entry is logged when a cell's manual score changes, or when a TA saves a cell that was marked as
needing a manual grade (confirming the same score after an answer changed); the grader's own updates
(automatic scores, marking answers for review) are never logged.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from geoai_ref.errors import MissingInput

#: Who a save is credited to when no TA was named (formgrader started outside ``geoai-grade grade-ui``).
UNNAMED_TA = "formgrader (TA not named)"

_NOW = "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"
_WHO = f"COALESCE((SELECT name FROM geoai_ta WHERE id = 1), '{UNNAMED_TA}')"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS geoai_ta (id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS geoai_ta_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT NOT NULL,          -- 'score' (grade.id) or 'comment' (comment.id)
    row_id   VARCHAR(32) NOT NULL,
    score    FLOAT,                  -- the manual score saved (NULL: the TA emptied the box)
    comment  TEXT,
    grader   TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS geoai_ta_score AFTER UPDATE OF manual_score, needs_manual_grade ON grade
WHEN NEW.manual_score IS NOT OLD.manual_score
  OR (OLD.needs_manual_grade AND NOT NEW.needs_manual_grade AND NEW.manual_score IS NOT NULL)
BEGIN
    INSERT INTO geoai_ta_log (kind, row_id, score, grader, at)
    VALUES ('score', NEW.id, NEW.manual_score, {_WHO}, {_NOW});
END;
CREATE TRIGGER IF NOT EXISTS geoai_ta_comment AFTER UPDATE OF manual_comment ON comment
WHEN NEW.manual_comment IS NOT OLD.manual_comment
BEGIN
    INSERT INTO geoai_ta_log (kind, row_id, comment, grader, at)
    VALUES ('comment', NEW.id, NEW.manual_comment, {_WHO}, {_NOW});
END;
"""

# One query per kind: the log joined to nbgrader's tables, giving student, assignment (phase) and cell name.
_ENTRIES = """
SELECT l.id, l.kind, l.score, l.comment, l.grader, l.at, sa.student_id, a.name, bc.name
FROM geoai_ta_log l
JOIN {table} x ON x.id = l.row_id
JOIN base_cell bc ON bc.id = x.cell_id
JOIN submitted_notebook sn ON sn.id = x.notebook_id
JOIN submitted_assignment sa ON sa.id = sn.assignment_id
JOIN assignment a ON a.id = sa.assignment_id
WHERE l.kind = ? AND l.id > ?
"""


@dataclass(frozen=True)
class LoggedSave:
    """One save in formgrader: a score (``kind`` "score", ``score`` None when emptied) or a comment."""

    log_id: int
    kind: str
    student: str
    phase: str
    cell: str
    score: float | None
    comment: str | None
    grader: str
    at: str


def _connect(gradebook_db: Path) -> sqlite3.Connection:
    """Raises MissingInput if the course has no gradebook yet."""
    if not Path(gradebook_db).is_file():
        raise MissingInput(f"no nbgrader gradebook at {gradebook_db}: grade the class first with `geoai-grade grade`")
    return sqlite3.connect(gradebook_db, timeout=30)


def install(gradebook_db: Path) -> None:
    """Add the log table and its triggers to a course gradebook (idempotent).

    Raises:
        MissingInput: if the gradebook does not exist.
    """
    with closing(_connect(gradebook_db)) as db, db:
        db.executescript(SCHEMA)


def name_ta(gradebook_db: Path, name: str) -> None:
    """Credit the saves made from now on to ``name`` (installs the log first).

    Raises:
        MissingInput: if the gradebook does not exist.
        ValueError: if ``name`` is empty.
    """
    if not name.strip():
        raise ValueError("a TA name is needed: every score in the rubric says who gave it")
    install(gradebook_db)
    with closing(_connect(gradebook_db)) as db, db:
        db.execute("INSERT OR REPLACE INTO geoai_ta (id, name) VALUES (1, ?)", (name.strip(),))


def saves_after(gradebook_db: Path, last_id: int = 0) -> list[LoggedSave]:
    """The logged saves with an id above ``last_id``, oldest first (none if the log was never installed).

    Raises:
        MissingInput: if the gradebook does not exist.
    """
    with closing(_connect(gradebook_db)) as db:
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'geoai_ta_log'").fetchone() is None:
            return []
        rows = [*db.execute(_ENTRIES.format(table="grade"), ("score", last_id)).fetchall(),
                *db.execute(_ENTRIES.format(table="comment"), ("comment", last_id)).fetchall()]
    return [LoggedSave(log_id=r[0], kind=r[1], score=None if r[2] is None else float(r[2]), comment=r[3],
                       grader=r[4], at=r[5], student=r[6], phase=r[7], cell=r[8]) for r in sorted(rows)]
