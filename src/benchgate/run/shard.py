"""Sharding: a deterministic split of the benches into N parts of about equal duration.

Every CI job of a matrix computes the split on its own, so the split must come out the
same on every machine and in every process: it depends only on the bench names and their
recorded durations (no hashing of names, no set iteration order, no randomness).

The split is LPT (longest processing time first: benches sorted by duration, longest
first, ties by name; each goes to the shard with the least work so far, ties to the
lowest shard), improved by a local search that moves or swaps benches out of the longest
shard while that shortens it. LPT alone is within 4/3 of the best possible longest shard;
on suites of a few hundred benches the local search brings it to a few percent of the
ideal (total / N), see ``benchmarks/shard_merge.py``.

Durations are seconds per run of a bench, the median of its recorded runs
(:func:`recorded_durations`). A bench with no recorded run counts as the median of the
others; with nothing recorded at all every bench counts 1 and the split is by count.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchgate.errors import BenchgateError
from benchgate.model import RunRecord
from benchgate.run.results import load_runs

# A local search pass is O(benches^2) in the worst case; a few hundred passes are plenty
# (each strictly shortens the longest shard or ends the search).
_MAX_PASSES = 500
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class ShardSpec:
    """``--shard K/N``: run part ``k`` (1-based) of ``n``."""

    k: int
    n: int

    def __str__(self) -> str:
        return f"{self.k}/{self.n}"


def parse_shard(text: str, key: str = "--shard") -> ShardSpec:
    """``"3/8"`` -> ShardSpec(3, 8); BenchgateError unless 1 <= K <= N."""
    m = _SPEC.match(text or "")
    if not m:
        raise BenchgateError(f"expected K/N (e.g. 3/8), got {text!r}", key=key)
    k, n = int(m.group(1)), int(m.group(2))
    if n < 1:
        raise BenchgateError(f"N must be at least 1, got {text!r}", key=key)
    if not 1 <= k <= n:
        raise BenchgateError(f"K must be between 1 and N ({n}), got {text!r}", key=key)
    return ShardSpec(k, n)


@dataclass
class Shard:
    """One part of the split: its benches (sorted by name) and their expected seconds."""

    index: int  # 1-based, as in --shard K/N
    benches: list[str]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"shard": self.index, "benches": self.benches, "seconds": self.seconds}


@dataclass
class ShardPlan:
    """The split of a suite into ``n`` shards."""

    n: int
    shards: list[Shard]
    by: str  # "duration" or "count"
    durations: dict[str, float]  # the weight each bench was given
    estimated: list[str]  # benches without a recorded duration (given the median)

    @property
    def total(self) -> float:
        return sum(s.seconds for s in self.shards)

    @property
    def longest(self) -> float:
        return max((s.seconds for s in self.shards), default=0.0)

    @property
    def ideal(self) -> float:
        """total / n: the longest shard of a perfect split (a bound no split beats)."""
        return self.total / self.n if self.n else 0.0

    @property
    def bound(self) -> float:
        """No split beats this: the larger of the ideal and the single longest bench."""
        return max([self.ideal, *self.durations.values()])

    @property
    def digest(self) -> str:
        """12 hex digits naming this exact split; equal on every machine that computed it."""
        blob = json.dumps([s.benches for s in self.shards], separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]

    def shard(self, k: int) -> Shard:
        """Shard ``k`` (1-based)."""
        return self.shards[k - 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "by": self.by,
            "digest": self.digest,
            "total_seconds": self.total,
            "ideal_seconds": self.ideal,
            "bound_seconds": self.bound,
            "longest_seconds": self.longest,
            "estimated": self.estimated,
            "shards": [s.to_dict() for s in self.shards],
        }


def durations_of_runs(runs_by_bench: dict[str, list[RunRecord]]) -> dict[str, float]:
    """Seconds per run of each bench: the median ``duration_s`` of its runs that took time.

    A run that could not start records 0 s; it says nothing about the bench's length.
    """
    out: dict[str, float] = {}
    for bench, runs in runs_by_bench.items():
        times = [r.duration_s for r in runs if r.duration_s > 0]
        if times:
            out[bench] = float(statistics.median(times))
    return out


def _durations_file(path: Path) -> dict[str, float]:
    """A durations file: ``{"bench": seconds}`` or the output of ``shards --format json``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchgateError(f"cannot be read: {exc}", path) from None
    except json.JSONDecodeError as exc:
        raise BenchgateError(f"not valid JSON (line {exc.lineno})", path) from None
    if isinstance(data, dict) and isinstance(data.get("durations"), dict):
        data = data["durations"]
    if not isinstance(data, dict):
        raise BenchgateError('expected {"bench": seconds, ...}', path)
    out: dict[str, float] = {}
    for name, value in data.items():
        # Compared, not converted: a huge int would overflow float(); nan, inf fail it.
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not 0 <= value <= sys.float_info.max
        ):
            raise BenchgateError("must be a number of seconds >= 0 (finite)", path, str(name))
        if value > 0:
            out[str(name)] = float(value)
    return out


def recorded_durations(source: Path) -> dict[str, float]:
    """Durations from an out-dir (its runs, or those of ``ab/head`` if it has none) or a file.

    A missing out-dir is no durations (the first run of a suite has none); a file that is
    not a durations file is a BenchgateError naming it.
    """
    if source.is_file():
        return _durations_file(source)
    if not source.is_dir():
        return {}
    found = durations_of_runs(load_runs(source))
    if not found:
        found = durations_of_runs(load_runs(source / "ab" / "head"))
    return found


def _weights(
    benches: list[str], durations: dict[str, float]
) -> tuple[dict[str, float], list[str], str]:
    known = {b: durations[b] for b in benches if durations.get(b, 0) > 0}
    if not known:
        return {b: 1.0 for b in benches}, [], "count"
    fill = float(statistics.median(sorted(known.values())))
    missing = [b for b in benches if b not in known]
    return {b: known.get(b, fill) for b in benches}, missing, "duration"


def lpt(order: list[str], weights: dict[str, float], n: int) -> list[list[str]]:
    """Plain LPT: each bench of ``order`` to the least-loaded shard (ties: lowest index)."""
    parts: list[list[str]] = [[] for _ in range(n)]
    loads = [0.0] * n
    for b in order:
        i = min(range(n), key=lambda j: (loads[j], j))
        parts[i].append(b)
        loads[i] += weights[b]
    return parts


def _improve(parts: list[list[str]], weights: dict[str, float]) -> None:
    """Move or swap benches out of the longest shard while that shortens it (in place).

    Every accepted step lowers the longest shard's load below what it was and raises no
    other shard to or above it, so the sum of squared loads falls and the search ends; the
    scan order (shards by index, benches by position) makes it deterministic.
    """
    n = len(parts)
    if n < 2:
        return
    loads = [sum(weights[b] for b in p) for p in parts]
    for _ in range(_MAX_PASSES):
        top = max(range(n), key=lambda j: (loads[j], -j))
        peak = loads[top]
        best: tuple[float, int, int, int] | None = None  # (new peak of the pair, other, a, b)
        for other in range(n):
            if other == top:
                continue
            gap = peak - loads[other]
            for ia, a in enumerate(parts[top]):
                wa = weights[a]
                # Move a: useful when it fits in the gap.
                if 0 < wa < gap:
                    pair_peak = max(peak - wa, loads[other] + wa)
                    if best is None or pair_peak < best[0]:
                        best = (pair_peak, other, ia, -1)
                for ib, b in enumerate(parts[other]):
                    d = wa - weights[b]
                    if 0 < d < gap:
                        pair_peak = max(peak - d, loads[other] + d)
                        if best is None or pair_peak < best[0]:
                            best = (pair_peak, other, ia, ib)
        if best is None or best[0] >= peak:
            return
        _, other, ia, ib = best
        a = parts[top].pop(ia)
        parts[other].append(a)
        delta = weights[a]
        if ib >= 0:
            b = parts[other].pop(ib)
            parts[top].append(b)
            delta -= weights[b]
        loads[top] -= delta
        loads[other] += delta


def plan_shards(benches: list[str], n: int, durations: dict[str, float] | None = None) -> ShardPlan:
    """Split ``benches`` into ``n`` shards balanced by ``durations`` (by count without any).

    Every bench lands in exactly one shard (a shard may be empty when ``n`` exceeds the
    number of benches); the result depends only on the names and durations given.
    """
    if n < 1:
        raise BenchgateError(f"must be at least 1, got {n}", key="--n")
    names = sorted(set(benches))
    weights, estimated, by = _weights(names, durations or {})
    order = sorted(names, key=lambda b: (-weights[b], b))
    parts = lpt(order, weights, n)
    _improve(parts, weights)
    shards = []
    for i, part in enumerate(parts, 1):
        members = sorted(part)
        shards.append(Shard(i, members, sum(weights[b] for b in members)))
    return ShardPlan(n, shards, by, weights, estimated)
