"""``benchgate init`` and ``benchgate demo``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from benchgate.ab.run import run_ab
from benchgate.cli.common import get_config
from benchgate.config import load_config
from benchgate.errors import BenchgateError
from benchgate.explain.render import render_text as render_explain
from benchgate.explain.run import INSTRUCTIONS, TIME, explain
from benchgate.judge.reduce import reduce_runs
from benchgate.model import RunStatus
from benchgate.project import demo as story
from benchgate.project.ci_workflow import ci_template
from benchgate.project.infer import adapt_workflow, infer_ci
from benchgate.project.scaffold import init_project, sharded_ci_template
from benchgate.render.ab import render_ab_text
from benchgate.render.fmt import num
from benchgate.run.discovery import discover
from benchgate.run.measure import require_valgrind
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
    "--repeat",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Interleaved A/B rounds before --confirm adds any.",
)
@click.option(
    "--measure",
    type=click.Choice(["auto", "time", "instructions"]),
    default="auto",
    show_default=True,
    help="What explain measures: auto = instructions when valgrind is installed, else time.",
)
@click.pass_context
def demo(ctx: click.Context, dest: str | None, repeat: int, measure: str = "auto") -> None:
    """What benchgate is for, in about a minute, on the bundled demo suite.

    Copies the demo project into a fresh git repository and: (1) measures its three fast
    benches; (2) makes a known change: leaf_node, a helper of da_nmt_build, does about a
    third more work; (3) runs `benchgate ab --base HEAD --confirm`, which should catch
    exactly that bench; (4) runs `benchgate explain` on it, which should name leaf_node,
    with the exact instruction count's ratio beside the time ratio (time only when
    valgrind is missing, and it says so).

    Exit 0 when the story held (the gate failed exactly da_nmt_build and explain named
    leaf_node first), 1 when it did not (a bench crashed, the gate missed the change or
    blamed another bench, explain named another function), 2 for bad input.

    \b
    Example:
      benchgate demo --dir /tmp/bg-demo
    """
    t0 = time.perf_counter()
    root = story.copy_demo(Path(dest).resolve() if dest else None)
    story.commit_demo(root)
    click.echo(f"demo project: {root} (a git repository; the suite as shipped is HEAD)")
    config = load_config(root)
    pattern = ",".join(story.DEMO_BENCHES)
    benches = [b for b in discover(config) if b.name in story.DEMO_BENCHES]
    options = RunOptions(
        out_dir=config.out_path,
        repeat=1,
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
            click.echo(f"  {ev.bench} ({r.duration_s:.1f}s) {state}", err=True)

    click.echo(f"\n1. measure the suite ({', '.join(story.DEMO_BENCHES)}):")
    run_benches(config, benches, options, progress)
    reduced = reduce_runs(load_runs(config.out_path), "median")
    for key, m in sorted(reduced.metrics.items()):
        click.echo(f"  {key:<40} {num(m.value):>12} {m.unit or ''}")

    changed = story.inject_slowdown(root)
    click.echo(
        f"\n2. a known change to {story.SLOW_HELPER}() in {changed.relative_to(root)}: "
        "about a third more work for that bench"
    )
    for line in story.change_lines():
        click.echo(f"  {line}")

    click.echo(f"\n3. the gate: benchgate ab --base HEAD --repeat {repeat} --confirm")
    result = run_ab(
        config, "HEAD", repeat=repeat, pattern=pattern, confirm_rounds=10, confirm_time=60.0
    )
    click.echo(render_ab_text(result), nl=False)
    caught = sorted({m.bench for m in result.gating()})

    if measure == "auto":
        try:
            require_valgrind()
            measure = INSTRUCTIONS
        except BenchgateError as exc:
            click.echo(f"\n{exc}: the instruction count is left out, time only")
            measure = TIME
    click.echo(f"\n4. why: benchgate explain {story.SLOW_KEY} --base HEAD --measure {measure}")
    e = explain(config, story.SLOW_KEY, "HEAD", measure=measure)
    click.echo(render_explain(e, top=3), nl=False)
    slow = next((m for m in result.metrics if m.key == story.SLOW_KEY), None)
    if slow is not None and slow.ratio:
        # leaves/sec is higher-is-better: time per leaf is its inverse.
        line = f"\n{story.SLOW_KEY}: time per call x{1 / slow.ratio:.3f} (ab, median of pairs)"
        if measure == INSTRUCTIONS and e.diff.ratio is not None:
            line += f", instructions per call x{e.diff.ratio:.4f} (callgrind, exact)"
        click.echo(line)
    top = e.diff.grown(1)
    named = top[0].name if top else "nothing"
    held = caught == [story.SLOW_BENCH] and named == story.SLOW_HELPER
    share = f" ({top[0].share:.0%} of the change)" if top and top[0].share is not None else ""
    click.echo(
        f"\ngate failed: {', '.join(caught) or 'nothing'}; explain names {named}(){share}; "
        f"{time.perf_counter() - t0:.0f}s"
    )
    if held:
        click.echo(
            f"the story held: the gate caught exactly {story.SLOW_BENCH}, and explain named "
            f"the helper that changed. In CI `ab --explain` puts that table in the PR comment."
        )
    else:
        click.echo("the story did not hold on this machine (too noisy? see `benchgate doctor`)")
    ctx.exit(0 if held else 1)
