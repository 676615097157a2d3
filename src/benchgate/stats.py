"""Statistics over repeated runs: central values and spread (pure Python, no numpy)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from benchgate.errors import BenchgateError
from benchgate.model import Spread

METHODS = ("median", "mean", "trimmed-mean", "min", "max")

# trimmed-mean drops this share of the runs at each end (at least one each end from n >= 3).
TRIM_SHARE = 0.2


def trimmed_mean(values: Sequence[float], share: float = TRIM_SHARE) -> float:
    """Mean after dropping ``share`` of the values at each end (>= 1 each end when n >= 3)."""
    xs = sorted(values)
    n = len(xs)
    k = int(n * share)
    if n >= 3:
        k = max(k, 1)
    if 2 * k >= n:
        k = (n - 1) // 2
    return statistics.fmean(xs[k : n - k])


def reduce_values(values: Sequence[float], method: str) -> float:
    """Reduce per-run values to one by ``method`` (median, mean, trimmed-mean, min, max)."""
    if not values:
        raise ValueError("no values to reduce")
    if method == "median":
        return float(statistics.median(values))
    if method == "mean":
        return statistics.fmean(values)
    if method == "trimmed-mean":
        return trimmed_mean(values)
    if method == "min":
        return float(min(values))
    if method == "max":
        return float(max(values))
    raise BenchgateError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")


def quantile(sorted_xs: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile of already sorted values (numpy's default)."""
    n = len(sorted_xs)
    if n == 1:
        return float(sorted_xs[0])
    pos = (n - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return float(sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * frac)


def coefficient_of_variation(values: Sequence[float]) -> float:
    """Sample standard deviation over mean (0 for fewer than two values)."""
    if len(values) < 2:
        return 0.0
    mean = statistics.fmean(values)
    if mean == 0:
        return 0.0
    return statistics.stdev(values) / abs(mean)


def spread_of(values: Sequence[float], within_cv: float | None = None) -> Spread:
    """The spread of per-run values: n, min, max, stdev, CV, relative IQR and MAD."""
    xs = sorted(values)
    n = len(xs)
    med = statistics.median(xs)
    stdev = statistics.stdev(xs) if n >= 2 else 0.0
    iqr = quantile(xs, 0.75) - quantile(xs, 0.25)
    mad = statistics.median([abs(x - med) for x in xs])
    scale = abs(med) if med else 1.0
    return Spread(
        n=n,
        min=float(xs[0]),
        max=float(xs[-1]),
        stdev=float(stdev),
        cv=coefficient_of_variation(xs),
        iqr_rel=float(iqr / scale),
        mad_rel=float(mad / scale),
        within_cv=within_cv,
    )


def noise(spread: Spread) -> float:
    """The one spread measure that decides whether a metric is "noisy".

    It is the interquartile range across runs relative to the median: like the median
    it is robust to a single outlier run (CV is not: one bad run out of five can double
    it), so a metric is called noisy only when the bulk of its runs disagree.
    """
    return spread.iqr_rel
