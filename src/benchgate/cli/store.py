"""``benchgate store import|export|info`` and ``benchgate history KEY``; the --store option."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from benchgate.cli.common import get_config
from benchgate.cli.options import format_option, reading_store_option
from benchgate.config import Config
from benchgate.render.history import SHOWN, render_history
from benchgate.store.history import project_series
from benchgate.store.record import (
    check_store,
    reading_url,
    record_ab,
    record_out_dir,
    recording_url,
)
from benchgate.store.store import Store, out_dir_runs
from benchgate.store.url import StoreURL

# --- hooks for run, compare and ab -----------------------------------------------------


def recording_store(config: Config, store_url: str | None) -> StoreURL:
    """The store a measuring command records into, checked up front (off: nothing to do)."""
    url = recording_url(config, store_url)
    check_store(url)
    return url


def record_runs(
    config: Config,
    url: StoreURL,
    out_dir: Path,
    verdicts: list[dict[str, Any]] | None = None,
    source: str = "compare",
    summary: dict[str, Any] | None = None,
) -> None:
    """Record the out-dir's runs (and verdicts) and say so on stderr."""
    result = record_out_dir(config, url, out_dir, verdicts, source, summary)
    if result is not None:
        click.echo(result.line(url.display), err=True)


def record_ab_result(config: Config, url: StoreURL, result: Any) -> None:
    """Record both sides of an ``ab`` result and its verdicts, and say so on stderr."""
    done = record_ab(
        config, url, result.base_rev, result.base_runs, result.head_runs, result.to_dict()
    )
    if done is not None:
        click.echo(done.line(url.display), err=True)


# --- benchgate store ----------------------------------------------------------------------


@click.group("store")
def store() -> None:
    """The results store: every run over commits (SQLite by default, PostgreSQL for a fleet).

    \b
    Example:
      benchgate store import tests/reports/bench artifacts/bench-*
      benchgate store info
      benchgate store export --out-dir /tmp/runs --commit abc1234
    """


@store.command("import")
@click.argument("out_dirs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--branch", default="", help="Branch the imported runs were measured on (default: unknown)."
)
@reading_store_option
@click.pass_context
def store_import(
    ctx: click.Context, out_dirs: tuple[str, ...], branch: str, store_url: str | None
) -> None:
    """Load out-dirs (or downloaded CI artifacts, or single run files) into the store.

    Each OUT_DIR's <bench>.json files are read, with ab/base and ab/head when present.
    Idempotent: a run already stored is skipped, so importing the same artifact twice
    stores it once. All of it is one transaction: a bad file stores nothing.

    \b
    Example:
      benchgate store import tests/reports/bench --branch main
    """
    config = get_config(ctx)
    runs = []
    for d in out_dirs:
        runs += out_dir_runs(Path(d), branch=branch)
    url = reading_url(config, store_url)
    with Store.open(url) as st:
        result = st.record(runs)
    click.echo(result.line(url.display))


@store.command("export")
@click.option(
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Empty folder to write the run files into.",
)
@click.option("--commit", default=None, metavar="SHA", help="Only runs of this commit (prefix).")
@click.option("--branch", default=None, help="Only runs of this branch.")
@click.option("--machine", default=None, help="Only runs of this machine (host or fingerprint).")
@reading_store_option
@click.pass_context
def store_export(
    ctx: click.Context,
    out_dir: str,
    commit: str | None,
    branch: str | None,
    machine: str | None,
    store_url: str | None,
) -> None:
    """Write stored runs back as out-dir run files (<bench>.json, ab/base, ab/head).

    The files are what `benchgate run` wrote, so `reduce` and `compare` read them.

    \b
    Example:
      benchgate store export --out-dir /tmp/at-abc1234 --commit abc1234
    """
    config = get_config(ctx)
    with Store.open(reading_url(config, store_url), create=False) as st:
        result = st.export(Path(out_dir), commit, branch, machine)
    click.echo(f"wrote {result.runs} runs in {len(result.files)} files to {result.out_dir}")


@store.command("info")
@format_option(choices=("text", "json"))
@reading_store_option
@click.pass_context
def store_info(ctx: click.Context, fmt: str, store_url: str | None) -> None:
    """What the store holds: runs, metrics, commits, branches, machines, time span.

    \b
    Example:
      benchgate store info --format json
    """
    config = get_config(ctx)
    with Store.open(reading_url(config, store_url), create=False) as st:
        info = st.info()
        keys = st.keys()
    if fmt == "json":
        click.echo(json.dumps({**info.to_dict(), "metric_keys": keys}, indent=2))
        return
    click.echo(f"store: {info.location} ({info.kind}, schema version {info.schema_version})")
    if info.size_bytes is not None:
        click.echo(f"size: {info.size_bytes / 1e6:.1f} MB")
    click.echo(
        f"{info.runs} runs, {info.metric_values} metric values, {info.keys} metrics, "
        f"{info.commits} commits, {info.judgements} judgements"
    )
    if info.first:
        click.echo(f"from {info.first} to {info.last}")
    click.echo(f"branches: {', '.join(info.branches) or '-'}")
    click.echo(f"machines: {', '.join(info.machines) or '-'}")
    for k in keys[:50]:
        click.echo(f"  {k}")
    if len(keys) > 50:
        click.echo(f"  ... and {len(keys) - 50} more (--format json lists all)")


# --- benchgate history ----------------------------------------------------------------------


@click.command("history")
@click.argument("key")
@click.option("--branch", default=None, help="Only runs of this branch.")
@click.option("--machine", default=None, help="Only runs of this machine (host or fingerprint).")
@click.option(
    "--last",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only the newest N commits.",
)
@format_option()
@reading_store_option
@click.pass_context
def history(
    ctx: click.Context,
    key: str,
    branch: str | None,
    machine: str | None,
    last: int | None,
    fmt: str,
    store_url: str | None,
) -> None:
    """One metric over commits: value, spread, n, the baseline then, and a sparkline.

    KEY is bench.metric as in baselines.json. One row per commit: the median of that
    commit's runs, their min-max and stdev, how many, the baseline in force (from the
    verdicts recorded, else baselines.json at that commit) and the change against it.
    Runs on a dirty checkout are left out. Baseline refreshes are listed below. Text and
    markdown show the newest 40 commits unless --last is given; json gives all.

    \b
    Example:
      benchgate history p2p_encode_decode.encode_MBps --branch main --last 30
    """
    config = get_config(ctx)
    with Store.open(reading_url(config, store_url), create=False) as st:
        series = project_series(st, config, key, branch, machine, last)
    shown = None if last is not None else SHOWN
    click.echo(render_history(series, fmt, branch, machine, shown), nl=False)
