"""The ``benchgate`` command line: thin wrappers that parse, call the library, print.

Each command lives in its own module of this package and is registered below.
"""

from __future__ import annotations

import click

from benchgate import __version__, fsutil
from benchgate.cli.ab import ab
from benchgate.cli.collect import collect
from benchgate.cli.common import GuardedGroup
from benchgate.cli.compare import compare
from benchgate.cli.doctor import doctor
from benchgate.cli.explain import explain_cmd
from benchgate.cli.importer import import_
from benchgate.cli.measure import reduce, run
from benchgate.cli.project import demo, init
from benchgate.cli.refresh import baselines, check, refresh
from benchgate.cli.shard import merge, shards
from benchgate.cli.store import history, store
from benchgate.cli.trend import dashboard, trend


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


# Every command, in the order of the method (--help lists them alphabetically).
COMMANDS = (
    init,
    run,
    reduce,
    compare,
    demo,
    collect,
    ab,
    doctor,
    refresh,
    check,
    baselines,
    import_,
    shards,
    merge,
    store,
    history,
    trend,
    dashboard,
    explain_cmd,
)
for _cmd in COMMANDS:
    main.add_command(_cmd)
