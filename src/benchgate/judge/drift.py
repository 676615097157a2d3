"""Between-day drift: how far a machine's level can move between a refresh and today.

A stored baseline was measured on another day (often another VM) than the runs judged
against it. Both samples can be tight and still differ by tens of percent on a shared
runner, for no reason in the code: the machine's level moved. Nothing in the two samples
tells that apart from a real change, so the interval of a stored-baseline verdict is
widened by the drift that can be expected (see docs/statistics.md):

- from the results store's history when there is one: the robust spread of the metric's
  level from one stored commit to the next (:func:`drift_from_points`);
- else the configured ``drift_pct`` of ``[tool.benchgate]`` (:data:`DEFAULT_DRIFT_PCT`).

A drift is expressed as a fraction: 0.10 means the level today is within a factor 1.10 of
the level on the refresh day (either way) with the interval's confidence, 95%.
Measurements that do not depend on the machine's speed (instruction and cycle counts,
bytes) do not drift: their intervals are never widened (:func:`drifts`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from benchgate.errors import BenchgateError
from benchgate.judge.stats import CI_LEVEL
from benchgate.model import Interval
from benchgate.store.series import Point

# The default between-day drift of wall-clock metrics (a fraction, at 95%): see
# docs/statistics.md for the figures behind it. 0 turns the widening off (a dedicated,
# quiet machine whose level does not move).
DEFAULT_DRIFT_PCT = 0.10

# Units of measurements that count work rather than time: no machine drift.
UNDRIFTING_UNITS = frozenset({"instructions", "cycles", "bytes"})

# Fewer commit-to-commit steps than this say nothing about the drift: use the default.
MIN_DRIFT_STEPS = 5
# How many of the newest commits the estimate looks at (older ones: other machines).
DRIFT_COMMITS = 30

# The MAD of a normal sample times this is its standard deviation.
_MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class Drift:
    """The between-day drift used for one metric's interval, and where it came from."""

    pct: float  # fraction at 95%: the level today within a factor (1 + pct) of then
    source: str  # "config" or "store"
    steps: int = 0  # commit-to-commit steps behind a store estimate


def drifts(unit: str | None) -> bool:
    """Whether a metric of ``unit`` drifts with the machine's speed (times do, counts not)."""
    return (unit or "").strip().lower() not in UNDRIFTING_UNITS


def widen(interval: Interval, centre: float, drift_pct: float) -> Interval:
    """``interval`` around ``centre`` widened by a drift of ``drift_pct`` (at 95%).

    On logs, each side's half-width h becomes sqrt(h**2 + d**2) with d the drift's
    half-width at the interval's level (``log(1 + drift_pct)`` at 95%, scaled by the
    normal quantiles at other levels): two independent errors, the samples' and the
    machine's, added in quadrature. A zero-width interval becomes exactly the drift's
    width; ``drift_pct == 0`` returns the interval unchanged. Nothing divides by a spread.
    """
    if drift_pct <= 0 or centre <= 0 or interval.low <= 0 or interval.high <= 0:
        return interval
    z95 = statistics.NormalDist().inv_cdf(1 - (1 - CI_LEVEL) / 2)
    z = statistics.NormalDist().inv_cdf(1 - (1 - min(interval.level, 0.999999)) / 2)
    d = math.log1p(drift_pct) * z / z95
    c = math.log(centre)
    lo = max(0.0, c - math.log(interval.low))
    hi = max(0.0, math.log(interval.high) - c)
    return Interval(
        low=math.exp(c - math.hypot(lo, d)),
        high=math.exp(c + math.hypot(hi, d)),
        level=interval.level,
        method=f"{interval.method}+drift {drift_pct * 100:.3g}%",
    )


def _sampling_var(p: Point) -> float:
    """The variance of log(median of p's runs) from its own spread (0 when unknown)."""
    if p.n < 2 or p.value <= 0 or p.stdev <= 0:
        return 0.0
    # Var(median) ~ (pi / 2) * sigma**2 / n for a normal sample; on logs sigma is relative.
    return (math.pi / 2) * (p.stdev / p.value) ** 2 / p.n


def drift_from_points(points: Sequence[Point], last: int = DRIFT_COMMITS) -> float | None:
    """The drift (fraction at 95%) of a metric's level across its newest stored commits.

    The steps s_i = log(v_i / v_(i-1)) between consecutive commits' medians hold what the
    machine did between the two measurements (and any real change in the code, and the
    sampling error of each median). Their robust spread about no change (1.4826 x the
    median |s_i|: a few real changes, change points, do not inflate it) less the sampling
    part each commit's own runs account for (already counted by the samples' interval)
    estimates the variance of the level's move between two measurements: the 95% drift
    is exp(1.96 sigma) - 1.
    None with fewer than ``MIN_DRIFT_STEPS`` steps.
    """
    pts = [p for p in points if p.value > 0][-last:]
    if len(pts) < MIN_DRIFT_STEPS + 1:
        return None
    steps = [math.log(b.value / a.value) for a, b in zip(pts, pts[1:], strict=False)]
    # About zero, not about the steps' median: a level that drifts has steps centred on
    # no change, and a step series alternating up and down must not look still.
    sd = _MAD_TO_SD * statistics.median(abs(s) for s in steps)
    sampling = statistics.fmean(
        _sampling_var(a) + _sampling_var(b) for a, b in zip(pts, pts[1:], strict=False)
    )
    var = max(0.0, sd * sd - sampling)
    z95 = statistics.NormalDist().inv_cdf(1 - (1 - CI_LEVEL) / 2)
    return math.expm1(z95 * math.sqrt(var))


class SeriesSource(Protocol):
    """What the drift estimate needs of a results store: one metric's series."""

    def series(
        self,
        key: str,
        branch: str | None = None,
        machine: str | None = None,
        last: int | None = None,
    ) -> Any: ...


def store_drifts(
    store: SeriesSource,
    keys: Sequence[str],
    branch: str | None = None,
    machine: str | None = None,
    last: int = DRIFT_COMMITS,
) -> dict[str, Drift]:
    """Per key, the drift estimated from the store's history (keys with too little left out).

    ``store.series(key, branch=..., machine=..., last=...)`` gives the metric's points,
    oldest first (``benchgate.store.series.Series``). A key the store does not know, or
    one with fewer than ``MIN_DRIFT_STEPS`` steps, is left out: the configured default
    applies to it.
    """
    out: dict[str, Drift] = {}
    for key in keys:
        try:
            series = store.series(key, branch=branch, machine=machine, last=last)
        except (KeyError, BenchgateError):  # a key the store has never recorded
            continue
        points = getattr(series, "points", None) or ()
        pct = drift_from_points(points, last)
        if pct is not None:
            out[key] = Drift(pct, "store", min(len(points), last) - 1)
    return out
