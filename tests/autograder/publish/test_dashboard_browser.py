"""The dashboard and a rubric report rendered by a real headless Chromium (Debian's, driven by Playwright; see
tests/browser.py for what it needs). GEOAI_SCREENSHOT=path.png saves a full-page screenshot of the dashboard.
"""

from __future__ import annotations

import functools
import os
import threading
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin

import pytest
from browser import launch, need_browser
from test_rubric_reports import sample_rubrics

from autograder.publish.dashboard import write_dashboard
from autograder.publish.feedback import write_feedback
from autograder.publish.student_report import write_student_report

# no "/" (a student id is a folder name) but markup that would show up as a broken <img> if injected
ODD_NAME = "eve<img src=x onerror=alert(1)>&co"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The class output folder (index.html, <student>/rubric.html, <student>/feedback/feedback.html) served on
    localhost."""
    need_browser()
    root = tmp_path_factory.mktemp("site")
    rubrics = list(sample_rubrics(tmp_path_factory.mktemp("inputs")).values())
    rubrics[2]["student"] = ODD_NAME
    for rubric in rubrics:
        write_student_report(rubric, root / rubric["student"])
        write_feedback(rubric, root / rubric["student"] / "feedback")
    write_dashboard(rubrics, root, title="Week 4 GeoAI · test class")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", rubrics
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch(pw)
        try:
            yield b
        finally:
            b.close()


def _open(browser, url: str):
    """Load url; returns (page, console errors, page errors, dialogs)."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors: list[str] = []
    page_errors: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page_errors.append(str(exc)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, url
    return page, errors, page_errors, dialogs


def _images_ok(page) -> list[dict]:
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => ({alt: e.alt, complete: e.complete, w: e.naturalWidth}))")
    bad = [i for i in images if not (i["complete"] and i["w"] > 0)]
    assert not bad, f"images that did not decode: {bad}"
    return images


def test_dashboard_renders_in_chromium(site, browser):
    base, rubrics = site
    page, errors, page_errors, dialogs = _open(browser, base + "index.html")
    try:
        assert page.title() == "Week 4 GeoAI · test class"
        assert page.locator("h1").inner_text() == "Week 4 GeoAI · test class"
        assert page.locator("table.students tbody tr").count() == len(rubrics)
        assert len(_images_ok(page)) == 3
        assert page.get_by_text(ODD_NAME, exact=True).count() == 1  # shown as text, not as markup
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, f"the dashboard scrolls sideways on a laptop ({width} px)"
        hrefs = page.eval_on_selector_all("table.students a", "els => els.map(e => e.getAttribute('href'))")
        assert len(hrefs) == 2 * len(rubrics)
        for href in set(hrefs):
            with urllib.request.urlopen(urljoin(base, href)) as reply:
                assert reply.status == 200, href
        shot = os.environ.get("GEOAI_SCREENSHOT")
        if shot:
            Path(shot).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=shot, full_page=True)
        assert not errors and not page_errors and not dialogs, (errors, page_errors, dialogs)
    finally:
        page.close()


def test_rubric_report_renders_in_chromium(site, browser):
    base, rubrics = site
    page, errors, page_errors, dialogs = _open(browser, base + "index.html")
    try:
        page.get_by_role("link", name="bob_collapse", exact=True).click()
        page.wait_for_load_state("load")
        assert page.url.endswith("/bob_collapse/rubric.html")
        assert page.title() == "Rubric · bob_collapse"
        assert page.locator("section.criterion").count() == len(rubrics[1]["criteria"])
        assert page.locator("table.metrics").count() >= 1
        assert page.get_by_text("Figure not shown: cannot read it").count() == 1
        snapshot = page.locator("details", has_text="hashed before grading").first
        assert not snapshot.locator("table").is_visible()  # collapsed until opened
        snapshot.locator("summary").click()
        assert snapshot.locator("table").is_visible()
        assert not errors and not page_errors and not dialogs, (errors, page_errors, dialogs)
    finally:
        page.close()
    page, errors, page_errors, dialogs = _open(browser, base + "ada_correct/rubric.html")
    try:
        assert len(_images_ok(page)) == 1
        assert not errors and not page_errors and not dialogs, (errors, page_errors, dialogs)
    finally:
        page.close()


@pytest.mark.parametrize("path", ["dee_pending/rubric.html", "dee_pending/feedback/feedback.html"])
def test_pending_points_stay_in_their_column(site, browser, path):
    """A pending check's 'waiting for a TA (of 3)' wraps inside the points column of the fixed-layout tables
    instead of running on over the message next to it."""
    base, _ = site
    page, errors, page_errors, dialogs = _open(browser, base + path)
    try:
        assert page.locator("section.criterion td.num", has_text="waiting for a TA (of 3)").count() >= 1
        overflowing = page.eval_on_selector_all(
            "section.criterion td.num",
            "els => els.filter(e => e.scrollWidth > e.clientWidth + 1)"
            "          .map(e => `${e.textContent}: ${e.scrollWidth} px in ${e.clientWidth} px`)")
        assert not overflowing, overflowing
        assert not errors and not page_errors and not dialogs, (errors, page_errors, dialogs)
    finally:
        page.close()
