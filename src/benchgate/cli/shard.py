"""``benchgate shards`` and ``benchgate merge``, and the sharding and machine-class options.

``--shard K/N`` and ``--durations`` (run, ab) and ``--machine NAME`` (run, ab, compare,
refresh, check) are defined here so that every command spells them the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from benchgate.cli.common import get_config
from benchgate.cli.options import format_option
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.machine.classes import ClassChoice
from benchgate.render import fmt as show
from benchgate.run.discovery import Bench, discover, select
from benchgate.run.merge import as_dict, merge_out_dirs, merge_summary
from benchgate.run.shard import ShardPlan, parse_shard, plan_shards, recorded_durations


def class_line(choice: ClassChoice, fmt: str) -> str | None:
    """The line saying which machine class and baselines file a command used."""
    line = choice.line()
    if line is None:
        return None
    return f"_{line}_\n" if fmt == "markdown" else line


def apply_shard(
    benches: list[Bench], shard: str | None, durations: str | None, out_dir: Path
) -> tuple[list[Bench], ShardPlan | None, str | None]:
    """The benches of shard K/N (all when ``shard`` is None), the plan, and a line saying so."""
    if shard is None:
        if durations is not None:
            raise BenchgateError("only with --shard K/N", key="--durations")
        return benches, None, None
    spec = parse_shard(shard)
    source = Path(durations) if durations is not None else out_dir
    plan = plan_shards([b.name for b in benches], spec.n, recorded_durations(source))
    part = plan.shard(spec.k)
    wanted = set(part.benches)
    if plan.by == "duration":
        how = f"by recorded duration ({source}), expected {part.seconds:.1f}s per round"
    else:
        how = "by count (no recorded durations)"
    line = (
        f"shard {spec}: {len(part.benches)} of {len(benches)} benches, split {how} "
        f"(plan {plan.digest})"
    )
    return [b for b in benches if b.name in wanted], plan, line


def exact_pattern(names: list[str]) -> str:
    """A ``-k`` pattern selecting exactly ``names`` (a plain part would match substrings).

    Bench names are letters, digits, '_' and '-', so bracketing the first character makes
    each part a glob that matches that one name only.
    """
    return ",".join(f"[{n[0]}]{n[1:]}" for n in names)


def _benches(n: int) -> str:
    return f"{n} bench" if n == 1 else f"{n} benches"


def _fmt_seconds(s: float) -> str:
    return f"{s:.1f}s" if s < 600 else f"{s / 60:.1f}min"


def render_plan(plan: ShardPlan, repeat: int, source: str) -> str:
    """The split as text: one line per shard, then the balance."""
    by = f"by recorded duration ({source})" if plan.by == "duration" else "by count"
    benches = sum(len(s.benches) for s in plan.shards)
    lines = [f"{plan.n} shards of {_benches(benches)}, split {by}, plan {plan.digest}"]
    for s in plan.shards:
        head = f"shard {s.index}/{plan.n}: {_benches(len(s.benches))}"
        if plan.by == "duration":
            head += f", expected {_fmt_seconds(s.seconds * repeat)}"
        lines.append(head + (": " + ", ".join(s.benches) if s.benches else " (empty)"))
    if plan.by == "duration":
        over = (plan.longest / plan.bound - 1) * 100 if plan.bound else 0.0
        lines.append(
            f"longest shard {_fmt_seconds(plan.longest * repeat)}, ideal (total/{plan.n}) "
            f"{_fmt_seconds(plan.ideal * repeat)}, {show.pct(over, signed=False)} above the "
            "lower bound "
            f"max(ideal, longest bench) = {_fmt_seconds(plan.bound * repeat)}; "
            f"x{repeat} run{'s' if repeat != 1 else ''} per bench"
        )
        if plan.estimated:
            lines.append(
                f"{len(plan.estimated)} benches have no recorded duration and count as the "
                f"median: {', '.join(plan.estimated[:8])}"
                + (" ..." if len(plan.estimated) > 8 else "")
            )
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--n", "n", type=click.IntRange(min=1), required=True, help="Number of shards.")
@click.option(
    "--durations",
    type=click.Path(),
    default=None,
    metavar="PATH",
    help="Durations to balance by: an out-dir or a JSON file (default: the out-dir's runs).",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Out-dir whose runs give the durations (default: out_dir in config).",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Runs per bench, for the expected seconds.",
)
@click.option("-k", "pattern", default=None, help="Only benches matching (as run -k).")
@format_option(("text", "json"))
@click.pass_context
def shards(
    ctx: click.Context,
    n: int,
    durations: str | None,
    out_dir: str | None,
    repeat: int,
    pattern: str | None,
    fmt: str,
) -> None:
    """Print the split of the benches into N shards and the expected seconds of each.

    The split is the one `benchgate run --shard K/N` runs: deterministic, balanced by the
    median duration of each bench's recorded runs (LPT and a swap search), by count when
    nothing is recorded. The JSON form holds the durations, so it can be committed and
    given back with --durations to every shard job.

    \b
    Example:
      benchgate shards --n 8
      benchgate shards --n 8 --format json > tests/bench/durations.json
      benchgate run --shard 3/8 --durations tests/bench/durations.json
    """
    config = get_config(ctx)
    benches = select(discover(config), pattern)
    if not benches:
        raise BenchgateError("no benches found", config.bench_path)
    source = Path(durations) if durations else _out(config, out_dir)
    plan = plan_shards([b.name for b in benches], n, recorded_durations(source))
    if fmt == "json":
        data: dict[str, Any] = plan.to_dict()
        data["repeat"] = repeat
        data["durations"] = plan.durations if plan.by == "duration" else {}
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(render_plan(plan, repeat, str(source)), nl=False)


def _out(config: Config, out_dir: str | None) -> Path:
    return Path(out_dir).resolve() if out_dir else config.out_path


@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(), metavar="OUT_DIR...")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    required=True,
    help="The merged out-dir to write (new or empty; --force replaces it).",
)
@click.option("--force", is_flag=True, help="Replace --out-dir if it holds anything.")
@format_option(("text", "json"))
@click.pass_context
def merge(
    ctx: click.Context, sources: tuple[str, ...], out_dir: str, force: bool, fmt: str
) -> None:
    """Merge the out-dirs of matrix jobs (shards) into one, keeping every run.

    Refuses, writing nothing (exit 2): a folder that is not an out-dir, the same run id
    twice (an out-dir given twice), runs of different environments unless every run is
    of a declared machine class ([tool.benchgate.machines]), and shards split
    differently. The merged out-dir is written beside --out-dir and renamed into place:
    never half merged. reduce, compare, refresh and collect then work on it.

    \b
    Example (the gate job of a sharded workflow):
      benchgate merge shards/bench-1 shards/bench-2 --out-dir tests/reports/bench
      benchgate compare
    """
    config = get_config(ctx)
    result = merge_out_dirs(config, [Path(s) for s in sources], Path(out_dir), force=force)
    if fmt == "json":
        click.echo(json.dumps(as_dict(result), indent=2))
    else:
        for line in merge_summary(result):
            click.echo(line)
