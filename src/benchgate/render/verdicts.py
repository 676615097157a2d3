"""What every renderer says about one verdict: order, direction, thresholds, notes, a line.

The text table, the markdown tables, the annotations and JUnit all describe a verdict
with these functions, so a threshold or an interval reads the same everywhere. Strings
that come from outside (keys, units, reasons) are escaped for plain text here; markdown
renderers escape again for their own syntax.
"""

from __future__ import annotations

from collections.abc import Collection

from benchgate.model import GATING, STATUS_ORDER, Comparison, Status, Verdict
from benchgate.render import fmt


def failing(allow: Collection[Status] | None) -> set[Status]:
    """The statuses that fail the gate once ``allow`` (e.g. ``--allow new``) is applied."""
    return set(GATING) - set(allow or ())


def ordered(verdicts: list[Verdict]) -> list[Verdict]:
    """Verdicts sorted attention-first (stable: baselines order within a status)."""
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    return sorted(verdicts, key=lambda v: rank[v.status])


def counts_line(comparison: Comparison) -> str:
    """Every status counted, attention-needing first: never an average that hides one."""
    c = comparison.counts()
    # INFO rows never gate: counted only when there are some.
    return ", ".join(f"{c[s]} {s.label}" for s in STATUS_ORDER if s is not Status.INFO or c[s])


def counts_summary(comparison: Comparison) -> str:
    """``2 FAIL, 1 WARN, 9 PASS``: every status that occurs, counted; never an average."""
    counts = comparison.counts()
    parts = [f"{counts[s]} {s.label}" for s in STATUS_ORDER if counts[s]]
    return ", ".join(parts) if parts else "no metrics compared"


def gate_passed(comparison: Comparison, allow: set[Status] | None = None) -> bool:
    """True when nothing is FAIL, NEW, MISSING or ERROR (after ``allow``)."""
    return not comparison.gating(allow)


def summary_line(comparison: Comparison, allow: set[Status] | None = None) -> str:
    """``benchgate: 1 FAIL, 0 ERROR, ... -- gate failed``."""
    verdict = "gate passed" if gate_passed(comparison, allow) else "gate failed"
    return f"benchgate: {counts_line(comparison)} -- {verdict}"


def better(v: Verdict) -> bool | None:
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


def limit(v: Verdict, fraction: float | None) -> str | None:
    """A threshold as the signed delta it stands for (``-15%`` for higher-is-better)."""
    if fraction is None:
        return None
    pct = fraction * 100
    if v.higher_is_better is None:
        return f"±{pct:g}%"
    return f"{'-' if v.higher_is_better else '+'}{pct:g}%"


def short_note(v: Verdict) -> str:
    """The NOTE column of the text table and report.md: interval, unsure, confirmation."""
    bits = []
    if v.unsure:
        bits.append("unsure")
    if v.confirmed_runs:
        bits.append(f"confirmed with {v.confirmed_runs} more runs")
    ci = fmt.interval(v.interval)
    if ci:
        bits.append(ci)
    if v.proposed is not None:
        bits.append(f"PR proposes {fmt.num(v.proposed)}")
    if v.added_with_baseline:
        bits.append("baseline added by this change")
    if v.reason and v.status in (Status.SKIPPED, Status.ERROR, Status.MISSING, Status.INFO):
        bits.append(fmt.first_line(v.reason, 120))
    return fmt.plain("; ".join(bits))


def notes(v: Verdict, failing_statuses: set[Status]) -> list[str]:
    """Qualifiers of one verdict: threshold crossed, interval, unsure, proposal, reason."""
    out: list[str] = []
    if v.status is Status.FAIL:
        lim = limit(v, v.degradation_pct_max)
        if lim:
            out.append(f"limit {lim}")
    elif v.status is Status.WARN:
        lim = limit(v, v.variance_pct_warn)
        if lim:
            out.append(f"warn beyond {lim}")
    ci = fmt.interval(v.interval)
    if ci:
        out.append(ci)
    if v.unsure:
        out.append("unsure")
    if v.confirmed_runs:
        out.append(f"confirmed with {v.confirmed_runs} more runs")
    if v.proposed is not None:
        out.append(f"PR proposes {fmt.with_unit(v.proposed, fmt.plain(v.unit or ''))}")
    if v.reason and v.status in (
        Status.SKIPPED,
        Status.ERROR,
        Status.MISSING,
        Status.NEW,
        Status.INFO,
    ):
        out.append(fmt.plain(fmt.first_line(v.reason)))
    if v.added_with_baseline:
        out.append("baseline added by this change")
    elif v.status in GATING and v.status not in failing_statuses:
        out.append("allowed")
    return out


def describe(v: Verdict, allow: Collection[Status] | None = None) -> str:
    """One line telling what happened to a metric, as annotations and JUnit messages say it.

    ``<key>: baseline 1,320,000 steps/sec, current 1,091,640 steps/sec, delta -17.3% (limit
    -15%)``; NEW shows the current (and proposed) value, MISSING/ERROR/SKIPPED the reason.
    """
    unit = fmt.plain(v.unit) if v.unit else None
    parts: list[str] = []
    if v.baseline is not None:
        parts.append(f"baseline {fmt.with_unit(v.baseline, unit)}")
    elif v.status is Status.NEW:
        parts.append("no baseline")
    if v.current is not None:
        parts.append(f"current {fmt.with_unit(v.current, unit)}")
    elif v.status in (Status.MISSING, Status.ERROR, Status.SKIPPED):
        parts.append("no current value")
    if v.delta_pct is not None:
        parts.append(f"delta {fmt.pct(v.delta_pct)}")
    qualifiers = notes(v, failing(allow))
    key = fmt.plain(v.key)
    text = f"{key}: " + ", ".join(parts) if parts else f"{key}:"
    if qualifiers:
        text += f" ({'; '.join(qualifiers)})" if parts else " " + "; ".join(qualifiers)
    return text
