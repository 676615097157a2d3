"""``benchgate collect``: gather the CI artifacts."""

from __future__ import annotations

from pathlib import Path

import click

from benchgate.cli.common import get_config
from benchgate.cli.measure import report_config
from benchgate.project.collect import collect as collect_artifacts


@click.command()
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    default="outputs",
    show_default=True,
    help="Artifact folder to fill (outputs/bench/... and outputs/index.txt).",
)
@click.option(
    "--results",
    "results",
    type=click.Path(file_okay=False),
    default=None,
    help="Measurements to collect (default: out_dir in config, tests/reports/bench).",
)
@click.pass_context
def collect(ctx: click.Context, out_dir: str, results: str | None) -> None:
    """Gather the CI artifacts in the layout of gates.md.

    \b
    OUT_DIR/bench/results/*.json, *.md, *.xml  the measurements (every run, reduced.json,
                                               report.md, JUnit)
    OUT_DIR/bench/baselines.json               the baselines compared with (with machine
                                               classes: those of the runs' class)
    OUT_DIR/bench/report.md                    the methodology of the last refresh
    OUT_DIR/index.txt                          what was collected (sizes) and what was absent

    An absent piece is reported, never an error: collect runs after a gate that may
    have failed half-way. Run it with `if: always()` (GitHub) or in after_script
    (GitLab). Only regular files are copied: a symbolic link (never followed) or a
    special file is skipped and listed.

    \b
    Example:
      benchgate collect --out-dir outputs
    """
    config = get_config(ctx)
    dest = Path(out_dir).resolve()
    source = Path(results).resolve() if results else None
    config = report_config(config, source or config.out_path)
    result = collect_artifacts(config, dest, source)
    n = len(result.collected)
    click.echo(
        f"collected {n} file{'' if n == 1 else 's'} ({result.total_bytes:,} bytes) into {out_dir}/"
    )
    for c in result.collected:
        click.echo(f"  {c.dest} ({c.size:,} bytes)")
    for a in result.absent:
        click.echo(f"absent: {a.dest}: {a.why}")
    for s in result.skipped:
        click.echo(f"skipped: {s.dest}: {s.why}")
    for r in result.removed:
        click.echo(f"removed stale {r}")
    click.echo(f"index: {Path(out_dir) / 'index.txt'}")
