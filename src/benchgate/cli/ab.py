"""``benchgate ab``: base revision and working tree measured interleaved, judged by pairs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from benchgate.ab.run import run_ab
from benchgate.cli.common import get_config
from benchgate.cli.measure import _Display, _parse_env, dump_json, resolve_out_dir
from benchgate.cli.options import (
    ab_confirm_options,
    format_option,
    machine_option,
    measure_option,
    out_dir_option,
    run_options,
    shard_options,
    store_option,
)
from benchgate.cli.shard import apply_shard, class_line, exact_pattern
from benchgate.cli.store import record_ab_result, recording_store
from benchgate.config import measure_settings
from benchgate.errors import BenchgateError
from benchgate.explain.render import ab_block_markdown, ab_block_text
from benchgate.explain.run import explain_verdicts
from benchgate.machine.classes import choose_for_machine
from benchgate.machine.cpus import parse_cpus
from benchgate.render.ab import render_ab_markdown, render_ab_text
from benchgate.run.discovery import discover, select
from benchgate.run.runner import sigterm_as_interrupt


@click.command()
@click.option(
    "--base",
    "base_rev",
    required=True,
    metavar="REV",
    help="The revision to measure against (branch, tag or commit), e.g. origin/main.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Rounds: each bench runs this many times on each side, interleaved.",
)
@click.option(
    "--build",
    type=click.Choice(["pythonpath", "venv"]),
    default=None,
    help="How each side is made importable: its tree first on PYTHONPATH, or its own "
    "virtual environment installed as the project installs itself (cached per commit "
    "and install files). Default: config ab_build, else pythonpath.",
)
@run_options
@measure_option
@ab_confirm_options
@format_option(help="Output form; markdown is ready to post as a PR comment.")
@out_dir_option
@shard_options
@machine_option
@store_option
@click.option(
    "--explain",
    "explain_fail",
    is_flag=True,
    help="For every FAIL, profile base and head (benchgate explain) and list the top five "
    "grown functions below the verdict table.",
)
@click.option("--explain-warn", is_flag=True, help="With --explain: WARN metrics too.")
@click.pass_context
def ab(
    ctx: click.Context,
    base_rev: str,
    repeat: int,
    pattern: str | None,
    cpus: str | None,
    timeout: float | None,
    env_pairs: tuple[str, ...],
    fmt: str,
    out_dir: str | None,
    measure: str | None = None,
    confirm: bool = False,
    confirm_runs: int = 10,
    confirm_time: float | None = None,
    build: str | None = None,
    shard: str | None = None,
    durations: str | None = None,
    machine: str | None = None,
    store_url: str | None = None,
    explain_fail: bool = False,
    explain_warn: bool = False,
) -> None:
    """Measure the base revision and the working tree in the same job, judged by pairs.

    REV is checked out in a temporary git worktree (removed afterwards, also on error
    or Ctrl-C). Each bench of the working tree runs on both sides interleaved, run by
    run, with the side that goes first alternating each round; the same interpreter
    and environment serve both, and each side imports its own source (PYTHONPATH
    starts with <tree>/src if present, then <tree>). A metric is judged by the median
    of its per-pair ratios head/base with the thresholds of gates.md (from
    baselines.json where the key exists, else config), and shown with its interval
    and, when baselines.json exists, its verdict against it. A bench absent at REV
    is NEW. With --build venv each side runs in its own virtual environment
    (requirements and/or the package installed from its tree, cached under
    ~/.cache/benchgate/ab-venvs); the output says how each side was built.

    With --explain, every FAIL (and WARN with --explain-warn) is explained as
    `benchgate explain KEY --base REV` does: the five functions whose cost grew most go
    below the verdict table, the flame graph and profiles into OUT_DIR/explain/<key>/.

    With --confirm, a bench whose paired verdict is unsure where it matters (an
    unsure WARN or FAIL, or a PASS whose interval reaches into FAIL) gets more
    interleaved rounds, up to --confirm-runs more, and is judged on all its pairs.

    With --measure instructions both sides are counted under valgrind (per-call
    instruction counts, paired like times; docs/measurements.md).

    Runs are saved in OUT_DIR/ab/base/ and OUT_DIR/ab/head/, the result in
    OUT_DIR/ab/ab.json. With --shard K/N only part K of the split of `benchgate shards`
    is measured (durations from OUT_DIR's runs, or OUT_DIR/ab/head's). With machine
    classes declared, the baselines are those of this machine's class (or --machine
    NAME's). Exit 1 when a paired verdict is FAIL or ERROR, 0 otherwise,
    2 for bad input (not a git repository, unknown revision).

    With --store URL (or store in [tool.benchgate]) both sides' runs and the paired
    verdicts are recorded in the results store (docs/store.md).

    \b
    Example (in a pull-request job):
      git fetch origin main
      benchgate ab --base origin/main --repeat 5 --confirm --format markdown
    """
    config = get_config(ctx)
    choice = choose_for_machine(config, machine)
    config = choice.config
    ab_out = resolve_out_dir(config, out_dir)
    if shard is not None:
        chosen, _, shard_line = apply_shard(
            select(discover(config), pattern), shard, durations, ab_out
        )
        if shard_line:
            click.echo(shard_line, err=True)
        if not chosen:
            click.echo(f"shard {shard} is empty: nothing to measure")
            return
        pattern = exact_pattern([b.name for b in chosen])
    elif durations is not None:
        raise BenchgateError("only with --shard K/N", key="--durations")
    measures, per_bench = measure_settings(config, measure)
    cpu_list = parse_cpus(cpus if cpus is not None else config.cpus)
    store = recording_store(config, store_url)
    display = _Display(live=sys.stderr.isatty())
    argv = ["benchgate", *sys.argv[1:]] if Path(sys.argv[0]).name != "runner.py" else sys.argv
    try:
        with sigterm_as_interrupt():
            result = run_ab(
                config,
                base_rev,
                repeat=repeat,
                pattern=pattern,
                cpus=cpu_list,
                out_dir=ab_out,
                timeout=timeout,
                env=_parse_env(env_pairs),
                progress=display,
                argv=argv,
                confirm_rounds=confirm_runs if confirm else 0,
                confirm_time=confirm_time,
                measure=measures,
                measure_per_bench=per_bench,
                calls=config.calls,
                build=build,
            )
    finally:
        display.close()
    said = class_line(choice, fmt)
    if said is not None:
        click.echo(said, err=fmt == "json")
    explained = (
        explain_verdicts(config, result, base_rev, ab_out, explain_warn) if explain_fail else []
    )
    if fmt == "json":
        doc = result.to_dict()
        if explain_fail:
            doc["explain"] = [
                {"status": st, "error": err, **(e.to_dict(5) if e is not None else {})}
                for st, e, err in explained
            ]
        click.echo(dump_json(doc))
    elif fmt == "markdown":
        click.echo(render_ab_markdown(result) + ab_block_markdown(explained), nl=False)
    else:
        click.echo(render_ab_text(result) + ab_block_text(explained), nl=False)
    record_ab_result(config, store, result)
    ctx.exit(1 if result.gating() else 0)
