"""The ``benchgate`` command line: thin wrappers that parse, call the library, print.

Each command lives in its own module of this package and is registered below.
"""

from __future__ import annotations

import click

from benchgate import __version__, fsutil
from benchgate.cli.common import GuardedGroup


@click.group(cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="benchgate")
@click.option(
    "-C",
    "--root",
    type=click.Path(file_okay=False),
    default=None,
    help="Project root (default: nearest folder with a pyproject.toml).",
)
@click.pass_context
def main(ctx: click.Context, root: str | None) -> None:
    """benchgate: run benchmarks, keep every sample, compare with baselines.json, gate CI.

    \b
    The method, end to end:
      benchgate init                      # scaffold tests/bench/
      benchgate run --repeat 5            # N>=5 runs, every sample kept
      benchgate reduce --method median    # medians with their spread
      benchgate compare                   # verdicts of gates.md, exit 1 on FAIL
    """
    ctx.ensure_object(dict)["root"] = root
    fsutil.on_lock_wait(lambda msg: click.echo(f"benchgate: {msg}", err=True))


# Command registration: one import line per command module.
from benchgate.cli.compare import compare  # noqa: E402
from benchgate.cli.measure import reduce, run  # noqa: E402
from benchgate.cli.project import demo, init  # noqa: E402

for _cmd in (init, run, reduce, compare, demo):
    main.add_command(_cmd)
from benchgate.cli.collect import collect  # noqa: E402

main.add_command(collect)
from benchgate.cli.ab import ab  # noqa: E402

main.add_command(ab)
from benchgate.cli.doctor import doctor  # noqa: E402

main.add_command(doctor)
from benchgate.cli.refresh import baselines, check, refresh  # noqa: E402

for _cmd in (refresh, check, baselines):
    main.add_command(_cmd)
from benchgate.cli.importer import import_  # noqa: E402

main.add_command(import_)
from benchgate.cli.shard import merge, shards  # noqa: E402

for _cmd in (shards, merge):
    main.add_command(_cmd)
from benchgate.cli.store import history, store  # noqa: E402

for _cmd in (store, history):
    main.add_command(_cmd)
from benchgate.cli.trend import dashboard, trend  # noqa: E402

for _cmd in (trend, dashboard):
    main.add_command(_cmd)
