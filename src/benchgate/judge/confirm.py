"""``--confirm``: measure again the benches whose WARN or FAIL is unsure, judge on all runs.

A metric that lands on WARN or FAIL with an interval that straddles its threshold (or
with too few runs to have an interval at all) is not settled; nor is a PASS whose
interval reaches into FAIL (a regression the first runs may have missed). Its bench alone is run
again, round-robin with the other benches being confirmed (so drift hits them alike),
and every new run is appended to the out-dir: nothing is thrown away, no best-of-N. After
each round every metric is reduced again over ALL its runs, first ones included, and
judged again; a bench stops when none of its WARN/FAIL verdicts is unsure any more, when
it has had ``budget_runs`` more runs, or when the time limit is spent.

Each confirmation run records the keys it was made for in ``command["confirm_for"]``, so
a later ``benchgate compare`` still shows "confirmed with N more runs".
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchgate.config import Config
from benchgate.judge.compare import compare, judge
from benchgate.judge.confidence import CONFIRM_KEY, MIN_CI_RUNS, annotate, is_unsure
from benchgate.judge.gate import Gate, comparison_warnings, write_out_report
from benchgate.judge.reduce import load_reduced, reduce_runs, write_reduced
from benchgate.machine.environment import capture_environment
from benchgate.model import RunRecord, Status, Verdict
from benchgate.run.discovery import Bench, discover
from benchgate.run.results import write_bench_runs
from benchgate.run.runner import Progress, RunOptions, execute

DEFAULT_CONFIRM_RUNS = 10

# Verdicts worth confirming: the ones that cost the PR something.
CONFIRMABLE = {Status.WARN, Status.FAIL}

SETTLED = "settled"
BUDGET = "budget spent"
TIME = "time limit"
NOT_FOUND = "bench not found"


def worth_confirming(v: Verdict) -> bool:
    """Whether more runs could change what this verdict costs the PR.

    Two cases: a WARN or FAIL that is unsure (its interval straddles a threshold) or has
    too few runs for an interval; and a PASS or IMPROVED whose interval reaches into FAIL,
    i.e. a FAIL the first runs may have missed. A PASS that is only unsure about WARN is
    left alone: at worst it would become a warning, and confirming it would cost runs on
    every noisy bench. The one rule for ``compare --confirm``, ``run --confirm`` and
    ``ab --confirm`` (a paired verdict's ``n`` is its number of pairs).
    """
    hib, deg, warn = v.higher_is_better, v.degradation_pct_max, v.variance_pct_warn
    if v.interval is None:
        return v.status in CONFIRMABLE and 0 < v.n < MIN_CI_RUNS
    if hib is None or deg is None or warn is None:
        return False  # not a judged verdict (NEW, MISSING, ...): nothing to confirm
    if v.status in CONFIRMABLE:
        return is_unsure(v.status, v.interval, hib, deg, warn)
    if v.status in (Status.PASS, Status.IMPROVED):
        worse = v.interval.low if hib else v.interval.high
        return judge(1.0, worse, hib, deg, warn) is Status.FAIL
    return False


@dataclass
class ConfirmLoop:
    """What :func:`confirm_loop` did."""

    extra: dict[str, int]  # bench -> runs (or rounds) made
    stopped: dict[str, str]  # bench -> why it stopped: SETTLED, BUDGET or TIME
    verdicts: dict[str, Verdict]  # key -> the verdict after the last round (empty if none)


def confirm_loop(
    targets: dict[str, list[str]],
    run_round: Callable[[int, list[str]], list[str]],
    judge_again: Callable[[], dict[str, Verdict]],
    budget: int,
    out_of_time: Callable[[], bool],
) -> ConfirmLoop:
    """More rounds for the benches in ``targets`` (bench -> keys) until each is settled.

    ``run_round(round, benches)`` measures each bench once more, round-robin so drift
    hits them alike, and returns the benches it did measure (fewer when time ran out
    mid-round); ``judge_again()`` judges every metric again on ALL its runs, first ones
    included. A bench stops when none of its keys is :func:`worth_confirming` any more
    (SETTLED), after ``budget`` more rounds (BUDGET), or when ``out_of_time()`` says so
    before a round (TIME).
    """
    active = list(targets)
    extra = {b: 0 for b in active}
    stopped: dict[str, str] = {}
    verdicts: dict[str, Verdict] = {}
    rnd = 0
    while active and not out_of_time():
        rnd += 1
        for b in run_round(rnd, list(active)):
            extra[b] += 1
        verdicts = judge_again()
        for b in list(active):
            if not any(k in verdicts and worth_confirming(verdicts[k]) for k in targets[b]):
                stopped[b] = SETTLED
                active.remove(b)
            elif extra[b] >= budget:
                stopped[b] = BUDGET
                active.remove(b)
    for b in active:
        stopped[b] = TIME
    return ConfirmLoop(extra, stopped, verdicts)


@dataclass
class ConfirmResult:
    """What ``confirm_unsure`` did, and the gate judged again on all runs."""

    gate: Gate
    targets: dict[str, list[str]]  # bench -> the keys it was re-run for
    before: dict[str, Verdict]  # key -> the verdict before confirmation
    extra_runs: dict[str, int] = field(default_factory=dict)  # bench -> runs made
    stopped: dict[str, str] = field(default_factory=dict)  # bench -> why it stopped
    records: list[RunRecord] = field(default_factory=list)
    elapsed_s: float = 0.0

    def verdict(self, key: str) -> Verdict | None:
        """The verdict of ``key`` after confirmation."""
        return next((v for v in self.gate.comparison.verdicts if v.key == key), None)

    def lines(self) -> list[str]:
        """One human line per confirmed metric: before -> after, on how many runs."""
        if not self.targets:
            return ["confirm: no verdict is unsure in a way that matters: nothing to confirm"]
        out = []
        for bench, keys in self.targets.items():
            why = self.stopped.get(bench, "")
            for key in keys:
                old = self.before[key]
                new = self.verdict(key)
                label = f"{old.status.label}{' (unsure)' if old.unsure else ''}"
                if new is None:
                    out.append(f"confirm: {key}: {label} -> gone ({why})")
                    continue
                now = f"{new.status.label}{' (unsure)' if new.unsure else ''}"
                out.append(
                    f"confirm: {key}: {label} -> {now} on all {new.n} runs "
                    f"({self.extra_runs.get(bench, 0)} more; {why})"
                )
        return out


def _latest(runs: list[RunRecord]) -> RunRecord | None:
    return max(runs, key=lambda r: r.started) if runs else None


def _options_for(
    config: Config, out_dir: Path, runs: list[RunRecord], budget: int, argv: list[str]
) -> RunOptions:
    """Measure as the bench's latest run did: same CPUs, env vars and timeout."""
    last = _latest(runs)
    cmd = last.command if last is not None else {}
    cpus = cmd.get("cpus")
    env = cmd.get("env")
    timeout = cmd.get("timeout")
    return RunOptions(
        out_dir=out_dir,
        append=True,
        repeat=budget,
        cpus=[int(c) for c in cpus] if isinstance(cpus, list) else None,
        timeout=float(timeout) if isinstance(timeout, (int, float)) else config.timeout,
        env={str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else dict(config.env),
        argv=argv,
        disturbed_share=config.disturbed_share,
        metric_rules=config.metrics,
    )


def _env_record(config: Config, options: RunOptions) -> dict[str, Any]:
    import os

    used = options.cpus
    if used is None and hasattr(os, "sched_getaffinity"):
        used = sorted(os.sched_getaffinity(0))
    return capture_environment(config.root, used, options.env)


def confirm_unsure(
    config: Config,
    out_dir: Path,
    gate_result: Gate,
    budget_runs: int = DEFAULT_CONFIRM_RUNS,
    time_limit_s: float | None = None,
    progress: Callable[[Progress], None] | None = None,
    argv: list[str] | None = None,
    baseline_env: dict[str, Any] | None = None,
    benches: list[Bench] | None = None,
) -> ConfirmResult:
    """Re-run the benches of unsure WARN/FAIL verdicts and judge again on all their runs.

    ``budget_runs`` more runs per bench at most; ``time_limit_s`` bounds the whole
    confirmation (checked before each run). New runs are appended to ``out_dir`` as they
    finish. ``baseline_env`` is passed on to the environment warnings as in
    :func:`benchgate.judge.gate.gate`; ``benches`` defaults to the project's discovered ones.
    Returns the new gate (verdicts with ``confirmed_runs`` set) and what was done.
    """
    if budget_runs < 1:
        raise ValueError("budget_runs must be at least 1")
    t0 = time.perf_counter()
    comparison = gate_result.comparison
    targets: dict[str, list[str]] = {}
    before: dict[str, Verdict] = {}
    for v in comparison.verdicts:
        if worth_confirming(v):
            targets.setdefault(v.bench, []).append(v.key)
            before[v.key] = copy.deepcopy(v)
    result = ConfirmResult(gate=gate_result, targets=targets, before=before)
    if not targets:
        return result

    known = {b.name: b for b in (benches if benches is not None else discover(config))}
    runs = {name: list(rs) for name, rs in gate_result.runs.items()}
    argv = argv or ["benchgate", "compare", "--confirm"]
    options: dict[str, RunOptions] = {}
    envs: dict[str, dict[str, Any]] = {}
    active: list[str] = []
    for name in targets:
        if name not in known:
            result.stopped[name] = NOT_FOUND
            continue
        opts = _options_for(config, out_dir, runs.get(name, []), budget_runs, argv)
        options[name] = opts
        fp = repr((opts.cpus, sorted(opts.env.items())))
        if fp not in envs:
            envs[fp] = _env_record(config, opts)
        active.append(name)
    fingerprints = {name: repr((o.cpus, sorted(o.env.items()))) for name, o in options.items()}
    invocation = (
        "confirm-"
        + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        + "-"
        + uuid.uuid4().hex[:6]
    )
    method = gate_result.reduced.method
    drop_disturbed = gate_result.reduced.dropped_disturbed > 0
    latest = {"reduced": gate_result.reduced}
    timed_out = False

    def time_spent() -> bool:
        return timed_out or (time_limit_s is not None and time.perf_counter() - t0 >= time_limit_s)

    def run_round(rnd: int, names: list[str]) -> list[str]:
        nonlocal timed_out
        ran = []
        for i, name in enumerate(names, 1):
            if time_spent():  # checked before each run: a bench run can be long
                timed_out = True
                break
            if progress:
                progress(Progress(name, i, len(names), rnd, budget_runs, time.perf_counter() - t0))
            record = execute(
                known[name], config.root, options[name], invocation, envs[fingerprints[name]]
            )
            record.command[CONFIRM_KEY] = list(targets[name])
            runs.setdefault(name, []).append(record)
            write_bench_runs(out_dir, name, runs[name])
            result.records.append(record)
            ran.append(name)
            if progress:
                elapsed = time.perf_counter() - t0
                progress(Progress(name, i, len(names), rnd, budget_runs, elapsed, record))
        return ran

    def judge_again() -> dict[str, Verdict]:
        reduced = latest["reduced"] = reduce_runs(runs, method, drop_disturbed)
        judged = compare(reduced, gate_result.baselines)
        annotate(
            judged,
            reduced,
            gate_result.baselines,
            drift_pct=gate_result.drift_pct,
            drift_by_key=gate_result.drifts,
        )
        return {v.key: v for v in judged.verdicts}

    loop = confirm_loop(
        {name: targets[name] for name in active}, run_round, judge_again, budget_runs, time_spent
    )
    result.extra_runs.update(loop.extra)
    result.stopped.update(loop.stopped)
    reduced = latest["reduced"]

    if result.records:
        stored = load_reduced(out_dir)
        if stored is not None and stored.run_ids == gate_result.reduced.run_ids:
            # reduced.json covered the runs before: keep it covering them, same method.
            write_reduced(out_dir, reduced)
        final = compare(reduced, gate_result.baselines)
        final.warnings = comparison_warnings(runs, reduced, final, baseline_env)
        annotate(
            final,
            reduced,
            gate_result.baselines,
            runs,
            drift_pct=gate_result.drift_pct,
            drift_by_key=gate_result.drifts,
        )
        result.gate = Gate(
            runs, reduced, gate_result.baselines, final, gate_result.drift_pct, gate_result.drifts
        )
        write_out_report(config, out_dir, reduced)
    result.elapsed_s = time.perf_counter() - t0
    return result
