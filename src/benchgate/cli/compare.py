"""``benchgate compare``: the gate."""

from __future__ import annotations

import os
from pathlib import Path

import click

from benchgate.baselines.file import load_baselines, load_baselines_at
from benchgate.cli.common import get_config
from benchgate.cli.measure import (
    dump_json,
    parse_allow,
    resolve_out_dir,
    run_baseline_confirmation,
    store_drift_estimates,
)
from benchgate.cli.options import (
    confirm_options,
    format_option,
    machine_option,
    out_dir_option,
    store_option,
)
from benchgate.cli.shard import class_line
from benchgate.cli.store import record_runs, recording_store
from benchgate.fsutil import atomic_write_text
from benchgate.judge.gate import baseline_environment, gate, load_out_dir
from benchgate.machine.classes import choose_for_runs
from benchgate.render.github import format_markdown, github_annotations, write_step_summary
from benchgate.render.junit import junit_xml
from benchgate.render.report import comparison_json, render_text


@click.command()
@out_dir_option
@click.option(
    "--baselines",
    "baselines_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="baselines.json to compare with (default: from config).",
)
@format_option(help="Output form; markdown is ready to post as a PR comment.")
@click.option(
    "--allow", default=None, metavar="new,missing", help="Do not fail the gate on these statuses."
)
@click.option(
    "--baselines-rev",
    default=None,
    metavar="REV",
    help="Read baselines.json as it is at this git revision (in a PR: its base).",
)
@click.option(
    "--baselines-missing-ok",
    is_flag=True,
    envvar="BENCHGATE_BASELINES_MISSING_OK",
    help="With --baselines-rev: the file may be absent there (this change adds it); "
    "then every metric is NEW. Without it, an absent file is an error. "
    "Env: BENCHGATE_BASELINES_MISSING_OK=1.",
)
@click.option(
    "--github/--no-github",
    "github",
    default=None,
    help="GitHub annotations (default: on when GITHUB_ACTIONS=true).",
)
@click.option(
    "--step-summary/--no-step-summary",
    "step_summary",
    default=None,
    help="Append the verdict table to $GITHUB_STEP_SUMMARY (default: with --github).",
)
@click.option(
    "--junit",
    "junit",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write JUnit XML to this file.",
)
@confirm_options
@machine_option
@store_option
@click.pass_context
def compare(
    ctx: click.Context,
    out_dir: str | None,
    baselines_path: str | None,
    fmt: str,
    allow: str | None,
    baselines_rev: str | None = None,
    baselines_missing_ok: bool = False,
    github: bool | None = None,
    step_summary: bool | None = None,
    junit: str | None = None,
    confirm: bool = False,
    confirm_runs: int = 10,
    confirm_time: float | None = None,
    machine: str | None = None,
    store_url: str | None = None,
) -> None:
    """Compare the measurements with baselines.json and gate on the result.

    Uses OUT_DIR/reduced.json when it covers the runs on disk, else reduces by median
    in memory. Verdicts follow gates.md: PASS, IMPROVED, WARN, FAIL, NEW, MISSING,
    SKIPPED, ERROR. Exit 0 when nothing is FAIL, NEW, MISSING or ERROR; 1 otherwise;
    2 for bad input. With --github (on under GITHUB_ACTIONS=true) it also prints the
    annotations and appends the verdict table to $GITHUB_STEP_SUMMARY.

    With machine classes declared ([tool.benchgate.machines]) the baselines are those
    of the class the runs were made on (baselines.<class>.json), or of --machine NAME
    (then only that class's runs are judged); the output says which.

    With --confirm, a WARN or FAIL whose confidence interval straddles its threshold
    (or that rests on fewer than 3 runs) is measured again. When its baseline records
    the commit it measured (measured_commit, written by refresh) and that commit is in
    the repository, the commit is checked out in a worktree and measured interleaved
    with the working tree, as `benchgate ab --confirm` does, and the verdict is judged
    on the pairs. Otherwise (said on stderr) only its bench runs again, up to
    --confirm-runs more runs (or --confirm-time seconds), appended to OUT_DIR, and
    judged on all its runs, first ones included.

    With --store URL (or store in [tool.benchgate]) the runs and the verdicts are
    recorded in the results store (docs/store.md).

    \b
    Example:
      benchgate compare --format markdown --allow new
      benchgate compare --confirm --confirm-runs 10
    """
    config = get_config(ctx)
    allowed = parse_allow(allow)
    d = resolve_out_dir(config, out_dir)
    store = recording_store(config, store_url)
    all_runs = load_out_dir(d)
    choice = choose_for_runs(config, all_runs, machine)
    config = choice.config
    baselines = None
    if baselines_path:
        baselines = load_baselines(
            Path(baselines_path), config.degradation_pct_max, config.variance_pct_warn
        )
    proposed: dict[str, float] = {}
    missing_note: str | None = None
    if baselines_rev is not None:
        at_rev = load_baselines_at(
            config.root,
            config.baselines_path,
            baselines_rev,
            baselines_missing_ok,
            config.degradation_pct_max,
            config.variance_pct_warn,
        )
        if at_rev is None:
            missing_note = (
                f"{config.baselines} does not exist at {baselines_rev} "
                "(--baselines-missing-ok): compared with no baselines, every metric is NEW"
            )
        baselines = at_rev or {}
        if config.baselines_path.exists():
            head = load_baselines(
                config.baselines_path, config.degradation_pct_max, config.variance_pct_warn
            )
            proposed = {k: b.value for k, b in head.items() if k not in baselines}
    judged_runs = choice.runs if choice.runs is not None else all_runs
    # The between-day drift of each metric from the results store's history, if any.
    drifts, drift_note = store_drift_estimates(store, judged_runs, config.drift_pct)
    result = gate(config, d, baselines, runs=judged_runs, drifts=drifts)
    if drift_note:
        result.comparison.warnings.append(drift_note)
    if confirm:
        env = baseline_environment(config) if baselines is None else None
        result = run_baseline_confirmation(config, d, result, confirm_runs, confirm_time, env)
    comparison = result.comparison
    if missing_note:
        comparison.warnings.insert(0, missing_note)
    for v in comparison.verdicts:
        if v.key in proposed:
            v.proposed = proposed[v.key]
    if github is None:
        github = os.environ.get("GITHUB_ACTIONS") == "true"
    if github:
        for line in github_annotations(comparison, allowed):
            click.echo(line)
    if github if step_summary is None else step_summary:
        # GitHub's summary page shows the whole table; annotations show only 10 per kind.
        write_step_summary(comparison, os.environ, allowed)
    if junit:
        atomic_write_text(Path(junit), junit_xml(comparison, allowed))
    said = class_line(choice, fmt) if baselines_path is None else None
    if said is not None:
        click.echo(said, err=fmt == "json")
    if fmt == "json":
        click.echo(dump_json(comparison_json(comparison, allowed)))
    elif fmt == "markdown":
        click.echo(format_markdown(comparison, allowed))
    else:
        click.echo(render_text(comparison, allowed), nl=False)
    verdicts = [v.to_dict() for v in comparison.verdicts]
    record_runs(config, store, d, verdicts, "compare", {"warnings": comparison.warnings})
    ctx.exit(1 if comparison.gating(allowed) else 0)
