"""How much other processes disturbed a bench: CPU time on its CPUs that was not its own.

The runner wraps each bench subprocess in a :class:`DisturbanceMonitor`. Between ``start``
and ``stop`` the kernel's per-CPU busy time (/proc/stat) on the chosen CPUs grows by the
bench's own CPU time plus everyone else's; the runner knows the bench's own share from
``getrusage``, so the rest is the disturbance::

    other_share = (busy CPU seconds on the chosen CPUs - the bench's CPU seconds)
                  / (wall seconds x number of chosen CPUs)

Steal time (a hypervisor running other guests on our CPUs) counts as busy: the bench did
not get that time either.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from benchgate.machine.cpus import SYS_ROOT, read_sys

# /proc/stat columns after the "cpuN" label. guest and guest_nice are already included
# in user and nice, so they are not added again.
_BUSY = (0, 1, 2, 5, 6, 7)  # user nice system irq softirq steal
_STEAL = 7


def _clock_ticks() -> int:
    try:
        return int(os.sysconf("SC_CLK_TCK")) or 100
    except (AttributeError, ValueError, OSError):
        return 100


def read_cpu_times(root: Path = SYS_ROOT) -> dict[str, tuple[float, float]] | None:
    """Busy and steal seconds since boot per /proc/stat line: ``{"cpu": ..., "cpu0": ...}``.

    None when /proc/stat is not readable (not Linux, or a restricted sandbox).
    """
    text = read_sys(root, "proc/stat")
    if not text:
        return None
    tick = float(_clock_ticks())
    out: dict[str, tuple[float, float]] = {}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            continue
        label, *cols = line.split()
        try:
            vals = [int(c) for c in cols]
        except ValueError:
            continue
        busy = sum(vals[i] for i in _BUSY if i < len(vals))
        steal = vals[_STEAL] if len(vals) > _STEAL else 0
        out[label] = (busy / tick, steal / tick)
    return out or None


def read_loadavg(root: Path = SYS_ROOT) -> float | None:
    """The 1-minute load average (None when not readable)."""
    text = read_sys(root, "proc/loadavg")
    if text:
        try:
            return float(text.split()[0])
        except (ValueError, IndexError):
            pass
    if root == SYS_ROOT and hasattr(os, "getloadavg"):
        try:
            return float(os.getloadavg()[0])
        except OSError:
            return None
    return None


class DisturbanceMonitor:
    """Measures the share of the chosen CPUs that other processes took during a window.

    ``cpus`` None means the whole machine (the aggregate line of /proc/stat).
    ``limit_share`` is the share above which the window counts as disturbed.
    """

    def __init__(
        self, cpus: list[int] | None, limit_share: float = 0.25, root: Path = SYS_ROOT
    ) -> None:
        self.cpus = sorted(set(cpus)) if cpus else None
        self.limit_share = limit_share
        self.root = root
        self._t0: float | None = None
        self._times0: dict[str, tuple[float, float]] | None = None

    def _labels(self, times: dict[str, tuple[float, float]]) -> list[str] | None:
        if self.cpus is None:
            return ["cpu"] if "cpu" in times else None
        labels = [f"cpu{c}" for c in self.cpus]
        # A chosen CPU missing from /proc/stat (offline, or a fake tree): cannot measure.
        return labels if all(label in times for label in labels) else None

    def _ncpus(self, times: dict[str, tuple[float, float]]) -> int:
        if self.cpus is not None:
            return len(self.cpus)
        return sum(1 for k in times if k != "cpu") or (os.cpu_count() or 1)

    def start(self) -> None:
        """Note the CPU times and the clock at the start of the window."""
        self._times0 = read_cpu_times(self.root)
        self._t0 = time.monotonic()

    def stop(self, own_cpu_seconds: float) -> dict[str, Any]:
        """End the window; ``own_cpu_seconds`` is the bench's user+system time in it.

        Returns ``other_share`` (None when not measurable), ``steal_share``, ``loadavg``,
        ``limit``, ``disturbed``, ``cpus`` (None: all) and ``wall_s``.
        """
        t1 = time.monotonic()
        times1 = read_cpu_times(self.root)
        wall = (t1 - self._t0) if self._t0 is not None else 0.0
        result: dict[str, Any] = {
            "other_share": None,
            "steal_share": None,
            "loadavg": read_loadavg(self.root),
            "limit": self.limit_share,
            "disturbed": False,
            "cpus": self.cpus,
            "wall_s": round(wall, 4),
        }
        times0 = self._times0
        if times0 is None or times1 is None or self._t0 is None:
            result["reason"] = "/proc/stat not readable here"
            return result
        labels = self._labels(times0)
        if labels is None or self._labels(times1) is None:
            result["reason"] = "the chosen CPUs are not all in /proc/stat"
            return result
        if wall <= 0:
            result["reason"] = "empty window"
            return result
        busy = sum(times1[k][0] - times0[k][0] for k in labels)
        steal = sum(times1[k][1] - times0[k][1] for k in labels)
        capacity = wall * self._ncpus(times1)
        other = max(0.0, busy - max(0.0, own_cpu_seconds)) / capacity
        result["other_share"] = round(other, 4)
        result["steal_share"] = round(max(0.0, steal) / capacity, 4)
        result["disturbed"] = other > self.limit_share
        return result
