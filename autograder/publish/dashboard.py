"""The class dashboard: one self-contained index.html over every student's rubric dict.

Plots are matplotlib figures (Agg canvas, no pyplot state) embedded as base64 PNG; the page needs no
JavaScript and no network. Each student row links to ``<student>/rubric.html`` (written by
``autograder.publish.student_report.write_student_report``). Statuses are the rubrics' own and pending and
failed checks are ``autograder.rubric.scoring``'s: nothing here recomputes a rule.
"""

from __future__ import annotations

import base64
import io
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from autograder.publish.html import badge, cards, esc, fmt_num, html_page, outcome_badge, total_text
from autograder.publish.rubric_dict import flag_ids, ordered_phases, status
from autograder.rubric.scoring import Status, failed_check_ids, pending_check_ids

DEFAULT_TITLE = "Week 4 GeoAI · class dashboard"
TOP_FAILURES = 10
DPI = 150
WIDTH_IN = 4.8  # shown ~360 px wide: 9-pt labels stay readable
_OK, _BAD, _MAX, _WAIT = "#2f8f46", "#c4432f", "#d0d7de", "#c58a00"

_CSS = """
body { max-width: 1280px; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 1rem;
         align-items: start; }
.plots figure img { width: 100%; }
table.students td:first-child { font-weight: 600; }
tr.row-pending td:first-child { border-left: 4px solid #c58a00; }
tr.row-flagged td:first-child { border-left: 4px solid #c4432f; }
table.failures { width: auto; min-width: 32rem; }
.small { font-size: .85rem; }
"""


def _png(fig: Figure) -> str:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#5b6470")
    ax.set_xticks([])
    ax.set_yticks([])


def _bar_figure(rows: int) -> tuple[Figure, Axes]:
    """A figure tall enough for ``rows`` horizontal bars, and its axes."""
    fig = Figure(figsize=(WIDTH_IN, max(3.0, 0.34 * rows + 1.2)))
    return fig, fig.add_subplot()


def _possible(rubrics: Sequence[Mapping]) -> float:
    return max((float(r.get("possible") or 100) for r in rubrics), default=100.0)


def score_histogram(rubrics: Sequence[Mapping]) -> str:
    """PNG data URI: histogram of totals over 0..possible in ten bins, manual-pending students stacked apart."""
    possible = _possible(rubrics)
    fig = Figure(figsize=(WIDTH_IN, 3.4))
    ax = fig.add_subplot()
    if not rubrics:
        _empty(ax, "no students graded yet")
    else:
        bins = [possible * i / 10 for i in range(11)]
        done = [float(r.get("total") or 0) for r in rubrics if status(r) != Status.PENDING]
        waiting = [float(r.get("total") or 0) for r in rubrics if status(r) == Status.PENDING]
        ax.hist([done, waiting], bins=bins, stacked=True, color=[_OK, _WAIT], edgecolor="white",
                label=["final", "manual points pending"])
        ax.set_xlim(0, possible)
        ax.set_xlabel(f"total points (of {fmt_num(possible)})")
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("Score distribution")
    return _png(fig)


def criterion_means(rubrics: Sequence[Mapping]) -> list[tuple[str, float, float, int]]:
    """(criterion id, mean points earned, max, students pending) per criterion; pending points count as 0.

    A student is pending on a criterion whose status (set by scoring) is "manual-pending".
    """
    earned: dict[str, list[float]] = {}
    maxima: dict[str, float] = {}
    pending: Counter[str] = Counter()
    for r in rubrics:
        for c in r.get("criteria") or []:
            cid = str(c.get("id"))
            earned.setdefault(cid, []).append(float(c.get("points") or 0))
            maxima[cid] = max(maxima.get(cid, 0.0), float(c.get("max") or 0))
            if c.get("status") == Status.PENDING:
                pending[cid] += 1
    return [(cid, statistics.fmean(v), maxima[cid], pending[cid]) for cid, v in earned.items()]


def criterion_chart(rubrics: Sequence[Mapping]) -> str:
    """PNG data URI: mean points earned vs max per criterion (horizontal bars, rubric order top to bottom)."""
    rows = criterion_means(rubrics)
    fig, ax = _bar_figure(len(rows))
    if not rows:
        _empty(ax, "no criteria")
    else:
        labels = [cid for cid, *_ in rows][::-1]
        means = [m for _, m, _, _ in rows][::-1]
        maxima = [x for _, _, x, _ in rows][::-1]
        y = range(len(rows))
        ax.barh(y, maxima, color=_MAX, label="max")
        ax.barh(y, means, height=0.55, color=_OK, label="mean earned")
        for yi, m, x in zip(y, means, maxima, strict=True):
            ax.text(x + 0.3, yi, f"{m:.1f}/{fmt_num(x)}", va="center", fontsize=8, color="#1f2328")
        ax.set_yticks(list(y), labels, fontsize=9)
        ax.set_xlim(0, max(max(maxima), 1.0) * 1.3)
        ax.set_xlabel("points")
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("Points per criterion")
    return _png(fig)


def common_failures(rubrics: Sequence[Mapping], top: int = TOP_FAILURES) -> list[tuple[str, str, int]]:
    """(kind "flag" | "check", id, number of students) for the most common flags and failed checks."""
    counts: Counter[tuple[str, str]] = Counter()
    for r in rubrics:
        counts.update(("flag", f) for f in flag_ids(r))
        counts.update(("check", c) for c in set(failed_check_ids(r)))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0] != "flag", kv[0][1]))
    return [(kind, ident, n) for (kind, ident), n in ranked[:top]]


def failure_chart(rubrics: Sequence[Mapping]) -> str:
    """PNG data URI: students per flag and per failed check, top ten, most common on top."""
    rows = common_failures(rubrics)
    fig, ax = _bar_figure(len(rows))
    if not rows:
        _empty(ax, "no flags and no failed checks")
    else:
        rows = rows[::-1]
        y = range(len(rows))
        ax.barh(y, [n for *_, n in rows], color=[_BAD if k == "flag" else _WAIT for k, _, _ in rows])
        ax.set_yticks(list(y), [f"{k}: {i}" for k, i, _ in rows], fontsize=9)
        ax.set_xlabel("students")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("Most common failures\n(flags red, failed checks amber)", fontsize=11)
    return _png(fig)


def _cards(rubrics: Sequence[Mapping]) -> str:
    totals = [float(r.get("total") or 0) for r in rubrics]
    possible = _possible(rubrics)
    items = [("students", str(len(rubrics))),
             ("mean", f"{fmt_num(statistics.fmean(totals), 1)} / {fmt_num(possible)}" if totals else "–"),
             ("median", fmt_num(statistics.median(totals), 1) if totals else "–"),
             ("range", f"{fmt_num(min(totals), 1)} – {fmt_num(max(totals), 1)}" if totals else "–"),
             ("manual pending", str(sum(status(r) == Status.PENDING for r in rubrics))),
             ("flagged", str(sum(bool(flag_ids(r)) for r in rubrics)))]
    return cards((k, esc(v)) for k, v in items)


def _failures_table(rubrics: Sequence[Mapping]) -> str:
    rows = common_failures(rubrics)
    if not rows:
        return '<p class="muted">No flags and no failed checks.</p>'
    n = max(len(rubrics), 1)
    body = "".join(f'<tr><td>{esc(k)}</td><td><code>{esc(i)}</code></td><td class="num">{c}</td>'
                   f'<td class="num">{100 * c / n:.0f} %</td></tr>' for k, i, c in rows)
    return ('<table class="failures"><thead><tr><th>kind</th><th>id</th><th class="num">students</th>'
            f'<th class="num">share</th></tr></thead><tbody>{body}</tbody></table>')


def _students_table(rubrics: Sequence[Mapping]) -> str:
    phases = ordered_phases({p for r in rubrics for p in (r.get("phases") or {})})
    head = ("<th>student</th><th class=num>total</th><th>status</th>" + "".join(f"<th>{esc(p)}</th>" for p in phases)
            + "<th>flags</th><th>report</th>")
    rows = []
    for r in sorted(rubrics, key=lambda r: str(r.get("student", ""))):
        student = str(r.get("student", "?"))
        flags = flag_ids(r)
        pending = pending_check_ids(r)
        css = " ".join(c for c in ("row-pending" if pending else "", "row-flagged" if flags else "") if c)
        cells = []
        for p in phases:
            info = (r.get("phases") or {}).get(p) or {}
            outcome = str(info.get("outcome", "–"))
            shown = badge("muted", outcome) if outcome == "–" else outcome_badge(outcome)
            cells.append(f'<td title="{esc(info.get("message", ""))}">{shown}</td>')
        status_cell = badge(status(r), status(r))
        if pending:
            status_cell += f'<br><span class="muted small">{len(pending)} check(s) wait for a TA</span>'
        href = quote(student, safe="") + "/rubric.html"
        flag_badges = " ".join(badge("fail", f) for f in flags)
        rows.append(
            f'<tr class="{css}"><td><a href="{esc(href)}">{esc(student)}</a></td>'
            f'<td class="num">{esc(total_text(r))}</td>'
            f'<td>{status_cell}</td>{"".join(cells)}'
            f"<td>{flag_badges or '–'}</td>"
            f'<td><a href="{esc(href)}">rubric</a></td></tr>')
    return (f'<table class="students"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def render_dashboard(rubrics: Sequence[Mapping], title: str = DEFAULT_TITLE) -> str:
    """The dashboard page as a string (see write_dashboard)."""
    graded = sorted({str(r.get("graded_at")) for r in rubrics if r.get("graded_at")})
    when = f" · last graded {esc(graded[-1])}" if graded else ""
    body = (f"<h1>{esc(title)}</h1><p class='muted'>{len(rubrics)} student(s){when}</p>{_cards(rubrics)}"
            '<h2>Overview</h2><div class="plots">'
            f'<figure><img src="{score_histogram(rubrics)}" alt="histogram of total points"></figure>'
            f'<figure><img src="{criterion_chart(rubrics)}" alt="mean points per criterion"></figure>'
            f'<figure><img src="{failure_chart(rubrics)}" alt="most common failures"></figure></div>'
            f"<h2>Most common failures</h2>{_failures_table(rubrics)}"
            f"<h2>Students</h2>{_students_table(rubrics)}")
    return html_page(title, body, _CSS)


def write_dashboard(rubrics: list[dict], out_dir: Path, title: str = DEFAULT_TITLE) -> Path:
    """Write out_dir/index.html: score histogram, mean points per criterion, most common failures (top 10 flags
    and failed checks) and a table of students (total, status, outcome per phase, flags) linking to
    ``<student>/rubric.html``. Self-contained: CSS inline, plots as base64 PNG, no JavaScript.

    Raises:
        OSError: out_dir cannot be created or written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    path.write_text(render_dashboard(rubrics, title), encoding="utf-8")
    return path
