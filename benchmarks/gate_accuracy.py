#!/usr/bin/env python
"""The gate-accuracy benchmark: how often does each performance gate get it right?

A controlled workload (``_accuracy_workload.py``: a fixed pure-Python loop) is made slower
by an exactly known fraction -- 0%, 2%, 10%, 25%, 40% of its throughput -- by scaling its
work per call. Under the default thresholds of gates.md (FAIL beyond 15%, WARN beyond 5%)
the right verdicts are PASS, PASS, WARN, FAIL, FAIL. As a bench the workload is written
with ``benchgate.bench``; to fit the time budget it is sampled 0.03 s at a time, 3 samples
per run (``benchgate.bench``'s defaults are 0.1 s x 7), and pyperf gets the same 0.03 s
per value. Each trial measures a baseline and a candidate in fresh processes, in two
conditions: ``quiet`` and ``contended`` (CPU hogs, one per CPU, started by this script,
bursting on and off around 0.3 s / 0.3 s like a neighbour on a shared runner, and killed
by PID when the trial ends). In every trial the gates below each judge the same
baseline/candidate pair, each with its own measurements made in that trial (the gates
that can share runs do):

``single-run``        one run each side, FAIL beyond 15%, WARN beyond 5% (the first run
                      of each side of ``benchgate``'s runs);
``naive``             the issue's "median of 5, fail beyond 15%" rule (WARN beyond 5%) on
                      ``benchgate``'s 5 runs of each side, plain arithmetic;
``benchgate``         default settings: 5 runs each side in fresh processes through
                      benchgate's runner, medians, ``benchgate.judge.gate.gate`` (gates.md
                      rules, 15%/5%); the baseline entry is the median of the baseline
                      runs. Same rule as ``naive``, so the same verdicts: the interval it
                      adds changes no verdict;
``benchgate-confirm`` the same runs, then ``benchgate.judge.confirm.confirm_unsure`` (``compare
                      --confirm``): a verdict unsure where it matters gets up to 10 more
                      candidate runs, judged on all runs;
``benchgate-stored``  the stored-baseline flow at defaults: the same 5 baseline runs go
                      through ``benchgate refresh`` (``plan_refresh``/``write_refresh``,
                      ``--only`` the new key, ``--allow-noisy`` it when noisy, as a user
                      must on a contended runner), which writes the value, the per-run
                      ``values`` and the measured commit; then the same 5 candidate runs are
                      judged by ``gate`` with the default config: two-sample interval
                      widened by the default between-day ``drift_pct``;
``benchgate-stored-confirm`` the same verdict, then ``compare --confirm`` as it runs when
                      the baseline's commit is reachable: an unsure verdict (where it
                      matters) is re-judged on interleaved baseline/candidate pairs, 5
                      rounds and then up to 10 more while unsure (the harness interleaves
                      the two workload sizes itself instead of checking the commit out, as
                      for ``benchgate-ab``); a sure verdict is kept as it is;
``benchgate-ab``      5 interleaved base/candidate pairs (the order alternates each round,
                      as ``benchgate ab`` does), judged by ``benchgate.ab.run.judge_pairs`` on
                      the paired ratios. The harness interleaves the two workload sizes
                      itself instead of checking out a git revision in a worktree: the
                      measuring and judging code is benchgate's, only the checkout is not;
``benchgate-ab-confirm`` the same 5 pairs, then ``ab --confirm``: while
                      ``benchgate.judge.confirm.worth_confirming`` says the paired verdict is
                      unsure where it matters, one more interleaved round, up to 10 more,
                      judged on all pairs. The issue's targets are about this gate;
``benchgate-instructions`` instruction counts instead of time (``--measure
                      instructions``): ``instruction_runs`` runs of each side through
                      benchgate's runner, each a per-call count under valgrind
                      (two-point subtraction, docs/measurements.md), judged by
                      ``benchgate.judge.gate.gate`` against a baselines.json entry that is
                      the median of the baseline's counts (lower is better; the same
                      15%/5% thresholds on the count's increase). It also runs an extra
                      1% cell (``instruction_drops``), where the change must show as an
                      exact +1%; its spread across the runs of one side is reported;
``pytest-benchmark``  the workload as a pytest-benchmark test, baseline with
                      ``--benchmark-save``, candidate with ``--benchmark-compare
                      --benchmark-compare-fail=median:15%`` (FAIL = its exit status), WARN
                      when the candidate's median time is more than 5% above the baseline's;
``pyperf``            a ``pyperf.Runner`` script for each side (5 worker processes, like
                      benchgate's 5 runs), judged as ``pyperf compare_to`` does: FAIL when
                      the difference is significant (its t-test) and the candidate is more
                      than 1.15x slower, WARN when significant and more than 1.05x slower.

pytest-benchmark and pyperf judge time per call, benchgate throughput; at the drops used
here both readings give the same ideal verdicts (a 25% throughput drop is +33% time).
Within a trial the drops and the gates run in a shuffled order (seeded), so no gate is
always first after the hogs start.

It prints and saves a table (``--out``, default ``benchmarks/reports/accuracy/
gate_accuracy.md`` and ``.json`` beside it, with every trial's raw numbers): verdict
counts per drop, accuracy, false-FAIL rate at 0-2%, missed-FAIL rate at >= 25%, how often
the gate's stated interval covered the true ratio (for gates that state one; the target is
90% at 95% intervals) and the median seconds per verdict, per gate and condition::

    python benchmarks/gate_accuracy.py            # default size, under 30 minutes on 2 cores
    python benchmarks/gate_accuracy.py --quick    # under 3 minutes

Seconds per verdict are wall-clock seconds of everything a gate measured and judged for
that verdict, both sides included; benchgate's are library calls in this process (the
CLI's own start-up, about 0.2 s per command here, is not counted; neither is pytest's or
pyperf's harness start-up avoided: those run as their users run them).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKLOAD = HERE / "_accuracy_workload.py"
PYPERF_SCRIPT = HERE / "_accuracy_pyperf.py"
DEFAULT_OUT = HERE / "reports" / "accuracy" / "gate_accuracy.md"
SCHEMA = "benchgate.gate_accuracy/1"

# gates.md defaults: the thresholds every gate here is held to.
DEGRADATION = 0.15
WARN = 0.05

DROPS = (0.0, 0.02, 0.10, 0.25, 0.40)
CONDITIONS = ("quiet", "contended")
GATES = (
    "single-run",
    "naive",
    "benchgate",
    "benchgate-confirm",
    "benchgate-stored",
    "benchgate-stored-confirm",
    "benchgate-ab",
    "benchgate-ab-confirm",
    "benchgate-instructions",
    "pytest-benchmark",
    "pyperf",
)
# Instruction counts (under valgrind): a different measurement, left out of the comparison
# of time gates in the targets, and of the --tiny size (valgrind is ~50x slower).
INSTRUCTION_GATE = "benchgate-instructions"
# The gate the targets are about: benchgate with --confirm, as a pull-request job
# runs it (`benchgate ab --base REV --confirm`).
TARGET_GATE = "benchgate-ab-confirm"
# The gates that share benchgate's sequential runs, and the A/B pairs.
SEQUENTIAL_FAMILY = (
    "single-run",
    "naive",
    "benchgate",
    "benchgate-confirm",
    "benchgate-stored",
    "benchgate-stored-confirm",
)
STORED_FAMILY = ("benchgate-stored", "benchgate-stored-confirm")
AB_FAMILY = ("benchgate-ab", "benchgate-ab-confirm")

PASS, WARN_V, FAIL, ERROR = "PASS", "WARN", "FAIL", "ERROR"
VERDICTS = (PASS, WARN_V, FAIL, ERROR)

BENCH = "accuracy"
KEY = f"{BENCH}.ops_per_sec"
METRIC_INSTRUCTIONS = "ops_per_sec_instructions"

# A neighbour on a shared runner: busy for ~on seconds, idle for ~off seconds, jittered
# (uniform 0.5x..1.5x) so that it never locks into step with the measurements.
HOG_CODE = """
import random, sys, time
rng = random.Random(int(sys.argv[1]))
on, off = float(sys.argv[2]), float(sys.argv[3])
while True:
    end = time.perf_counter() + rng.uniform(0.5, 1.5) * on
    x = 0
    while time.perf_counter() < end:
        for i in range(1000):
            x += i
    time.sleep(rng.uniform(0.5, 1.5) * off)
"""


@dataclass(frozen=True)
class Size:
    """How big a run of the benchmark is: trials, workload and every gate's settings."""

    name: str
    trials: int
    drops: tuple[float, ...] = DROPS
    conditions: tuple[str, ...] = CONDITIONS
    iterations: int = 2000  # hash steps per call of the baseline workload (~0.5 ms)
    min_time: float = 0.03  # seconds per sample (benchgate's workload and pyperf)
    samples: int = 3  # samples per benchgate run
    runs: int = 5  # benchgate runs per side (the method's N >= 5)
    confirm_runs: int = 10  # --confirm budget: more runs, or more rounds for ab (the default)
    pairs: int = 5  # benchgate-ab interleaved pairs
    pytest_max_time: float = 1.0  # pytest-benchmark's default --benchmark-max-time
    pytest_min_rounds: int = 5  # pytest-benchmark's default --benchmark-min-rounds
    pyperf_processes: int = 5
    pyperf_values: int = 3  # pyperf's default values per process
    pyperf_warmups: int = 1  # pyperf's default warmups
    hog_on: float = 0.3
    hog_off: float = 0.3
    instruction_runs: int = 1  # benchgate-instructions: counted runs per side (exact counts)
    instruction_calls: int = 10  # calls of the smaller counting process (the default)
    instruction_drops: tuple[float, ...] = (0.01,)  # extra cells for the instruction gate


SIZES: dict[str, Size] = {
    # 7 trials x 5 drops x 2 conditions = 70 cells of 6 gates, ~17 s a cell: ~20 minutes.
    "default": Size("default", trials=7),
    # One trial per drop and condition with lighter settings: under 3 minutes.
    "quick": Size(
        "quick",
        trials=1,
        min_time=0.02,
        samples=2,
        confirm_runs=5,
        pytest_max_time=0.25,
        pyperf_processes=3,
        pyperf_values=2,
    ),
    # The machinery only (tests): two drops, quiet, a tiny workload. The hogs of the
    # contended condition have a test of their own, so the suite starts none beside
    # other tests.
    "tiny": Size(
        "tiny",
        trials=1,
        drops=(0.0, 0.40),
        conditions=("quiet",),
        iterations=200,
        min_time=0.002,
        samples=2,
        runs=3,
        confirm_runs=2,
        pairs=3,
        pytest_max_time=0.01,
        pytest_min_rounds=3,
        pyperf_processes=2,
        pyperf_values=2,
        pyperf_warmups=0,
    ),
}


# --- scoring (pure functions) ------------------------------------------------------------


def ideal_verdict(drop: float, degradation: float = DEGRADATION, warn: float = WARN) -> str:
    """The right verdict for a throughput drop of ``drop`` under the gates.md thresholds."""
    if drop > degradation:
        return FAIL
    if drop > warn:
        return WARN_V
    return PASS


def naive_verdict(base: float, candidate: float) -> str:
    """The naive rule on two throughputs: FAIL beyond a 15% drop, WARN beyond 5%."""
    ratio = candidate / base
    if ratio < 1 - DEGRADATION:
        return FAIL
    if ratio < 1 - WARN:
        return WARN_V
    return PASS


@dataclass
class Score:
    """How one gate did over a set of (drop, verdict) outcomes."""

    n: int
    correct: int
    errors: int
    false_fail: int  # FAIL where the right verdict is PASS (drops 0-2% by default)
    false_fail_of: int
    missed_fail: int  # not FAIL where the right verdict is FAIL (drops >= 25% by default)
    missed_fail_of: int
    median_seconds: float | None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.n if self.n else None

    @property
    def false_fail_rate(self) -> float | None:
        return self.false_fail / self.false_fail_of if self.false_fail_of else None

    @property
    def missed_fail_rate(self) -> float | None:
        return self.missed_fail / self.missed_fail_of if self.missed_fail_of else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            accuracy=self.accuracy,
            false_fail_rate=self.false_fail_rate,
            missed_fail_rate=self.missed_fail_rate,
        )
        return d


def score(
    outcomes: Sequence[tuple[float, str]],
    seconds: Sequence[float] = (),
    degradation: float = DEGRADATION,
    warn: float = WARN,
) -> Score:
    """Accuracy, false-FAIL and missed-FAIL counts of ``(drop, verdict)`` outcomes.

    A verdict is correct when it equals :func:`ideal_verdict` (IMPROVED counts as PASS:
    both leave the job green without a warning). ERROR is never correct, is not a false
    FAIL, and is a missed FAIL where a FAIL was due.
    """
    n = correct = errors = ff = ff_of = mf = mf_of = 0
    for drop, verdict in outcomes:
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}")
        ideal = ideal_verdict(drop, degradation, warn)
        n += 1
        correct += verdict == ideal
        errors += verdict == ERROR
        if ideal == PASS:
            ff_of += 1
            ff += verdict == FAIL
        elif ideal == FAIL:
            mf_of += 1
            mf += verdict != FAIL
    med = float(statistics.median(seconds)) if seconds else None
    return Score(n, correct, errors, ff, ff_of, mf, mf_of, med)


def verdict_counts(verdicts: Sequence[str]) -> dict[str, int]:
    """How many of each verdict (PASS, WARN, FAIL, ERROR)."""
    return {v: sum(1 for x in verdicts if x == v) for v in VERDICTS}


# --- the trial record ---------------------------------------------------------------------


@dataclass
class Outcome:
    """One gate's verdict on one trial, with what it cost and what it saw."""

    trial: int
    condition: str
    drop: float
    gate: str
    verdict: str
    seconds: float
    detail: dict[str, Any] = field(default_factory=dict)


def summarize(
    outcomes: Sequence[Outcome],
    gates: Sequence[str],
    conditions: Sequence[str],
    drops: Sequence[float],
) -> list[dict[str, Any]]:
    """One row per (gate, condition): counts per drop and the gate's score."""
    rows = []
    for condition in conditions:
        for gate in gates:
            mine = [o for o in outcomes if o.gate == gate and o.condition == condition]
            counts = {
                f"{d:g}": verdict_counts([o.verdict for o in mine if o.drop == d]) for d in drops
            }
            s = score([(o.drop, o.verdict) for o in mine], [o.seconds for o in mine])
            covered, stated = coverage(mine)
            rows.append(
                {
                    "gate": gate,
                    "condition": condition,
                    "counts": counts,
                    **s.to_dict(),
                    "covered": covered,
                    "intervals": stated,
                }
            )
    return rows


def true_ratio(drop: float, iterations: int = Size("x", 1).iterations) -> float:
    """The candidate's throughput over the baseline's, exactly as the workload is scaled."""
    return iterations / _iterations_for(iterations, drop)


def coverage(outcomes: Sequence[Outcome]) -> tuple[int, int]:
    """(intervals that held the true ratio, intervals stated) over ``outcomes``.

    An outcome states an interval when its detail has ``interval`` [low, high] (of the
    ratio candidate/baseline of throughputs); the true ratio is :func:`true_ratio`.
    """
    covered = stated = 0
    for o in outcomes:
        iv = o.detail.get("interval") if o.detail else None
        if not iv:
            continue
        stated += 1
        r = true_ratio(o.drop, int(o.detail.get("iterations") or Size("x", 1).iterations))
        covered += iv[0] <= r <= iv[1]
    return covered, stated


def target_check(rows: Sequence[dict[str, Any]], condition: str = "contended") -> dict[str, Any]:
    """The issue's targets for ``TARGET_GATE`` under ``condition``, each met or not.

    Also, for context, its seconds per verdict against ``benchgate-ab`` (the same first
    pairs without confirmation), i.e. what ``--confirm`` itself costs.
    """
    by_gate = {r["gate"]: r for r in rows if r["condition"] == condition}
    me = by_gate.get(TARGET_GATE)
    if me is None or not me["n"]:
        return {}

    def seconds_ratio(other: str) -> float | None:
        o = by_gate.get(other)
        if o and o["median_seconds"] and me["median_seconds"] is not None:
            return float(me["median_seconds"] / o["median_seconds"])
        return None

    others = [
        (r["accuracy"] or 0.0, g)
        for g, r in by_gate.items()
        if g not in (TARGET_GATE, INSTRUCTION_GATE)
    ]
    best_other, best_gate = max(others, default=(0.0, None))
    acc = me["accuracy"] or 0.0
    ratio = seconds_ratio("naive")
    return {
        "gate": TARGET_GATE,
        "condition": condition,
        "no_false_fail": {"met": me["false_fail"] == 0, "value": me["false_fail"]},
        "no_missed_fail": {"met": me["missed_fail"] == 0, "value": me["missed_fail"]},
        "highest_accuracy": {
            "met": acc >= best_other,
            "value": acc,
            "best_other": best_other,
            "best_other_gate": best_gate,
        },
        "seconds_vs_naive": {"met": ratio is not None and ratio <= 2.0, "value": ratio},
        "seconds_vs_default": seconds_ratio("benchgate-ab"),
        "instructions": instruction_check(by_gate),
    }


def instruction_check(by_gate: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The instruction gate's targets: right in every trial, at most 3x ab --confirm's seconds."""
    me = by_gate.get(INSTRUCTION_GATE)
    if me is None or not me["n"]:
        return None
    ab = by_gate.get(TARGET_GATE)
    ratio = None
    if ab and ab["median_seconds"] and me["median_seconds"] is not None:
        ratio = float(me["median_seconds"] / ab["median_seconds"])
    return {
        "all_right": {"met": me["correct"] == me["n"], "value": f"{me['correct']}/{me['n']}"},
        "seconds_vs_ab_confirm": {"met": ratio is not None and ratio <= 3.0, "value": ratio},
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.0f}%"


def _cell(c: dict[str, int]) -> str:
    cell = f"{c[PASS]}/{c[WARN_V]}/{c[FAIL]}"
    return cell + (f" (+{c[ERROR]} err)" if c[ERROR] else "")


def render_markdown(result: dict[str, Any]) -> str:
    """The table (and the target check) as markdown."""
    s = result["settings"]
    drops = sorted({float(d) for d in [*s["drops"], *_instruction_drops(result)]})
    lines = [
        "## Gate accuracy",
        "",
        f"Size `{s['name']}`: {s['trials']} trials per drop and condition; "
        f"{result['environment']['cpu']}, {result['environment']['cpus']} CPUs, "
        f"Python {result['environment']['python']}; {result['started']}; "
        f"{result['elapsed_s'] / 60:.1f} minutes.",
        "",
        "Cells are PASS/WARN/FAIL counts; the right verdict is under each drop.",
        "",
    ]
    head = ["gate", "condition"]
    head += [f"{d * 100:g}% ({ideal_verdict(d)})" for d in drops]
    head += [
        "accuracy",
        "false FAIL (0-2%)",
        "missed FAIL (>=25%)",
        "interval covered true ratio",
        "median s/verdict",
    ]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("| " + " | ".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + " |")
    for r in result["summary"]:
        cells = [r["gate"], r["condition"]]
        cells += [_cell(r["counts"][f"{d:g}"]) if f"{d:g}" in r["counts"] else "-" for d in drops]
        ff = f"{_pct(r['false_fail_rate'])} ({r['false_fail']}/{r['false_fail_of']})"
        mf = f"{_pct(r['missed_fail_rate'])} ({r['missed_fail']}/{r['missed_fail_of']})"
        med = "-" if r["median_seconds"] is None else f"{r['median_seconds']:.1f}"
        stated = r.get("intervals") or 0
        cov = f"{_pct(r['covered'] / stated)} ({r['covered']}/{stated})" if stated else "-"
        cells += [_pct(r["accuracy"]), ff, mf, cov, med]
        lines.append("| " + " | ".join(cells) + " |")
    t = result.get("targets") or {}
    if t:
        lines += ["", f"Targets for `{t['gate']}` under `{t['condition']}` contention:", ""]

        def mark(ok: bool) -> str:
            return "met" if ok else "MISSED"

        lines.append(
            f"- no false FAIL at 0-2%: {mark(t['no_false_fail']['met'])} "
            f"({t['no_false_fail']['value']} false FAILs)"
        )
        lines.append(
            f"- no missed FAIL at >= 25%: {mark(t['no_missed_fail']['met'])} "
            f"({t['no_missed_fail']['value']} missed)"
        )
        h = t["highest_accuracy"]
        lines.append(
            f"- highest accuracy: {mark(h['met'])} ({_pct(h['value'])}; "
            f"best other gate: {h['best_other_gate']}, {_pct(h['best_other'])})"
        )
        sv = t["seconds_vs_naive"]
        val = "-" if sv["value"] is None else f"{sv['value']:.1f}x"
        lines.append(
            f"- at most 2x the naive rule's seconds per verdict: {mark(sv['met'])} ({val})"
        )
        sd = t.get("seconds_vs_default")
        if sd is not None:
            lines.append(
                f"- (for context: {sd:.2f}x the seconds per verdict of benchgate-ab, "
                "the same first pairs without confirmation)"
            )
        it = t.get("instructions")
        if it:
            sv = it["seconds_vs_ab_confirm"]
            val = "-" if sv["value"] is None else f"{sv['value']:.2f}x"
            lines += [
                "",
                f"Targets for `{INSTRUCTION_GATE}` under `{t['condition']}` contention:",
                "",
                f"- right in every trial: {mark(it['all_right']['met'])} "
                f"({it['all_right']['value']})",
                f"- at most 3x the seconds per verdict of {TARGET_GATE}: {mark(sv['met'])} ({val})",
            ]
    spreads = [
        o["detail"]["spread"]
        for o in result.get("outcomes", [])
        if o["gate"] == INSTRUCTION_GATE and o["detail"].get("spread") is not None
    ]
    if spreads:
        lines += [
            "",
            f"`{INSTRUCTION_GATE}`: largest spread of the counts across the runs of one side: "
            f"{max(spreads) * 100:.4g}% (over {len(spreads)} sides of "
            f"{result['settings']['instruction_runs']} runs).",
        ]
    return "\n".join(lines) + "\n"


def _instruction_drops(result: dict[str, Any]) -> list[float]:
    s = result["settings"]
    if INSTRUCTION_GATE not in s.get("gates", []):
        return []
    return [float(d) for d in s.get("instruction_drops", [])]


# --- contention ---------------------------------------------------------------------------


@contextlib.contextmanager
def contention(
    enabled: bool, procs: int | None = None, on: float = 0.3, off: float = 0.3, seed: int = 0
) -> Iterator[list[int]]:
    """Start ``procs`` bursting CPU hogs (default: one per CPU); kill them by PID on exit.

    Yields their PIDs (empty when not ``enabled``). They are killed in ``finally``, so also
    on errors, Ctrl-C and SIGTERM (``main`` turns SIGTERM into SystemExit).
    """
    hogs: list[subprocess.Popen[bytes]] = []
    try:
        if enabled:
            for i in range(procs or os.cpu_count() or 1):
                hogs.append(
                    subprocess.Popen(
                        [sys.executable, "-c", HOG_CODE, str(seed * 1000 + i), str(on), str(off)],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
        yield [h.pid for h in hogs]
    finally:
        for h in hogs:
            with contextlib.suppress(ProcessLookupError):
                h.kill()
        for h in hogs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                h.wait(timeout=10)


# --- the gates ------------------------------------------------------------------------------


def _status_verdict(status: Any) -> str:
    """benchgate's Status as a verdict class (IMPROVED is PASS; anything else is ERROR)."""
    label = str(status.value).upper()
    if label == "IMPROVED":
        return PASS
    return label if label in (PASS, WARN_V, FAIL) else ERROR


def workload_argv(iterations: int, size: Size) -> tuple[str, ...]:
    """The command line of one benchgate run of the workload (a ``benchgate.bench`` script)."""
    return (
        sys.executable,
        str(WORKLOAD),
        "--iterations",
        str(iterations),
        "--min-time",
        repr(size.min_time),
        "--samples",
        str(size.samples),
        "--warmup",
        "1",
        "-q",
    )


class Harness:
    """Runs the trials: owns the temp folder, benchgate's run options and the RNG."""

    def __init__(
        self,
        size: Size,
        workdir: Path,
        gates: Sequence[str] = GATES,
        seed: int = 1,
        log: Callable[[str], None] | None = None,
    ) -> None:
        from benchgate.config import DEFAULT_ENV
        from benchgate.run.runner import RunOptions

        self.size = size
        self.workdir = workdir
        self.gates = list(gates)
        self.rng = random.Random(seed)
        self.seed = seed
        self.log = log or (lambda _msg: None)
        self.env = dict(DEFAULT_ENV)  # benchgate's default benchmark env vars (hash seed)
        self.options = RunOptions(out_dir=workdir, timeout=300.0, env=self.env)
        self.env_record = self._capture_env()

    def _capture_env(self) -> dict[str, Any]:
        """The environment record benchgate stores with each run (captured once: same host)."""
        try:
            from benchgate.machine.environment import capture_environment
        except ImportError:  # older core without environment capture
            return {}
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        return capture_environment(self.workdir, cpus, self.env)

    # -- benchgate's runs ------------------------------------------------------------------

    def _run(self, iterations: int, invocation: str) -> Any:
        from benchgate.run.discovery import Bench
        from benchgate.run.runner import execute

        bench = Bench(BENCH, workload_argv(iterations, self.size))
        return execute(bench, self.workdir, self.options, invocation, self.env_record)

    @staticmethod
    def _value(record: Any) -> float | None:
        m = record.metrics.get("ops_per_sec")
        return float(m.value) if m is not None else None

    def benchgate_family(self, drop: float, tdir: Path) -> list[Outcome]:
        """naive, benchgate and benchgate-confirm on one set of runs (the same trial)."""
        from benchgate.baselines.file import load_baselines
        from benchgate.config import Config
        from benchgate.fsutil import atomic_write_json
        from benchgate.judge.gate import gate
        from benchgate.run.discovery import Bench
        from benchgate.run.results import write_bench_runs

        size = self.size
        base_n = size.iterations
        cand_n = _iterations_for(base_n, drop)
        t0 = time.perf_counter()
        base_runs = [self._run(base_n, "acc-base") for _ in range(size.runs)]
        cand_runs = [self._run(cand_n, "acc-cand") for _ in range(size.runs)]
        base_vals = [self._value(r) for r in base_runs]
        cand_vals = [self._value(r) for r in cand_runs]
        out: list[Outcome] = []
        detail: dict[str, Any] = {"base": base_vals, "candidate": cand_vals}

        # single-run: the first run of each side, judged once.
        if "single-run" in self.gates:
            b, c = base_vals[0], cand_vals[0]
            secs = base_runs[0].duration_s + cand_runs[0].duration_s
            d = {"base": b, "candidate": c}
            v = ERROR if b is None or c is None else naive_verdict(b, c)
            out.append(Outcome(0, "", drop, "single-run", v, secs, d))

        # naive: the rule, median of 5 each side, FAIL beyond 15% (WARN beyond 5%).
        if "naive" in self.gates:
            ok_b = [v for v in base_vals if v is not None]
            ok_c = [v for v in cand_vals if v is not None]
            secs = sum(r.duration_s for r in base_runs + cand_runs)
            if ok_b and ok_c:
                b, c = statistics.median(ok_b), statistics.median(ok_c)
                out.append(Outcome(0, "", drop, "naive", naive_verdict(b, c), secs, detail))
            else:
                out.append(Outcome(0, "", drop, "naive", ERROR, secs, detail))

        # benchgate: a project folder holding the candidate's runs and a baselines.json
        # whose entry is the median of the baseline's runs, as a refresh would write it.
        proj = tdir / "benchgate"
        out_dir = proj / "out"
        ok_base = [v for v in base_vals if v is not None]
        if not ok_base:
            secs = time.perf_counter() - t0
            for name in ("benchgate", "benchgate-confirm", *STORED_FAMILY):
                if name in self.gates:
                    out.append(Outcome(0, "", drop, name, ERROR, secs, detail))
            return out
        entry = {
            "value": statistics.median(ok_base),
            "unit": "ops/sec",
            "degradation_pct_max": DEGRADATION,
            "variance_pct_warn": WARN,
            "notes": f"median of {len(ok_base)} runs of the baseline workload",
        }
        atomic_write_json(proj / "baselines.json", {KEY: entry})
        cand_argv = workload_argv(cand_n, size)
        config = Config(
            root=proj,
            bench_dir="bench",
            baselines="baselines.json",
            report="report.md",
            out_dir="out",
            commands={BENCH: list(cand_argv)},
            env=dict(self.env),
        )
        write_bench_runs(out_dir, BENCH, cand_runs)
        baselines = load_baselines(config.baselines_path, DEGRADATION, WARN)
        judged = gate(config, out_dir, baselines, baseline_env={})
        v0 = next((v for v in judged.comparison.verdicts if v.key == KEY), None)
        secs = time.perf_counter() - t0
        d0 = dict(detail)
        if v0 is not None:
            d0.update(ratio=_ratio(v0), unsure=v0.unsure, interval=_interval(v0))
        verdict0 = _status_verdict(v0.status) if v0 is not None else ERROR
        if "benchgate" in self.gates:
            out.append(Outcome(0, "", drop, "benchgate", verdict0, secs, d0))
        if "benchgate-confirm" in self.gates:
            from benchgate.judge.confirm import confirm_unsure

            t1 = time.perf_counter()
            res = confirm_unsure(
                config,
                out_dir,
                judged,
                budget_runs=size.confirm_runs,
                benches=[Bench(BENCH, cand_argv)],
                baseline_env={},
            )
            v1 = res.verdict(KEY)
            secs1 = secs + (time.perf_counter() - t1)
            d1 = dict(d0)
            d1["extra_runs"] = res.extra_runs.get(BENCH, 0)
            d1["extra"] = [self._value(r) for r in res.records]
            if v1 is not None:
                d1.update(ratio=_ratio(v1), unsure=v1.unsure, interval=_interval(v1))
            verdict1 = _status_verdict(v1.status) if v1 is not None else ERROR
            out.append(Outcome(0, "", drop, "benchgate-confirm", verdict1, secs1, d1))
        if set(STORED_FAMILY) & set(self.gates):
            runs_secs = sum(r.duration_s for r in base_runs + cand_runs)
            out.extend(self.stored_family(drop, tdir, base_runs, cand_runs, runs_secs, detail))
        return out

    def stored_family(
        self,
        drop: float,
        tdir: Path,
        base_runs: list[Any],
        cand_runs: list[Any],
        runs_secs: float,
        detail: dict[str, Any],
    ) -> list[Outcome]:
        """benchgate-stored and benchgate-stored-confirm: refresh, then compare (--confirm)."""
        from benchgate.baselines.refresh import RefreshOptions, plan_refresh, write_refresh
        from benchgate.config import Config
        from benchgate.judge.gate import gate
        from benchgate.run.results import write_bench_runs

        size = self.size
        proj = tdir / "stored"
        proj.mkdir(parents=True, exist_ok=True)
        config = Config(
            root=proj,
            bench_dir="bench",
            baselines="baselines.json",
            report="report.md",
            out_dir="out",
            env=dict(self.env),
            min_runs=min(5, size.runs),
        )
        t0 = time.perf_counter()
        # `benchgate refresh --only KEY [--allow-noisy KEY]` on the baseline's runs.
        options = RefreshOptions(
            reason="algorithmic",
            why="gate-accuracy trial",
            only=[KEY],
            allow_noisy=[KEY],
            min_runs=config.min_runs,
        )
        plan = plan_refresh(config, {BENCH: list(base_runs)}, "{}\n", options)
        out: list[Outcome] = []
        if not plan.ok:
            d = {**detail, "refusals": plan.refusals}
            secs = runs_secs + time.perf_counter() - t0
            gates = [g for g in STORED_FAMILY if g in self.gates]
            return [Outcome(0, "", drop, g, ERROR, secs, d) for g in gates]
        write_refresh(config, plan, None)
        write_bench_runs(config.out_path, BENCH, list(cand_runs))
        judged = gate(config, config.out_path, baseline_env={})
        v = next((x for x in judged.comparison.verdicts if x.key == KEY), None)
        secs = runs_secs + time.perf_counter() - t0
        d0 = dict(detail)
        if v is not None:
            d0.update(ratio=_ratio(v), unsure=v.unsure, interval=_interval(v))
            d0["interval_method"] = v.interval.method if v.interval else None
        verdict = _status_verdict(v.status) if v is not None else ERROR
        if "benchgate-stored" in self.gates:
            out.append(Outcome(0, "", drop, "benchgate-stored", verdict, secs, d0))
        if "benchgate-stored-confirm" in self.gates:
            if v is None or not _worth(v):
                out.append(Outcome(0, "", drop, "benchgate-stored-confirm", verdict, secs, d0))
            else:
                got = self.ab_rounds(drop)
                d1 = {**d0, **got.detail, "stored_verdict": verdict}
                out.append(
                    Outcome(
                        0, "", drop, "benchgate-stored-confirm", got.verdict, secs + got.seconds, d1
                    )
                )
        return out

    def ab_rounds(self, drop: float, confirm: bool = True) -> Outcome:
        """``size.pairs`` interleaved base/candidate rounds judged on their paired ratios.

        With ``confirm``: then, while ``benchgate.judge.confirm.worth_confirming`` says the
        paired verdict is unsure where it matters, one more round at a time (the side that
        goes first still alternating) up to ``size.confirm_runs`` more, judged on all
        pairs: the loop ``ab --confirm`` and ``compare --confirm`` run.
        """
        from benchgate.ab.run import judge_pairs

        size = self.size
        base_n, cand_n = size.iterations, _iterations_for(size.iterations, drop)
        t0 = time.perf_counter()
        pairs: list[tuple[float, float]] = []
        rounds = 0

        def one_round() -> None:
            nonlocal rounds
            rounds += 1
            # Which side goes first alternates each round, as in `benchgate ab`.
            sides = [("base", base_n), ("cand", cand_n)]
            if rounds % 2 == 0:
                sides.reverse()
            recs = {side: self._run(n, "acc-ab") for side, n in sides}
            b, c = self._value(recs["base"]), self._value(recs["cand"])
            if b is not None and c is not None:
                pairs.append((b, c))

        def worth(extra: int) -> bool:
            if not pairs or extra >= size.confirm_runs:
                return False
            status, ratio, interval, _unsure = judge_pairs(pairs, True, DEGRADATION, WARN)
            return _worth_paired(status, ratio, interval, len(pairs))

        for _ in range(size.pairs):
            one_round()
        first_seconds = time.perf_counter() - t0
        extra = 0
        if confirm:
            while worth(extra):
                one_round()
                extra += 1
        secs = time.perf_counter() - t0
        if not pairs:
            return Outcome(0, "", drop, "", ERROR, secs)
        status, ratio, interval, unsure = judge_pairs(pairs, True, DEGRADATION, WARN)
        detail = {
            "pairs": list(pairs),
            "ratio": ratio,
            "unsure": unsure,
            "interval": [interval.low, interval.high] if interval else None,
            "extra_rounds": extra,
            "first_seconds": first_seconds,
        }
        return Outcome(0, "", drop, "", _status_verdict(status), secs, detail)

    def benchgate_ab(self, drop: float) -> list[Outcome]:
        """Interleaved base/candidate pairs judged on their paired ratios (benchgate ab).

        ``benchgate-ab``: the first ``size.pairs`` rounds. ``benchgate-ab-confirm``: the
        same rounds, then more while unsure where it matters (:meth:`ab_rounds`). Both are
        read off one sequence of rounds: the first gate's verdict is taken before the
        confirmation rounds.
        """
        out = []
        if "benchgate-ab-confirm" in self.gates:
            full = self.ab_rounds(drop, confirm=True)
            if "benchgate-ab" in self.gates:
                first = self._first_pairs(full)
                out.append(replace(first, gate="benchgate-ab"))
            out.append(replace(full, gate="benchgate-ab-confirm"))
        elif "benchgate-ab" in self.gates:
            out.append(replace(self.ab_rounds(drop, confirm=False), gate="benchgate-ab"))
        return out

    # -- instruction counts -----------------------------------------------------------------

    def benchgate_instructions(self, drop: float, tdir: Path) -> Outcome:
        """Counted runs of each side, judged against a baselines.json entry (the median)."""
        from benchgate.baselines.file import load_baselines
        from benchgate.config import Config
        from benchgate.fsutil import atomic_write_json
        from benchgate.judge.gate import gate
        from benchgate.run.discovery import Bench
        from benchgate.run.results import write_bench_runs
        from benchgate.run.runner import execute

        size = self.size
        key = f"{BENCH}.{METRIC_INSTRUCTIONS}"
        opts = replace(self.options, measure=("instructions",), calls=size.instruction_calls)
        base_n, cand_n = size.iterations, _iterations_for(size.iterations, drop)
        t0 = time.perf_counter()

        def runs(n: int) -> list[Any]:
            bench = Bench(BENCH, workload_argv(n, size), WORKLOAD)
            return [
                execute(bench, self.workdir, opts, "acc-instr", self.env_record)
                for _ in range(size.instruction_runs)
            ]

        base_runs, cand_runs = runs(base_n), runs(cand_n)

        def values(rs: list[Any]) -> list[float]:
            return [float(r.metrics[METRIC_INSTRUCTIONS].value) for r in rs if r.metrics]

        base_vals, cand_vals = values(base_runs), values(cand_runs)
        detail: dict[str, Any] = {"base": base_vals, "candidate": cand_vals}
        if not base_vals or not cand_vals:
            reasons = [r.reason for r in base_runs + cand_runs if r.reason]
            detail["errors"] = reasons[:2]
            return Outcome(0, "", drop, INSTRUCTION_GATE, ERROR, time.perf_counter() - t0, detail)
        detail["spread"] = (
            max((max(v) - min(v)) / min(v) for v in (base_vals, cand_vals) if len(v) > 1)
            if len(base_vals) > 1
            else None
        )
        proj = tdir / "instructions"
        atomic_write_json(
            proj / "baselines.json",
            {
                key: {
                    "value": statistics.median(base_vals),
                    "unit": "instructions",
                    "higher_is_better": False,
                    "degradation_pct_max": DEGRADATION,
                    "variance_pct_warn": WARN,
                }
            },
        )
        config = Config(
            root=proj,
            bench_dir="bench",
            baselines="baselines.json",
            report="report.md",
            out_dir="out",
            env=dict(self.env),
        )
        write_bench_runs(proj / "out", BENCH, cand_runs)
        baselines = load_baselines(config.baselines_path, DEGRADATION, WARN)
        judged = gate(config, proj / "out", baselines, baseline_env={})
        v = next((x for x in judged.comparison.verdicts if x.key == key), None)
        if v is not None:
            detail.update(ratio=_ratio(v), unsure=v.unsure, interval=_interval(v))
            detail["determinism"] = [w for w in judged.comparison.warnings if "Determinism" in w]
        verdict = _status_verdict(v.status) if v is not None else ERROR
        return Outcome(0, "", drop, INSTRUCTION_GATE, verdict, time.perf_counter() - t0, detail)

    def _first_pairs(self, full: Outcome) -> Outcome:
        """``full``'s verdict on its first ``size.pairs`` pairs only (benchgate-ab)."""
        from benchgate.ab.run import judge_pairs

        pairs = (full.detail.get("pairs") or [])[: self.size.pairs]
        if not pairs:
            return full
        status, ratio, interval, unsure = judge_pairs(
            [tuple(p) for p in pairs], True, DEGRADATION, WARN
        )
        detail = {
            "pairs": list(pairs),
            "ratio": ratio,
            "unsure": unsure,
            "interval": [interval.low, interval.high] if interval else None,
            "extra_rounds": 0,
        }
        secs = float(full.detail.get("first_seconds", full.seconds))
        return Outcome(0, "", full.drop, "", _status_verdict(status), secs, detail)

    # -- pytest-benchmark ------------------------------------------------------------------

    def pytest_benchmark(self, drop: float, tdir: Path) -> Outcome:
        """Baseline saved, candidate compared with --benchmark-compare-fail=median:15%."""
        d = tdir / "pytest-benchmark"
        d.mkdir(parents=True, exist_ok=True)
        (d / "pytest.ini").write_text("[pytest]\n")
        (d / "conftest.py").write_text(PYTEST_CONFTEST)
        test = d / "test_accuracy_workload.py"
        test.write_text(PYTEST_TEST.format(workload_dir=str(HERE)))
        size = self.size
        common = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(d / "pytest.ini"),
            "--rootdir",
            str(d),
            str(test),
            f"--benchmark-storage=file://{d / 'storage'}",
            f"--benchmark-max-time={size.pytest_max_time}",
            f"--benchmark-min-rounds={size.pytest_min_rounds}",
        ]
        t0 = time.perf_counter()
        base = self._sub(
            [*common, "--benchmark-save=base", f"--benchmark-json={d / 'base.json'}"],
            {"ACC_ITERATIONS": str(size.iterations)},
            d,
        )
        cand = self._sub(
            [
                *common,
                "--benchmark-compare",
                f"--benchmark-compare-fail=median:{DEGRADATION * 100:g}%",
                f"--benchmark-json={d / 'cand.json'}",
            ],
            {"ACC_ITERATIONS": str(_iterations_for(size.iterations, drop))},
            d,
        )
        secs = time.perf_counter() - t0
        detail: dict[str, Any] = {}
        try:
            b = _pytest_median(d / "base.json")
            c = _pytest_median(d / "cand.json")
            detail = {"base_median_s": b, "candidate_median_s": c, "time_ratio": c / b}
        except (OSError, ValueError, KeyError, IndexError, ZeroDivisionError) as exc:
            detail = {"error": str(exc), "stderr": (base.stdout + cand.stdout)[-2000:]}
            return Outcome(0, "", drop, "pytest-benchmark", ERROR, secs, detail)
        if base.returncode != 0:
            detail["error"] = base.stdout[-2000:]
            return Outcome(0, "", drop, "pytest-benchmark", ERROR, secs, detail)
        if cand.returncode != 0:
            verdict = FAIL if "Performance has regressed" in cand.stdout else ERROR
            if verdict == ERROR:
                detail["error"] = cand.stdout[-2000:]
        elif detail["time_ratio"] > 1 + WARN:
            verdict = WARN_V
        else:
            verdict = PASS
        return Outcome(0, "", drop, "pytest-benchmark", verdict, secs, detail)

    # -- pyperf ------------------------------------------------------------------------------

    def pyperf(self, drop: float, tdir: Path) -> Outcome:
        """Both sides under pyperf's Runner, judged with compare_to's significance test."""
        d = tdir / "pyperf"
        d.mkdir(parents=True, exist_ok=True)
        size = self.size

        def side(name: str, iterations: int) -> subprocess.CompletedProcess[str]:
            return self._sub(
                [
                    sys.executable,
                    str(PYPERF_SCRIPT),
                    "--iterations",
                    str(iterations),
                    "--processes",
                    str(size.pyperf_processes),
                    "--values",
                    str(size.pyperf_values),
                    "--warmups",
                    str(size.pyperf_warmups),
                    "--min-time",
                    repr(size.min_time),
                    "--quiet",
                    "-o",
                    str(d / f"{name}.json"),
                ],
                {},
                d,
            )

        t0 = time.perf_counter()
        base = side("base", size.iterations)
        cand = side("cand", _iterations_for(size.iterations, drop))
        try:
            significant, norm = _pyperf_compare(d / "base.json", d / "cand.json")
        except Exception as exc:  # pyperf raises many kinds of errors on a bad file
            detail: dict[str, Any] = {
                "error": f"{type(exc).__name__}: {exc}",
                "out": (base.stdout + cand.stdout)[-2000:],
            }
            return Outcome(0, "", drop, "pyperf", ERROR, time.perf_counter() - t0, detail)
        secs = time.perf_counter() - t0
        if significant and norm > 1 + DEGRADATION:
            verdict = FAIL
        elif significant and norm > 1 + WARN:
            verdict = WARN_V
        else:
            verdict = PASS
        detail = {"significant": significant, "time_ratio": norm}
        return Outcome(0, "", drop, "pyperf", verdict, secs, detail)

    @staticmethod
    def _sub(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
        merged = dict(os.environ)
        merged.update(env)
        return subprocess.run(
            argv,
            cwd=cwd,
            env=merged,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=600,
        )

    # -- one trial ---------------------------------------------------------------------------

    def trial(self, trial: int, condition: str, drop: float) -> list[Outcome]:
        """Every selected gate on one (condition, drop), in a shuffled order."""
        tdir = self.workdir / f"t{trial}-{condition}-{drop:g}"
        tdir.mkdir(parents=True, exist_ok=True)
        families: list[str] = []
        if set(SEQUENTIAL_FAMILY) & set(self.gates):
            families.append("benchgate")
        if set(AB_FAMILY) & set(self.gates):
            families.append("benchgate-ab")
        families += [g for g in (INSTRUCTION_GATE, "pytest-benchmark", "pyperf") if g in self.gates]
        if drop not in self.size.drops:  # an instruction-only cell (the 1% one)
            families = [f for f in families if f == INSTRUCTION_GATE]
        self.rng.shuffle(families)
        out: list[Outcome] = []
        for fam in families:
            if fam == "benchgate":
                got = self.benchgate_family(drop, tdir)
            elif fam == "benchgate-ab":
                got = self.benchgate_ab(drop)
            elif fam == INSTRUCTION_GATE:
                got = [self.benchgate_instructions(drop, tdir)]
            elif fam == "pytest-benchmark":
                got = [self.pytest_benchmark(drop, tdir)]
            else:
                got = [self.pyperf(drop, tdir)]
            for o in got:
                o.detail.setdefault("iterations", self.size.iterations)
            out.extend(replace(o, trial=trial, condition=condition) for o in got)
        return out

    def run(self) -> list[Outcome]:
        """All trials: per trial, each condition (order alternating), drops shuffled."""
        size = self.size
        outcomes: list[Outcome] = []
        all_drops = all_drops_of(size, self.gates)
        total = size.trials * len(size.conditions) * len(all_drops)
        done = 0
        t0 = time.perf_counter()
        for trial in range(1, size.trials + 1):
            conditions = list(size.conditions)
            if trial % 2 == 0:
                conditions.reverse()
            for condition in conditions:
                drops = list(all_drops)
                self.rng.shuffle(drops)
                with contention(
                    condition == "contended",
                    on=size.hog_on,
                    off=size.hog_off,
                    seed=self.seed * 100 + trial,
                ):
                    for drop in drops:
                        got = self.trial(trial, condition, drop)
                        outcomes.extend(got)
                        done += 1
                        verdicts = ", ".join(f"{o.gate}={o.verdict}" for o in got)
                        self.log(
                            f"[{done}/{total} {time.perf_counter() - t0:.0f}s] trial {trial} "
                            f"{condition} drop {drop * 100:g}% (ideal {ideal_verdict(drop)}): "
                            f"{verdicts}"
                        )
        return outcomes


PYTEST_CONFTEST = '''\
"""Machine info without py-cpuinfo's probe (about 1.3 s per pytest run, and not part of
the measurement): pytest-benchmark's documented hook, so its seconds per verdict are not
inflated by it."""
import platform

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_benchmark_generate_machine_info(config):
    return {
        "node": platform.node(),
        "processor": platform.processor(),
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "system": platform.system(),
        "release": platform.release(),
        "cpu": {},
    }
'''

PYTEST_TEST = """\
import os
import sys

sys.path.insert(0, {workload_dir!r})

from _accuracy_workload import work  # noqa: E402

N = int(os.environ["ACC_ITERATIONS"])


def test_workload(benchmark):
    benchmark(work, N)
"""


def _load_workload() -> Any:
    """The workload module, loaded from its file (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("_accuracy_workload", WORKLOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _iterations_for(base: int, drop: float) -> int:
    """Steps per call of the candidate whose throughput is lower by exactly ``drop``."""
    return int(_load_workload().iterations_for(base, drop))


def _worth(v: Any) -> bool:
    """``benchgate.judge.confirm.worth_confirming`` of a stored-baseline verdict."""
    from benchgate.judge.confirm import worth_confirming

    return bool(worth_confirming(v))


def _worth_paired(status: Any, ratio: float, interval: Any, n: int) -> bool:
    """``worth_confirming`` of a paired verdict (higher is better, default thresholds)."""
    from benchgate.judge.confirm import worth_confirming
    from benchgate.model import Verdict

    v = Verdict("acc.ab", status, None, None, None, None, True, DEGRADATION, WARN)
    v.n, v.interval, v.ratio = n, interval, ratio
    return bool(worth_confirming(v))


def _ratio(v: Any) -> float | None:
    if v.baseline and v.current is not None:
        return float(v.current / v.baseline)
    return None


def _interval(v: Any) -> list[float] | None:
    return [v.interval.low, v.interval.high] if v.interval is not None else None


def _pytest_median(path: Path) -> float:
    data = json.loads(path.read_text(encoding="utf-8"))
    return float(data["benchmarks"][0]["stats"]["median"])


def _pyperf_compare(base: Path, cand: Path) -> tuple[bool, float]:
    """(significant, candidate mean time / baseline mean time), as ``compare_to`` judges."""
    import pyperf

    b = pyperf.Benchmark.load(str(base))
    c = pyperf.Benchmark.load(str(cand))
    try:
        from pyperf._compare import is_significant_benchs

        significant, _t = is_significant_benchs(b, c)
    except ImportError:  # pragma: no cover - other pyperf versions
        from pyperf._utils import is_significant

        significant, _t = is_significant(b.get_values(), c.get_values())
    return bool(significant), float(c.mean() / b.mean())


# --- running it -----------------------------------------------------------------------------


def environment() -> dict[str, Any]:
    """Where the numbers came from."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions: dict[str, str] = {}
    from importlib import metadata

    for pkg in ("benchgate", "pytest-benchmark", "pyperf", "pytest"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[pkg] = metadata.version(pkg)
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def all_drops_of(size: Size, gates: Sequence[str]) -> list[float]:
    """The grid's drops, and the instruction gate's extra ones when it runs."""
    extra = [d for d in size.instruction_drops if d not in size.drops]
    return sorted([*size.drops, *(extra if INSTRUCTION_GATE in gates else [])])


def run_benchmark(
    size: Size,
    gates: Sequence[str] = GATES,
    seed: int = 1,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every trial of ``size`` and return the full result (settings, outcomes, table)."""
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="benchgate-accuracy-") as tmp:
        harness = Harness(size, Path(tmp), gates, seed, log)
        outcomes = harness.run()
    summary = summarize(outcomes, gates, size.conditions, all_drops_of(size, gates))
    return {
        "schema": SCHEMA,
        "started": started,
        "elapsed_s": round(time.perf_counter() - t0, 1),
        "settings": {**asdict(size), "gates": list(gates), "seed": seed},
        "thresholds": {"degradation_pct_max": DEGRADATION, "variance_pct_warn": WARN},
        "environment": environment(),
        "summary": summary,
        "targets": target_check(summary) if "contended" in size.conditions else {},
        "outcomes": [asdict(o) for o in outcomes],
    }


def write_result(result: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Save the markdown table at ``out`` and the full JSON beside it (same name, .json)."""
    from benchgate.fsutil import atomic_write_json, atomic_write_text

    md = out if out.suffix == ".md" else out.with_suffix(".md")
    js = md.with_suffix(".json")
    atomic_write_text(md, render_markdown(result))
    atomic_write_json(js, result)
    return md, js


def _sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through contention()'s finally: hogs killed


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python benchmarks/gate_accuracy.py [--quick] [--out FILE]``."""
    parser = argparse.ArgumentParser(
        description="Gate-accuracy benchmark: benchgate vs pytest-benchmark, pyperf and a "
        "naive rule on a workload slowed by known amounts, quiet and under contention.",
        epilog="Example: python benchmarks/gate_accuracy.py --quick --out /tmp/acc.md",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="1 trial per cell, under 3 minutes")
    group.add_argument("--tiny", action="store_true", help="the machinery only (for tests)")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"markdown table (default {DEFAULT_OUT})"
    )
    parser.add_argument("--trials", type=int, default=None, help="trials per drop and condition")
    parser.add_argument(
        "--gates",
        default=None,
        help=f"comma-separated subset of {', '.join(GATES)} (default: all; --tiny: all but "
        f"{INSTRUCTION_GATE})",
    )
    parser.add_argument(
        "--drops", default=None, help="comma-separated drops, e.g. 0,0.1 (default: the grid)"
    )
    parser.add_argument(
        "--conditions", default=None, help="quiet, contended or both (default: the size's)"
    )
    parser.add_argument("--instruction-runs", type=int, default=None, help="counted runs per side")
    parser.add_argument("--seed", type=int, default=1, help="order of drops and gates")
    args = parser.parse_args(argv)
    size = SIZES["quick" if args.quick else "tiny" if args.tiny else "default"]
    if args.trials is not None:
        if args.trials < 1:
            parser.error("--trials must be at least 1")
        size = replace(size, trials=args.trials)
    if args.drops is not None:
        size = replace(size, drops=tuple(float(d) for d in args.drops.split(",") if d.strip()))
    if args.conditions is not None:
        conds = tuple(c.strip() for c in args.conditions.split(",") if c.strip())
        if not conds or any(c not in CONDITIONS for c in conds):
            parser.error(f"--conditions must be among {', '.join(CONDITIONS)}")
        size = replace(size, conditions=conds)
    if args.instruction_runs is not None:
        if args.instruction_runs < 1:
            parser.error("--instruction-runs must be at least 1")
        size = replace(size, instruction_runs=args.instruction_runs)
    if args.gates is None:
        default = [g for g in GATES if not (args.tiny and g == INSTRUCTION_GATE)]
        args.gates = ",".join(default)
    gates = [g.strip() for g in args.gates.split(",") if g.strip()]
    unknown = [g for g in gates if g not in GATES]
    if unknown or not gates:
        parser.error(f"unknown gate(s) {', '.join(unknown) or '(none given)'}")
    signal.signal(signal.SIGTERM, _sigterm)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    result = run_benchmark(size, [g for g in GATES if g in gates], args.seed, log)
    md, js = write_result(result, args.out)
    print(render_markdown(result))
    print(f"wrote {md} and {js}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
