"""benchgate measuring itself: load, reduce, compare and report over a large out-dir.

Setup (not timed): a synthetic out-dir of 200 benches x 5 metrics x 20 runs (every run
with 5 samples per metric, an environment record and a disturbance record, as
``benchgate run`` writes them) in a temp folder, and a baselines.json entry per metric.
Then each stage a ``benchgate compare`` goes through is timed on it with
``benchgate.bench`` (the garbage collector stays on, as in real use):

* ``load_runs_per_sec``: reading and validating the 200 result files (4,000 runs);
* ``reduce_runs_per_sec``: reducing the 4,000 runs to medians with their spread;
* ``compare_metrics_per_sec``: judging the 1,000 metrics against their baselines;
* ``intervals_metrics_per_sec``: confidence intervals and "unsure" labels (the exact
  bootstrap distribution of the median) for the 1,000 metrics, computed afresh every call
  (benchgate remembers recent intervals within a process; that cache is emptied first);
* ``report_metrics_per_sec``: rendering report.md and the text verdict table (verdicts
  with their intervals, as ``benchgate compare`` and report.md show them).

Run it alone with ``python benchmarks/reduce_compare_large.py``.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchgate import bench
from benchgate.judge.compare import compare
from benchgate.judge.confidence import annotate
from benchgate.judge.reduce import reduce_runs
from benchgate.judge.stats import clear_interval_cache
from benchgate.model import (
    Baseline,
    Comparison,
    Measurement,
    ReducedSet,
    RunRecord,
    RunStatus,
)
from benchgate.render.report import render_out_report, render_text
from benchgate.run.results import load_runs, write_bench_runs

BENCHES = 200
METRICS = 5
RUNS = 20
SAMPLES = 5
SEED = 20240917

ENV = {
    "fingerprint": "synthetic",
    "python": "3.11.7",
    "implementation": "CPython",
    "platform": "Linux-x86_64",
    "cpu_model": "synthetic CPU",
    "cpus": [0, 1],
    "dependencies": {"click": "8.1.7", "rich": "13.7.1", "psutil": "5.9.8"},
}


def _bench_name(i: int) -> str:
    return f"bench_{i:03d}"


def _metric_name(k: int) -> str:
    return f"metric{k}_ops_per_sec"


def build_out_dir(root: Path) -> tuple[Path, dict[str, Baseline]]:
    """Write the synthetic out-dir under ``root``; return it and the matching baselines."""
    rng = random.Random(SEED)
    out_dir = root / "out"
    baselines: dict[str, Baseline] = {}
    for b in range(BENCHES):
        bench = _bench_name(b)
        # Each metric has a true value; runs scatter around it (and a few benches regress).
        truth = {k: 1000.0 * (k + 1) * rng.uniform(0.5, 2.0) for k in range(METRICS)}
        shift = rng.choice([1.0] * 8 + [0.9, 0.8])
        runs = []
        for r in range(RUNS):
            metrics = {}
            for k in range(METRICS):
                samples = [truth[k] * shift * rng.gauss(1.0, 0.03) for _ in range(SAMPLES)]
                metrics[_metric_name(k)] = Measurement(
                    value=sorted(samples)[SAMPLES // 2],
                    unit="ops/sec",
                    higher_is_better=True,
                    samples=samples,
                )
            runs.append(
                RunRecord(
                    run_id=f"{b:03d}{r:03d}synth",
                    bench=bench,
                    invocation=f"inv{r // 5}",
                    started=f"2025-01-01T{r // 60:02d}:{r % 60:02d}:{b % 60:02d}.000+00:00",
                    duration_s=0.5,
                    status=RunStatus.OK,
                    exit_code=0,
                    metrics=metrics,
                    env=ENV,
                    command={"argv": ["benchgate", "run"], "bench_argv": ["python", bench]},
                    disturbance={"share": 0.01, "disturbed": False},
                )
            )
        write_bench_runs(out_dir, bench, runs)
        for k in range(METRICS):
            key = f"{bench}.{_metric_name(k)}"
            raw: dict[str, Any] = {"value": truth[k], "unit": "ops/sec"}
            baselines[key] = Baseline(key, truth[k], "ops/sec", 0.15, 0.05, None, None, raw)
    return out_dir, baselines


@dataclass
class World:
    """What every timed operation works on, built once (untimed)."""

    out_dir: Path
    baselines: dict[str, Baseline]
    runs: dict[str, list[RunRecord]]
    reduced: ReducedSet
    comparison: Comparison


def build_world(root: Path) -> World:
    """The out-dir on disk and everything derived from it."""
    out_dir, baselines = build_out_dir(root)
    runs = load_runs(out_dir)
    reduced = reduce_runs(runs, "median")
    comparison = compare(reduced, baselines)
    annotate(comparison, reduced, baselines)
    return World(out_dir, baselines, runs, reduced, comparison)


def load(w: World) -> None:
    load_runs(w.out_dir)


def reduce(w: World) -> None:
    reduce_runs(w.runs, "median")


def compare_all(w: World) -> None:
    compare(w.reduced, w.baselines)


def intervals(w: World) -> None:
    clear_interval_cache()
    annotate(compare(w.reduced, w.baselines), w.reduced, w.baselines)


def render(w: World) -> None:
    render_out_report(w.runs, w.reduced, w.comparison, None)
    render_text(w.comparison)


def main() -> None:
    """Build the out-dir once, then time each stage; prints the canonical JSON."""
    with tempfile.TemporaryDirectory(prefix="benchgate-dogfood-") as tmp:
        w = build_world(Path(tmp))
        # Each call takes from ~5 ms to ~10 s: one call per loop is enough above 0.05 s,
        # and calibration's own calls warm up, so the slow stages skip a separate warm-up.
        common: dict[str, Any] = {"args": (w,), "disable_gc": False, "min_time": 0.05}
        n_runs, n_metrics = BENCHES * RUNS, BENCHES * METRICS
        slow = {**common, "samples": 3, "warmup": 0}
        fast = {**common, "samples": 5}
        bench.metric("load_runs_per_sec", items_per_call=n_runs, unit="runs/sec", **slow)(load)
        bench.metric("reduce_runs_per_sec", items_per_call=n_runs, unit="runs/sec", **slow)(reduce)
        bench.metric(
            "compare_metrics_per_sec", items_per_call=n_metrics, unit="metrics/sec", **fast
        )(compare_all)
        bench.metric(
            "intervals_metrics_per_sec",
            items_per_call=n_metrics,
            unit="metrics/sec",
            **slow,
        )(intervals)
        bench.metric(
            "report_metrics_per_sec", items_per_call=n_metrics, unit="metrics/sec", **fast
        )(render)
        bench.main()


if __name__ == "__main__":
    main()
