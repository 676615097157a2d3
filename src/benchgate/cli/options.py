"""The options several commands share, each defined once: output form, out-dir, how
benches are picked and run, what is measured, confirming, machine class, shards, store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

_F = TypeVar("_F", bound=Callable[..., Any])


STORE_HELP = (
    "Results store: sqlite (.benchgate/history.db), sqlite:///PATH, postgresql://..., or off "
    "(default: store in [tool.benchgate], else off)."
)


def format_option(
    choices: tuple[str, ...] = ("text", "markdown", "json"),
    help: str = "Output form.",
) -> Callable[[_F], _F]:
    """The ``--format`` option every reporting command shares: parameter ``fmt``, default text."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default="text",
        show_default=True,
        help=help,
    )


def out_dir_option(f: Callable[..., object]) -> Callable[..., object]:
    return click.option(
        "--out-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Where measurements live (default: out_dir in config, tests/reports/bench).",
    )(f)


def run_options(f: Callable[..., object]) -> Callable[..., object]:
    """-k, --cpus, --timeout and --env: how benches are picked and run (run and ab)."""
    f = click.option(
        "--env",
        "env_pairs",
        multiple=True,
        metavar="NAME=VALUE",
        help="Extra benchmark environment variable (repeatable).",
    )(f)
    f = click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        help="Seconds before a bench is killed (default 300).",
    )(f)
    f = click.option(
        "--cpus",
        default=None,
        help="Pin benches to CPUs: 0-3, 2,4 or auto (one per physical core).",
    )(f)
    return click.option(
        "-k",
        "pattern",
        default=None,
        help="Only benches matching these globs/substrings (comma-separated).",
    )(f)


def measure_option(f: Callable[..., object]) -> Callable[..., object]:
    """--measure of run and ab (see docs/measurements.md)."""
    return click.option(
        "--measure",
        default=None,
        metavar="LIST",
        help="What to measure: time, instructions, cycles, memory, a comma-separated "
        "list, or both (= time,instructions). Default: measure in config, else time.",
    )(f)


def _confirm_options(
    f: Callable[..., object], runs_help: str, flag_help: str
) -> Callable[..., object]:
    f = click.option(
        "--confirm-time",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="S",
        help="With --confirm: stop confirming after S seconds.",
    )(f)
    f = click.option(
        "--confirm-runs",
        type=click.IntRange(min=1),
        default=10,
        show_default=True,
        metavar="N",
        help=runs_help,
    )(f)
    return click.option("--confirm", is_flag=True, help=flag_help)(f)


def confirm_options(f: Callable[..., object]) -> Callable[..., object]:
    """--confirm, --confirm-runs and --confirm-time of run and compare."""
    return _confirm_options(
        f,
        "With --confirm: at most N more runs per bench.",
        "Re-run benches whose verdict is unsure where it matters; judge on all their runs.",
    )


def ab_confirm_options(f: Callable[..., object]) -> Callable[..., object]:
    """--confirm, --confirm-runs and --confirm-time of ab (counted in rounds, not runs)."""
    return _confirm_options(
        f,
        "With --confirm: at most N more rounds (one run of each side) per bench.",
        "More interleaved rounds for benches whose paired verdict is unsure where it "
        "matters; judge on all pairs.",
    )


def machine_option(f: Callable[..., object]) -> Callable[..., object]:
    """``--machine NAME``: the declared machine class (a runner label) to work with."""
    return click.option(
        "--machine",
        default=None,
        metavar="NAME",
        help="Machine class of [tool.benchgate.machines] to use (default: the one the "
        "machine or the runs match).",
    )(f)


def shard_options(f: Callable[..., object]) -> Callable[..., object]:
    """``--shard K/N`` and ``--durations PATH`` of run and ab."""
    f = click.option(
        "--durations",
        type=click.Path(),
        default=None,
        metavar="PATH",
        help="With --shard: durations to balance by, an out-dir or a JSON file "
        "(default: the out-dir's runs). Give every shard job the same.",
    )(f)
    return click.option(
        "--shard",
        default=None,
        metavar="K/N",
        help="Run only part K of N of the benches, balanced by recorded durations.",
    )(f)


def store_option(f: _F) -> _F:
    """``--store URL`` of run, compare and ab (parameter ``store_url``)."""
    return click.option("--store", "store_url", default=None, metavar="URL", help=STORE_HELP)(f)


def reading_store_option(f: _F) -> _F:
    return click.option(
        "--store",
        "store_url",
        default=None,
        metavar="URL",
        help="Results store (default: store in [tool.benchgate], else .benchgate/history.db).",
    )(f)
