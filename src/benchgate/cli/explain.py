"""``benchgate explain``: the functions whose cost grew (and shrank) behind one metric."""

from __future__ import annotations

import click

from benchgate.cli.common import get_config
from benchgate.cli.measure import _parse_env, resolve_out_dir
from benchgate.cli.options import format_option, out_dir_option
from benchgate.explain.render import render_json, render_markdown, render_text
from benchgate.explain.run import DEFAULT_CALLS, MEASURES, TIME, explain
from benchgate.gitutil import default_branch, toplevel


@click.command("explain")
@click.argument("key")
@click.option(
    "--base",
    "base_rev",
    default=None,
    metavar="REV",
    help="The revision to compare with (default: the default branch, e.g. origin/HEAD, main).",
)
@click.option(
    "--measure",
    type=click.Choice(list(MEASURES)),
    default=TIME,
    show_default=True,
    help="time: cProfile; instructions: callgrind's exact counts (needs valgrind).",
)
@click.option(
    "--calls",
    type=click.IntRange(min=1),
    default=None,
    help=(
        f"Calls of the operation profiled per side (default {DEFAULT_CALLS['time']} for time, "
        f"{DEFAULT_CALLS['instructions']} for instructions)."
    ),
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Functions listed per table.",
)
@click.option("--timeout", type=float, default=None, help="Seconds per profiling process.")
@click.option("--env", "env_pairs", multiple=True, metavar="K=V", help="Extra bench env var.")
@format_option()
@out_dir_option
@click.pass_context
def explain_cmd(
    ctx: click.Context,
    key: str,
    base_rev: str | None,
    measure: str,
    calls: int | None,
    top: int,
    timeout: float | None,
    env_pairs: tuple[str, ...],
    fmt: str,
    out_dir: str | None,
) -> None:
    """Why did KEY get slower? Profile its bench at REV and at the working tree, and diff.

    KEY is a metric key, <bench>.<metric>. The base revision is checked out in a
    temporary git worktree (as `ab` does). A bench written with benchgate.bench is
    profiled around the measured operation only (setup excluded), over a fixed number
    of calls; a plain script or command is profiled as a whole process, and the output
    says so. Prints the functions whose own cost grew and shrank most per call: base,
    head, change and share of the total change (built-ins are folded into the Python
    function that called them). With --measure instructions the totals and the C
    functions are exact callgrind counts (valgrind needed).

    Writes OUT_DIR/explain/<key>/: flame.html (the head profile coloured by change),
    base.pstats, head.pstats (and callgrind files), explain.json. Exit 0 once
    explained; 2 for an unknown key, a skipped bench, an unknown revision.

    \b
    Example:
      benchgate explain da_nmt_build.leaves_per_sec --base origin/main
      benchgate explain da_nmt_build.leaves_per_sec --base HEAD --measure instructions
    """
    config = get_config(ctx)
    rev = base_rev if base_rev is not None else default_branch(toplevel(config.root))
    result = explain(
        config,
        key,
        rev,
        measure=measure,
        calls=calls,
        out_dir=resolve_out_dir(config, out_dir),
        env=_parse_env(env_pairs),
        timeout=timeout,
    )
    if fmt == "json":
        click.echo(render_json(result, top), nl=False)
    elif fmt == "markdown":
        click.echo(render_markdown(result, top), nl=False)
    else:
        click.echo(render_text(result, top), nl=False)
