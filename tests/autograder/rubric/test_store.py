"""The rubric store: whole typed results, replaced not duplicated, and an override history that is never rewritten."""

import sqlite3

import pytest

from autograder.grading.results import CellScore, Outcome, PhaseResult
from autograder.rubric.definition import load_rubric
from autograder.rubric.store import OverrideError, RubricStore
from geoai_ref.errors import UsageError
from geoai_ref.phase import Phase

RUBRIC = load_rubric()


def _graded_store(tmp_path, *students: str) -> RubricStore:
    store = RubricStore(tmp_path / "store.sqlite")
    for student in students:
        store.save_result(student, Phase.A, "fp", PhaseResult(Outcome.GRADED))
    return store


def test_result_round_trip_and_replacement(tmp_path):
    store = RubricStore(tmp_path / "gb" / "store.sqlite")
    store.save_result("ada", Phase.A, "fp1", PhaseResult(Outcome.GRADED, cells={"4a_normalise": CellScore(3.0, 3.0,
                                                                                                         True, "")}))
    store.save_result("ada", Phase.A, "fp2", PhaseResult(Outcome.TIMEOUT, "ran past 1800 s"))
    store.save_result("ben", Phase.B, "fp3", PhaseResult(Outcome.INVALID_NOTEBOOK, "not JSON"))
    results = store.results()
    assert [(r.student, r.phase, r.fingerprint, r.outcome) for r in results] == [
        ("ada", Phase.A, "fp2", Outcome.TIMEOUT), ("ben", Phase.B, "fp3", Outcome.INVALID_NOTEBOOK)]
    stored = store.result("ben", Phase.B).result
    assert isinstance(stored, PhaseResult) and stored.outcome is Outcome.INVALID_NOTEBOOK
    assert stored.message == "not JSON"
    assert store.result("ben", Phase.A) is None
    assert [h["fingerprint"] for h in store.history("ada")] == ["fp1", "fp2"]
    assert store.students() == ["ada", "ben"]


def test_overrides_are_history_latest_last(tmp_path):
    store = _graded_store(tmp_path, "ada", "ben")
    store.add_override(RUBRIC, "ada", "4b_report_quality", 2, "ta1", "methods thin")
    store.add_override(RUBRIC, "ada", "4b_report_quality", 4, "ta2", "regrade: methods are in the appendix")
    store.add_override(RUBRIC, "ben", "4a_code_documented", 3, "ta1", "well commented")
    history = store.overrides("ada")
    assert [(o.points, o.grader) for o in history] == [(2.0, "ta1"), (4.0, "ta2")]
    assert history[-1].to_dict()["reason"].startswith("regrade")
    assert len(store.overrides()) == 3


@pytest.mark.parametrize("student,check,points,grader,reason,words", [
    ("ada", "4a_analysis", 1, "", "why", "--grader"),
    ("ada", "4a_analysis", 1, "ta1", "  ", "--grader"),
    ("ada", "4a_nope", 1, "ta1", "why", "unknown check '4a_nope'"),
    ("ada", "4a_analysis", 99, "ta1", "why", "worth 0 to"),
    ("ada", "4a_analysis", -1, "ta1", "why", "worth 0 to"),
    ("zed", "4a_analysis", 1, "ta1", "why", "no graded submission for student 'zed'"),
])
def test_an_override_the_rubric_does_not_allow_is_refused(tmp_path, student, check, points, grader, reason, words):
    store = _graded_store(tmp_path, "ada")
    with pytest.raises(OverrideError, match=words) as info:
        store.add_override(RUBRIC, student, check, points, grader, reason)
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2
    assert store.overrides() == []


def test_a_failed_write_leaves_nothing(tmp_path):
    store = RubricStore(tmp_path / "store.sqlite")
    with pytest.raises(TypeError):  # not JSON: nothing written
        store.save_result("ada", Phase.A, "fp", PhaseResult(Outcome.GRADED, snapshot={"x": object()}))
    assert store.results() == [] and store.history() == []
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM result_history").fetchone() == (0,)


def test_a_store_made_before_formgrader_saves_is_upgraded_in_place(tmp_path):
    path = tmp_path / "store.sqlite"
    with sqlite3.connect(path) as db:  # the overrides table as the first release made it, with one entry
        db.execute("CREATE TABLE overrides (id INTEGER PRIMARY KEY AUTOINCREMENT, student TEXT NOT NULL, "
                   "check_id TEXT NOT NULL, points REAL NOT NULL, grader TEXT NOT NULL, reason TEXT NOT NULL, "
                   "created_at TEXT NOT NULL)")
        db.execute("INSERT INTO overrides (student, check_id, points, grader, reason, created_at) "
                   "VALUES ('ada', '4b_report_quality', 3, 'ta1', 'clear', '2026-11-20T10:00:00+00:00')")
    store = RubricStore(path)
    (old,) = store.ta_scores("ada")
    assert (old.points, old.grader, old.answer) == (3.0, "ta1", None)
    store.save_result("ada", Phase.A, "fp", PhaseResult(Outcome.GRADED, cells={
        "4a_analysis": CellScore(None, 3.0, None, "", "digest-1")}))
    new = store.add_override(RUBRIC, "ada", "4a_analysis", 2, "ta2", "partial")
    assert new.answer == "digest-1"  # tied to the answer it was given to
    assert [o.check for o in store.ta_scores("ada")] == ["4b_report_quality", "4a_analysis"]
