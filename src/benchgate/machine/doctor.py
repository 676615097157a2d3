"""``benchgate doctor``: is this machine fit to measure on, and what to fix if not.

Each check looks at one thing the refresh method names (governor, turbo, SMT, isolated
CPUs, background load, thermal throttling, virtualisation, memory, the benchmark env vars,
dependency parity) and says OK, WARN (with the command that fixes it) or INFO. A check
whose file or permission is missing says INFO "not readable here": doctor never fails for
lack of a sysfs file.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from benchgate.config import Config, measure_settings
from benchgate.errors import BenchgateError
from benchgate.machine.cpus import (
    CPU_DIR,
    SYS_ROOT,
    auto_cpus,
    available_cpus,
    core_groups,
    format_cpus,
    one_per_core,
    parse_cpu_list,
    read_sys,
    smt_siblings,
    usable_cpus,
)
from benchgate.machine.deps import dependency_parity, installed_distributions, lock_files
from benchgate.machine.sysinfo import hypervisor
from benchgate.render import fmt
from benchgate.run.disturbance import DisturbanceMonitor, read_loadavg
from benchgate.run.measure import needs_valgrind, valgrind_version

CheckStatus = Literal["ok", "warn", "info"]
NOT_READABLE = "not readable here"
GOVERNOR_FIX = "sudo cpupower frequency-set -g performance"


@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    status: CheckStatus
    detail: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Context:
    root: Path
    cpus: list[int] | None  # None: not pinned
    chosen: list[int]  # the CPUs benches may run on
    env: dict[str, str]  # the benchmark env vars of the config / command line
    environ: Mapping[str, str]
    project_root: Path | None
    load_limit: float
    sample_s: float
    needs_valgrind: bool = False  # the config measures instruction counts or cycles

    @property
    def where(self) -> str:
        text = format_cpus(self.chosen) or "?"
        return f"CPU {text}" if len(self.chosen) == 1 else f"CPUs {text}"


def _cpus_word(cpus: list[int]) -> str:
    return ("CPU " if len(cpus) == 1 else "CPUs ") + format_cpus(cpus)


# --------------------------------------------------------------------------- checks


def check_python(ctx: _Context) -> Check:
    """The interpreter, and whether it is the one the project's .python-version asks for."""
    here = platform.python_version()
    detail = f"{here} ({platform.python_implementation()})"
    want = None
    if ctx.project_root is not None:
        try:
            text = (ctx.project_root / ".python-version").read_text(encoding="utf-8")
            want = next((ln.strip() for ln in text.splitlines() if ln.strip()), None)
        except OSError:
            want = None
    if want and re.match(r"^\d+(\.\d+)*$", want):
        if here == want or here.startswith(want + "."):
            return Check("python", "ok", f"{detail}, as .python-version asks")
        return Check(
            "python",
            "warn",
            f"{detail}, but .python-version asks for {want}: numbers from different "
            "Pythons are not comparable",
            f"run with Python {want}, e.g. uv run --python {want} benchgate doctor",
        )
    return Check("python", "info", detail)


def check_cpus(ctx: _Context) -> Check:
    """Which CPUs the benches will run on."""
    avail = available_cpus(ctx.root)
    if ctx.cpus is None:
        suggestion = format_cpus(auto_cpus(ctx.root)) if avail else "auto"
        return Check(
            "cpus",
            "info",
            f"not pinned: benches may run on any of {_cpus_word(ctx.chosen)}; "
            f"pinning (--cpus auto = {suggestion} here) keeps them off busy cores",
        )
    return Check("cpus", "ok", f"pinned to {ctx.where} of {len(avail) or '?'} available")


def check_governor(ctx: _Context) -> Check:
    """The cpufreq scaling governor of the chosen CPUs."""
    by_gov: dict[str, list[int]] = {}
    for cpu in ctx.chosen:
        gov = read_sys(ctx.root, f"{CPU_DIR}/cpu{cpu}/cpufreq/scaling_governor")
        if gov:
            by_gov.setdefault(gov, []).append(cpu)
    if not by_gov:
        return Check(
            "governor",
            "info",
            f"scaling governor {NOT_READABLE} (usual in VMs and containers, "
            "where the host sets the clock)",
        )
    detail = "; ".join(f"{g} on {_cpus_word(c)}" for g, c in sorted(by_gov.items()))
    if set(by_gov) == {"performance"}:
        return Check("governor", "ok", detail)
    return Check(
        "governor",
        "warn",
        f"{detail}: a governor other than performance changes the clock under load",
        GOVERNOR_FIX,
    )


def check_turbo(ctx: _Context) -> Check:
    """Turbo / boost: a clock that depends on temperature and on how many cores are busy."""
    no_turbo = read_sys(ctx.root, f"{CPU_DIR}/intel_pstate/no_turbo")
    if no_turbo in ("0", "1"):
        if no_turbo == "1":
            return Check("turbo", "ok", "turbo off (intel_pstate no_turbo=1)")
        return Check(
            "turbo",
            "warn",
            "turbo on (intel_pstate no_turbo=0): the clock follows temperature and load",
            f"echo 1 | sudo tee /{CPU_DIR}/intel_pstate/no_turbo",
        )
    boost = read_sys(ctx.root, f"{CPU_DIR}/cpufreq/boost")
    if boost in ("0", "1"):
        if boost == "0":
            return Check("turbo", "ok", "boost off (cpufreq boost=0)")
        return Check(
            "turbo",
            "warn",
            "boost on (cpufreq boost=1): the clock follows temperature and load",
            f"echo 0 | sudo tee /{CPU_DIR}/cpufreq/boost",
        )
    per_cpu = {cpu: read_sys(ctx.root, f"{CPU_DIR}/cpu{cpu}/cpufreq/boost") for cpu in ctx.chosen}
    on = [c for c, v in per_cpu.items() if v == "1"]
    if on:
        return Check(
            "turbo",
            "warn",
            f"boost on for {_cpus_word(on)}: the clock follows temperature and load",
            f"echo 0 | sudo tee /{CPU_DIR}/cpu*/cpufreq/boost",
        )
    if any(v == "0" for v in per_cpu.values()):
        return Check("turbo", "ok", f"boost off for {ctx.where}")
    return Check("turbo", "info", f"turbo/boost state {NOT_READABLE}")


def _ghz(khz: str | None) -> float | None:
    try:
        return int(khz) / 1e6 if khz is not None else None
    except ValueError:
        return None


def check_frequency(ctx: _Context) -> Check:
    """Current vs maximum clock of the chosen CPUs."""
    cur: list[float] = []
    hw_max: list[float] = []
    limit: list[float] = []
    for cpu in ctx.chosen:
        base = f"{CPU_DIR}/cpu{cpu}/cpufreq"
        for rel, into in (
            ("scaling_cur_freq", cur),
            ("cpuinfo_max_freq", hw_max),
            ("scaling_max_freq", limit),
        ):
            value = _ghz(read_sys(ctx.root, f"{base}/{rel}"))
            if value is not None:
                into.append(value)
    if cur or hw_max:
        parts = []
        if cur:
            lo, hi = min(cur), max(cur)
            parts.append(f"now {lo:.2f} GHz" if lo == hi else f"now {lo:.2f}-{hi:.2f} GHz")
        if hw_max:
            parts.append(f"hardware max {max(hw_max):.2f} GHz")
        if limit and hw_max and min(limit) < max(hw_max) * 0.99:
            parts.append(f"limited to {min(limit):.2f} GHz")
        return Check("frequency", "info", f"{ctx.where}: " + ", ".join(parts))
    mhz = []
    for line in (read_sys(ctx.root, "proc/cpuinfo") or "").splitlines():
        key, sep, text = line.partition(":")
        if sep and key.strip() == "cpu MHz":
            try:
                mhz.append(float(text))
            except ValueError:
                pass
    if mhz:
        return Check(
            "frequency",
            "info",
            f"{max(mhz) / 1000:.2f} GHz reported by /proc/cpuinfo (no cpufreq here)",
        )
    return Check("frequency", "info", f"clock speed {NOT_READABLE}")


def check_smt(ctx: _Context) -> Check:
    """Whether the chosen CPUs include hyperthread siblings of each other."""
    groups = core_groups(ctx.chosen, ctx.root)
    if groups is None:
        return Check("smt", "info", f"CPU topology {NOT_READABLE}")
    control = read_sys(ctx.root, f"{CPU_DIR}/smt/control")
    pairs = smt_siblings(ctx.chosen, ctx.root)
    suffix = f" (SMT {control})" if control else ""
    if not pairs:
        return Check(
            "smt",
            "ok",
            f"no two of {ctx.where} share a physical core{suffix}",
        )
    shown = ", ".join(f"{a} and {b}" for a, b in pairs[:4])
    more = f" and {len(pairs) - 4} more pairs" if len(pairs) > 4 else ""
    better = one_per_core(ctx.chosen, ctx.root) if ctx.cpus is not None else auto_cpus(ctx.root)
    lead = "" if ctx.cpus is not None else "not pinned, and "
    return Check(
        "smt",
        "warn",
        f"{lead}CPUs {shown}{more} are hyperthreads of one physical core{suffix}: "
        "work on one slows the other",
        f"benchgate run --cpus {format_cpus(better)}",
    )


def _isolcpus(cmdline: str) -> list[int]:
    out: set[int] = set()
    for word in cmdline.split():
        if word.startswith("isolcpus="):
            # isolcpus=[flag,...,]<cpu list>, flags being words like domain or managed_irq.
            items = [i for i in word.split("=", 1)[1].split(",") if i and i[0].isdigit()]
            try:
                out.update(parse_cpu_list(",".join(items)))
            except ValueError:
                pass
    return sorted(out)


def check_isolation(ctx: _Context) -> Check:
    """Isolated CPUs (isolcpus, nohz_full) and whether the chosen CPUs are among them."""
    isolated_text = read_sys(ctx.root, f"{CPU_DIR}/isolated")
    nohz_text = read_sys(ctx.root, f"{CPU_DIR}/nohz_full")
    cmdline = read_sys(ctx.root, "proc/cmdline")
    if isolated_text is None and nohz_text is None and cmdline is None:
        return Check("isolation", "info", f"isolated CPUs {NOT_READABLE}")
    isolated: set[int] = set()
    for text in (isolated_text, nohz_text):
        if text and text != "(null)":
            try:
                isolated.update(parse_cpu_list(text))
            except ValueError:
                pass
    isolated.update(_isolcpus(cmdline or ""))
    if not isolated:
        return Check(
            "isolation",
            "info",
            "no isolated CPUs: the scheduler may put other tasks on the benches' CPUs "
            "(isolcpus= or nohz_full= on the kernel command line reserve some)",
        )
    iso = sorted(isolated)
    if ctx.cpus is not None and set(ctx.cpus) <= isolated:
        return Check("isolation", "ok", f"{ctx.where} isolated (isolated: {format_cpus(iso)})")
    lead = f"{ctx.where} chosen" if ctx.cpus is not None else "benches not pinned"
    return Check(
        "isolation",
        "warn",
        f"{lead}, but {_cpus_word(iso)} are isolated and would be quieter",
        f"benchgate run --cpus {format_cpus(iso)}",
    )


def _vmstat_swaps(root: Path) -> int | None:
    text = read_sys(root, "proc/vmstat")
    if text is None:
        return None
    total = 0
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key in ("pswpin", "pswpout"):
            try:
                total += int(value)
            except ValueError:
                pass
    return total


def _top_consumers(seconds: float, action: Any) -> tuple[Any, list[tuple[str, int, float]]]:
    """Run ``action()`` while psutil samples every process's CPU use; the top five."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return action(), []
    me = os.getpid()
    procs: list[Any] = []
    for proc in psutil.process_iter(["name"]):
        try:
            if proc.pid != me:
                proc.cpu_percent(None)
                procs.append(proc)
        except (psutil.Error, OSError):
            continue
    result = action()
    top: list[tuple[str, int, float]] = []
    for proc in procs:
        try:
            pct = proc.cpu_percent(None)
        except (psutil.Error, OSError):
            continue
        if pct >= 5.0:
            top.append((str(proc.info.get("name") or "?"), proc.pid, pct))
    top.sort(key=lambda t: -t[2])
    return result, top[:5]


@dataclass
class LoadSample:
    """What the background-load sample saw."""

    share: float | None
    steal: float | None
    loadavg: float | None
    top: list[tuple[str, int, float]]
    swaps: int | None  # pages swapped in+out during the sample
    seconds: float


def sample_load(
    cpus: list[int] | None, seconds: float, limit: float, root: Path = SYS_ROOT
) -> LoadSample:
    """Watch the chosen CPUs for ``seconds`` while this process sleeps."""
    monitor = DisturbanceMonitor(cpus, limit, root)
    swaps0 = _vmstat_swaps(root)

    def window() -> dict[str, Any]:
        monitor.start()
        before = time.process_time()
        time.sleep(seconds)
        return monitor.stop(time.process_time() - before)

    if seconds <= 0:
        return LoadSample(None, None, read_loadavg(root), [], None, 0.0)
    if root == SYS_ROOT:
        result, top = _top_consumers(seconds, window)
    else:
        result, top = window(), []
    swaps1 = _vmstat_swaps(root)
    swaps = swaps1 - swaps0 if swaps0 is not None and swaps1 is not None else None
    return LoadSample(
        result.get("other_share"),
        result.get("steal_share"),
        result.get("loadavg"),
        top,
        swaps,
        seconds,
    )


def check_load(ctx: _Context, sample: LoadSample) -> Check:
    """Background load: the share of the chosen CPUs other processes took during the sample."""
    load = f"load average {sample.loadavg:.2f}" if sample.loadavg is not None else ""
    if sample.share is None:
        if sample.loadavg is None:
            return Check("load", "info", f"background load {NOT_READABLE}")
        why = "not sampled" if sample.seconds <= 0 else f"CPU time {NOT_READABLE}"
        return Check("load", "info", f"{load} ({why})")
    pct = f"{sample.share:.0%}"
    detail = f"other processes took {pct} of {ctx.where} over {sample.seconds:g} s"
    detail += f" (limit {ctx.load_limit:.0%})"
    if load:
        detail += f"; {load}"
    if sample.steal:
        detail += f"; steal {sample.steal:.0%} (the hypervisor ran other guests)"
    if sample.top:
        detail += "; top: " + ", ".join(f"{n} (pid {p}) {c:.0f}%" for n, p, c in sample.top)
    if sample.share <= ctx.load_limit:
        return Check("load", "ok", detail)
    if sample.top:
        pid = sample.top[0][1]
        fix = (
            f"close the programs above, or pause one while measuring: kill -STOP {pid} "
            f"(then kill -CONT {pid})"
        )
    else:
        fix = "close busy programs (see top -o %CPU) or pin the benches to quiet CPUs with --cpus"
    return Check("load", "warn", detail, fix)


def check_thermal(ctx: _Context) -> Check:
    """Thermal throttle counters (since boot) of the chosen CPUs, where the kernel has them."""
    core: dict[int, int] = {}
    package = 0
    seen = False
    for cpu in ctx.chosen:
        base = f"{CPU_DIR}/cpu{cpu}/thermal_throttle"
        for kind in ("core", "package"):
            text = read_sys(ctx.root, f"{base}/{kind}_throttle_count")
            if text is None:
                continue
            try:
                n = int(text)
            except ValueError:
                continue
            seen = True
            if kind == "core" and n:
                core[cpu] = n
            elif kind == "package":
                package = max(package, n)
    if not seen:
        return Check("thermal", "info", f"thermal throttle counters {NOT_READABLE}")
    if not core and not package:
        return Check("thermal", "ok", f"no thermal throttling recorded on {ctx.where}")
    parts = [f"cpu{c} {n} times" for c, n in sorted(core.items())[:4]]
    if package:
        parts.append(f"package {package} times")
    return Check(
        "thermal",
        "warn",
        "throttled since boot: " + ", ".join(parts) + " (hot CPUs run slower)",
        "cool the machine, close heavy apps, and check the counters stay put during a run: "
        "grep . /sys/devices/system/cpu/cpu*/thermal_throttle/*_throttle_count",
    )


def _detect_virt(root: Path) -> str | None:
    found = hypervisor(root)
    if root == SYS_ROOT and shutil.which("systemd-detect-virt"):
        try:
            out = subprocess.run(
                ["systemd-detect-virt", "--vm"], capture_output=True, text=True, timeout=3
            )
            name = out.stdout.strip()
            if name and name != "none":
                return name
        except (OSError, subprocess.SubprocessError):
            pass
    return found


def check_hypervisor(ctx: _Context) -> Check:
    """Running under a hypervisor: steal time and a host-controlled clock."""
    kind = _detect_virt(ctx.root)
    if kind is None:
        if read_sys(ctx.root, "proc/cpuinfo") is None and ctx.root != SYS_ROOT:
            return Check("hypervisor", "info", f"virtualisation {NOT_READABLE}")
        return Check("hypervisor", "ok", "no hypervisor detected")
    name = "" if kind == "unknown" else f" ({kind})"
    return Check(
        "hypervisor",
        "info",
        f"running under a hypervisor{name}: other guests can take CPU time and the host "
        "sets the clock; compare only with baselines from the same kind of machine",
    )


def _meminfo(root: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in (read_sys(root, "proc/meminfo") or "").splitlines():
        key, sep, value = line.partition(":")
        parts = value.split()
        if sep and parts:
            try:
                out[key.strip()] = int(parts[0]) * 1024  # kB
            except ValueError:
                pass
    return out


def _mib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def check_memory(ctx: _Context) -> Check:
    """Available memory: too little and the benches page or the page cache thrashes."""
    info = _meminfo(ctx.root)
    total, avail = info.get("MemTotal"), info.get("MemAvailable")
    if (total is None or avail is None) and ctx.root == SYS_ROOT:
        try:
            import psutil

            vm = psutil.virtual_memory()
            total, avail = int(vm.total), int(vm.available)
        except Exception:  # psutil cannot tell on some platforms
            total = avail = None
    if not total or avail is None:
        return Check("memory", "info", f"available memory {NOT_READABLE}")
    detail = f"{_mib(avail)} available of {_mib(total)}"
    if avail < 0.10 * total or avail < 256 * 2**20:
        return Check(
            "memory",
            "warn",
            detail + ": little room left, benches may page",
            "close memory-hungry programs (largest first: ps aux --sort=-rss | head)",
        )
    return Check("memory", "ok", detail)


def check_swap(ctx: _Context, sample: LoadSample) -> Check:
    """Swap in use, and whether pages moved in or out during the sample."""
    info = _meminfo(ctx.root)
    total, free = info.get("SwapTotal"), info.get("SwapFree")
    swaps = sample.swaps
    if (total is None or free is None) and ctx.root == SYS_ROOT:
        try:
            import psutil

            sw = psutil.swap_memory()
            total, free = int(sw.total), int(sw.free)
        except Exception:  # psutil cannot tell on some platforms
            total = free = None
    if total is None or free is None:
        return Check("swap", "info", f"swap {NOT_READABLE}")
    if total == 0:
        return Check("swap", "ok", "no swap configured")
    used = total - free
    if swaps:
        return Check(
            "swap",
            "warn",
            f"swapping now: {swaps} pages in/out during the {sample.seconds:g} s sample "
            f"({_mib(used)} of swap in use)",
            "free memory (close programs); with enough RAM, sudo swapoff -a",
        )
    if used > 0:
        note = "" if swaps is None else " (none moved during the sample)"
        return Check("swap", "info", f"{_mib(used)} of {_mib(total)} swap in use{note}")
    return Check("swap", "ok", f"no swap in use ({_mib(total)} configured)")


def _env_value(ctx: _Context, name: str) -> tuple[str | None, str]:
    if name in ctx.env:
        return ctx.env[name], "the benchmark env of [tool.benchgate]"
    if name in ctx.environ:
        return ctx.environ[name], "the shell environment"
    return None, ""


def check_hashseed(ctx: _Context) -> Check:
    """PYTHONHASHSEED as the benches will see it: fixed, or hashing (and dict order) varies."""
    value, source = _env_value(ctx, "PYTHONHASHSEED")
    fix = (
        'add PYTHONHASHSEED = "0" to env in [tool.benchgate], '
        "or benchgate run --env PYTHONHASHSEED=0"
    )
    if value is None or value.strip() in ("", "random"):
        state = "unset" if value is None else f"{value!r}"
        return Check(
            "PYTHONHASHSEED",
            "warn",
            f"{state}: string hashes, and with them set order and dict layouts, "
            "change from run to run",
            fix,
        )
    if not value.strip().isdigit() or int(value) > 4294967295:
        return Check(
            "PYTHONHASHSEED",
            "warn",
            f"{value!r} from {source} is not a valid seed: Python will refuse to start",
            fix,
        )
    return Check("PYTHONHASHSEED", "ok", f"{value} (from {source})")


def check_numba(ctx: _Context) -> Check:
    """NUMBA_DISABLE_JIT as the benches will see it (the method benchmarks pure Python)."""
    value, source = _env_value(ctx, "NUMBA_DISABLE_JIT")
    if value is not None and value.strip() == "1":
        return Check("NUMBA_DISABLE_JIT", "ok", f"1 (from {source})")
    try:
        has_numba = importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):
        has_numba = False
    state = "unset" if value is None else f"{value!r} (from {source})"
    if not has_numba:
        return Check("NUMBA_DISABLE_JIT", "info", f"{state}; numba is not installed here")
    if value is not None:
        return Check(
            "NUMBA_DISABLE_JIT", "info", f"{state}: the numba JIT is on, deliberately it seems"
        )
    return Check(
        "NUMBA_DISABLE_JIT",
        "warn",
        "unset with numba installed: jitted code compiles on first call and "
        "the numbers measure the JIT, not the reference paths",
        'add NUMBA_DISABLE_JIT = "1" to env in [tool.benchgate], '
        "or benchgate run --env NUMBA_DISABLE_JIT=1",
    )


def _sync_command(label: str) -> str:
    name = Path(label).name
    if name == "uv.lock":
        return "uv sync"
    if name == "poetry.lock":
        return "poetry sync (poetry install --sync on Poetry < 2)"
    if name == "Pipfile.lock":
        return "pipenv sync"
    if name.startswith("pylock"):
        return f"uv pip sync {label}"
    return f"pip install -r {label}"


def check_dependencies(ctx: _Context) -> Check:
    """Installed versions against the project's lock/requirements files."""
    if ctx.project_root is None:
        return Check("dependencies", "info", "no project given: dependency parity not checked")
    locks = lock_files(ctx.project_root)
    broken = [f"{lk.label}: {lk.error}" for lk in locks if lk.error]
    usable = [lk for lk in locks if lk.pins]
    if not usable:
        detail = (
            "no lock or requirements file (uv.lock, poetry.lock, pylock.toml, Pipfile.lock, "
            "requirements*.txt): installed versions are recorded, not checked"
        )
        if broken:
            detail = "; ".join(broken)
        return Check("dependencies", "info", detail)
    mismatches = dependency_parity(ctx.project_root)
    labels = ", ".join(lk.label for lk in usable)
    if mismatches:
        shown = "; ".join(mismatches[:6])
        more = f"; and {len(mismatches) - 6} more" if len(mismatches) > 6 else ""
        first = mismatches[0].split(" in ", 1)[1].split(",", 1)[0]
        return Check(
            "dependencies",
            "warn",
            f"{shown}{more}: numbers measured with other versions than the lock's "
            "are not comparable",
            _sync_command(first),
        )
    pinned = {n for lk in usable for n, v in lk.pins.items() if v}
    installed = installed_distributions(pinned)
    detail = f"{len(installed)} pinned packages installed as {labels} says"
    if broken:
        detail += " (" + "; ".join(broken) + ")"
    return Check("dependencies", "ok", detail)


def check_valgrind(ctx: _Context) -> Check:
    """valgrind and its version: what --measure instructions (and cycles) run under."""
    version = valgrind_version()
    if version is not None:
        return Check("valgrind", "ok", f"{version} (for --measure instructions, cycles)")
    if ctx.needs_valgrind:
        return Check(
            "valgrind",
            "warn",
            "not installed, and [tool.benchgate] measures instruction counts",
            "apt-get install valgrind (or your distribution's package)",
        )
    return Check(
        "valgrind",
        "info",
        "not installed: needed only for --measure instructions or cycles "
        "(apt-get install valgrind)",
    )


# --------------------------------------------------------------------------- driver


def run_doctor(
    config: Config | None = None,
    *,
    cpus: list[int] | None = None,
    env: dict[str, str] | None = None,
    project_root: Path | None = None,
    load_limit: float | None = None,
    sample_s: float = 0.5,
    root: Path = SYS_ROOT,
    environ: Mapping[str, str] | None = None,
) -> list[Check]:
    """Every check, in a fixed order.

    ``cpus`` are the CPUs the benches will be pinned to (None: not pinned). ``env`` (default
    ``config.env``) overrides ``environ`` (default ``os.environ``) as in the runner.
    ``project_root`` (default ``config.root``) locates the lock files. ``load_limit``
    (default ``config.disturbed_share``) is the background share that warns. ``sample_s``
    is how long the background load is watched; 0 skips the sample (cheap, for a runner).
    """
    if env is None:
        env = dict(config.env) if config is not None else {}
    if project_root is None and config is not None:
        project_root = config.root
    if load_limit is None:
        load_limit = config.disturbed_share if config is not None else 0.25
    chosen = list(cpus) if cpus else usable_cpus(root)
    ctx = _Context(
        root=root,
        cpus=list(cpus) if cpus else None,
        chosen=chosen,
        env=dict(env),
        environ=os.environ if environ is None else environ,
        project_root=project_root,
        load_limit=load_limit,
        sample_s=sample_s,
        needs_valgrind=config is not None and _config_counts(config),
    )
    sample = sample_load(ctx.cpus, sample_s, load_limit, root)
    return [
        check_python(ctx),
        check_cpus(ctx),
        check_governor(ctx),
        check_turbo(ctx),
        check_frequency(ctx),
        check_smt(ctx),
        check_isolation(ctx),
        check_load(ctx, sample),
        check_thermal(ctx),
        check_hypervisor(ctx),
        check_memory(ctx),
        check_swap(ctx, sample),
        check_hashseed(ctx),
        check_numba(ctx),
        check_dependencies(ctx),
        check_valgrind(ctx),
    ]


def _config_counts(config: Config) -> bool:
    """True when the config asks any bench for instruction counts or cycles."""
    try:
        default, per_bench = measure_settings(config, None)
    except BenchgateError:
        return False
    return needs_valgrind(default) or any(needs_valgrind(m) for m in per_bench.values())


def doctor_summary(checks: list[Check]) -> dict[str, Any]:
    """Counts per status and the names of the WARN checks (stored with each run)."""
    return {
        "ok": sum(1 for c in checks if c.status == "ok"),
        "warn": sum(1 for c in checks if c.status == "warn"),
        "info": sum(1 for c in checks if c.status == "info"),
        "warn_names": [c.name for c in checks if c.status == "warn"],
    }


RECORD_DETAIL_CHARS = 200


def record_summary(checks: list[Check]) -> dict[str, Any]:
    """The doctor block stored in every run's environment record.

    ``doctor_summary`` plus the checks that are not OK, as ``{"check", "status",
    "detail"}``; details are cut to ``RECORD_DETAIL_CHARS`` as every run carries the block.
    """
    out = doctor_summary(checks)
    out["checks"] = [
        {"check": c.name, "status": c.status, "detail": _cut(c.detail, RECORD_DETAIL_CHARS)}
        for c in checks
        if c.status != "ok"
    ]
    return out


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render_text(checks: list[Check]) -> str:
    """The checks one per line (``OK   governor  ...``), each WARN followed by its fix."""
    width = max((len(c.name) for c in checks), default=0)
    lines = []
    for c in checks:
        # Details quote env var values and file contents: escaped, one line each.
        lines.append(f"{c.status.upper():<5} {c.name:<{width}}  {fmt.plain(c.detail)}")
        if c.status == "warn" and c.fix:
            lines.append(f"{'':<5} {'':<{width}}  fix: {fmt.plain(c.fix)}")
    s = doctor_summary(checks)
    lines.append(f"{s['ok']} ok, {s['warn']} warn, {s['info']} info")
    return "\n".join(lines)
