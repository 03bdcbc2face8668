"""The rubric store: whole results, replaced not duplicated, and an override history that is never rewritten."""

import sqlite3

import pytest

from autograder.rubric.store import RubricStore


def test_result_round_trip_and_replacement(tmp_path):
    store = RubricStore(tmp_path / "gb" / "store.sqlite")
    store.save_result("ada", "phase4a", "fp1", "graded", {"cells": {"4a_normalise": {"score": 3.0}}})
    store.save_result("ada", "phase4a", "fp2", "timeout", {"cells": {}})
    store.save_result("ben", "phase4b", "fp3", "invalid-notebook", {"message": "not JSON"})
    results = store.results()
    assert [(r.student, r.phase, r.fingerprint, r.outcome) for r in results] == [
        ("ada", "phase4a", "fp2", "timeout"), ("ben", "phase4b", "fp3", "invalid-notebook")]
    assert store.result("ben", "phase4b").result == {"message": "not JSON"}
    assert store.result("ben", "phase4a") is None
    assert [h["fingerprint"] for h in store.history("ada")] == ["fp1", "fp2"]


def test_overrides_are_history_latest_last(tmp_path):
    store = RubricStore(tmp_path / "store.sqlite")
    store.add_override("ada", "4b_report_quality", 2, "ta1", "methods thin")
    store.add_override("ada", "4b_report_quality", 4, "ta2", "regrade: methods are in the appendix")
    store.add_override("ben", "4a_code_documented", 3, "ta1", "well commented")
    history = store.overrides("ada")
    assert [(o.points, o.grader) for o in history] == [(2.0, "ta1"), (4.0, "ta2")]
    assert history[-1].to_dict()["reason"].startswith("regrade")
    assert len(store.overrides()) == 3


@pytest.mark.parametrize("grader,reason", [("", "why"), ("ta1", "  ")])
def test_override_needs_who_and_why(tmp_path, grader, reason):
    store = RubricStore(tmp_path / "store.sqlite")
    with pytest.raises(ValueError, match="--grader"):
        store.add_override("ada", "4a_analysis", 1, grader, reason)
    assert store.overrides() == []


def test_a_failed_write_leaves_nothing(tmp_path):
    store = RubricStore(tmp_path / "store.sqlite")
    with pytest.raises(TypeError):
        store.save_result("ada", "phase4a", "fp", "graded", {"bad": object()})  # not JSON: nothing written
    assert store.results() == [] and store.history() == []
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM result_history").fetchone() == (0,)
