"""Reducing runs: each method, spread figures, skipped/error benches, disturbed runs."""

from __future__ import annotations

import statistics

import pytest

from benchgate.errors import BenchgateError
from benchgate.judge.reduce import reduce_runs
from benchgate.judge.stats import reduce_values, spread_of, trimmed_mean
from benchgate.model import Measurement, RunRecord, RunStatus


def _run(
    bench: str, i: int, status: RunStatus = RunStatus.OK, disturbed: bool = False, **metrics: float
) -> RunRecord:
    return RunRecord(
        run_id=f"{bench}-{i}",
        bench=bench,
        invocation="inv",
        started=f"2026-01-01T00:00:{i:02d}",
        duration_s=1.0,
        status=status,
        reason=None if status is RunStatus.OK else f"why {i}",
        metrics={k: Measurement(v, "ops/sec", True) for k, v in metrics.items()},
        disturbance={"disturbed": disturbed, "other_share": 0.5 if disturbed else 0.0},
    )


VALUES = [10.0, 12.0, 11.0, 50.0, 9.0]


@pytest.mark.parametrize(
    "method, expected",
    [("median", 11.0), ("mean", 18.4), ("trimmed-mean", 11.0), ("min", 9.0), ("max", 50.0)],
)
def test_each_method(method: str, expected: float) -> None:
    runs = {"b": [_run("b", i, x=v) for i, v in enumerate(VALUES)]}
    r = reduce_runs(runs, method)
    m = r.metrics["b.x"]
    assert m.value == pytest.approx(expected)
    assert m.method == method
    assert m.values == VALUES
    assert m.spread.n == 5 and m.spread.min == 9 and m.spread.max == 50


def test_unknown_method() -> None:
    with pytest.raises(BenchgateError, match="unknown method"):
        reduce_runs({}, "mode")


def test_trimmed_mean_drops_each_end() -> None:
    assert trimmed_mean([1, 2, 3, 4, 100]) == 3
    assert trimmed_mean([5, 7]) == 6
    assert reduce_values([4.0], "trimmed-mean") == 4.0


def test_spread_figures() -> None:
    s = spread_of([90.0, 100.0, 100.0, 100.0, 110.0])
    assert s.cv == pytest.approx(0.0707, abs=1e-3)
    assert s.iqr_rel == 0.0
    assert s.mad_rel == 0.0
    s = spread_of([80.0, 90.0, 100.0, 110.0, 120.0])
    assert s.iqr_rel == pytest.approx(0.2)


def test_spread_float_arithmetic_matches_exact_statistics() -> None:
    xs = [1003.7, 998.2, 1011.9, 987.4, 1000.1, 1004.4]
    s = spread_of(xs)
    assert s.stdev == pytest.approx(statistics.stdev(xs), rel=1e-12)
    assert s.cv == pytest.approx(statistics.stdev(xs) / statistics.fmean(xs), rel=1e-12)
    assert s.mad_rel * statistics.median(xs) == pytest.approx(
        statistics.median([abs(x - statistics.median(xs)) for x in xs])
    )
    constant = spread_of([0.1] * 7)
    assert constant.stdev == 0.0 and constant.cv == 0.0
    single = spread_of([5.0])
    assert (single.n, single.stdev, single.cv) == (1, 0.0, 0.0)


def test_skipped_and_errored_benches() -> None:
    runs = {
        "s": [_run("s", 0, RunStatus.SKIPPED), _run("s", 1, RunStatus.SKIPPED)],
        "e": [_run("e", 0, RunStatus.ERROR)],
        "mixed": [_run("mixed", 0, x=5), _run("mixed", 1, RunStatus.ERROR), _run("mixed", 2, x=7)],
    }
    r = reduce_runs(runs)
    assert r.benches["s"].status is RunStatus.SKIPPED and r.benches["s"].reason == "why 1"
    assert r.benches["e"].status is RunStatus.ERROR
    assert r.benches["mixed"].status is RunStatus.OK
    assert "1 of 3 runs failed" in (r.benches["mixed"].reason or "")
    assert r.metrics["mixed.x"].values == [5, 7]


def test_drop_disturbed() -> None:
    runs = {"b": [_run("b", 0, x=10), _run("b", 1, disturbed=True, x=1), _run("b", 2, x=12)]}
    kept = reduce_runs(runs, "median")
    assert kept.metrics["b.x"].spread.n == 3
    assert kept.benches["b"].disturbed_runs == 1
    dropped = reduce_runs(runs, "median", drop_disturbed=True)
    assert dropped.metrics["b.x"].values == [10, 12]
    assert dropped.dropped_disturbed == 1


def test_within_run_sample_spread() -> None:
    r1 = _run("b", 0, x=10)
    r1.metrics["x"].samples = [9.0, 10.0, 11.0]
    r = reduce_runs({"b": [r1]})
    assert r.metrics["b.x"].spread.within_cv == pytest.approx(0.1)
