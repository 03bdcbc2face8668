"""Student feedback: what a student may see of their grading, and nothing else.

Two parts, both free of hidden-test source:

* nbgrader's own feedback pages (``nbgrader_feedback``). They show the autograded notebook, which holds the
  hidden tests (restored by autograde) and the tracebacks of failed hidden checks, whose frames quote the
  checks' source. The :class:`HideHiddenTests` preprocessor (registered in ``nbgrader_config.py`` for
  ``generate_feedback``) removes both: hidden-test regions leave the cell sources, and an error keeps only its
  name and message. ``scrub_nbgrader_feedback`` does the same again on the copied HTML pages.
* the rubric feedback (``write_feedback``: ``feedback.html`` and ``feedback.md``): points and messages only.
  Messages pass through ``student_message`` (hidden-test regions removed, tracebacks cut to their last line);
  trusted-check evidence (hashes, hidden-set tables) and grader names are never written. The TA's view of the
  same rubric dict is ``autograder.publish.student_report``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

from autograder.authoring.course import Course, NbgraderError
from autograder.authoring.notebooks import HIDDEN_BEGIN, HIDDEN_END, PHASES
from autograder.publish.html import (
    badge,
    cards,
    check_result,
    criterion_heading,
    esc,
    fixed_table,
    html_page,
    md_cell,
    outcome_badge,
    overrides_markdown,
    overrides_table,
    points_cell,
    points_text,
    total_text,
)
from autograder.publish.rubric_dict import ordered_phases, student_id
from autograder.rubric.scoring import pending_check_ids
from geoai_ref.phase import Phase

# ------------------------------------------------------------------------------------ nbgrader's feedback

class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden-test regions and reduce every error output to ``Name: message``."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        nb, resources = ClearHiddenTests(enforce_metadata=False).preprocess(nb, resources)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return nb, resources


def nbgrader_feedback(course: Course, phases: list[Phase],
                      progress: Callable[[str], None] = lambda m: None) -> dict[str, dict[str, Path]]:
    """Run ``nbgrader generate_feedback`` once per phase for every autograded student;
    returns student -> phase -> feedback HTML.

    A failure is reported through ``progress``; the pages nbgrader did write are kept. Students whose phase
    was never autograded (an invalid notebook, say) simply have no page for it.
    """
    pages: dict[str, dict[str, Path]] = {}
    for phase in phases:
        if not any((course.root / "gradebook" / "autograded").glob(f"*/{phase}")):
            continue
        try:
            course.nbgrader("generate_feedback", phase, "--force")
        except NbgraderError as exc:  # nbgrader goes on past a broken notebook: keep the pages it wrote
            progress(f"{phase}: nbgrader feedback failed for some students ({str(exc).splitlines()[0]})")
        for page in sorted((course.root / "gradebook" / "feedback").glob(f"*/{phase}/{PHASES[phase].notebook}.html")):
            pages.setdefault(page.parent.parent.name, {})[phase] = page
    return pages


# -------------------------------------------------------------------------------------- hidden-test scrubbing

_HIDDEN_REGION = re.compile(f"{re.escape(HIDDEN_BEGIN)}.*?{re.escape(HIDDEN_END)}", re.DOTALL)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TRACE_MARKERS = ("Traceback (most recent call last)", "Cell In[", "----> ", "File \"")
_FRAME_LINE = re.compile(r"^\s*(-+>|\d+\s|File |Cell In\[|\.\.\.|Traceback|\^+$|~+)")
_PRE = re.compile(r"(<pre[^>]*>)(.*?)(</pre>)", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def _looks_like_traceback(text: str) -> bool:
    return any(m in text for m in _TRACE_MARKERS) or bool(re.search(r"^-+>\s*\d+", text, re.MULTILINE))


def _last_error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in reversed(lines):
        if not _FRAME_LINE.match(line):
            return line
    return "the test failed (details are hidden)"


def student_message(message: object) -> str:
    """A check message fit for a student: hidden-test regions removed, a traceback cut to its final error line."""
    text = _ANSI.sub("", "" if message is None else str(message))
    text = _HIDDEN_REGION.sub("(hidden test)", text)
    if _looks_like_traceback(text):
        return _last_error_line(text)
    return text


def scrub_nbgrader_feedback(page: str) -> str:
    """nbgrader feedback HTML without hidden-test source.

    nbgrader puts the hidden tests back into autograded notebooks and its feedback shows them (jupyter/nbgrader
    issue #917). This removes every ``### BEGIN HIDDEN TESTS ... ### END HIDDEN TESTS`` region and cuts every
    ``<pre>`` block that holds a traceback (whose frames quote the hidden checks' source) to its last line.
    """
    page = _HIDDEN_REGION.sub("### hidden tests: not shown", page)

    def cut(match: re.Match) -> str:
        text = _ANSI.sub("", html.unescape(_TAG.sub("", match.group(2))))
        if not _looks_like_traceback(text):
            return match.group(0)
        return f"{match.group(1)}{esc(_last_error_line(text))}{match.group(3)}"

    return _PRE.sub(cut, page)


def _copy_nbgrader(nbgrader_feedback: Mapping[str, Path] | None, out_dir: Path) -> dict[str, Path | str]:
    """phase -> copied path, or a reason string when the source is missing."""
    copied: dict[str, Path | str] = {}
    for phase, src in (nbgrader_feedback or {}).items():
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", str(phase)) or str(phase).startswith("."):
            raise ValueError(f"nbgrader feedback phase {phase!r} is not a plain name like 'phase4a'")
        try:
            text = Path(src).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            copied[str(phase)] = f"not available ({exc.strerror or exc.__class__.__name__})"
            continue
        dest = out_dir / "nbgrader" / f"{phase}.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(scrub_nbgrader_feedback(text), encoding="utf-8")
        copied[str(phase)] = dest
    return copied


# ---------------------------------------------------------------------------------------- rubric feedback

def _feedback_html(rubric: Mapping, copied: Mapping[str, Path | str]) -> str:
    student = student_id(rubric)
    pending = pending_check_ids(rubric)
    parts = [f"<h1>Week 4 GeoAI · feedback for {esc(student)}</h1>", cards([("total so far", esc(total_text(rubric)))])]
    if pending:
        parts.append(f'<p class="note">{len(pending)} answer(s) still wait for a teaching assistant; the total '
                     "counts only the points awarded so far.</p>")
    phases = rubric.get("phases") or {}
    rows = [f"<tr><td>{esc(p)}</td><td>{outcome_badge(str((phases[p] or {}).get('outcome', '?')))}</td>"
            f'<td class="msg">{esc(student_message((phases[p] or {}).get("message", "")))}</td></tr>'
            for p in ordered_phases(phases)]
    if rows:
        parts.append("<h2>Your notebooks</h2>"
                     + fixed_table((16, 20, 64), "<th>phase</th><th>outcome</th><th>message</th>", rows))
    flags = rubric.get("flags") or []
    if flags:
        items = "".join(f"<li>{badge('fail', f.get('id', '?'))} {esc(f.get('phase', ''))}: "
                        f"{esc(student_message(f.get('message', '')))}</li>" for f in flags)
        parts.append(f"<h2>Problems the grader found</h2><ul>{items}</ul>")
    parts.append("<h2>Points</h2>")
    for criterion in rubric.get("criteria") or []:
        rows = [f'<tr><td>{esc(check.get("description") or check.get("id", "?"))}</td>'
                f"<td>{badge(*check_result(check.get('passed')))}</td>{points_cell(check)}"
                f'<td class="msg">{esc(student_message(check.get("message", "")))}</td></tr>'
                for check in criterion.get("checks") or []]
        table = fixed_table((36, 9, 13, 42), '<th>what was checked</th><th>result</th><th class="num">points</th>'
                            "<th>message</th>", rows)
        parts.append(f'<section class="criterion">{criterion_heading(criterion)}{table}</section>')
    if rubric.get("overrides"):
        parts.append("<h2>Points set by your teaching team</h2>"
                     + overrides_table(rubric["overrides"], with_grader=False))
    if copied:
        items = "".join(
            f'<li>{esc(p)}: <a href="nbgrader/{esc(p)}.html">your graded notebook</a></li>' if isinstance(v, Path)
            else f"<li>{esc(p)}: graded notebook {esc(v)}</li>" for p, v in copied.items())
        parts.append(f"<h2>Your graded notebooks (nbgrader)</h2><ul>{items}</ul>")
    return html_page(f"Feedback · {student}", "".join(parts))


def _feedback_markdown(rubric: Mapping, copied: Mapping[str, Path | str]) -> str:
    lines = [f"# Week 4 GeoAI: feedback for {student_id(rubric)}", "", f"**Total so far:** {total_text(rubric)}", ""]
    pending = pending_check_ids(rubric)
    if pending:
        lines += [f"{len(pending)} answer(s) still wait for a teaching assistant.", ""]
    phases = rubric.get("phases") or {}
    for p in ordered_phases(phases):
        info = phases[p] or {}
        message = student_message(info.get("message", ""))
        lines.append(f"- {p}: {info.get('outcome', '?')}" + (f": {message}" if message else ""))
    lines.append("")
    for f in rubric.get("flags") or []:
        lines.append(f"- problem **{f.get('id', '?')}** ({f.get('phase', '')}): "
                     f"{student_message(f.get('message', ''))}")
    for criterion in rubric.get("criteria") or []:
        lines += ["", f"## {criterion.get('id', '?')} {criterion.get('name', '')}: {points_text(criterion)}", "",
                  "| what was checked | result | points | message |", "|---|---|---:|---|"]
        lines += [f"| {md_cell(check.get('description') or check.get('id'))} | {check_result(check.get('passed'))[1]} "
                  f"| {md_cell(points_text(check))} | {md_cell(student_message(check.get('message', '')))} |"
                  for check in criterion.get("checks") or []]
    if rubric.get("overrides"):
        lines += ["", "## Points set by your teaching team", "",
                  *overrides_markdown(rubric["overrides"], with_grader=False)]
    if copied:
        lines += ["", "## Your graded notebooks (nbgrader)", ""]
        lines += [f"- {p}: [nbgrader/{p}.html](nbgrader/{p}.html)" if isinstance(v, Path) else f"- {p}: {v}"
                  for p, v in copied.items()]
    return "\n".join(lines) + "\n"


def write_feedback(rubric: dict, out_dir: Path, nbgrader_feedback: dict[str, Path] | None = None) -> Path:
    """Write the student-facing feedback.html and feedback.md into out_dir; returns the HTML path.

    nbgrader_feedback maps a phase id to nbgrader's feedback HTML for it; each is copied, scrubbed of hidden-test
    source (``scrub_nbgrader_feedback``), to out_dir/nbgrader/<phase>.html and linked. A missing file is named
    in the page, not raised. Never written: trusted evidence, snapshot hashes, grader names of overrides.

    Raises:
        ValueError: the dict has no "student", or a phase id is not a plain file name.
    """
    student_id(rubric)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    copied = _copy_nbgrader(nbgrader_feedback, out_dir)
    (out_dir / "feedback.md").write_text(_feedback_markdown(rubric, copied), encoding="utf-8")
    path = out_dir / "feedback.html"
    path.write_text(_feedback_html(rubric, copied), encoding="utf-8")
    return path
