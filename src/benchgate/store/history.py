"""``benchgate history KEY``: one metric over commits, as text, markdown or JSON.

Per commit: the value (median of that commit's runs), its spread (min-max and stdev),
n, the baseline in force then and the change against it; a sparkline of the values in
the terminal; the baseline refreshes from baselines.json's git history beside them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from benchgate.baselines.file import load_baselines
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.model import Baseline
from benchgate.render.report import fmt_num
from benchgate.store.refreshes import GitBaselines
from benchgate.store.series import Point, Series
from benchgate.store.store import Store

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


class ProjectStore:
    """A store read for one project: series carry its baselines from git and its thresholds.

    What ``history``, ``trend`` and ``dashboard`` read: ``series`` is
    :meth:`Store.series` plus the baseline in force at each commit (baselines.json at
    that commit, from git), the key's refreshes, and its thresholds from baselines.json
    (else config). baselines.json and its history are read once, for every key. Every
    other attribute is the underlying :class:`Store`'s.
    """

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.git = GitBaselines(config)
        self._baselines: dict[str, Baseline] | None = None

    def thresholds(self, key: str) -> tuple[float, float]:
        """The key's thresholds from baselines.json when readable, else config's."""
        if self._baselines is None:
            try:
                self._baselines = load_baselines(
                    self.config.baselines_path,
                    self.config.degradation_pct_max,
                    self.config.variance_pct_warn,
                )
            except BenchgateError:
                self._baselines = {}
        b = self._baselines.get(key)
        if b is not None:
            return b.degradation_pct_max, b.variance_pct_warn
        return self.config.degradation_pct_max, self.config.variance_pct_warn

    def keys(self) -> list[str]:
        """Every metric key recorded, sorted."""
        return self.store.keys()

    def series(
        self,
        key: str,
        branch: str | None = None,
        machine: str | None = None,
        last: int | None = None,
    ) -> Series:
        """``key`` over commits with the project's baselines (see the class)."""
        deg, warn = self.thresholds(key)
        return self.store.series(
            key,
            branch=branch,
            machine=machine,
            last=last,
            refreshes=self.git.refreshes().get(key, []),
            degradation_pct_max=deg,
            variance_pct_warn=warn,
            baselines_at=lambda commits: self.git.at(key, commits),
        )

    def close(self) -> None:
        """Close the underlying store."""
        self.store.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def project_series(
    store: Store,
    config: Config,
    key: str,
    branch: str | None = None,
    machine: str | None = None,
    last: int | None = None,
) -> Series:
    """``store.series`` with the project's baselines from git and its thresholds.

    The baseline in force at a commit without a recorded verdict is what baselines.json
    held at that commit; refreshes are the commits that changed the key's value.
    """
    return ProjectStore(store, config).series(key, branch, machine, last)


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
                fmt_num(p.value),
                f"{fmt_num(p.lo)}–{fmt_num(p.hi)} ±{cv:.1f}%",
                str(p.n),
                fmt_num(p.baseline) if p.baseline is not None else "-",
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
    lines = [_title(s, branch, machine, total)]
    if not s.points:
        lines.append("no runs of this metric match (clean checkouts with a commit only)")
    else:
        lines.append(f"{sparkline(s.values)}  {fmt_num(min(s.values))} .. {fmt_num(max(s.values))}")
        table = [HEADERS, *_rows(s)]
        widths = [max(len(r[i]) for r in table) for i in range(len(HEADERS))]
        for r in table:
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    lines += _refresh_lines(s, "")
    return "\n".join(lines) + "\n"


def _refresh_lines(s: Series, bullet: str) -> list[str]:
    if not s.refreshes:
        return []
    out = ["", "baseline refreshes (baselines.json in git):"]
    for r in s.refreshes:
        out.append(
            f"{bullet}{r.time[:10]} {r.commit[:12]} -> {fmt_num(r.value)} {s.unit}"
            + (f" ({r.reason})" if r.reason else "")
        )
    return out


def render_history_markdown(
    s: Series, branch: str | None = None, machine: str | None = None, shown: int | None = None
) -> str:
    """A markdown table (for an issue, a PR comment or a step summary)."""
    s, total = _shown(s, shown)
    lines = [f"### {_title(s, branch, machine, total)}", ""]
    if s.points:
        lines.append(f"`{sparkline(s.values)}`")
        lines.append("")
        lines.append("| " + " | ".join(HEADERS) + " |")
        lines.append("|" + "---|" * len(HEADERS))
        for r in _rows(s):
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
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
