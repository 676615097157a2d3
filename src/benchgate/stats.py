"""Statistics over repeated runs: central values and spread (pure Python, no numpy)."""

from __future__ import annotations

import functools
import math
import random
import statistics
from collections.abc import Iterable, Sequence
from itertools import repeat
from operator import itemgetter

from benchgate.errors import BenchgateError
from benchgate.model import Interval, Spread

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


def mean_stdev(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1 denominator; 0 for one value), in floats.

    ``statistics.stdev`` sums exactly in Fractions and is ~15x slower; two passes with
    ``math.fsum`` agree with it to float rounding. Identical values give exactly 0.
    """
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = math.fsum(values) / n
    if n < 2 or min(values) == max(values):
        # The rounded mean of equal values can differ from them by an ulp: no spread.
        return mean, 0.0
    ss = math.fsum([(x - mean) * (x - mean) for x in values])
    return mean, math.sqrt(ss / (n - 1))


def _cv(mean: float, stdev: float) -> float:
    return stdev / abs(mean) if mean != 0 else 0.0


def coefficient_of_variation(values: Sequence[float]) -> float:
    """Sample standard deviation over mean (0 for fewer than two values)."""
    if len(values) < 2:
        return 0.0
    return _cv(*mean_stdev(values))


def _median_of_sorted(xs: Sequence[float]) -> float:
    """The median of already sorted values (as ``statistics.median``, without its sort)."""
    n = len(xs)
    i = n // 2
    return xs[i] if n % 2 else (xs[i - 1] + xs[i]) / 2


def spread_of(values: Sequence[float], within_cv: float | None = None) -> Spread:
    """The spread of per-run values: n, min, max, stdev, CV, relative IQR and MAD."""
    xs = sorted(values)
    n = len(xs)
    med = _median_of_sorted(xs)
    mean, stdev = mean_stdev(xs)
    iqr = quantile(xs, 0.75) - quantile(xs, 0.25)
    mad = _median_of_sorted(sorted([abs(x - med) for x in xs]))
    scale = abs(med) if med else 1.0
    return Spread(
        n=n,
        min=float(xs[0]),
        max=float(xs[-1]),
        stdev=float(stdev),
        cv=_cv(mean, stdev) if n >= 2 else 0.0,
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


# ---------------------------------------------------------------------------------------
# Confidence intervals for a ratio current/baseline (1.0 = unchanged).
#
# Every interval is for a *ratio*, so one set of thresholds (1 - deg, 1 - warn, 1 + warn,
# 1 + deg) applies whatever the unit. The rank-based intervals work on log values, where a
# ratio is a shift; they are distribution-free (no normality assumed). All of it is pure
# Python and deterministic: the bootstrap draws from a generator with a fixed seed.
# ---------------------------------------------------------------------------------------

# Default confidence level of every interval.
CI_LEVEL = 0.95
# Bootstrap resamples: 2000 keeps the percentile ends stable to a fraction of a percent.
BOOTSTRAP_RESAMPLES = 2000
# Fixed seed: the same runs always give the same interval (reports must not flicker).
BOOTSTRAP_SEED = 20240917
# Above this many pairs (m * n) the Mann-Whitney critical rank uses the normal approximation.
EXACT_MW_MAX_PAIRS = 2500


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")


def _logs(values: Sequence[float], what: str) -> list[float]:
    if not values:
        raise ValueError(f"no {what} values")
    if any(not (v > 0 and math.isfinite(v)) for v in values):
        raise ValueError(f"{what} values must be positive and finite for a ratio")
    return [math.log(v) for v in values]


def _resample_stats(
    rng: random.Random, xs: list[float], resamples: int, method: str
) -> Iterable[float]:
    """``reduce_values(rng.choices(xs, k=n), method)`` for each of ``resamples`` draws.

    The very draws of ``choices`` (index ``floor(rng.random() * n)``, the same stream),
    made in one comprehension without its per-call overhead, then grouped, sorted and
    picked in C loops (zip, map): no Python-level call per resample for the median.
    """
    n = len(xs)
    nf = float(n)  # choices multiplies by float(n) too: the same indices
    r = rng.random
    draws = [xs[math.floor(r() * nf)] for _ in repeat(None, resamples * n)]
    groups = zip(*[iter(draws)] * n, strict=True)  # one iterator n times: n-tuples
    if method != "median":
        return [reduce_values(g, method) for g in groups]
    ordered = map(sorted, groups)
    i = n // 2
    if n % 2:
        return map(itemgetter(i), ordered)
    # statistics.median of an even count: the mean of the middle two, computed the same way.
    return [(a + b) / 2 for a, b in map(itemgetter(i - 1, i), ordered)]


def bootstrap_ratio_interval(
    current: Sequence[float],
    baseline: float | Sequence[float],
    level: float = CI_LEVEL,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    method: str = "median",
) -> Interval:
    """Percentile bootstrap interval of ``stat(current) / stat(baseline)``.

    ``stat`` is the reduction ``method`` (median by default, the gate's own statistic).
    A single baseline number is fixed; a baseline sample is resampled too, independently.
    The runs are resampled with replacement ``resamples`` times from a generator seeded
    with ``seed``, so the same data always give the same interval.

    With few runs the bootstrap median can only take the observed values, so for n = 5
    the 95% interval is about [min, max] / baseline: honest about how little 5 runs say.
    """
    _check_level(level)
    xs = [float(v) for v in current]
    if not xs:
        raise ValueError("no current values")
    bs = [float(baseline)] if isinstance(baseline, (int, float)) else [float(v) for v in baseline]
    if not bs:
        raise ValueError("no baseline values")
    if reduce_values(bs, method) == 0:
        raise ValueError("baseline is zero: no ratio")
    fixed = isinstance(baseline, (int, float))
    low, high = _bootstrap_ends(tuple(xs), tuple(bs), fixed, level, resamples, seed, method)
    return Interval(low=low, high=high, level=level, method=f"bootstrap-{method}")


# The same runs are often judged more than once in one process (compare --confirm after
# every round, then report.md): remember recent intervals, they are pure functions.
@functools.lru_cache(maxsize=4096)
def _bootstrap_ends(
    xs: tuple[float, ...],
    bs: tuple[float, ...],
    fixed: bool,
    level: float,
    resamples: int,
    seed: int,
    method: str,
) -> tuple[float, float]:
    """The interval ends of :func:`bootstrap_ratio_interval` (arguments already checked)."""
    rng = random.Random(seed)
    ratios: list[float]
    if fixed:
        den = bs[0]
        ratios = [s / den for s in _resample_stats(rng, list(xs), resamples, method)]
    else:
        # Current and baseline draws alternate in the generator's stream; rare, kept plain.
        ratios = []
        for _ in range(resamples):
            num = reduce_values(rng.choices(xs, k=len(xs)), method)
            den = reduce_values(rng.choices(bs, k=len(bs)), method)
            if den != 0:
                ratios.append(num / den)
    ratios.sort()
    alpha = 1 - level
    return quantile(ratios, alpha / 2), quantile(ratios, 1 - alpha / 2)


def clear_interval_cache() -> None:
    """Forget remembered bootstrap intervals (for benchmarks timing the computation)."""
    _bootstrap_ends.cache_clear()


def hodges_lehmann_ratio(current: Sequence[float], baseline: Sequence[float]) -> float:
    """Hodges-Lehmann estimate of current/baseline for two independent samples.

    The median of all ``m * n`` pairwise differences ``log(c_i) - log(b_j)``, turned
    back into a ratio: the shift estimate that goes with the Mann-Whitney test.
    """
    diffs = sorted(c - b for c in _logs(current, "current") for b in _logs(baseline, "baseline"))
    return math.exp(statistics.median(diffs))


def mann_whitney_null_counts(m: int, n: int) -> list[int]:
    """How many of the C(m+n, m) orderings give each value u = 0..m*n of the U statistic.

    The coefficients of the Gaussian binomial [m+n choose m] in q, built as the product
    over i = 1..m of (1 - q^(n+i)) / (1 - q^i): O(m * m * n) integer additions.
    """
    if m < 0 or n < 0:
        raise ValueError("sample sizes must be >= 0")
    size = m * n + 1
    poly = [0] * size
    poly[0] = 1
    for i in range(1, m + 1):
        # Multiply by (1 - q^(n+i)), from the top down so each term is read before it changes.
        step = n + i
        for u in range(size - 1, step - 1, -1):
            poly[u] -= poly[u - step]
        # Divide by (1 - q^i): a running sum with stride i (exact: the quotient is a polynomial).
        for u in range(i, size):
            poly[u] += poly[u - i]
    return poly


def mann_whitney_rank(m: int, n: int, level: float = CI_LEVEL) -> tuple[int, float]:
    """The order statistic ``k`` of the Mann-Whitney interval and its achieved level.

    The interval is ``[D(k), D(m*n + 1 - k)]`` over the sorted pairwise differences, with
    ``k`` the largest integer such that ``P(U <= k - 1) <= (1 - level) / 2`` under the null.
    When even ``k = 1`` misses the level (tiny samples) ``k = 1`` is returned with the
    lower level it does achieve. Exact counts up to ``EXACT_MW_MAX_PAIRS`` pairs, normal
    approximation (with continuity correction) beyond.
    """
    _check_level(level)
    if m < 1 or n < 1:
        raise ValueError("each sample needs at least one value")
    half = (1 - level) / 2
    mn = m * n
    if mn <= EXACT_MW_MAX_PAIRS:
        counts = mann_whitney_null_counts(m, n)
        total = math.comb(m + n, m)
        cum = 0
        k = 0
        for u, c in enumerate(counts):
            if (cum + c) / total > half:
                break
            cum += c
            k = u + 1
        # cum = #(U <= k - 1); the two tails together hold 2 * cum.
        if k == 0:
            return 1, 1 - 2 * counts[0] / total
        if k > (mn + 1) // 2:  # never cross the middle
            k = (mn + 1) // 2
        return k, 1 - 2 * cum / total
    z = statistics.NormalDist().inv_cdf(1 - half)
    sd = math.sqrt(mn * (m + n + 1) / 12)
    k = max(1, math.floor(mn / 2 - z * sd + 0.5))
    achieved = 1 - 2 * statistics.NormalDist().cdf((k - 0.5 - mn / 2) / sd)
    return k, achieved


def mann_whitney_ratio_interval(
    current: Sequence[float], baseline: Sequence[float], level: float = CI_LEVEL
) -> Interval:
    """Distribution-free interval for current/baseline from two independent samples.

    Inverts the Mann-Whitney (Wilcoxon rank-sum) test on log values: the ratios ``r`` for
    which ``current / r`` and ``baseline`` are not told apart at ``1 - level``. Its centre
    is :func:`hodges_lehmann_ratio`. ``level`` of the result is the exact coverage the
    order statistics achieve (at least the one asked, except for tiny samples).
    """
    cl, bl = _logs(current, "current"), _logs(baseline, "baseline")
    diffs = sorted(c - b for c in cl for b in bl)
    k, achieved = mann_whitney_rank(len(cl), len(bl), level)
    return Interval(
        low=math.exp(diffs[k - 1]),
        high=math.exp(diffs[len(diffs) - k]),
        level=achieved,
        method="hodges-lehmann/mann-whitney",
    )


def paired_log_ratios(base: Sequence[float], head: Sequence[float]) -> list[float]:
    """``log(head_i / base_i)`` for each pair (the two sequences are aligned run by run)."""
    if len(base) != len(head):
        raise ValueError(f"{len(base)} base values but {len(head)} head values: not paired")
    return [h - b for b, h in zip(_logs(base, "base"), _logs(head, "head"), strict=True)]


def paired_median_ratio(base: Sequence[float], head: Sequence[float]) -> float:
    """The median of the per-pair ratios head/base (computed on logs, so it is symmetric)."""
    return math.exp(statistics.median(paired_log_ratios(base, head)))


def sign_test_rank(n: int, level: float = CI_LEVEL) -> tuple[int, float]:
    """The order statistic ``k`` of the sign-test interval for a median, and its level.

    ``[x(k), x(n + 1 - k)]`` covers the median with probability ``1 - 2 P(B <= k - 1)``,
    B ~ Binomial(n, 1/2), whatever the distribution. ``k`` is the largest with that at
    least ``level``; when none is (n < 6 at 95%), ``k = 1`` and its lower level.
    """
    _check_level(level)
    if n < 1:
        raise ValueError("no values")
    half = (1 - level) / 2
    total = 2**n
    cum = 0
    k = 0
    for j in range(0, n + 1):
        c = math.comb(n, j)
        if (cum + c) / total > half:
            break
        cum += c
        k = j + 1
    if k == 0:
        return 1, 1 - 2 / total
    k = min(k, (n + 1) // 2)
    return k, 1 - 2 * cum / total


def paired_ratio_interval(
    base: Sequence[float], head: Sequence[float], level: float = CI_LEVEL
) -> Interval:
    """Distribution-free interval for the median of the paired ratios head/base.

    The sign-test interval of the median of the per-pair log ratios, back to ratios. It
    assumes only that pairs are independent of one another; drift that hits both runs of a
    pair alike cancels in the ratio. ``level`` is the exact coverage achieved.
    """
    logs = sorted(paired_log_ratios(base, head))
    k, achieved = sign_test_rank(len(logs), level)
    return Interval(
        low=math.exp(logs[k - 1]),
        high=math.exp(logs[len(logs) - k]),
        level=achieved,
        method="paired-sign-test",
    )
