"""``benchgate refresh``, ``check`` and ``baselines log|revert``: the reviewed refresh."""

from __future__ import annotations

import json
from pathlib import Path

import click

from benchgate.baselines.file import writing_baselines
from benchgate.baselines.history import (
    HistoryEntry,
    baselines_log,
    revert_baselines,
    working_file_problem,
)
from benchgate.baselines.refresh import (
    RefreshOptions,
    plan_refresh,
    unified_diff,
    write_refresh,
)
from benchgate.baselines.refresh_report import (
    pr_body as make_pr_body,
)
from benchgate.baselines.refresh_report import (
    pr_title,
    read_baseline_environment,
    render_report,
)
from benchgate.baselines.review import (
    delta_text,
    render_check_json,
    render_check_markdown,
    render_check_text,
    run_check,
)
from benchgate.cli.common import get_config, split_list
from benchgate.cli.measure import resolve_out_dir
from benchgate.cli.options import format_option, machine_option, out_dir_option
from benchgate.cli.shard import class_line
from benchgate.errors import BenchgateError
from benchgate.fsutil import atomic_write_text
from benchgate.judge.gate import load_out_dir
from benchgate.machine.classes import (
    choose_for_change,
    choose_for_machine,
    choose_for_runs,
    machine_classes,
)
from benchgate.render import fmt as show


def _read_text(path: Path, missing: str | None) -> str:
    """A file's text byte for byte (no newline translation), BenchgateError if unreadable.

    A missing file is BenchgateError(``missing``), or ``""`` when ``missing`` is None.
    """
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        if missing is None:
            return ""
        raise BenchgateError(missing, path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchgateError(f"cannot be read: {exc}", path) from None


@click.command()
@click.option(
    "--reason",
    type=click.Choice(["algorithmic", "feature", "deps", "hardware"], case_sensitive=False),
    default=None,
    help="Why the numbers legitimately moved (an algorithmic change, a new feature, a "
    "dependency upgrade, new hardware). Required.",
)
@click.option("--why", default=None, metavar="TEXT", help="What changed, in a sentence. Required.")
@click.option(
    "--only",
    default=None,
    metavar="KEY,...",
    help="Refresh only these keys; may add NEW metrics (default thresholds).",
)
@click.option(
    "--method",
    type=click.Choice(["median", "trimmed-mean"]),
    default="median",
    show_default=True,
    help="How each key's runs are reduced to the new value.",
)
@click.option(
    "--min-runs",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Runs each refreshed key needs (default: min_runs in config, 5).",
)
@click.option(
    "--accept-regression",
    default=None,
    metavar="KEY,...",
    help="Allow these keys past their degradation threshold (recorded in notes).",
)
@click.option(
    "--allow-noisy",
    default=None,
    metavar="KEY,...",
    help="Allow these keys although their spread is over variance_pct_warn (recorded).",
)
@click.option(
    "--caveat",
    "caveats",
    multiple=True,
    metavar="TEXT",
    help="A caveat for report.md (repeatable).",
)
@click.option("--drop-disturbed", is_flag=True, help="Leave out runs disturbed by other processes.")
@click.option(
    "--dry-run", is_flag=True, help="Print the diffs of baselines.json and report.md only."
)
@click.option(
    "--pr-body",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Write the PR body there (default: print it).",
)
@out_dir_option
@machine_option
@click.pass_context
def refresh(
    ctx: click.Context,
    reason: str | None,
    why: str | None,
    only: str | None,
    method: str,
    min_runs: int | None,
    accept_regression: str | None,
    allow_noisy: str | None,
    caveats: tuple[str, ...],
    drop_disturbed: bool,
    dry_run: bool,
    pr_body: str | None,
    out_dir: str | None,
    machine: str | None = None,
) -> None:
    """Refresh baselines.json from the runs in the out-dir, for a legitimate reason.

    Updates only measured keys (only the --only ones when given; --only may add NEW
    metrics), never a SKIPPED or ERROR one. Each refreshed key gets the reduced value and
    notes saying how, where, when and why; unit, thresholds, every other key and the
    file's formatting stay as they were. Refuses, writing nothing, when a key has too few
    runs, the runs mix environments, a unit differs, a key is noisy (unless
    --allow-noisy) or would move past its degradation threshold (unless
    --accept-regression). Then writes the methodology into report.md and prints the PR
    title and body. With machine classes declared, the files are those of the class the
    runs were made on (baselines.<class>.json, report.<class>.md), or of --machine NAME.
    Exit 0 done, 1 refused, 2 bad input.

    \b
    Example:
      benchgate run --repeat 5 --cpus auto
      benchgate refresh --reason deps --why "msgspec 0.18 -> 0.19" --dry-run
      benchgate refresh --reason feature --why "adds signature checks" --only vm.steps_per_sec
    """
    config = get_config(ctx)
    if not reason:
        raise BenchgateError(
            "no reason, no refresh: pass --reason algorithmic|feature|deps|hardware and --why TEXT",
            key="--reason",
        )
    options = RefreshOptions(
        reason=reason.lower(),
        why=why,
        only=split_list(only) or None,
        method=method,
        min_runs=min_runs if min_runs is not None else config.min_runs,
        accept_regression=split_list(accept_regression),
        allow_noisy=split_list(allow_noisy),
        caveats=list(caveats),
        drop_disturbed=drop_disturbed,
    )
    runs = load_out_dir(resolve_out_dir(config, out_dir))
    choice = choose_for_runs(config, runs, machine)
    config = choice.config
    runs = choice.runs if choice.runs is not None else runs
    if choice.cls is not None:
        click.echo(choice.line())
    read = ""  # baselines.json as read ("" when absent): checked again before writing
    if choice.cls is not None and not config.baselines_path.exists():
        text = "{}\n"  # a class's first baselines: written by this refresh
    else:
        text = read = _read_text(
            config.baselines_path, "not found (create it with `benchgate init`, or write {})"
        )
    plan = plan_refresh(
        config, runs, text, options, previous_env=read_baseline_environment(config.report_path)
    )
    click.echo(f"decision: {show.plain(plan.decision)}")
    for w in plan.warnings:
        click.echo(f"warning: {show.plain(w)}", err=True)
    if not plan.ok:
        for r in plan.refusals:
            click.echo(f"refused: {show.plain(r)}", err=True)
        click.echo(f"benchgate refresh: {len(plan.refusals)} refusal(s); nothing written", err=True)
        ctx.exit(1)
    if not plan.changes:
        click.echo("nothing to change: every refreshed value is the same; nothing written")
        return
    for line in plan.left_alone:
        click.echo(f"left as it is: {show.plain(line)}")
    for c in plan.changes:
        s = c.metric.spread
        click.echo(
            f"{show.plain(c.key)}: {show.num(c.old)} -> {show.num(c.new)} {show.plain(c.unit)} "
            f"({'new' if c.is_new else show.pct(c.delta_pct)}; {s.n} runs, "
            f"IQR/median {show.share(s.iqr_rel)})"
        )
    old_report = _read_text(config.report_path, None)
    report_text = render_report(plan, old_report)
    body = make_pr_body(plan, config, report_written=True)
    title = pr_title(options.reason or "", options.why)
    if dry_run:
        click.echo(unified_diff(plan.old_text, plan.new_text, config.baselines), nl=False)
        click.echo(unified_diff(old_report, report_text, config.report), nl=False)
        click.echo(f"dry run: nothing written. PR title: {title}")
        return
    # Written under the baselines lock, and only if no other refresh or revert changed
    # either file since they were read.
    with writing_baselines(config, {config.baselines_path: read, config.report_path: old_report}):
        written = write_refresh(config, plan, report_text)
    for p in written:
        click.echo(f"wrote {p}")
    if pr_body:
        atomic_write_text(Path(pr_body), f"{title}\n\n{body}")
        click.echo(f"PR title: {title}")
        click.echo(f"PR body: {pr_body}")
    else:
        click.echo("")
        click.echo(title)
        click.echo("")
        click.echo(body, nl=False)


@click.command()
@click.option(
    "--base", default=None, metavar="REV", help="Base revision (default: default branch)."
)
@click.option("--head", default="HEAD", show_default=True, metavar="REV", help="Head revision.")
@format_option(help="Output form; markdown is ready to paste in a review.")
@click.option(
    "--evidence",
    type=click.Path(file_okay=False),
    default=None,
    metavar="OUT_DIR",
    help="Also check the new values against the runs in OUT_DIR.",
)
@click.option(
    "--rapid-days",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Rapid-edit window in days (default: rapid_edit_days in config, 7).",
)
@machine_option
@click.pass_context
def check(
    ctx: click.Context,
    base: str | None,
    head: str,
    fmt: str,
    evidence: str | None,
    rapid_days: int | None,
    machine: str | None = None,
) -> None:
    """The reviewer checklist of a baselines refresh PR, from git.

    Reads baselines.json and report.md at the merge-base of BASE and HEAD and at HEAD,
    and checks: scope (only baselines.json, report.md, README/docs changed), units and
    thresholds kept, no key removed, new notes for every changed value, report.md
    updated, no blanket shift, no unaccepted FAIL-level regression, no rapid edit, and
    with --evidence the new values against the runs. Commit first: HEAD is compared,
    not the working tree. With machine classes declared, the files checked are those of
    --machine NAME, else of the class whose files the change edits, else of the class
    the --evidence runs were made on, else of this machine's class. Exit 0 clean, 1 any
    violation, 2 bad input.

    \b
    Example:
      benchgate check --base origin/main --format markdown
      benchgate check --base main --evidence tests/reports/bench
    """
    config = get_config(ctx)
    ev = Path(evidence).resolve() if evidence else None
    changed = choose_for_change(config, base, head) if machine is None else None
    if changed is not None:
        choice = changed
    elif ev is not None and machine is None and machine_classes(config):
        choice = choose_for_runs(config, load_out_dir(ev), None)
    else:
        choice = choose_for_machine(config, machine)
    config = choice.config
    report = run_check(config, base, head, ev, rapid_days)
    said = class_line(choice, fmt)
    if said is not None:
        click.echo(said, err=fmt == "json")
    if fmt == "json":
        click.echo(render_check_json(report))
    elif fmt == "markdown":
        click.echo(render_check_markdown(report), nl=False)
    else:
        click.echo(render_check_text(report), nl=False)
    ctx.exit(0 if report.ok else 1)


@click.group()
def baselines() -> None:
    """History and rollback of baselines.json (who changed a value, when, and why).

    \b
    Example:
      benchgate baselines log
      benchgate baselines log vm_counter_runtime.steps_per_sec
      benchgate baselines revert HEAD~1
    """


@baselines.command("log")
@click.argument("key", required=False)
@click.option(
    "-n", "--max-count", type=click.IntRange(min=1), default=None, help="At most N commits."
)
@format_option(("text", "json"))
@click.pass_context
def log(ctx: click.Context, key: str | None, max_count: int | None, fmt: str) -> None:
    """The history of baselines.json from git: per commit, each key old -> new and why.

    With KEY, only the commits that changed that key. A commit whose file would not pass
    `compare` says why; when the working tree's file would not, the log is printed and
    the command exits 2 with compare's error.

    \b
    Example:
      benchgate baselines log
      benchgate baselines log da_rs_encode.encode_MBps -n 5
    """
    config = get_config(ctx)
    entries = baselines_log(config, key, max_count)
    _print_log(entries, key, config.baselines, fmt)
    problem = working_file_problem(config)
    if problem is not None:
        raise problem


def _print_log(entries: list[HistoryEntry], key: str | None, name: str, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
        return
    if not entries:
        click.echo("no commit changed " + (f"{key} in " if key else "") + name)
        return
    for e in entries:
        c = e.commit
        click.echo(f"{c.short} {c.date[:10]} {show.plain(c.subject)}")
        if e.problem:
            click.echo(f"    ({show.plain(e.problem)})")
        for d in e.deltas:
            line = f"    {show.plain(d.key)}: "
            unit = show.plain(d.unit)
            if d.kind == "added":
                line += f"added {show.any_value(d.new_value)} {unit}"
            elif d.kind == "removed":
                line += f"removed (was {show.any_value(d.old_value)} {unit})"
            elif d.kind == "changed":
                old, new = show.any_value(d.old_value), show.any_value(d.new_value)
                line += f"{old} -> {new} {unit} ({delta_text(d)})"
            else:
                fields = d.field_changes() or (["notes"] if d.notes_changed else ["other fields"])
                line += "edited " + ", ".join(fields)
            if d.kind != "removed" and d.reason:
                line += f"  reason: {show.plain(d.reason)}"
            click.echo(line)


@baselines.command("revert")
@click.argument("rev")
@click.pass_context
def revert(ctx: click.Context, rev: str) -> None:
    """Restore baselines.json as it was at REV (atomically) and print the diff.

    Nothing else is touched: commit the result in its own change, with the reason.

    \b
    Example:
      benchgate baselines revert HEAD~1
    """
    config = get_config(ctx)
    result = revert_baselines(config, rev)
    if not result.written:
        click.echo(f"{config.baselines} is already as at {result.commit.short}: nothing written")
        return
    click.echo(result.diff, nl=False)
    click.echo(
        f"restored {result.path} as at {result.commit.short} ({result.commit.subject}); "
        "nothing else touched"
    )
