"""CI integration: GitHub annotations, the PR comment, the step summary, JUnit XML, templates.

Every function here returns text (or writes one file it is asked to write); none prints,
so the CLI decides where each piece goes.
"""

from __future__ import annotations

import math
import os
import platform
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Mapping
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.model import GATING, STATUS_ORDER, Comparison, Status, Verdict
from benchgate.render.report import fmt_num

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
}

# The paths the templates are written with; ci_template() swaps in the project's own.
TEMPLATE_BASELINES = "tests/bench/baselines.json"
TEMPLATE_OUT_DIR = "tests/reports/bench"

_TEMPLATES = {
    "github": ("github-bench.yml", ".github/workflows/bench.yml"),
    "gitlab": ("gitlab-bench.yml", ".gitlab-ci.bench.yml"),
}


# --- shared helpers ------------------------------------------------------------------


def _failing(allow: Collection[Status] | None) -> set[Status]:
    """The statuses that fail the gate once ``allow`` (e.g. ``--allow new``) is applied."""
    return set(GATING) - set(allow or ())


def _ordered(verdicts: list[Verdict]) -> list[Verdict]:
    """Verdicts sorted attention-first (stable: baselines order within a status)."""
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    return sorted(verdicts, key=lambda v: rank[v.status])


def _pct(x: float) -> str:
    """A signed percentage with one decimal; trailing ``.0`` kept so columns line up."""
    return f"{x:+.1f}%"


def _better(v: Verdict) -> bool | None:
    """Whether the change is an improvement given the metric's direction (None: unknown)."""
    if v.delta_pct is None or v.delta_pct == 0:
        return None
    if v.higher_is_better is not None:
        return (v.delta_pct > 0) == v.higher_is_better
    # Direction unknown to us, but the verdict already encodes it.
    if v.status in (Status.FAIL, Status.WARN):
        return False
    if v.status is Status.IMPROVED:
        return True
    return None


def _limit(v: Verdict, fraction: float | None) -> str | None:
    """A threshold as the signed delta it stands for (``-15%`` for higher-is-better)."""
    if fraction is None:
        return None
    pct = fraction * 100
    if v.higher_is_better is None:
        return f"±{pct:g}%"
    return f"{'-' if v.higher_is_better else '+'}{pct:g}%"


def _interval(v: Verdict) -> str | None:
    if v.interval is None:
        return None
    lo, hi = (v.interval.low - 1) * 100, (v.interval.high - 1) * 100
    return f"{v.interval.level * 100:g}% CI {_pct(lo)}..{_pct(hi)}"


def fmt_value(x: float | None) -> str:
    """A measured value for people: 4 significant digits, thousands separators.

    ``1091640.3`` -> ``1,092,000``; ``489.93`` -> ``489.9``; ``0.0041234`` -> ``0.004123``.
    The delta is computed from the exact values; only the display is rounded.
    """
    if x is None or x == 0 or not math.isfinite(x):
        return fmt_num(x)
    mag = math.floor(math.log10(abs(x)))
    if mag >= 4:
        return f"{round(x, 3 - mag):,.0f}"
    return fmt_num(x)


def _with_unit(x: float | None, unit: str | None) -> str:
    return f"{fmt_value(x)} {unit}" if unit and x is not None else fmt_value(x)


def _first_line(text: str | None, limit: int = 200) -> str:
    """The first non-empty line of ``text``, shortened: reasons can be whole stderr tails."""
    if not text:
        return ""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def _notes(v: Verdict, failing: set[Status]) -> list[str]:
    """Qualifiers of one verdict: threshold crossed, interval, unsure, proposal, reason."""
    out: list[str] = []
    if v.status is Status.FAIL:
        limit = _limit(v, v.degradation_pct_max)
        if limit:
            out.append(f"limit {limit}")
    elif v.status is Status.WARN:
        limit = _limit(v, v.variance_pct_warn)
        if limit:
            out.append(f"warn beyond {limit}")
    ci = _interval(v)
    if ci:
        out.append(ci)
    if v.unsure:
        out.append("unsure")
    if v.confirmed_runs:
        out.append(f"confirmed with {v.confirmed_runs} more runs")
    if v.proposed is not None:
        out.append(f"PR proposes {_with_unit(v.proposed, v.unit)}")
    if v.reason and v.status in (Status.SKIPPED, Status.ERROR, Status.MISSING, Status.NEW):
        out.append(_first_line(v.reason))
    if v.added_with_baseline:
        out.append("baseline added by this change")
    elif v.status in GATING and v.status not in failing:
        out.append("allowed")
    return out


def describe(v: Verdict, allow: Collection[Status] | None = None) -> str:
    """One line telling what happened to a metric, as annotations and JUnit messages say it.

    ``<key>: baseline 1,320,000 steps/sec, current 1,091,000 steps/sec, delta -17.3% (limit
    -15%)``; NEW shows the current (and proposed) value, MISSING/ERROR/SKIPPED the reason.
    """
    failing = _failing(allow)
    parts: list[str] = []
    if v.baseline is not None:
        parts.append(f"baseline {_with_unit(v.baseline, v.unit)}")
    elif v.status is Status.NEW:
        parts.append("no baseline")
    if v.current is not None:
        parts.append(f"current {_with_unit(v.current, v.unit)}")
    elif v.status in (Status.MISSING, Status.ERROR, Status.SKIPPED):
        parts.append("no current value")
    if v.delta_pct is not None:
        parts.append(f"delta {_pct(v.delta_pct)}")
    notes = _notes(v, failing)
    text = f"{v.key}: " + ", ".join(parts) if parts else f"{v.key}:"
    if notes:
        text += f" ({'; '.join(notes)})" if parts else " " + "; ".join(notes)
    return text


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
    failing = _failing(allow)
    lines: list[str] = []
    for v in _ordered(comparison.verdicts):
        if v.added_with_baseline:
            level = "notice"
        elif v.status in GATING:
            level = "error" if v.status in failing else "warning"
        elif v.status is Status.WARN:
            level = "warning"
        else:
            continue
        lines.append(
            _command(level, f"benchgate {v.status.label} {v.key}", describe(v, allow), file)
        )
    for note in comparison.warnings:
        lines.append(_command("notice", "benchgate environment", note, None))
    return lines


# --- Markdown: PR comment and step summary ---------------------------------------------


def _md_cell(text: str) -> str:
    """Text made safe inside a table cell: one line, pipes escaped, no raw HTML."""
    text = " ".join(text.split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _md_code(text: str) -> str:
    """A key as inline code (backticks in it would end the span, so they are swapped)."""
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def _delta_cell(v: Verdict) -> str:
    if v.delta_pct is None:
        return "—"
    arrow = "▲" if v.delta_pct > 0 else "▼" if v.delta_pct < 0 else "="
    better = _better(v)
    word = "" if better is None else (" better" if better else " worse")
    return f"{arrow} {_pct(v.delta_pct)}{word}"


_HEADER = [
    "| status | key | baseline | current | unit | delta | notes |",
    "| --- | --- | ---: | ---: | --- | --- | --- |",
]


def _table(verdicts: list[Verdict], failing: set[Status]) -> list[str]:
    rows = list(_HEADER)
    for v in verdicts:
        rows.append(
            f"| {STATUS_ICON[v.status]} {v.status.label} | {_md_code(v.key)} "
            f"| {fmt_value(v.baseline)} | {fmt_value(v.current)} | {_md_cell(v.unit or '-')} "
            f"| {_delta_cell(v)} | {_md_cell('; '.join(_notes(v, failing)))} |"
        )
    return rows


def counts_summary(comparison: Comparison) -> str:
    """``2 FAIL, 1 WARN, 9 PASS``: every status that occurs, counted; never an average."""
    counts = comparison.counts()
    parts = [f"{counts[s]} {s.label}" for s in STATUS_ORDER if counts[s]]
    return ", ".join(parts) if parts else "no metrics compared"


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
    lines += [f"- ⚠️ {_md_cell(w)}" for w in comparison.warnings]
    return lines + [""]


def _footer(comparison: Comparison) -> str:
    ns = sorted({v.n for v in comparison.verdicts if v.n})
    if not ns:
        runs = ""
    elif len(ns) == 1:
        runs = f" of {ns[0]} run{'s' if ns[0] != 1 else ''}"
    else:
        runs = f" of {ns[0]}–{ns[-1]} runs"
    return (
        f"<sub>current = {comparison.method}{runs} per metric · delta relative to the baseline "
        "· FAIL beyond degradation_pct_max, WARN beyond variance_pct_warn · "
        "FAIL, NEW, MISSING and ERROR fail the gate</sub>"
    )


def _decision(comparison: Comparison, allow: Collection[Status] | None = None) -> str:
    from benchgate.judge.compare import refresh_decision

    return f"_{refresh_decision(comparison, allow)}_"


def format_markdown(comparison: Comparison, allow: Collection[Status] | None = None) -> str:
    """The comparison as a PR comment: verdict line, notes, regressions, the rest collapsed."""
    failing = _failing(allow)
    ordered = _ordered(comparison.verdicts)
    attention = [v for v in ordered if v.status in ATTENTION]
    rest = [v for v in ordered if v.status not in ATTENTION]
    lines = [f"### {verdict_line(comparison, allow)}", ""]
    lines += _env_notes(comparison)
    if attention:
        lines += [f"**Needs attention** ({len(attention)})", ""]
        lines += _table(attention, failing)
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
            *_table(rest, failing),
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
    failing = _failing(allow)
    lines = [f"### {verdict_line(comparison, allow)}", ""]
    lines += _env_notes(comparison)
    if comparison.verdicts:
        lines += _table(_ordered(comparison.verdicts), failing)
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


# --- JUnit XML ---------------------------------------------------------------------------

# Characters XML 1.0 cannot carry (stderr tails may hold ANSI escapes and the like).
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _x(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def _details(v: Verdict, allow: Collection[Status] | None) -> str:
    """Every number of a verdict, one per line, for ``<system-out>`` and failure bodies."""
    lines = [f"status: {v.status.label}", f"key: {v.key}"]
    lines.append(f"baseline: {_with_unit(v.baseline, v.unit)}")
    lines.append(f"current: {_with_unit(v.current, v.unit)}")
    if v.delta_pct is not None:
        better = _better(v)
        word = "" if better is None else (" (better)" if better else " (worse)")
        lines.append(f"delta: {_pct(v.delta_pct)}{word}")
    if v.higher_is_better is not None:
        lines.append(f"direction: {'higher' if v.higher_is_better else 'lower'} is better")
    if v.degradation_pct_max is not None or v.variance_pct_warn is not None:
        lines.append(
            f"thresholds: warn {_limit(v, v.variance_pct_warn) or '-'}, "
            f"fail {_limit(v, v.degradation_pct_max) or '-'}"
        )
    if v.n:
        spread = ""
        if v.spread is not None:
            s = v.spread
            spread = (
                f"; min {fmt_value(s.min)}, max {fmt_value(s.max)}, CV {s.cv * 100:.1f}%, "
                f"IQR/median {s.iqr_rel * 100:.1f}%"
            )
        lines.append(f"runs: {v.n}{spread}")
    notes = _notes(v, _failing(allow))
    if notes:
        lines.append(f"notes: {'; '.join(notes)}")
    if v.reason and "\n" in v.reason.strip():
        lines += ["reason:", v.reason.rstrip()]
    return "\n".join(lines)


def _fmt_time(t: float) -> str:
    return f"{max(t, 0.0):.3f}"


def junit_xml(
    comparison: Comparison,
    allow: Collection[Status] | None = None,
    bench_times: Mapping[str, float] | None = None,
    timestamp: str | None = None,
    hostname: str | None = None,
) -> str:
    """The comparison as JUnit XML (the junit-10.xsd shape Jenkins and GitLab read).

    One ``<testsuite name="<bench>">`` per bench and one ``<testcase
    classname="benchgate.<bench>" name="<key>">`` per metric. FAIL, NEW and MISSING are
    ``<failure type=...>``; ERROR is ``<error type="ERROR">`` (the bench could not be
    measured, JUnit's notion of an error); SKIPPED is ``<skipped message=reason>``; a
    status relaxed by ``allow`` passes with a note. Every testcase carries its numbers in
    ``<system-out>`` (WARN included, which passes). ``bench_times`` (seconds per bench)
    fills the suites' ``time``; ``<testsuites>`` carries no ``skipped`` count because the
    schema does not allow one there (each suite has it).
    """
    failing = _failing(allow)
    stamp = timestamp or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    host = hostname or platform.node() or "localhost"
    times = bench_times or {}
    by_bench: dict[str, list[Verdict]] = {}
    for v in comparison.verdicts:
        by_bench.setdefault(v.bench, []).append(v)

    root = ET.Element("testsuites", name="benchgate")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for i, (bench, verdicts) in enumerate(by_bench.items()):
        suite = ET.SubElement(root, "testsuite", name=_x(bench))
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="benchgate.method", value=comparison.method)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for v in verdicts:
            case = ET.SubElement(
                suite, "testcase", name=_x(v.key), classname=_x(f"benchgate.{bench}"), time="0.000"
            )
            counts["tests"] += 1
            message = _x(describe(v, allow))
            body = _x(_details(v, allow))
            if v.status in failing and not v.added_with_baseline:
                tag = "error" if v.status is Status.ERROR else "failure"
                counts["errors" if tag == "error" else "failures"] += 1
                el = ET.SubElement(case, tag, message=message, type=v.status.label)
                el.text = body
            elif v.status is Status.SKIPPED:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=_x(_first_line(v.reason) or "skipped"))
            out = ET.SubElement(case, "system-out")
            out.text = body
        t = float(times.get(bench, 0.0))
        total_time += t
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("skipped", str(counts["skipped"]))
        suite.set("time", _fmt_time(t))
        suite.set("timestamp", stamp)
        suite.set("hostname", _x(host))
        suite.set("id", str(i))
        suite.set("package", "benchgate")
        # Environment notes qualify every suite's numbers; the schema has no root-level text.
        sys_out = ET.SubElement(suite, "system-out")
        sys_out.text = _x("\n".join(f"environment: {w}" for w in comparison.warnings))
        ET.SubElement(suite, "system-err").text = ""
        for k in totals:
            totals[k] += counts[k]
    for k, n in totals.items():
        root.set(k, str(n))
    root.set("time", _fmt_time(total_time))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- workflow templates ----------------------------------------------------------------


def ci_template(kind: str, config: Config | None = None) -> tuple[str, str]:
    """The CI workflow for ``kind`` (``github`` or ``gitlab``): (destination path, text).

    GitHub: ``.github/workflows/bench.yml``. GitLab: ``.gitlab-ci.bench.yml``, a file to
    ``include:`` from ``.gitlab-ci.yml``. With ``config`` the project's own bench dir,
    out-dir, baselines, report and GATES.md paths (relative to its root) replace the
    defaults the templates are written with.
    """
    try:
        name, dest = _TEMPLATES[kind]
    except KeyError:
        raise BenchgateError(
            f"unknown CI kind {kind!r} (choose from {', '.join(_TEMPLATES)})", key="--ci"
        ) from None
    text = (resources.files("benchgate.project") / "templates" / name).read_text(encoding="utf-8")
    if config is not None:
        from benchgate.project.scaffold import project_paths

        defaults = project_paths(Config(root=config.root))
        ours = project_paths(config)
        swaps = {defaults[n]: ours[n] for n in defaults}
        # One pass, longest first: the default bench_dir is a prefix of the default
        # baselines path, and a project's value may contain another default.
        pattern = re.compile("|".join(map(re.escape, sorted(swaps, key=len, reverse=True))))
        text = pattern.sub(lambda m: swaps[m.group(0)], text)
    return dest, text
