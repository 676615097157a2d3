"""Statistics over repeated runs: central values and spread (pure Python, no numpy)."""

from __future__ import annotations

import functools
import math
import random
import statistics
from bisect import bisect_left
from collections.abc import Sequence
from itertools import accumulate, repeat

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
# Python and deterministic: the bootstrap of the median is exact (order statistics), the
# others draw from a generator with a fixed seed.
# ---------------------------------------------------------------------------------------

# Default confidence level of every interval.
CI_LEVEL = 0.95
# Bootstrap resamples (all but the median against a fixed baseline, which is exact): 2000
# keeps the percentile ends stable to a fraction of a percent.
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
) -> list[float]:
    """``reduce_values(rng.choices(xs, k=n), method)`` for each of ``resamples`` draws.

    The very draws of ``choices`` (index ``floor(rng.random() * n)``, the same stream),
    made in one comprehension without its per-call overhead, then grouped in a C loop.
    """
    n = len(xs)
    nf = float(n)  # choices multiplies by float(n) too: the same indices
    r = rng.random
    draws = [xs[math.floor(r() * nf)] for _ in repeat(None, resamples * n)]
    groups = zip(*[iter(draws)] * n, strict=True)  # one iterator n times: n-tuples
    return [reduce_values(g, method) for g in groups]


# The empirical CDF of n runs only takes the values i / n: every quantity below is a
# function of n and counts, so its tables are computed once per n (runs per metric vary
# little within a suite).
@functools.lru_cache(maxsize=64)
def _binomial_tails(n: int, m: int) -> tuple[float, ...]:
    """``P(Binomial(n, i / n) >= m)`` for i = 0..n (a sum of the upper terms)."""
    terms = [(float(math.comb(n, j)), j, n - j) for j in range(m, n + 1)]
    # All terms are positive: a plain sum loses nothing to cancellation.
    return tuple(
        sum(c * (i / n) ** j * ((n - i) / n) ** rest for c, j, rest in terms) for i in range(n + 1)
    )


@functools.lru_cache(maxsize=64)
def _powers(n: int, a: int) -> tuple[float, ...]:
    """``(i / n) ** a`` for i = 0..n."""
    return tuple((i / n) ** a for i in range(n + 1))


def _median_points(xs: Sequence[float]) -> tuple[list[float], list[float]]:
    """The values a resample median can take, ascending, and the CDF at each value.

    See :func:`bootstrap_median_cdf` for the formulas.

    For even n a value can repeat (equal midpoints of different pairs): its CDF is then
    right at its last copy only, which is all a "first value whose CDF reaches q" needs.
    """
    n = len(xs)
    counts: dict[float, int] = {}
    for x in xs:
        counts[x] = counts.get(x, 0) + 1
    vs = sorted(counts)
    cum = list(accumulate(counts[v] for v in vs))  # n * F_i; the last is n
    if n % 2:
        # Directly the CDF, no differences taken: exact to float rounding.
        tails = _binomial_tails(n, (n + 1) // 2)
        return vs, [tails[c] for c in cum]
    a = n // 2
    below = [0, *cum[:-1]]  # n * F_(i-1)
    tails = _binomial_tails(n, a)  # P(X_(a) <= v_i) = P(Bin(n, F_i) >= a)
    pw = _powers(n, a)
    ca = float(math.comb(n, a))
    # u_i: a draws <= v_i with at least one equal to it; w_j: a draws >= v_j, one equal.
    u = [ca * (pw[c] - pw[b]) for c, b in zip(cum, below, strict=True)]
    w = [pw[n - b] - pw[n - c] for c, b in zip(cum, below, strict=True)]
    pts: list[tuple[float, float]] = []
    for i, vi in enumerate(vs):
        # sum_(j > i) w_j telescopes to (1 - F_i)^a; the difference can round below 0.
        same = tails[cum[i]] - tails[below[i]] - u[i] * pw[n - cum[i]]
        pts.append((vi, max(same, 0.0)))
        ui = u[i]
        # (vi + vj) / 2 exactly as statistics.median computes a midpoint.
        pts.extend(
            [((vi + vj) / 2, ui * wj) for vj, wj in zip(vs[i + 1 :], w[i + 1 :], strict=True)]
        )
    pts.sort()
    return [x for x, _ in pts], list(accumulate(p for _, p in pts))


def bootstrap_median_cdf(values: Sequence[float]) -> tuple[list[float], list[float]]:
    """The exact bootstrap distribution of the median of ``values``, as (support, CDF).

    The median of a resample (n draws with replacement) is a function of two of its order
    statistics, whose distribution follows from the empirical CDF: with the distinct
    values v_1 < ... < v_k and F_i = #(x <= v_i) / n,

    * odd n, m = (n + 1) / 2: P(median <= v_i) = P(Binomial(n, F_i) >= m);
    * even n, a = n / 2, the median is (X_(a) + X_(a+1)) / 2, and for i < j
      P(X_(a) = v_i, X_(a+1) = v_j) = C(n, a) (F_i^a - F_(i-1)^a) ((1 - F_(j-1))^a - (1 - F_j)^a)
      (a draws at most v_i, one of them v_i; the other a at least v_j, one of them v_j);
      P(X_(a) = X_(a+1) = v_i) is P(X_(a) = v_i) less the pairs with j > i.

    Returns the distinct values the resample median can take, ascending, and
    P(median <= value) for each (the last is 1). O(k^2) for even n (pairs of values).
    Values must be finite.
    """
    if not values:
        raise ValueError("no values")
    vals, cum = _median_points([float(x) for x in values])
    support: list[float] = []
    cdf: list[float] = []
    for x, c in zip(vals, cum, strict=True):
        if support and support[-1] == x:
            cdf[-1] = c
        else:
            support.append(x)
            cdf.append(c)
    return support, cdf


# A computed CDF within this of a quantile level counts as reaching it (float rounding).
_CDF_SLACK = 1e-12


def _exact_median_ratio_ends(xs: Sequence[float], den: float, level: float) -> tuple[float, float]:
    """Percentile interval of median(resample) / ``den`` from the exact distribution.

    The Monte-Carlo code takes linear-interpolation quantiles of B sorted ratios; as B
    grows both order statistics it interpolates between tend to the smallest ratio whose
    CDF reaches the quantile level, so that is each end here (the generalised inverse).
    """
    if den < 0:
        # median(-x) = -median(x) and (-s) / (-den) = s / den exactly: keep the order.
        xs, den = [-x for x in xs], -den
    vals, cum = _median_points(xs)
    alpha = 1 - level
    last = len(vals) - 1
    # cum never decreases: the first index whose CDF reaches q, by bisection.
    lo = vals[min(bisect_left(cum, alpha / 2 - _CDF_SLACK), last)]
    hi = vals[min(bisect_left(cum, 1 - alpha / 2 - _CDF_SLACK), last)]
    return lo / den, hi / den


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

    For the median against a fixed baseline the bootstrap distribution is computed
    exactly (:func:`bootstrap_median_cdf`; ``resamples`` and ``seed`` do not apply): no
    sampling error, and ends on the same sample values or midpoints a very large
    resampling would give. Otherwise the runs are resampled with replacement
    ``resamples`` times from a generator seeded with ``seed``, so the same data always
    give the same interval.

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
    if fixed and method == "median":
        return _exact_median_ratio_ends(xs, bs[0], level)
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
