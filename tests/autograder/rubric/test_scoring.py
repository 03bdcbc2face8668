"""The rubric engine: points from cells, trusted confirmation, manual pending, overrides, flags."""

import pytest

from autograder.grading.results import CellScore, Outcome, PhaseResult
from autograder.rubric.definition import load_rubric
from autograder.rubric.scoring import PENDING, PENDING_TA_ITEM, answer_changed, latest_scores, score_student
from autograder.rubric.store import Origin, Override
from autograder.trusted.checks import TRUSTED_CHECKS
from autograder.trusted.result import TrustedResult

RUBRIC = load_rubric()


def _phase_result(phase: str, *, failing: dict[str, str] | None = None, trusted_failing: dict | None = None,
                  outcome: str = "graded") -> PhaseResult:
    """A stored phase result where every cell passes except ``failing`` (id -> message)."""
    failing = failing or {}
    cells = {}
    for criterion in RUBRIC.criteria:
        if criterion.phase != phase:
            continue
        for check in criterion.checks:
            if check.source == "nbgrader":
                ok = check.id not in failing
                cells[check.id] = CellScore(2.0 if ok else 0.0, 2.0, ok, "passed" if ok else failing[check.id])
            elif check.source == "nbgrader-manual":
                cells[check.id] = CellScore(None, 3.0, None, "")
    trusted_failing = trusted_failing or {}
    trusted = [TrustedResult(tid, phase, tid not in trusted_failing, trusted_failing.get(tid, ("ok", []))[0], {},
                             trusted_failing.get(tid, ("ok", []))[1]) for tid in TRUSTED_CHECKS[phase]]
    return PhaseResult(Outcome(outcome), "" if outcome == "graded" else "it broke", cells=cells, trusted=trusted,
                       snapshot={"figures/a.png": "ab"}, snapshot_dir="/snap")


def _check(rubric_dict: dict, check_id: str) -> dict:
    return next(c for cr in rubric_dict["criteria"] for c in cr["checks"] if c["id"] == check_id)


def test_all_automatic_points_and_manual_pending():
    results = {p: _phase_result(p) for p in ("phase4a", "phase4b", "phase4c")}
    r = score_student(RUBRIC, "ada", results, [])
    manual = sum(c.points for c in RUBRIC.checks() if c.source != "nbgrader")
    assert r["total"] == pytest.approx(RUBRIC.total - manual)
    assert r["possible"] == 100 and r["status"] == "manual-pending" and r["flags"] == []
    assert _check(r, "4a_analysis")["points"] is None and _check(r, "4a_analysis")["message"] == PENDING
    assert _check(r, "4a_code_documented")["message"] == PENDING_TA_ITEM  # no cell: only `override` can score it
    assert [f["name"] for f in r["figures"]] == ["figures/a.png"] * 3
    assert {c["id"] for cr in r["criteria"] for c in cr["checks"]} == {c.id for c in RUBRIC.checks()}


def test_failed_trusted_check_takes_the_confirmed_points_and_flags():
    results = {"phase4a": _phase_result("phase4a", trusted_failing={
        "4a_metrics_match": ("claims 0.990 but the model scores 0.613", ["metrics-mismatch"])})}
    r = score_student(RUBRIC, "gus", results, [])
    artifacts = _check(r, "4a_artifacts")
    assert artifacts["points"] == 0 and artifacts["passed"] is False
    assert "4a_metrics_match" in artifacts["message"] and "0.613" in artifacts["message"]
    assert _check(r, "4a_stability")["points"] == 3  # confirmed by another trusted check, which passed
    assert {(f["id"], f["phase"]) for f in r["flags"]} == {("metrics-mismatch", "phase4a")}


def test_failed_cell_scores_zero_and_raises_its_rubric_flag():
    results = {"phase4b": _phase_result("phase4b", failing={"4b_split": "CheckFailed: validation holds one class"})}
    r = score_student(RUBRIC, "cai", results, [])
    split = _check(r, "4b_split")
    assert split["points"] == 0 and "one class" in split["message"]
    assert [f["id"] for f in r["flags"]] == ["unstratified-split"]
    criterion = next(cr for cr in r["criteria"] if cr["id"] == "4B.implementation")
    assert criterion["points"] == 15 - 4 - 4  # split lost, analysis (4) pending


def test_ungraded_phase_scores_zero_everywhere_with_the_outcome():
    results = {"phase4a": _phase_result("phase4a", outcome="invalid-notebook")}
    r = score_student(RUBRIC, "ivy", results, [])
    phase_checks = [c for cr in r["criteria"] if cr["phase"] == "4A" for c in cr["checks"]]
    assert all(c["points"] == 0 and c["passed"] is False for c in phase_checks)
    assert all("invalid-notebook" in c["message"] for c in phase_checks)
    assert ("invalid-notebook", "phase4a") in {(f["id"], f["phase"]) for f in r["flags"]}
    assert _check(r, "4b_align")["message"] == "phase not submitted"


def test_latest_override_counts_is_clamped_and_reported():
    results = {"phase4b": _phase_result("phase4b")}
    history = [Override("ada", "4b_report_quality", 1, "ta1", "thin", "2026-11-24T10:00:00+00:00"),
               Override("ada", "4b_report_quality", 9, "ta2", "regrade", "2026-11-25T10:00:00+00:00"),
               Override("ada", "4b_analysis", 2, "ta1", "partial", "2026-11-25T11:00:00+00:00")]
    r = score_student(RUBRIC, "ada", results, history)
    quality = _check(r, "4b_report_quality")
    assert quality["points"] == 4 and quality["status"] == "overridden" and "ta2" in quality["message"]
    assert _check(r, "4b_analysis")["points"] == 2
    report = next(cr for cr in r["criteria"] if cr["id"] == "4B.baseline_report")
    assert report["status"] == "overridden" and report["points"] == 10
    assert len(r["overrides"]) == 3



def test_the_latest_entry_is_found_across_time_stamp_precisions():
    early = Override("ada", "4a_analysis", 1, "ta1", "", "2026-11-25T10:00:00.900+00:00", Origin.FORMGRADER)
    late = Override("ada", "4a_analysis", 3, "ta2", "", "2026-11-25T10:00:01+00:00")  # seconds only: an older store
    assert latest_scores([late, early])["4a_analysis"] is late


def test_an_answer_change_needs_both_answers_known():
    entry = Override("ada", "4a_analysis", 2, "ta1", "", "2026-11-25T10:00:00+00:00", Origin.FORMGRADER, "v1")
    assert answer_changed(entry, CellScore(None, 3, None, "", "v2"))
    assert not answer_changed(entry, CellScore(None, 3, None, "", "v1"))
    assert not answer_changed(entry, CellScore(None, 3, None, ""))  # graded before answers were recorded
    assert not answer_changed(Override("ada", "4a_analysis", 2, "ta1", "", "2026-11-25T10:00:00+00:00"),
                              CellScore(None, 3, None, "", "v2"))  # an override from before answers were recorded
    assert not answer_changed(entry, None)
