"""``benchgate trend`` output: text, markdown (a step summary or an issue), JSON, CSV.

The CSV is the wide table Apache Otava's CSV importer reads (a ``time`` column, a
``commit`` attribute and one column per metric), so a team can run Otava beside benchgate.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from benchgate.render import fmt
from benchgate.trend.analyze import ChangePoint, MetricTrend, TrendOptions, TrendStatus


def _short(sha: str) -> str:
    return sha[:12]


def _pct(x: float) -> str:
    return fmt.share(x, signed=True)


def _num(x: float) -> str:
    return fmt.num(x)


def _p(p: float) -> str:
    return f"{p:.1e}" if p < 0.001 else f"{p:.4f}"


def summary_line(trends: Sequence[MetricTrend], options: TrendOptions) -> str:
    """One line: how many metrics, how many regress or creep, with what settings."""
    counts = {s: sum(1 for t in trends if t.status is s) for s in TrendStatus}
    parts = [f"{len(trends)} metrics"]
    for s in (TrendStatus.REGRESSION, TrendStatus.CREEP, TrendStatus.IMPROVED):
        if counts[s]:
            parts.append(f"{counts[s]} {s.value}")
    verdict = "FAIL" if any(t.status.fails for t in trends) else "PASS"
    return (
        f"benchgate trend: {verdict}: {', '.join(parts)} "
        f"(alpha {options.alpha:g}, window {options.window}, recent {options.recent} commits)"
    )


def _cp_row(t: MetricTrend, cp: ChangePoint) -> list[str]:
    mark = "new " if cp.recent else ""
    kind = "worse" if cp.worse > 0 else "better"
    return [
        t.key,
        f"{_short(cp.previous_commit)}..{_short(cp.commit)}",
        cp.time,
        f"{_num(cp.old_mean)} -> {_num(cp.new_mean)} {t.series.unit}".rstrip(),
        f"{_pct(cp.rel_change)} ({mark}{kind})",
        _p(cp.pvalue),
    ]


def _creep_row(t: MetricTrend) -> list[str]:
    c = t.creep
    assert c is not None
    return [
        t.key,
        f"{_short(c.first_commit)}..{_short(c.last_commit)}",
        str(c.commits),
        f"{_num(c.start_level)} -> {_num(c.end_level)} {t.series.unit}".rstrip(),
        _pct(c.rel_change),
        f"{t.series.degradation_pct_max * 100:.0f}%",
    ]


CP_HEAD = ["metric", "commits", "time", "old -> new", "change", "p-value"]
CREEP_HEAD = ["metric", "commits", "n", "start -> end", "change", "limit"]
STATUS_HEAD = ["metric", "status", "commits", "latest", "change points"]


def _status_rows(trends: Sequence[MetricTrend]) -> list[list[str]]:
    rows = []
    for t in trends:
        latest = t.latest
        value = f"{_num(latest.value)} {t.series.unit}".rstrip() if latest else "-"
        n, cps = str(len(t.series.points)), str(len(t.change_points))
        rows.append([t.key, t.status.value, n, value, cps])
    return rows


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return fmt.table(head, rows)  # cells escaped: keys are user data


def render_text(trends: Sequence[MetricTrend], options: TrendOptions) -> str:
    """Status per metric, then every change point and creep, as plain text."""
    lines = [summary_line(trends, options), ""]
    lines += _table(STATUS_HEAD, _status_rows(trends))
    cps = [_cp_row(t, cp) for t in trends for cp in t.change_points]
    if cps:
        lines += ["", "Change points (the level moved between the two commits):"]
        lines += _table(CP_HEAD, cps)
    creeps = [_creep_row(t) for t in trends if t.creep is not None]
    if creeps:
        lines += ["", f"Creep over the newest {options.recent} commits (no single change):"]
        lines += _table(CREEP_HEAD, creeps)
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    # Keys are user data: keep them from breaking the table or rendering as markup.
    return fmt.md_cell(text)


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
    return out


def render_markdown(trends: Sequence[MetricTrend], options: TrendOptions) -> str:
    """The same as markdown: for a job's step summary or an issue."""
    lines = ["### " + summary_line(trends, options), ""]
    failing = [t for t in trends if t.status is not TrendStatus.STABLE]
    if failing:
        lines += _md_table(STATUS_HEAD, _status_rows(failing))
    else:
        lines.append("Every metric is stable over its history.")
    cps = [_cp_row(t, cp) for t in trends for cp in t.change_points]
    if cps:
        lines += ["", "#### Change points", ""]
        lines += _md_table(CP_HEAD, cps)
    creeps = [_creep_row(t) for t in trends if t.creep is not None]
    if creeps:
        lines += ["", f"#### Creep over the newest {options.recent} commits", ""]
        lines += _md_table(CREEP_HEAD, creeps)
    return "\n".join(lines) + "\n"


def trend_to_json(t: MetricTrend) -> dict[str, Any]:
    """One metric's trend as plain JSON data."""
    c = t.creep
    return {
        "key": t.key,
        "unit": t.series.unit,
        "higher_is_better": t.series.higher_is_better,
        "status": t.status.value,
        "commits": len(t.series.points),
        "latest": (
            {"commit": t.latest.commit, "time": t.latest.time, "value": t.latest.value}
            if t.latest
            else None
        ),
        "change_points": [
            {
                "index": cp.index,
                "commit": cp.commit,
                "previous_commit": cp.previous_commit,
                "time": cp.time,
                "old_mean": cp.old_mean,
                "new_mean": cp.new_mean,
                "old_stdev": cp.old_stdev,
                "new_stdev": cp.new_stdev,
                "rel_change": cp.rel_change,
                "pvalue": cp.pvalue,
                "confidence": cp.confidence,
                "worse": cp.worse > 0,
                "recent": cp.recent,
            }
            for cp in t.change_points
        ],
        "creep": (
            {
                "first_commit": c.first_commit,
                "last_commit": c.last_commit,
                "commits": c.commits,
                "start_level": c.start_level,
                "end_level": c.end_level,
                "rel_change": c.rel_change,
            }
            if c
            else None
        ),
    }


def render_json(trends: Sequence[MetricTrend], options: TrendOptions) -> str:
    """Everything as one JSON document."""
    doc = {
        "ok": not any(t.status.fails for t in trends),
        "options": {
            "alpha": options.alpha,
            "window": options.window,
            "min_magnitude": options.min_magnitude,
            "recent": options.recent,
        },
        "metrics": [trend_to_json(t) for t in trends],
    }
    return json.dumps(doc, indent=2) + "\n"


def render_csv(trends: Sequence[MetricTrend]) -> str:
    """The wide table Apache Otava's CSV importer reads: time, commit, one column per metric.

    One row per commit, oldest first (by the newest run's time); a metric not measured at a
    commit has an empty cell.
    """
    rows: dict[str, dict[str, str]] = {}
    keys = [t.key for t in trends]
    for t in trends:
        for p in t.series.points:
            row = rows.setdefault(p.commit, {"time": p.time, "commit": p.commit})
            row["time"] = max(row["time"], p.time)
            row[t.key] = repr(p.value)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["time", "commit", *keys])
    for row in sorted(rows.values(), key=lambda r: r["time"]):
        writer.writerow([row["time"], row["commit"], *(row.get(k, "") for k in keys)])
    return buf.getvalue()
