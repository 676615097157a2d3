"""Compare reduced measurements with baselines.json by the rules of gates.md.

Higher-is-better: FAIL if ``current < baseline * (1 - degradation_pct_max)``; WARN if
``current < baseline * (1 - variance_pct_warn)``; IMPROVED if better by more than
``variance_pct_warn``; else PASS. Lower-is-better: the same, direction reversed.
A value exactly on a threshold gets the milder verdict (the inequalities are strict,
and a value within float rounding (1e-9 relative) of a threshold counts as on it).
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from benchgate.model import (
    Baseline,
    BenchSummary,
    Comparison,
    ReducedMetric,
    ReducedSet,
    RunStatus,
    Status,
    Verdict,
)
from benchgate.run.measure import mark_unmeasured
from benchgate.selection import MetricRules, alias_config, rules_for
from benchgate.validate import finite


def _below(x: float, limit: float) -> bool:
    """x < limit, with a value on the limit (up to float rounding) not below it."""
    return x < limit and not math.isclose(x, limit, rel_tol=1e-9)


def judge(
    baseline: float,
    current: float,
    higher_is_better: bool,
    degradation_pct_max: float,
    variance_pct_warn: float,
) -> Status:
    """The gates.md verdict of ``current`` against ``baseline`` (PASS/IMPROVED/WARN/FAIL)."""
    if higher_is_better:
        if _below(current, baseline * (1 - degradation_pct_max)):
            return Status.FAIL
        if _below(current, baseline * (1 - variance_pct_warn)):
            return Status.WARN
        if _below(baseline * (1 + variance_pct_warn), current):
            return Status.IMPROVED
        return Status.PASS
    if _below(baseline * (1 + degradation_pct_max), current):
        return Status.FAIL
    if _below(baseline * (1 + variance_pct_warn), current):
        return Status.WARN
    if _below(current, baseline * (1 - variance_pct_warn)):
        return Status.IMPROVED
    return Status.PASS


def delta_pct(baseline: float, current: float) -> float:
    """Signed change in percent: (current - baseline) / baseline * 100."""
    return (current - baseline) / baseline * 100.0


def normalize_unit(unit: str) -> str:
    """Spellings of one unit made equal: ``ops/s`` = ``ops/sec`` = ``ops/second``."""
    u = unit.strip().lower().replace(" ", "").replace("µ", "u")
    for long in ("/second", "/seconds", "/secs"):
        if u.endswith(long):
            u = u[: -len(long)] + "/sec"
    if u.endswith("/s"):
        u = u[:-2] + "/sec"
    return {"sec": "s", "secs": "s", "seconds": "s", "second": "s"}.get(u, u)


def units_match(measured: str, baseline: str) -> bool:
    """True when the two spellings name the same unit."""
    return normalize_unit(measured) == normalize_unit(baseline)


def judge_metric(m: ReducedMetric, b: Baseline) -> Verdict:
    """One measured metric against its baseline entry."""
    hib = b.higher_is_better if b.higher_is_better is not None else m.higher_is_better
    common = dict(
        key=m.key,
        baseline=b.value,
        current=m.value,
        unit=b.unit,
        higher_is_better=hib,
        degradation_pct_max=b.degradation_pct_max,
        variance_pct_warn=b.variance_pct_warn,
        n=m.spread.n,
        spread=m.spread,
    )
    if not m.inferred and not units_match(m.unit, b.unit):
        return Verdict(
            status=Status.ERROR,
            delta_pct=None,
            reason=f"unit mismatch: the bench reports {m.unit!r}, baselines.json has {b.unit!r}",
            **common,  # type: ignore[arg-type]
        )
    status = judge(b.value, m.value, hib, b.degradation_pct_max, b.variance_pct_warn)
    return Verdict(status=status, delta_pct=delta_pct(b.value, m.value), **common)  # type: ignore[arg-type]


def _absent_verdict(key: str, b: Baseline, bench: BenchSummary | None) -> Verdict:
    failed = bench.metric_status.get(key.split(".", 1)[1]) if bench and "." in key else None
    if failed is not None:
        skipped = failed.get("status") == "skipped"
        status = Status.SKIPPED if skipped else Status.ERROR
        reason = failed.get("reason") or status.value
    elif bench is None:
        status, reason = Status.MISSING, "its bench did not run"
    elif bench.status is RunStatus.SKIPPED:
        status, reason = Status.SKIPPED, bench.reason or "skipped"
    elif bench.status is RunStatus.ERROR:
        status, reason = Status.ERROR, bench.reason or "bench failed"
    else:
        status, reason = Status.MISSING, "the bench ran but did not report this metric"
    return Verdict(
        key=key,
        status=status,
        baseline=b.value,
        current=None,
        unit=b.unit,
        delta_pct=None,
        higher_is_better=b.higher_is_better,
        degradation_pct_max=b.degradation_pct_max,
        variance_pct_warn=b.variance_pct_warn,
        reason=reason,
    )


def info_verdict(key: str, entry: dict[str, Any], b: Baseline | None) -> Verdict:
    """An informational metric's row: its value as reported, never judged."""
    value = entry.get("value")
    number = finite(value)
    reason = "informational, never gated"
    if b is not None:
        reason += " (its baselines.json entry is not used)"
    return Verdict(
        key=key,
        status=Status.INFO,
        baseline=b.value if b is not None else None,
        current=number,
        unit=b.unit if b is not None else None,
        delta_pct=None,
        reason=reason if number is not None else f"{clip(str(value), 40)}; {reason}",
        n=int(entry.get("n") or 0),
    )


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (a value must not stretch a table)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# How alike a MISSING and a NEW name of one bench must be to be offered as a rename.
NEAR_MISS_CUTOFF = 0.75


def pair_near_misses(verdicts: list[Verdict]) -> list[str]:
    """Pair each MISSING with the NEW of the same bench whose name nearly matches.

    The MISSING row's reason gets "did you mean ...?"; the returned notes give, per pair,
    the pyproject.toml lines of the alias that settles it (the bench's name for the metric
    renamed to the baseline's), so a renamed metric is not lost among the rows.
    """
    new_by_bench: dict[str, list[Verdict]] = {}
    for v in verdicts:
        if v.status is Status.NEW:
            new_by_bench.setdefault(v.bench, []).append(v)
    notes: list[str] = []
    taken: set[str] = set()
    for v in verdicts:
        if v.status is not Status.MISSING or "." not in v.key:
            continue
        bench, metric = v.key.split(".", 1)
        names = {
            n.key.split(".", 1)[1]: n for n in new_by_bench.get(bench, []) if n.key not in taken
        }
        near = difflib.get_close_matches(metric, list(names), n=1, cutoff=NEAR_MISS_CUTOFF)
        if not near:
            continue
        found = names[near[0]]
        taken.add(found.key)
        header, line = alias_config(bench, near[0], metric)
        v.reason = f"did you mean {near[0]!r}? ({header} {line}); {v.reason}"
        found.reason = f"probably {metric!r} of baselines.json under another name; {found.reason}"
        notes.append(
            f"{v.key} is MISSING and {found.key} is NEW: renamed? If it is the same metric, "
            f"add to pyproject.toml: {header} {line}"
        )
    return notes


def _is_info(key: str, rules: dict[str, MetricRules] | None) -> bool:
    if not rules or "." not in key:
        return False
    bench, metric = key.split(".", 1)
    return rules_for(rules, bench).classify(metric)[0] == "info"


def compare(
    reduced: ReducedSet,
    baselines: dict[str, Baseline],
    metric_rules: dict[str, MetricRules] | None = None,
) -> Comparison:
    """Every measured metric and every baseline key, judged; rows in baselines order.

    ``metric_rules``: a baseline key they make informational is INFO even when it was not
    reported this time (informational metrics never gate, so never MISSING).
    """
    verdicts: list[Verdict] = []
    for key, b in baselines.items():
        m = reduced.metrics.get(key)
        if key in reduced.info and m is None:
            verdicts.append(info_verdict(key, reduced.info[key], b))
        elif m is None and _is_info(key, metric_rules):
            verdicts.append(info_verdict(key, {"value": "not reported", "n": 0}, b))
        elif m is not None:
            verdicts.append(judge_metric(m, b))
        else:
            verdicts.append(_absent_verdict(key, b, reduced.benches.get(key.split(".", 1)[0])))
    for key, m in reduced.metrics.items():
        if key not in baselines:
            verdicts.append(
                Verdict(
                    key=key,
                    status=Status.NEW,
                    baseline=None,
                    current=m.value,
                    unit=m.unit,
                    delta_pct=None,
                    higher_is_better=m.higher_is_better,
                    reason="not in baselines.json: add it in the change that introduces it",
                    n=m.spread.n,
                    spread=m.spread,
                )
            )
    mark_unmeasured(verdicts, reduced)  # e.g. instruction keys in a time-only run
    for key, entry in reduced.info.items():
        if key not in baselines:
            verdicts.append(info_verdict(key, entry, None))
    # A bench that skipped or failed with no baseline key still gets a row: never silent.
    covered = {k.split(".", 1)[0] for k in baselines} | {m.bench for m in reduced.metrics.values()}
    for name, bench in reduced.benches.items():
        for metric, failed in bench.metric_status.items():
            if f"{name}.{metric}" in baselines:
                continue  # judged above, with its baseline
            verdicts.append(
                Verdict(
                    key=f"{name}.{metric}",
                    status=Status.SKIPPED if failed.get("status") == "skipped" else Status.ERROR,
                    baseline=None,
                    current=None,
                    unit=None,
                    delta_pct=None,
                    reason=failed.get("reason"),
                )
            )
        if name in covered or bench.status is RunStatus.OK:
            continue
        status = Status.SKIPPED if bench.status is RunStatus.SKIPPED else Status.ERROR
        verdicts.append(
            Verdict(
                key=name,
                status=status,
                baseline=None,
                current=None,
                unit=None,
                delta_pct=None,
                reason=bench.reason,
            )
        )
    return Comparison(verdicts=verdicts, warnings=pair_near_misses(verdicts), method=reduced.method)
