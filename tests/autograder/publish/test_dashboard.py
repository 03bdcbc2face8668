"""The class dashboard (autograder/publish/dashboard.py) over the synthetic students of test_rubric_reports."""

from __future__ import annotations

import base64
import copy
import re
import struct
from urllib.parse import unquote

import pytest
from test_rubric_reports import CRITERIA, assert_balanced, sample_rubrics

from autograder.publish.dashboard import DEFAULT_TITLE, common_failures, criterion_means, write_dashboard

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def rubrics(tmp_path) -> list[dict]:
    return list(sample_rubrics(tmp_path).values())


def _png_size(uri_payload: str) -> tuple[int, int]:
    data = base64.b64decode(uri_payload)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_dashboard_is_self_contained_with_three_plots(rubrics, tmp_path):
    path = write_dashboard(rubrics, tmp_path / "out")
    assert path == tmp_path / "out" / "index.html"
    page = path.read_text()
    assert_balanced(page)
    assert f"<title>{DEFAULT_TITLE}</title>" in page
    payloads = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(payloads) == 3 == page.count("<img")
    for payload in payloads:
        width, height = _png_size(payload)
        assert 300 < width < 1200 and 200 < height < 1200
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)  # nothing fetched from elsewhere


def test_students_table(rubrics, tmp_path):
    page = write_dashboard(rubrics, tmp_path).read_text()
    table = page.split('<table class="students">', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    assert body.count("<tr") == 4
    assert ">phase4a</th><th>phase4b</th><th>phase4c</th>" in table
    for student in ("ada_correct", "bob_collapse", "cy_broken", "dee_pending"):
        assert f'<a href="{student}/rubric.html">{student}</a>' in table
    cy = next(r for r in body.split("<tr")[1:] if "cy_broken" in r)
    assert ">invalid-notebook<" in cy and ">timeout<" in cy and ">not-submitted<" in cy
    assert "missing-deliverable" in cy and "0 / 100" in cy
    dee = next(r for r in body.split("<tr")[1:] if "dee_pending" in r)
    assert 'class="row-pending"' in dee and "7 check(s) wait for a TA" in dee and "78 / 100" in dee
    bob = next(r for r in body.split("<tr")[1:] if "bob_collapse" in r)
    assert ">collapse<" in bob and ">metrics-mismatch<" in bob


def test_summary_cards(rubrics, tmp_path):
    page = write_dashboard(rubrics, tmp_path).read_text()
    cards = page.split('<div class="cards">', 1)[1].split("<h2>", 1)[0]
    mean = (100 + 91 + 0 + 78) / 4
    assert f">{mean:.1f} / 100<" in cards and ">84.5<" in cards and ">0 – 100<" in cards
    assert re.search(r">manual pending</div><div class=\"v\">1<", cards)
    assert re.search(r">flagged</div><div class=\"v\">2<", cards)


def test_common_failures_counts_students(rubrics):
    failures = common_failures(rubrics)
    # most students first; ties: flags before checks, then by id
    # cy's phases did not run (invalid notebook, timeout, not submitted): they count as their outcome flags,
    # not as every check of those phases failing
    assert failures == [("flag", "collapse", 1), ("flag", "metrics-mismatch", 1), ("flag", "missing-deliverable", 1),
                        ("check", "4a_collapse", 1), ("check", "4a_stability", 1)]
    cy = next(r for r in rubrics if r["student"] == "cy_broken")
    cy["phases"]["phase4a"]["outcome"] = "graded"  # had 4A run, its failed checks would count
    assert ("check", "4a_collapse", 2) in common_failures(rubrics)


def test_failures_table_in_page(rubrics, tmp_path):
    page = write_dashboard(rubrics, tmp_path).read_text()
    table = page.split('<table class="failures">', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 6  # header + 3 flags + 2 checks
    assert "<td>check</td><td><code>4a_collapse</code></td><td class=\"num\">1</td><td class=\"num\">25 %</td>" in table


def test_criterion_means(rubrics):
    means = {cid: (m, x, p) for cid, m, x, p in criterion_means(rubrics)}
    assert list(means) == [c[0] for c in CRITERIA]
    assert means["4A.implementation"] == (pytest.approx((20 + 20 + 0 + 20) / 4), 20.0, 0)
    assert means["4A.performance"] == (pytest.approx((10 + 3 + 0 + 7) / 4), 10.0, 1)


def test_student_names_are_escaped_and_links_encoded(rubrics, tmp_path):
    evil = copy.deepcopy(rubrics[0])
    evil["student"] = EVIL
    page = write_dashboard([*rubrics, evil], tmp_path, title="Week 4 <b>GeoAI</b>").read_text()
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>Week 4 &lt;b&gt;GeoAI&lt;/b&gt;</title>" in page
    hrefs = re.findall(r'href="([^"]+)"', page)
    evil_href = next(h for h in hrefs if "alert" in h)
    assert evil_href == "%3Cscript%3Ealert%281%29%3C%2Fscript%3E/rubric.html"
    assert unquote(evil_href.split("/")[0]) == EVIL


def test_empty_class(tmp_path):
    page = write_dashboard([], tmp_path).read_text()
    assert_balanced(page)
    assert "0 student(s)" in page and page.count("data:image/png;base64,") == 3
    assert "No flags and no failed checks" in page
