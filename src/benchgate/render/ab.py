"""``benchgate ab``'s result as text and markdown (strings only; the CLI prints)."""

from __future__ import annotations

from benchgate.ab.run import AB_GATING, ABResult
from benchgate.model import STATUS_ORDER, Status, Verdict
from benchgate.render import fmt


def _ratio_text(m: Verdict) -> str:
    if m.ratio is None:
        return "-"
    return f"{m.ratio:.3f} ({fmt.ratio_pct(m.ratio)})"


def _baseline_text(m: Verdict) -> str:
    v = m.baseline_verdict
    if v is None:
        return "-"
    if v.delta_pct is None:
        return v.status.label
    return f"{v.status.label} {fmt.pct(v.delta_pct)}"


def _note_text(m: Verdict) -> str:
    bits = []
    if m.unsure:
        bits.append("unsure")
    if m.confirmed_runs:
        bits.append(f"confirmed with {m.confirmed_runs} more pairs")
    if m.thresholds_from == "config" and m.ratio is not None:
        bits.append("config thresholds")
    if m.reason:
        bits.append(fmt.first_line(m.reason, 120))
    return fmt.plain("; ".join(bits))


def _header(result: ABResult) -> str:
    head = (result.head_commit or "no commit")[:12]
    state = ", uncommitted changes" if result.head_dirty else ""
    return (
        f"benchgate ab: base {fmt.plain(result.base_rev)} ({result.base_commit[:12]}) "
        "vs working tree "
        f"({head}{state}); {result.repeat} interleaved rounds"
    )


def _rows(result: ABResult) -> list[list[str]]:
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    rows = []
    for m in sorted(result.metrics, key=lambda m: order[m.status]):
        rows.append(
            [
                m.status.label,
                m.key,
                fmt.num(m.baseline),
                fmt.num(m.current),
                m.unit or "-",
                _ratio_text(m),
                fmt.ratio_interval(m.interval),
                str(m.n) if m.n else "-",
                _baseline_text(m),
                _note_text(m),
            ]
        )
    return rows


HEADERS = ["STATUS", "KEY", "BASE", "HEAD", "UNIT", "HEAD/BASE", "INTERVAL", "PAIRS"]
HEADERS += ["BASELINES", "NOTE"]


def summary_lines(result: ABResult) -> list[str]:
    """The counts, the gate's outcome and, if any, the metrics the machine explains."""
    c = result.counts()
    counts = ", ".join(f"{c[s]} {s.label}" for s in STATUS_ORDER if s is not Status.INFO or c[s])
    outcome = "gate failed" if result.gating() else "gate passed"
    lines = [f"benchgate ab: {counts} -- {outcome} (on the paired verdicts)"]
    machine = [
        m.key
        for m in result.metrics
        if m.status not in AB_GATING
        and m.baseline_verdict is not None
        and m.baseline_verdict.status in (Status.FAIL, Status.WARN)
        and m.status in (Status.PASS, Status.IMPROVED)
    ]
    if machine:
        lines.append(
            f"{len(machine)} metrics are below baselines.json but not below the base revision "
            f"measured alongside: the machine, not the change ({', '.join(machine[:5])}"
            + (", ..." if len(machine) > 5 else "")
            + ")"
        )
    lines += confirm_lines(result)
    lines.append(f"runs: {result.out_dir / 'base'}/, {result.out_dir / 'head'}/")
    return lines


def confirm_lines(result: ABResult) -> list[str]:
    """With --confirm: one line per confirmed metric, before -> after, on how many pairs."""
    if not result.confirm_budget:
        return []
    confirmed = [m for m in result.metrics if m.before is not None and m.confirmed_runs]
    if not confirmed:
        return ["confirm: no paired verdict is unsure in a way that matters: nothing to confirm"]
    out = []
    for m in confirmed:
        assert m.before is not None
        was = f"{m.before[0].label}{' (unsure)' if m.before[1] else ''}"
        now = f"{m.status.label}{' (unsure)' if m.unsure else ''}"
        why = result.confirm_stopped.get(m.bench, "")
        out.append(
            f"confirm: {fmt.plain(m.key)}: {was} -> {now} on all {m.n} pairs "
            f"({m.confirmed_runs} more; {why})"
        )
    return out


def render_ab_text(result: ABResult) -> str:
    """The A/B result as an aligned text table with the header and summary lines."""
    lines = [fmt.plain(_header(result))]
    lines += [f"build {fmt.plain(b.how)}" for b in result.builds]
    lines += [f"! {fmt.plain(w)}" for w in result.warnings]
    lines.append("")
    lines += fmt.table(HEADERS, _rows(result))
    lines.append("")
    lines += [fmt.plain(line) for line in summary_lines(result)]
    return "\n".join(lines) + "\n"


def render_ab_markdown(result: ABResult) -> str:
    """The A/B result as markdown, ready to post as a PR comment."""
    lines = [f"### {fmt.md_text(_header(result))}", ""]
    lines += [f"- build {fmt.md_text(b.how)}" for b in result.builds]
    if result.builds:
        lines.append("")
    lines += [f"> {fmt.md_text(w)}" for w in result.warnings]
    if result.warnings:
        lines.append("")
    lines.append("| " + " | ".join(h.lower() for h in HEADERS) + " |")
    lines.append("| --- | --- | ---: | ---: | --- | ---: | --- | ---: | --- | --- |")
    for r in _rows(result):
        cells = [fmt.md_cell(c) for c in r]
        cells[1] = fmt.md_code(r[1])
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [fmt.md_text(line) for line in summary_lines(result)]
    return "\n".join(lines) + "\n"
