"""A TA's round trip, in a real headless Chromium: formgrader (started as `geoai-grade grade-ui` starts it) on a
graded class, a score and a comment entered for a written answer, then `geoai-grade report` shows them in the
student's rubric, whose link leads back to that score box; a later `override` wins, and the history keeps both.

Runs on a copy of the session's graded class (tests/conftest.py). GEOAI_SCREENSHOT_DIR=folder saves the
screenshots the README shows (formgrader.png, rubric.png).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser import launch, need_browser
from conftest import cli, copy_course

from autograder.review.server import start_formgrader, submission_url
from autograder.review.ta_log import saves_after
from autograder.rubric.scoring import class_rubrics
from autograder.rubric.store import RubricStore

STUDENT = "ada_correct"
ANSWER = "4a_analysis"
COMMENT = "Names the collapse signals, but quotes no number from the curves."


# true once formgrade.js (nbgrader) has fetched the submission's grades and comments and bound a view to each box,
# which saves it on change. (Its `formgrader.loaded` stays false offline: init stops where MathJax is missing.)
FORMGRADER_READY = ("() => typeof formgrader !== 'undefined' && formgrader.grades !== undefined"
                    " && formgrader.grades.loaded && formgrader.comments.loaded")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rubric(course: Path) -> dict:
    """The student's rubric as the store holds it now (what `report` renders)."""
    return class_rubrics(RubricStore.of_course(course), students=[STUDENT])[0]


def _check(rubric: dict, check_id: str) -> dict:
    return next(c for cr in rubric["criteria"] for c in cr["checks"] if c["id"] == check_id)


def _screenshot(page, name: str) -> None:
    folder = os.environ.get("GEOAI_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name))


def _wait_for_saves(db: Path, count: int, timeout: float = 120) -> list:
    """The saves formgrader wrote, once there are ``count``; generous: a loaded 2-core machine (grading running
    beside the suite) took over 30 s for the second one. Not a speed check."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        saves = saves_after(db)
        if len(saves) >= count:
            return saves
        time.sleep(0.2)
    raise AssertionError(f"formgrader saved {len(saves_after(db))} of {count} entries within {timeout} s")


@pytest.fixture()
def course(graded_class, tmp_path):
    need_browser()
    _, graded_course, _, _, _ = graded_class
    return copy_course(graded_course.root, tmp_path / "course")


def test_a_score_entered_in_formgrader_reaches_the_rubric(course, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    total_before = _rubric(course)["total"]
    db = course / "gradebook" / "gradebook.db"

    with start_formgrader(course, "ta_lucia", port=_free_port()) as server, sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page_errors: list[str] = []
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        page.goto(server.login_url)
        # a TA's path: Manual Grading > phase4a > the notebook > the student's submission
        page.get_by_role("link", name="Manual Grading").click()
        page.get_by_role("link", name="phase4a", exact=True).click()
        page.get_by_role("link", name="Week_4_Exercise_Phase4A").click()
        page.get_by_role("link", name="Submission #1").wait_for()  # the table is filled by a script
        page.get_by_role("button", name="Show All Names").click()
        page.get_by_role("link", name=STUDENT, exact=True).click()
        page.wait_for_url("**/formgrader/submissions/*/")
        # formgrader binds its save handlers after the window's load event (which waits for MathJax from a CDN) and
        # two API calls; a box filled before then saves nothing (CI: 0 saves). A TA cannot type that fast; a test can.
        page.wait_for_function(FORMGRADER_READY, timeout=120_000)
        score = page.locator(f'[id="{ANSWER}"]')  # ids start with a digit: no #id selector
        score.fill("2")
        score.press("Tab")
        comment = page.locator(f'[id="{ANSWER}-comment"]')
        comment.fill(COMMENT)
        comment.press("Tab")
        saves = _wait_for_saves(db, 2)
        assert [(s.kind, s.student, s.cell, s.grader) for s in saves] == [
            ("score", STUDENT, ANSWER, "ta_lucia"), ("comment", STUDENT, ANSWER, "ta_lucia")]
        score.scroll_into_view_if_needed()
        _screenshot(page, "formgrader.png")
        formgrader_page = urlsplit(page.url).path  # formgrader adds ?index=N when it focuses a box

        report = cli("report", "--out", tmp_path / "after", "--course", course, "--formgrader-url", server.base_url)
        assert report.returncode == 0, report.stderr
        assert "2 new save(s) from formgrader" in report.stderr
        rubric = json.loads((tmp_path / "after" / STUDENT / "rubric.json").read_text())
        analysis = _check(rubric, ANSWER)
        assert (analysis["points"], analysis["status"]) == (2, "overridden")
        assert "ta_lucia in formgrader" in analysis["message"] and COMMENT in analysis["message"]
        assert rubric["total"] == total_before + 2

        # the TA's report shows the points and links the answer back to its score box in formgrader
        page.goto((tmp_path / "after" / STUDENT / "rubric.html").as_uri())
        row = page.locator(f'[id="check-{ANSWER}"]')
        assert "2 / 3" in row.locator("td.num").inner_text()
        link = row.get_by_role("link", name="grade in formgrader")
        assert link.get_attribute("href") == submission_url(server.base_url, rubric["phases"]["phase4a"]
                                                             ["formgrader_id"], ANSWER)
        row.scroll_into_view_if_needed()
        _screenshot(page, "rubric.png")
        link.evaluate("a => a.removeAttribute('target')")  # follow it in this tab
        link.click()
        page.wait_for_load_state("load")
        assert urlsplit(page.url).path == formgrader_page and urlsplit(page.url).fragment == ANSWER
        expect(page.locator(f'[id="{ANSWER}"]')).to_have_value("2")  # filled in by formgrader's script
        # formgrader loads MathJax from a CDN, which an offline machine cannot reach; nothing else may fail
        assert [e for e in page_errors if "MathJax" not in e] == [], page_errors
        browser.close()

    override = cli("override", STUDENT, ANSWER, 3, "--grader", "prof", "--reason", "regrade request", "--course",
                   course)
    assert override.returncode == 0, override.stderr
    assert f"total now {total_before + 3:g}" in override.stdout  # the later entry wins
    history = cli("override", STUDENT, "--history", "--course", course)
    assert [line.split("\t")[3:6] for line in history.stdout.splitlines() if f"\t{ANSWER}\t" in line] == [
        ["2", "ta_lucia", "formgrader"], ["3", "prof", "override"]]
    assert _check(_rubric(course), ANSWER)["points"] == 3
