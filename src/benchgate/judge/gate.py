"""The stages wired together for the CLI: out-dir -> reduced -> comparison -> report.md.

Also the warnings that qualify a comparison (environment differences, disturbed or
too few runs, noisy metrics): they are notes in the report, never verdict changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgate.baselines.file import load_baselines
from benchgate.baselines.refresh_report import read_baseline_environment
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.fsutil import atomic_write_text
from benchgate.judge.compare import compare
from benchgate.judge.confidence import annotate
from benchgate.judge.drift import DEFAULT_DRIFT_PCT, Drift
from benchgate.judge.reduce import current_reduced
from benchgate.judge.stats import noise
from benchgate.machine.environment import diff_environments
from benchgate.model import Baseline, Comparison, ReducedSet, RunRecord, RunStatus
from benchgate.render.report import render_out_report
from benchgate.run.measure import determinism_problems
from benchgate.run.results import REPORT_FILE, load_runs, out_dir_lock
from benchgate.selection import MetricRules

MIN_RUNS = 5


@dataclass
class Gate:
    """Everything one comparison produced."""

    runs: dict[str, list[RunRecord]]
    reduced: ReducedSet
    baselines: dict[str, Baseline]
    comparison: Comparison
    # The between-day drift the intervals were widened by: the configured default, and
    # per key the results store's estimate where there is one (judge.drift).
    drift_pct: float = DEFAULT_DRIFT_PCT
    drifts: dict[str, Drift] = field(default_factory=dict)


def load_out_dir(out_dir: Path) -> dict[str, list[RunRecord]]:
    """The runs in ``out_dir``; BenchgateError when there are none to work with."""
    if not out_dir.is_dir():
        raise BenchgateError("no such out-dir: run `benchgate run` first", out_dir)
    runs = load_runs(out_dir)
    if not runs:
        raise BenchgateError("holds no result files: run `benchgate run` first", out_dir)
    return runs


def latest_env(runs: dict[str, list[RunRecord]]) -> dict[str, Any]:
    """The environment of the most recent successful run (empty if none)."""
    ok = [r for rs in runs.values() for r in rs if r.status is RunStatus.OK and r.env]
    return max(ok, key=lambda r: r.started).env if ok else {}


def comparison_warnings(
    runs: dict[str, list[RunRecord]],
    reduced: ReducedSet,
    comparison: Comparison,
    baseline_env: dict[str, Any] | None,
) -> list[str]:
    """Why a comparison may stand on shaky ground (warnings only; verdicts stay as they are)."""
    out: list[str] = []
    here = latest_env(runs)
    if baseline_env and here:
        diffs = diff_environments(here, baseline_env)
        if diffs:
            out.append("Environment differs from the baseline's: " + "; ".join(diffs))
    if len(reduced.envs) > 1:
        out.append(
            f"The runs come from {len(reduced.envs)} different environments "
            "(Python, dependencies, CPU model or CPUs): do not mix them"
        )
    gov = here.get("governor") if here else None
    govs = set(gov.values()) if isinstance(gov, dict) else ({gov} if gov else set())
    bad = sorted(str(g) for g in govs if g and g != "performance")
    if bad:
        out.append(
            f"Scaling governor is {', '.join(bad)}, not performance "
            "(fix: sudo cpupower frequency-set -g performance)"
        )
    disturbed = sum(b.disturbed_runs for b in reduced.benches.values())
    if disturbed:
        out.append(
            f"{disturbed} runs were disturbed by other processes above the limit "
            "(`benchgate reduce --drop-disturbed` leaves them out)"
        )
    few = sorted({v.key for v in comparison.verdicts if 0 < v.n < MIN_RUNS})
    if few:
        n = min(v.n for v in comparison.verdicts if v.key in few)
        out.append(
            f"{len(few)} metrics rest on fewer than {MIN_RUNS} runs (as few as {n}): "
            "the method asks for N>=5 (`benchgate run --repeat 5`)"
        )
    noisy = [
        v.key
        for v in comparison.verdicts
        if v.spread is not None
        and v.variance_pct_warn is not None
        and noise(v.spread) > v.variance_pct_warn
    ]
    if noisy:
        out.append(
            f"Noisy (spread across runs above variance_pct_warn): {', '.join(noisy[:8])}"
            + (f" and {len(noisy) - 8} more" if len(noisy) > 8 else "")
        )
    out.extend(determinism_problems(reduced.metrics.values()))  # counts must repeat exactly
    return out


def baseline_environment(config: Config) -> dict[str, Any] | None:
    """The environment the baselines were measured in, as the last refresh recorded it."""
    return read_baseline_environment(config.report_path)


def compare_with_baselines(
    runs: dict[str, list[RunRecord]],
    reduced: ReducedSet,
    baselines: dict[str, Baseline],
    baseline_env: dict[str, Any] | None,
    metric_rules: dict[str, MetricRules] | None = None,
    drift_pct: float = DEFAULT_DRIFT_PCT,
    drift_by_key: dict[str, Drift] | None = None,
) -> Comparison:
    """Compare with the baselines, add the warnings, intervals and "unsure" labels.

    ``metric_rules`` (config ``metrics``): a baseline key the rules make informational is
    INFO even when its bench did not report it this time, never MISSING. The intervals are
    widened by the between-day drift: ``drift_by_key`` where it has the key (estimated
    from the results store), else ``drift_pct``.
    """
    comparison = compare(reduced, baselines, metric_rules)
    comparison.warnings = [
        *comparison_warnings(runs, reduced, comparison, baseline_env),
        *comparison.warnings,  # compare's own notes (renamed metrics)
    ]
    annotate(comparison, reduced, baselines, runs, drift_pct=drift_pct, drift_by_key=drift_by_key)
    return comparison


def gate(
    config: Config,
    out_dir: Path,
    baselines: dict[str, Baseline] | None = None,
    baseline_env: dict[str, Any] | None = None,
    runs: dict[str, list[RunRecord]] | None = None,
    drifts: dict[str, Drift] | None = None,
) -> Gate:
    """Load the out-dir, reduce (reduced.json or median in memory), compare, add warnings.

    ``runs``: judge these (e.g. one machine class's) instead of every run in the out-dir.
    ``drifts``: per key, the between-day drift estimated from the results store
    (:func:`benchgate.judge.drift.store_drifts`); other keys get ``config.drift_pct``.
    """
    runs = runs if runs is not None else load_out_dir(out_dir)
    reduced = current_reduced(out_dir, runs)
    if baselines is None:
        baselines = load_baselines(
            config.baselines_path, config.degradation_pct_max, config.variance_pct_warn
        )
        if baseline_env is None:
            baseline_env = baseline_environment(config)
    drifts = dict(drifts or {})
    comparison = compare_with_baselines(
        runs, reduced, baselines, baseline_env, config.metrics, config.drift_pct, drifts
    )
    return Gate(runs, reduced, baselines, comparison, config.drift_pct, drifts)


def write_out_report(config: Config, out_dir: Path, reduced: ReducedSet | None = None) -> Path:
    """(Re)write the out-dir's report.md from what is on disk, with verdicts if possible.

    Under the out-dir's lock, so the report matches one consistent state of the runs.
    """
    with out_dir_lock(out_dir):
        runs = load_runs(out_dir)
        reduced = reduced or current_reduced(out_dir, runs)
        comparison: Comparison | None = None
        note: str | None = None
        try:
            baselines = load_baselines(
                config.baselines_path, config.degradation_pct_max, config.variance_pct_warn
            )
            comparison = compare_with_baselines(
                runs,
                reduced,
                baselines,
                baseline_environment(config),
                config.metrics,
                config.drift_pct,
            )
        except BenchgateError as exc:
            note = f"No comparison: {exc}"
        path = out_dir / REPORT_FILE
        atomic_write_text(path, render_out_report(runs, reduced, comparison, note))
    return path
