"""Change points: E-Divisive means with a Student's t-test per split, as Apache Otava does.

The method (Matteson & James, "A Nonparametric Approach for Multiple Change Point Analysis
of Multivariate Data", 2014; adapted by Fleming et al., "Hunter: Using Change Point
Detection to Hunt for Performance Regressions", 2023, which Apache Otava implements):

* **Split.** The series is walked with overlapping windows (``window`` points, step
  ``window // 2``). In each window E-Divisive picks the split ``tau`` (and the end ``kappa``
  of the right part) that maximises the energy divergence ``Q`` between ``x[s:tau]`` and
  ``x[tau:kappa]``; the candidate is kept when a two-sided Student's t-test between the two
  sides of its interval is significant at a relaxed level (10x ``alpha``, the "weak" change
  points), and the search recurses into the parts until a candidate fails the test.
* **Merge.** The weak change points of all windows are re-tested against their whole
  neighbouring segments; the weakest (highest p-value, or, once all are significant, the
  smallest relative change at or below ``min_magnitude``) is dropped and its neighbours
  re-tested, until every one left is significant at ``alpha``.

Hunter replaced the original permutation test with the t-test: it is fast and deterministic
(the same series always gives the same change points), and works on few points.

This module is pure Python (no numpy or scipy): the t distribution's tail comes from the
regularised incomplete beta function below. Two exact short-cuts keep it fast:

* the pair-distance sums of a window are tabulated once (``O(W^2)``), so every ``Q(tau,
  kappa)`` is ``O(1)``;
* before any ``Q`` is computed for an interval, the t-test of every possible split of it is
  evaluated from prefix sums (``O(W)``). The candidate E-Divisive would pick is one of those
  splits and is judged by exactly that test, so when none of them is significant no
  candidate can be, and the ``O(W^2)`` search is skipped. In a stable stretch of history
  (most windows) that is the whole cost.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_WINDOW = 50  # Otava's default
# Ten times below Otava's 0.001: the split step picks the best of many splits, which makes
# 0.001 anti-conservative on long histories (docs/trend.md has the measured false-alarm
# rates), and a scheduled job that gates on the result must not cry wolf.
DEFAULT_ALPHA = 0.0001
DEFAULT_MIN_MAGNITUDE = 0.0


@dataclass(frozen=True)
class Split:
    """A change point found in a list of values: the level changes at ``index``.

    ``values[index - 1]`` is the last value of the old level, ``values[index]`` the first
    of the new one. Means and standard deviations are those of the neighbouring segments
    (up to the previous and the next change point).
    """

    index: int
    mean_before: float
    mean_after: float
    stdev_before: float
    stdev_after: float
    pvalue: float

    @property
    def rel_change(self) -> float:
        """Relative change of the level, ``mean_after / mean_before - 1`` (0 if undefined)."""
        if self.mean_before == 0:
            return 0.0
        return self.mean_after / self.mean_before - 1.0

    @property
    def magnitude(self) -> float:
        """The larger of the forward and backward relative changes, as Otava ranks them."""
        fwd = abs(self.rel_change)
        back = abs(self.mean_before / self.mean_after - 1.0) if self.mean_after != 0 else 0.0
        return max(fwd, back)


# --- the t distribution -------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function ``I_x(a, b)`` for ``a, b > 0``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_pvalue(t: float, df: float) -> float:
    """Two-sided p-value of Student's t statistic ``t`` with ``df`` degrees of freedom."""
    if df <= 0 or math.isnan(t):
        return 1.0
    if math.isinf(t):
        return 0.0
    return min(1.0, max(0.0, betainc(df / 2.0, 0.5, df / (df + t * t))))


class _Sums:
    """Prefix sums of a series (shifted by its mean, for accuracy) for O(1) segment stats."""

    __slots__ = ("s1", "s2", "shift", "eps")

    def __init__(self, values: Sequence[float]) -> None:
        n = len(values)
        self.shift = math.fsum(values) / n if n else 0.0
        s1 = [0.0] * (n + 1)
        s2 = [0.0] * (n + 1)
        a = b = 0.0
        shift = self.shift
        for i, v in enumerate(values):
            d = v - shift
            a += d
            b += d * d
            s1[i + 1] = a
            s2[i + 1] = b
        self.s1, self.s2 = s1, s2
        # Differences below this are float noise (a constant series, a value repeated).
        scale = max(abs(shift), max((abs(v) for v in values), default=0.0), 1e-300)
        self.eps = 1e-12 * scale

    def mean(self, a: int, b: int) -> float:
        """Mean of ``values[a:b]`` (b > a)."""
        return (self.s1[b] - self.s1[a]) / (b - a) + self.shift

    def ssd(self, a: int, b: int) -> float:
        """Sum of squared deviations from the mean of ``values[a:b]``."""
        n = b - a
        s = self.s1[b] - self.s1[a]
        return max(0.0, (self.s2[b] - self.s2[a]) - s * s / n)

    def t_stat(self, a: int, tau: int, b: int) -> float:
        """Student's t (pooled variance) between ``values[a:tau]`` and ``values[tau:b]``."""
        n1, n2 = tau - a, b - tau
        diff = self.mean(tau, b) - self.mean(a, tau)
        if abs(diff) <= self.eps:
            return 0.0
        df = n1 + n2 - 2
        var = (self.ssd(a, tau) + self.ssd(tau, b)) / df if df > 0 else 0.0
        se = math.sqrt(var * (1.0 / n1 + 1.0 / n2))
        if se <= self.eps:
            return math.copysign(math.inf, diff)
        return diff / se

    def split(self, a: int, tau: int, b: int) -> Split:
        """The two-sided t-test between ``values[a:tau]`` and ``values[tau:b]``."""
        n1, n2 = tau - a, b - tau
        t = self.t_stat(a, tau, b)
        p = t_pvalue(t, n1 + n2 - 2)
        sd1 = math.sqrt(self.ssd(a, tau) / (n1 - 1)) if n1 > 1 else 0.0
        sd2 = math.sqrt(self.ssd(tau, b) / (n2 - 1)) if n2 > 1 else 0.0
        return Split(tau, self.mean(a, tau), self.mean(tau, b), sd1, sd2, p)


# --- E-Divisive in one window -------------------------------------------------------------


def _pair_sums(x: Sequence[float]) -> list[list[float]]:
    """``P[a][b] = sum(|x[i] - x[j]| for a <= i < j < b)`` for ``0 <= a <= b <= len(x)``."""
    w = len(x)
    table = [[0.0] * (w + 1) for _ in range(w + 1)]
    for a in range(w - 2, -1, -1):
        xa = x[a]
        row, below = table[a], table[a + 1]
        acc = 0.0  # sum of |x[a] - x[j]| for a < j < b
        for b in range(a + 2, w + 1):
            acc += abs(xa - x[b - 1])
            row[b] = below[b] + acc
    return table


def _candidate(table: list[list[float]], s: int, e: int) -> tuple[int, float]:
    """E-Divisive's split of ``x[s:e]``: the ``tau`` maximising ``Q`` over ``kappa``, and Q."""
    best_tau, best_q = s + 1, -math.inf
    row_s = table[s]
    for tau in range(s + 1, e):
        n = tau - s
        wl = table[s][tau]
        row_t = table[tau]
        left_coef = 2.0 / (n - 1) * wl if n > 1 else 0.0
        for kappa in range(tau + 1, e + 1):
            m = kappa - tau
            nm = n + m
            wr = row_t[kappa]
            cross = row_s[kappa] - wl - wr
            q = 2.0 * cross
            if n > 1:
                q -= m * left_coef
            if m > 1:
                q -= 2.0 * n * wr / (m - 1)
            q /= nm
            if q > best_q:
                best_tau, best_q = tau, q
    return best_tau, best_q


@functools.lru_cache(maxsize=4096)
def _t_critical(df: int, alpha: float) -> float:
    """The |t| at which the two-sided p-value of ``df`` degrees of freedom is ``alpha``."""
    lo, hi = 0.0, 1.0
    while t_pvalue(hi, df) > alpha:
        hi *= 2.0
        if hi > 1e300:
            return math.inf
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_pvalue(mid, df) > alpha:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return lo


def _any_significant(sums: _Sums, a: int, b: int, alpha: float) -> bool:
    """Whether some split of ``values[a:b]`` may pass the t-test at ``alpha`` (O(b-a)).

    Never False when a split passes (the critical value is shaded down, so float noise at
    the boundary sends the interval to the full search, which tests the p-value itself).
    Inlined arithmetic of ``_Sums.t_stat``: this loop is most of the detector's time.
    """
    n = b - a
    if n < 3:
        return False
    df = n - 2
    tc = _t_critical(df, alpha) * (1.0 - 1e-9)
    tc2 = tc * tc
    eps = sums.eps
    eps2 = eps * eps
    s1, s2 = sums.s1, sums.s2
    base1, base2 = s1[a], s2[a]
    tot1, tot2 = s1[b] - base1, s2[b] - base2
    for tau in range(a + 1, b):
        n1, n2 = tau - a, b - tau
        x1, x2 = s1[tau] - base1, s2[tau] - base2
        y1, y2 = tot1 - x1, tot2 - x2
        m1, m2 = x1 / n1, y1 / n2
        diff = m2 - m1
        if -eps <= diff <= eps:
            continue
        left, right = x2 - x1 * m1, y2 - y1 * m2
        ss = (left if left > 0.0 else 0.0) + (right if right > 0.0 else 0.0)
        se2 = ss / df * (1.0 / n1 + 1.0 / n2)
        if se2 <= eps2 or diff * diff >= tc2 * se2:
            return True
    return False


def _window_change_points(
    values: Sequence[float], sums: _Sums, start: int, end: int, alpha: float
) -> list[int]:
    """E-Divisive with the t-test on ``values[start:end]``: absolute indices, sorted."""
    if not _any_significant(sums, start, end, alpha):
        return []
    x = values[start:end]
    table = _pair_sums(x)
    found: list[int] = []  # local indices, sorted
    cache: dict[tuple[int, int], tuple[int, float]] = {}
    while True:
        bounds = [0, *found, end - start]
        intervals = [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
        if not any(_any_significant(sums, start + s, start + e, alpha) for s, e in intervals):
            break  # no split of any interval can pass: whichever E-Divisive picks fails
        best: tuple[float, int, int, int] | None = None
        for s, e in intervals:
            if e - s < 2:
                continue
            if (s, e) not in cache:
                cache[(s, e)] = _candidate(table, s, e)
            tau, q = cache[(s, e)]
            if best is None or q > best[0]:
                best = (q, tau, s, e)
        if best is None:
            break
        _, tau, s, e = best
        if sums.split(start + s, start + tau, start + e).pvalue > alpha:
            break
        found.append(tau)
        found.sort()
    return [start + i for i in found]


# --- split and merge over the whole series ------------------------------------------------


def _segment_split(sums: _Sums, indices: list[int], k: int, n: int) -> Split:
    """The t-test of change point ``indices[k]`` against its whole neighbouring segments."""
    left = indices[k - 1] if k > 0 else 0
    right = indices[k + 1] if k + 1 < len(indices) else n
    return sums.split(left, indices[k], right)


def detect(
    values: Sequence[float],
    *,
    window: int = DEFAULT_WINDOW,
    alpha: float = DEFAULT_ALPHA,
    min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
) -> list[Split]:
    """The change points of ``values`` (oldest first), with their t-test against neighbours.

    ``window``: points per E-Divisive window (Otava's default 50); ``alpha``: the
    significance level a change point must reach (Otava's default is 0.001); ``min_magnitude``:
    change points whose relative change is at most this are dropped too. Deterministic.
    """
    if window < 3:
        raise ValueError("window must be at least 3")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    vals = [float(v) for v in values]
    n = len(vals)
    if n < 3:
        return []
    sums = _Sums(vals)
    # The split step uses a relaxed level, as Otava does, to keep "weak" change points that
    # only the merge step (with whole segments on each side) can judge.
    weak_alpha = alpha * 10 if alpha < 0.05 else (alpha * 2 if alpha < 0.5 else alpha)
    step = window // 2
    weak: set[int] = set()
    start = 0
    while start < n:
        end = min(start + window, n)
        new = _window_change_points(vals, sums, start, end, weak_alpha)
        weak.update(new)
        start = max(new[-1] if new else 0, start + step)
    indices = sorted(weak)
    splits = [_segment_split(sums, indices, k, n) for k in range(len(indices))]
    return _merge(sums, indices, splits, n, alpha, min_magnitude)


def _merge(
    sums: _Sums,
    indices: list[int],
    splits: list[Split],
    n: int,
    alpha: float,
    min_magnitude: float,
) -> list[Split]:
    """Drop the weakest change point until all left are significant and large enough."""
    while splits:
        k = max(range(len(splits)), key=lambda i: (splits[i].pvalue, -i))
        if splits[k].pvalue < alpha:
            k = min(range(len(splits)), key=lambda i: (splits[i].magnitude, i))
            if splits[k].magnitude > min_magnitude:
                break
        del indices[k], splits[k]
        # Both neighbours of the removed point now see a longer segment: re-test them.
        for j in (k - 1, k):
            if 0 <= j < len(indices):
                splits[j] = _segment_split(sums, indices, j, n)
    return splits
