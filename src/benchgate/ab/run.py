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
files): by default the base worktree is a plain checkout, never built; ``--build venv``
(config ``ab_build = "venv"``, see ab.build) gives each side its own virtual environment
installed from its tree as the project installs itself. Submodules are not checked out in
the worktree either.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchgate.ab.build import SideBuild, pythonpath_build, side_env, venv_build
from benchgate.baselines.file import load_baselines
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.fsutil import atomic_write_json
from benchgate.gitutil import git, head_state, last_line, resolve_rev, toplevel
from benchgate.judge.compare import compare, judge, units_match
from benchgate.judge.confidence import MIN_CI_RUNS, annotate, is_unsure
from benchgate.judge.confirm import confirm_loop, worth_confirming
from benchgate.judge.reduce import reduce_runs
from benchgate.judge.stats import paired_median_ratio, paired_ratio_interval
from benchgate.machine.environment import capture_environment
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


def paired_verdict(
    key: str,
    status: Status,
    unit: str | None,
    higher_is_better: bool | None,
    degradation_pct_max: float,
    variance_pct_warn: float,
    thresholds_from: str,
    **kw: Any,
) -> Verdict:
    """A metric judged by its paired head/base ratios, as a :class:`Verdict`.

    ``baseline``/``current`` are the medians of the base and head runs, ``n`` the number
    of pairs; ``delta_pct`` follows ``ratio`` ((ratio - 1) * 100).
    """
    v = Verdict(
        key,
        status,
        kw.pop("baseline", None),
        kw.pop("current", None),
        unit,
        None,
        higher_is_better,
        degradation_pct_max,
        variance_pct_warn,
        thresholds_from=thresholds_from,
        **kw,
    )
    set_ratio(v, v.ratio)
    return v


def set_ratio(v: Verdict, ratio: float | None) -> None:
    """Set a paired verdict's ratio and the delta it stands for."""
    v.ratio = ratio
    v.delta_pct = None if ratio is None else (ratio - 1) * 100


def ab_metric_dict(v: Verdict) -> dict[str, Any]:
    """One metric of ab.json (its own field names: base, head, pairs, confirmed_pairs)."""
    bv = v.baseline_verdict
    return {
        "key": v.key,
        "status": v.status.value,
        "unit": v.unit,
        "higher_is_better": v.higher_is_better,
        "degradation_pct_max": v.degradation_pct_max,
        "variance_pct_warn": v.variance_pct_warn,
        "thresholds_from": v.thresholds_from,
        "ratio": v.ratio,
        "delta_pct": v.delta_pct,
        "interval": v.interval.to_dict() if v.interval else None,
        "unsure": v.unsure,
        "pairs": v.n,
        "base": v.baseline,
        "head": v.current,
        "reason": v.reason,
        "baselines": bv.to_dict() if bv is not None else None,
        "confirmed_pairs": v.confirmed_runs,
        "before": (
            {"status": v.before[0].value, "unsure": v.before[1]} if v.before is not None else None
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
    metrics: list[Verdict]  # paired verdicts (ratio set where both sides measured)
    base_runs: dict[str, list[RunRecord]]
    head_runs: dict[str, list[RunRecord]]
    out_dir: Path  # <out-dir>/ab, holding base/ and head/
    baselines_found: bool = False
    warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    # --confirm: bench -> why its extra rounds stopped (settled, budget spent, time limit).
    confirm_stopped: dict[str, str] = field(default_factory=dict)
    confirm_budget: int = 0  # the most extra rounds a bench could get (0: no --confirm)
    builds: list[SideBuild] = field(default_factory=list)  # how each side was made importable

    def counts(self) -> dict[Status, int]:
        out = {s: 0 for s in STATUS_ORDER}
        for m in self.metrics:
            out[m.status] += 1
        return out

    def gating(self) -> list[Verdict]:
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
            "metrics": [ab_metric_dict(m) for m in self.metrics],
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
            "builds": {b.side: b.to_dict() for b in self.builds},
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


def _env_record(root: Path, options: RunOptions) -> dict[str, Any]:
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


def _open_side(
    name: str,
    tree: Path,
    benches: dict[str, Bench],
    options: RunOptions,
    env: dict[str, str] | None = None,
) -> _Side:
    """One side of the A/B: its own out-dir (``<ab>/<name>``, emptied), env and record.

    ``env``: the side's benchmark env vars as its build made them (ab.build); default:
    its tree first on PYTHONPATH.
    """
    env = env if env is not None else side_env(options.env, tree)
    opts = replace(options, out_dir=options.out_dir / name, env=env)
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    _clear_results(opts.out_dir)
    return _Side(name, tree, benches, opts, _env_record(tree, opts))


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
) -> tuple[list[Verdict], list[str]]:
    head_red = reduce_runs(head.runs)
    base_red = reduce_runs(base.runs) if base.runs else None
    by_baseline: dict[str, Verdict] = {}
    if baselines is not None:
        cmp = compare(head_red, baselines)
        annotate(cmp, head_red, baselines, drift_pct=config.drift_pct)
        by_baseline = {v.key: v for v in cmp.verdicts}
    out: list[Verdict] = []
    dropped = 0
    for name in head.benches:
        summary = head_red.benches.get(name)
        if summary is None:
            continue
        if summary.status is not RunStatus.OK:
            deg, warn, hib, src = _thresholds(name, baselines, config)
            status = Status.SKIPPED if summary.status is RunStatus.SKIPPED else Status.ERROR
            out.append(
                paired_verdict(name, status, None, None, deg, warn, src, reason=summary.reason)
            )
            continue
        base_summary = base_red.benches.get(name) if base_red else None
        head_keys = [k for k, m in head_red.metrics.items() if m.bench == name]
        for key in head_keys:
            m = head_red.metrics[key]
            deg, warn, b_hib, src = _thresholds(key, baselines, config)
            hib = b_hib if b_hib is not None else m.higher_is_better
            row = paired_verdict(
                key,
                Status.NEW,
                m.unit,
                hib,
                deg,
                warn,
                src,
                current=m.value,
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
            row.baseline = bm.value
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
            row.status, ratio, row.interval, row.unsure = judge_pairs(pairs, hib, deg, warn)
            set_ratio(row, ratio)
            row.n = len(pairs)
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
                    paired_verdict(
                        key,
                        Status.MISSING,
                        bm.unit,
                        bm.higher_is_better,
                        deg,
                        warn,
                        src,
                        baseline=bm.value,
                        reason="reported at the base revision, not any more",
                    )
                )
    warnings: list[str] = []
    if dropped:
        warnings.append(
            f"{dropped} rounds left out of the pairs: one side failed or did not report the metric"
        )
    few = [r.key for r in out if 0 < r.n < MIN_CI_RUNS]
    if few:
        warnings.append(
            f"No interval for {len(few)} metrics with fewer than {MIN_CI_RUNS} pairs "
            "(use --repeat 5 or more)"
        )
    return out, warnings


class _Interleaved:
    """The two sides of one A/B and the rounds run on them, base and head alternating."""

    def __init__(
        self,
        config: Config,
        base: _Side,
        head: _Side,
        baselines: dict[str, Baseline] | None,
        progress: Callable[[Progress], None] | None,
        t0: float,
    ) -> None:
        self.config = config
        self.base = base
        self.head = head
        self.baselines = baselines
        self.progress = progress
        self.t0 = t0
        self.invocation = (
            "ab-"
            + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
            + "-"
            + uuid.uuid4().hex[:6]
        )
        self.warnings: list[str] = []  # of the last judging

    def _report(self, label: str, i: int, n: int, rnd: int, rounds: int, rec: Any = None) -> None:
        if self.progress:
            elapsed = time.perf_counter() - self.t0
            self.progress(Progress(label, i, n, rnd, rounds, elapsed, rec))

    def round(self, rnd: int, names: list[str], rounds: int) -> list[str]:
        """One run of each bench on each side; which side goes first alternates by round.

        Alternating cancels order effects (a warm cache, a CPU that boosts for the first
        process). Returns ``names``: every bench ran.
        """
        base_first = rnd % 2 == 1
        for i, name in enumerate(names, 1):
            order: list[tuple[_Side, Bench]] = [(self.head, self.head.benches[name])]
            bb = self.base.benches.get(name)
            if bb is not None:
                pair = [(self.base, bb), *order]
                order = pair if base_first else pair[::-1]
            for side, bench in order:
                label = f"{bench.name} ({side.name})"
                self._report(label, i, len(names), rnd, rounds)
                record = _run_one(side, bench, self.invocation)
                self._report(label, i, len(names), rnd, rounds, record)
        return names

    def judge(self) -> list[Verdict]:
        """Every metric judged on all its pairs (and the warnings of this judging)."""
        verdicts, self.warnings = _judge_all(self.config, self.base, self.head, self.baselines)
        return verdicts

    def confirm(
        self, verdicts: list[Verdict], repeat: int, budget: int, deadline: float | None
    ) -> tuple[list[Verdict], dict[str, str]]:
        """``--confirm``: more rounds for the benches whose paired verdicts are worth it.

        One loop for every confirmation (:func:`benchgate.judge.confirm.confirm_loop`):
        a bench stops when settled, after ``budget`` more rounds, or at ``deadline`` (a
        ``time.perf_counter()`` value). The metrics the rounds were made for get
        ``confirmed_runs`` (extra pairs) and ``before``; the bench's other metrics simply
        have more pairs.
        """
        before = {v.key: (v.status, v.unsure) for v in verdicts}
        targets: dict[str, list[str]] = {}
        for v in verdicts:
            if v.bench in self.base.benches and worth_confirming(v):
                targets.setdefault(v.bench, []).append(v.key)
        latest = verdicts

        def judge_again() -> dict[str, Verdict]:
            nonlocal latest
            latest = self.judge()
            return {v.key: v for v in latest}

        loop = confirm_loop(
            targets,
            lambda rnd, names: self.round(repeat + rnd, names, repeat + budget),
            judge_again,
            budget,
            lambda: deadline is not None and time.perf_counter() >= deadline,
        )
        for v in latest:
            if v.key in targets.get(v.bench, ()):
                v.confirmed_runs = loop.extra[v.bench]
                v.before = before[v.key]
        return latest, loop.stopped


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
    build: str | None = None,
    build_cache: Path | None = None,
    names: list[str] | None = None,
    baselines: dict[str, Baseline] | None = None,
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

    ``names`` (exact bench names) instead of ``pattern``, and ``baselines`` instead of
    reading baselines.json, serve ``compare --confirm`` (:mod:`benchgate.ab.baseline`).

    ``build`` (default: config ``ab_build``) is how each side is made importable:
    ``pythonpath`` or ``venv`` (ab.build: its own virtual environment, cached in
    ``build_cache``); ``builds`` of the result says how each side was made.
    """
    if repeat < 1:
        raise BenchgateError("must be at least 1", key="--repeat")
    t0 = time.perf_counter()
    root = config.root.resolve()
    top = toplevel(root)
    commit = resolve_rev(top, base_rev, "--base")
    head_commit, dirty = head_state(root)
    head_benches = select(discover(config), pattern)
    if names is not None:
        head_benches = [b for b in head_benches if b.name in set(names)]
    if not head_benches:
        raise BenchgateError("no benches found", config.bench_path)
    check_available(measure, measure_per_bench or {}, [b.name for b in head_benches])
    if baselines is None and config.baselines_path.is_file():
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

    mode = build or config.ab_build
    if mode not in ("pythonpath", "venv"):
        raise BenchgateError(f"must be pythonpath or venv, got {mode!r}", key="--build")

    def make_build(name: str, tree: Path, at: str | None, is_dirty: bool) -> SideBuild:
        if mode == "venv":
            return venv_build(name, tree, at, is_dirty, bench_env, build_cache)
        return pythonpath_build(name, tree, bench_env)

    with base_worktree(top, commit) as wt:
        base_root = wt / root.relative_to(top)
        builds = [
            make_build("base", base_root, commit, False),
            make_build("head", root, head_commit, dirty is not False),
        ]
        if mode == "venv":  # script benches run with each side's own interpreter
            head_benches = select(discover(config, python=builds[1].python), pattern)
        try:
            found = discover(rerooted(config, base_root), python=builds[0].python)
        except BenchgateError as exc:
            warnings.append(f"Benches at the base revision could not be discovered: {exc}")
            found = []
        wanted = {b.name for b in head_benches}
        base_benches = {b.name: b for b in found if b.name in wanted}

        options = RunOptions(
            out_dir=ab_dir,
            append=True,
            repeat=repeat,
            cpus=cpus,
            timeout=timeout if timeout is not None else config.timeout,
            env=bench_env,
            argv=argv,
            disturbed_share=config.disturbed_share,
            metric_rules=config.metrics,
            measure=measure,
            measure_per_bench=dict(measure_per_bench or {}),
            calls=calls,
        )
        base = _open_side("base", base_root, base_benches, options, builds[0].env)
        head = _open_side("head", root, {b.name: b for b in head_benches}, options, builds[1].env)
        ab = _Interleaved(config, base, head, baselines, progress, t0)
        names = [b.name for b in head_benches]
        for rnd in range(1, repeat + 1):
            ab.round(rnd, names, repeat)
        metrics = ab.judge()
        stopped: dict[str, str] = {}
        if confirm_rounds > 0:
            deadline = None if confirm_time is None else time.perf_counter() + confirm_time
            metrics, stopped = ab.confirm(metrics, repeat, confirm_rounds, deadline)
        more = ab.warnings

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
        builds=builds,
    )
    atomic_write_json(ab_dir / AB_FILE, result.to_dict())
    return result
