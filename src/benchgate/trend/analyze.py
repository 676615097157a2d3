"""A metric's trend: its change points over commits, the creep no single change shows.

Input is a :class:`~benchgate.store.series.Series` (one point per commit, oldest first, as
the store gives it); output a :class:`MetricTrend` the renderers, the dashboard and the
``trend`` command's exit code read.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from enum import Enum

from benchgate.errors import BenchgateError
from benchgate.store.series import Point, Series
from benchgate.trend.changepoint import DEFAULT_ALPHA, DEFAULT_WINDOW, Split, detect

DEFAULT_RECENT = 20
MIN_CREEP_POINTS = 6


class TrendStatus(str, Enum):
    """What the trend of one metric says, worst first."""

    REGRESSION = "REGRESSION"  # a change point in the recent commits, worse beyond WARN
    CREEP = "CREEP"  # the recent commits drifted worse beyond FAIL with no such change point
    IMPROVED = "IMPROVED"  # a change point in the recent commits, better beyond WARN
    STABLE = "STABLE"  # nothing of the above
    SHORT = "SHORT"  # fewer than 3 commits: nothing to judge yet

    @property
    def fails(self) -> bool:
        """Whether this status fails ``benchgate trend`` (exit 1)."""
        return self in (TrendStatus.REGRESSION, TrendStatus.CREEP)


@dataclass(frozen=True)
class TrendOptions:
    """How change points and creep are looked for."""

    window: int = DEFAULT_WINDOW  # points per E-Divisive window
    alpha: float = DEFAULT_ALPHA  # significance a change point must reach
    min_magnitude: float = 0.0  # relative changes at or below this are not change points
    recent: int = DEFAULT_RECENT  # "new": within the newest N commits; creep's span


@dataclass(frozen=True)
class ChangePoint:
    """Where a metric's level moved: between ``previous_commit`` and ``commit``."""

    index: int  # position of ``commit`` in the series (first point of the new level)
    commit: str
    previous_commit: str
    time: str
    old_mean: float
    new_mean: float
    old_stdev: float
    new_stdev: float
    rel_change: float  # new_mean / old_mean - 1
    pvalue: float
    worse: float  # the change as a fraction in the bad direction (negative = better)
    recent: bool  # within the newest ``recent`` commits

    @property
    def confidence(self) -> float:
        """1 - p-value of the t-test between the neighbouring segments."""
        return 1.0 - self.pvalue


@dataclass(frozen=True)
class Creep:
    """A drift over the newest commits: the level at their end against their start."""

    first_commit: str
    last_commit: str
    commits: int  # points in the span
    start_level: float  # median of the span's oldest points
    end_level: float  # median of its newest points
    rel_change: float  # end_level / start_level - 1
    worse: float  # as a fraction in the bad direction


@dataclass(frozen=True)
class MetricTrend:
    """The trend of one metric."""

    series: Series
    change_points: tuple[ChangePoint, ...]
    creep: Creep | None
    status: TrendStatus

    @property
    def key(self) -> str:
        return self.series.key

    @property
    def latest(self) -> Point | None:
        """The newest point, if any."""
        return self.series.points[-1] if self.series.points else None


def worse_fraction(rel_change: float, higher_is_better: bool) -> float:
    """A relative change as a fraction in the bad direction (a 10% slowdown is 0.10)."""
    return -rel_change if higher_is_better else rel_change


def _beyond(x: float, limit: float) -> bool:
    """x > limit, with a value on the limit (up to float rounding) not beyond it."""
    return x > limit and not math.isclose(x, limit, rel_tol=1e-9)


def change_points(series: Series, options: TrendOptions | None = None) -> list[ChangePoint]:
    """The change points of ``series`` with the commit range holding each one."""
    opts = options or TrendOptions()
    pts = series.points
    splits: list[Split] = detect(
        series.values, window=opts.window, alpha=opts.alpha, min_magnitude=opts.min_magnitude
    )
    first_recent = max(1, len(pts) - opts.recent)
    out = []
    for s in splits:
        p, prev = pts[s.index], pts[s.index - 1]
        out.append(
            ChangePoint(
                index=s.index,
                commit=p.commit,
                previous_commit=prev.commit,
                time=p.time,
                old_mean=s.mean_before,
                new_mean=s.mean_after,
                old_stdev=s.stdev_before,
                new_stdev=s.stdev_after,
                rel_change=s.rel_change,
                pvalue=s.pvalue,
                worse=worse_fraction(s.rel_change, series.higher_is_better),
                recent=s.index >= first_recent,
            )
        )
    return out


def creep(series: Series, found: Sequence[ChangePoint], recent: int) -> Creep | None:
    """Creep over the newest ``recent`` commits, or None.

    The level now (median of the newest 3 points) is worse than the level ``recent``
    commits ago (median of the ``k`` points up to that commit, ``k`` a quarter of
    ``recent``, at least 3) by more than the metric's ``degradation_pct_max``, and no single
    change point in between is. Medians keep one outlier from making or hiding a creep; the
    short one at the end lets the newest step count.
    """
    pts = series.points
    if recent < MIN_CREEP_POINTS or len(pts) < MIN_CREEP_POINTS:
        return None
    k = max(3, recent // 4)
    first = max(0, len(pts) - 1 - recent)  # the commit ``recent`` commits before the newest
    start = statistics.median(p.value for p in pts[max(0, first - k + 1) : first + 1])
    end = statistics.median(p.value for p in pts[-3:])
    if start == 0:
        return None
    rel = end / start - 1.0
    worse = worse_fraction(rel, series.higher_is_better)
    deg = series.degradation_pct_max
    if not _beyond(worse, deg):
        return None
    if any(cp.index > first and _beyond(cp.worse, deg) for cp in found):
        return None  # one change explains it: that is a regression, not a creep
    return Creep(pts[first].commit, pts[-1].commit, len(pts) - first, start, end, rel, worse)


def analyze(series: Series, options: TrendOptions | None = None) -> MetricTrend:
    """Change points, creep and the status of one metric."""
    opts = options or TrendOptions()
    if len(series.points) < 3:
        return MetricTrend(series, (), None, TrendStatus.SHORT)
    found = change_points(series, opts)
    drift = creep(series, found, opts.recent)
    warn = series.variance_pct_warn
    recent = [cp for cp in found if cp.recent]
    if any(_beyond(cp.worse, warn) for cp in recent):
        status = TrendStatus.REGRESSION
    elif drift is not None:
        status = TrendStatus.CREEP
    elif any(_beyond(-cp.worse, warn) for cp in recent):
        status = TrendStatus.IMPROVED
    else:
        status = TrendStatus.STABLE
    return MetricTrend(series, tuple(found), drift, status)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+)?(Z|[+-]\d{2}:?\d{2})?$")


def is_date(text: str) -> bool:
    """Whether ``--since`` got a date (``2026-01-31`` or an ISO 8601 time), not a revision."""
    return bool(_DATE.match(text.strip()))


def parse_time(text: str, what: str = "--since") -> datetime:
    """An ISO 8601 date or time as an aware UTC datetime (naive means UTC)."""
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BenchgateError(f"not a date or ISO 8601 time: {text!r}", key=what) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _point_time(p: Point) -> datetime | None:
    try:
        return parse_time(p.time)
    except BenchgateError:
        return None


def since(series: Series, *, commit: str | None = None, time: datetime | None = None) -> Series:
    """``series`` from ``commit`` on (a full sha or a prefix), else from ``time`` on.

    A series that does not hold ``commit`` is cut at ``time`` if given (the commit's date),
    else left whole.
    """
    pts = series.points
    if commit:
        c = commit.lower()
        for i, p in enumerate(pts):
            if p.commit.lower().startswith(c):
                return replace(series, points=pts[i:])
    if time is not None:
        kept = tuple(p for p in pts if (t := _point_time(p)) is None or t >= time)
        return replace(series, points=kept)
    return series


def holds_commit(series: Series, commit: str) -> bool:
    """Whether a point of ``series`` is at ``commit`` (a full sha or a prefix)."""
    c = commit.lower()
    return any(p.commit.lower().startswith(c) for p in series.points)
