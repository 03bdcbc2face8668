"""The TA log in nbgrader's gradebook: formgrader's saves are logged with who and when, the grader's are not."""

from datetime import UTC, datetime, timedelta

import pytest
from gradebooks import ANSWER, NOTEBOOK, PHASE, TEST, formgrader_comment, formgrader_score, make_gradebook
from nbgrader.api import Gradebook

from autograder.review.ta_log import UNNAMED_TA, install, name_ta, saves_after
from geoai_ref.errors import MissingInput


@pytest.fixture()
def gradebook(tmp_path):
    return make_gradebook(tmp_path / "gradebook.db")


def test_formgrader_saves_are_logged_with_the_ta_and_the_time(gradebook):
    name_ta(gradebook, "  ta_lucia ")
    before = datetime.now(UTC) - timedelta(seconds=1)
    formgrader_score(gradebook, "ada", ANSWER, 2)
    formgrader_comment(gradebook, "ada", ANSWER, "names the collapse, no evidence")
    saves = saves_after(gradebook)
    assert [(s.kind, s.student, s.phase, s.cell, s.score, s.comment, s.grader) for s in saves] == [
        ("score", "ada", PHASE, ANSWER, 2.0, None, "ta_lucia"),
        ("comment", "ada", PHASE, ANSWER, None, "names the collapse, no evidence", "ta_lucia")]
    for save in saves:
        assert before <= datetime.fromisoformat(save.at) <= datetime.now(UTC) + timedelta(seconds=1)
    assert saves_after(gradebook, saves[0].log_id) == saves[1:]


def test_the_graders_own_updates_are_not_logged(gradebook):
    install(gradebook)
    with Gradebook(f"sqlite:///{gradebook}") as gb:
        test = gb.find_grade(TEST, NOTEBOOK, PHASE, "ben")
        test.auto_score, test.needs_manual_grade = 1.0, True  # a regrade's automatic result
        gb.find_grade(ANSWER, NOTEBOOK, PHASE, "ben").needs_manual_grade = True
        gb.find_comment(ANSWER, NOTEBOOK, PHASE, "ben").auto_comment = "autograded"
        gb.db.commit()
    assert saves_after(gradebook) == []


def test_an_emptied_score_and_a_confirmed_score_are_logged(gradebook):
    name_ta(gradebook, "ta1")
    formgrader_score(gradebook, "ada", ANSWER, 2)
    formgrader_score(gradebook, "ada", ANSWER, None)  # the TA emptied the box
    formgrader_score(gradebook, "ada", ANSWER, 2)
    with Gradebook(f"sqlite:///{gradebook}") as gb:  # a regrade found another answer: marked for review
        gb.find_grade(ANSWER, NOTEBOOK, PHASE, "ada").needs_manual_grade = True
        gb.db.commit()
    assert len(saves_after(gradebook)) == 3
    formgrader_score(gradebook, "ada", ANSWER, 2)  # the TA saves the same score again: a confirmation
    assert [s.score for s in saves_after(gradebook)] == [2.0, None, 2.0, 2.0]


def test_saves_without_a_named_ta_are_credited_to_formgrader(gradebook):
    install(gradebook)
    install(gradebook)  # idempotent
    formgrader_score(gradebook, "ben", TEST, 1)
    (save,) = saves_after(gradebook)
    assert (save.cell, save.score, save.grader) == (TEST, 1.0, UNNAMED_TA)


def test_a_log_never_installed_has_no_saves(gradebook):
    formgrader_score(gradebook, "ada", ANSWER, 2)
    assert saves_after(gradebook) == []


def test_bad_input_is_refused_with_what_to_do(tmp_path, gradebook):
    with pytest.raises(MissingInput, match="grade the class first"):
        install(tmp_path / "nowhere.db")
    with pytest.raises(ValueError, match="TA name"):
        name_ta(gradebook, "  ")
