"""The rubric engine: one student's phase results and TA overrides -> the rubric dict (``rubric.json``).

This is the only place where points are computed. Rules, per rubric check:

- ``nbgrader``: cell score / cell max x rubric points, when the phase was graded; 0 otherwise. When the
  check is ``confirmed_by`` trusted checks, its points count only if all of them passed.
- ``nbgrader-manual`` and ``manual``: waiting for a TA (points ``None``) until an override gives points;
  0 when the phase has no gradable notebook.
- An override (``geoai-grade override``) replaces the points of any check; the latest one counts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from autograder.grading.results import Outcome
from autograder.rubric.definition import Criterion, Rubric, RubricCheck
from autograder.rubric.store import Override
from geoai_ref.phase import Phase

PASSED = "passed"
PENDING = "waiting for a TA: enter the points with `geoai-grade override`"


def _phase_id(criterion: Criterion) -> str:
    return f"phase{criterion.phase.lower()}"


def _trusted_index(result: dict) -> dict[str, dict]:
    return {t["id"]: t for t in result.get("trusted", [])}


def _nbgrader_check(check: RubricCheck, result: dict | None) -> tuple[bool | None, float | None, str]:
    if result is None:
        return False, 0.0, "phase not submitted"
    if result["outcome"] != "graded":
        return False, 0.0, f"{result['outcome']}: {result.get('message', '')}".rstrip(": ")
    cell = result.get("cells", {}).get(check.id)
    if cell is None:
        return False, 0.0, f"grade cell {check.id} is missing from the autograded notebook"
    if check.source == "nbgrader-manual":
        if cell.get("score") is None:
            return None, None, PENDING
        fraction = cell["score"] / cell["max"] if cell["max"] else 0.0
        return fraction >= 1.0, fraction * check.points, "graded by a TA in nbgrader"
    fraction = (cell["score"] or 0.0) / cell["max"] if cell["max"] else 0.0
    passed = cell["score"] is not None and cell["score"] >= cell["max"]
    message = cell.get("message") or (PASSED if passed else "failed")
    trusted = _trusted_index(result)
    denied = []
    for tid in check.confirmed_by:
        t = trusted.get(tid)
        if t is None:
            denied.append(f"trusted check {tid} did not run")
        elif not t["passed"]:
            denied.append(f"trusted check {tid}: {t['message']}")
    if denied:
        note = "; ".join(denied)
        return False, 0.0, (f"{note} (nbgrader: {message})" if passed else f"{message}; {note}")
    return passed, fraction * check.points, message


def _manual_check(result: dict | None) -> tuple[bool | None, float | None, str]:
    if result is None or result["outcome"] != "graded":
        outcome = "phase not submitted" if result is None else result["outcome"]
        return False, 0.0, f"{outcome}: nothing to grade"
    return None, None, PENDING


def score_check(check: RubricCheck, result: dict | None, override: Override | None) -> dict:
    """One rubric check as it appears in ``rubric.json``."""
    if check.source == "manual":
        passed, points, message = _manual_check(result)
    else:
        passed, points, message = _nbgrader_check(check, result)
    status = "auto" if points is not None else "manual-pending"
    if override is not None:
        points = min(max(override.points, 0.0), check.points) if check.points else override.points
        passed = points >= check.points
        message = f"{override.points:g} points from {override.grader} ({override.at}): {override.reason}"
        status = "overridden"
    return {"id": check.id, "source": check.source, "description": check.description, "passed": passed,
            "points": None if points is None else round(points, 4), "max": check.points, "message": message,
            "confirmed_by": list(check.confirmed_by), "status": status}


def _status(statuses: list[str]) -> str:
    if "manual-pending" in statuses:
        return "manual-pending"
    return "overridden" if "overridden" in statuses else "auto"


def _flags(rubric: Rubric, results: dict[str, dict], criteria: list[dict]) -> list[dict]:
    flags: dict[tuple[str, str], str] = {}
    for phase, result in sorted(results.items()):
        for flag in result.get("flags", []):
            flags.setdefault((flag["id"], phase), flag["message"])
        for t in result.get("trusted", []):
            for fid in t.get("flags", []):
                flags.setdefault((fid, phase), t["message"])
        if result["outcome"] not in ("graded",):
            flags.setdefault((result["outcome"], phase), result.get("message", ""))
    by_id = {c.id: c for c in rubric.checks()}
    for criterion in criteria:
        for check in criterion["checks"]:
            flag = by_id[check["id"]].flag
            phase = f"phase{criterion['phase'].lower()}"
            if flag and check["passed"] is False and results.get(phase, {}).get("outcome") == "graded":
                flags.setdefault((flag, phase), check["message"])
    return [{"id": fid, "phase": phase, "message": message} for (fid, phase), message in sorted(flags.items())]


def score_student(rubric: Rubric, student: str, results: dict[str, dict], overrides: list[Override],
                  graded_at: str = "") -> dict:
    """The rubric dict of one student (layout: ../shared/DESIGN.md, ``rubric.json``).

    ``results`` maps phase ids to stored phase results (a phase absent = not submitted); ``overrides`` is the
    student's override history (the latest per check counts).
    """
    latest = {o.check: o for o in overrides}
    criteria = []
    for criterion in rubric.criteria:
        result = results.get(_phase_id(criterion))
        checks = [score_check(c, result, latest.get(c.id)) for c in criterion.checks]
        points = sum(c["points"] for c in checks if c["points"] is not None)
        criteria.append({"id": criterion.id, "phase": criterion.phase, "name": criterion.name,
                         "description": criterion.description, "points": round(points, 4), "max": criterion.max,
                         "status": _status([c["status"] for c in checks]), "checks": checks})
    figures = []
    for phase, result in sorted(results.items()):
        snap = result.get("snapshot_dir")
        for name in sorted(result.get("snapshot", {})):
            if snap and name.startswith("figures/") and name.endswith(".png"):
                figures.append({"phase": phase, "name": name, "path": f"{snap}/{name}"})
    return {
        "student": student,
        "total": round(sum(c["points"] for c in criteria), 4),
        "possible": rubric.total,
        "status": _status([c["status"] for c in criteria]),
        "graded_at": graded_at,
        "criteria": criteria,
        "flags": _flags(rubric, results, criteria),
        "phases": {phase: {"outcome": r["outcome"], "message": r.get("message", ""), "seconds": r.get("seconds"),
                           "snapshot": r.get("snapshot", {})} for phase, r in sorted(results.items())},
        "trusted": [t for _, r in sorted(results.items()) for t in r.get("trusted", [])],
        "figures": figures,
        "overrides": [o.to_dict() for o in overrides],
    }


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
    graded = {p for p, info in phases.items() if (info or {}).get("outcome") == Outcome.GRADED}
    return [str(check.get("id", "?")) for criterion, check in _scored_checks(rubric)
            if check.get("passed") is False and _criterion_phase(criterion) in graded]


def _criterion_phase(criterion: Mapping) -> Phase | None:
    try:
        return Phase.parse(str(criterion.get("phase", "")))
    except ValueError:
        return None
