"""Formgrader saves copied into the rubric store, and how they score: latest wins, re-review on a new answer."""

import sqlite3

import pytest
from gradebooks import ANSWER, NOTEBOOK, PHASE, POINTS, TEST, formgrader_comment, formgrader_score, make_gradebook
from nbgrader.api import Gradebook

from autograder.grading.results import CellScore, Outcome, PhaseResult
from autograder.review.sync import copy_formgrader_saves, gradebook_db
from autograder.review.ta_log import name_ta
from autograder.rubric.definition import load_rubric
from autograder.rubric.scoring import Status, score_student
from autograder.rubric.store import Origin, RubricStore, store_path
from autograder.trusted.result import TrustedResult
from geoai_ref.phase import Phase

RUBRIC = load_rubric()


def _result(answer: str) -> PhaseResult:
    test_check = next(c for c in RUBRIC.checks() if c.id == TEST)  # its points need its confirmations too
    confirmations = [TrustedResult(tid, PHASE, True, "passed") for tid in test_check.confirmed_by]
    return PhaseResult(Outcome.GRADED, cells={ANSWER: CellScore(None, POINTS[ANSWER], None, "", answer),
                                              TEST: CellScore(POINTS[TEST], POINTS[TEST], True, "passed")},
                       trusted=confirmations)


def _check(rubric: dict, check_id: str) -> dict:
    return next(c for cr in rubric["criteria"] for c in cr["checks"] if c["id"] == check_id)


def _score(store: RubricStore, student: str = "ada") -> dict:
    return score_student(RUBRIC, student, {Phase.A: store.result(student, Phase.A).result}, store.ta_scores(student))


@pytest.fixture()
def course(tmp_path):
    """A graded course: ada's and ben's 4A in the rubric store and in nbgrader's gradebook, TA ``ta1`` named."""
    make_gradebook(gradebook_db(tmp_path))
    store = RubricStore(store_path(tmp_path))
    for student in ("ada", "ben"):
        store.save_result(student, Phase.A, "fp", _result(answer=f"{student}-v1"))
    name_ta(gradebook_db(tmp_path), "ta1")
    return tmp_path, store


def test_saves_are_copied_once_with_the_answer_they_were_given_to(course):
    root, store = course
    assert _check(_score(store), ANSWER)["status"] == Status.PENDING
    formgrader_score(gradebook_db(root), "ada", ANSWER, 2)
    formgrader_comment(gradebook_db(root), "ada", ANSWER, "no evidence from the curves")
    assert copy_formgrader_saves(root, store, RUBRIC).copied == 2
    assert copy_formgrader_saves(root, store, RUBRIC).copied == 0  # already there
    (entry,) = store.ta_scores("ada")
    assert (entry.check, entry.points, entry.grader, entry.origin, entry.answer, entry.reason) == (
        ANSWER, 2.0, "ta1", Origin.FORMGRADER, "ada-v1", "no evidence from the curves")
    analysis = _check(_score(store), ANSWER)
    assert (analysis["points"], analysis["status"]) == (2.0, Status.OVERRIDDEN)
    assert "ta1 in formgrader" in analysis["message"] and "no evidence from the curves" in analysis["message"]
    assert store.ta_scores("ben") == []


def test_the_latest_entry_wins_wherever_it_was_made_and_the_history_keeps_all(course):
    root, store = course
    db = gradebook_db(root)
    formgrader_score(db, "ada", ANSWER, 1)
    copy_formgrader_saves(root, store, RUBRIC)
    store.add_override(RUBRIC, "ada", ANSWER, 3, "prof", "regrade request: the curves are in the appendix")
    assert _check(_score(store), ANSWER)["points"] == 3
    formgrader_score(db, "ada", ANSWER, 2)  # later again, in formgrader
    copy_formgrader_saves(root, store, RUBRIC)
    rubric = _score(store)
    assert _check(rubric, ANSWER)["points"] == 2
    assert [(o["origin"], o["points"]) for o in rubric["overrides"]] == [
        ("formgrader", 1.0), ("override", 3.0), ("formgrader", 2.0)]
    formgrader_score(db, "ada", ANSWER, None)  # emptied: the answer waits for a TA again
    copy_formgrader_saves(root, store, RUBRIC)
    analysis = _check(_score(store), ANSWER)
    assert analysis["points"] is None and analysis["status"] == Status.PENDING


def test_a_score_for_another_answer_waits_for_a_re_review(course):
    root, store = course
    formgrader_score(gradebook_db(root), "ada", ANSWER, 2)
    copy_formgrader_saves(root, store, RUBRIC)
    store.save_result("ada", Phase.A, "fp2", _result(answer="ada-v2"))  # regraded: the answer changed
    rubric = _score(store)
    analysis = _check(rubric, ANSWER)
    assert (analysis["points"], analysis["status"]) == (None, Status.REREVIEW)
    assert "answer changed" in analysis["message"] and "2 points" in analysis["message"]
    assert rubric["status"] == Status.PENDING
    store.save_result("ada", Phase.A, "fp3", _result(answer="ada-v1"))  # back to the answer the TA scored
    assert _check(_score(store), ANSWER)["points"] == 2


def test_an_automatic_checks_formgrader_score_replaces_it_until_emptied(course):
    root, store = course
    formgrader_score(gradebook_db(root), "ben", TEST, 1)
    copy_formgrader_saves(root, store, RUBRIC)
    assert _check(_score(store, "ben"), TEST)["points"] == 1
    formgrader_score(gradebook_db(root), "ben", TEST, None)
    copy_formgrader_saves(root, store, RUBRIC)
    collapse = _check(_score(store, "ben"), TEST)
    assert (collapse["points"], collapse["status"]) == (POINTS[TEST], Status.AUTO) and "removed" in collapse["message"]


def test_saves_the_rubric_cannot_place_are_reported_not_used(course):
    root, store = course
    db = gradebook_db(root)
    with Gradebook(f"sqlite:///{db}") as gb:
        gb.update_or_create_grade_cell("bonus_cell", NOTEBOOK, PHASE, max_score=1, cell_type="code")
        gb.db.commit()
    with sqlite3.connect(db) as raw:  # a grade row for the new cell, as nbgrader would add it on submission
        cell_id = raw.execute("SELECT id FROM base_cell WHERE name = 'bonus_cell'").fetchone()[0]
        notebook_id = raw.execute("SELECT notebook_id FROM grade LIMIT 1").fetchone()[0]
        raw.execute("INSERT INTO grade (id, notebook_id, cell_id, needs_manual_grade) VALUES ('g-bonus', ?, ?, 0)",
                    (notebook_id, cell_id))
        raw.execute("UPDATE grade SET manual_score = 1 WHERE id = 'g-bonus'")
    report = copy_formgrader_saves(root, store, RUBRIC)
    assert report.copied == 0 and len(report.skipped) == 1
    assert "bonus_cell: not a check of the rubric" in report.skipped[0]


def test_a_course_without_a_gradebook_has_nothing_to_copy(tmp_path):
    store = RubricStore(store_path(tmp_path))
    assert copy_formgrader_saves(tmp_path, store, RUBRIC).copied == 0
