"""``--confirm``: unsure WARN/FAIL benches are re-run and judged on ALL their runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from benchgate.config import load_config
from benchgate.judge.confirm import (
    BUDGET,
    SETTLED,
    TIME,
    confirm_loop,
    confirm_unsure,
    worth_confirming,
)
from benchgate.judge.gate import gate
from benchgate.model import Interval, Status, Verdict
from benchgate.run.results import load_runs
from conftest import const_bench, no_drift, write_baselines


def counter_bench(values: list[float], cycle: bool = False) -> str:
    """A bench reporting values[i] on its i-th run (a counter file in the project root)."""
    pick = "VALUES[i % len(VALUES)]" if cycle else "VALUES[min(i, len(VALUES) - 1)]"
    return (
        "import json, pathlib\n"
        f"VALUES = {values!r}\n"
        "p = pathlib.Path('counter.txt')\n"
        "i = int(p.read_text()) if p.exists() else 0\n"
        "p.write_text(str(i + 1))\n"
        f"v = {pick}\n"
        "print(json.dumps({'metrics': {'steps_per_sec': {'value': v, 'unit': 'steps/sec'}}}))\n"
    )


BASELINES = {
    "vm.steps_per_sec": {"value": 1000, "unit": "steps/sec"},
    "other.ops_per_sec": {"value": 50, "unit": "ops/sec"},
}


def _verdict(doc: dict[str, object], key: str) -> dict[str, object]:
    metrics = doc["metrics"]
    assert isinstance(metrics, list)
    return next(m for m in metrics if m["key"] == key)


def test_outlier_first_run_is_confirmed_on_all_runs(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    # The first run is an outlier (0.85x), the second a bit slow, then steady.
    write_bench("vm", counter_bench([850.0, 900.0, 1000.0]))
    write_bench("other", const_bench({"ops_per_sec": (50.0, "ops/sec")}))
    no_drift(project)  # the intervals of the samples alone
    write_baselines(project, BASELINES)
    assert cli("run", "--repeat", "3").exit_code == 0
    out = project / "tests" / "reports" / "bench"

    plain = cli("compare", "--format", "json")
    v = _verdict(json.loads(plain.output), "vm.steps_per_sec")
    # median 900 of [850, 900, 1000]: WARN, its interval reaching PASS
    assert v["status"] == "warn" and v["unsure"] is True and v["n"] == 3

    r = cli("compare", "--confirm", "--confirm-runs", "5", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output[r.output.index("{") :])
    v = _verdict(doc, "vm.steps_per_sec")
    # Judged on all 4 runs, the outlier included: median of [850, 900, 1000, 1000] = 950,
    # exactly on the WARN threshold (0.95), which gets the milder verdict.
    assert v["status"] == "pass" and v["n"] == 4 and v["current"] == 950
    assert v["confirmed_runs"] == 1
    assert _verdict(doc, "other.ops_per_sec")["confirmed_runs"] == 0
    # Still an unsure PASS (the interval reaches WARN, not FAIL): settled.
    assert (
        "confirm: vm.steps_per_sec: WARN (unsure) -> PASS (unsure) on all 4 runs (1 more; settled)"
        in r.output
    )

    runs = load_runs(out)
    values = [r.metrics["steps_per_sec"].value for r in runs["vm"]]
    assert values == [850.0, 900.0, 1000.0, 1000.0]  # nothing thrown away
    assert len(runs["other"]) == 3  # only the unsure bench ran again
    assert [bool(r.command.get("confirm_for")) for r in runs["vm"]] == [False] * 3 + [True]

    # A later plain compare still says the verdict was confirmed, and with how many runs.
    later = cli("compare")
    assert "confirmed with 1 more runs" in later.output


def test_pass_whose_interval_reaches_fail_is_confirmed(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    # [1000, 500, 1000]: median 1000, a PASS, but its interval reaches 0.5 (a FAIL the
    # first runs may have missed). The later runs are slow: the FAIL was real.
    write_bench("vm", counter_bench([1000.0, 500.0, 1000.0, 500.0]))
    write_bench("other", const_bench({"ops_per_sec": (50.0, "ops/sec")}))
    no_drift(project)  # the intervals of the samples alone
    write_baselines(project, BASELINES)
    assert cli("run", "--repeat", "3").exit_code == 0
    v = _verdict(json.loads(cli("compare", "--format", "json").output), "vm.steps_per_sec")
    assert v["status"] == "pass" and v["interval"]["low"] == 0.5
    r = cli("compare", "--confirm", "--confirm-runs", "4", "--format", "json")
    assert r.exit_code == 1
    v = _verdict(json.loads(r.output[r.output.index("{") :]), "vm.steps_per_sec")
    # median of [1000, 500, 1000, 500, 500, ...]: the FAIL the first three runs hid.
    assert v["status"] == "fail" and v["confirmed_runs"] >= 2 and v["current"] == 500


def test_sure_verdicts_are_not_rerun(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    write_bench("vm", const_bench({"steps_per_sec": (500.0, "steps/sec")}))
    write_bench("other", const_bench({"ops_per_sec": (50.0, "ops/sec")}))
    write_baselines(project, BASELINES)
    assert cli("run", "--repeat", "3").exit_code == 0
    r = cli("compare", "--confirm")
    assert r.exit_code == 1  # a sure FAIL stays FAIL
    assert "nothing to confirm" in r.output
    assert len(load_runs(project / "tests" / "reports" / "bench")["vm"]) == 3


def test_budget_and_time_limit(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    # Forever undecided: runs cycle through 600, 1000, 800 (median 800, interval 0.6..1.0).
    write_bench("vm", counter_bench([600.0, 1000.0, 800.0], cycle=True))
    write_bench("other", const_bench({"ops_per_sec": (50.0, "ops/sec")}))
    write_baselines(project, BASELINES)
    assert cli("run", "--repeat", "3").exit_code == 0
    config = load_config(project)
    out = config.out_path
    before = gate(config, out)
    vm = next(v for v in before.comparison.verdicts if v.key == "vm.steps_per_sec")
    assert vm.status is Status.FAIL and worth_confirming(vm)

    result = confirm_unsure(config, out, before, budget_runs=2)
    assert result.extra_runs == {"vm": 2} and result.stopped == {"vm": BUDGET}
    after = result.verdict("vm.steps_per_sec")
    assert after is not None and after.n == 5 and after.confirmed_runs == 2 and after.unsure

    again = gate(config, out)
    timed = confirm_unsure(config, out, again, budget_runs=5, time_limit_s=1e-9)
    assert timed.extra_runs == {"vm": 0} and timed.stopped == {"vm": TIME}
    assert len(load_runs(out)["vm"]) == 5


def test_too_few_runs_count_as_unsure_and_run_confirm(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    # One run is no evidence: a FAIL on a single run gets confirmed (no interval yet).
    # The later runs say PASS, but the bootstrap interval of the median still reaches
    # the first run's 0.5 (a FAIL possibly missed) with 5 runs: the budget is spent.
    write_bench("vm", counter_bench([500.0, 1000.0]))
    write_baselines(project, {"vm.steps_per_sec": BASELINES["vm.steps_per_sec"]})
    r = cli("run", "--confirm", "--confirm-runs", "4")
    assert r.exit_code == 0, r.output
    assert (
        f"confirm: vm.steps_per_sec: FAIL -> PASS (unsure) on all 5 runs (4 more; {BUDGET})"
        in r.output
    )
    runs = load_runs(project / "tests" / "reports" / "bench")["vm"]
    assert [x.metrics["steps_per_sec"].value for x in runs] == [500.0] + [1000.0] * 4


def test_run_confirm_without_baselines_says_so(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    write_bench("vm", const_bench({"steps_per_sec": (500.0, "steps/sec")}))
    r = cli("run", "--confirm")
    assert r.exit_code == 0
    assert "confirm: not possible" in r.output


def _fail(key: str, unsure: bool) -> Verdict:
    """A FAIL whose interval straddles the threshold (unsure) or lies past it (settled)."""
    iv = Interval(0.80, 0.90, 0.95, "test") if unsure else Interval(0.70, 0.80, 0.95, "test")
    v = Verdict(key, Status.FAIL, 100.0, 80.0, "ops", -20.0, True, 0.15, 0.05, n=5)
    v.interval, v.unsure = iv, unsure
    return v


def test_confirm_loop_stops_each_bench_for_its_own_reason() -> None:
    rounds: list[tuple[int, list[str]]] = []

    def run_round(rnd: int, names: list[str]) -> list[str]:
        rounds.append((rnd, names))
        return names

    def judge_again() -> dict[str, Verdict]:
        # "a" settles after its first extra round; "b" stays unsure for ever.
        return {"a.x": _fail("a.x", False), "b.y": _fail("b.y", True)}

    loop = confirm_loop({"a": ["a.x"], "b": ["b.y"]}, run_round, judge_again, 3, lambda: False)
    assert loop.stopped == {"a": SETTLED, "b": BUDGET}
    assert loop.extra == {"a": 1, "b": 3}
    assert rounds == [(1, ["a", "b"]), (2, ["b"]), (3, ["b"])]


def test_confirm_loop_out_of_time_runs_nothing() -> None:
    def run_round(rnd: int, names: list[str]) -> list[str]:
        raise AssertionError("no round once the time is spent")

    loop = confirm_loop({"a": ["a.x"]}, run_round, dict, 3, lambda: True)
    assert loop.stopped == {"a": TIME} and loop.extra == {"a": 0} and loop.verdicts == {}
