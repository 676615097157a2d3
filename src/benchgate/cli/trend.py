"""``benchgate trend`` and ``benchgate dashboard``: history read back from the results store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from benchgate import store as _store_pkg
from benchgate.cli.common import get_config
from benchgate.cli.options import format_option
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.gitutil import commit_info, resolve_rev, toplevel
from benchgate.store.series import Series
from benchgate.trend.analyze import (
    DEFAULT_RECENT,
    MetricTrend,
    TrendOptions,
    analyze,
    holds_commit,
    is_date,
    parse_time,
    since,
)
from benchgate.trend.changepoint import DEFAULT_ALPHA, DEFAULT_WINDOW
from benchgate.trend.dashboard import build_site
from benchgate.trend.render import render_csv, render_json, render_markdown, render_text

# ``open_store(url_or_config)`` of the results store; looked up by name so that a build
# without it still starts (the commands then say so, exit 2).
_open_store: Callable[[Any], Any] | None = getattr(_store_pkg, "open_store", None)


@contextmanager
def opened_store(cfg: Config, url: str | None) -> Iterator[Any]:
    """The store named by ``--store URL``, else by the project's config; closed afterwards."""
    if _open_store is None:
        raise BenchgateError("this benchgate has no results store (benchgate.store.open_store)")
    store = _open_store(url if url else cfg)
    try:
        yield store
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()


def load_series(
    store: Any, branch: str | None, machine: str | None, last: int | None
) -> list[Series]:
    """Every metric's series from the store, sorted by key."""
    return [
        store.series(key, branch=branch, machine=machine, last=last) for key in sorted(store.keys())
    ]


def apply_since(series: list[Series], value: str | None, root: Path) -> list[Series]:
    """``--since REV|DATE``: a date or time cuts by time; a revision at its commit.

    A revision is looked for among the stored commits (a full sha or a prefix); failing
    that, git resolves it and series without that commit are cut at its date.
    """
    if not value:
        return series
    if is_date(value):
        return [since(s, time=parse_time(value)) for s in series]
    if any(holds_commit(s, value) for s in series):
        return [since(s, commit=value) for s in series]
    top = toplevel(root)
    sha = resolve_rev(top, value, "--since")
    when: datetime = parse_time(commit_info(top, sha).date)
    return [since(s, commit=sha, time=when) for s in series]


store_option = click.option(
    "--store",
    "store_url",
    default=None,
    metavar="URL",
    help="Results store URL, SQLite or postgresql://... (default: `store` of [tool.benchgate]).",
)
branch_option = click.option(
    "--branch", default=None, metavar="B", help="Only runs of this branch (default: all)."
)
machine_option = click.option(
    "--machine", default=None, metavar="M", help="Only runs on this machine (default: all)."
)
last_option = click.option(
    "--last",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only the newest N commits of each metric.",
)


def trend_options(alpha: float, window: int, recent: int) -> TrendOptions:
    """The detector's settings from the flags."""
    return TrendOptions(window=window, alpha=alpha, recent=recent)


def analyze_all(series: list[Series], options: TrendOptions) -> list[MetricTrend]:
    """Change points, creep and status of every metric."""
    return [analyze(s, options) for s in series]


detector_options = [
    click.option(
        "--recent",
        type=click.IntRange(min=1),
        default=DEFAULT_RECENT,
        show_default=True,
        metavar="N",
        help="Change points within the newest N commits are new; creep is measured over them.",
    ),
    click.option(
        "--alpha",
        type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
        default=DEFAULT_ALPHA,
        show_default=True,
        metavar="P",
        help="Significance a change point must reach (Apache Otava's default is 0.001).",
    ),
    click.option(
        "--window",
        type=click.IntRange(min=3),
        default=DEFAULT_WINDOW,
        show_default=True,
        metavar="N",
        help="Points per E-Divisive window.",
    ),
]


def _detector(f: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(detector_options):
        f = opt(f)
    return f


@click.command()
@branch_option
@machine_option
@click.option(
    "--since",
    "since_",
    default=None,
    metavar="REV|DATE",
    help="Only commits from this revision or date (2026-01-31) on.",
)
@last_option
@_detector
@format_option(("text", "markdown", "json", "csv"), help="Output form (csv: for Apache Otava).")
@store_option
@click.pass_context
def trend(
    ctx: click.Context,
    branch: str | None,
    machine: str | None,
    since_: str | None,
    last: int | None,
    recent: int,
    alpha: float,
    window: int,
    fmt: str,
    store_url: str | None,
) -> None:
    """Change points and creep of every metric over its history; exit 1 on a new regression.

    \b
    Change points: E-Divisive means with a Student's t-test per split, as Apache Otava
    does. A change point in the newest --recent commits that is worse than the metric's
    WARN threshold, or a creep (the level worse than FAIL over those commits with no single
    change point that far), fails the command, so a scheduled job can gate on it.

    \b
    Example:
      benchgate trend --branch main --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    cfg = get_config(ctx)
    options = trend_options(alpha, window, recent)
    with opened_store(cfg, store_url) as store:
        series = load_series(store, branch, machine, last)
    series = apply_since(series, since_, cfg.root)
    trends = analyze_all(series, options)
    if fmt == "markdown":
        click.echo(render_markdown(trends, options), nl=False)
    elif fmt == "json":
        click.echo(render_json(trends, options), nl=False)
    elif fmt == "csv":
        click.echo(render_csv(trends), nl=False)
    else:
        click.echo(render_text(trends, options), nl=False)
    if any(t.status.fails for t in trends):
        ctx.exit(1)


@click.command()
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Folder to write the site into (created if needed).",
)
@branch_option
@machine_option
@last_option
@_detector
@store_option
@click.pass_context
def dashboard(
    ctx: click.Context,
    out: str,
    branch: str | None,
    machine: str | None,
    last: int | None,
    recent: int,
    alpha: float,
    window: int,
    store_url: str | None,
) -> None:
    """Write a static dashboard of every metric's history (no server; works offline).

    \b
    index.html lists every metric with its latest value, status and a sparkline; a page
    per metric plots its history: value per commit with the spread as a band, baseline and
    WARN/FAIL lines, change points and baseline refreshes marked.

    \b
    Example:
      benchgate dashboard --out site --branch main
    """
    cfg = get_config(ctx)
    options = trend_options(alpha, window, recent)
    with opened_store(cfg, store_url) as store:
        series = load_series(store, branch, machine, last)
    summary = build_site(analyze_all(series, options), Path(out))
    click.echo(f"benchgate dashboard: {summary.metrics} metrics, {summary.files} files in {out}")
