"""A regrade keeps the TA's formgrader scores unless the answer changed; then formgrader and the rubric ask for a
re-review. Runs the coordinator's own recording step (``record_result``) on a real nbgrader gradebook."""

import nbformat
import pytest
from gradebooks import ANSWER, NOTEBOOK, PHASE, POINTS, TEST, formgrader_score, make_gradebook, needs_manual_grade
from nbgrader.api import Gradebook

from autograder.grading.config import GradingConfig
from autograder.grading.coordinator import Job, record_result
from autograder.grading.results import CellScore, Outcome, PhaseResult
from autograder.review.sync import copy_formgrader_saves, gradebook_db
from autograder.review.ta_log import name_ta
from autograder.rubric.definition import load_rubric
from autograder.rubric.scoring import Status, score_student
from autograder.rubric.store import RubricStore
from geoai_ref.phase import Phase

RUBRIC = load_rubric()


def _regrade(config: GradingConfig, store: RubricStore, answer: str, n: int) -> PhaseResult:
    """Record a regrade of ada's 4A whose answer cell holds ``answer`` (a worker course as nbgrader leaves it)."""
    worker = config.gradebook / "work" / "ada" / PHASE
    make_gradebook(worker / "gradebook" / "gradebook.db")
    autograded = worker / "gradebook" / "autograded" / "ada" / PHASE
    autograded.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), autograded / f"{NOTEBOOK}.ipynb")
    result = PhaseResult(Outcome.GRADED, cells={ANSWER: CellScore(None, POINTS[ANSWER], None, "", answer),
                                                TEST: CellScore(POINTS[TEST], POINTS[TEST], True, "passed")},
                         worker_course=str(worker))
    (_, _, outcome), = record_result(config, store, RUBRIC, Job("ada", Phase.A, worker, {}, f"fp{n}"), result)
    assert outcome == "graded"
    assert not worker.exists()  # retired
    return store.result("ada", Phase.A).result


@pytest.fixture()
def graded(tmp_path):
    """ada's 4A graded once (answer v1), then scored 2 by ta1 in formgrader."""
    config = GradingConfig(course=tmp_path)
    make_gradebook(gradebook_db(tmp_path))
    store = RubricStore(config.store_path)
    first = _regrade(config, store, "v1", 1)
    with Gradebook(f"sqlite:///{gradebook_db(tmp_path)}") as gb:
        assert first.formgrader_id == gb.find_submission_notebook(NOTEBOOK, PHASE, "ada").id
    name_ta(gradebook_db(tmp_path), "ta1")
    formgrader_score(gradebook_db(tmp_path), "ada", ANSWER, 2)
    return config, store


def _analysis(store: RubricStore) -> dict:
    rubric = score_student(RUBRIC, "ada", {Phase.A: store.result("ada", Phase.A).result}, store.ta_scores("ada"))
    return next(c for cr in rubric["criteria"] for c in cr["checks"] if c["id"] == ANSWER)


def test_a_regrade_with_the_same_answer_keeps_the_tas_score(graded):
    config, store = graded
    _regrade(config, store, "v1", 2)  # the TA's save is copied before the merge, against answer v1
    assert _analysis(store)["points"] == 2
    assert not needs_manual_grade(gradebook_db(config.course), "ada", ANSWER)
    with Gradebook(f"sqlite:///{gradebook_db(config.course)}") as gb:
        assert gb.find_grade(ANSWER, NOTEBOOK, PHASE, "ada").manual_score == 2


def test_a_changed_answer_is_marked_for_review_in_formgrader_and_the_rubric(graded):
    config, store = graded
    _regrade(config, store, "v2", 2)
    db = gradebook_db(config.course)
    assert needs_manual_grade(db, "ada", ANSWER)  # formgrader lists it again, the old score still shown
    with Gradebook(f"sqlite:///{db}") as gb:
        assert gb.find_grade(ANSWER, NOTEBOOK, PHASE, "ada").manual_score == 2
    analysis = _analysis(store)
    assert (analysis["points"], analysis["status"]) == (None, Status.REREVIEW)
    formgrader_score(db, "ada", ANSWER, 2)  # the TA reads the new answer and confirms the score
    copy_formgrader_saves(config.course, store, RUBRIC)
    assert (_analysis(store)["points"], _analysis(store)["status"]) == (2, Status.OVERRIDDEN)
    assert not needs_manual_grade(db, "ada", ANSWER)
    assert [(o.points, o.answer) for o in store.ta_scores("ada")] == [(2.0, "v1"), (2.0, "v2")]
