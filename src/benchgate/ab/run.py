"""``benchgate ab``: the base revision and the working tree measured in the same job.

On a shared runner the host's speed drifts by tens of percent for minutes at a time, so
a number measured now and a baseline measured last week can disagree for no reason in
the code. A/B removes the drift: the base revision is checked out in a temporary git
worktree and its benches run interleaved with the working tree's, run by run (base,
head, head, base, base, head, ...: which side goes first alternates each round so order
effects cancel). Each round of a bench gives one pair; a metric is judged by the median
of its per-pair ratios head/base, with a distribution-free (sign-test) interval, against
the thresholds of gates.md (``compare.judge`` on the ratio against 1.0).

How the base revision's own code is imported: each side's bench runs with its own tree
as working directory and ``PYTHONPATH`` starting with ``<tree>/src`` (when the project
has a src layout) and ``<tree>``. ``PYTHONPATH`` comes before site-packages and before
the import hooks of editable installs, so each side imports its own source. This cannot
help code that is only importable after a build step (compiled extensions, generated
files): the base worktree is a plain checkout, never built. Submodules are not checked
out in the worktree either.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchgate.baselines.file import load_baselines
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.fsutil import atomic_write_json
from benchgate.gitutil import git, head_state, last_line, resolve_rev, toplevel
from benchgate.judge.compare import compare, judge, units_match
from benchgate.judge.confidence import MIN_CI_RUNS, annotate, is_unsure
from benchgate.judge.reduce import reduce_runs
from benchgate.judge.stats import paired_median_ratio, paired_ratio_interval
from benchgate.model import (
    STATUS_ORDER,
    Baseline,
    Interval,
    RunRecord,
    RunStatus,
    Status,
    Verdict,
)
from benchgate.run.discovery import Bench, discover, select
from benchgate.run.measure import DEFAULT_CALLS, TIME_ONLY, check_available, determinism_problems
from benchgate.run.results import result_files, write_bench_runs
from benchgate.run.runner import Progress, RunOptions, execute

AB_DIR = "ab"
AB_FILE = "ab.json"
AB_SCHEMA = "benchgate.ab/1"

# Paired verdicts that make `benchgate ab` exit 1.
AB_GATING = {Status.FAIL, Status.ERROR}


@dataclass
class ABMetric:
    """One metric judged by its paired head/base ratios."""

    key: str
    status: Status
    unit: str | None
    higher_is_better: bool | None
    degradation_pct_max: float
    variance_pct_warn: float
    thresholds_from: str  # "baselines.json" or "config"
    ratio: float | None = None  # median of the per-pair ratios head/base
    interval: Interval | None = None
    unsure: bool = False
    pairs: int = 0
    base: float | None = None  # median of the base runs
    head: float | None = None  # median of the head runs
    reason: str | None = None
    # The working tree's runs against baselines.json, when that file exists.
    baseline_verdict: Verdict | None = None
    # --confirm: rounds added for this metric's bench, and the verdict before them.
    confirmed_pairs: int = 0
    before: tuple[Status, bool] | None = None  # (status, unsure) after the first rounds

    @property
    def bench(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def delta_pct(self) -> float | None:
        """The paired change in percent, (ratio - 1) * 100."""
        return None if self.ratio is None else (self.ratio - 1) * 100

    def to_dict(self) -> dict[str, Any]:
        bv = self.baseline_verdict
        return {
            "key": self.key,
            "status": self.status.value,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "degradation_pct_max": self.degradation_pct_max,
            "variance_pct_warn": self.variance_pct_warn,
            "thresholds_from": self.thresholds_from,
            "ratio": self.ratio,
            "delta_pct": self.delta_pct,
            "interval": self.interval.to_dict() if self.interval else None,
            "unsure": self.unsure,
            "pairs": self.pairs,
            "base": self.base,
            "head": self.head,
            "reason": self.reason,
            "baselines": bv.to_dict() if bv is not None else None,
            "confirmed_pairs": self.confirmed_pairs,
            "before": (
                {"status": self.before[0].value, "unsure": self.before[1]}
                if self.before is not None
                else None
            ),
        }


@dataclass
class ABResult:
    """Everything ``benchgate ab`` measured and decided."""

    base_rev: str
    base_commit: str
    head_commit: str | None
    head_dirty: bool
    repeat: int
    metrics: list[ABMetric]
    base_runs: dict[str, list[RunRecord]]
    head_runs: dict[str, list[RunRecord]]
    out_dir: Path  # <out-dir>/ab, holding base/ and head/
    baselines_found: bool = False
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    # --confirm: bench -> why its extra rounds stopped (settled, budget spent, time limit).
    confirm_stopped: dict[str, str] = field(default_factory=dict)
    confirm_budget: int = 0  # the most extra rounds a bench could get (0: no --confirm)

    def counts(self) -> dict[Status, int]:
        out = {s: 0 for s in STATUS_ORDER}
        for m in self.metrics:
            out[m.status] += 1
        return out

    def gating(self) -> list[ABMetric]:
        """Metrics whose paired verdict fails the PR (FAIL or ERROR)."""
        return [m for m in self.metrics if m.status in AB_GATING]

    def to_dict(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "schema": AB_SCHEMA,
            "base_rev": self.base_rev,
            "base_commit": self.base_commit,
            "head_commit": self.head_commit,
            "head_dirty": self.head_dirty,
            "repeat": self.repeat,
            "metrics": [m.to_dict() for m in self.metrics],
            "summary": {
                **{s.value: counts[s] for s in STATUS_ORDER},
                "total": len(self.metrics),
                "gate": "fail" if self.gating() else "pass",
                "baselines": self.baselines_found,
                "warnings": self.warnings,
                "elapsed_s": round(self.elapsed_s, 3),
                "confirm": (
                    {"budget_rounds": self.confirm_budget, "stopped": self.confirm_stopped}
                    if self.confirm_budget
                    else None
                ),
            },
            "files": {"base": str(self.out_dir / "base"), "head": str(self.out_dir / "head")},
        }


# --- git --------------------------------------------------------------------------------


@contextmanager
def base_worktree(top: Path, commit: str) -> Iterator[Path]:
    """Check ``commit`` out in a temporary detached worktree; always removed afterwards.

    Removal happens in ``finally``, so also on errors and on Ctrl-C (KeyboardInterrupt);
    the CLI turns SIGTERM into the same.
    """
    tmp = Path(tempfile.mkdtemp(prefix="benchgate-ab-"))
    wt = tmp / "base"
    added = False
    try:
        r = git(
            ["worktree", "add", "--detach", "--quiet", "--end-of-options", str(wt), commit], top
        )
        if r.returncode != 0:
            raise BenchgateError(
                f"could not check out {commit[:12]} in a worktree: {last_line(r.stderr)}",
                key="--base",
            )
        added = True
        yield wt
    finally:
        if added:
            git(["worktree", "remove", "--force", "--force", str(wt)], top)
        shutil.rmtree(tmp, ignore_errors=True)
        if added:
            git(["worktree", "prune"], top)


# --- running ----------------------------------------------------------------------------


def import_path(tree: Path) -> list[str]:
    """What each side puts first on PYTHONPATH: ``<tree>/src`` if it exists, then ``<tree>``."""
    paths = []
    if (tree / "src").is_dir():
        paths.append(str(tree / "src"))
    paths.append(str(tree))
    return paths


def side_env(base_env: dict[str, str], tree: Path) -> dict[str, str]:
    """The benchmark env vars of one side, with its own tree first on PYTHONPATH."""
    env = dict(base_env)
    rest = env.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    env["PYTHONPATH"] = os.pathsep.join([*import_path(tree), *([rest] if rest else [])])
    return env


def _env_record(root: Path, options: RunOptions) -> dict[str, Any]:
    from benchgate.machine.environment import capture_environment

    used = options.cpus
    if used is None and hasattr(os, "sched_getaffinity"):
        used = sorted(os.sched_getaffinity(0))
    return capture_environment(root, used, options.env)


def _clear_results(d: Path) -> None:
    """Earlier A/B evidence in ``d`` is replaced, as ``benchgate run`` does without --append."""
    for p in result_files(d):
        p.unlink()


@dataclass
class _Side:
    name: str  # "base" or "head"
    root: Path
    benches: dict[str, Bench]
    options: RunOptions
    env_record: dict[str, Any]
    runs: dict[str, list[RunRecord]] = field(default_factory=dict)


def _run_one(side: _Side, bench: Bench, invocation: str) -> RunRecord:
    record = execute(bench, side.root, side.options, invocation, side.env_record)
    record.extra = {**record.extra, "ab_side": side.name}
    side.runs.setdefault(bench.name, []).append(record)
    write_bench_runs(side.options.out_dir, bench.name, side.runs[bench.name])
    return record


def rerooted(config: Config, tree: Path) -> Config:
    """``config`` with its project root moved to ``tree`` (the base worktree).

    Relative paths follow the root; an absolute bench dir inside the old root is moved
    along with it, so the base's benches are never silently taken from the working tree.
    """
    bench_dir = config.bench_dir
    p = Path(bench_dir)
    if p.is_absolute():
        try:
            bench_dir = str(p.resolve().relative_to(config.root.resolve()))
        except ValueError:
            pass  # outside the project: the same benches for both sides
    return replace(config, root=tree, bench_dir=bench_dir)


# --- judging ----------------------------------------------------------------------------


def _thresholds(
    key: str, baselines: dict[str, Baseline] | None, config: Config
) -> tuple[float, float, bool | None, str]:
    b = baselines.get(key) if baselines else None
    if b is not None:
        return b.degradation_pct_max, b.variance_pct_warn, b.higher_is_better, "baselines.json"
    return config.degradation_pct_max, config.variance_pct_warn, None, "config"


def judge_pairs(
    pairs: list[tuple[float, float]],
    higher_is_better: bool,
    degradation_pct_max: float,
    variance_pct_warn: float,
) -> tuple[Status, float, Interval | None, bool]:
    """The paired verdict of one metric from its (base, head) value pairs.

    Returns the status (``judge`` of the median per-pair ratio against 1.0), the ratio,
    the sign-test interval (None with fewer than ``MIN_CI_RUNS`` pairs) and "unsure".
    """
    base = [p[0] for p in pairs]
    head = [p[1] for p in pairs]
    ratio = paired_median_ratio(base, head)
    status = judge(1.0, ratio, higher_is_better, degradation_pct_max, variance_pct_warn)
    interval = paired_ratio_interval(base, head) if len(pairs) >= MIN_CI_RUNS else None
    unsure = interval is not None and is_unsure(
        status, interval, higher_is_better, degradation_pct_max, variance_pct_warn
    )
    return status, ratio, interval, unsure


def _pairs_for(
    name: str, metric: str, base: _Side, head: _Side
) -> tuple[list[tuple[float, float]], RunRecord | None, RunRecord | None]:
    """(base, head) values of the rounds where both runs of ``name`` reported ``metric``."""
    pairs: list[tuple[float, float]] = []
    last_b = last_h = None
    for b, h in zip(base.runs.get(name, []), head.runs.get(name, []), strict=False):
        if b.status is RunStatus.OK and h.status is RunStatus.OK:
            mb, mh = b.metrics.get(metric), h.metrics.get(metric)
            if mb is not None and mh is not None and mb.value > 0 and mh.value > 0:
                pairs.append((mb.value, mh.value))
                last_b, last_h = b, h
    return pairs, last_b, last_h


def _judge_all(
    config: Config,
    base: _Side,
    head: _Side,
    baselines: dict[str, Baseline] | None,
) -> tuple[list[ABMetric], list[str]]:
    head_red = reduce_runs(head.runs)
    base_red = reduce_runs(base.runs) if base.runs else None
    by_baseline: dict[str, Verdict] = {}
    if baselines is not None:
        cmp = compare(head_red, baselines)
        annotate(cmp, head_red, baselines)
        by_baseline = {v.key: v for v in cmp.verdicts}
    out: list[ABMetric] = []
    dropped = 0
    for name in head.benches:
        summary = head_red.benches.get(name)
        if summary is None:
            continue
        if summary.status is not RunStatus.OK:
            deg, warn, hib, src = _thresholds(name, baselines, config)
            status = Status.SKIPPED if summary.status is RunStatus.SKIPPED else Status.ERROR
            out.append(ABMetric(name, status, None, None, deg, warn, src, reason=summary.reason))
            continue
        base_summary = base_red.benches.get(name) if base_red else None
        head_keys = [k for k, m in head_red.metrics.items() if m.bench == name]
        for key in head_keys:
            m = head_red.metrics[key]
            deg, warn, b_hib, src = _thresholds(key, baselines, config)
            hib = b_hib if b_hib is not None else m.higher_is_better
            row = ABMetric(
                key,
                Status.NEW,
                m.unit,
                hib,
                deg,
                warn,
                src,
                head=m.value,
                baseline_verdict=by_baseline.get(key),
            )
            out.append(row)
            if name not in base.benches:
                row.reason = "bench absent at the base revision"
                continue
            bm = base_red.metrics.get(key) if base_red else None
            if bm is None:
                if base_summary is not None and base_summary.status is not RunStatus.OK:
                    what = base_summary.status.value
                    row.reason = f"no base measurement (base runs {what}: {base_summary.reason})"
                else:
                    row.reason = "metric absent at the base revision"
                continue
            row.base = bm.value
            pairs, last_b, last_h = _pairs_for(name, m.metric, base, head)
            total = min(len(base.runs.get(name, [])), len(head.runs.get(name, [])))
            dropped += total - len(pairs)
            if not pairs:
                row.reason = "no round where both sides measured it"
                continue
            assert last_b is not None and last_h is not None
            mb, mh = last_b.metrics[m.metric], last_h.metrics[m.metric]
            if not (mb.inferred or mh.inferred) and not units_match(mb.unit, mh.unit):
                row.status = Status.ERROR
                row.reason = f"unit changed: base reports {mb.unit!r}, head {mh.unit!r}"
                continue
            row.status, row.ratio, row.interval, row.unsure = judge_pairs(pairs, hib, deg, warn)
            row.pairs = len(pairs)
        if base_red is not None:
            gone = [
                k
                for k, bm in base_red.metrics.items()
                if bm.bench == name and k not in head_red.metrics
            ]
            for key in gone:
                deg, warn, hib, src = _thresholds(key, baselines, config)
                bm = base_red.metrics[key]
                out.append(
                    ABMetric(
                        key,
                        Status.MISSING,
                        bm.unit,
                        bm.higher_is_better,
                        deg,
                        warn,
                        src,
                        base=bm.value,
                        reason="reported at the base revision, not any more",
                    )
                )
    warnings: list[str] = []
    if dropped:
        warnings.append(
            f"{dropped} rounds left out of the pairs: one side failed or did not report the metric"
        )
    few = [r.key for r in out if 0 < r.pairs < MIN_CI_RUNS]
    if few:
        warnings.append(
            f"No interval for {len(few)} metrics with fewer than {MIN_CI_RUNS} pairs "
            "(use --repeat 5 or more)"
        )
    return out, warnings


def metric_worth_confirming(m: ABMetric) -> bool:
    """:func:`benchgate.judge.confirm.worth_confirming` for a paired verdict."""
    from benchgate.judge.confirm import worth_confirming

    if m.ratio is None:
        return False
    return worth_confirming(
        m.status,
        m.interval,
        m.pairs,
        m.higher_is_better,
        m.degradation_pct_max,
        m.variance_pct_warn,
    )


def _confirm(
    metrics: list[ABMetric],
    head_benches: list[Bench],
    base_benches: dict[str, Bench],
    run_round: Callable[[int, list[Bench]], None],
    rejudge: Callable[[], list[ABMetric]],
    repeat: int,
    budget: int,
    deadline: float | None,
) -> tuple[list[ABMetric], dict[str, str]]:
    """More interleaved rounds for the benches whose paired verdicts are worth confirming.

    A round runs each still-unsettled bench once on each side (the side that goes first
    keeps alternating); after it every metric is judged again on all its pairs. A bench
    stops when none of its metrics is worth confirming any more, after ``budget`` more
    rounds, or when ``deadline`` (a ``time.perf_counter()`` value) has passed. Returns the
    final metrics, with ``confirmed_pairs`` and ``before`` set on those the rounds were
    made for, and why each confirmed bench stopped.
    """
    from benchgate.judge.confirm import BUDGET, SETTLED, TIME

    before = {m.key: (m.status, m.unsure) for m in metrics}
    targets: dict[str, list[str]] = {}
    for m in metrics:
        if m.bench in base_benches and metric_worth_confirming(m):
            targets.setdefault(m.bench, []).append(m.key)
    active = [b for b in head_benches if b.name in targets]
    extra = {b.name: 0 for b in active}
    stopped: dict[str, str] = {}
    rnd = repeat
    while active:
        if deadline is not None and time.perf_counter() >= deadline:
            for b in active:
                stopped[b.name] = TIME
            break
        rnd += 1
        run_round(rnd, active)
        for b in active:
            extra[b.name] += 1
        metrics = rejudge()
        by_key = {m.key: m for m in metrics}
        for b in list(active):
            if not any(k in by_key and metric_worth_confirming(by_key[k]) for k in targets[b.name]):
                stopped[b.name] = SETTLED
                active.remove(b)
            elif extra[b.name] >= budget:
                stopped[b.name] = BUDGET
                active.remove(b)
    # Like `compare --confirm`: the metrics the rounds were made for say so; the bench's
    # other metrics simply have more pairs.
    for m in metrics:
        if m.key in before and m.key in targets.get(m.bench, ()):
            m.confirmed_pairs = extra[m.bench]
            m.before = before[m.key]
    return metrics, stopped


# --- the whole thing --------------------------------------------------------------------


def run_ab(
    config: Config,
    base_rev: str,
    repeat: int = 5,
    pattern: str | None = None,
    cpus: list[int] | None = None,
    out_dir: Path | None = None,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    progress: Callable[[Progress], None] | None = None,
    argv: list[str] | None = None,
    confirm_rounds: int = 0,
    confirm_time: float | None = None,
    measure: tuple[str, ...] = TIME_ONLY,
    measure_per_bench: dict[str, tuple[str, ...]] | None = None,
    calls: int = DEFAULT_CALLS,
) -> ABResult:
    """Measure ``base_rev`` and the working tree interleaved; judge each metric by pairs.

    The bench set is the working tree's (``pattern`` selects as ``-k`` does); a bench
    absent at the base revision is NEW. The runs are saved in ``<out_dir>/ab/base/`` and
    ``<out_dir>/ab/head/`` (same format as the out-dir) as they are made, and the result
    in ``<out_dir>/ab/ab.json``. Thresholds come from baselines.json where the key exists,
    else from config; when baselines.json exists, each metric also gets its usual verdict
    against it (``baseline_verdict``). BenchgateError for bad input: not a git
    repository, unknown revision, no benches.

    ``confirm_rounds`` > 0 is ``--confirm``: the benches with a paired verdict worth
    confirming (:func:`benchgate.judge.confirm.worth_confirming`) get more interleaved rounds,
    one bench-pair at a time round-robin, until settled, ``confirm_rounds`` more rounds,
    or ``confirm_time`` seconds of confirming; every metric is judged on all its pairs.

    ``measure``, ``measure_per_bench`` and ``calls`` say what each side's runs measure
    (:mod:`benchgate.run.measure`): instruction counts are paired like times.
    """
    if repeat < 1:
        raise BenchgateError("must be at least 1", key="--repeat")
    t0 = time.perf_counter()
    root = config.root.resolve()
    top = toplevel(root)
    commit = resolve_rev(top, base_rev, "--base")
    head_commit, dirty = head_state(root)
    head_benches = select(discover(config), pattern)
    if not head_benches:
        raise BenchgateError("no benches found", config.bench_path)
    check_available(measure, measure_per_bench or {}, [b.name for b in head_benches])
    baselines: dict[str, Baseline] | None = None
    if config.baselines_path.is_file():
        baselines = load_baselines(
            config.baselines_path, config.degradation_pct_max, config.variance_pct_warn
        )
    ab_dir = (out_dir if out_dir is not None else config.out_path) / AB_DIR
    bench_env = dict(config.env)
    bench_env.update(env or {})
    argv = argv or ["benchgate", "ab", "--base", base_rev]
    warnings: list[str] = []
    if dirty:
        warnings.append("The working tree has uncommitted changes: head = the working tree")

    with base_worktree(top, commit) as wt:
        base_root = wt / root.relative_to(top)
        try:
            found = discover(rerooted(config, base_root), python=sys.executable)
        except BenchgateError as exc:
            warnings.append(f"Benches at the base revision could not be discovered: {exc}")
            found = []
        wanted = {b.name for b in head_benches}
        base_benches = {b.name: b for b in found if b.name in wanted}

        def side(name: str, tree: Path, benches: dict[str, Bench]) -> _Side:
            opts = RunOptions(
                out_dir=ab_dir / name,
                append=True,
                repeat=repeat,
                cpus=cpus,
                timeout=timeout if timeout is not None else config.timeout,
                env=side_env(bench_env, tree),
                argv=argv,
                disturbed_share=config.disturbed_share,
                measure=measure,
                measure_per_bench=dict(measure_per_bench or {}),
                calls=calls,
            )
            opts.out_dir.mkdir(parents=True, exist_ok=True)
            _clear_results(opts.out_dir)
            return _Side(name, tree, benches, opts, _env_record(tree, opts))

        base = side("base", base_root, base_benches)
        head = side("head", root, {b.name: b for b in head_benches})
        invocation = (
            "ab-"
            + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
            + "-"
            + uuid.uuid4().hex[:6]
        )

        def one_round(rnd: int, benches: list[Bench], rounds: int) -> None:
            # Alternate which side goes first each round, so order effects cancel out.
            base_first = rnd % 2 == 1
            for i, hb in enumerate(benches, 1):
                order: list[tuple[_Side, Bench]] = [(head, hb)]
                bb = base_benches.get(hb.name)
                if bb is not None:
                    order = [(base, bb), (head, hb)] if base_first else [(head, hb), (base, bb)]
                for s, bench in order:
                    label = f"{bench.name} ({s.name})"
                    if progress:
                        elapsed = time.perf_counter() - t0
                        progress(Progress(label, i, len(benches), rnd, rounds, elapsed))
                    record = _run_one(s, bench, invocation)
                    if progress:
                        elapsed = time.perf_counter() - t0
                        progress(Progress(label, i, len(benches), rnd, rounds, elapsed, record))

        for rnd in range(1, repeat + 1):
            one_round(rnd, head_benches, repeat)
        metrics, more = _judge_all(config, base, head, baselines)
        stopped: dict[str, str] = {}
        if confirm_rounds > 0:

            def rejudge() -> list[ABMetric]:
                nonlocal more
                judged, more = _judge_all(config, base, head, baselines)
                return judged

            metrics, stopped = _confirm(
                metrics,
                head_benches,
                base_benches,
                lambda rnd, benches: one_round(rnd, benches, repeat + confirm_rounds),
                rejudge,
                repeat,
                confirm_rounds,
                None if confirm_time is None else time.perf_counter() + confirm_time,
            )

    warnings.extend(more)
    for s in (base, head):  # instruction counts must repeat exactly on each side
        if s.runs:
            warnings.extend(
                f"{s.name}: {w}" for w in determinism_problems(reduce_runs(s.runs).metrics.values())
            )
    disturbed = sum(1 for s in (base, head) for rs in s.runs.values() for r in rs if r.disturbed)
    if disturbed:
        warnings.append(f"{disturbed} runs were disturbed by other processes above the limit")
    result = ABResult(
        base_rev=base_rev,
        base_commit=commit,
        head_commit=head_commit,
        head_dirty=bool(dirty),
        repeat=repeat,
        metrics=metrics,
        base_runs=base.runs,
        head_runs=head.runs,
        out_dir=ab_dir,
        baselines_found=baselines is not None,
        warnings=warnings,
        elapsed_s=time.perf_counter() - t0,
        confirm_stopped=stopped,
        confirm_budget=confirm_rounds,
    )
    atomic_write_json(ab_dir / AB_FILE, result.to_dict())
    return result


# --- rendering (strings only; the CLI prints) -------------------------------------------


def _ratio_text(m: ABMetric) -> str:
    if m.ratio is None:
        return "-"
    return f"{m.ratio:.3f} ({(m.ratio - 1) * 100:+.1f}%)"


def _interval_text(m: ABMetric) -> str:
    if m.interval is None:
        return "-"
    return f"{m.interval.low:.3f}..{m.interval.high:.3f} ({m.interval.level * 100:.0f}%)"


def _baseline_text(m: ABMetric) -> str:
    v = m.baseline_verdict
    if v is None:
        return "-"
    if v.delta_pct is None:
        return v.status.label
    return f"{v.status.label} {v.delta_pct:+.1f}%"


def _note_text(m: ABMetric) -> str:
    bits = []
    if m.unsure:
        bits.append("unsure")
    if m.confirmed_pairs:
        bits.append(f"confirmed with {m.confirmed_pairs} more pairs")
    if m.thresholds_from == "config" and m.ratio is not None:
        bits.append("config thresholds")
    if m.reason:
        bits.append(m.reason.splitlines()[0][:120])
    return "; ".join(bits)


def _header(result: ABResult) -> str:
    head = (result.head_commit or "no commit")[:12]
    state = ", uncommitted changes" if result.head_dirty else ""
    return (
        f"benchgate ab: base {result.base_rev} ({result.base_commit[:12]}) vs working tree "
        f"({head}{state}); {result.repeat} interleaved rounds"
    )


def _rows(result: ABResult) -> list[list[str]]:
    from benchgate.render.report import fmt_num

    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    rows = []
    for m in sorted(result.metrics, key=lambda m: order[m.status]):
        rows.append(
            [
                m.status.label,
                m.key,
                fmt_num(m.base),
                fmt_num(m.head),
                m.unit or "-",
                _ratio_text(m),
                _interval_text(m),
                str(m.pairs) if m.pairs else "-",
                _baseline_text(m),
                _note_text(m),
            ]
        )
    return rows


HEADERS = ["STATUS", "KEY", "BASE", "HEAD", "UNIT", "HEAD/BASE", "INTERVAL", "PAIRS"]
HEADERS += ["BASELINES", "NOTE"]


def summary_lines(result: ABResult) -> list[str]:
    """The counts, the gate's outcome and, if any, the metrics the machine explains."""
    c = result.counts()
    counts = ", ".join(f"{c[s]} {s.label}" for s in STATUS_ORDER)
    outcome = "gate failed" if result.gating() else "gate passed"
    lines = [f"benchgate ab: {counts} -- {outcome} (on the paired verdicts)"]
    machine = [
        m.key
        for m in result.metrics
        if m.status not in AB_GATING
        and m.baseline_verdict is not None
        and m.baseline_verdict.status in (Status.FAIL, Status.WARN)
        and m.status in (Status.PASS, Status.IMPROVED)
    ]
    if machine:
        lines.append(
            f"{len(machine)} metrics are below baselines.json but not below the base revision "
            f"measured alongside: the machine, not the change ({', '.join(machine[:5])}"
            + (", ..." if len(machine) > 5 else "")
            + ")"
        )
    lines += confirm_lines(result)
    lines.append(f"runs: {result.out_dir / 'base'}/, {result.out_dir / 'head'}/")
    return lines


def confirm_lines(result: ABResult) -> list[str]:
    """With --confirm: one line per confirmed metric, before -> after, on how many pairs."""
    if not result.confirm_budget:
        return []
    confirmed = [m for m in result.metrics if m.before is not None and m.confirmed_pairs]
    if not confirmed:
        return ["confirm: no paired verdict is unsure in a way that matters: nothing to confirm"]
    out = []
    for m in confirmed:
        assert m.before is not None
        was = f"{m.before[0].label}{' (unsure)' if m.before[1] else ''}"
        now = f"{m.status.label}{' (unsure)' if m.unsure else ''}"
        why = result.confirm_stopped.get(m.bench, "")
        out.append(
            f"confirm: {m.key}: {was} -> {now} on all {m.pairs} pairs "
            f"({m.confirmed_pairs} more; {why})"
        )
    return out


def render_ab_text(result: ABResult) -> str:
    """The A/B result as an aligned text table with the header and summary lines."""
    rows = _rows(result)
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEADERS)
    ]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [_header(result)]
    lines += [f"! {w}" for w in result.warnings]
    lines.append("")
    lines.append(fmt.format(*HEADERS).rstrip())
    lines += [fmt.format(*r).rstrip() for r in rows]
    lines.append("")
    lines += summary_lines(result)
    return "\n".join(lines) + "\n"


def render_ab_markdown(result: ABResult) -> str:
    """The A/B result as markdown, ready to post as a PR comment."""
    lines = [f"### {_header(result)}", ""]
    lines += [f"> {w}" for w in result.warnings]
    if result.warnings:
        lines.append("")
    lines.append("| " + " | ".join(h.lower() for h in HEADERS) + " |")
    lines.append("| --- | --- | ---: | ---: | --- | ---: | --- | ---: | --- | --- |")
    for r in _rows(result):
        r[1] = f"`{r[1]}`"
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    lines.append("")
    lines += summary_lines(result)
    return "\n".join(lines) + "\n"
