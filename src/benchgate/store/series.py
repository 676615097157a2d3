"""A metric's history as the trend and dashboard stages read it: one point per commit.

The store produces these (``Store.series``); change-point detection, creep and the
dashboard consume them, so neither side needs the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Point:
    """The metric at one commit: the reduced value of that commit's runs, with its spread."""

    commit: str  # full sha
    time: str  # ISO 8601 UTC of the commit's newest run
    value: float  # median of the commit's runs
    n: int  # number of runs behind ``value``
    lo: float  # smallest run value
    hi: float  # largest run value
    stdev: float
    branch: str = ""
    machine: str = ""
    baseline: float | None = None  # the baseline in force at that commit, if known


@dataclass(frozen=True)
class Refresh:
    """A change of the metric's baseline (from baselines.json's git history)."""

    commit: str
    time: str
    value: float
    reason: str = ""


@dataclass(frozen=True)
class Series:
    """One metric over commits, oldest first."""

    key: str
    unit: str
    higher_is_better: bool
    points: tuple[Point, ...]
    degradation_pct_max: float = 0.15
    variance_pct_warn: float = 0.05
    refreshes: tuple[Refresh, ...] = field(default_factory=tuple)

    @property
    def values(self) -> list[float]:
        """The per-commit values, oldest first."""
        return [p.value for p in self.points]
