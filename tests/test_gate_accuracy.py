"""The gate-accuracy benchmark (benchmarks/gate_accuracy.py): scoring and its machinery.

The scoring is tested on synthetic verdict lists with known answers; the harness itself
runs end to end in its ``--tiny`` size (one trial, two drops, a tiny workload:
every gate's machinery, quiet) and ``--quick``'s grid runs with a fake gate; the CPU
hogs of the contended condition are tested on their own. Only the table's structure and
arithmetic are asserted: real verdicts depend on the machine.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gate_accuracy.py"


@pytest.fixture(scope="module")
def ga() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gate_accuracy", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gate_accuracy"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


# --- scoring --------------------------------------------------------------------------------


def test_ideal_verdicts_of_the_issue(ga: ModuleType) -> None:
    assert [ga.ideal_verdict(d) for d in ga.DROPS] == ["PASS", "PASS", "WARN", "FAIL", "FAIL"]
    # On a threshold the milder verdict, as in gates.md.
    assert ga.ideal_verdict(0.05) == "PASS"
    assert ga.ideal_verdict(0.15) == "WARN"


def test_perfect_gate_scores_full_marks(ga: ModuleType) -> None:
    outcomes = [(d, ga.ideal_verdict(d)) for d in ga.DROPS for _ in range(3)]
    s = ga.score(outcomes, [1.0, 2.0, 3.0])
    assert (s.n, s.correct, s.errors) == (15, 15, 0)
    assert s.accuracy == 1.0
    assert (s.false_fail, s.false_fail_of, s.false_fail_rate) == (0, 6, 0.0)
    assert (s.missed_fail, s.missed_fail_of, s.missed_fail_rate) == (0, 6, 0.0)
    assert s.median_seconds == 2.0


def test_always_fail_gate(ga: ModuleType) -> None:
    s = ga.score([(d, "FAIL") for d in ga.DROPS])
    assert s.correct == 2  # the 25% and 40% drops
    assert s.accuracy == pytest.approx(0.4)
    assert (s.false_fail, s.false_fail_of) == (2, 2)
    assert s.false_fail_rate == 1.0
    assert s.missed_fail == 0


def test_always_pass_gate(ga: ModuleType) -> None:
    s = ga.score([(d, "PASS") for d in ga.DROPS])
    assert s.correct == 2  # the 0% and 2% drops
    assert s.false_fail == 0
    assert (s.missed_fail, s.missed_fail_of, s.missed_fail_rate) == (2, 2, 1.0)


def test_mixed_verdicts_and_errors(ga: ModuleType) -> None:
    outcomes = [
        (0.0, "PASS"),
        (0.0, "WARN"),  # wrong, but not a false FAIL
        (0.02, "FAIL"),  # false FAIL
        (0.10, "WARN"),
        (0.10, "FAIL"),  # wrong; a 10% drop is neither a false nor a missed FAIL
        (0.25, "WARN"),  # missed FAIL
        (0.40, "ERROR"),  # never correct, and a missed FAIL
        (0.40, "FAIL"),
    ]
    s = ga.score(outcomes)
    assert (s.n, s.correct, s.errors) == (8, 3, 1)
    assert (s.false_fail, s.false_fail_of) == (1, 3)
    assert (s.missed_fail, s.missed_fail_of) == (2, 3)
    assert s.median_seconds is None


def test_score_of_nothing_and_bad_verdicts(ga: ModuleType) -> None:
    s = ga.score([])
    assert s.n == 0 and s.accuracy is None and s.false_fail_rate is None
    with pytest.raises(ValueError):
        ga.score([(0.0, "IMPROVED")])


def test_benchgate_statuses_map_to_verdict_classes(ga: ModuleType) -> None:
    from benchgate.model import Status

    assert ga._status_verdict(Status.IMPROVED) == "PASS"
    assert ga._status_verdict(Status.PASS) == "PASS"
    assert ga._status_verdict(Status.WARN) == "WARN"
    assert ga._status_verdict(Status.FAIL) == "FAIL"
    assert ga._status_verdict(Status.MISSING) == "ERROR"


def test_candidate_work_gives_the_exact_drop(ga: ModuleType) -> None:
    wl = ga._load_workload()
    for drop in ga.DROPS:
        n = wl.iterations_for(100_000, drop)
        assert 1 - 100_000 / n == pytest.approx(drop, abs=1e-5)
    assert wl.work(10) == wl.work(10)  # deterministic
    with pytest.raises(ValueError):
        wl.iterations_for(100, 1.0)


def _outcomes(ga: ModuleType, verdicts: dict[str, list[str]]) -> list[Any]:
    out = []
    for gate, vs in verdicts.items():
        for i, (drop, v) in enumerate(zip(ga.DROPS, vs, strict=True)):
            out.append(ga.Outcome(1, "contended", drop, gate, v, 1.0 + i))
    return out


def test_summary_and_targets(ga: ModuleType) -> None:
    ideal = ["PASS", "PASS", "WARN", "FAIL", "FAIL"]
    outcomes = _outcomes(
        ga,
        {
            "naive": ["FAIL", "PASS", "FAIL", "WARN", "FAIL"],
            "benchgate-ab-confirm": ideal,
            "pyperf": ["PASS", "PASS", "PASS", "FAIL", "FAIL"],
        },
    )
    gates = ["naive", "benchgate-ab-confirm", "pyperf"]
    rows = ga.summarize(outcomes, gates, ["contended"], ga.DROPS)
    assert [r["gate"] for r in rows] == gates
    for r in rows:
        assert sum(sum(c.values()) for c in r["counts"].values()) == r["n"] == 5
    naive = rows[0]
    assert naive["counts"]["0"] == {"PASS": 0, "WARN": 0, "FAIL": 1, "ERROR": 0}
    assert (naive["false_fail"], naive["missed_fail"], naive["correct"]) == (1, 1, 2)
    t = ga.target_check(rows)
    assert t["no_false_fail"]["met"] and t["no_missed_fail"]["met"]
    assert t["highest_accuracy"] == {
        "met": True,
        "value": 1.0,
        "best_other": 0.8,
        "best_other_gate": "pyperf",
    }
    assert t["gate"] == "benchgate-ab-confirm"
    assert t["seconds_vs_default"] is None  # no benchgate-ab row here
    # Same seconds per verdict as the naive rule here: 1x.
    assert t["seconds_vs_naive"]["met"] and t["seconds_vs_naive"]["value"] == 1.0


def test_interval_coverage_counts_intervals_holding_the_true_ratio(ga: ModuleType) -> None:
    true = ga.true_ratio(0.25)
    assert true == pytest.approx(0.75, abs=1e-3)
    cases = [
        ga.Outcome(1, "quiet", 0.25, "g", "FAIL", 1.0, {"interval": [0.7, 0.8]}),  # holds it
        ga.Outcome(1, "quiet", 0.25, "g", "FAIL", 1.0, {"interval": [0.6, 0.7]}),  # misses
        ga.Outcome(1, "quiet", 0.0, "g", "PASS", 1.0, {"interval": [1.0, 1.0]}),  # exactly 1
        ga.Outcome(1, "quiet", 0.0, "g", "PASS", 1.0, {}),  # states no interval
    ]
    assert ga.coverage(cases) == (2, 3)
    row = ga.summarize(cases, ["g"], ["quiet"], [0.0, 0.25])[0]
    assert (row["covered"], row["intervals"]) == (2, 3)


def test_naive_rule(ga: ModuleType) -> None:
    assert ga.naive_verdict(100.0, 100.0) == "PASS"
    assert ga.naive_verdict(100.0, 95.0) == "PASS"  # exactly 5% down: not beyond it
    assert ga.naive_verdict(100.0, 94.0) == "WARN"
    assert ga.naive_verdict(100.0, 85.0) == "WARN"
    assert ga.naive_verdict(100.0, 84.0) == "FAIL"


def test_markdown_table(ga: ModuleType) -> None:
    outcomes = _outcomes(ga, {g: ["PASS", "PASS", "WARN", "FAIL", "FAIL"] for g in ga.GATES})
    summary = ga.summarize(outcomes, ga.GATES, ["contended"], ga.DROPS)
    result = {
        "settings": {"name": "x", "trials": 1, "drops": list(ga.DROPS)},
        "environment": {"cpu": "cpu", "cpus": 2, "python": "3.11"},
        "started": "now",
        "elapsed_s": 60.0,
        "summary": summary,
        "targets": ga.target_check(summary),
    }
    md = ga.render_markdown(result)
    lines = md.splitlines()
    header = next(ln for ln in lines if ln.startswith("| gate"))
    assert "0% (PASS)" in header and "40% (FAIL)" in header and "median s/verdict" in header
    rows = [ln for ln in lines if ln.startswith("| ") and not ln.startswith(("| gate", "| ---"))]
    assert len(rows) == len(ga.GATES)
    assert "| 0/0/1 | 0/0/1 | 100% | 0% (0/2) | 0% (0/2) | - |" in rows[0]
    assert "- highest accuracy: met" in md


# --- the machinery --------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_contention_hogs_are_killed_even_on_error(ga: ModuleType) -> None:
    pids: list[int] = []
    with pytest.raises(RuntimeError):
        with ga.contention(True, procs=1, on=0.05, off=0.05) as started:
            pids = list(started)
            assert len(pids) == 1 and _alive(pids[0])
            raise RuntimeError("boom")
    assert not _alive(pids[0])
    with ga.contention(False) as none:
        assert none == []


def run_script(out: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run the benchmark script with ``args``, writing to ``out``; (process, its JSON)."""
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, json.loads(out.with_suffix(".json").read_text())


def test_tiny_run_produces_the_table(tmp_path: Path) -> None:
    out = tmp_path / "acc.md"
    proc, result = run_script(out, "--tiny")
    s = result["settings"]
    gates, drops, conditions = s["gates"], s["drops"], s["conditions"]
    assert gates == [
        "single-run",
        "naive",
        "benchgate",
        "benchgate-confirm",
        "benchgate-stored",
        "benchgate-stored-confirm",
        "benchgate-ab",
        "benchgate-ab-confirm",
        "pytest-benchmark",
        "pyperf",
    ]
    assert len(result["outcomes"]) == s["trials"] * len(conditions) * len(drops) * len(gates)
    assert {o["verdict"] for o in result["outcomes"]} <= {"PASS", "WARN", "FAIL", "ERROR"}
    # Every gate produced a real verdict (no ERROR): each one's machinery works.
    errors = [(o["gate"], o["detail"]) for o in result["outcomes"] if o["verdict"] == "ERROR"]
    assert not errors
    rows = result["summary"]
    assert [(r["gate"], r["condition"]) for r in rows] == [
        (g, c) for c in conditions for g in gates
    ]
    for r in rows:
        per_drop = [sum(r["counts"][f"{d:g}"].values()) for d in drops]
        assert per_drop == [s["trials"]] * len(drops)
        assert r["n"] == sum(per_drop)
        assert r["false_fail_of"] == s["trials"]  # the 0% drop
        assert r["missed_fail_of"] == s["trials"]  # the 40% drop
        assert r["median_seconds"] > 0
        # Interval coverage: counted for the gates that state an interval.
        assert 0 <= r["covered"] <= r["intervals"] <= r["n"]
        if r["gate"] in ("benchgate", "benchgate-stored", "benchgate-ab"):
            assert r["intervals"] == r["n"]
    stored = [o for o in result["outcomes"] if o["gate"] == "benchgate-stored"]
    assert all("+drift" in (o["detail"]["interval_method"] or "") for o in stored)
    assert result["targets"] == {}  # targets are judged under contention (the quick grid test)
    md = out.read_text()
    assert md.strip() in proc.stdout
    table = [ln for ln in md.splitlines() if ln.startswith("| ") and "---" not in ln]
    assert len(table) == 1 + len(gates) * len(conditions)


def test_quick_grid_and_table(ga: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--quick`'s whole grid (both conditions, every drop, one trial) and its table.

    The gates are replaced by a deterministic fake (verdict = the ideal one, except the
    naive gate always FAILs under contention) and the hogs by a no-op: this checks the
    trial loop, the summary and the table, in milliseconds. The real gates' machinery is
    the ``--tiny`` test's; the hogs have their own test.
    """
    started: list[bool] = []

    @contextlib.contextmanager
    def no_hogs(enabled: bool, **kw: Any) -> Iterator[list[int]]:
        started.append(enabled)
        yield []

    def fake_trial(self: Any, trial: int, condition: str, drop: float) -> list[Any]:
        out = []
        for gate in self.gates:
            verdict = ga.ideal_verdict(drop)
            if gate == "naive" and condition == "contended":
                verdict = "FAIL"
            out.append(ga.Outcome(trial, condition, drop, gate, verdict, 1.0))
        return out

    monkeypatch.setattr(ga, "contention", no_hogs)
    monkeypatch.setattr(ga.Harness, "trial", fake_trial)
    gates = ["single-run", "naive", ga.TARGET_GATE]
    result = ga.run_benchmark(ga.SIZES["quick"], gates)
    s = result["settings"]
    assert s["name"] == "quick" and s["trials"] == 1
    assert list(s["conditions"]) == ["quiet", "contended"] and len(s["drops"]) == 5
    assert sorted(started) == [False, True]  # hogs asked for the contended condition only
    assert len(result["outcomes"]) == 3 * 5 * 2
    rows = {(r["gate"], r["condition"]): r for r in result["summary"]}
    assert all(r["n"] == 5 for r in rows.values())
    assert rows[("single-run", "contended")]["accuracy"] == 1.0
    naive = rows[("naive", "contended")]
    assert naive["false_fail"] == 2 and naive["false_fail_of"] == 2  # the 0% and 2% drops
    targets = result["targets"]
    assert targets["no_false_fail"]["met"] and targets["highest_accuracy"]["met"]
    assert targets["seconds_vs_naive"]["value"] == 1.0
    table = [
        ln
        for ln in ga.render_markdown(result).splitlines()
        if ln.startswith("| ") and "---" not in ln
    ]
    assert len(table) == 1 + 3 * 2
