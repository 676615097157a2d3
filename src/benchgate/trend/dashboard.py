"""The static dashboard: an index of every metric and a page per metric with its history.

No server: the folder is publishable as is (GitHub Pages, GitLab Pages, any file host) and
works offline, because the plotting library (uPlot, MIT, shipped in ``static/``) is copied
beside the pages. Every string from the store (keys, units, commits, refresh reasons) is
HTML-escaped in markup and JSON-encoded with ``<``, ``>`` and ``&`` escaped inside the page's
data script, so no key can close the script tag or inject markup.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from benchgate.errors import BenchgateError
from benchgate.judge.compare import judge
from benchgate.store.series import Series
from benchgate.trend.analyze import MetricTrend, parse_time

# uPlot 1.6.32 (MIT, https://github.com/leeoniya/uPlot), from the npm package's dist/.
STATIC_FILES = (
    "uPlot.iife.min.js",
    "uPlot.min.css",
    "uPlot.LICENSE.txt",
    "dashboard.js",
    "dashboard.css",
    "index.js",
)
SPARK_POINTS = 100


@dataclass(frozen=True)
class SiteSummary:
    """What ``build_site`` wrote."""

    out_dir: Path
    metrics: int
    pages: int
    files: int


def slug(key: str) -> str:
    """A file name for ``key``: safe characters, short, unique (a hash of the key)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._-")[:80] or "metric"
    return f"{safe}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:10]}"


def script_json(data: Any) -> str:
    """``data`` as JSON safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\\u003c`` ... so ``</script>`` or ``<!--`` in a key cannot
    end the script element; non-ASCII (U+2028/2029 too) is escaped as well.
    """
    # ensure_ascii: every non-ASCII character (U+2028/2029 included) becomes an escape.
    text = json.dumps(data, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _finite(x: float | None) -> float | None:
    """JSON has no NaN or infinity: those become null (a gap in the plot)."""
    return x if x is not None and math.isfinite(x) else None


def _column(values: list[float | None]) -> list[float | None]:
    # The common case (all finite) without a call per value: pages hold thousands.
    try:
        if all(math.isfinite(v) for v in values):  # type: ignore[arg-type]
            return values
    except TypeError:  # a None among them
        pass
    return [_finite(v) for v in values]


def _refresh_index(series: Series, commit: str, time: str) -> int | None:
    """Where a baseline refresh goes on the x axis: its commit, else the first later point."""
    for i, p in enumerate(series.points):
        if p.commit == commit:
            return i
    try:
        when = parse_time(time)
    except BenchgateError:
        return None
    for i, p in enumerate(series.points):
        try:
            if parse_time(p.time) >= when:
                return i
        except BenchgateError:
            continue
    return None


def page_data(trend: MetricTrend) -> dict[str, Any]:
    """Everything a metric page plots, as JSON data."""
    s = trend.series
    pts = s.points
    refreshes = []
    for r in s.refreshes:
        idx = _refresh_index(s, r.commit, r.time)
        if idx is not None:
            refreshes.append(
                {
                    "index": idx,
                    "commit": r.commit,
                    "time": r.time,
                    "value": _finite(r.value),
                    "reason": r.reason,
                }
            )
    return {
        "key": s.key,
        "unit": s.unit,
        "higher_is_better": s.higher_is_better,
        "degradation_pct_max": s.degradation_pct_max,
        "variance_pct_warn": s.variance_pct_warn,
        "status": trend.status.value,
        # Columns, not one object per point: half the bytes. The WARN and FAIL lines are
        # derived from the baseline in the page (dashboard.js), not stored twice more.
        "points": {
            "commit": [p.commit[:12] for p in pts],
            "time": [p.time for p in pts],
            "value": _column([p.value for p in pts]),
            "lo": _column([p.lo for p in pts]),
            "hi": _column([p.hi for p in pts]),
            "stdev": _column([p.stdev for p in pts]),
            "n": [p.n for p in pts],
            "baseline": _column([p.baseline for p in pts]),
        },
        "change_points": [
            {
                "index": cp.index,
                "commit": cp.commit,
                "previous_commit": cp.previous_commit,
                "rel_change": cp.rel_change,
                "pvalue": cp.pvalue,
                "worse": cp.worse > 0,
            }
            for cp in trend.change_points
        ],
        "refreshes": refreshes,
    }


def sparkline(values: Sequence[float], width: int = 120, height: int = 24) -> str:
    """An inline SVG polyline of the newest ``SPARK_POINTS`` values."""
    vals = [v for v in values[-SPARK_POINTS:] if _finite(v) is not None]
    if len(vals) < 2:
        return ""
    lo, hi = min(vals), max(vals)
    span = hi - lo or 1.0
    step = (width - 2) / (len(vals) - 1)
    coords = " ".join(
        f"{1 + i * step:.1f},{height - 1 - (v - lo) / span * (height - 2):.1f}"
        for i, v in enumerate(vals)
    )
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="sparkline"><polyline points="{coords}"/></svg>'
    )


def gate_status(series: Series) -> str:
    """The newest value against the baseline in force then (PASS/WARN/FAIL/IMPROVED)."""
    if not series.points:
        return "NONE"
    p = series.points[-1]
    if p.baseline is None or p.baseline == 0:
        return "NONE"
    return judge(
        p.baseline,
        p.value,
        series.higher_is_better,
        series.degradation_pct_max,
        series.variance_pct_warn,
    ).value.upper()


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.5g}"


def _head(title: str, prefix: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n"
        f'<link rel="stylesheet" href="{prefix}static/uPlot.min.css">\n'
        f'<link rel="stylesheet" href="{prefix}static/dashboard.css">\n'
        "</head>\n<body>\n"
    )


def render_index(trends: Sequence[MetricTrend], generated: str) -> str:
    """index.html: every metric with its latest value, statuses and a sparkline."""
    rows = []
    for t in trends:
        s, latest = t.series, t.latest
        gate = gate_status(s)
        rows.append(
            "<tr>"
            f'<td class="key"><a href="metrics/{_e(slug(s.key))}.html">{_e(s.key)}</a></td>'
            f'<td class="num">{_e(_fmt(latest.value if latest else None))}</td>'
            f"<td>{_e(s.unit)}</td>"
            f'<td><span class="status s-{_e(gate)}">{_e(gate)}</span></td>'
            f'<td><span class="status s-{_e(t.status.value)}">{_e(t.status.value)}</span></td>'
            f'<td class="num">{len(s.points)}</td>'
            f'<td class="num">{len(t.change_points)}</td>'
            f"<td>{sparkline(s.values)}</td>"
            "</tr>"
        )
    failing = sum(1 for t in trends if t.status.fails)
    return (
        _head("benchgate dashboard", "")
        + "<h1>benchgate dashboard</h1>\n"
        + f'<p class="meta">{len(trends)} metrics, {failing} regressing or creeping. '
        + f"Generated {_e(generated)}.</p>\n"
        + '<input id="filter" type="search" placeholder="filter metrics" aria-label="filter">\n'
        + '<table id="metrics">\n<thead><tr><th>metric</th><th>latest</th><th>unit</th>'
        + "<th>vs baseline</th><th>trend</th><th>commits</th><th>change points</th>"
        + "<th>history</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n"
        + '<script src="static/index.js"></script>\n</body>\n</html>\n'
    )


def render_metric_page(trend: MetricTrend) -> str:
    """metrics/<slug>.html: the interactive plot and the tables behind it."""
    s = trend.series
    direction = "higher is better" if s.higher_is_better else "lower is better"
    cps = "\n".join(
        "<tr>"
        f"<td><code>{_e(cp.previous_commit[:12])}..{_e(cp.commit[:12])}</code></td>"
        f"<td>{_e(cp.time)}</td>"
        f'<td class="num">{_e(_fmt(cp.old_mean))} &rarr; {_e(_fmt(cp.new_mean))}</td>'
        f'<td class="num">{cp.rel_change * 100:+.1f}%</td>'
        f"<td>{'worse' if cp.worse > 0 else 'better'}{' (new)' if cp.recent else ''}</td>"
        f'<td class="num">{cp.pvalue:.2g}</td>'
        "</tr>"
        for cp in trend.change_points
    )
    refreshes = "\n".join(
        f"<tr><td><code>{_e(r.commit[:12])}</code></td><td>{_e(r.time)}</td>"
        f'<td class="num">{_e(_fmt(r.value))}</td><td>{_e(r.reason)}</td></tr>'
        for r in s.refreshes
    )
    creep = ""
    if trend.creep is not None:
        c = trend.creep
        creep = (
            f'<p><span class="status s-CREEP">CREEP</span> {c.rel_change * 100:+.1f}% over the '
            f"newest {c.commits} commits (<code>{_e(c.first_commit[:12])}..{_e(c.last_commit[:12])}"
            f"</code>), {_e(_fmt(c.start_level))} &rarr; {_e(_fmt(c.end_level))}</p>\n"
        )
    return (
        _head(f"{s.key} - benchgate", "../")
        + '<p><a href="../index.html">&larr; all metrics</a></p>\n'
        + f"<h1>{_e(s.key)}</h1>\n"
        + f'<p class="meta">{_e(s.unit)}, {direction}; {len(s.points)} commits; '
        + f'vs baseline <span class="status s-{_e(gate_status(s))}">{_e(gate_status(s))}</span>; '
        + f'trend <span class="status s-{_e(trend.status.value)}">{_e(trend.status.value)}</span>'
        + "</p>\n"
        + creep
        + '<div id="plot"></div>\n'
        + '<p class="legend-note">Band: min..max of the runs at each commit. Lines: baseline, '
        + "WARN and FAIL thresholds. Markers: "
        + '<span class="cp-worse">&#9660; change point, worse</span>, '
        + '<span class="cp-better">&#9650; change point, better</span>, '
        + '<span class="refresh">dashed: baseline refresh</span>.</p>\n'
        + "<h2>Change points</h2>\n"
        + (
            "<table><thead><tr><th>commits</th><th>time</th><th>old &rarr; new</th>"
            f"<th>change</th><th></th><th>p-value</th></tr></thead><tbody>\n{cps}\n</tbody></table>\n"
            if cps
            else "<p>None.</p>\n"
        )
        + "<h2>Baseline refreshes</h2>\n"
        + (
            "<table><thead><tr><th>commit</th><th>time</th><th>value</th><th>reason</th></tr>"
            f"</thead><tbody>\n{refreshes}\n</tbody></table>\n"
            if refreshes
            else "<p>None.</p>\n"
        )
        + '<script type="application/json" id="benchgate-data">'
        + script_json(page_data(trend))
        + "</script>\n"
        + '<script src="../static/uPlot.iife.min.js"></script>\n'
        + '<script src="../static/dashboard.js"></script>\n'
        + "</body>\n</html>\n"
    )


def static_file(name: str) -> bytes:
    """A file shipped in ``benchgate/trend/static``."""
    return (resources.files("benchgate.trend") / "static" / name).read_bytes()


MARKER = ".benchgate-dashboard"


def _check_out_dir(out_dir: Path) -> None:
    """Refuse to replace anything but an empty folder or an earlier dashboard."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise BenchgateError("not a folder", out_dir)
    if (out_dir / MARKER).is_file():
        return
    if any(out_dir.iterdir()):
        raise BenchgateError(
            "is not empty and holds no earlier dashboard: give a new or empty folder", out_dir
        )


def build_site(
    trends: Iterable[MetricTrend], out_dir: Path, generated: str | None = None
) -> SiteSummary:
    """Write the dashboard into ``out_dir``, replacing an earlier one as a whole.

    The site is written into a new folder beside ``out_dir`` and renamed into place, so a
    reader or a crash never sees half a site. ``out_dir`` must be new, empty, or an earlier
    dashboard (it holds the ``.benchgate-dashboard`` marker): nothing else is replaced.
    """
    items = sorted(trends, key=lambda t: t.key)
    when = generated or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out_dir = Path(os.path.abspath(out_dir))
    _check_out_dir(out_dir)
    parent = out_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=parent))
    except OSError as exc:
        raise BenchgateError(f"cannot be written: {exc.strerror}", out_dir) from None
    try:
        # Plain writes, no fsync per file: the folder becomes visible only by the rename
        # below, and a site lost to a power cut is rebuilt by the next run.
        (tmp / "static").mkdir()
        (tmp / "metrics").mkdir()
        for name in STATIC_FILES:
            (tmp / "static" / name).write_bytes(static_file(name))
        for t in items:
            page = render_metric_page(t)
            (tmp / "metrics" / f"{slug(t.key)}.html").write_text(page, encoding="utf-8")
        (tmp / "index.html").write_text(render_index(items, when), encoding="utf-8")
        (tmp / MARKER).write_text("written by benchgate dashboard\n", encoding="utf-8")
        files = len(STATIC_FILES) + len(items) + 1
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=parent))
            os.replace(out_dir, old / "site")
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BenchgateError(f"cannot be written: {exc.strerror or exc}", out_dir) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return SiteSummary(out_dir, len(items), len(items), files)
