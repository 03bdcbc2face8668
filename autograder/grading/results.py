"""What grading one phase of one student produces: typed results, stored as plain JSON.

A :class:`PhaseResult` is made by the coordinator's worker (intake, nbgrader, trusted checks), written to
the rubric store as JSON (:meth:`PhaseResult.to_dict`) and read back by scoring
(:meth:`PhaseResult.from_dict`). The JSON layout is the one ``rubric.json`` and the reports have always read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from autograder.trusted.result import TrustedResult


class Outcome(StrEnum):
    """How the grading of one phase ended. ``ERROR`` and ``KILLED`` are failures of the grading, not of the
    submission (:attr:`is_grader_fault`); every other end is the submission's own and is reported to the student
    with what to do."""

    GRADED = "graded"  # the notebook ran (maybe with failing cells): every check has its points
    NOT_SUBMITTED = "not-submitted"  # no folder for the phase
    MISSING_NOTEBOOK = "missing-notebook"  # a folder, but not the assignment's notebook
    INVALID_NOTEBOOK = "invalid-notebook"  # not a readable notebook (truncated JSON, wrong format)
    TIMEOUT = "timeout"  # the whole phase ran past its wall-time limit
    MEMORY = "memory"  # the notebook used more memory than allowed
    # the kernel died in a cell (os._exit, a crash): the cells before it keep their scores, the later ones score 0
    KERNEL_DIED = "kernel-died"
    ERROR = "error"  # the grader failed: retried on the next run, never replaces a stored grade
    # the worker process grading it died on every try (allowed-failures): killed from outside the grader's own
    # limits (the machine's out-of-memory killer, a lost cluster node), which does not show the submission at
    # fault; treated as ERROR
    KILLED = "worker-killed"

    @property
    def is_grader_fault(self) -> bool:
        """True for the ends that say nothing about the submission: retried on the next run, and never stored
        in place of a grade."""
        return self in (Outcome.ERROR, Outcome.KILLED)

    @property
    def notebook_ran(self) -> bool:
        """True for the ends where nbgrader scored the notebook's cells (all of them, or up to a dead kernel)."""
        return self in (Outcome.GRADED, Outcome.KERNEL_DIED)


@dataclass(frozen=True)
class Flag:
    """A class-wide failure raised for one phase of one student (dashboard, rubric report).

    ``id`` is a short kebab-case name (``collapse``, ``cell-timeout``, ``band-order``, an outcome, ...).
    """

    id: str
    phase: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "phase": str(self.phase), "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Flag:
        return cls(str(data["id"]), str(data.get("phase", "")), str(data.get("message", "")))


@dataclass(frozen=True)
class CellScore:
    """nbgrader's score of one grade cell; ``score`` None: a manual cell no TA has graded yet.

    ``answer`` identifies a written answer's text (a digest of the answer cell as graded), so that a TA's
    score can be told apart from a later, different answer; None for automatic cells.
    """

    score: float | None
    max: float
    passed: bool | None
    message: str
    answer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {"score": self.score, "max": self.max, "passed": self.passed, "message": self.message}
        return data | ({"answer": self.answer} if self.answer is not None else {})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellScore:
        score = data.get("score")
        return cls(None if score is None else float(score), float(data.get("max") or 0.0), data.get("passed"),
                   str(data.get("message") or ""), data.get("answer"))


@dataclass
class PhaseResult:
    """Everything grading found for one phase of one student."""

    outcome: Outcome
    message: str = ""
    cells: dict[str, CellScore] = field(default_factory=dict)  # grade_id -> nbgrader's score
    flags: list[Flag] = field(default_factory=list)
    trusted: list[TrustedResult] = field(default_factory=list)
    snapshot: dict[str, str] = field(default_factory=dict)  # file (relative) -> SHA-256
    snapshot_dir: str | None = None
    seconds: float | None = None  # nbgrader and the trusted checks
    nbgrader_seconds: float | None = None
    peak_mb: float | None = None
    worker_course: str | None = None  # the private nbgrader course, until the coordinator retires it
    formgrader_id: str | None = None  # nbgrader's id of the submitted notebook in the course gradebook
    log: str | None = None  # the end of nbgrader's log when grading failed (for whoever looks into it)

    @property
    def graded(self) -> bool:
        """Whether nbgrader scored the cells (:attr:`Outcome.notebook_ran`): the checks have their points."""
        return self.outcome.notebook_ran

    def to_dict(self) -> dict[str, Any]:
        """The stored JSON layout (keys without a value are left out, as they always were)."""
        data: dict[str, Any] = {
            "outcome": self.outcome.value, "message": self.message,
            "cells": {gid: cell.to_dict() for gid, cell in self.cells.items()},
            "flags": [f.to_dict() for f in self.flags],
            "trusted": [t.to_dict() for t in self.trusted],
            "snapshot": dict(self.snapshot),
        }
        optional = {"snapshot_dir": self.snapshot_dir, "seconds": self.seconds,
                    "nbgrader_seconds": self.nbgrader_seconds, "peak_mb": self.peak_mb,
                    "worker_course": self.worker_course, "formgrader_id": self.formgrader_id, "log": self.log}
        data.update({k: v for k, v in optional.items() if v is not None})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhaseResult:
        """A stored result back as a PhaseResult.

        Raises:
            ValueError: if the outcome is not one of :class:`Outcome`.
        """
        return cls(outcome=Outcome(data["outcome"]), message=str(data.get("message") or ""),
                   cells={str(k): CellScore.from_dict(v) for k, v in (data.get("cells") or {}).items()},
                   flags=[Flag.from_dict(f) for f in data.get("flags") or []],
                   trusted=[TrustedResult.from_dict(t) for t in data.get("trusted") or []],
                   snapshot=dict(data.get("snapshot") or {}), snapshot_dir=data.get("snapshot_dir"),
                   seconds=data.get("seconds"), nbgrader_seconds=data.get("nbgrader_seconds"),
                   peak_mb=data.get("peak_mb"), worker_course=data.get("worker_course"),
                   formgrader_id=data.get("formgrader_id"), log=data.get("log"))
