"""The rubric store: one SQLite file in ``gradebook/`` with every graded phase and every point a TA entered.

Only the grading coordinator writes results (workers hand their results back), and each result is written
in one transaction, so a batch killed half-way leaves only whole results behind. A TA's points come from
two places and are kept side by side, append-only: ``geoai-grade override`` (table ``overrides``) and the
saves made in nbgrader's formgrader, copied from the course gradebook's TA log (table ``formgrader_saves``,
see :mod:`autograder.review`). :meth:`RubricStore.ta_scores` merges both in time order: the latest entry for
a check supersedes the earlier ones, and all stay in the history.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.grading.results import Outcome, PhaseResult
from geoai_ref.errors import MissingInput, UsageError
from geoai_ref.phase import Phase

if TYPE_CHECKING:
    from autograder.rubric.definition import Rubric

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    student      TEXT NOT NULL,
    phase        TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,   -- SHA-256 over the submitted files and the grader's configuration
    outcome      TEXT NOT NULL,
    result       TEXT NOT NULL,   -- JSON: nbgrader cells, trusted checks, flags, snapshot manifest
    graded_at    TEXT NOT NULL,
    PRIMARY KEY (student, phase)
);
CREATE TABLE IF NOT EXISTS result_history (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    student      TEXT NOT NULL,
    phase        TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    graded_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS overrides (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    student      TEXT NOT NULL,
    check_id     TEXT NOT NULL,
    points       REAL NOT NULL,
    grader       TEXT NOT NULL,
    reason       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    answer       TEXT             -- digest of the written answer the points were given to (NULL: no answer cell)
);
CREATE TABLE IF NOT EXISTS formgrader_saves (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    log_id       INTEGER NOT NULL, -- the save's id in the course gradebook's TA log
    at           TEXT NOT NULL,
    student      TEXT NOT NULL,
    phase        TEXT NOT NULL,
    check_id     TEXT NOT NULL,
    kind         TEXT NOT NULL,    -- 'score' or 'comment'
    points       REAL,             -- NULL: the TA emptied the score box
    comment      TEXT,
    grader       TEXT NOT NULL,
    answer       TEXT,             -- digest of the written answer formgrader showed (NULL: not known)
    UNIQUE (log_id, at)
);
"""

#: Columns added to a table after its first release: (table, column, SQL type); added to older stores on open.
_ADDED_COLUMNS = (("overrides", "answer", "TEXT"),)


class OverrideError(UsageError):
    """An override the rubric does not allow; the message says which rule it breaks."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class StoredResult:
    """One stored phase result and when it was graded."""

    student: str
    phase: Phase
    fingerprint: str
    outcome: Outcome
    result: PhaseResult
    graded_at: str

    @classmethod
    def from_row(cls, row: tuple) -> StoredResult:
        return cls(row[0], Phase.parse(row[1]), row[2], Outcome(row[3]), PhaseResult.from_dict(json.loads(row[4])),
                   row[5])


class Origin(StrEnum):
    """Where a TA entered points: ``geoai-grade override`` or nbgrader's formgrader."""

    OVERRIDE = "override"
    FORMGRADER = "formgrader"


@dataclass(frozen=True)
class Override:
    """Points a TA gave one rubric check of one student: who, why (the comment, in formgrader), when, where.

    ``points`` is None when a TA emptied a score in formgrader (the check waits for a TA again). ``answer`` is
    the digest of the written answer the points were given to (None where the check has no answer cell).
    """

    student: str
    check: str
    points: float | None
    grader: str
    reason: str
    at: str
    origin: Origin = Origin.OVERRIDE
    answer: str | None = None

    @property
    def when(self) -> datetime:
        """``at`` as a time (both origins' stamps compare, whatever their precision)."""
        return datetime.fromisoformat(self.at)

    def to_dict(self) -> dict:
        return {"check": self.check, "points": self.points, "grader": self.grader, "reason": self.reason,
                "at": self.at, "origin": self.origin.value}


@dataclass(frozen=True)
class FormgraderSave:
    """One save copied from the course gradebook's TA log (a score or a comment), with the answer it saw."""

    log_id: int
    at: str
    student: str
    phase: Phase
    check: str
    kind: str  # "score" or "comment"
    points: float | None
    comment: str | None
    grader: str
    answer: str | None


def _formgrader_scores(saves: Iterable[FormgraderSave]) -> list[Override]:
    """Score saves as overrides, oldest first; each carries as its reason the comment the TA left on the cell
    while that score was the latest (a comment saved before any score goes with the first one)."""
    scores: list[Override] = []
    comment: dict[tuple[str, str], str] = {}
    latest: dict[tuple[str, str], int] = {}  # (student, check) -> index in scores of its latest score
    for save in sorted(saves, key=lambda s: (datetime.fromisoformat(s.at), s.log_id)):
        key = (save.student, save.check)
        if save.kind == "comment":
            comment[key] = (save.comment or "").strip()
            if key in latest:
                scores[latest[key]] = replace(scores[latest[key]], reason=comment[key])
            continue
        latest[key] = len(scores)
        scores.append(Override(save.student, save.check, save.points, save.grader, comment.get(key, ""), save.at,
                               Origin.FORMGRADER, save.answer))
    return scores

def store_path(course: Path) -> Path:
    """Where a course keeps its rubric store."""
    return Path(course) / "gradebook" / "rubric_store.sqlite"


class RubricStore:
    """The SQLite rubric store at ``path`` (created on first use)."""

    @classmethod
    def of_course(cls, course: Path) -> RubricStore:
        """The rubric store of a course that has been graded.

        Raises:
            MissingInput: if the course has no rubric store yet.
        """
        path = store_path(course)
        if not path.exists():
            raise MissingInput(f"no rubric store at {path}: grade the class first with `geoai-grade grade`")
        return cls(path)

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)
            for table, column, sql_type in _ADDED_COLUMNS:
                if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:  # one transaction: committed on success, rolled back on any exception
                yield db
        finally:
            db.close()

    def save_result(self, student: str, phase: Phase, fingerprint: str, result: PhaseResult) -> str:
        """Store (or replace) one phase's result, and log it in the history; returns the time stamp."""
        at = now()
        row = (student, str(phase), fingerprint, result.outcome.value)
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?)",
                       (*row, json.dumps(result.to_dict()), at))
            db.execute("INSERT INTO result_history (student, phase, fingerprint, outcome, graded_at) "
                       "VALUES (?, ?, ?, ?, ?)", (*row, at))
        return at

    def log_attempt(self, student: str, phase: Phase, fingerprint: str, outcome: Outcome) -> str:
        """Log a grading attempt whose result was not stored (the history only); returns the time stamp."""
        at = now()
        with self._connect() as db:
            db.execute("INSERT INTO result_history (student, phase, fingerprint, outcome, graded_at) "
                       "VALUES (?, ?, ?, ?, ?)", (student, str(phase), fingerprint, f"{outcome} (not stored)", at))
        return at

    def result(self, student: str, phase: Phase) -> StoredResult | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM results WHERE student = ? AND phase = ?", (student, str(phase))).fetchone()
        return None if row is None else StoredResult.from_row(row)

    def results(self) -> list[StoredResult]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM results ORDER BY student, phase").fetchall()
        return [StoredResult.from_row(r) for r in rows]

    def students(self) -> list[str]:
        """Every student with a stored result, sorted."""
        with self._connect() as db:
            return [r[0] for r in db.execute("SELECT DISTINCT student FROM results ORDER BY student").fetchall()]

    def _rows(self, table: str, columns: str, student: str | None) -> list[tuple]:
        """``columns`` of an append-only ``table``, oldest first, for one student or all."""
        where, args = (" WHERE student = ?", (student,)) if student is not None else ("", ())
        with self._connect() as db:
            return db.execute(f"SELECT {columns} FROM {table}{where} ORDER BY id", args).fetchall()  # noqa: S608

    def history(self, student: str | None = None) -> list[dict]:
        """Every time a phase was graded (oldest first)."""
        rows = self._rows("result_history", "student, phase, fingerprint, outcome, graded_at", student)
        return [dict(zip(("student", "phase", "fingerprint", "outcome", "graded_at"), r, strict=True)) for r in rows]

    def add_override(self, rubric: Rubric, student: str, check: str, points: float, grader: str,
                     reason: str) -> Override:
        """Record a TA's points for one check of ``rubric`` (never replacing earlier entries).

        Raises:
            OverrideError: if grader or reason is empty (every override says who and why), the check is not in
                the rubric, the points are outside 0 .. the check's maximum, or the student was never graded.
        """
        if not grader.strip() or not reason.strip():
            raise OverrideError("an override needs --grader (who) and --reason (why)")
        checks = {c.id: c for c in rubric.checks()}
        if check not in checks:
            raise OverrideError(f"unknown check {check!r}; rubric checks: {', '.join(checks)}")
        if not 0 <= points <= checks[check].points:
            raise OverrideError(f"{check} is worth 0 to {checks[check].points:g} points, not {points:g}")
        if student not in self.students():
            raise OverrideError(f"no graded submission for student {student!r}: grade the class first, or check the "
                                "spelling (`geoai-grade report` lists the students)")
        answer = self.answer_of(student, rubric.phase_of(check), check)
        at = now()
        with self._connect() as db:
            db.execute("INSERT INTO overrides (student, check_id, points, grader, reason, created_at, answer) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", (student, check, float(points), grader, reason, at, answer))
        return Override(student, check, float(points), grader, reason, at, Origin.OVERRIDE, answer)

    def answer_of(self, student: str, phase: Phase, check: str) -> str | None:
        """The digest of the written answer of ``check`` in the stored result (None: no such answer cell)."""
        stored = self.result(student, phase)
        cell = stored.result.cells.get(check) if stored is not None else None
        return cell.answer if cell is not None else None

    def overrides(self, student: str | None = None) -> list[Override]:
        """The ``geoai-grade override`` entries, oldest first."""
        rows = self._rows("overrides", "student, check_id, points, grader, reason, created_at, answer", student)
        return [Override(*r[:6], Origin.OVERRIDE, r[6]) for r in rows]

    def add_formgrader_saves(self, saves: Iterable[FormgraderSave]) -> int:
        """Copy saves from the course gradebook's TA log; those already copied are skipped. Returns how many
        were new."""
        rows = [(s.log_id, s.at, s.student, str(s.phase), s.check, s.kind, s.points, s.comment, s.grader, s.answer)
                for s in saves]
        with self._connect() as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO formgrader_saves (log_id, at, student, phase, check_id, kind, "
                           "points, comment, grader, answer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            return db.total_changes - before

    def formgrader_saves(self, student: str | None = None) -> list[FormgraderSave]:
        """Every save copied from formgrader, oldest first."""
        rows = self._rows("formgrader_saves", "log_id, at, student, phase, check_id, kind, points, comment, grader, "
                          "answer", student)
        return [FormgraderSave(r[0], r[1], r[2], Phase.parse(r[3]), *r[4:]) for r in rows]

    def ta_scores(self, student: str | None = None) -> list[Override]:
        """Every score a TA entered, from ``override`` and from formgrader, oldest first: the latest per check
        is the one in force."""
        entries = [*self.overrides(student), *_formgrader_scores(self.formgrader_saves(student))]
        return sorted(entries, key=lambda o: o.when)
