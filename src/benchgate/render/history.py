"""``benchgate history KEY`` rendered: one metric over commits as text, markdown or JSON.

Per commit: the value (median of that commit's runs), its spread (min-max and stdev),
n, the baseline in force then and the change against it; a sparkline of the values in
the terminal; the baseline refreshes from baselines.json's git history beside them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from benchgate.render import fmt
from benchgate.store.series import Point, Series

SPARK = "▁▂▃▄▅▆▇█"

# Commits a text or markdown table shows when --last is not given (json gives all): a
# terminal table of thousands of rows is noise, and the sparkline must fit a line.
SHOWN = 40


def sparkline(values: list[float]) -> str:
    """One block character per value, scaled from the smallest to the largest."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi == lo:
        return SPARK[len(SPARK) // 2 - 1] * len(values)
    top = len(SPARK) - 1
    return "".join(SPARK[round((v - lo) / (hi - lo) * top)] for v in values)


def _delta(p: Point, higher_is_better: bool) -> float | None:
    """Change against the baseline in force, in percent (positive = better)."""
    if p.baseline is None or p.baseline == 0:
        return None
    d = (p.value - p.baseline) / abs(p.baseline) * 100
    return d if higher_is_better else -d


def _rows(s: Series) -> list[list[str]]:
    rows = []
    for p in s.points:
        cv = p.stdev / p.value * 100 if p.value else 0.0
        delta = _delta(p, s.higher_is_better)
        rows.append(
            [
                p.commit[:12],
                p.time[:16].replace("T", " "),
                fmt.num(p.value),
                f"{fmt.num(p.lo)}–{fmt.num(p.hi)} ±{cv:.1f}%",
                str(p.n),
                fmt.num(p.baseline) if p.baseline is not None else "-",
                f"{delta:+.1f}%" if delta is not None else "-",
                p.branch or "-",
            ]
        )
    return rows


HEADERS = [
    "commit",
    "time (UTC)",
    "value",
    "spread (min–max ±stdev)",
    "n",
    "baseline",
    "vs baseline",
    "branch",
]


def _title(s: Series, branch: str | None, machine: str | None, total: int) -> str:
    direction = "higher is better" if s.higher_is_better else "lower is better"
    scope = [f"branch {branch}" if branch else "all branches"]
    if machine:
        scope.append(f"machine {machine}")
    count = f"{total} commit" + ("" if total == 1 else "s")
    if total > len(s.points):
        count += f" (newest {len(s.points)} shown; --last N for more)"
    return f"{s.key} ({s.unit}, {direction}), {', '.join(scope)}: {count}"


def _shown(s: Series, shown: int | None) -> tuple[Series, int]:
    total = len(s.points)
    if shown is None or total <= shown:
        return s, total
    return replace(s, points=s.points[-shown:]), total


def render_history_text(
    s: Series, branch: str | None = None, machine: str | None = None, shown: int | None = None
) -> str:
    """A table for the terminal, with a sparkline of the values (oldest -> newest).

    ``shown``: only the newest that many commits (the title says how many there are).
    """
    s, total = _shown(s, shown)
    lines = [fmt.plain(_title(s, branch, machine, total))]
    if not s.points:
        lines.append("no runs of this metric match (clean checkouts with a commit only)")
    else:
        lines.append(f"{sparkline(s.values)}  {fmt.num(min(s.values))} .. {fmt.num(max(s.values))}")
        lines += fmt.table(HEADERS, _rows(s))
    lines += _refresh_lines(s, "")
    return "\n".join(lines) + "\n"


def _refresh_lines(s: Series, bullet: str) -> list[str]:
    if not s.refreshes:
        return []
    out = ["", "baseline refreshes (baselines.json in git):"]
    for r in s.refreshes:
        line = f"{r.time[:10]} {r.commit[:12]} -> {fmt.num(r.value)} {s.unit}"
        line += f" ({r.reason})" if r.reason else ""
        out.append(bullet + (fmt.md_text(line) if bullet else fmt.plain(line)))
    return out


def render_history_markdown(
    s: Series, branch: str | None = None, machine: str | None = None, shown: int | None = None
) -> str:
    """A markdown table (for an issue, a PR comment or a step summary)."""
    s, total = _shown(s, shown)
    lines = [f"### {fmt.md_text(_title(s, branch, machine, total))}", ""]
    if s.points:
        lines.append(f"`{sparkline(s.values)}`")
        lines.append("")
        lines.append("| " + " | ".join(HEADERS) + " |")
        lines.append("|" + "---|" * len(HEADERS))
        for r in _rows(s):
            lines.append("| " + " | ".join(fmt.md_cell(c) for c in r) + " |")
    else:
        lines.append("No runs of this metric match.")
    lines += _refresh_lines(s, "- ")
    return "\n".join(lines) + "\n"


def history_json(
    s: Series, branch: str | None = None, machine: str | None = None
) -> dict[str, Any]:
    """The series as JSON: every point and refresh, with the filters used."""
    return {
        "key": s.key,
        "unit": s.unit,
        "higher_is_better": s.higher_is_better,
        "degradation_pct_max": s.degradation_pct_max,
        "variance_pct_warn": s.variance_pct_warn,
        "branch": branch,
        "machine": machine,
        "points": [
            {**p.__dict__, "vs_baseline_pct": _delta(p, s.higher_is_better)} for p in s.points
        ],
        "refreshes": [r.__dict__ for r in s.refreshes],
    }


def render_history(
    s: Series, fmt: str, branch: str | None, machine: str | None, shown: int | None = SHOWN
) -> str:
    """The history in ``fmt``: text, markdown (newest ``shown`` commits) or json (all)."""
    if fmt == "json":
        return json.dumps(history_json(s, branch, machine), indent=2) + "\n"
    if fmt == "markdown":
        return render_history_markdown(s, branch, machine, shown)
    return render_history_text(s, branch, machine, shown)
