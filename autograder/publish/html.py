"""The building blocks every rendering of a rubric dict shares: the stylesheet, escaping and number formatting,
the page wrapper, badges, cards, tables, message cells, and the Markdown twins' table cells.

Used by the TA report (``student_report``), the student feedback (``feedback``) and the class dashboard
(``dashboard``). These helpers format values; none of them decides anything about points or statuses
(that is ``autograder.rubric.scoring``). Every string taken from a rubric goes through :func:`esc`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping

from autograder.grading.results import Outcome

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
table.fixed td { overflow-wrap: anywhere; }
table.fixed td.num { white-space: normal; }
td.msg { white-space: pre-wrap; overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .85rem; }
pre { background: #f6f8fa; border: 1px solid var(--line); padding: .6rem; overflow-x: auto; white-space: pre-wrap; }
.badge { display: inline-block; padding: .05rem .45rem; border-radius: .7rem; font-size: .8rem; font-weight: 600;
         white-space: nowrap; border: 1px solid transparent; }
.pass, .auto, .graded { color: var(--ok); background: var(--ok-bg); border-color: #b7e4c1; }
.fail, .bad { color: var(--bad); background: var(--bad-bg); border-color: #f6c2bd; }
.ta-action { margin-top: .25rem; font-size: .85rem; }
.pending, .manual-pending, .re-review, .overridden, .not-run { color: var(--wait); background: var(--wait-bg);
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


# ------------------------------------------------------------------------------------------------ values

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


def total_text(rubric: Mapping) -> str:
    """'91 / 100': the rubric's total of its possible points."""
    return f"{fmt_num(rubric.get('total'))} / {fmt_num(rubric.get('possible', 100))}"


def points_text(item: Mapping) -> str:
    """A check's or a criterion's points of its max, or 'waiting for a TA (of 3)' while its points are null."""
    if item.get("points") is None:
        return f"waiting for a TA (of {fmt_num(item.get('max'))})"
    return f"{fmt_num(item.get('points'))} / {fmt_num(item.get('max'))}"


def check_result(passed: object) -> tuple[str, str]:
    """(css class, label) of a check's passed field."""
    if passed is True:
        return "pass", "pass"
    if passed is False:
        return "fail", "fail"
    return "pending", "pending"


# ------------------------------------------------------------------------------------------------- pieces

def badge(css: str, label: object) -> str:
    return f'<span class="badge {esc(css)}">{esc(label)}</span>'


def outcome_badge(outcome: str) -> str:
    """A phase outcome: green when the phase was graded, red otherwise."""
    return badge("graded" if outcome == Outcome.GRADED else "bad", outcome)


def cards(items: Iterable[tuple[str, str]]) -> str:
    """A row of summary cards from (label, value as HTML) pairs."""
    body = "".join(f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{v}</div></div>' for k, v in items)
    return f'<div class="cards">{body}</div>'


def criterion_heading(criterion: Mapping, after: str = "") -> str:
    """A criterion's <h3>: 'id · name' on the left, its points (then ``after``, HTML) on the right."""
    return (f'<h3><span>{esc(criterion.get("id", "?"))} · {esc(criterion.get("name", ""))}</span>'
            f"<span>{esc(points_text(criterion))}{after}</span></h3>")


def points_cell(item: Mapping) -> str:
    """A table cell with :func:`points_text`; a long text wraps inside a fixed-layout table (BASE_CSS)."""
    return f'<td class="num">{esc(points_text(item))}</td>'


def fixed_table(widths: Iterable[int], head: str, rows: Iterable[str]) -> str:
    """A fixed-layout table: column widths in percent, the header cells (HTML) and the body rows (HTML)."""
    cols = "".join(f'<col style="width:{w}%">' for w in widths)
    return (f'<table class="fixed"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def msg_html(message: object, keep: int = 4) -> str:
    """A message for a table cell; one longer than `keep` lines shows its last line, the rest in <details>."""
    text = "" if message is None else str(message).rstrip()
    lines = text.splitlines()
    if len(lines) <= keep:
        return esc(text)
    return (f"{esc(lines[-1].strip())}<details><summary>full message ({len(lines)} lines)</summary>"
            f"<pre>{esc(text)}</pre></details>")


def ta_points_text(entry: Mapping) -> str:
    """A TA entry's points, or 'emptied' for a score a TA removed in formgrader."""
    return "emptied" if entry.get("points") is None else fmt_num(entry.get("points"))


def overrides_table(overrides: Iterable[Mapping], with_grader: bool) -> str:
    """The points TAs entered by hand (``override`` or formgrader), oldest first; who and where only for the TA's
    report."""
    overrides = list(overrides)
    if not overrides:
        return '<p class="muted">No points were entered or changed by hand.</p>'
    who = "<th>who</th><th>where</th>" if with_grader else ""
    head = f"<th>check</th><th class=num>points</th>{who}<th>when</th><th>why</th>"
    rows = "".join(
        f'<tr><td><code>{esc(o.get("check", "?"))}</code></td><td class="num">{esc(ta_points_text(o))}</td>'
        + (f'<td>{esc(o.get("grader", ""))}</td><td>{esc(o.get("origin", "override"))}</td>' if with_grader else "")
        + f'<td>{esc(o.get("at", ""))}</td><td class="msg">{esc(o.get("reason", ""))}</td></tr>' for o in overrides)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def html_page(title: str, body: str, css: str = "") -> str:
    """A self-contained HTML page: BASE_CSS (then ``css``) inline, no script, no external resource."""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<link rel="icon" href="data:,">\n'
            f"<title>{esc(title)}</title>\n<style>{BASE_CSS}{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


# ----------------------------------------------------------------------------------------- Markdown twins

def md_cell(value: object) -> str:
    """Text safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def overrides_markdown(overrides: Iterable[Mapping], with_grader: bool) -> list[str]:
    """:func:`overrides_table` as Markdown table lines."""
    who = " who | where |" if with_grader else ""
    lines = [f"| check | points |{who} when | why |", "|---|---:|" + ("---|---|" if with_grader else "") + "---|---|"]
    return lines + [f"| {md_cell(o.get('check'))} | {ta_points_text(o)} | "
                    + (f"{md_cell(o.get('grader'))} | {md_cell(o.get('origin', 'override'))} | " if with_grader else "")
                    + f"{md_cell(o.get('at'))} | {md_cell(o.get('reason'))} |" for o in overrides]
