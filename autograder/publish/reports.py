"""Renderings of the per-student rubric dict: rubric.json / .md / .html, student feedback, class CSVs.

The rubric dict (layout in the module docs of ``autograder.rubric.definition`` and in ``rubric.json``) is the only input:
nothing here grades, re-runs or re-computes anything. Every string taken from a rubric is HTML-escaped.

Two audiences:

* ``write_student_report`` is for a TA: every point with its evidence (trusted checks, reported vs recomputed
  metrics, snapshot hashes, override history with grader names).
* ``write_feedback`` is for the student: points and messages only. It never shows hidden-test source
  (tracebacks are cut to their last line and ``### BEGIN/END HIDDEN TESTS`` regions removed, also from the
  copied nbgrader feedback pages), trusted-check evidence (hashes, hidden-set tables) or grader names.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

GRADE_FORMATS = ("generic", "canvas", "moodle")
CANVAS_ASSIGNMENT = "Week 4 GeoAI"
PHASE_ORDER = ("phase4a", "phase4b", "phase4c")
MAX_FIGURE_BYTES = 20_000_000
_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
         ".svg": "image/svg+xml", ".webp": "image/webp"}

BASE_CSS = """
:root { --ok:#1a7f37; --ok-bg:#dafbe1; --bad:#b42318; --bad-bg:#fee4e2; --wait:#8a5a00; --wait-bg:#fff4d6;
        --muted:#5b6470; --line:#d8dee4; --head:#f3f5f7; --link:#0b5cad; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color:#1f2328;
       margin: 0 auto; padding: 1.2rem 1.5rem 3rem; max-width: 1180px; background:#fff; }
h1 { font-size: 1.55rem; margin: .2rem 0 .6rem; }
h2 { font-size: 1.2rem; margin: 1.8rem 0 .6rem; padding-bottom: .25rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.02rem; margin: 1.2rem 0 .4rem; }
a { color: var(--link); }
p.muted, span.muted, .muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 .8rem; font-size: .92rem; }
table.fixed { table-layout: fixed; }
table.metrics { width: auto; min-width: 30rem; }
th, td { border: 1px solid var(--line); padding: .32rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.msg { white-space: pre-wrap; overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .85rem; }
pre { background: #f6f8fa; border: 1px solid var(--line); padding: .6rem; overflow-x: auto; white-space: pre-wrap; }
.badge { display: inline-block; padding: .05rem .45rem; border-radius: .7rem; font-size: .8rem; font-weight: 600;
         white-space: nowrap; border: 1px solid transparent; }
.pass, .auto, .graded { color: var(--ok); background: var(--ok-bg); border-color: #b7e4c1; }
.fail, .bad { color: var(--bad); background: var(--bad-bg); border-color: #f6c2bd; }
.pending, .manual-pending, .overridden, .not-run { color: var(--wait); background: var(--wait-bg);
         border-color: #f0d9a0; }
.cards { display: flex; flex-wrap: wrap; gap: .7rem; margin: .6rem 0 1rem; }
.card { border: 1px solid var(--line); border-radius: .5rem; padding: .5rem .9rem; min-width: 9rem; }
.card .v { font-size: 1.35rem; font-weight: 650; }
.card .k { color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; }
.criterion { border: 1px solid var(--line); border-radius: .5rem; padding: .2rem .9rem .5rem; margin: .9rem 0; }
.criterion h3 { display: flex; justify-content: space-between; gap: 1rem; align-items: baseline; }
.trusted-ref { margin: .15rem 0; }
details { margin: .4rem 0; }
summary { cursor: pointer; color: var(--link); }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1rem; }
figure { margin: 0; border: 1px solid var(--line); border-radius: .5rem; padding: .5rem; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: .85rem; color: var(--muted); margin-top: .3rem; overflow-wrap: anywhere; }
.note { border-left: 4px solid #f0d9a0; background: var(--wait-bg); padding: .4rem .7rem; margin: .5rem 0; }
"""


# --------------------------------------------------------------------------------------------------- helpers

def esc(value: object) -> str:
    """HTML-escape any value (None becomes an empty string)."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt_num(value: object, digits: int = 2) -> str:
    """A number as short text: 20.0 -> '20', 87.5 -> '87.5', 2.3333 -> '2.33'; None -> ''."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = f"{round(float(value), digits):.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _points(points: object, maximum: object) -> str:
    if points is None:
        return f"waiting for a TA (of {fmt_num(maximum)})"
    return f"{fmt_num(points)} / {fmt_num(maximum)}"


def _result(passed: object) -> tuple[str, str]:
    """(css class, label) of a check's passed field."""
    if passed is True:
        return "pass", "pass"
    if passed is False:
        return "fail", "fail"
    return "pending", "pending"


def _colgroup(*widths: int) -> str:
    return "<colgroup>" + "".join(f'<col style="width:{w}%">' for w in widths) + "</colgroup>"


def _msg_html(message: object, keep: int = 4) -> str:
    """A message for a table cell; one longer than `keep` lines shows its last line, the rest in <details>."""
    text = "" if message is None else str(message).rstrip()
    lines = text.splitlines()
    if len(lines) <= keep:
        return esc(text)
    return (f"{esc(lines[-1].strip())}<details><summary>full message ({len(lines)} lines)</summary>"
            f"<pre>{esc(text)}</pre></details>")


def _badge(css: str, label: str) -> str:
    return f'<span class="badge {esc(css)}">{esc(label)}</span>'


def _checks(rubric: Mapping) -> Iterable[tuple[Mapping, Mapping]]:
    for criterion in rubric.get("criteria") or []:
        for check in criterion.get("checks") or []:
            yield criterion, check


def pending_checks(rubric: Mapping) -> list[str]:
    """Ids of the checks still waiting for a TA (points null)."""
    return [check.get("id", "?") for _, check in _checks(rubric) if check.get("points") is None]


def overall_status(rubric: Mapping) -> str:
    """The rubric's status, but "manual-pending" whenever a check still waits for a TA."""
    return "manual-pending" if pending_checks(rubric) else str(rubric.get("status") or "auto")


def flag_ids(rubric: Mapping) -> list[str]:
    """Distinct flag ids of a rubric, in first-seen order."""
    return list(dict.fromkeys(str(f.get("id", "?")) for f in rubric.get("flags") or []))


def failed_check_ids(rubric: Mapping) -> list[str]:
    """Ids of the checks that failed in a graded phase (pending checks are not failures, and a phase that
    was not submitted or could not run shows as its outcome flag, not as every one of its checks)."""
    phases = rubric.get("phases") or {}
    graded = {p for p, info in phases.items() if (info or {}).get("outcome") == "graded"}
    return [str(check.get("id", "?")) for criterion, check in _checks(rubric)
            if check.get("passed") is False and f"phase{str(criterion.get('phase', '')).lower()}" in graded]


def ordered_phases(phases: Iterable[str]) -> list[str]:
    """Phase ids in exercise order (4A, 4B, 4C), unknown ones after them alphabetically."""
    known = [p for p in PHASE_ORDER if p in phases]
    return known + sorted(set(phases) - set(PHASE_ORDER))


def outcomes_text(rubric: Mapping) -> str:
    """Phase outcomes as 'phase4a=graded;phase4b=timeout'."""
    phases = rubric.get("phases") or {}
    return ";".join(f"{p}={(phases[p] or {}).get('outcome', '?')}" for p in ordered_phases(phases))


def _student(rubric: Mapping) -> str:
    try:
        return str(rubric["student"])
    except (KeyError, TypeError):
        raise ValueError("the rubric dict has no 'student': pass the per-student dict written to rubric.json "
                         "by the rubric engine") from None


def _trusted_index(rubric: Mapping) -> dict[str, Mapping]:
    return {str(t.get("id")): t for t in rubric.get("trusted") or [] if isinstance(t, Mapping)}


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, Mapping):
        out: dict[str, object] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix} / {k}" if prefix else str(k)))
        return out
    return {prefix or "value": value}


def metric_rows(evidence: Mapping) -> list[tuple[str, object, object, float | None]]:
    """(metric, reported, recomputed, |difference|) rows from evidence with "reported" and "recomputed" keys.

    Nested dicts (4C: one dict per configuration) are flattened to 'S2 / accuracy'. Returns [] when either key
    is missing or not a dict.
    """
    reported, recomputed = evidence.get("reported"), evidence.get("recomputed")
    if not isinstance(reported, Mapping) or not isinstance(recomputed, Mapping):
        return []
    rep, rec = _flatten(reported), _flatten(recomputed)
    rows = []
    for key in list(dict.fromkeys([*rep, *rec])):
        a, b = rep.get(key), rec.get(key)
        diff = None
        if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
            diff = abs(float(a) - float(b))
        rows.append((key, a, b, diff))
    return rows


def figure_data_uri(path: object) -> tuple[str | None, str]:
    """(data URI or None, reason) for a figure file; never raises."""
    if not path:
        return None, "no path recorded"
    p = Path(str(path))
    mime = _MIME.get(p.suffix.lower())
    if mime is None:
        return None, f"{p.suffix or 'no suffix'} is not an image type the report embeds"
    try:
        size = p.stat().st_size
        if size > MAX_FIGURE_BYTES:
            return None, f"file is {size / 1e6:.0f} MB, larger than the {MAX_FIGURE_BYTES / 1e6:.0f} MB embed limit"
        data = p.read_bytes()
    except OSError as exc:
        return None, f"cannot read it ({exc.strerror or exc.__class__.__name__})"
    if not data:
        return None, "the file is empty"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}", ""


def _page(title: str, body: str, css: str = "") -> str:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<link rel="icon" href="data:,">\n'
            f"<title>{esc(title)}</title>\n<style>{BASE_CSS}{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _md(value: object) -> str:
    """Text safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


# --------------------------------------------------------------------------------------------- TA report

def _summary_cards(rubric: Mapping) -> str:
    status = overall_status(rubric)
    cards = [("total", f"{fmt_num(rubric.get('total'))} / {fmt_num(rubric.get('possible', 100))}"),
             ("status", _badge(status, status)),
             ("flags", str(len(flag_ids(rubric)))),
             ("failed checks", str(len(failed_check_ids(rubric)))),
             ("waiting for a TA", str(len(pending_checks(rubric))))]
    items = "".join(f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{v if k == "status" else esc(v)}'
                    f"</div></div>" for k, v in cards)
    return f'<div class="cards">{items}</div>'


def _phases_html(rubric: Mapping) -> str:
    phases = rubric.get("phases") or {}
    if not phases:
        return '<p class="muted">No phase was run.</p>'
    rows = []
    for phase in ordered_phases(phases):
        info = phases[phase] or {}
        outcome = str(info.get("outcome", "?"))
        css = "graded" if outcome == "graded" else "bad"
        seconds = info.get("seconds")
        rows.append(f"<tr><td>{esc(phase)}</td><td>{_badge(css, outcome)}</td>"
                    f'<td class="num">{esc(fmt_num(seconds, 1) + " s" if seconds is not None else "")}</td>'
                    f'<td class="msg">{_msg_html(info.get("message", ""))}</td></tr>')
    return (f'<table class="fixed">{_colgroup(14, 16, 10, 60)}'
            '<thead><tr><th>phase</th><th>outcome</th><th class="num">time</th><th>message</th></tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>')


def _flags_html(rubric: Mapping) -> str:
    flags = rubric.get("flags") or []
    if not flags:
        return '<p class="muted">No flags.</p>'
    rows = "".join(f'<tr><td>{_badge("fail", f.get("id", "?"))}</td><td>{esc(f.get("phase", ""))}</td>'
                   f'<td class="msg">{esc(f.get("message", ""))}</td></tr>' for f in flags)
    return (f'<table class="fixed">{_colgroup(24, 14, 62)}<thead><tr><th>flag</th><th>phase</th><th>message</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>")


def _confirmations_html(check: Mapping, trusted: Mapping[str, Mapping]) -> str:
    parts = []
    for tid in check.get("confirmed_by") or []:
        entry = trusted.get(str(tid))
        if entry is None:
            parts.append(f'<div class="trusted-ref">{_badge("not-run", "not run")} <code>{esc(tid)}</code> '
                         f'<span class="muted">(no result recorded for this trusted check)</span></div>')
            continue
        ok = entry.get("passed") is True
        label = "confirmed by" if ok else "denied by"
        parts.append(f'<div class="trusted-ref">{_badge("pass" if ok else "fail", label)} '
                     f'<a href="#trusted-{esc(tid)}"><code>{esc(tid)}</code></a>: '
                     f'{esc(entry.get("message", ""))}</div>')
    return "".join(parts) or '<span class="muted">–</span>'


def _criteria_html(rubric: Mapping) -> str:
    trusted = _trusted_index(rubric)
    out = []
    for criterion in rubric.get("criteria") or []:
        status = str(criterion.get("status", "auto"))
        rows = []
        for check in criterion.get("checks") or []:
            css, label = _result(check.get("passed"))
            desc = check.get("description", "")
            rows.append(
                f'<tr><td><code>{esc(check.get("id", "?"))}</code>'
                f'{"<br><span class=muted>" + esc(desc) + "</span>" if desc else ""}</td>'
                f'<td>{esc(check.get("source", ""))}</td><td>{_badge(css, label)}</td>'
                f'<td class="num">{esc(_points(check.get("points"), check.get("max")))}</td>'
                f'<td class="msg">{_msg_html(check.get("message", ""))}</td>'
                f"<td>{_confirmations_html(check, trusted)}</td></tr>")
        out.append(
            f'<section class="criterion" id="criterion-{esc(criterion.get("id", ""))}">'
            f'<h3><span>{esc(criterion.get("id", "?"))} · {esc(criterion.get("name", ""))}</span>'
            f'<span>{esc(_points(criterion.get("points"), criterion.get("max")))} {_badge(status, status)}</span></h3>'
            f'<p class="muted">{esc(criterion.get("description", ""))}</p>'
            f'<table class="fixed">{_colgroup(21, 11, 8, 10, 26, 24)}<thead><tr><th>check</th><th>source</th>'
            '<th>result</th><th class="num">points</th><th>message</th><th>trusted re-checks</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')
    return "".join(out) or '<p class="muted">No criteria in this rubric.</p>'


def _metrics_table(evidence: Mapping) -> str:
    rows = metric_rows(evidence)
    if not rows:
        return ""
    n = evidence.get("n")
    body = "".join(f'<tr><td>{esc(k)}</td><td class="num">{esc(fmt_num(a, 3))}</td>'
                   f'<td class="num">{esc(fmt_num(b, 3))}</td><td class="num">{esc(fmt_num(d, 3))}</td></tr>'
                   for k, a, b, d in rows)
    caption = f" on {esc(n)} validation patches" if n is not None else ""
    return (f'<p><strong>Recomputed vs reported metrics</strong>{caption}</p>'
            '<table class="metrics"><thead><tr><th>metric</th><th class="num">reported</th>'
            '<th class="num">recomputed</th><th class="num">|difference|</th></tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _trusted_html(rubric: Mapping) -> str:
    entries = [t for t in rubric.get("trusted") or [] if isinstance(t, Mapping)]
    if not entries:
        return '<p class="muted">No trusted checks were run.</p>'
    out = []
    for t in entries:
        css, label = _result(t.get("passed"))
        flags = "".join(" " + _badge("fail", f) for f in t.get("flags") or [])
        evidence = t.get("evidence") or {}
        details = ""
        if evidence:
            details = (f"<details><summary>all evidence</summary><pre>"
                       f"{esc(json.dumps(evidence, indent=1, sort_keys=True, default=str))}</pre></details>")
        out.append(f'<div class="criterion" id="trusted-{esc(t.get("id", ""))}"><h3><span><code>{esc(t.get("id", "?"))}'
                   f'</code> <span class="muted">{esc(t.get("phase", ""))}</span></span>'
                   f"<span>{_badge(css, label)}{flags}</span></h3>"
                   f'<p class="msg">{esc(t.get("message", ""))}</p>{_metrics_table(evidence)}{details}</div>')
    return "".join(out)


def _figures_html(rubric: Mapping) -> str:
    figures = rubric.get("figures") or []
    if not figures:
        return '<p class="muted">No figures were submitted.</p>'
    items = []
    for fig in figures:
        name = fig.get("name") or Path(str(fig.get("path", ""))).name
        caption = f'{esc(fig.get("phase", ""))} · {esc(name)}'
        uri, reason = figure_data_uri(fig.get("path"))
        if uri is None:
            items.append(f'<figure><div class="note">Figure not shown: {esc(reason)}.<br>'
                         f'<code>{esc(fig.get("path", ""))}</code></div><figcaption>{caption}</figcaption></figure>')
        else:
            items.append(f'<figure><img src="{uri}" alt="{esc(name)}"><figcaption>{caption}</figcaption></figure>')
    return f'<div class="figures">{"".join(items)}</div>'


def _overrides_html(rubric: Mapping, with_grader: bool) -> str:
    overrides = rubric.get("overrides") or []
    if not overrides:
        return '<p class="muted">No points were entered or changed by hand.</p>'
    who = "<th>who</th>" if with_grader else ""
    head = f"<th>check</th><th class=num>points</th>{who}<th>when</th><th>why</th>"
    rows = "".join(
        f'<tr><td><code>{esc(o.get("check", "?"))}</code></td><td class="num">{esc(fmt_num(o.get("points")))}</td>'
        + (f'<td>{esc(o.get("grader", ""))}</td>' if with_grader else "")
        + f'<td>{esc(o.get("at", ""))}</td><td class="msg">{esc(o.get("reason", ""))}</td></tr>' for o in overrides)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _snapshots_html(rubric: Mapping) -> str:
    phases = rubric.get("phases") or {}
    out = []
    for phase in ordered_phases(phases):
        snapshot = (phases[phase] or {}).get("snapshot") or {}
        if not snapshot:
            continue
        rows = "".join(f"<tr><td><code>{esc(k)}</code></td><td><code>{esc(v)}</code></td></tr>"
                       for k, v in sorted(snapshot.items()))
        out.append(f"<details><summary>{esc(phase)}: {len(snapshot)} file(s) hashed before grading</summary>"
                   f"<table><thead><tr><th>file</th><th>SHA-256</th></tr></thead><tbody>{rows}</tbody></table></details>")
    return "".join(out) or '<p class="muted">No snapshot recorded.</p>'


def render_student_html(rubric: Mapping) -> str:
    """The TA's self-contained rubric.html for one student (figures embedded). Raises ValueError without 'student'."""
    student = _student(rubric)
    body = (f"<h1>Rubric report · {esc(student)}</h1>"
            f'<p class="muted">Week 4 GeoAI · graded {esc(rubric.get("graded_at", "(time not recorded)"))}</p>'
            f"{_summary_cards(rubric)}"
            f"<h2>Phase outcomes</h2>{_phases_html(rubric)}"
            f"<h2>Flags</h2>{_flags_html(rubric)}"
            f"<h2>Criteria and checks</h2>{_criteria_html(rubric)}"
            f"<h2>Trusted checks</h2>{_trusted_html(rubric)}"
            f"<h2>Figures</h2>{_figures_html(rubric)}"
            f"<h2>Overrides history</h2>{_overrides_html(rubric, with_grader=True)}"
            f"<h2>Snapshot file hashes</h2>{_snapshots_html(rubric)}")
    return _page(f"Rubric · {student}", body)


def render_student_markdown(rubric: Mapping) -> str:
    """rubric.md for one student (TA view, figures as links). Raises ValueError without 'student'."""
    student = _student(rubric)
    trusted = _trusted_index(rubric)
    lines = [f"# Rubric report: {student}", "",
             f"**Total:** {fmt_num(rubric.get('total'))} / {fmt_num(rubric.get('possible', 100))} · "
             f"**status:** {overall_status(rubric)} · graded {rubric.get('graded_at', '(time not recorded)')}", ""]
    phases = rubric.get("phases") or {}
    if phases:
        lines += ["## Phase outcomes", "", "| phase | outcome | time (s) | message |", "|---|---|---:|---|"]
        for phase in ordered_phases(phases):
            info = phases[phase] or {}
            lines.append(f"| {_md(phase)} | {_md(info.get('outcome', '?'))} | {fmt_num(info.get('seconds'), 1)} | "
                         f"{_md(info.get('message', ''))} |")
        lines.append("")
    flags = rubric.get("flags") or []
    if flags:
        lines += ["## Flags", ""] + [f"- **{f.get('id', '?')}** ({f.get('phase', '')}): {f.get('message', '')}"
                                     for f in flags] + [""]
    lines += ["## Criteria", ""]
    for criterion in rubric.get("criteria") or []:
        lines += [f"### {criterion.get('id', '?')} {criterion.get('name', '')}: "
                  f"{_points(criterion.get('points'), criterion.get('max'))} ({criterion.get('status', 'auto')})", "",
                  "| check | result | points | message | trusted re-checks |", "|---|---|---:|---|---|"]
        for check in criterion.get("checks") or []:
            refs = []
            for tid in check.get("confirmed_by") or []:
                entry = trusted.get(str(tid))
                state = "not run" if entry is None else ("confirmed" if entry.get("passed") is True else "denied")
                refs.append(f"{tid}: {state}")
            lines.append(f"| {_md(check.get('id', '?'))} | {_result(check.get('passed'))[1]} | "
                         f"{_md(_points(check.get('points'), check.get('max')))} | {_md(check.get('message', ''))} | "
                         f"{_md('; '.join(refs))} |")
        lines.append("")
    entries = [t for t in rubric.get("trusted") or [] if isinstance(t, Mapping)]
    if entries:
        lines += ["## Trusted checks", ""]
        for t in entries:
            lines.append(f"- **{t.get('id', '?')}** ({t.get('phase', '')}): {_result(t.get('passed'))[1]}: "
                         f"{t.get('message', '')}")
            rows = metric_rows(t.get("evidence") or {})
            if rows:
                lines += ["", "  | metric | reported | recomputed | abs. difference |", "  |---|---:|---:|---:|"]
                lines += [f"  | {_md(k)} | {fmt_num(a, 3)} | {fmt_num(b, 3)} | {fmt_num(d, 3)} |"
                          for k, a, b, d in rows]
                lines.append("")
        lines.append("")
    figures = rubric.get("figures") or []
    if figures:
        lines += ["## Figures", ""] + [f"- {f.get('phase', '')}: [{f.get('name', '')}]({f.get('path', '')})"
                                       for f in figures] + [""]
    overrides = rubric.get("overrides") or []
    if overrides:
        lines += ["## Overrides history", "", "| check | points | who | when | why |", "|---|---:|---|---|---|"]
        lines += [f"| {_md(o.get('check'))} | {fmt_num(o.get('points'))} | {_md(o.get('grader'))} | {_md(o.get('at'))} "
                  f"| {_md(o.get('reason'))} |" for o in overrides]
        lines.append("")
    snap = [(p, (phases[p] or {}).get("snapshot") or {}) for p in ordered_phases(phases)]
    if any(s for _, s in snap):
        lines += ["## Snapshot file hashes", ""]
        for phase, files in snap:
            lines += [f"- {phase}: `{k}` {v}" for k, v in sorted(files.items())]
        lines.append("")
    return "\n".join(lines)


def write_student_report(rubric: dict, out_dir: Path) -> dict[str, Path]:
    """Write rubric.json (indent 1), rubric.md and a self-contained rubric.html into out_dir (created if needed).

    Returns {"json": ..., "md": ..., "html": ...}. A missing or unreadable figure becomes a note in the HTML.

    Raises:
        ValueError: the dict has no "student".
        TypeError: the dict holds values JSON cannot encode (e.g. numpy scalars): convert them with float()/int().
    """
    _student(rubric)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "rubric.json", "md": out_dir / "rubric.md", "html": out_dir / "rubric.html"}
    try:
        text = json.dumps(rubric, indent=1, ensure_ascii=False)
    except TypeError as exc:
        raise TypeError(f"rubric for {rubric['student']!r} is not plain JSON ({exc}): convert numpy values with "
                        "float() / int() before rendering") from None
    paths["json"].write_text(text + "\n", encoding="utf-8")
    paths["md"].write_text(render_student_markdown(rubric), encoding="utf-8")
    paths["html"].write_text(render_student_html(rubric), encoding="utf-8")
    return paths


# ------------------------------------------------------------------------------------------ student feedback

_HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.DOTALL)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TRACE_MARKERS = ("Traceback (most recent call last)", "Cell In[", "----> ", "File \"")
_FRAME_LINE = re.compile(r"^\s*(-+>|\d+\s|File |Cell In\[|\.\.\.|Traceback|\^+$|~+)")


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


_PRE = re.compile(r"(<pre[^>]*>)(.*?)(</pre>)", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def scrub_nbgrader_feedback(page: str) -> str:
    """nbgrader feedback HTML without hidden-test source.

    nbgrader puts the hidden tests back into autograded notebooks and its feedback shows them (jupyter/nbgrader
    issue #917). This removes every ``### BEGIN HIDDEN TESTS ... ### END HIDDEN TESTS`` region and cuts every
    ``<pre>`` block that holds a traceback (whose frames quote the hidden checks' source) to its last line.
    """
    page = _HIDDEN_REGION.sub("### hidden tests: not shown", page)

    def cut(match: re.Match) -> str:
        text = html.unescape(_TAG.sub("", match.group(2)))
        if not _looks_like_traceback(_ANSI.sub("", text)):
            return match.group(0)
        return f"{match.group(1)}{esc(_last_error_line(_ANSI.sub('', text)))}{match.group(3)}"

    return _PRE.sub(cut, page)


def _copy_nbgrader(nbgrader_feedback: Mapping[str, Path] | None, out_dir: Path) -> dict[str, Path | str]:
    """phase -> copied path, or a reason string when the source is missing."""
    copied: dict[str, Path | str] = {}
    for phase, src in (nbgrader_feedback or {}).items():
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", str(phase)) or str(phase).startswith("."):
            raise ValueError(f"nbgrader feedback phase {phase!r} is not a plain name like 'phase4a'")
        try:
            page = Path(src).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            copied[str(phase)] = f"not available ({exc.strerror or exc.__class__.__name__})"
            continue
        dest = out_dir / "nbgrader" / f"{phase}.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(scrub_nbgrader_feedback(page), encoding="utf-8")
        copied[str(phase)] = dest
    return copied


def _feedback_html(rubric: Mapping, copied: Mapping[str, Path | str]) -> str:
    student = _student(rubric)
    total = f"{fmt_num(rubric.get('total'))} / {fmt_num(rubric.get('possible', 100))}"
    pending = pending_checks(rubric)
    parts = [f"<h1>Week 4 GeoAI · feedback for {esc(student)}</h1>",
             f'<div class="cards"><div class="card"><div class="k">total so far</div><div class="v">{esc(total)}'
             f"</div></div></div>"]
    if pending:
        parts.append(f'<p class="note">{len(pending)} answer(s) still wait for a teaching assistant; the total '
                     "counts only the points awarded so far.</p>")
    phases = rubric.get("phases") or {}
    rows = ""
    for p in ordered_phases(phases):
        outcome = str((phases[p] or {}).get("outcome", "?"))
        rows += (f"<tr><td>{esc(p)}</td><td>{_badge('graded' if outcome == 'graded' else 'bad', outcome)}</td>"
                 f'<td class="msg">{esc(student_message((phases[p] or {}).get("message", "")))}</td></tr>')
    if rows:
        parts.append(f'<h2>Your notebooks</h2><table class="fixed">{_colgroup(16, 20, 64)}<thead><tr><th>phase</th>'
                     f"<th>outcome</th><th>message</th></tr></thead><tbody>{rows}</tbody></table>")
    flags = rubric.get("flags") or []
    if flags:
        items = "".join(f"<li>{_badge('fail', f.get('id', '?'))} {esc(f.get('phase', ''))}: "
                        f"{esc(student_message(f.get('message', '')))}</li>" for f in flags)
        parts.append(f"<h2>Problems the grader found</h2><ul>{items}</ul>")
    parts.append("<h2>Points</h2>")
    for criterion in rubric.get("criteria") or []:
        rows = []
        for check in criterion.get("checks") or []:
            css, label = _result(check.get("passed"))
            rows.append(f'<tr><td>{esc(check.get("description") or check.get("id", "?"))}</td>'
                        f"<td>{_badge(css, label)}</td>"
                        f'<td class="num">{esc(_points(check.get("points"), check.get("max")))}</td>'
                        f'<td class="msg">{esc(student_message(check.get("message", "")))}</td></tr>')
        parts.append(
            f'<section class="criterion"><h3><span>{esc(criterion.get("id", "?"))} · {esc(criterion.get("name", ""))}'
            f'</span><span>{esc(_points(criterion.get("points"), criterion.get("max")))}</span></h3>'
            f'<table class="fixed">{_colgroup(36, 9, 13, 42)}<thead><tr><th>what was checked</th><th>result</th>'
            f'<th class="num">points</th><th>message</th></tr></thead><tbody>{"".join(rows)}</tbody></table></section>')
    if rubric.get("overrides"):
        parts.append(f"<h2>Points set by your teaching team</h2>{_overrides_html(rubric, with_grader=False)}")
    if copied:
        items = "".join(
            f'<li>{esc(p)}: <a href="nbgrader/{esc(p)}.html">your graded notebook</a></li>' if isinstance(v, Path)
            else f"<li>{esc(p)}: graded notebook {esc(v)}</li>" for p, v in copied.items())
        parts.append(f"<h2>Your graded notebooks (nbgrader)</h2><ul>{items}</ul>")
    return _page(f"Feedback · {student}", "".join(parts))


def _feedback_markdown(rubric: Mapping, copied: Mapping[str, Path | str]) -> str:
    lines = [f"# Week 4 GeoAI: feedback for {_student(rubric)}", "",
             f"**Total so far:** {fmt_num(rubric.get('total'))} / {fmt_num(rubric.get('possible', 100))}", ""]
    if pending_checks(rubric):
        lines += [f"{len(pending_checks(rubric))} answer(s) still wait for a teaching assistant.", ""]
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
        lines += ["", f"## {criterion.get('id', '?')} {criterion.get('name', '')}: "
                      f"{_points(criterion.get('points'), criterion.get('max'))}", "",
                  "| what was checked | result | points | message |", "|---|---|---:|---|"]
        for check in criterion.get("checks") or []:
            lines.append(f"| {_md(check.get('description') or check.get('id'))} | {_result(check.get('passed'))[1]} | "
                         f"{_md(_points(check.get('points'), check.get('max')))} | "
                         f"{_md(student_message(check.get('message', '')))} |")
    if rubric.get("overrides"):
        lines += ["", "## Points set by your teaching team", "", "| check | points | when | why |",
                  "|---|---:|---|---|"]
        lines += [f"| {_md(o.get('check'))} | {fmt_num(o.get('points'))} | {_md(o.get('at'))} | "
                  f"{_md(o.get('reason'))} |" for o in rubric["overrides"]]
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
    _student(rubric)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    copied = _copy_nbgrader(nbgrader_feedback, out_dir)
    (out_dir / "feedback.md").write_text(_feedback_markdown(rubric, copied), encoding="utf-8")
    path = out_dir / "feedback.html"
    path.write_text(_feedback_html(rubric, copied), encoding="utf-8")
    return path


# -------------------------------------------------------------------------------------------------- CSVs

def criterion_ids(rubrics: Iterable[Mapping]) -> list[str]:
    """Criterion ids over all rubrics, in first-seen order."""
    return list(dict.fromkeys(str(c.get("id")) for r in rubrics for c in r.get("criteria") or []))


def write_summary_csv(rubrics: list[dict], path: Path) -> Path:
    """One row per student: student,total,possible,status,<criterion id>...,flags,outcomes.

    A criterion column holds its points, empty while it waits for a TA (points null) or when the student's
    rubric lacks it. flags: distinct flag ids joined by ';'. outcomes: 'phase4a=graded;phase4b=timeout'.
    status is "manual-pending" whenever a check still waits for a TA.

    Raises:
        ValueError: a rubric has no "student".
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = criterion_ids(rubrics)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "total", "possible", "status", *ids, "flags", "outcomes"])
        for r in rubrics:
            points = {str(c.get("id")): c.get("points") for c in r.get("criteria") or []}
            writer.writerow([_student(r), fmt_num(r.get("total")), fmt_num(r.get("possible", 100)), overall_status(r),
                             *(fmt_num(points.get(i)) for i in ids), ";".join(flag_ids(r)), outcomes_text(r)])
    return path


def _grade_comment(rubric: Mapping) -> str:
    parts = []
    pending = pending_checks(rubric)
    if pending:
        parts.append("manual points pending: " + ", ".join(pending))
    bad = [f"{p}: {o}" for p, o in ((p, ((rubric.get("phases") or {})[p] or {}).get("outcome"))
                                     for p in ordered_phases(rubric.get("phases") or {})) if o != "graded"]
    if bad:
        parts.append("; ".join(bad))
    if flag_ids(rubric):
        parts.append("flags: " + ", ".join(flag_ids(rubric)))
    return " | ".join(parts)


def write_grades_csv(rubrics: list[dict], path: Path, fmt: str = "generic", *,
                     canvas_assignment_id: str | int | None = None,
                     roster: Mapping[str, Mapping[str, str]] | None = None) -> Path:
    """LMS-ready grades, one row per student. The grade is always the rubric total.

    A student whose manual points are still pending gets the points awarded so far, and (generic) status
    "manual-pending" with the pending check ids in the comment: re-export after the TAs have entered them.

    Layouts:

    * ``generic``: ``student_id,grade,max_grade,status,comment``.
    * ``canvas``: Canvas's gradebook-import layout ``Student,ID,SIS User ID,SIS Login ID,Section,
      Week 4 GeoAI (<id>)`` with a second ``Points Possible`` row, as in a Canvas gradebook export. Canvas
      matches rows on ID or SIS User ID: without a ``roster`` the student id goes into SIS User ID and the other
      identity columns stay empty. ``roster`` maps a student id to any of Student, ID, SIS User ID, SIS Login ID,
      Section. The column header carries the Canvas assignment id (``canvas_assignment_id``); without one Canvas
      creates a new assignment named "Week 4 GeoAI" on import.
    * ``moodle``: ``ID number,Grade``. In Moodle's "Import grades > CSV file", map "ID number" to the user field
      that holds the student id (ID number, or Username if the nbgrader ids are Moodle usernames) and "Grade"
      to the assignment's grade item.

    Raises:
        ValueError: fmt is not one of GRADE_FORMATS, or a rubric has no "student".
    """
    if fmt not in GRADE_FORMATS:
        raise ValueError(f"unknown grades format {fmt!r}: choose one of {', '.join(GRADE_FORMATS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    roster = roster or {}
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if fmt == "generic":
            writer.writerow(["student_id", "grade", "max_grade", "status", "comment"])
            for r in rubrics:
                writer.writerow([_student(r), fmt_num(r.get("total") or 0), fmt_num(r.get("possible", 100)),
                                 overall_status(r), _grade_comment(r)])
        elif fmt == "canvas":
            column = CANVAS_ASSIGNMENT
            if canvas_assignment_id not in (None, ""):
                column += f" ({canvas_assignment_id})"
            ident = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
            writer.writerow([*ident, column])
            possible = max((float(r.get("possible", 100)) for r in rubrics), default=100.0)
            writer.writerow(["    Points Possible", "", "", "", "", fmt_num(possible)])
            for r in rubrics:
                student = _student(r)
                who = {"SIS User ID": student, **dict(roster.get(student, {}))}
                writer.writerow([who.get(k, "") for k in ident] + [fmt_num(r.get("total") or 0)])
        else:
            writer.writerow(["ID number", "Grade"])
            for r in rubrics:
                writer.writerow([_student(r), fmt_num(r.get("total") or 0)])
    return path
