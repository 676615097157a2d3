"""Which CPUs benches run on: CPU lists, the machine's topology, pinning.

Everything that reads the system takes ``root`` (the prefix of /proc and /sys) so tests can
point it at a fake tree, and degrades to "unknown" when a file is absent or unreadable:
a missing sysfs file is normal in containers, VMs and on other operating systems.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from benchgate.errors import BenchgateError

SYS_ROOT = Path("/")
CPU_DIR = "sys/devices/system/cpu"

_LIST_ITEM = re.compile(r"^([0-9]+)(?:-([0-9]+))?$")
# The largest CPU count a Linux kernel can be built for (NR_CPUS): a list naming a CPU
# beyond it is a typo, and expanding it (0-99999999999) would exhaust memory.
MAX_CPUS = 8192


def read_sys(root: Path, rel: str) -> str | None:
    """The stripped text of ``root/rel`` (a /proc or /sys path), or None when unreadable.

    Unreadable covers absent, a directory where a file was expected, no permission, and
    kernel files that fail on read (EIO, EINVAL): all mean "not known here".
    """
    try:
        return (root / rel.lstrip("/")).read_text(encoding="utf-8", errors="replace").strip()
    except (OSError, ValueError):
        return None


def parse_cpu_list(text: str) -> list[int]:
    """Parse a kernel-style CPU list (``"0-3,6"``) into sorted unique ints.

    Raises ValueError on anything malformed (empty items are tolerated, as the kernel
    writes an empty string for an empty set).
    """
    cpus: set[int] = set()
    for item in text.strip().split(","):
        item = item.strip()
        if not item:
            continue
        m = _LIST_ITEM.match(item)
        if not m:
            raise ValueError(f"not a CPU or CPU range: {item[:40]!r}")
        # Checked on the digits first: int() of a 5,000-digit number is itself an error.
        top = max((g for g in m.groups() if g), key=lambda g: (len(g.lstrip("0")), g))
        if len(top.lstrip("0")) > 5 or int(top) >= MAX_CPUS:
            raise ValueError(
                f"CPU {top[:20]}{'...' if len(top) > 20 else ''} does not exist here "
                f"(no Linux machine has more than {MAX_CPUS})"
            )
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise ValueError(f"range runs backwards: {item!r}")
        cpus.update(range(lo, hi + 1))
    return sorted(cpus)


def format_cpus(cpus: Iterable[int]) -> str:
    """Format CPUs the kernel's way: ``[0, 1, 2, 3, 6]`` -> ``"0-3,6"``."""
    ordered = sorted(set(cpus))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)


def _read_list(root: Path, rel: str) -> list[int] | None:
    text = read_sys(root, rel)
    if text is None:
        return None
    try:
        return parse_cpu_list(text)
    except ValueError:
        return None


def online_cpus(root: Path = SYS_ROOT) -> list[int]:
    """The machine's online CPUs.

    From /sys/devices/system/cpu/online; on the real system (``root`` is /) without that
    file, the CPUs this process may use, then ``os.cpu_count()``.
    """
    cpus = _read_list(root, f"{CPU_DIR}/online")
    if cpus:
        return cpus
    if root == SYS_ROOT:
        if hasattr(os, "sched_getaffinity"):
            try:
                return sorted(os.sched_getaffinity(0))
            except OSError:
                pass
        return list(range(os.cpu_count() or 1))
    return []


def cgroup_cpus(root: Path = SYS_ROOT) -> list[int] | None:
    """The CPUs the cgroup cpuset of this process allows (None when not restricted/known).

    Containers often restrict CPUs this way; pinning outside the set fails.
    """
    text = read_sys(root, "proc/self/cgroup")
    if not text:
        return None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        rel = path.lstrip("/")
        if controllers == "":  # cgroup v2
            for base in ("sys/fs/cgroup", "sys/fs/cgroup/unified"):
                cpus = _read_list(root, f"{base}/{rel}/cpuset.cpus.effective".replace("//", "/"))
                if cpus:
                    return cpus
        elif "cpuset" in controllers.split(","):  # cgroup v1
            cpus = _read_list(root, f"sys/fs/cgroup/cpuset/{rel}/cpuset.effective_cpus")
            if cpus:
                return cpus
    return None


def available_cpus(root: Path = SYS_ROOT) -> list[int]:
    """Online CPUs that the cgroup (if any) lets this process use."""
    online = online_cpus(root)
    allowed = cgroup_cpus(root)
    if allowed:
        both = [c for c in online if c in set(allowed)]
        if both:
            return both
    return online


def thread_siblings(cpu: int, root: Path = SYS_ROOT) -> list[int] | None:
    """The logical CPUs sharing ``cpu``'s physical core (itself included), None if unknown."""
    for name in ("thread_siblings_list", "core_cpus_list"):
        sibs = _read_list(root, f"{CPU_DIR}/cpu{cpu}/topology/{name}")
        if sibs:
            return sibs if cpu in sibs else sorted({*sibs, cpu})
    return None


def _package(cpu: int, root: Path) -> int:
    text = read_sys(root, f"{CPU_DIR}/cpu{cpu}/topology/physical_package_id")
    try:
        return int(text) if text is not None else 0
    except ValueError:
        return 0


def core_groups(cpus: Iterable[int], root: Path = SYS_ROOT) -> list[list[int]] | None:
    """``cpus`` grouped by physical core (each group sorted, groups by first CPU).

    None when no CPU's topology is readable; a CPU whose own topology is unreadable
    counts as a core of its own.
    """
    groups: dict[tuple[int, tuple[int, ...]], list[int]] = {}
    known = False
    for cpu in sorted(set(cpus)):
        sibs = thread_siblings(cpu, root)
        if sibs is not None:
            known = True
        key = (_package(cpu, root), tuple(sibs) if sibs else (cpu,))
        groups.setdefault(key, []).append(cpu)
    if not known:
        return None
    return sorted(groups.values(), key=lambda g: g[0])


def physical_cores(root: Path = SYS_ROOT) -> int | None:
    """The number of physical cores among the online CPUs (None when not known)."""
    groups = core_groups(online_cpus(root), root)
    if groups is not None:
        return len(groups)
    if root == SYS_ROOT:
        try:
            import psutil

            n = psutil.cpu_count(logical=False)
            return int(n) if n else None
        except Exception:  # psutil cannot tell on some platforms; "unknown" is fine
            return None
    return None


def smt_siblings(cpus: Iterable[int], root: Path = SYS_ROOT) -> list[tuple[int, int]]:
    """Pairs among ``cpus`` that are hyperthreads of one physical core (each pair a < b)."""
    chosen = sorted(set(cpus))
    pairs: set[tuple[int, int]] = set()
    for cpu in chosen:
        for sib in thread_siblings(cpu, root) or []:
            if sib != cpu and sib in chosen:
                pairs.add((min(cpu, sib), max(cpu, sib)))
    return sorted(pairs)


def one_per_core(cpus: Iterable[int], root: Path = SYS_ROOT) -> list[int]:
    """The first CPU of each physical core among ``cpus`` (all of them if topology unknown)."""
    chosen = sorted(set(cpus))
    groups = core_groups(chosen, root)
    if groups is None:
        return chosen
    return sorted(g[0] for g in groups)


def usable_cpus(root: Path = SYS_ROOT) -> list[int]:
    """CPUs an unpinned bench may run on: available ones within this process's affinity."""
    avail = available_cpus(root)
    if root == SYS_ROOT and hasattr(os, "sched_getaffinity"):
        # Under `taskset -c 2-5 benchgate run --cpus auto`, stay within 2-5.
        try:
            mine = os.sched_getaffinity(0)
        except OSError:
            return avail
        within = [c for c in avail if c in mine]
        if within:
            return within
    return avail


def auto_cpus(root: Path = SYS_ROOT) -> list[int]:
    """One logical CPU per physical core, leaving out CPU 0's core when more than two exist.

    CPU 0 takes many interrupts and housekeeping tasks, so it is the noisiest; with only
    one or two cores there is nothing to spare.
    """
    avail = usable_cpus(root)
    if not avail:
        return [0]
    groups = core_groups(avail, root) or [[c] for c in avail]
    if len(groups) > 2:
        groups = [g for g in groups if 0 not in (thread_siblings(g[0], root) or g)]
    return sorted(g[0] for g in groups)


def parse_cpus(spec: str | None, root: Path = SYS_ROOT) -> list[int] | None:
    """The CPUs a ``--cpus`` value names: None (no pinning), ``auto``, or a list like ``0-3,6``.

    Raises BenchgateError (key ``--cpus``) for a malformed list or a CPU not available here.
    """
    if spec is None or not spec.strip():
        return None
    spec = spec.strip()
    if spec.lower() == "auto":
        return auto_cpus(root)
    try:
        cpus = parse_cpu_list(spec)
    except ValueError as exc:
        raise BenchgateError(
            f"{exc} (expected a CPU list like 0-3, 2,4 or 0-1,4, or auto)", key="--cpus"
        ) from None
    if not cpus:
        raise BenchgateError("names no CPU (expected e.g. 0-3 or auto)", key="--cpus")
    online = online_cpus(root)
    if online:
        missing = [c for c in cpus if c not in set(online)]
        if missing:
            word = "CPU" if len(missing) == 1 else "CPUs"
            verb = "does" if len(missing) == 1 else "do"
            raise BenchgateError(
                f"{word} {format_cpus(missing)} {verb} not exist here "
                f"(online: {format_cpus(online)})",
                key="--cpus",
            )
        allowed = available_cpus(root)
        outside = [c for c in cpus if c not in set(allowed)]
        if outside:
            word = "CPU" if len(outside) == 1 else "CPUs"
            verb = "is" if len(outside) == 1 else "are"
            raise BenchgateError(
                f"{word} {format_cpus(outside)} {verb} not available to this process "
                f"(its cgroup allows {format_cpus(allowed)})",
                key="--cpus",
            )
    return cpus
