"""Stored-baseline intervals: two-sample, widened by the between-day drift, zero spread."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import benchgate.cli.measure as cli_measure
from benchgate.config import load_config
from benchgate.errors import BenchgateError
from benchgate.judge.compare import compare
from benchgate.judge.confidence import annotate, metric_interval
from benchgate.judge.drift import (
    DEFAULT_DRIFT_PCT,
    Drift,
    drift_from_points,
    drifts,
    store_drifts,
    widen,
)
from benchgate.judge.stats import spread_of
from benchgate.model import Baseline, Interval, ReducedMetric, ReducedSet, Status
from benchgate.store.series import Point, Series
from conftest import const_bench, write_baselines

BASE = [100.0, 101.0, 102.0, 103.0, 104.0]


def _metric(key: str, values: list[float], unit: str = "ops/sec", hib: bool = True) -> Any:
    bench, metric = key.split(".", 1)
    xs = sorted(values)
    return ReducedMetric(
        key=key,
        bench=bench,
        metric=metric,
        value=xs[len(xs) // 2],
        unit=unit,
        higher_is_better=hib,
        method="median",
        spread=spread_of(values),
        values=list(values),
        run_ids=[f"r{i}" for i in range(len(values))],
    )


def _baseline(key: str, value: float, unit: str = "ops/sec", **raw: Any) -> Baseline:
    return Baseline(key, value, unit, 0.15, 0.05, None, None, {"value": value, **raw})


def _reduced(*metrics: Any) -> ReducedSet:
    return ReducedSet(method="median", metrics={m.key: m for m in metrics}, benches={}, run_ids=[])


def test_two_sample_interval_has_the_known_answer() -> None:
    # The current runs are the baseline's, each 10% slower: the Hodges-Lehmann ratio is
    # exactly 0.9, and for 5 against 5 the Mann-Whitney interval takes the 3rd smallest and
    # 3rd largest of the 25 pairwise log ratios: 0.9 x 101/104 and 0.9 x 104/101.
    current = [0.9 * b for b in BASE]
    m = _metric("a.ops", current)
    iv = metric_interval(m, 102.0, BASE, drift_pct=0.0)
    assert iv is not None
    assert iv.low == pytest.approx(0.9 * 101 / 104) and iv.high == pytest.approx(0.9 * 104 / 101)
    assert iv.level == pytest.approx(1 - 8 / 252)  # the achieved coverage of k = 3
    # Widened by a 10% drift: each side's log half-width h becomes sqrt(h^2 + log(1.1)^2).
    wide = metric_interval(m, 102.0, BASE, drift_pct=0.10)
    assert wide is not None
    h = math.log(104 / 101)
    d = math.log(1.1) * _z(iv.level) / _z(0.95)
    assert wide.low == pytest.approx(0.9 * math.exp(-math.hypot(h, d)))
    assert wide.high == pytest.approx(0.9 * math.exp(math.hypot(h, d)))
    assert wide.method == "hodges-lehmann/mann-whitney+drift 10%"


def _z(level: float) -> float:
    import statistics

    return statistics.NormalDist().inv_cdf(1 - (1 - level) / 2)


def test_drift_makes_a_borderline_fail_unsure() -> None:
    # A tight 20% drop against a tight baseline sample: a sure FAIL if the machine's level
    # never moved, but a 10% drift between the refresh day and today could make it 12%.
    current = [80.0, 80.2, 79.8, 80.1, 79.9]
    base = _baseline("a.ops", 100.0, values=[100.0, 100.2, 99.8, 100.1, 99.9])
    reduced = _reduced(_metric("a.ops", current))
    for drift, unsure in ((0.0, False), (0.10, True)):
        c = compare(reduced, {"a.ops": base})
        annotate(c, reduced, {"a.ops": base}, drift_pct=drift)
        v = c.verdicts[0]
        assert v.status is Status.FAIL  # the verdict never changes
        assert v.unsure is unsure
        assert v.interval is not None and v.interval.low < 0.8 < v.interval.high
    assert any("between-day drift of ±10%" in w for w in c.warnings)
    # A 40% drop stays a sure FAIL at the same drift.
    far = _reduced(_metric("a.ops", [60.0, 60.2, 59.8, 60.1, 59.9]))
    c = compare(far, {"a.ops": base})
    annotate(c, far, {"a.ops": base}, drift_pct=0.10)
    assert c.verdicts[0].status is Status.FAIL and not c.verdicts[0].unsure


def test_store_estimate_wins_over_the_default_for_its_key() -> None:
    current = [80.0, 80.2, 79.8, 80.1, 79.9]
    base = _baseline("a.ops", 100.0, values=[100.0, 100.2, 99.8, 100.1, 99.9])
    reduced = _reduced(_metric("a.ops", current))
    c = compare(reduced, {"a.ops": base})
    annotate(
        c, reduced, {"a.ops": base}, drift_pct=0.10, drift_by_key={"a.ops": Drift(0.01, "store")}
    )
    assert not c.verdicts[0].unsure  # a quiet machine by its own history: a sure FAIL
    assert any("estimated from the results store" in w for w in c.warnings)


def test_zero_spread_gives_zero_width_intervals_without_dividing_by_zero() -> None:
    # Instruction counts repeat to the last instruction: every interval has zero width,
    # drift or not (counts do not drift with the machine's speed).
    counts = [1_010_000.0] * 5
    m = _metric("a.loop_instructions", counts, unit="instructions", hib=False)
    for samples in (None, [1_000_000.0] * 5):
        iv = metric_interval(m, 1_000_000.0, samples, drift_pct=DEFAULT_DRIFT_PCT)
        assert iv is not None and iv.low == iv.high == pytest.approx(1.01)
    reduced = _reduced(m)
    base = _baseline("a.loop_instructions", 1_000_000.0, "instructions", values=[1e6] * 5)
    c = compare(reduced, {"a.loop_instructions": base})
    annotate(c, reduced, {"a.loop_instructions": base})
    v = c.verdicts[0]
    assert v.interval is not None and v.interval.low == v.interval.high and not v.unsure
    assert not any("drift" in w for w in c.warnings)
    # A time with zero spread: the interval is the drift alone, around the one ratio.
    t = _metric("a.ops", [90.0] * 5)
    iv = metric_interval(t, 100.0, [100.0] * 5, drift_pct=0.10)
    assert iv is not None and iv.low == pytest.approx(0.9 / 1.1 ** _scale(iv.level))
    assert widen(Interval(1.0, 1.0, 0.95, "x"), 1.0, 0.0) == Interval(1.0, 1.0, 0.95, "x")
    assert drifts("s") and drifts("ops/sec") and not drifts("Instructions") and not drifts("bytes")


def _scale(level: float) -> float:
    return _z(level) / _z(0.95)


def _points(values: list[float], stdev: float = 0.0, n: int = 5) -> list[Point]:
    return [
        Point(f"{i:040x}", f"2026-11-{i % 28 + 1:02d}T00:00:00+00:00", v, n, v, v, stdev)
        for i, v in enumerate(values)
    ]


def test_drift_from_the_store_history() -> None:
    # Too short a history says nothing.
    assert drift_from_points(_points([100.0] * 5)) is None
    # A level that never moves: no drift, and one real change (a step) does not count.
    assert drift_from_points(_points([100.0] * 10)) == 0.0
    assert drift_from_points(_points([100.0] * 6 + [80.0] * 6)) == 0.0
    # A level alternating by 10%: steps of +-log(1.1), robust sd 1.4826 log(1.1).
    got = drift_from_points(_points([100.0, 110.0] * 6))
    assert got == pytest.approx(math.expm1(_z(0.95) * 1.4826 * math.log(1.1)))
    # The part each commit's own runs explain is already in the samples' interval.
    noisy = drift_from_points(_points([100.0, 110.0] * 6, stdev=8.0, n=5))
    assert noisy is not None and 0 < noisy < got


def _json(out: str) -> dict[str, Any]:
    """The JSON document of ``out`` (the store's "recorded ..." line may follow it)."""
    doc: dict[str, Any] = json.JSONDecoder().raw_decode(out[out.index("{") :])[0]
    return doc


class _FakeStore:
    def __init__(self, series: dict[str, Series]) -> None:
        self._series = series
        self.calls: list[dict[str, Any]] = []

    def series(
        self,
        key: str,
        branch: str | None = None,
        machine: str | None = None,
        last: int | None = None,
    ) -> Series:
        self.calls.append({"key": key, "branch": branch, "machine": machine, "last": last})
        if key not in self._series:
            raise KeyError(key)
        return self._series[key]


def test_store_drifts_reads_each_keys_series() -> None:
    s = Series("a.ops", "ops/sec", True, tuple(_points([100.0, 110.0] * 6)))
    short = Series("b.ops", "ops/sec", True, tuple(_points([100.0] * 3)))
    store = _FakeStore({"a.ops": s, "b.ops": short})
    got = store_drifts(store, ["a.ops", "b.ops", "c.ops"], branch="main")
    assert set(got) == {"a.ops"} and got["a.ops"].source == "store" and got["a.ops"].steps == 11
    assert store.calls[0] == {"key": "a.ops", "branch": "main", "machine": None, "last": 30}


@pytest.mark.parametrize("bad", ["1.5", "-0.1", '"10%"', "true"])
def test_drift_pct_config_is_validated(tmp_path: Path, bad: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.benchgate]\ndrift_pct = {bad}\n")
    with pytest.raises(BenchgateError, match="drift_pct"):
        load_config(tmp_path)


def test_drift_pct_config_default_and_zero(tmp_path: Path) -> None:
    assert load_config(tmp_path).drift_pct == DEFAULT_DRIFT_PCT
    (tmp_path / "pyproject.toml").write_text("[tool.benchgate]\ndrift_pct = 0\n")
    assert load_config(tmp_path).drift_pct == 0


def test_compare_uses_the_stores_drift_estimate_when_there_is_a_store(
    project: Path,
    write_bench: Callable[[str, str], Path],
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_bench("vm", const_bench({"steps_per_sec": (880.0, "steps/sec")}))
    write_baselines(
        project, {"vm.steps_per_sec": {"value": 1000, "unit": "steps/sec", "values": [1000] * 5}}
    )
    assert cli("run", "--repeat", "3").exit_code == 0
    plain = json.loads(cli("compare", "--format", "json").output)
    assert plain["metrics"][0]["unsure"] is True  # the default 10% drift could explain 12%

    # A store whose history of this metric shows a machine that never moves.
    steady = Series("vm.steps_per_sec", "steps/sec", True, tuple(_points([1000.0] * 12)))
    store = _FakeStore({"vm.steps_per_sec": steady})
    opening: dict[str, Any] = {}

    class _Opener:
        @staticmethod
        def open(url: Any) -> Any:
            if opening.get("broken"):
                raise BenchgateError("cannot open the store")

            @contextmanager
            def cm() -> Iterator[_FakeStore]:
                yield store

            return cm()

    monkeypatch.setattr(cli_measure, "Store", _Opener)
    db = f"sqlite:///{project / 'history.db'}"
    # Without a store, the default drift; the store is asked only when one is in use.
    cli("compare", "--format", "json")
    assert not store.calls
    doc = _json(cli("compare", "--format", "json", "--store", db).output)
    v = doc["metrics"][0]
    assert v["status"] == "warn" and v["unsure"] is False
    assert v["interval"]["method"] == "hodges-lehmann/mann-whitney"  # a drift of 0: not widened
    assert store.calls and store.calls[0]["key"] == "vm.steps_per_sec"
    assert store.calls[0]["machine"]  # this environment's fingerprint: the same machine kind

    # A store that cannot be read is a note, never a failed gate.
    opening["broken"] = True
    doc = _json(cli("compare", "--format", "json", "--store", db).output)
    assert doc["metrics"][0]["unsure"] is True
    assert any("No drift estimate from the results store" in w for w in doc["summary"]["warnings"])
