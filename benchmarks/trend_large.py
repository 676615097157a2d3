"""benchgate measuring itself: change points, creep and the dashboard over a large history.

Setup (not timed): 1,000 synthetic metrics x 1,000 commits each, built in memory as the
store's ``Series`` (seeded, so every run sees the same history). Most metrics are stable
noise (CV 2%); one in eight has one to three level shifts of 6-20% at random commits; one
in twenty creeps 1% worse per commit over its newest 20 commits. Then, timed with
``benchgate.bench`` (garbage collector on, as in real use):

* ``trend_metrics_per_sec``: ``analyze`` on every metric (change points by E-Divisive
  means with the t-test, creep, status): what ``benchgate trend`` does after reading the
  store;
* ``dashboard_metrics_per_sec``: writing the static site (index with sparklines, a page
  per metric with its 1,000 points as JSON, uPlot copied) into a temp folder.

Each call takes seconds, so this bench is excluded from ``benchgate run`` in this
repository (``exclude`` in pyproject.toml); run it alone with
``python benchmarks/trend_large.py``. ``--accuracy`` prints instead how many of the planted
shifts were found at the right commit (within 2) and how many change points were found in
the stable metrics.
"""

from __future__ import annotations

import random
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchgate import bench
from benchgate.store.series import Point, Series
from benchgate.trend.analyze import MetricTrend, TrendOptions, analyze
from benchgate.trend.dashboard import build_site

METRICS = 1000
COMMITS = 1000
SEED = 20261204
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def build_history() -> tuple[list[Series], dict[str, list[int]], set[str]]:
    """The synthetic metrics, the commits where shifts were planted, the creeping keys."""
    rng = random.Random(SEED)
    commits = [f"{rng.getrandbits(160):040x}" for _ in range(COMMITS)]
    times = [(T0 + timedelta(hours=6 * i)).isoformat() for i in range(COMMITS)]
    out: list[Series] = []
    planted: dict[str, list[int]] = {}
    creeping: set[str] = set()
    for m in range(METRICS):
        key = f"bench_{m // 5:03d}.metric{m % 5}_ops_per_sec"
        level = 1000.0 * rng.uniform(0.5, 2.0)
        factors = [1.0] * COMMITS
        kind = rng.random()
        if kind < 0.125:
            at = sorted(rng.sample(range(60, COMMITS - 10), rng.randint(1, 3)))
            planted[key] = at
            for i in at:
                shift = rng.uniform(0.06, 0.20) * rng.choice([-1, 1])
                for j in range(i, COMMITS):
                    factors[j] *= 1 + shift
        elif kind < 0.175:
            creeping.add(key)
            for j in range(COMMITS - 20, COMMITS):
                factors[j] *= 1 - 0.01 * (j - (COMMITS - 21))
        points = []
        for i in range(COMMITS):
            runs = [level * factors[i] * rng.gauss(1.0, 0.02) for _ in range(5)]
            runs.sort()
            mean = sum(runs) / 5
            sd = (sum((r - mean) ** 2 for r in runs) / 4) ** 0.5
            points.append(
                Point(commits[i], times[i], runs[2], 5, runs[0], runs[-1], sd, "main", "ci", level)
            )
        out.append(Series(key, "ops/sec", True, tuple(points)))
    return out, planted, creeping


def trend_all(series: list[Series]) -> list[MetricTrend]:
    return [analyze(s) for s in series]


def dashboard(trends: list[MetricTrend], out: Path) -> None:
    build_site(trends, out)


def accuracy() -> None:
    """Planted shifts found at the right commit; change points in the stable metrics."""
    series, planted, creeping = build_history()
    opts = TrendOptions()
    found = total = false_cps = stable = creep_found = creep_total = false_fail = 0
    false_sizes: list[float] = []
    for s in series:
        t = analyze(s, opts)
        idx = [cp.index for cp in t.change_points]
        if s.key in planted:
            for i in planted[s.key]:
                total += 1
                found += any(abs(i - j) <= 2 for j in idx)
        elif s.key in creeping:
            creep_total += 1
            creep_found += t.status.fails
        else:
            stable += 1
            false_cps += len(idx)
            false_fail += t.status.fails
            false_sizes += [abs(cp.rel_change) for cp in t.change_points]
    print(f"planted shifts found at +-2 commits: {found}/{total}")
    print(f"creeping metrics failing trend: {creep_found}/{creep_total}")
    largest = max(false_sizes, default=0.0)
    print(f"change points in {stable} stable metrics: {false_cps} (largest {largest:.1%})")
    print(f"stable metrics failing trend: {false_fail}/{stable}")


def main() -> None:
    """Build the history once, then time each stage; prints the canonical JSON."""
    if "--accuracy" in sys.argv:
        accuracy()
        return
    series, _, _ = build_history()
    trends = trend_all(series)
    with tempfile.TemporaryDirectory(prefix="benchgate-dashboard-") as tmp:
        common: dict[str, Any] = {"disable_gc": False, "min_time": 0.05, "samples": 3}
        slow = {**common, "warmup": 0}
        bench.metric(
            "trend_metrics_per_sec",
            items_per_call=METRICS,
            unit="metrics/sec",
            args=(series,),
            **slow,
        )(trend_all)
        bench.metric(
            "dashboard_metrics_per_sec",
            items_per_call=METRICS,
            unit="metrics/sec",
            args=(trends, Path(tmp) / "site"),
            **slow,
        )(dashboard)
        bench.main()


if __name__ == "__main__":
    main()
