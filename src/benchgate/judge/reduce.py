"""Reduce: every metric over all its runs to one value with its spread.

Only runs that produced metrics (status ok) count; a bench with none keeps the
status of its last run (SKIPPED with its reason, or ERROR).
"""

from __future__ import annotations

import json
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchgate import fsutil
from benchgate.errors import BenchgateError
from benchgate.fsutil import atomic_write_json
from benchgate.judge.stats import METHODS, coefficient_of_variation, reduce_values, spread_of
from benchgate.model import (
    REDUCED_SCHEMA,
    BenchSummary,
    ReducedMetric,
    ReducedSet,
    RunRecord,
    RunStatus,
)
from benchgate.run.results import REDUCED_FILE
from benchgate.validate import finite


def _env_key(run: RunRecord) -> str:
    return str(run.env.get("fingerprint") or "")


def reduce_bench(
    bench: str, runs: list[RunRecord], method: str, drop_disturbed: bool = False
) -> tuple[BenchSummary, dict[str, ReducedMetric]]:
    """Reduce one bench's runs: its summary and its reduced metrics."""
    ok = [r for r in runs if r.status is RunStatus.OK]
    disturbed = sum(1 for r in ok if r.disturbed)
    dropped = 0
    if drop_disturbed and disturbed:
        kept = [r for r in ok if not r.disturbed]
        dropped = len(ok) - len(kept)
        ok = kept
    reason: str | None
    if not ok:
        last = runs[-1] if runs else None
        if dropped:
            status, reason = RunStatus.ERROR, f"all {dropped} successful runs were disturbed"
        elif last is not None:
            status, reason = last.status, last.reason
        else:
            status, reason = RunStatus.ERROR, "no runs"
        summary = BenchSummary(bench, status, len(runs), 0, reason, disturbed, dropped)
        return summary, {}
    errors = [r for r in runs if r.status is RunStatus.ERROR]
    reason = (
        f"{len(errors)} of {len(runs)} runs failed; last error: {errors[-1].reason}"
        if errors
        else None
    )
    summary = BenchSummary(bench, RunStatus.OK, len(runs), len(ok), reason, disturbed, dropped)
    names: list[str] = []
    for r in ok:
        names.extend(n for n in r.metrics if n not in names)
    # A metric with a bad value in any run (0, negative, inf) is an ERROR: a gate must not
    # reduce over the runs where it happened to work. The bench's other metrics count.
    bad: dict[str, list[str]] = {}
    for r in ok:
        for name, why in r.metric_errors.items():
            bad.setdefault(name, []).append(why)
    names = [n for n in names if n not in bad]
    # A metric the tool reported as failed or skipped and never measured keeps that status;
    # one that failed in some runs only is measured on the others, and the report says so.
    sometimes: dict[str, list[str]] = {}
    for r in ok:
        for name, st in (r.extra.get("metric_status") or {}).items():
            if not isinstance(st, dict):
                continue
            if name not in names:
                summary.metric_status[str(name)] = {k: str(v) for k, v in st.items()}
            else:
                sometimes.setdefault(str(name), []).append(str(st.get("reason", "")))
    if sometimes:
        notes = [
            f"{name} failed in {len(why)} of {len(ok)} runs ({why[-1]})"
            for name, why in sometimes.items()
        ]
        summary.reason = "; ".join(filter(None, [summary.reason, *notes]))
    for name, whys in bad.items():
        reported = sum(1 for r in ok if name in r.metrics or name in r.metric_errors)
        why = f"{whys[-1]} (in {len(whys)} of {reported} runs)" if reported > 1 else whys[-1]
        # A status the tool itself reported for the metric comes first.
        summary.metric_status.setdefault(name, {"status": "error", "reason": why})
    metrics: dict[str, ReducedMetric] = {}
    for name in names:
        with_metric = [r for r in ok if name in r.metrics]
        kinds = sorted(
            {(r.metrics[name].unit, r.metrics[name].higher_is_better) for r in with_metric}
        )
        if len(kinds) > 1:
            # Medians of ops/sec and ms together mean nothing: an ERROR, never a value.
            seen = ", ".join(
                f"{u!r} ({'higher' if hib else 'lower'} is better)" for u, hib in kinds
            )
            summary.metric_status[name] = {
                "status": "error",
                "reason": f"unit changed between runs: {seen}",
            }
            continue
        values = [r.metrics[name].value for r in with_metric]
        sample_cvs = [
            coefficient_of_variation(m.samples)
            for m in (r.metrics[name] for r in with_metric)
            if m.samples and len(m.samples) >= 2
        ]
        within = float(statistics.median(sample_cvs)) if sample_cvs else None
        latest = with_metric[-1].metrics[name]
        key = f"{bench}.{name}"
        metrics[key] = ReducedMetric(
            key=key,
            bench=bench,
            metric=name,
            value=reduce_values(values, method),
            unit=latest.unit,
            higher_is_better=latest.higher_is_better,
            method=method,
            spread=spread_of(values, within),
            values=values,
            run_ids=[r.run_id for r in with_metric],
            inferred=latest.inferred,
        )
    return summary, metrics


def reduce_info(bench: str, runs: list[RunRecord]) -> dict[str, dict[str, Any]]:
    """The informational metrics of a bench's successful runs: key -> entry.

    The value is the median when every run gave a finite number, else the latest value
    as reported (text, 0, inf, a huge number: shown as is, never judged).
    """
    ok = [r for r in runs if r.status is RunStatus.OK and r.info]
    names: list[str] = []
    for r in ok:
        names.extend(n for n in r.info if n not in names)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        values = [r.info[name] for r in ok if name in r.info]
        numbers = [finite(v) for v in values]
        value: Any = values[-1]
        if all(x is not None for x in numbers):
            value = float(statistics.median([x for x in numbers if x is not None]))
        out[f"{bench}.{name}"] = {"bench": bench, "metric": name, "value": value, "n": len(values)}
    return out


def reduce_runs(
    runs_by_bench: dict[str, list[RunRecord]],
    method: str = "median",
    drop_disturbed: bool = False,
) -> ReducedSet:
    """Reduce every bench's runs with ``method``; BenchgateError for an unknown method."""
    if method not in METHODS:
        raise BenchgateError(
            f"unknown method {method!r} (choose from {', '.join(METHODS)})", key="--method"
        )
    benches: dict[str, BenchSummary] = {}
    metrics: dict[str, ReducedMetric] = {}
    envs: dict[str, dict[str, Any]] = {}
    info: dict[str, dict[str, Any]] = {}
    run_ids: list[str] = []
    for bench in sorted(runs_by_bench):
        runs = runs_by_bench[bench]
        summary, reduced = reduce_bench(bench, runs, method, drop_disturbed)
        benches[bench] = summary
        metrics.update(reduced)
        info.update(reduce_info(bench, runs))
        for r in runs:
            run_ids.append(r.run_id)
            if r.status is RunStatus.OK and r.env:
                envs.setdefault(_env_key(r), r.env)
    return ReducedSet(
        method=method,
        metrics=metrics,
        benches=benches,
        run_ids=sorted(run_ids),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        envs=list(envs.values()),
        dropped_disturbed=sum(b.dropped_runs for b in benches.values()),
        info=info,
    )


def write_reduced(out_dir: Path, reduced: ReducedSet) -> Path:
    """Atomically write ``reduced.json`` in ``out_dir``."""
    path = out_dir / REDUCED_FILE
    atomic_write_json(path, reduced.to_dict())
    return path


def load_reduced(out_dir: Path) -> ReducedSet | None:
    """The reduced.json of ``out_dir``, or None if there is none."""
    path = out_dir / REDUCED_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(fsutil.read_text(path))
        if not isinstance(data, dict) or data.get("schema") != REDUCED_SCHEMA:
            raise ValueError(f'expected "schema": "{REDUCED_SCHEMA}"')
        # As strict as the writer: NaN, zero or negative values are refused (model.from_dict).
        return ReducedSet.from_dict(data)
    except (ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise BenchgateError(
            f"corrupt reduced file ({problem}); run `benchgate reduce` again", path
        ) from None


def current_reduced(out_dir: Path, runs_by_bench: dict[str, list[RunRecord]]) -> ReducedSet:
    """reduced.json when it covers exactly the runs on disk, else a median reduction in memory."""
    stored = load_reduced(out_dir)
    ids = sorted(r.run_id for runs in runs_by_bench.values() for r in runs)
    if stored is not None and stored.run_ids == ids:
        return stored
    return reduce_runs(runs_by_bench, "median")
