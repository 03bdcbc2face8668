"""Reading a scored rubric dict (``rubric.json``, made by ``autograder.rubric.scoring.score_student``) for the
renderings: its student id, status, distinct flag ids and phases in exercise order.

Fields are read as scoring wrote them, never recomputed: what is pending or failed is
``scoring.pending_check_ids`` / ``scoring.failed_check_ids``, and the status is the rubric's own ``"status"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from geoai_ref.phase import Phase

_EXERCISE_ORDER = {phase: i for i, phase in enumerate(Phase)}


def student_id(rubric: Mapping) -> str:
    """The rubric's student id.

    Raises:
        ValueError: the dict has no "student" (it is not a per-student rubric dict).
    """
    try:
        return str(rubric["student"])
    except (KeyError, TypeError):
        raise ValueError("the rubric dict has no 'student': pass the per-student dict written to rubric.json "
                         "by the rubric engine") from None


def status(rubric: Mapping) -> str:
    """The status scoring gave the rubric: "auto", "overridden" or "manual-pending" ("?" if it has none)."""
    return str(rubric.get("status") or "?")


def flag_ids(rubric: Mapping) -> list[str]:
    """Distinct flag ids of a rubric, in first-seen order."""
    return list(dict.fromkeys(str(f.get("id", "?")) for f in rubric.get("flags") or []))


def _phase_key(phase_id: str) -> tuple[int, str]:
    try:
        return _EXERCISE_ORDER[Phase.parse(phase_id)], ""
    except ValueError:
        return len(_EXERCISE_ORDER), str(phase_id)


def ordered_phases(phases: Iterable[str]) -> list[str]:
    """Phase ids (as given) in exercise order (4A, 4B, 4C, see ``Phase``), unknown ones after them alphabetically."""
    return sorted(dict.fromkeys(phases), key=_phase_key)
