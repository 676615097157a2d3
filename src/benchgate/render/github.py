"""GitHub outputs: workflow-command annotations, the PR comment and the step summary.

Every function here returns text (or appends to the one file it is asked to); none
prints, so the CLI decides where each piece goes. The PR comment and the step summary
are plain GitHub-flavoured markdown, usable as a GitLab note too.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path

from benchgate.baselines.decision import refresh_decision
from benchgate.errors import BenchgateError
from benchgate.model import GATING, STATUS_ORDER, Comparison, Status, Verdict
from benchgate.render import fmt
from benchgate.render.verdicts import better as _better
from benchgate.render.verdicts import counts_summary, describe, failing, notes, ordered

# Statuses listed as "needs attention" in the PR comment; the rest is collapsed.
ATTENTION = [Status.FAIL, Status.ERROR, Status.MISSING, Status.NEW, Status.WARN]

STATUS_ICON = {
    Status.FAIL: "❌",
    Status.ERROR: "💥",
    Status.MISSING: "❓",
    Status.NEW: "🆕",
    Status.WARN: "⚠️",
    Status.SKIPPED: "⏭️",
    Status.IMPROVED: "🚀",
    Status.PASS: "✅",
    Status.INFO: "ℹ️",
}


# --- GitHub workflow commands ----------------------------------------------------------


def escape_data(text: str) -> str:
    """Escape the message of a workflow command (GitHub: %, CR and LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value of a workflow command (the data rules plus ``:`` and ``,``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(level: str, title: str, message: str, file: str | None) -> str:
    props = [f"title={escape_property(title)}"]
    if file:
        props.insert(0, f"file={escape_property(file)}")
    return f"::{level} {','.join(props)}::{escape_data(message)}"


def github_annotations(
    comparison: Comparison,
    allow: Collection[Status] | None = None,
    file: str | None = None,
) -> list[str]:
    """GitHub workflow-command lines: ``::error`` per gating verdict, ``::warning`` per WARN.

    FAIL, NEW, MISSING and ERROR become errors (or warnings when ``allow`` relaxes them),
    WARN becomes a warning, each environment note a ``::notice``. The most severe come
    first because GitHub shows only the first 10 errors and 10 warnings of a step.
    ``file`` (e.g. the baselines.json path) attaches the annotations to that file.
    """
    failing_statuses = failing(allow)
    lines: list[str] = []
    for v in ordered(comparison.verdicts):
        if v.added_with_baseline:
            level = "notice"
        elif v.status in GATING:
            level = "error" if v.status in failing_statuses else "warning"
        elif v.status is Status.WARN:
            level = "warning"
        else:
            continue
        title = f"benchgate {v.status.label} {fmt.plain(v.key)}"
        lines.append(_command(level, title, describe(v, allow), file))
    for note in comparison.warnings:
        lines.append(_command("notice", "benchgate environment", fmt.plain(note), None))
    return lines


# --- markdown: PR comment and step summary ---------------------------------------------


def _delta_cell(v: Verdict) -> str:
    if v.delta_pct is None:
        return "—"
    arrow = "▲" if v.delta_pct > 0 else "▼" if v.delta_pct < 0 else "="
    b = _better(v)
    word = "" if b is None else (" better" if b else " worse")
    return f"{arrow} {fmt.pct(v.delta_pct)}{word}"


_HEADER = [
    "| status | key | baseline | current | unit | delta | notes |",
    "| --- | --- | ---: | ---: | --- | --- | --- |",
]


def _table(verdicts: list[Verdict], failing_statuses: set[Status]) -> list[str]:
    rows = list(_HEADER)
    for v in verdicts:
        rows.append(
            f"| {STATUS_ICON[v.status]} {v.status.label} | {fmt.md_code(v.key)} "
            f"| {fmt.num(v.baseline)} | {fmt.num(v.current)} | {fmt.md_cell(v.unit or '-')} "
            f"| {_delta_cell(v)} | {fmt.md_cell('; '.join(notes(v, failing_statuses)))} |"
        )
    return rows


def verdict_line(comparison: Comparison, allow: Collection[Status] | None = None) -> str:
    """``❌ benchgate: 2 FAIL, 1 WARN, 9 PASS — gate failed`` (or ✅ ... gate passed)."""
    passed = not comparison.gating(set(allow or ()))
    icon, verdict = ("✅", "gate passed") if passed else ("❌", "gate failed")
    relaxed = sorted(s.label for s in set(allow or ()) & GATING if comparison.counts()[s])
    if relaxed:
        verdict += f" ({', '.join(relaxed)} allowed)"
    return f"{icon} benchgate: {counts_summary(comparison)} — {verdict}"


def _env_notes(comparison: Comparison) -> list[str]:
    if not comparison.warnings:
        return []
    lines = ["**Environment notes** (they qualify the numbers; verdicts are unchanged):", ""]
    lines += [f"- ⚠️ {fmt.md_text(w)}" for w in comparison.warnings]
    return lines + [""]


def _footer(comparison: Comparison) -> str:
    ns = sorted({v.n for v in comparison.verdicts if v.n})
    if not ns:
        runs = ""
    elif len(ns) == 1:
        runs = f" of {fmt.plural(ns[0], 'run')}"
    else:
        runs = f" of {ns[0]}–{ns[-1]} runs"
    return (
        f"<sub>current = {fmt.md_text(comparison.method)}{runs} per metric · delta relative "
        "to the baseline · FAIL beyond degradation_pct_max, WARN beyond variance_pct_warn · "
        "FAIL, NEW, MISSING and ERROR fail the gate</sub>"
    )


def _decision(comparison: Comparison, allow: Collection[Status] | None = None) -> str:
    return f"_{fmt.md_text(refresh_decision(comparison, allow))}_"


def format_markdown(comparison: Comparison, allow: Collection[Status] | None = None) -> str:
    """The comparison as a PR comment: verdict line, notes, regressions, the rest collapsed."""
    failing_statuses = failing(allow)
    verdicts = ordered(comparison.verdicts)
    attention = [v for v in verdicts if v.status in ATTENTION]
    rest = [v for v in verdicts if v.status not in ATTENTION]
    lines = [f"### {verdict_line(comparison, allow)}", ""]
    lines += _env_notes(comparison)
    if attention:
        lines += [f"**Needs attention** ({len(attention)})", ""]
        lines += _table(attention, failing_statuses)
        lines.append("")
    elif comparison.verdicts:
        lines += ["No regressions: nothing is FAIL, ERROR, MISSING, NEW or WARN.", ""]
    if rest:
        counts = comparison.counts()
        what = ", ".join(
            f"{counts[s]} {s.label}" for s in STATUS_ORDER if s not in ATTENTION and counts[s]
        )
        lines += [
            "<details>",
            f"<summary>{len(rest)} more: {what}</summary>",
            "",
            *_table(rest, failing_statuses),
            "",
            "</details>",
            "",
        ]
    lines += [_decision(comparison, allow), "", _footer(comparison)]
    return "\n".join(lines) + "\n"


def step_summary(comparison: Comparison, allow: Collection[Status] | None = None) -> str:
    """The comparison for ``$GITHUB_STEP_SUMMARY``: verdict line, notes, every row in one table.

    Unlike the PR comment nothing is collapsed: the summary page is there to be read.
    """
    failing_statuses = failing(allow)
    lines = [f"### {verdict_line(comparison, allow)}", ""]
    lines += _env_notes(comparison)
    if comparison.verdicts:
        lines += _table(ordered(comparison.verdicts), failing_statuses)
        lines.append("")
    lines += [_decision(comparison, allow), "", _footer(comparison)]
    return "\n".join(lines) + "\n"


def write_step_summary(
    comparison: Comparison,
    env: Mapping[str, str] = os.environ,
    allow: Collection[Status] | None = None,
) -> Path | None:
    """Append :func:`step_summary` to the file ``$GITHUB_STEP_SUMMARY`` names, if it is set.

    Returns the file written, or None outside GitHub Actions. The file is appended to,
    not replaced (GitHub's protocol: earlier output of the same step stays), in one write.
    """
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(step_summary(comparison, allow) + "\n")
    except OSError as exc:
        raise BenchgateError(f"cannot append the step summary: {exc}", path) from None
    return path
