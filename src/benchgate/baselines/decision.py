"""When to refresh baselines: the rule applied to a comparison, said in one sentence."""

from __future__ import annotations

from benchgate.model import Comparison, Status


def refresh_decision(comparison: Comparison) -> str:
    """Whether a refresh is warranted, in one sentence.

    The rule: a metric past its degradation threshold is fixed, or refreshed with a
    justified reason; metrics within their thresholds (or improved) need no refresh.
    """
    c = comparison.counts()
    fail = c[Status.FAIL]
    if fail:
        noun = "metric breaches" if fail == 1 else "metrics breach"
        return (
            f"{fail} {noun} degradation: fix {'it' if fail == 1 else 'them'}, "
            "or refresh with a justified reason"
        )
    parts = [f"{c[Status.PASS]} within warn"]
    if c[Status.WARN]:
        parts.append(f"{c[Status.WARN]} past warn but within degradation")
    parts.append(f"{c[Status.IMPROVED]} improved")
    return "no refresh needed: " + ", ".join(parts)
