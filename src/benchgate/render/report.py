"""The comparison as a text table and as JSON, and the out-dir's report.md.

Numbers and escaping come from :mod:`benchgate.render.fmt`; what is said about one
verdict from :mod:`benchgate.render.verdicts`.
"""

from __future__ import annotations

import re
from typing import Any

from benchgate.baselines.decision import refresh_decision
from benchgate.judge.stats import noise
from benchgate.model import STATUS_ORDER, Comparison, ReducedSet, RunRecord, RunStatus, Status
from benchgate.render import fmt
from benchgate.render.verdicts import (
    counts_line,
    gate_passed,
    ordered,
    short_note,
    summary_line,
)

__all__ = [
    "comparison_json",
    "counts_line",
    "environment_rows",
    "environment_table",
    "gate_passed",
    "render_out_report",
    "render_text",
    "summary_line",
]


def render_text(comparison: Comparison, allow: set[Status] | None = None) -> str:
    """The verdict table as aligned plain text, with warnings above and the summary below."""
    headers = ["STATUS", "KEY", "BASELINE", "CURRENT", "UNIT", "DELTA", "N", "NOISE", "NOTE"]
    rows = [
        [
            v.status.label,
            v.key,
            fmt.num(v.baseline),
            fmt.num(v.current),
            v.unit or "-",
            fmt.pct(v.delta_pct),
            str(v.n) if v.n else "-",
            fmt.share(noise(v.spread)) if v.spread else "-",
            short_note(v),
        ]
        for v in ordered(comparison.verdicts)
    ]
    lines = [f"! {fmt.plain(w)}" for w in comparison.warnings]
    if comparison.warnings:
        lines.append("")
    lines += fmt.table(headers, rows)
    lines.append("")
    lines.append(summary_line(comparison, allow))
    lines.append(refresh_decision(comparison, allow))
    return "\n".join(lines) + "\n"


def comparison_json(comparison: Comparison, allow: set[Status] | None = None) -> dict[str, Any]:
    """The ``--format json`` document: metrics (status in lower case) and a summary."""
    counts = comparison.counts()
    return {
        "metrics": [v.to_dict() for v in comparison.verdicts],
        "summary": {
            **{s.value: counts[s] for s in STATUS_ORDER},
            "total": len(comparison.verdicts),
            "gate": "pass" if gate_passed(comparison, allow) else "fail",
            "method": comparison.method,
            "decision": refresh_decision(comparison, allow),
            "warnings": comparison.warnings,
        },
    }


def doctor_text(doctor: dict[str, Any], disturbed: int = 0, runs: int = 0) -> str:
    """What the stored doctor block says, without claiming more than was checked.

    "no warnings" alone only when every check could be made and no run was disturbed;
    otherwise the checks not made (e.g. ``load (not sampled)``: the block stored with
    each run skips the load sample) and the disturbed runs are named.
    """
    warns = [str(w) for w in doctor.get("warn_names") or []]
    unchecked = []
    for c in doctor.get("checks") or []:
        if not isinstance(c, dict) or c.get("status") != "info":
            continue
        detail = str(c.get("detail") or "")
        m = _NOT_CHECKED.search(detail)
        if m:
            unchecked.append(f"{c.get('check')} ({m.group(0)})")
    if warns:
        parts = ["WARN: " + ", ".join(warns)]
    elif unchecked or disturbed:
        parts = ["no warnings in the checks made"]
    else:
        parts = ["no warnings"]
    if unchecked:
        parts.append("not checked: " + ", ".join(unchecked))
    if disturbed:
        parts.append(f"{disturbed} of {runs} runs were disturbed by other processes")
    return "; ".join(parts)


# How a doctor check says it could not look (machine/doctor.py's details).
_NOT_CHECKED = re.compile(r"not sampled|not readable here|not checked")


def environment_rows(
    env: dict[str, Any], disturbed: int = 0, runs: int = 0
) -> list[tuple[str, str]]:
    """The environment notes of a run as (label, value) rows.

    ``disturbed`` of ``runs`` runs were disturbed: the Doctor row says so, so it never
    reads "no warnings" over measurements other processes interfered with.
    """
    git = env.get("git") or {}
    gov = env.get("governor")
    if isinstance(gov, dict):
        gov = ", ".join(sorted({str(g) for g in gov.values()}))
    env_vars = env.get("env_vars") or {}
    rows = [
        ("Python", f"{env.get('python', '?')} ({env.get('python_implementation', '?')})"),
        ("OS", str(env.get("os", "?"))),
        ("CPU model", str(env.get("cpu_model", "?"))),
        (
            "Cores",
            f"{env.get('logical_cores', '?')} logical, {env.get('physical_cores', '?')} physical",
        ),
        ("CPUs used", fmt.cpus(env.get("cpus"))),
        ("Scaling governor", str(gov) if gov else "not readable here"),
        (
            "Git commit",
            f"{str(git.get('commit') or '?')[:12]}{' (dirty)' if git.get('dirty') else ''}"
            if git
            else "not a git checkout",
        ),
        ("Benchmark env vars", ", ".join(f"{k}={v}" for k, v in env_vars.items()) or "none"),
        ("Distributions recorded", str(len(env.get("distributions") or {}))),
        ("Environment fingerprint", str(env.get("fingerprint", "?"))),
    ]
    doctor = env.get("doctor")
    if isinstance(doctor, dict) and doctor.get("warn_names") is not None:
        rows.append(("Doctor", doctor_text(doctor, disturbed, runs)))
    return rows


def environment_table(rows: list[tuple[str, str]]) -> list[str]:
    """(label, value) rows as a two-column markdown table, values escaped."""
    lines = ["| | |", "| --- | --- |"]
    return lines + [f"| {fmt.md_cell(label)} | {fmt.md_cell(value)} |" for label, value in rows]


def render_out_report(
    runs_by_bench: dict[str, list[RunRecord]],
    reduced: ReducedSet,
    comparison: Comparison | None = None,
    baselines_note: str | None = None,
) -> str:
    """The out-dir's report.md: environment notes, every metric with its spread, verdicts."""
    runs = [r for rs in runs_by_bench.values() for r in rs]
    latest = max(runs, key=lambda r: r.started) if runs else None
    invocations = sorted({r.invocation for r in runs})
    lines = ["# Benchmark report", ""]
    lines.append(
        f"{len(runs)} runs of {len(runs_by_bench)} benches in {len(invocations)} "
        f"`benchgate run` call(s); aggregation: **{fmt.md_text(reduced.method)}** over all "
        "successful runs."
    )
    if reduced.dropped_disturbed:
        lines.append(
            f"{reduced.dropped_disturbed} disturbed runs were left out (--drop-disturbed)."
        )
    lines.append("")
    if latest is not None:
        disturbed = sum(1 for r in runs if r.disturbed)
        rows = environment_rows(latest.env, disturbed, len(runs))
        lines += ["## Environment", "", *environment_table(rows)]
        argv = latest.command.get("argv")
        if argv:
            lines += ["", f"Command: {fmt.md_code(' '.join(str(a) for a in argv), table=False)}"]
        fps = {str(e.get("fingerprint")) for e in reduced.envs}
        if len(fps) > 1:
            lines += ["", f"**Warning:** the runs come from {len(fps)} different environments."]
        lines.append("")
    method = fmt.md_cell(reduced.method)
    lines += [
        "## Metrics",
        "",
        f"| key | {method} | unit | n | min | max | CV | IQR/median |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in reduced.metrics.values():
        s = m.spread
        lines.append(
            f"| {fmt.md_code(m.key)} | {fmt.num(m.value)} | {fmt.md_cell(m.unit)} | {s.n} "
            f"| {fmt.num(s.min)} | {fmt.num(s.max)} | {fmt.share(s.cv)} | {fmt.share(s.iqr_rel)} |"
        )
    if reduced.info:
        lines += [
            "",
            "## Informational metrics",
            "",
            "Recorded and shown, never gated (`info` in `[tool.benchgate.metrics]`).",
            "",
            "| key | value | n |",
            "| --- | ---: | ---: |",
        ]
        for key, entry in reduced.info.items():
            lines.append(
                f"| {fmt.md_code(key)} | {fmt.md_cell(fmt.info_value(entry.get('value')))} "
                f"| {entry.get('n', '-')} |"
            )
    not_ok = [b for b in reduced.benches.values() if b.status is not RunStatus.OK or b.reason]
    if not_ok:
        lines += ["", "## Skipped and failed benches", ""]
        for b in not_ok:
            label = b.status.value.upper()
            lines.append(
                f"- {fmt.md_code(b.bench, table=False)}: {label} ({b.ok_runs}/{b.runs} runs ok): "
                f"{fmt.md_text(b.reason or '')}"
            )
            errs = [r for r in runs_by_bench.get(b.bench, []) if r.status is RunStatus.ERROR]
            if errs and errs[-1].stderr_tail:
                tail = "\n".join(errs[-1].stderr_tail.splitlines()[-8:])
                lines += ["", *fmt.fence(tail, indent="  ")]
    if comparison is not None:
        lines += ["", "## Comparison with baselines.json", "", summary_line(comparison), ""]
        lines.append(fmt.md_text(refresh_decision(comparison)))
        for w in comparison.warnings:
            lines.append(f"- {fmt.md_text(w)}")
        lines += [
            "",
            "| status | key | baseline | current | unit | delta | note |",
            "| --- | --- | ---: | ---: | --- | ---: | --- |",
        ]
        for v in ordered(comparison.verdicts):
            # The NOTE of `benchgate compare`: interval, "unsure", confirmation, reason.
            lines.append(
                f"| {v.status.label} | {fmt.md_code(v.key)} | {fmt.num(v.baseline)} "
                f"| {fmt.num(v.current)} | {fmt.md_cell(v.unit or '-')} | {fmt.pct(v.delta_pct)} "
                f"| {fmt.md_cell(short_note(v))} |"
            )
    elif baselines_note:
        lines += ["", f"_{fmt.md_text(baselines_note)}_"]
    return "\n".join(lines) + "\n"
