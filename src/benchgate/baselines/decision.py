"""When to refresh baselines: the rule applied to a comparison, said in one sentence."""

from __future__ import annotations

from collections.abc import Collection

from benchgate.model import Comparison, Status

# What to do about each non-numeric reason a gate fails: never a refresh.
_NOT_A_REFRESH = {
    Status.ERROR: "fix the benches that failed",
    Status.MISSING: "measure the MISSING keys (or remove them in a reviewed change)",
    Status.NEW: "add baselines for the NEW metrics in the change that introduces them "
    "(`benchgate refresh --only KEY,...`)",
}


def refresh_decision(comparison: Comparison, allow: Collection[Status] | None = None) -> str:
    """Whether a refresh is warranted, in one sentence.

    The rule: a metric past its degradation threshold is fixed, or refreshed with a
    justified reason; metrics within their thresholds (or improved) need no refresh.
    Never "no refresh needed" under a failed gate: when ERROR, MISSING or NEW verdicts
    (not relaxed by ``allow``) fail it, the sentence says so and why a refresh is not the
    answer to them.
    """
    c = comparison.counts()
    fail = c[Status.FAIL]
    blocking = [
        s for s in _NOT_A_REFRESH if any(v.status is s for v in comparison.gating(set(allow or ())))
    ]
    if fail:
        noun = "metric breaches" if fail == 1 else "metrics breach"
        text = (
            f"{fail} {noun} degradation: fix {'it' if fail == 1 else 'them'}, "
            "or refresh with a justified reason"
        )
        if blocking:
            text += "; besides, " + "; ".join(_NOT_A_REFRESH[s] for s in blocking)
        return text
    if blocking:
        what = ", ".join(f"{c[s]} {s.label}" for s in blocking)
        text = f"the gate failed on {what}, not on the numbers"
        if Status.ERROR in blocking or Status.MISSING in blocking:
            text += ": a refresh is not the answer"
        return text + "; " + "; ".join(_NOT_A_REFRESH[s] for s in blocking)
    parts = [f"{c[Status.PASS]} within warn"]
    if c[Status.WARN]:
        parts.append(f"{c[Status.WARN]} past warn but within degradation")
    parts.append(f"{c[Status.IMPROVED]} improved")
    return "no refresh needed: " + ", ".join(parts)
