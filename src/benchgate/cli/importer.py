"""``benchgate import``: another tool's result files into the out-dir as benchgate runs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from benchgate.cli.common import get_config
from benchgate.cli.measure import resolve_out_dir
from benchgate.cli.options import out_dir_option
from benchgate.importers import READERS, reader
from benchgate.importers.convert import import_files
from benchgate.judge.gate import write_out_report
from benchgate.machine.environment import capture_environment
from benchgate.model import RunStatus


@click.command("import")
@click.option(
    "--format",
    "fmt",
    required=True,
    metavar="NAME",
    help=f"The files' format: {', '.join(sorted(READERS))}.",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@out_dir_option
@click.option("--append", is_flag=True, help="Add these runs to the out-dir's earlier runs.")
@click.option(
    "--bench",
    default=None,
    metavar="NAME",
    help="Put every metric of the files in this one bench (default: as the format groups them).",
)
@click.pass_context
def import_(
    ctx: click.Context,
    fmt: str,
    files: tuple[Path, ...],
    out_dir: str | None,
    append: bool,
    bench: str | None,
) -> None:
    """Import result files of another benchmark tool as benchgate runs.

    Each FILE becomes one run of each bench it holds (several files: several runs), with
    the tool's samples, unit and direction, so reduce, compare, refresh and the CI
    outputs work on them. Without --append the out-dir's earlier runs are replaced.
    Formats and what maps to what: docs/importers.md.

    \b
    Example:
      pytest tests/perf --benchmark-json bench.json
      benchgate import --format pytest-benchmark bench.json
      benchgate compare
    """
    config = get_config(ctx)
    reader(fmt, "--format")
    d = resolve_out_dir(config, out_dir)
    env = capture_environment(config.root, None, {})
    argv = ["benchgate", *sys.argv[1:]]
    summary = import_files(fmt, list(files), d, env, argv, append=append, bench=bench)
    report = write_out_report(config, d)
    for r in summary.records:
        if r.status is RunStatus.OK:
            failed = r.extra.get("metric_status") or {}
            note = f", {len(failed)} failed or skipped" if failed else ""
            click.echo(f"{r.bench}: {len(r.metrics)} metrics{note}")
        else:
            click.echo(f"{r.bench}: {r.status.value.upper()} ({r.reason})")
    click.echo(
        f"imported {len(files)} file(s) as {len(summary.records)} runs; "
        f"results: {d}/<bench>.json; report: {report}"
    )
