"""`geoai-grade grade-ui`: starts formgrader on a graded course, one TA at a time, and copies the saves on Ctrl-C."""

import json
import signal
import socket
import subprocess
import sys
import urllib.request

import nbformat
import pytest
from conftest import REPO, cli
from gradebooks import ANSWER, NOTEBOOK, PHASE, formgrader_score, make_gradebook

from autograder.grading.results import Outcome, PhaseResult
from autograder.review.server import start_formgrader, submission_url
from autograder.review.sync import gradebook_db
from autograder.rubric.store import RubricStore, store_path
from geoai_ref.errors import MissingInput, UsageError
from geoai_ref.phase import Phase


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def course(tmp_path):
    """A course as grading leaves it: nbgrader's gradebook, an autograded notebook, the rubric store."""
    make_gradebook(gradebook_db(tmp_path))
    autograded = tmp_path / "gradebook" / "autograded" / "ada" / PHASE
    autograded.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), autograded / f"{NOTEBOOK}.ipynb")
    RubricStore(store_path(tmp_path)).save_result("ada", Phase.A, "fp", PhaseResult(Outcome.GRADED))
    return tmp_path


def test_grade_ui_serves_formgrader_and_copies_the_saves_when_stopped(course):
    port = _free_port()
    ui = subprocess.Popen([sys.executable, "-m", "autograder.cli", "grade-ui", "--course", str(course), "--grader",
                           "ta_ana", "--port", str(port)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    try:
        lines = [ui.stdout.readline() for _ in range(3)]
        url = lines[1].strip()
        assert url.startswith(f"http://127.0.0.1:{port}/formgrader?token="), lines
        token = url.split("token=")[1]
        api = f"http://127.0.0.1:{port}/formgrader/api/submitted_notebooks/{PHASE}/{NOTEBOOK}?token={token}"
        with urllib.request.urlopen(api) as reply:  # the course's gradebook, as formgrader lists it
            assert [s["student"] for s in json.loads(reply.read())] == ["ada"]  # ben has no autograded notebook
        second = cli("grade-ui", "--course", course, "--grader", "ta_ben", "--port", _free_port())
        assert second.returncode == 2 and "already runs" in second.stderr and "ta_ana" in second.stderr
        formgrader_score(gradebook_db(course), "ada", ANSWER, 2)  # a save while it runs
    finally:
        ui.send_signal(signal.SIGINT)
        out, err = ui.communicate(timeout=60)
    assert ui.returncode == 0, err
    assert "1 new save(s) copied into the rubric store" in out
    (entry,) = RubricStore(store_path(course)).ta_scores("ada")
    assert (entry.check, entry.points, entry.grader) == (ANSWER, 2.0, "ta_ana")
    third = cli("grade-ui", "--course", course, "--grader", "ta_ben", "--port", port, "--help")
    assert third.returncode == 0 and "formgrader" in third.stdout


def test_grade_ui_refuses_a_course_never_graded(tmp_path):
    with pytest.raises(MissingInput, match="grade the class first"):
        start_formgrader(tmp_path, "ta")
    result = cli("grade-ui", "--course", tmp_path, "--grader", "ta")
    assert result.returncode == 2 and "grade the class first" in result.stderr


def test_grade_ui_needs_a_ta_name_and_a_free_port(course):
    with pytest.raises(UsageError, match="name the TA"):
        start_formgrader(course, " ")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(UsageError, match="is taken"):
            start_formgrader(course, "ta", port=taken.getsockname()[1])


def test_submission_links_point_at_the_score_box():
    assert submission_url("http://127.0.0.1:8890/", "abc", "4a_analysis") == (
        "http://127.0.0.1:8890/formgrader/submissions/abc/#4a_analysis")
