"""The per-function difference of two profiles: what grew, what shrank, by how much.

Arithmetic (docs/explain.md): for each function present on either side, ``change`` =
head self cost - base self cost (a side where it is absent counts 0). Self costs
partition each side's total, so the changes sum exactly to the change of the total
(``head.total - base.total``); ``share`` = change / total change, the part of the whole
change this function accounts for (negative for one that moved against the total).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchgate.explain.profiles import Func, Profile


@dataclass
class Row:
    """One function's cost on each side (per call of the operation) and its change."""

    key: str
    name: str
    where: str  # file:line (head's when it exists there)
    base: float
    head: float
    base_inclusive: float
    head_inclusive: float
    share: float | None  # change / total change; None when the total did not change

    @property
    def change(self) -> float:
        """Head minus base self cost."""
        return self.head - self.base

    @property
    def ratio(self) -> float | None:
        """Head / base self cost (None for a function absent from the base)."""
        return self.head / self.base if self.base > 0 else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "function": self.name,
            "where": self.where,
            "base": self.base,
            "head": self.head,
            "change": self.change,
            "share": self.share,
            "base_inclusive": self.base_inclusive,
            "head_inclusive": self.head_inclusive,
        }


@dataclass
class Diff:
    """Every function's change between two profiles of the same unit."""

    unit: str
    base_total: float
    head_total: float
    rows: list[Row] = field(default_factory=list)

    @property
    def total_change(self) -> float:
        """Head total minus base total (= the sum of the rows' changes)."""
        return self.head_total - self.base_total

    @property
    def ratio(self) -> float | None:
        """Head total / base total."""
        return self.head_total / self.base_total if self.base_total > 0 else None

    def grown(self, n: int) -> list[Row]:
        """The ``n`` functions whose cost grew most, largest first."""
        up = [r for r in self.rows if r.change > 0]
        return sorted(up, key=lambda r: (-r.change, r.key))[:n]

    def shrunk(self, n: int) -> list[Row]:
        """The ``n`` functions whose cost shrank most, largest drop first."""
        down = [r for r in self.rows if r.change < 0]
        return sorted(down, key=lambda r: (r.change, r.key))[:n]

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """JSON form: totals, and the grown and shrunk functions (all, or ``top`` each)."""
        n = len(self.rows) if top is None else top
        return {
            "unit": self.unit,
            "base_total": self.base_total,
            "head_total": self.head_total,
            "total_change": self.total_change,
            "ratio": self.ratio,
            "grown": [r.to_dict() for r in self.grown(n)],
            "shrunk": [r.to_dict() for r in self.shrunk(n)],
        }


def diff_profiles(base: Profile, head: Profile) -> Diff:
    """Function-by-function difference ``head - base`` (see the module docstring).

    ValueError when the two profiles are in different units.
    """
    if base.unit != head.unit:
        raise ValueError(f"cannot compare a profile in {base.unit} with one in {head.unit}")
    total_b, total_h = base.total, head.total
    change = total_h - total_b
    rows = []
    for key in sorted(set(base.functions) | set(head.functions)):
        b = base.functions.get(key)
        h = head.functions.get(key)
        some: Func = h if h is not None else b  # type: ignore[assignment]
        bs = b.self_cost if b is not None else 0.0
        hs = h.self_cost if h is not None else 0.0
        rows.append(
            Row(
                key=key,
                name=some.name,
                where=some.where,
                base=bs,
                head=hs,
                base_inclusive=b.total_cost if b is not None else 0.0,
                head_inclusive=h.total_cost if h is not None else 0.0,
                share=(hs - bs) / change if change != 0 else None,
            )
        )
    return Diff(head.unit, total_b, total_h, rows)
