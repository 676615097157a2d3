"""Gate arithmetic of gates.md, at and around each threshold, both directions."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchgate.baselines.decision import refresh_decision
from benchgate.config import load_config
from benchgate.judge.compare import compare, judge, units_match
from benchgate.judge.confidence import annotate
from benchgate.judge.gate import write_out_report
from benchgate.judge.reduce import reduce_runs
from benchgate.judge.stats import spread_of
from benchgate.model import (
    Baseline,
    BenchSummary,
    Measurement,
    ReducedMetric,
    ReducedSet,
    RunRecord,
    RunStatus,
    Status,
)
from benchgate.render.report import render_out_report, render_text
from benchgate.run.results import write_bench_runs
from conftest import no_drift, write_baselines

P, IMP, W, F = Status.PASS, Status.IMPROVED, Status.WARN, Status.FAIL


@pytest.mark.parametrize(
    "current, expected",
    [
        (120.0, IMP),
        (105.0, P),  # exactly +5%: the milder verdict (PASS, not IMPROVED)
        (105.01, IMP),
        (100.0, P),
        (95.0, P),  # exactly -5%: PASS
        (94.99, W),
        (85.0, W),  # exactly -15%: WARN, not FAIL
        (84.99, F),
        (10.0, F),
    ],
)
def test_higher_is_better_thresholds(current: float, expected: Status) -> None:
    assert judge(100.0, current, True, 0.15, 0.05) is expected


@pytest.mark.parametrize(
    "current, expected",
    [
        (80.0, IMP),
        (95.0, P),  # exactly -5% time: PASS
        (94.99, IMP),
        (105.0, P),
        (105.01, W),
        (115.0, W),  # exactly +15% time: WARN
        (115.01, F),
        (300.0, F),
    ],
)
def test_lower_is_better_thresholds(current: float, expected: Status) -> None:
    assert judge(100.0, current, False, 0.15, 0.05) is expected


def test_custom_thresholds() -> None:
    assert judge(1000.0, 890.0, True, 0.10, 0.02) is F
    assert judge(1000.0, 900.0, True, 0.10, 0.02) is W
    assert judge(1000.0, 985.0, True, 0.10, 0.02) is P


def _metric(
    key: str, values: list[float], unit: str = "ops/sec", hib: bool = True, inferred: bool = False
) -> ReducedMetric:
    bench, name = key.split(".", 1)
    return ReducedMetric(
        key=key,
        bench=bench,
        metric=name,
        value=sorted(values)[len(values) // 2],
        unit=unit,
        higher_is_better=hib,
        method="median",
        spread=spread_of(values),
        values=values,
        run_ids=[str(i) for i in range(len(values))],
        inferred=inferred,
    )


def _baseline(
    key: str,
    value: float,
    unit: str = "ops/sec",
    hib: bool | None = None,
    deg: float = 0.15,
    warn: float = 0.05,
) -> Baseline:
    return Baseline(key, value, unit, deg, warn, hib, None, {"value": value, "unit": unit})


def _set(
    metrics: list[ReducedMetric],
    benches: dict[str, RunStatus],
    reasons: dict[str, str] | None = None,
) -> ReducedSet:
    reasons = reasons or {}
    return ReducedSet(
        method="median",
        metrics={m.key: m for m in metrics},
        benches={
            b: BenchSummary(b, s, 5, 5 if s is RunStatus.OK else 0, reasons.get(b))
            for b, s in benches.items()
        },
        run_ids=[],
    )


def test_every_status_appears() -> None:
    reduced = _set(
        [
            _metric("a.fast", [100] * 5),
            _metric("a.slow", [80] * 5),
            _metric("a.meh", [93] * 5),
            _metric("a.better", [130] * 5),
            _metric("a.fresh", [1] * 5),
            _metric("d.partial", [5] * 5),
        ],
        {"a": RunStatus.OK, "s": RunStatus.SKIPPED, "e": RunStatus.ERROR, "d": RunStatus.OK},
        {"s": "no GPU", "e": "exited with code 1"},
    )
    baselines = {
        k: _baseline(k, 100)
        for k in ["a.fast", "a.slow", "a.meh", "a.better", "s.x", "e.y", "gone.z", "d.other"]
    }
    baselines["d.partial"] = _baseline("d.partial", 5)
    c = compare(reduced, baselines)
    by = {v.key: v for v in c.verdicts}
    assert by["a.fast"].status is P
    assert by["a.slow"].status is F and by["a.slow"].delta_pct == pytest.approx(-20)
    assert by["a.meh"].status is W
    assert by["a.better"].status is IMP
    assert by["a.fresh"].status is Status.NEW
    assert by["s.x"].status is Status.SKIPPED and by["s.x"].reason == "no GPU"
    assert by["e.y"].status is Status.ERROR
    assert by["gone.z"].status is Status.MISSING
    assert by["d.other"].status is Status.MISSING
    assert {v.status for v in c.gating()} == {F, Status.NEW, Status.MISSING, Status.ERROR}
    assert {v.status for v in c.gating({Status.NEW, Status.MISSING})} == {F, Status.ERROR}


def test_bench_without_baselines_that_fails_still_gets_a_row() -> None:
    c = compare(_set([], {"boom": RunStatus.ERROR}, {"boom": "timed out after 1 s"}), {})
    assert [(v.key, v.status) for v in c.verdicts] == [("boom", Status.ERROR)]


def test_baseline_direction_overrides_measured() -> None:
    reduced = _set(
        [_metric("a.t", [120] * 5, unit="s", hib=True, inferred=True)], {"a": RunStatus.OK}
    )
    c = compare(reduced, {"a.t": _baseline("a.t", 100, unit="s", hib=False)})
    assert c.verdicts[0].status is F


def test_unit_mismatch_is_an_error_unless_inferred() -> None:
    reduced = _set([_metric("a.x", [100] * 5, unit="MB/sec")], {"a": RunStatus.OK})
    c = compare(reduced, {"a.x": _baseline("a.x", 100, unit="ops/sec")})
    assert c.verdicts[0].status is Status.ERROR and "unit mismatch" in (c.verdicts[0].reason or "")
    reduced = _set([_metric("a.x", [100] * 5, unit="units", inferred=True)], {"a": RunStatus.OK})
    c = compare(reduced, {"a.x": _baseline("a.x", 100, unit="widgets/sec")})
    assert c.verdicts[0].status is P and c.verdicts[0].unit == "widgets/sec"


def test_unit_spellings() -> None:
    assert units_match("ops/s", "ops/sec")
    assert units_match("MB/second", "mb/sec")
    assert not units_match("MB/sec", "GB/sec")


def test_refresh_decision_sentences() -> None:
    reduced = _set([_metric("a.x", [100] * 5), _metric("a.y", [130] * 5)], {"a": RunStatus.OK})
    c = compare(reduced, {"a.x": _baseline("a.x", 100), "a.y": _baseline("a.y", 100)})
    assert refresh_decision(c) == "no refresh needed: 1 within warn, 1 improved"
    reduced = _set([_metric("a.x", [50] * 5), _metric("a.y", [50] * 5)], {"a": RunStatus.OK})
    c = compare(reduced, {"a.x": _baseline("a.x", 100), "a.y": _baseline("a.y", 100)})
    assert refresh_decision(c).startswith("2 metrics breach degradation")


def _runs(bench: str, values: dict[str, list[float]]) -> list[RunRecord]:
    n = len(next(iter(values.values())))
    return [
        RunRecord(
            run_id=f"{bench}-{i}",
            bench=bench,
            invocation="inv",
            started=f"2026-01-01T00:00:{i:02d}",
            duration_s=1.0,
            status=RunStatus.OK,
            metrics={k: Measurement(v[i], "ops/sec", True) for k, v in values.items()},
        )
        for i in range(n)
    ]


def _table_rows(report: str) -> dict[str, list[str]]:
    """The verdict table of report.md: key -> its cells."""
    rows = {}
    for line in report.split("## Comparison with baselines.json")[1].splitlines():
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if len(cells) > 2 and cells[1].startswith("`"):
            rows[cells[1].strip("`")] = cells
    return rows


def test_report_md_verdicts_carry_interval_and_unsure_like_compare() -> None:
    runs = {
        "a": _runs("a", {"sure": [80.0, 80.5, 79.5, 80.2, 79.8], "edge": [70, 84, 95, 84.5, 100]})
    }
    reduced = reduce_runs(runs)
    baselines = {"a.sure": _baseline("a.sure", 100), "a.edge": _baseline("a.edge", 100)}
    c = compare(reduced, baselines)
    annotate(c, reduced, baselines, drift_pct=0)
    rows = _table_rows(render_out_report(runs, reduced, c))
    text = render_text(c)
    for key, unsure in (("a.sure", False), ("a.edge", True)):
        note = rows[key][-1]
        assert rows[key][0] == "FAIL" and "% CI " in note
        assert ("unsure" in note) is unsure
        assert note in text  # the NOTE column of `benchgate compare`, word for word


def test_report_md_note_cells_stay_one_cell() -> None:
    reduced = _set([], {"e": RunStatus.ERROR}, {"e": "bad | input <x>"})
    c = compare(reduced, {"e.y": _baseline("e.y", 100)})
    rows = _table_rows(render_out_report({}, reduced, c))
    assert len(rows["e.y"]) == 7 and "bad \\| input &lt;x>" in rows["e.y"][-1]


def test_write_out_report_annotates_verdicts(project: Path) -> None:
    no_drift(project)
    config = load_config(project)
    runs = _runs("a", {"x": [80.0, 80.5, 79.5, 80.2, 79.8]})
    write_bench_runs(config.out_path, "a", runs)
    write_baselines(project, {"a.x": {"value": 100.0, "unit": "ops/sec"}})
    report = write_out_report(config, config.out_path).read_text()
    # Five runs: the bootstrap interval is [min, max] / baseline, a sure FAIL.
    assert _table_rows(report)["a.x"][-1] == "95% CI -20.5%..-19.5%"
