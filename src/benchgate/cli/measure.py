"""``benchgate run``, ``reduce`` and ``compare``: the measuring half of the method."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from benchgate.ab.baseline import confirm_against_commits, split_targets
from benchgate.cli.common import get_config, split_list
from benchgate.cli.options import (
    confirm_options,
    machine_option,
    measure_option,
    out_dir_option,
    run_options,
    shard_options,
    store_option,
)
from benchgate.cli.shard import apply_shard
from benchgate.cli.store import record_runs, recording_store
from benchgate.config import Config, measure_settings
from benchgate.errors import BenchgateError
from benchgate.judge.confirm import confirm_unsure
from benchgate.judge.drift import Drift, store_drifts
from benchgate.judge.gate import baseline_environment, gate, load_out_dir, write_out_report
from benchgate.judge.reduce import reduce_runs, write_reduced
from benchgate.judge.stats import METHODS
from benchgate.machine.classes import (
    choose_for_runs,
    class_named,
    classify,
    for_class,
    machine_classes,
    this_machine,
)
from benchgate.machine.cpus import parse_cpus
from benchgate.model import RunStatus, Status
from benchgate.render import fmt as show
from benchgate.run.discovery import discover, select
from benchgate.run.measure import check_available, describe_scope, determinism_problems
from benchgate.run.results import load_runs, out_dir_lock
from benchgate.run.runner import Progress, RunOptions, run_benches
from benchgate.run.shard import parse_shard
from benchgate.store.store import Store
from benchgate.store.url import StoreURL


def resolve_out_dir(config: Config, out_dir: str | None) -> Path:
    return Path(out_dir).resolve() if out_dir else config.out_path


def run_confirmation(
    config: Config,
    out_dir: Path,
    gate_result: Any,
    runs: int,
    time_s: float | None,
    baseline_env: dict[str, Any] | None = None,
) -> Any:
    """Confirm unsure WARN/FAIL verdicts with progress on stderr; returns the ConfirmResult."""
    display = _Display(live=sys.stderr.isatty())
    argv = ["benchgate", *sys.argv[1:]] if Path(sys.argv[0]).name != "runner.py" else sys.argv
    try:
        result = confirm_unsure(
            config, out_dir, gate_result, runs, time_s, display, argv, baseline_env
        )
    finally:
        display.close()
    for line in result.lines():
        click.echo(line, err=True)
    return result


def store_drift_estimates(
    url: StoreURL, runs: dict[str, list[Any]], drift_pct: float
) -> tuple[dict[str, Drift], str | None]:
    """Per metric of ``runs``, the between-day drift estimated from the results store.

    Only when a store is in use (``--store`` or ``store`` in config; ({}, None) when off).
    The history read is that of the runs' environment fingerprint (the same kind of
    machine). A store that cannot be read is a note (``drift_pct`` then applies), never a
    failed gate: the drift only widens intervals.
    """
    if url.kind == "off":
        return {}, None
    keys = sorted({f"{b}.{m}" for b, rs in runs.items() for r in rs for m in r.metrics})
    envs = [r.env for rs in runs.values() for r in rs if r.env]
    fingerprint = envs[-1].get("fingerprint") if envs else None
    try:
        with Store.open(url) as store:
            return store_drifts(store, keys, machine=fingerprint or None), None
    except BenchgateError as exc:
        return {}, (
            f"No drift estimate from the results store ({exc}): "
            f"drift_pct {drift_pct:g} used instead"
        )


def run_baseline_confirmation(
    config: Config,
    out_dir: Path,
    gate_result: Any,
    runs: int,
    time_s: float | None,
    baseline_env: dict[str, Any] | None = None,
) -> Any:
    """``compare --confirm``: pairs against each unsure baseline's commit where reachable.

    Targets whose baseline records a reachable ``measured_commit`` are judged on pairs
    interleaved with that commit (:mod:`benchgate.ab.baseline`); the others fall back to
    re-measuring the current side (:func:`run_confirmation`), with one line saying why.
    Returns the final Gate.
    """
    split = split_targets(config, gate_result)
    for key, why in split.fallback.items():
        click.echo(
            f"confirm: {key}: not paired against its baseline's commit: {why}; "
            "re-measuring the current side only, against the stored numbers (the drift "
            "between the two days stays in its interval)",
            err=True,
        )
    if not split.by_commit:
        return run_confirmation(config, out_dir, gate_result, runs, time_s, baseline_env).gate
    result = gate_result
    if split.fallback:
        paired_keys = {k for keys in split.by_commit.values() for k in keys}
        rest = dataclasses.replace(
            gate_result.comparison,
            verdicts=[v for v in gate_result.comparison.verdicts if v.key not in paired_keys],
        )
        sub = dataclasses.replace(gate_result, comparison=rest)
        result = run_confirmation(config, out_dir, sub, runs, time_s, baseline_env).gate
    display = _Display(live=sys.stderr.isatty())
    argv = ["benchgate", *sys.argv[1:]] if Path(sys.argv[0]).name != "runner.py" else sys.argv
    try:
        done = confirm_against_commits(
            config, out_dir, result, split.by_commit, runs, time_s, display, argv
        )
    finally:
        display.close()
    for line in done.lines():
        click.echo(line, err=True)
    return done.gate


def recorded_class(config: Config, machine: str | None) -> str | None:
    """The machine class a run records: ``--machine``, else the first class matching here.

    A machine matching no declared class still measures (with a note): judging its runs
    (compare, refresh) is where that is an error, with the machine's fingerprint.
    """
    classes = machine_classes(config)
    if machine is not None:
        return class_named(classes, machine).name
    if not classes:
        return None
    cls = classify(this_machine(), classes)
    if cls is None:
        click.echo(
            "note: this machine matches no declared machine class; its runs record none "
            "(pass --machine NAME to record one)",
            err=True,
        )
        return None
    return cls.name


def report_config(config: Config, out_dir: Path) -> Config:
    """The config whose baselines report.md compares with: those of the runs' machine class.

    When the class cannot be told (no runs, a machine of no class, several classes) the
    report is still written, against the configured baselines; `compare` says why.
    """
    if not machine_classes(config):
        return config
    try:
        return choose_for_runs(config, load_runs(out_dir), None).config
    except BenchgateError:
        return config


def shard_record(shard: str, digest: str) -> dict[str, Any]:
    """What a sharded run records in its command: K, N and the plan (merge checks it)."""
    spec = parse_shard(shard)
    return {"k": spec.k, "n": spec.n, "plan": digest}


def _parse_env(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise BenchgateError(f"expected NAME=VALUE, got {pair!r}", key="--env")
        k, v = pair.split("=", 1)
        out[k] = v
    return out


class _Display:
    """Progress: a live bar with ETA on a terminal, plain lines otherwise (CI logs).

    On a terminal, rich draws ``run r/R bench i/n`` with the elapsed time and an estimate
    of the time left (every bench run counts as one step of rounds x benches); each
    finished run is printed above the bar, as in a log.
    """

    def __init__(self, live: bool) -> None:
        self.live = live
        self._bar: Any = None
        self._task: Any = None
        if live:
            # rich only on a terminal: importing it costs start-up time a CI log never needs.
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.console = Console(stderr=True)
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("starting", total=None)

    def __call__(self, ev: Progress) -> None:
        head = (
            f"[run {ev.round}/{ev.rounds}] bench {ev.bench_index}/{ev.bench_count} "
            f"{show.plain(ev.bench)}"
        )
        if self.live:
            done = (ev.round - 1) * ev.bench_count + ev.bench_index - (ev.record is None)
            total = ev.rounds * ev.bench_count
            self._bar.update(self._task, description=head, completed=done, total=total)
        if ev.record is None:
            return
        r = ev.record
        if r.status is RunStatus.OK:
            what = ", ".join(
                f"{show.plain(k)}={show.with_unit(m.value, show.plain(m.unit))}"
                for k, m in r.metrics.items()
            )
            if r.metric_errors:  # each bad value is its metric's ERROR; say so at once
                what += "; ERROR " + ", ".join(show.plain(k) for k in r.metric_errors)
            if r.info:
                what += f"; {len(r.info)} informational"
        else:
            what = f"{r.status.value.upper()}: {show.plain(r.reason)}"
        scope = describe_scope(r)
        if scope:
            what += f"  [counted: {scope}]"
        if r.disturbed:
            what += "  [disturbed]"
        line = f"{head}: {what} ({r.duration_s:.1f}s)"
        if self.live:
            self._bar.console.print(line, markup=False, highlight=False)
        else:
            click.echo(line, err=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


@click.command()
@out_dir_option
@click.option("--append", is_flag=True, help="Add this run to the out-dir's earlier runs.")
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Runs per bench in this call, round-robin across benches.",
)
@run_options
@measure_option
@confirm_options
@shard_options
@machine_option
@store_option
@click.pass_context
def run(
    ctx: click.Context,
    out_dir: str | None,
    append: bool,
    repeat: int,
    pattern: str | None,
    cpus: str | None,
    timeout: float | None,
    env_pairs: tuple[str, ...],
    measure: str | None = None,
    confirm: bool = False,
    confirm_runs: int = 10,
    confirm_time: float | None = None,
    shard: str | None = None,
    durations: str | None = None,
    machine: str | None = None,
    store_url: str | None = None,
) -> None:
    """Run the benches, each in a fresh subprocess, and keep every run.

    Writes OUT_DIR/<bench>.json (all runs of that bench) and OUT_DIR/report.md.
    Without --append earlier runs are replaced; with it they accumulate.

    \b
    Example (the method's loop, or the same in one call):
      for i in 1 2 3 4 5; do benchgate run --append; done
      benchgate run --repeat 5 --cpus auto

    With --measure instructions each bench also (or only) runs under valgrind: per-call
    instruction counts as <metric>_instructions (docs/measurements.md).

    With --confirm, the runs are then compared with baselines.json and the benches
    whose WARN or FAIL is unsure are run again (see `benchgate compare --confirm`).

    With --store URL (or store in [tool.benchgate]) the out-dir's runs are recorded in
    the results store afterwards (docs/store.md).

    With --shard K/N only part K of a deterministic split into N parts runs, balanced
    by the benches' recorded durations (see `benchgate shards`); `benchgate merge`
    joins the parts. --machine NAME records the run as made on that machine class.

    \b
    Example (job 3 of an 8-job CI matrix):
      benchgate run --repeat 5 --shard 3/8 --durations tests/bench/durations.json
    """
    config = get_config(ctx)
    store = recording_store(config, store_url)
    benches = select(discover(config), pattern)
    if not benches:
        raise BenchgateError(
            "no benches found (add scripts there, or run `benchgate init`)", config.bench_path
        )
    run_out = resolve_out_dir(config, out_dir)
    benches, plan, shard_line = apply_shard(benches, shard, durations, run_out)
    if shard_line:
        click.echo(shard_line, err=True)
    if not benches:
        click.echo(f"shard {shard} is empty: nothing to run")
        return
    machine_class = recorded_class(config, machine)
    cpu_list = parse_cpus(cpus if cpus is not None else config.cpus)
    env = dict(config.env)
    env.update(_parse_env(env_pairs))
    measures, per_bench = measure_settings(config, measure)
    check_available(measures, per_bench, [b.name for b in benches])
    options = RunOptions(
        out_dir=run_out,
        append=append,
        repeat=repeat,
        cpus=cpu_list,
        timeout=timeout if timeout is not None else config.timeout,
        env=env,
        argv=["benchgate", *sys.argv[1:]] if Path(sys.argv[0]).name != "runner.py" else sys.argv,
        disturbed_share=config.disturbed_share,
        measure=measures,
        measure_per_bench=per_bench,
        calls=config.calls,
        metric_rules=config.metrics,
        machine_class=machine_class,
        shard=None if plan is None or shard is None else shard_record(shard, plan.digest),
    )
    display = _Display(live=sys.stderr.isatty())
    t0 = time.perf_counter()
    try:
        summary = run_benches(config, benches, options, display)
    finally:
        display.close()
    for warning in summary.warnings:
        click.echo(f"benchgate: warning: {warning}", err=True)
    report = write_out_report(report_config(config, options.out_dir), options.out_dir)
    by_status = {s: sum(1 for r in summary.records if r.status is s) for s in RunStatus}
    click.echo(
        f"{len(summary.records)} runs of {len(benches)} benches "
        f"in {time.perf_counter() - t0:.1f}s: "
        f"{by_status[RunStatus.OK]} ok, {by_status[RunStatus.SKIPPED]} skipped, "
        f"{by_status[RunStatus.ERROR]} error"
    )
    click.echo(f"results: {options.out_dir}/<bench>.json; report: {report}")
    if confirm:
        if machine_class is not None:  # judge against the baselines of this machine's class
            config = for_class(config, class_named(machine_classes(config), machine_class))
        try:
            before = gate(config, options.out_dir)
        except BenchgateError as exc:
            click.echo(f"confirm: not possible: {exc}", err=True)
            record_runs(config, store, options.out_dir, source="run")
            return
        run_confirmation(
            config,
            options.out_dir,
            before,
            confirm_runs,
            confirm_time,
            baseline_environment(config),
        )
    record_runs(config, store, options.out_dir, source="run")


@click.command()
@out_dir_option
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="median",
    show_default=True,
    help="How each metric's runs are reduced to one value.",
)
@click.option(
    "--drop-disturbed",
    is_flag=True,
    help="Leave out runs during which other processes took too much CPU.",
)
@click.pass_context
def reduce(ctx: click.Context, out_dir: str | None, method: str, drop_disturbed: bool) -> None:
    """Reduce every metric over all its runs to one value with its spread.

    Writes OUT_DIR/reduced.json (value, n, min, max, stdev, CV, IQR per metric) and
    rewrites OUT_DIR/report.md.

    \b
    Example:
      benchgate reduce --method median
    """
    config = get_config(ctx)
    d = resolve_out_dir(config, out_dir)
    load_out_dir(d)  # a missing or bad out-dir fails here, before the lock creates anything
    with out_dir_lock(d):  # reduced.json must cover exactly the runs on disk
        runs = load_out_dir(d)
        reduced = reduce_runs(runs, method, drop_disturbed)
        path = write_reduced(d, reduced)
        write_out_report(report_config(config, d), d, reduced)
    for m in reduced.metrics.values():
        s = m.spread
        click.echo(
            f"{show.plain(m.key)}: {show.with_unit(m.value, show.plain(m.unit))} "
            f"({method} of {s.n}; "
            f"min {show.num(s.min)}, max {show.num(s.max)}, CV {show.share(s.cv)}, "
            f"IQR {show.share(s.iqr_rel)})"
        )
    for b in reduced.benches.values():
        if b.status is not RunStatus.OK:
            click.echo(f"{show.plain(b.bench)}: {b.status.value.upper()} ({show.plain(b.reason)})")
    if reduced.dropped_disturbed:
        click.echo(f"left out {reduced.dropped_disturbed} disturbed runs")
    for line in determinism_problems(reduced.metrics.values()):
        click.echo(f"warning: {line}")
    click.echo(f"wrote {path}")


def parse_allow(value: str | None) -> set[Status]:
    out = set()
    for name in split_list(value):
        if name.lower() not in ("new", "missing"):
            raise BenchgateError(f"can relax only new and missing, not {name!r}", key="--allow")
        out.add(Status(name.lower()))
    return out


def dump_json(data: object) -> str:
    return json.dumps(data, indent=2)
