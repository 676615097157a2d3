"""``benchgate init`` and ``benchgate demo``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from benchgate.cli.common import get_config
from benchgate.config import load_config
from benchgate.errors import BenchgateError
from benchgate.judge.gate import gate, write_out_report
from benchgate.judge.reduce import reduce_runs, write_reduced
from benchgate.model import RunStatus, Status
from benchgate.project.ci_workflow import ci_template
from benchgate.project.demo import copy_demo
from benchgate.project.infer import adapt_workflow, infer_ci
from benchgate.project.scaffold import init_project, sharded_ci_template
from benchgate.render.report import render_text
from benchgate.run.discovery import discover
from benchgate.run.results import load_runs
from benchgate.run.runner import Progress, RunOptions, run_benches


@click.command()
@click.option(
    "--force",
    is_flag=True,
    help="Replace existing files (each backed up to <file>.bak first); a baselines file "
    "holding data is never replaced.",
)
@click.option(
    "--migrate",
    is_flag=True,
    help='Convert a baselines file of another layout (e.g. {"meta", "cases"}) to '
    "benchgate's, showing the diff; the original is kept as <file>.bak.",
)
@click.option(
    "--ci",
    type=click.Choice(["github", "gitlab"]),
    default=None,
    help="Also write a CI workflow running the gate, adapted to what the project has.",
)
@click.option(
    "--shards",
    type=click.IntRange(min=1, max=256),
    default=None,
    metavar="N",
    help="With --ci: the sharded layout, N shard jobs and one gate job (docs/sharding.md).",
)
@click.pass_context
def init(
    ctx: click.Context, force: bool, migrate: bool, ci: str | None, shards: int | None = None
) -> None:
    """Scaffold the method's files in this project, or adopt an existing setup.

    Writes tests/bench/runner.py (accepts the method's command lines), an empty
    tests/bench/baselines.json, tests/GATES.md (the rules for reviewers) and an
    ignore line for tests/reports/. Files already there are inspected and kept, with
    what benchgate makes of them (an own runner.py, a baselines file of another
    layout); --force replaces them after a .bak backup, except baselines with data;
    --migrate converts baselines of another layout. With --ci the workflow's Python
    version, install step, pip cache and timeout come from the project (printed).
    Exit 0 when the project is ready for the gate, 1 when something incompatible
    remains (e.g. baselines to --migrate).

    \b
    Example:
      benchgate init --migrate --ci github
      benchgate init --ci github --shards 8
      python tests/bench/runner.py --out-dir tests/reports/bench --append
    """
    config = get_config(ctx)
    extra: dict[Path, str] = {}
    if shards is not None and not ci:
        raise BenchgateError("only with --ci github|gitlab", key="--shards")
    if ci:
        if shards is not None:
            dest, text = sharded_ci_template(ci, shards, config=config)
        else:
            dest, text = ci_template(ci, config=config)
        inferred = infer_ci(config)
        if shards is not None:  # per-shard jobs: their timeouts follow the split, not a round
            inferred.minutes, inferred.minutes_from = {}, "the sharded layout's own"
        extra[config.root / dest] = adapt_workflow(text, ci, inferred)
        for line in inferred.lines():
            click.echo(f"inferred {line}")
    names = [b.name for b in discover(config)] if migrate else None
    result = init_project(config, force=force, extra=extra, migrate=migrate, benches=names)

    def rel(p: Path) -> str:
        try:
            return p.relative_to(config.root).as_posix()
        except ValueError:
            return str(p)

    m = result.migration
    if m is not None:
        if m.changed:
            click.echo(f"migrated {rel(config.baselines_path)} ({m.layout} -> benchgate):")
            click.echo(m.diff(rel(config.baselines_path)), nl=False)
        for note in m.notes:
            click.echo(f"  note: {note}")
    for path, backup in result.backups.items():
        click.echo(f"backed up {rel(path)} to {rel(backup)}")
    for p in result.written:
        if m is None or p != config.baselines_path:
            click.echo(f"wrote {rel(p)}")
    found = {f.path: f for f in result.findings}
    for p in result.kept:
        f = found.get(p)
        if f is None:
            click.echo(f"kept  {rel(p)} (exists; --force to overwrite)")
        elif f.compatible:
            click.echo(f"kept  {rel(p)}: {f.what}")
        else:
            click.echo(f"kept  {rel(p)}: INCOMPATIBLE: {f.what}")
        if force and p == config.baselines_path:
            click.echo(f"      {rel(p)} holds data: --force never replaces baselines")
    if result.gitignore_updated:
        click.echo("added the out-dir to .gitignore")
    ctx.exit(1 if result.blocking else 0)


@click.command()
@click.option(
    "--dir",
    "dest",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to copy the demo project (default: a fresh temp dir).",
)
@click.option(
    "--repeat", type=click.IntRange(min=1), default=5, show_default=True, help="Runs per bench."
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit with the gate's code (1 on FAIL, NEW, MISSING or ERROR), as CI would.",
)
@click.pass_context
def demo(ctx: click.Context, dest: str | None, repeat: int, strict: bool) -> None:
    """Run the main job on the bundled demo suite.

    Copies the demo project, runs its benches 5 times (round-robin), reduces by
    median, compares with the demo's own baselines.json and prints the verdicts.
    The demo's baselines were measured on another machine, so the verdicts say as
    much about this machine as about the code: the exit code is 0 once the job has
    run, whatever the verdicts (the last line says what CI would do), 1 if a bench
    crashed (ERROR); --strict asks for the gate's own exit code.

    \b
    Example:
      benchgate demo --dir /tmp/bg-demo
    """
    root = copy_demo(Path(dest).resolve() if dest else None)
    click.echo(f"demo project: {root}")
    config = load_config(root)
    benches = discover(config)
    options = RunOptions(
        out_dir=config.out_path,
        repeat=repeat,
        timeout=config.timeout,
        env=dict(config.env),
        argv=["benchgate", "demo", *sys.argv[2:]],
        disturbed_share=config.disturbed_share,
        metric_rules=config.metrics,
    )

    def progress(ev: Progress) -> None:
        if ev.record is not None:
            r = ev.record
            state = "ok" if r.status is RunStatus.OK else f"{r.status.value}: {r.reason}"
            click.echo(
                f"  run {ev.round}/{ev.rounds} {ev.bench} ({r.duration_s:.1f}s) {state}", err=True
            )

    run_benches(config, benches, options, progress)
    runs = load_runs(config.out_path)
    reduced = reduce_runs(runs, "median")
    write_reduced(config.out_path, reduced)
    report = write_out_report(config, config.out_path, reduced)
    result = gate(config, config.out_path)
    click.echo("")
    click.echo(render_text(result.comparison), nl=False)
    click.echo(f"\nreport: {report}")
    failed = bool(result.comparison.gating())
    crashed = result.comparison.counts()[Status.ERROR] > 0  # a broken bench is no machine artefact
    if failed and not strict and not crashed:
        click.echo(
            "in CI `benchgate compare` would exit 1 here; the demo's baselines come from "
            "another machine (benchgate demo --strict exits as the gate does)"
        )
    ctx.exit(1 if crashed or (failed and strict) else 0)
