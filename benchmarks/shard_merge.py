"""benchgate measuring itself: how balanced the shards are, and how fast shards merge.

Balance (deterministic, no timing): 20 synthetic suites of 300 benches whose per-run
durations are skewed (lognormal, sigma 1: the slowest bench ~40x the median one; seeded),
each split into 8 shards by ``plan_shards``. The target: the slowest shard within 10% of
the ideal (total / 8). No split can beat the bound max(ideal, longest bench): a suite
whose longest bench outlasts the ideal cannot reach the ideal.

* ``longest_over_ideal_pct``: the worst of the 20 suites, (slowest shard / ideal - 1) in %;
* ``longest_over_bound_pct``: the worst of the 20, against the bound;
* ``lpt_only_over_bound_pct``: the same for plain LPT, before the local search (what the
  move/swap search buys);
* ``pareto_longest_over_bound_pct``: 20 heavy-tailed suites (Pareto, alpha 1.16), against
  the bound.

Speed (timed, median of ``REPEATS`` calls after one warm-up):

* ``split_ms``: ``plan_shards`` of 300 benches into 8 shards;
* ``merge_s``: ``merge_out_dirs`` of 8 out-dirs that each hold 300 benches x 5 runs (12,000
  runs, 3 metrics with 5 samples each, an environment and a disturbance record per run, as
  ``benchgate run`` writes them): read, checked (run ids, environments, shard plans) and
  written to a new out-dir; ``merge_runs_per_sec`` is the same as a rate.

Setup (untimed) builds the out-dirs in a temp folder. Run it alone with
``python benchmarks/shard_merge.py``.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchgate.config import Config
from benchgate.model import Measurement, RunRecord, RunStatus
from benchgate.run.merge import merge_out_dirs
from benchgate.run.results import write_bench_runs
from benchgate.run.shard import lpt, plan_shards

BENCHES = 300
SHARDS = 8
SUITES = 20
OUT_DIRS = 8
RUNS = 5
METRICS = 3
SAMPLES = 5
REPEATS = 5
SEED = 20261204

ENV: dict[str, Any] = {
    "fingerprint": "5ynth371c000",
    "python": "3.12.3",
    "python_implementation": "CPython",
    "os": "Linux-6.1-x86_64-with-glibc2.36",
    "arch": "x86_64",
    "cpu_model": "synthetic CPU",
    "logical_cores": 4,
    "physical_cores": 2,
    "cpus": [0, 1],
    "governor": {"0": "performance", "1": "performance"},
    "distributions": {"click": "8.1.7", "rich": "13.7.1", "psutil": "5.9.8"},
    "env_vars": {"PYTHONHASHSEED": "0"},
    "hostname": "runner",
    "git": {"commit": "0123456789ab", "dirty": False},
}


def _suite(rng: random.Random, pareto: bool) -> dict[str, float]:
    if pareto:
        return {f"bench_{i:03d}": rng.paretovariate(1.16) for i in range(BENCHES)}
    return {f"bench_{i:03d}": rng.lognormvariate(2.0, 1.0) for i in range(BENCHES)}


def balance() -> dict[str, float]:
    """The worst imbalance over SUITES seeded suites, for the plan, plain LPT and Pareto."""
    rng = random.Random(SEED)
    worst = worst_bound = worst_lpt = worst_pareto = 0.0
    for _ in range(SUITES):
        d = _suite(rng, pareto=False)
        plan = plan_shards(list(d), SHARDS, d)
        worst = max(worst, plan.longest / plan.ideal - 1)
        worst_bound = max(worst_bound, plan.longest / plan.bound - 1)
        order = sorted(d, key=lambda b: (-d[b], b))
        plain = max(sum(d[b] for b in part) for part in lpt(order, d, SHARDS))
        worst_lpt = max(worst_lpt, plain / plan.bound - 1)
        p = _suite(rng, pareto=True)
        pplan = plan_shards(list(p), SHARDS, p)
        worst_pareto = max(worst_pareto, pplan.longest / pplan.bound - 1)
    return {
        "longest_over_ideal_pct": worst * 100,
        "longest_over_bound_pct": worst_bound * 100,
        "lpt_only_over_bound_pct": worst_lpt * 100,
        "pareto_longest_over_bound_pct": worst_pareto * 100,
    }


def build_out_dirs(root: Path) -> list[Path]:
    """OUT_DIRS out-dirs of BENCHES benches x RUNS runs each (unique run ids, one env)."""
    rng = random.Random(SEED)
    dirs = []
    for j in range(OUT_DIRS):
        out = root / f"shard-{j + 1}"
        for b in range(BENCHES):
            bench = f"bench_{b:03d}"
            runs = []
            for r in range(RUNS):
                metrics = {}
                for k in range(METRICS):
                    samples = [1000.0 * (k + 1) * rng.gauss(1.0, 0.03) for _ in range(SAMPLES)]
                    metrics[f"m{k}_ops_per_sec"] = Measurement(
                        sorted(samples)[SAMPLES // 2], "ops/sec", True, samples
                    )
                runs.append(
                    RunRecord(
                        run_id=f"{j:02d}{b:03d}{r:02d}synth",
                        bench=bench,
                        invocation=f"inv{j}",
                        started=f"2026-12-04T{j:02d}:{r:02d}:{b % 60:02d}.000+00:00",
                        duration_s=rng.lognormvariate(0.0, 1.0),
                        status=RunStatus.OK,
                        exit_code=0,
                        metrics=metrics,
                        env=ENV,
                        command={
                            "argv": ["benchgate", "run", "--shard", f"{j + 1}/{OUT_DIRS}"],
                            "bench_argv": ["python", bench],
                            "shard": {"k": j + 1, "n": OUT_DIRS, "plan": "5ynthp1an000"},
                        },
                        disturbance={"share": 0.01, "disturbed": False},
                    )
                )
            write_bench_runs(out, bench, runs)
        dirs.append(out)
    return dirs


def _median_time(fn: Any) -> tuple[float, list[float]]:
    fn()  # warm-up
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main() -> None:
    """Balance figures, then the split and merge timings; prints the canonical JSON."""
    figures = balance()
    rng = random.Random(SEED + 1)
    suite = _suite(rng, pareto=False)
    split_s, split_times = _median_time(lambda: plan_shards(list(suite), SHARDS, suite))
    with tempfile.TemporaryDirectory(prefix="benchgate-shard-merge-") as tmp:
        root = Path(tmp)
        dirs = build_out_dirs(root)
        config = Config(root=root)
        dest = root / "merged"

        def merge() -> None:
            merge_out_dirs(config, dirs, dest, force=True)

        merge_s, merge_times = _median_time(merge)
        shutil.rmtree(dest, ignore_errors=True)
    n_runs = OUT_DIRS * BENCHES * RUNS
    doc = {
        "metrics": {
            # Percentages floored at 0.001: a perfect split is 0, and a baseline of 0 has no
            # relative threshold.
            **{
                name: {"value": max(value, 0.001), "unit": "%", "higher_is_better": False}
                for name, value in figures.items()
            },
            "split_ms": {
                "value": split_s * 1e3,
                "unit": "ms",
                "higher_is_better": False,
                "samples": [t * 1e3 for t in split_times],
            },
            "merge_s": {
                "value": merge_s,
                "unit": "s",
                "higher_is_better": False,
                "samples": merge_times,
            },
            "merge_runs_per_sec": {
                "value": n_runs / merge_s,
                "unit": "runs/sec",
                "higher_is_better": True,
                "samples": [n_runs / t for t in merge_times],
            },
        },
        "details": {
            "benches": BENCHES,
            "shards": SHARDS,
            "suites": SUITES,
            "merged_out_dirs": OUT_DIRS,
            "merged_runs": n_runs,
        },
    }
    print(
        f"slowest of {SHARDS} shards: +{figures['longest_over_ideal_pct']:.3f}% over the ideal, "
        f"+{figures['longest_over_bound_pct']:.4f}% over the bound (LPT alone "
        f"+{figures['lpt_only_over_bound_pct']:.3f}%; Pareto suites "
        f"+{figures['pareto_longest_over_bound_pct']:.4f}%); split "
        f"{split_s * 1e3:.1f} ms; merge of {n_runs} runs from {OUT_DIRS} out-dirs {merge_s:.2f} s",
        file=sys.stderr,
    )
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
