"""Rendering: the out-dir's report.md, the text table and the JSON form of a comparison."""

from __future__ import annotations

import math
import re
from typing import Any

from benchgate.judge.compare import refresh_decision
from benchgate.judge.stats import noise
from benchgate.model import STATUS_ORDER, Comparison, ReducedSet, RunRecord, RunStatus, Status


def fmt_num(x: float | None) -> str:
    """A readable number: 4 significant digits, thousands separators, no exponent if avoidable."""
    if x is None:
        return "-"
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    mag = math.floor(math.log10(abs(x)))
    if mag >= 4:
        return f"{x:,.0f}"
    if mag >= -3:
        decimals = max(0, 3 - mag)
        return f"{x:,.{decimals}f}"
    return f"{x:.3e}"


def fmt_pct(x: float | None, signed: bool = True) -> str:
    """A percentage with one decimal (``+3.2%``), or ``-`` when absent."""
    if x is None:
        return "-"
    return f"{x:+.1f}%" if signed else f"{x:.1f}%"


def counts_line(comparison: Comparison) -> str:
    """Every status counted, attention-needing first: never an average that hides one."""
    c = comparison.counts()
    return ", ".join(f"{c[s]} {s.label}" for s in STATUS_ORDER)


def gate_passed(comparison: Comparison, allow: set[Status] | None = None) -> bool:
    """True when nothing is FAIL, NEW, MISSING or ERROR (after ``allow``)."""
    return not comparison.gating(allow)


def summary_line(comparison: Comparison, allow: set[Status] | None = None) -> str:
    """``benchgate: 1 FAIL, 0 ERROR, ... -- gate failed``."""
    verdict = "gate passed" if gate_passed(comparison, allow) else "gate failed"
    return f"benchgate: {counts_line(comparison)} -- {verdict}"


def _note(v: Any) -> str:
    bits = []
    if v.unsure:
        bits.append("unsure")
    if v.confirmed_runs:
        bits.append(f"confirmed with {v.confirmed_runs} more runs")
    if v.interval is not None:
        lo, hi = (v.interval.low - 1) * 100, (v.interval.high - 1) * 100
        bits.append(f"{int(v.interval.level * 100)}% CI {lo:+.1f}%..{hi:+.1f}%")
    if v.proposed is not None:
        bits.append(f"PR proposes {fmt_num(v.proposed)}")
    if v.added_with_baseline:
        bits.append("baseline added by this change")
    if v.reason and v.status in (Status.SKIPPED, Status.ERROR, Status.MISSING):
        bits.append(v.reason.splitlines()[0][:120])
    return "; ".join(bits)


def render_text(comparison: Comparison, allow: set[Status] | None = None) -> str:
    """The verdict table as aligned plain text, with warnings above and the summary below."""
    headers = ["STATUS", "KEY", "BASELINE", "CURRENT", "UNIT", "DELTA", "N", "NOISE", "NOTE"]
    rows = []
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    for v in sorted(comparison.verdicts, key=lambda v: order[v.status]):
        rows.append(
            [
                v.status.label,
                v.key,
                fmt_num(v.baseline),
                fmt_num(v.current),
                v.unit or "-",
                fmt_pct(v.delta_pct),
                str(v.n) if v.n else "-",
                fmt_pct(noise(v.spread) * 100, signed=False) if v.spread else "-",
                _note(v),
            ]
        )
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    lines = []
    for w in comparison.warnings:
        lines.append(f"! {w}")
    if comparison.warnings:
        lines.append("")
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines.append(fmt.format(*headers).rstrip())
    for r in rows:
        lines.append(fmt.format(*r).rstrip())
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
    cpus = env.get("cpus")
    cpus_s = "all" if cpus in (None, "all") else ",".join(str(c) for c in cpus)
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
        ("CPUs used", cpus_s),
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
        f"`benchgate run` call(s); aggregation: **{reduced.method}** over all successful runs."
    )
    if reduced.dropped_disturbed:
        lines.append(
            f"{reduced.dropped_disturbed} disturbed runs were left out (--drop-disturbed)."
        )
    lines.append("")
    if latest is not None:
        lines += ["## Environment", "", "| | |", "| --- | --- |"]
        disturbed = sum(1 for r in runs if r.disturbed)
        for label, value in environment_rows(latest.env, disturbed, len(runs)):
            lines.append(f"| {label} | {value} |")
        argv = latest.command.get("argv")
        if argv:
            lines += ["", f"Command: `{' '.join(argv)}`"]
        fps = {str(e.get("fingerprint")) for e in reduced.envs}
        if len(fps) > 1:
            lines += ["", f"**Warning:** the runs come from {len(fps)} different environments."]
        lines.append("")
    lines += [
        "## Metrics",
        "",
        f"| key | {reduced.method} | unit | n | min | max | CV | IQR/median |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in reduced.metrics.values():
        s = m.spread
        lines.append(
            f"| `{m.key}` | {fmt_num(m.value)} | {m.unit} | {s.n} | {fmt_num(s.min)} | "
            f"{fmt_num(s.max)} | {s.cv * 100:.1f}% | {s.iqr_rel * 100:.1f}% |"
        )
    not_ok = [b for b in reduced.benches.values() if b.status is not RunStatus.OK or b.reason]
    if not_ok:
        lines += ["", "## Skipped and failed benches", ""]
        for b in not_ok:
            label = b.status.value.upper()
            lines.append(f"- `{b.bench}`: {label} ({b.ok_runs}/{b.runs} runs ok): {b.reason}")
            errs = [r for r in runs_by_bench.get(b.bench, []) if r.status is RunStatus.ERROR]
            if errs and errs[-1].stderr_tail:
                tail = "\n".join(errs[-1].stderr_tail.splitlines()[-8:])
                lines += ["", "  ```", *("  " + t for t in tail.splitlines()), "  ```"]
    if comparison is not None:
        lines += ["", "## Comparison with baselines.json", "", summary_line(comparison), ""]
        lines.append(refresh_decision(comparison))
        for w in comparison.warnings:
            lines.append(f"- {w}")
        from benchgate.render.ci import _md_cell  # ci imports this module: import when used

        lines += [
            "",
            "| status | key | baseline | current | unit | delta | note |",
            "| --- | --- | ---: | ---: | --- | ---: | --- |",
        ]
        order = {s: i for i, s in enumerate(STATUS_ORDER)}
        for v in sorted(comparison.verdicts, key=lambda v: order[v.status]):
            # The NOTE of `benchgate compare`: interval, "unsure", confirmation, reason.
            lines.append(
                f"| {v.status.label} | `{v.key}` | {fmt_num(v.baseline)} | {fmt_num(v.current)} "
                f"| {v.unit or '-'} | {fmt_pct(v.delta_pct)} | {_md_cell(_note(v))} |"
            )
    elif baselines_note:
        lines += ["", f"_{baselines_note}_"]
    return "\n".join(lines) + "\n"
