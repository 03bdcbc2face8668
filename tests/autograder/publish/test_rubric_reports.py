"""Per-student renderings of the rubric dict: TA report (autograder/publish/student_report.py), student feedback
(feedback.py), CSVs (lms.py).

`sample_rubrics` (also used by test_dashboard.py and test_dashboard_browser.py) builds four synthetic students:
full marks, a collapsed model with metrics-mismatch flags and an override history, an invalid notebook with a
timed-out phase, and one waiting for a TA.
"""

from __future__ import annotations

import base64
import copy
import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from autograder.publish.feedback import scrub_nbgrader_feedback, student_message, write_feedback
from autograder.publish.lms import GRADE_FORMATS, write_grades_csv, write_summary_csv
from autograder.publish.student_report import metric_rows, write_student_report

# criterion id, phase, name, [(check id, source, points, confirmed_by)]
CRITERIA = [
    ("4A.implementation", "4A", "Implementation", [
        ("4a_normalise", "nbgrader", 3, []), ("4a_inflate_conv1", "nbgrader", 3, []),
        ("4a_build_model", "nbgrader", 5, []), ("4a_freeze", "nbgrader", 5, []),
        ("4a_callbacks", "nbgrader", 2, []), ("4a_metrics", "nbgrader", 2, [])]),
    ("4A.performance", "4A", "Performance", [
        ("4a_collapse", "nbgrader", 4, []),
        ("4a_stability", "nbgrader", 3, ["4a_model_reeval", "4a_metrics_match"]),
        ("4a_analysis", "nbgrader-manual", 3, [])]),
    ("4A.documentation", "4A", "Documentation", [
        ("4a_artifacts", "nbgrader", 4, ["4a_files"]), ("4a_reflection", "nbgrader-manual", 3, []),
        ("4a_code_documented", "manual", 3, [])]),
    ("4B.data_fusion", "4B", "Data fusion", [
        ("4b_align", "nbgrader", 5, []), ("4b_stack", "nbgrader", 3, []), ("4b_patches", "nbgrader", 3, []),
        ("4b_qc", "nbgrader", 2, []), ("4b_fused_arrays", "nbgrader", 2, ["4b_fused_trusted"])]),
    ("4B.implementation", "4B", "Fusion model", [
        ("4b_band_reduction", "nbgrader", 4, []), ("4b_split", "nbgrader", 4, []),
        ("4b_fusion_model", "nbgrader", 3, ["4b_model_reeval", "4b_metrics_match"]),
        ("4b_analysis", "nbgrader-manual", 4, [])]),
    ("4B.ablation", "4B", "Ablation", [
        ("4b_select_bands", "nbgrader", 3, []), ("4b_ablation_artifacts", "nbgrader", 4, ["4b_ablation_files"]),
        ("4b_ablation_answer", "nbgrader-manual", 3, [])]),
    ("4B.baseline_report", "4B", "Baseline report", [
        ("4b_config", "nbgrader", 3, ["4b_report_files"]), ("4b_baseline_report", "nbgrader", 3, ["4b_report_files"]),
        ("4b_report_quality", "manual", 4, [])]),
    ("4C.ablation", "4C", "SimpleCNN ablation", [
        ("4c_subsets", "nbgrader", 2, []), ("4c_results", "nbgrader", 4, ["4c_models_reeval", "4c_metrics_match"]),
        ("4c_figures", "nbgrader", 2, ["4c_files"]), ("4c_reflection", "nbgrader-manual", 2, [])]),
]
TRUSTED = {
    "phase4a": ("4a_files", "4a_model_reeval", "4a_metrics_match"),
    "phase4b": ("4b_fused_trusted", "4b_ablation_files", "4b_report_files", "4b_model_reeval", "4b_metrics_match"),
    "phase4c": ("4c_files", "4c_models_reeval", "4c_metrics_match"),
}
SNAPSHOT_HASH = "5f2b0c9d" * 8
HIDDEN_RECALL = 0.0417  # a hidden-set per-class figure: TA report yes, student feedback never
GRADER = "ta_margaret"
TRACEBACK = """---------------------------------------------------------------------------
AssertionError                            Traceback (most recent call last)
Cell In[14], line 3
      1 ### BEGIN HIDDEN TESTS
      2 from autograder.checks import phase4a as hidden
----> 3 hidden.check_collapse(detect_collapse)

File /srv/grader/autograder/checks/phase4a.py:88, in check_collapse(fn)
     86 preds = np.zeros(170, dtype=int)
---> 88 assert fn(preds)["verdict"] == "collapsed", "detect_collapse missed a model"

AssertionError: detect_collapse missed a model that predicts one class for every patch"""
HIDDEN_SOURCE_BITS = ("autograder.checks", "check_collapse", "BEGIN HIDDEN TESTS", "np.zeros(170", "/srv/grader")


def tiny_png(path: Path) -> Path:
    fig = Figure(figsize=(1.2, 0.9))
    fig.add_subplot().plot([0, 1, 2], [0, 1, 0])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=40)
    return path


def _trusted(phase: str, tid: str) -> dict:
    evidence: dict = {}
    if tid.endswith("metrics_match"):
        if phase == "phase4c":
            evidence = {"reported": {c: {"accuracy": 0.8, "macro_f1": 0.78} for c in ("S2", "Full")},
                        "recomputed": {c: {"accuracy": 0.8, "macro_f1": 0.78} for c in ("S2", "Full")}, "n": 75}
        else:
            evidence = {"reported": {"accuracy": 0.84, "macro_f1": 0.83},
                        "recomputed": {"accuracy": 0.8267, "macro_f1": 0.8211}, "n": 75}
    elif tid.endswith("reeval"):
        evidence = {"input": "normalization-layer",
                    "hidden": {"accuracy": 0.81, "per_class": {"Agriculture": {"recall": 0.9}}}}
    return {"id": tid, "phase": phase, "passed": True, "message": "ok", "evidence": evidence, "flags": []}


def _base(student: str, figure: Path) -> dict:
    criteria = []
    for cid, phase, name, checks in CRITERIA:
        rows = [{"id": k, "source": src, "description": f"what {k} checks", "passed": True, "points": float(p),
                 "max": float(p), "message": "passed", "confirmed_by": list(conf)} for k, src, p, conf in checks]
        criteria.append({"id": cid, "phase": phase, "name": name, "description": f"{name} of phase {phase}",
                         "points": 0.0, "max": float(sum(p for _, _, p, _ in checks)), "status": "auto",
                         "checks": rows})
    return {
        "student": student, "total": 0.0, "possible": 100, "status": "auto",
        "graded_at": "2026-11-24T23:50:00+00:00", "criteria": criteria, "flags": [],
        "phases": {p: {"outcome": "graded", "message": "", "seconds": 34.2,
                       "snapshot": {f"reports/{p}_metrics.json": SNAPSHOT_HASH}} for p in TRUSTED},
        "trusted": [_trusted(p, t) for p, ids in TRUSTED.items() for t in ids],
        "figures": [{"phase": "phase4a", "name": "figures/phase4a_confusion_matrix.png", "path": str(figure)}],
        "overrides": [],
    }


def _check(rubric: dict, check_id: str) -> dict:
    for criterion in rubric["criteria"]:
        for check in criterion["checks"]:
            if check["id"] == check_id:
                return check
    raise KeyError(check_id)


def _trusted_entry(rubric: dict, tid: str) -> dict:
    return next(t for t in rubric["trusted"] if t["id"] == tid)


def _finish(rubric: dict) -> dict:
    """Criterion points / status and the total from the checks, as the rubric engine would."""
    overridden = {o["check"] for o in rubric["overrides"]}
    for criterion in rubric["criteria"]:
        points = [c["points"] for c in criterion["checks"]]
        criterion["points"] = float(sum(p for p in points if p is not None))
        criterion["status"] = ("manual-pending" if None in points else
                               "overridden" if overridden & {c["id"] for c in criterion["checks"]} else "auto")
    rubric["total"] = float(sum(c["points"] for c in rubric["criteria"]))
    statuses = {c["status"] for c in rubric["criteria"]}
    rubric["status"] = "manual-pending" if "manual-pending" in statuses else (
        "overridden" if "overridden" in statuses else "auto")
    return rubric


def _fail(rubric: dict, check_id: str, message: str) -> None:
    _check(rubric, check_id).update(passed=False, points=0.0, message=message)


def sample_rubrics(tmp_path: Path) -> dict[str, dict]:
    """Four synthetic students keyed by name: ada (full marks), bob (collapsed, metrics mismatch, overrides),
    cy (invalid notebook + timeout), dee (manual points pending). ada's figure is a real PNG, bob's is missing."""
    png = tiny_png(tmp_path / "figs" / "cm.png")
    ada = _finish(_base("ada_correct", png))

    bob = _base("bob_collapse", tmp_path / "figs" / "does_not_exist.png")
    _fail(bob, "4a_collapse", TRACEBACK)
    _fail(bob, "4a_stability", "trusted re-check 4a_model_reeval failed: the model predicts Agriculture for "
                               "96 % of the hidden patches <b>collapsed</b>")
    reeval = _trusted_entry(bob, "4a_model_reeval")
    reeval.update(passed=False, flags=["collapse"], message="collapsed: 96 % of predictions are Agriculture",
                  evidence={"hidden": {"accuracy": 0.21, "per_class": {"Native forest": {"recall": HIDDEN_RECALL}}}})
    match = _trusted_entry(bob, "4a_metrics_match")
    match.update(passed=False, flags=["metrics-mismatch"],
                 message="reports/phase4a_metrics.json claims accuracy 0.990 but the submitted model scores 0.613 on "
                         "the same 75 validation patches (re-evaluated by the grader): report the model's own figures",
                 evidence={"reported": {"accuracy": 0.99, "macro_f1": 0.97},
                           "recomputed": {"accuracy": 0.613, "macro_f1": 0.402}, "n": 75})
    bob["flags"] = [{"id": "collapse", "phase": "phase4a", "message": "the 4A model predicts one class"},
                    {"id": "metrics-mismatch", "phase": "phase4a", "message": "reported metrics are not the model's"}]
    _check(bob, "4a_code_documented").update(points=1.0, message="overridden by a TA")
    bob["overrides"] = [
        {"check": "4a_code_documented", "points": 2.0, "grader": "ta_joe", "reason": "first pass",
         "at": "2026-11-25T09:00:00+00:00"},
        {"check": "4a_code_documented", "points": 1.0, "grader": GRADER,
         "reason": "comments are sparse <i>and</i> the experiment log is missing", "at": "2026-11-26T10:30:00+00:00"}]
    _finish(bob)

    cy = _base("cy_broken", png)
    cy["phases"]["phase4a"] = {"outcome": "invalid-notebook", "seconds": 0.4, "snapshot": {},
                               "message": "Week_4_Exercise_Phase4A.ipynb is not valid JSON: download it again"}
    cy["phases"]["phase4b"] = {"outcome": "timeout", "seconds": 1800.0, "snapshot": {},
                               "message": "the notebook ran past 1800 s: train with the fast profile"}
    cy["phases"]["phase4c"] = {"outcome": "not-submitted", "seconds": 0.0, "snapshot": {}, "message": ""}
    for criterion in cy["criteria"]:
        for check in criterion["checks"]:
            check.update(passed=False, points=0.0, message="the notebook was not graded")
    for t in cy["trusted"]:
        t.update(passed=False, flags=["missing-deliverable"], message="deliverable missing")
    cy["flags"] = [{"id": "missing-deliverable", "phase": p, "message": "deliverables missing"} for p in TRUSTED]
    cy["figures"] = []
    _finish(cy)

    dee = _base("dee_pending", png)
    for criterion in dee["criteria"]:
        for check in criterion["checks"]:
            if check["source"] != "nbgrader":
                check.update(passed=None, points=None, message="waiting for a TA (geoai-grade override)")
    _finish(dee)
    return {"ada": ada, "bob": bob, "cy": cy, "dee": dee}


class _Balance(HTMLParser):
    """Fails on unbalanced non-void elements."""
    VOID = {"meta", "br", "img", "hr", "input", "link", "col", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def assert_balanced(page: str) -> None:
    parser = _Balance()
    parser.feed(page)
    assert not parser.errors and not parser.stack, (parser.errors[:5], parser.stack)


@pytest.fixture
def rubrics(tmp_path: Path) -> dict[str, dict]:
    return sample_rubrics(tmp_path)


def test_samples_are_consistent(rubrics):
    assert rubrics["ada"]["total"] == 100 and rubrics["ada"]["status"] == "auto"
    assert rubrics["bob"]["status"] == "overridden" and rubrics["bob"]["total"] == 100 - 4 - 3 - 2
    assert rubrics["cy"]["total"] == 0
    assert rubrics["dee"]["status"] == "manual-pending" and rubrics["dee"]["total"] == 100 - 3 - 3 - 3 - 4 - 3 - 4 - 2


def test_student_report_files_and_json_round_trip(rubrics, tmp_path):
    paths = write_student_report(rubrics["bob"], tmp_path / "out" / "bob_collapse")
    assert set(paths) == {"json", "md", "html"}
    assert all(p.is_file() for p in paths.values())
    text = paths["json"].read_text()
    assert json.loads(text) == rubrics["bob"]
    assert text.startswith('{\n "student"')  # indent 1


def test_student_html_shows_every_check_with_evidence(rubrics, tmp_path):
    page = write_student_report(rubrics["bob"], tmp_path / "bob")["html"].read_text()
    assert_balanced(page)
    for _, _, _, checks in CRITERIA:
        for check_id, *_ in checks:
            assert f"<code>{check_id}</code>" in page
    # points/max, pass/fail, trusted confirmation and denial with the trusted message
    assert "1 / 3" in page and "0 / 4" in page
    assert 'class="badge fail">fail<' in page and 'class="badge pass">pass<' in page
    assert "denied by" in page and "confirmed by" in page
    assert "collapsed: 96 % of predictions are Agriculture" in page
    # recomputed vs reported table from the trusted evidence
    table = page.split("Recomputed vs reported metrics", 1)[1].split("</table>", 1)[0]
    assert "0.99" in table and "0.613" in table and "0.377" in table  # |0.99 - 0.613|
    # flags, phases, snapshot hashes collapsed, override history with who / when / why
    assert "metrics-mismatch" in page and "collapse" in page
    assert re.search(r"<details><summary>phase4a: 1 file\(s\)[^<]*</summary><table>.*" + SNAPSHOT_HASH, page)
    assert GRADER in page and "ta_joe" in page and "2026-11-26T10:30:00+00:00" in page
    assert "comments are sparse &lt;i&gt;and&lt;/i&gt;" in page and "<i>and</i>" not in page
    assert "&lt;b&gt;collapsed&lt;/b&gt;" in page
    # a long (traceback) message shows its last line, the whole of it folded away for the TA
    assert re.search(r"for every patch<details><summary>full message \(\d+ lines\)</summary><pre>-+\n", page)
    assert str(HIDDEN_RECALL) in page  # the TA sees all evidence


def test_student_html_phase_outcomes(rubrics, tmp_path):
    page = write_student_report(rubrics["cy"], tmp_path / "cy")["html"].read_text()
    assert_balanced(page)
    assert ">invalid-notebook<" in page and ">timeout<" in page and ">not-submitted<" in page
    assert "is not valid JSON: download it again" in page and "1800 s" in page
    assert "No figures were submitted" in page


def test_pending_points_say_waiting_for_a_ta(rubrics, tmp_path):
    page = write_student_report(rubrics["dee"], tmp_path / "dee")["html"].read_text()
    assert "waiting for a TA (of 3)" in page and 'class="badge pending">pending<' in page
    assert 'class="badge manual-pending">manual-pending<' in page
    md = (tmp_path / "dee" / "rubric.md").read_text()
    assert "| 4a_analysis | pending | waiting for a TA (of 3) |" in md


def test_ta_items_say_where_a_ta_gives_their_points(rubrics, tmp_path):
    dee = copy.deepcopy(rubrics["dee"])
    dee["phases"]["phase4a"]["formgrader_id"] = "nb-123"
    page = write_student_report(dee, tmp_path / "dee", formgrader="http://127.0.0.1:8890")["html"].read_text()
    row = re.search(r'<tr id="check-4a_analysis">.*?</tr>', page, re.S).group(0)
    assert ('href="http://127.0.0.1:8890/formgrader/submissions/nb-123/#4a_analysis"' in row
            and "grade in formgrader" in row)
    row = re.search(r'<tr id="check-4a_code_documented">.*?</tr>', page, re.S).group(0)
    assert f"geoai-grade override {dee['student']} 4a_code_documented POINTS" in row  # a TA-only item: no cell
    assert "formgrader/submissions" not in re.search(r'<tr id="check-4b_analysis">.*?</tr>', page, re.S).group(0)
    plain = write_student_report(dee, tmp_path / "plain")["html"].read_text()  # no formgrader address: no link
    assert "grade in formgrader" not in plain


def test_figures_embedded_and_missing_figure_is_a_note(rubrics, tmp_path):
    page = write_student_report(rubrics["ada"], tmp_path / "ada")["html"].read_text()
    uris = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) == 1
    assert base64.b64decode(uris[0]) == (tmp_path / "figs" / "cm.png").read_bytes()
    assert "src=\"/" not in page and "src='/" not in page  # nothing outside the file
    page = write_student_report(rubrics["bob"], tmp_path / "bob")["html"].read_text()
    assert "<img" not in page
    assert "Figure not shown: cannot read it" in page and "does_not_exist.png" in page


def test_markdown_report(rubrics, tmp_path):
    md = write_student_report(rubrics["bob"], tmp_path / "bob")["md"].read_text()
    assert md.startswith("# Rubric report: bob_collapse")
    assert "| 4a_stability | fail | 0 / 3 |" in md
    assert "4a_model_reeval: denied; 4a_metrics_match: denied" in md
    assert "| accuracy | 0.99 | 0.613 | 0.377 |" in md
    assert f"| 4a_code_documented | 1 | {GRADER} |" in md


def test_script_student_name_is_escaped(rubrics, tmp_path):
    evil = copy.deepcopy(rubrics["ada"])
    evil["student"] = "<script>alert(1)</script>"
    evil["flags"] = [{"id": "<img src=x onerror=alert(2)>", "phase": "phase4a", "message": "\"quoted\" & <b>"}]
    page = write_student_report(evil, tmp_path / "evil")["html"].read_text()
    feedback = write_feedback(evil, tmp_path / "evil").read_text()
    for text in (page, feedback):
        assert "<script" not in text.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "<img src=x" not in text and "&lt;img src=x onerror=alert(2)&gt;" in text
        assert "&quot;quoted&quot; &amp; &lt;b&gt;" in text


def test_report_needs_a_student(tmp_path):
    with pytest.raises(ValueError, match="student"):
        write_student_report({"criteria": []}, tmp_path)
    with pytest.raises(TypeError, match="float"):
        write_student_report({"student": "x", "total": {1, 2}}, tmp_path)


def test_metric_rows_flatten_configurations():
    rows = metric_rows({"reported": {"S2": {"accuracy": 0.8}, "Full": {"accuracy": 0.9}},
                        "recomputed": {"S2": {"accuracy": 0.7}}})
    assert rows[0][:3] == ("S2 / accuracy", 0.8, 0.7) and rows[0][3] == pytest.approx(0.1)
    assert rows[1] == ("Full / accuracy", 0.9, None, None)
    assert metric_rows({"reported": {"accuracy": 1}}) == []


# ------------------------------------------------------------------------------------------------ feedback

NBGRADER_PAGE = """<!DOCTYPE html><html><head><title>Week_4_Exercise_Phase4A</title></head><body>
<div class="cell border-box-sizing code_cell rendered"><div class="input"><div class="inner_cell">
<div class="input_area"><div class="highlight hl-ipython3"><pre><span></span><span class="k">assert</span> \
<span class="n">detect_collapse</span><span class="p">(</span><span class="n">y</span><span class="p">)</span>
<span class="c1">### BEGIN HIDDEN TESTS</span>
<span class="kn">from</span> <span class="nn">autograder.checks</span> <span class="kn">import</span> \
<span class="n">phase4a</span> <span class="k">as</span> <span class="n">hidden</span>
<span class="n">hidden</span><span class="o">.</span><span class="n">check_collapse</span>\
<span class="p">(</span><span class="n">detect_collapse</span><span class="p">)</span>
<span class="c1">### END HIDDEN TESTS</span>
</pre></div></div></div></div>
<div class="output_wrapper"><div class="output"><div class="output_area">
<div class="output_subarea output_text output_error"><pre>
<span class="ansi-red-fg">---------------------------------------------------------------------------</span>
<span class="ansi-red-fg">AssertionError</span>                            Traceback (most recent call last)
Cell <span class="ansi-green-fg">In[14], line 3</span>
<span class="ansi-green-intense-fg ansi-bold">----&gt; 3</span> hidden.check_collapse(detect_collapse)
File <span class="ansi-green-fg">/srv/grader/autograder/checks/phase4a.py:88</span>, in check_collapse(fn)
<span class="ansi-green-fg">     86</span> preds = np.zeros(170, dtype=int)
<span class="ansi-red-fg">AssertionError</span>: detect_collapse missed a model that predicts one class
</pre></div></div></div></div></div>
<div class="output_subarea output_text output_stream output_stdout"><pre>epoch 1 accuracy 0.61
</pre></div></body></html>"""


def test_student_message_hides_hidden_test_source():
    cut = student_message(TRACEBACK)
    assert cut == "AssertionError: detect_collapse missed a model that predicts one class for every patch"
    assert student_message("accuracy 0.61 < 0.7: train longer") == "accuracy 0.61 < 0.7: train longer"
    assert student_message("x\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\ny") == "x\n(hidden test)\ny"


def test_scrub_nbgrader_feedback_keeps_visible_code_and_the_error():
    page = scrub_nbgrader_feedback(NBGRADER_PAGE)
    for bit in HIDDEN_SOURCE_BITS:
        assert bit not in page, bit
    assert '<span class="n">detect_collapse</span>' in page  # the visible test stays
    assert "AssertionError: detect_collapse missed a model that predicts one class" in page
    assert "epoch 1 accuracy 0.61" in page  # ordinary output stays
    assert_balanced(page)


def test_feedback_contents_and_nbgrader_copies(rubrics, tmp_path):
    src = tmp_path / "nbgrader_feedback" / "Week_4_Exercise_Phase4A.html"
    src.parent.mkdir()
    src.write_text(NBGRADER_PAGE)
    out = tmp_path / "feedback" / "bob_collapse"
    path = write_feedback(rubrics["bob"], out, {"phase4a": src, "phase4b": tmp_path / "absent.html"})
    assert path == out / "feedback.html"
    page = path.read_text()
    assert_balanced(page)
    assert "91 / 100" in page
    assert "trusted re-check 4a_model_reeval failed" in page and ">fail<" in page
    assert "AssertionError: detect_collapse missed a model that predicts one class for every patch" in page
    assert "metrics-mismatch" in page and "comments are sparse &lt;i&gt;and&lt;/i&gt;" in page
    assert '<a href="nbgrader/phase4a.html">' in page and "phase4b: graded notebook not available" in page
    copied = (out / "nbgrader" / "phase4a.html").read_text()
    assert "detect_collapse missed a model" in copied
    assert not (out / "nbgrader" / "phase4b.html").exists()
    md = (out / "feedback.md").read_text()
    assert "**Total so far:** 91 / 100" in md
    for text in (page, md, copied):
        for bit in HIDDEN_SOURCE_BITS:
            assert bit not in text, bit


def test_feedback_leaks_no_internals(rubrics, tmp_path):
    for name, rubric in rubrics.items():
        out = tmp_path / name
        page = write_feedback(rubric, out).read_text()
        md = (out / "feedback.md").read_text()
        for text in (page, md):
            assert SNAPSHOT_HASH not in text and "sha256" not in text.lower() and "snapshot" not in text.lower()
            assert str(HIDDEN_RECALL) not in text and "per_class" not in text and "Native forest" not in text
            assert GRADER not in text and "ta_joe" not in text
            assert "evidence" not in text and "recomputed" not in text.lower()
            for bit in HIDDEN_SOURCE_BITS:
                assert bit not in text, (name, bit)


def test_feedback_phase_outcomes_and_pending(rubrics, tmp_path):
    page = write_feedback(rubrics["cy"], tmp_path / "cy").read_text()
    assert ">invalid-notebook<" in page and ">timeout<" in page and "train with the fast profile" in page
    page = write_feedback(rubrics["dee"], tmp_path / "dee").read_text()
    assert "7 answer(s) still wait for a teaching assistant" in page and "waiting for a TA (of 4)" in page


def test_feedback_rejects_a_phase_that_is_a_path(rubrics, tmp_path):
    with pytest.raises(ValueError, match="plain name"):
        write_feedback(rubrics["ada"], tmp_path, {"../evil": tmp_path / "x.html"})


# ---------------------------------------------------------------------------------------------------- CSVs

def _read(path: Path) -> list[list[str]]:
    with path.open(newline="") as fh:
        return list(csv.reader(fh))


def test_summary_csv(rubrics, tmp_path):
    path = write_summary_csv(list(rubrics.values()), tmp_path / "summary.csv")
    rows = _read(path)
    ids = [c[0] for c in CRITERIA]
    assert rows[0] == ["student", "total", "possible", "status", *ids, "flags", "outcomes"]
    by = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert list(by) == ["ada_correct", "bob_collapse", "cy_broken", "dee_pending"]
    assert by["ada_correct"]["total"] == "100" and by["ada_correct"]["4A.implementation"] == "20"
    assert by["bob_collapse"]["flags"] == "collapse;metrics-mismatch" and by["bob_collapse"]["4A.performance"] == "3"
    assert by["bob_collapse"]["status"] == "overridden"
    assert by["cy_broken"]["outcomes"] == "phase4a=invalid-notebook;phase4b=timeout;phase4c=not-submitted"
    assert by["cy_broken"]["flags"] == "missing-deliverable"
    assert by["dee_pending"]["status"] == "manual-pending" and by["dee_pending"]["4A.implementation"] == "20"
    assert by["dee_pending"]["total"] == "78"


def test_summary_csv_pending_criterion_is_empty(rubrics, tmp_path):
    dee = copy.deepcopy(rubrics["dee"])
    dee["criteria"][1]["points"] = None
    rows = _read(write_summary_csv([dee], tmp_path / "s.csv"))
    assert rows[1][rows[0].index("4A.performance")] == ""


def test_grades_csv_generic(rubrics, tmp_path):
    rows = _read(write_grades_csv(list(rubrics.values()), tmp_path / "grades.csv"))
    assert rows[0] == ["student_id", "grade", "max_grade", "status", "comment"]
    by = {r[0]: r for r in rows[1:]}
    assert by["ada_correct"][1:4] == ["100", "100", "auto"] and by["ada_correct"][4] == ""
    assert by["dee_pending"][1:4] == ["78", "100", "manual-pending"]
    assert "manual points pending: 4a_analysis, 4a_reflection, 4a_code_documented" in by["dee_pending"][4]
    assert "phase4b: timeout" in by["cy_broken"][4] and "flags: missing-deliverable" in by["cy_broken"][4]


def test_grades_csv_canvas(rubrics, tmp_path):
    path = write_grades_csv(list(rubrics.values()), tmp_path / "canvas.csv", "canvas", canvas_assignment_id=4711,
                            roster={"bob_collapse": {"Student": "Lovelace, Bob", "ID": "1201", "Section": "A"}})
    rows = _read(path)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Week 4 GeoAI (4711)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "100"]
    assert rows[2] == ["", "", "ada_correct", "", "", "100"]
    assert rows[3] == ["Lovelace, Bob", "1201", "bob_collapse", "", "A", "91"]
    assert rows[5][-1] == "78"
    rows = _read(write_grades_csv([rubrics["ada"]], tmp_path / "c2.csv", "canvas"))
    assert rows[0][-1] == "Week 4 GeoAI"


def test_grades_csv_moodle_and_unknown_format(rubrics, tmp_path):
    rows = _read(write_grades_csv(list(rubrics.values()), tmp_path / "moodle.csv", "moodle"))
    assert rows == [["ID number", "Grade"], ["ada_correct", "100"], ["bob_collapse", "91"], ["cy_broken", "0"],
                    ["dee_pending", "78"]]
    with pytest.raises(ValueError, match="generic, canvas, moodle"):
        write_grades_csv([], tmp_path / "x.csv", "blackboard")
    assert GRADE_FORMATS == ("generic", "canvas", "moodle")
