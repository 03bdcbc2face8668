"""The rubric engine: one student's phase results and TA overrides -> the rubric dict (``rubric.json``).

This is the only place where points are computed. Rules, per rubric check:

- ``nbgrader``: cell score / cell max x rubric points, when the phase was graded; 0 otherwise. When the
  check is ``confirmed_by`` trusted checks, its points count only if all of them passed.
- ``nbgrader-manual`` and ``manual``: waiting for a TA (points ``None``) until a TA gives points;
  0 when the phase has no gradable notebook.
- A TA's score (``geoai-grade override``, or a save in formgrader) replaces the points of any check; the
  latest one counts, wherever it was entered.
- A TA's score given to a written answer counts only for that answer: when a regrade finds a different answer
  in the cell, the check waits for a TA again (status ``re-review``), and the earlier score stays in the history.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from autograder.grading.results import CellScore, Outcome, PhaseResult
from autograder.probes import is_probe
from autograder.rubric.definition import Criterion, Rubric, RubricCheck, load_rubric
from autograder.rubric.store import Origin, Override, RubricStore
from geoai_ref.errors import UsageError
from geoai_ref.phase import Phase

PASSED = "passed"
PENDING = "waiting for a TA: grade it in formgrader (`geoai-grade grade-ui`)"
PENDING_TA_ITEM = "waiting for a TA: enter the points with `geoai-grade override` (no notebook cell)"


class Status(StrEnum):
    """The status of a scored check, criterion or rubric (``rubric.json``'s "status").

    ``re-review`` (checks only) waits for a TA like ``manual-pending``; a criterion or rubric holding one is
    ``manual-pending``.
    """

    AUTO = "auto"
    PENDING = "manual-pending"
    OVERRIDDEN = "overridden"
    REREVIEW = "re-review"


def answer_changed(entry: Override, cell: CellScore | None) -> bool:
    """Whether a TA's score was given to another answer than the one now in the cell (both known)."""
    return entry.answer is not None and cell is not None and cell.answer is not None and entry.answer != cell.answer


def latest_scores(entries: list[Override]) -> dict[str, Override]:
    """check id -> the TA's score in force (the latest entered, from either origin)."""
    return {o.check: o for o in sorted(entries, key=lambda o: o.when)}


def answers_to_review(entries: list[Override], result: PhaseResult) -> frozenset[str]:
    """Checks of ``result`` whose TA score in force was given to a different answer (a TA must look again)."""
    return frozenset(check for check, entry in latest_scores(entries).items()
                     if answer_changed(entry, result.cells.get(check)))


def _where(entry: Override) -> str:
    return "in formgrader" if entry.origin == Origin.FORMGRADER else "by override"


@dataclass(frozen=True)
class CheckScore:
    """One rubric check, scored: ``points`` None while it waits for a TA."""

    check: RubricCheck
    passed: bool | None
    points: float | None
    message: str
    status: Status

    def to_dict(self) -> dict[str, Any]:
        """The check as it appears in ``rubric.json``."""
        return {"id": self.check.id, "source": self.check.source, "description": self.check.description,
                "passed": self.passed, "points": None if self.points is None else round(self.points, 4),
                "max": self.check.points, "message": self.message, "confirmed_by": list(self.check.confirmed_by),
                "status": self.status.value}


def _nbgrader_check(check: RubricCheck, result: PhaseResult | None) -> tuple[bool | None, float | None, str]:
    if result is None:
        return False, 0.0, "phase not submitted"
    if not result.graded:
        return False, 0.0, f"{result.outcome}: {result.message}".rstrip(": ")
    cell = result.cells.get(check.id)
    if cell is None:
        return False, 0.0, f"grade cell {check.id} is missing from the autograded notebook"
    if check.source == "nbgrader-manual":
        if cell.score is None:
            return None, None, PENDING
        fraction = cell.score / cell.max if cell.max else 0.0
        return fraction >= 1.0, fraction * check.points, "graded by a TA in nbgrader"
    fraction = (cell.score or 0.0) / cell.max if cell.max else 0.0
    passed = cell.score is not None and cell.score >= cell.max
    message = cell.message or (PASSED if passed else "failed")
    trusted = {t.id: t for t in result.trusted}
    denied = []
    for tid in check.confirmed_by:
        t = trusted.get(tid)
        kind = "hidden check" if is_probe(tid) else "trusted check"
        if t is None:
            denied.append(f"{kind} {tid} did not run")
        elif not t.passed:
            denied.append(f"{kind} {tid}: {t.message}")
    if denied:
        note = "; ".join(denied)
        return False, 0.0, (f"{note} (nbgrader: {message})" if passed else f"{message}; {note}")
    return passed, fraction * check.points, message


def _manual_check(result: PhaseResult | None) -> tuple[bool | None, float | None, str]:
    if result is None or not result.graded:
        outcome = "phase not submitted" if result is None else result.outcome
        return False, 0.0, f"{outcome}: nothing to grade"
    return None, None, PENDING_TA_ITEM


def score_check(check: RubricCheck, result: PhaseResult | None, override: Override | None) -> CheckScore:
    """One rubric check of one student: from nbgrader's cell (confirmed by trusted checks), a TA's override,
    or pending."""
    if check.source == "manual":
        passed, points, message = _manual_check(result)
    else:
        passed, points, message = _nbgrader_check(check, result)
    status = Status.AUTO if points is not None else Status.PENDING
    if override is None:
        return CheckScore(check, passed, points, message, status)
    cell = result.cells.get(check.id) if result is not None and result.graded else None
    given = f"{override.grader} {_where(override)} ({override.at})"
    if answer_changed(override, cell):
        earlier = "no points" if override.points is None else f"{override.points:g} points"
        return CheckScore(check, None, None, f"the answer changed since {given} gave it {earlier}: grade the new "
                          "answer in formgrader (`geoai-grade grade-ui`)", Status.REREVIEW)
    if override.points is None:  # emptied in formgrader: back to what the check gives without a TA
        return CheckScore(check, passed, points, f"{message} (a TA's score was removed by {given})", status)
    points = min(max(override.points, 0.0), check.points) if check.points else override.points
    reason = f": {override.reason}" if override.reason else ""
    return CheckScore(check, points >= check.points, points, f"{override.points:g} points from {given}{reason}",
                      Status.OVERRIDDEN)


def _status(statuses: list[str]) -> Status:
    if Status.PENDING in statuses or Status.REREVIEW in statuses:
        return Status.PENDING
    return Status.OVERRIDDEN if Status.OVERRIDDEN in statuses else Status.AUTO


def _flags(results: Mapping[Phase, PhaseResult], scored: list[tuple[Criterion, list[CheckScore]]]) -> list[dict]:
    """Every flag of the student: raised while grading, by trusted checks, by an outcome, or by a failed check
    that stands for a class-wide failure (``flag`` in rubric.yaml; counted only in a graded phase)."""
    flags: dict[tuple[str, str], str] = {}
    for phase, result in sorted(results.items()):
        for flag in result.flags:
            flags.setdefault((flag.id, phase), flag.message)
        for t in result.trusted:
            for fid in t.flags:
                flags.setdefault((fid, phase), t.message)
        if result.outcome is not Outcome.GRADED:  # kernel-died too: its checks have points, and a flag
            flags.setdefault((result.outcome.value, phase), result.message)
    for criterion, checks in scored:
        result = results.get(criterion.phase)
        for score in checks:
            if score.check.flag and score.passed is False and result is not None and result.graded:
                flags.setdefault((score.check.flag, criterion.phase), score.message)
    return [{"id": fid, "phase": str(phase), "message": message} for (fid, phase), message in sorted(flags.items())]


def score_student(rubric: Rubric, student: str, results: Mapping[Phase, PhaseResult], overrides: list[Override],
                  graded_at: str = "") -> dict:
    """The rubric dict of one student (layout: ../shared/DESIGN.md, ``rubric.json``).

    ``results`` maps phases to stored phase results (a phase absent = not submitted); ``overrides`` is the
    student's history of TA scores, from both origins (the latest per check counts).
    """
    results = {Phase.parse(phase): result for phase, result in results.items()}
    latest = latest_scores(overrides)
    scored = [(criterion, [score_check(c, results.get(criterion.phase), latest.get(c.id)) for c in criterion.checks])
              for criterion in rubric.criteria]
    criteria = []
    for criterion, checks in scored:
        points = sum(c.points for c in checks if c.points is not None)
        criteria.append({"id": criterion.id, "phase": criterion.phase.label, "name": criterion.name,
                         "description": criterion.description, "points": round(points, 4), "max": criterion.max,
                         "status": _status([c.status for c in checks]).value, "checks": [c.to_dict() for c in checks]})
    figures = []
    for phase, result in sorted(results.items()):
        for name in sorted(result.snapshot):
            if result.snapshot_dir and name.startswith("figures/") and name.endswith(".png"):
                figures.append({"phase": str(phase), "name": name, "path": f"{result.snapshot_dir}/{name}"})
    return {
        "student": student,
        "total": round(sum(c["points"] for c in criteria), 4),
        "possible": rubric.total,
        "status": _status([c["status"] for c in criteria]).value,
        "graded_at": graded_at,
        "criteria": criteria,
        "flags": _flags(results, scored),
        "phases": {str(phase): {"outcome": r.outcome.value, "message": r.message, "seconds": r.seconds,
                                "snapshot": dict(r.snapshot), "formgrader_id": r.formgrader_id}
                                | ({"log": r.log} if r.log else {})
                   for phase, r in sorted(results.items())},
        "trusted": [t.to_dict() for _, r in sorted(results.items()) for t in r.trusted],
        "figures": figures,
        "overrides": [o.to_dict() for o in sorted(overrides, key=lambda o: o.when)],
    }


def class_rubrics(store: RubricStore, rubric: Rubric | None = None,
                  students: list[str] | None = None) -> list[dict]:
    """The rubric dict of every student in the store (or of ``students``), sorted by student id.

    Raises:
        UsageError: if a student in ``students`` has no result in the store.
    """
    rubric = rubric or load_rubric()
    by_student: dict[str, dict[Phase, PhaseResult]] = {}
    stamps: dict[str, str] = {}
    for r in store.results():
        by_student.setdefault(r.student, {})[r.phase] = r.result
        stamps[r.student] = max(stamps.get(r.student, ""), r.graded_at)
    wanted = sorted(by_student) if students is None else students
    for s in wanted:
        if s not in by_student:
            raise UsageError(f"no graded submission of {s!r} in {store.path}; students: "
                             f"{', '.join(sorted(by_student))}")
    return [score_student(rubric, s, by_student[s], store.ta_scores(s), stamps[s]) for s in wanted]


# --- rules over a scored rubric (rubric.json), for the renderings ---------------------------------------

def _scored_checks(rubric: Mapping) -> Iterator[tuple[Mapping, Mapping]]:
    for criterion in rubric.get("criteria") or []:
        for check in criterion.get("checks") or []:
            yield criterion, check


def pending_check_ids(rubric: Mapping) -> list[str]:
    """Ids of the checks of a scored rubric still waiting for a TA (points null)."""
    return [str(check.get("id", "?")) for _, check in _scored_checks(rubric) if check.get("points") is None]


def failed_check_ids(rubric: Mapping) -> list[str]:
    """Ids of the checks of a scored rubric that failed in a graded phase.

    Pending checks are not failures, and a phase that was not submitted or could not run shows as its
    outcome flag, not as every one of its checks.
    """
    phases = rubric.get("phases") or {}
    ran = {o.value for o in Outcome if o.notebook_ran}
    graded = {p for p, info in phases.items() if (info or {}).get("outcome") in ran}
    return [str(check.get("id", "?")) for criterion, check in _scored_checks(rubric)
            if check.get("passed") is False and _criterion_phase(criterion) in graded]


def _criterion_phase(criterion: Mapping) -> Phase | None:
    try:
        return Phase.parse(str(criterion.get("phase", "")))
    except ValueError:
        return None
