"""The TA's report on one student: ``rubric.json``, ``rubric.md`` and a self-contained ``rubric.html``.

Every point with its evidence: check messages, which trusted re-check confirmed or denied it, recomputed vs
reported metrics, the student's figures (embedded), the snapshot hashes and the history of a TA's points (who,
where, when). Each written answer links to its score box in formgrader. The rubric dict is the only input:
nothing here grades, re-runs or re-computes anything. The student-facing page is ``autograder.publish.feedback``.
"""

from __future__ import annotations

import base64
import json
import shlex
from collections.abc import Mapping
from pathlib import Path

from autograder.probes import is_probe
from autograder.publish.html import (
    badge,
    cards,
    check_result,
    criterion_heading,
    esc,
    fixed_table,
    fmt_num,
    html_page,
    md_cell,
    msg_html,
    outcome_badge,
    overrides_markdown,
    overrides_table,
    points_cell,
    points_text,
    total_text,
)
from autograder.publish.rubric_dict import flag_ids, ordered_phases, status, student_id
from autograder.review.server import submission_url
from autograder.rubric.scoring import Status, failed_check_ids, pending_check_ids
from geoai_ref.phase import Phase

MAX_FIGURE_BYTES = 20_000_000
_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
         ".svg": "image/svg+xml", ".webp": "image/webp"}


# ---------------------------------------------------------------------------------------------- evidence

def _trusted_index(rubric: Mapping) -> dict[str, Mapping]:
    return {str(t.get("id")): t for t in rubric.get("trusted") or [] if isinstance(t, Mapping)}


def _trusted_entries(rubric: Mapping) -> list[Mapping]:
    return [t for t in rubric.get("trusted") or [] if isinstance(t, Mapping)]


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


# -------------------------------------------------------------------------------------------------- HTML

def _summary_cards(rubric: Mapping) -> str:
    state = status(rubric)
    return cards([("total", esc(total_text(rubric))),
                  ("status", badge(state, state)),
                  ("flags", str(len(flag_ids(rubric)))),
                  ("failed checks", str(len(failed_check_ids(rubric)))),
                  ("waiting for a TA", str(len(pending_check_ids(rubric))))])


def _phases_html(rubric: Mapping) -> str:
    phases = rubric.get("phases") or {}
    if not phases:
        return '<p class="muted">No phase was run.</p>'
    rows = []
    for phase in ordered_phases(phases):
        info = phases[phase] or {}
        seconds = info.get("seconds")
        rows.append(f"<tr><td>{esc(phase)}</td><td>{outcome_badge(str(info.get('outcome', '?')))}</td>"
                    f'<td class="num">{esc(fmt_num(seconds, 1) + " s" if seconds is not None else "")}</td>'
                    f'<td class="msg">{msg_html(info.get("message", ""))}</td></tr>')
    return fixed_table((14, 16, 10, 60), '<th>phase</th><th>outcome</th><th class="num">time</th><th>message</th>',
                       rows)


def _flags_html(rubric: Mapping) -> str:
    flags = rubric.get("flags") or []
    if not flags:
        return '<p class="muted">No flags.</p>'
    rows = [f'<tr><td>{badge("fail", f.get("id", "?"))}</td><td>{esc(f.get("phase", ""))}</td>'
            f'<td class="msg">{esc(f.get("message", ""))}</td></tr>' for f in flags]
    return fixed_table((24, 14, 62), "<th>flag</th><th>phase</th><th>message</th>", rows)


def _confirmations_html(check: Mapping, trusted: Mapping[str, Mapping]) -> str:
    parts = []
    for tid in check.get("confirmed_by") or []:
        entry = trusted.get(str(tid))
        if entry is None:
            parts.append(f'<div class="trusted-ref">{badge("not-run", "not run")} <code>{esc(tid)}</code> '
                         f'<span class="muted">(no result recorded for this trusted check)</span></div>')
            continue
        ok = entry.get("passed") is True
        label = "confirmed by" if ok else "denied by"
        kind = "hidden check (probe judged by the grader)" if is_probe(str(tid)) else "trusted check"
        parts.append(f'<div class="trusted-ref">{badge("pass" if ok else "fail", label)} '
                     f'<span class="muted">{kind}</span> <a href="#trusted-{esc(tid)}"><code>{esc(tid)}</code></a>: '
                     f'{esc(entry.get("message", ""))}</div>')
    return "".join(parts) or '<span class="muted">–</span>'


def _ta_action(rubric: Mapping, criterion: Mapping, check: Mapping, formgrader: str | None) -> str:
    """Where a TA gives the check's points: a link to its score box in formgrader for a written answer of a phase
    nbgrader graded, the `override` command line for a TA-only item (no notebook cell)."""
    if check.get("source") == "manual":
        student = shlex.quote(student_id(rubric))
        command = f'geoai-grade override {student} {check.get("id", "?")} POINTS --grader NAME --reason "..."'
        return f'<div class="ta-action"><code>{esc(command)}</code></div>'
    if formgrader is None or check.get("source") != "nbgrader-manual":
        return ""
    try:
        phase = Phase.parse(str(criterion.get("phase", "")))
    except ValueError:
        return ""
    notebook = ((rubric.get("phases") or {}).get(str(phase)) or {}).get("formgrader_id")
    if not notebook:
        return ""
    url = submission_url(formgrader, str(notebook), str(check.get("id", "")))
    return f'<div class="ta-action"><a href="{esc(url)}" target="_blank" rel="noopener">grade in formgrader</a></div>'


def _criteria_html(rubric: Mapping, formgrader: str | None) -> str:
    trusted = _trusted_index(rubric)
    out = []
    for criterion in rubric.get("criteria") or []:
        state = str(criterion.get("status", Status.AUTO))
        rows = []
        for check in criterion.get("checks") or []:
            desc = check.get("description", "")
            rows.append(
                f'<tr id="check-{esc(check.get("id", ""))}"><td><code>{esc(check.get("id", "?"))}</code>'
                f'{"<br><span class=muted>" + esc(desc) + "</span>" if desc else ""}</td>'
                f'<td>{esc(check.get("source", ""))}</td><td>{badge(*check_result(check.get("passed")))}</td>'
                f'{points_cell(check)}<td class="msg">{msg_html(check.get("message", ""))}'
                f"{_ta_action(rubric, criterion, check, formgrader)}</td>"
                f"<td>{_confirmations_html(check, trusted)}</td></tr>")
        table = fixed_table((21, 11, 8, 10, 26, 24), '<th>check</th><th>source</th><th>result</th>'
                            '<th class="num">points</th><th>message</th><th>trusted re-checks</th>', rows)
        out.append(f'<section class="criterion" id="criterion-{esc(criterion.get("id", ""))}">'
                   f'{criterion_heading(criterion, " " + badge(state, state))}'
                   f'<p class="muted">{esc(criterion.get("description", ""))}</p>{table}</section>')
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
    entries = _trusted_entries(rubric)
    if not entries:
        return '<p class="muted">No trusted checks were run.</p>'
    out = []
    for t in entries:
        flags = "".join(" " + badge("fail", f) for f in t.get("flags") or [])
        evidence = t.get("evidence") or {}
        details = ""
        if evidence:
            details = (f"<details><summary>all evidence</summary><pre>"
                       f"{esc(json.dumps(evidence, indent=1, sort_keys=True, default=str))}</pre></details>")
        out.append(f'<div class="criterion" id="trusted-{esc(t.get("id", ""))}"><h3><span><code>{esc(t.get("id", "?"))}'
                   f'</code> <span class="muted">{esc(t.get("phase", ""))}</span></span>'
                   f"<span>{badge(*check_result(t.get('passed')))}{flags}</span></h3>"
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


def render_student_html(rubric: Mapping, formgrader: str | None = None) -> str:
    """The TA's self-contained rubric.html for one student (figures embedded); written answers link to their score
    box in formgrader at ``formgrader`` (its base URL; None: no links). Raises ValueError without 'student'."""
    student = student_id(rubric)
    body = (f"<h1>Rubric report · {esc(student)}</h1>"
            f'<p class="muted">Week 4 GeoAI · graded {esc(rubric.get("graded_at", "(time not recorded)"))}</p>'
            f"{_summary_cards(rubric)}"
            f"<h2>Phase outcomes</h2>{_phases_html(rubric)}"
            f"<h2>Flags</h2>{_flags_html(rubric)}"
            f"<h2>Criteria and checks</h2>{_criteria_html(rubric, formgrader)}"
            f"<h2>Trusted checks</h2>{_trusted_html(rubric)}"
            f"<h2>Figures</h2>{_figures_html(rubric)}"
            f"<h2>Points entered by TAs</h2>{overrides_table(rubric.get('overrides') or [], with_grader=True)}"
            f"<h2>Snapshot file hashes</h2>{_snapshots_html(rubric)}")
    return html_page(f"Rubric · {student}", body)


# ---------------------------------------------------------------------------------------------- Markdown

def _criteria_markdown(rubric: Mapping) -> list[str]:
    trusted = _trusted_index(rubric)
    lines = ["## Criteria", ""]
    for criterion in rubric.get("criteria") or []:
        lines += [f"### {criterion.get('id', '?')} {criterion.get('name', '')}: "
                  f"{points_text(criterion)} ({criterion.get('status', 'auto')})", "",
                  "| check | result | points | message | trusted re-checks |", "|---|---|---:|---|---|"]
        for check in criterion.get("checks") or []:
            refs = []
            for tid in check.get("confirmed_by") or []:
                entry = trusted.get(str(tid))
                state = "not run" if entry is None else ("confirmed" if entry.get("passed") is True else "denied")
                refs.append(f"{tid}: {state}")
            lines.append(f"| {md_cell(check.get('id', '?'))} | {check_result(check.get('passed'))[1]} | "
                         f"{md_cell(points_text(check))} | {md_cell(check.get('message', ''))} | "
                         f"{md_cell('; '.join(refs))} |")
        lines.append("")
    return lines


def _trusted_markdown(rubric: Mapping) -> list[str]:
    entries = _trusted_entries(rubric)
    if not entries:
        return []
    lines = ["## Trusted checks", ""]
    for t in entries:
        lines.append(f"- **{t.get('id', '?')}** ({t.get('phase', '')}): {check_result(t.get('passed'))[1]}: "
                     f"{t.get('message', '')}")
        rows = metric_rows(t.get("evidence") or {})
        if rows:
            lines += ["", "  | metric | reported | recomputed | abs. difference |", "  |---|---:|---:|---:|"]
            lines += [f"  | {md_cell(k)} | {fmt_num(a, 3)} | {fmt_num(b, 3)} | {fmt_num(d, 3)} |"
                      for k, a, b, d in rows]
            lines.append("")
    return lines + [""]


def render_student_markdown(rubric: Mapping) -> str:
    """rubric.md for one student (TA view, figures as links). Raises ValueError without 'student'."""
    student = student_id(rubric)
    lines = [f"# Rubric report: {student}", "",
             f"**Total:** {total_text(rubric)} · "
             f"**status:** {status(rubric)} · graded {rubric.get('graded_at', '(time not recorded)')}", ""]
    phases = rubric.get("phases") or {}
    if phases:
        lines += ["## Phase outcomes", "", "| phase | outcome | time (s) | message |", "|---|---|---:|---|"]
        for phase in ordered_phases(phases):
            info = phases[phase] or {}
            lines.append(f"| {md_cell(phase)} | {md_cell(info.get('outcome', '?'))} | "
                         f"{fmt_num(info.get('seconds'), 1)} | {md_cell(info.get('message', ''))} |")
        lines.append("")
    flags = rubric.get("flags") or []
    if flags:
        lines += ["## Flags", ""] + [f"- **{f.get('id', '?')}** ({f.get('phase', '')}): {f.get('message', '')}"
                                     for f in flags] + [""]
    lines += _criteria_markdown(rubric) + _trusted_markdown(rubric)
    figures = rubric.get("figures") or []
    if figures:
        lines += ["## Figures", ""] + [f"- {f.get('phase', '')}: [{f.get('name', '')}]({f.get('path', '')})"
                                       for f in figures] + [""]
    if rubric.get("overrides"):
        lines += ["## Points entered by TAs", "", *overrides_markdown(rubric["overrides"], with_grader=True), ""]
    snap = [(p, (phases[p] or {}).get("snapshot") or {}) for p in ordered_phases(phases)]
    if any(s for _, s in snap):
        lines += ["## Snapshot file hashes", ""]
        for phase, files in snap:
            lines += [f"- {phase}: `{k}` {v}" for k, v in sorted(files.items())]
        lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------- files

def write_student_report(rubric: dict, out_dir: Path, formgrader: str | None = None) -> dict[str, Path]:
    """Write rubric.json (indent 1), rubric.md and a self-contained rubric.html into out_dir (created if needed);
    the HTML links written answers to formgrader at ``formgrader`` (a base URL) when given.

    Returns {"json": ..., "md": ..., "html": ...}. A missing or unreadable figure becomes a note in the HTML.

    Raises:
        ValueError: the dict has no "student".
        TypeError: the dict holds values JSON cannot encode (e.g. numpy scalars): convert them with float()/int().
    """
    student = student_id(rubric)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "rubric.json", "md": out_dir / "rubric.md", "html": out_dir / "rubric.html"}
    try:
        text = json.dumps(rubric, indent=1, ensure_ascii=False)
    except TypeError as exc:
        raise TypeError(f"rubric for {student!r} is not plain JSON ({exc}): convert numpy values with "
                        "float() / int() before rendering") from None
    paths["json"].write_text(text + "\n", encoding="utf-8")
    paths["md"].write_text(render_student_markdown(rubric), encoding="utf-8")
    paths["html"].write_text(render_student_html(rubric, formgrader), encoding="utf-8")
    return paths
