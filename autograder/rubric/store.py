"""The rubric store: one SQLite file in ``gradebook/`` with every graded phase and every TA override.

Only the grading coordinator writes it (workers hand their results back), and each result is written
in one transaction, so a batch killed half-way leaves only whole results behind. Overrides are
append-only: a new override for the same check supersedes the old one, and both stay in the history.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
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
    created_at   TEXT NOT NULL
);
"""


class OverrideError(UsageError):
    """An override the rubric does not allow; the message says which rule it breaks."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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


@dataclass(frozen=True)
class Override:
    """Points a TA gave one rubric check of one student, who and why."""

    student: str
    check: str
    points: float
    grader: str
    reason: str
    at: str

    def to_dict(self) -> dict:
        return {"check": self.check, "points": self.points, "grader": self.grader, "reason": self.reason,
                "at": self.at}


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
        at = now()
        with self._connect() as db:
            db.execute("INSERT INTO overrides (student, check_id, points, grader, reason, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (student, check, float(points), grader, reason, at))
        return Override(student, check, float(points), grader, reason, at)

    def overrides(self, student: str | None = None) -> list[Override]:
        """The override history, oldest first (the last one per check is in force)."""
        return [Override(*r) for r in self._rows("overrides", "student, check_id, points, grader, reason, created_at",
                                                 student)]
