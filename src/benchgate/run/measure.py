"""Measurements other than wall time: instruction counts under valgrind, and memory.

``benchgate run --measure time,instructions,memory`` (and ``ab``, and ``measure = ...`` in
``[tool.benchgate]``) asks for more than the time of a bench. The runner calls
:func:`execute_measures` for one bench run; it makes the processes each measurement
needs through the runner's own ``execute`` (timeouts, process-group kills, the bench
contract all apply) and merges what they report into one :class:`RunRecord`, so every
stage after the runner (reduce, compare, refresh, check, ab, CI outputs) sees ordinary
metrics.

What each measurement reports (see docs/measurements.md):

* ``time``: the bench's own metrics, as without ``--measure``.
* ``instructions``: for a ``benchgate.bench`` script, ``<metric>_instructions`` per case
  (``encode_MBps_instructions[n=1024]``): instructions per call of the operation. Each case
  is counted in two processes under ``valgrind --tool=cachegrind --cache-sim=no`` with a
  fixed hash seed, one making ``calls`` calls and one ``2 * calls``; the difference divided
  by ``calls`` is the per-call count, with interpreter start-up, imports and setup
  cancelled. A plain script or a declared command is counted as a whole process:
  ``process_instructions`` (everything the process executed, start-up included).
* ``cycles``: the same runs with cachegrind's cache simulation, reported as
  ``<metric>_cycles``: estimated cycles = Ir + 10 * (I1mr + D1mr + D1mw) +
  100 * (ILmr + DLmr + DLmw) (instructions, plus first-level misses at 10 cycles and
  last-level misses at 100).
* ``memory``: ``peak_rss`` (bytes) of the bench process, the largest resident set of the
  bench's process tree; for ``benchgate.bench`` scripts also ``<metric>_peak_bytes`` and
  ``<metric>_retained_bytes`` per case (tracemalloc around the calls only).

Every count and byte metric is lower-is-better.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchgate.errors import BenchgateError
from benchgate.model import (
    Measurement,
    ReducedMetric,
    ReducedSet,
    RunRecord,
    RunStatus,
    Status,
    Verdict,
)
from benchgate.run.protocol import last_json_object

if TYPE_CHECKING:  # the runner imports this module; these are only for type hints
    from benchgate.run.discovery import Bench
    from benchgate.run.runner import RunOptions

TIME = "time"
INSTRUCTIONS = "instructions"
CYCLES = "cycles"
MEMORY = "memory"
MEASURES = (TIME, INSTRUCTIONS, CYCLES, MEMORY)
# Shorthands accepted wherever a list of measurements is.
ALIASES = {"both": (TIME, INSTRUCTIONS)}
TIME_ONLY: tuple[str, ...] = (TIME,)

# Environment variables benchgate.bench reads (kept in step with benchgate.bench.api).
ENV_MEASURE = "BENCHGATE_MEASURE"
ENV_CASE = "BENCHGATE_CASE"
ENV_CALLS = "BENCHGATE_CALLS"
# Calls of the smaller of the two counting processes (the larger makes twice as many).
DEFAULT_CALLS = 10

INSTRUCTIONS_UNIT = "instructions"
CYCLES_UNIT = "cycles"
BYTES_UNIT = "bytes"
# Metric suffixes (before a case's [params]).
SUFFIX = {INSTRUCTIONS: "_instructions", CYCLES: "_cycles"}
# Whole-process metrics (plain scripts and commands).
PROCESS_INSTRUCTIONS = "process_instructions"
PROCESS_CYCLES = "process_cycles"
PEAK_RSS = "peak_rss"

# Estimated cycles: each first-level miss costs this many cycles, each last-level miss that.
L1_MISS_CYCLES = 10
LL_MISS_CYCLES = 100

# What `memory` mode's bench prints when no call allocated traced memory.
NO_TRACED = "no traced allocation"

INSTALL_HINT = (
    "valgrind is not installed: apt-get install valgrind (Debian/Ubuntu), "
    "dnf install valgrind (Fedora), or your distribution's package"
)

# The wrapper that reports the peak resident set of the bench's process tree: it runs the
# bench as its child and reads the children's ru_maxrss once the bench has exited.
_RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[2:])\n"
    "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "scale = 1 if sys.platform == 'darwin' else 1024\n"
    "open(sys.argv[1], 'w').write(str(ru.ru_maxrss * scale))\n"
    "sys.exit(rc if rc >= 0 else 128 - rc)\n"
)


def parse_measures(value: str | Sequence[str], where: str = "--measure") -> tuple[str, ...]:
    """``"time,instructions"`` / ``["time", "memory"]`` / ``"both"`` -> a tuple of measurements.

    Order is kept, duplicates dropped; BenchgateError names an unknown one.
    """
    parts: list[str] = []
    items = value.split(",") if isinstance(value, str) else list(value)
    for item in items:
        if not isinstance(item, str):
            raise BenchgateError(f"expected names of measurements, got {item!r}", key=where)
        name = item.strip().lower()
        if not name:
            continue
        names = ALIASES.get(name, (name,))
        for n in names:
            if n not in MEASURES:
                raise BenchgateError(
                    f"unknown measurement {item.strip()!r} "
                    f"(choose from {', '.join(MEASURES)}, or both = time,instructions)",
                    key=where,
                )
            if n not in parts:
                parts.append(n)
    if not parts:
        raise BenchgateError("names no measurement", key=where)
    return tuple(parts)


def measures_for(options: RunOptions, bench: str) -> tuple[str, ...]:
    """The measurements of ``bench``: its ``measure_per_bench`` entry, else ``measure``."""
    return options.measure_per_bench.get(bench, options.measure)


def metric_name(name: str, suffix: str) -> str:
    """``encode[n=1]`` + ``_instructions`` -> ``encode_instructions[n=1]`` (case last)."""
    i = name.find("[")
    return name + suffix if i < 0 else name[:i] + suffix + name[i:]


def is_count_metric(unit: str | None) -> bool:
    """True for an instruction or estimated-cycle count (deterministic measurements)."""
    return (unit or "").strip().lower() in (INSTRUCTIONS_UNIT, CYCLES_UNIT)


# --- valgrind -----------------------------------------------------------------------------


def valgrind_version(path: str | None = None) -> str | None:
    """The installed valgrind's version (``3.19.0``), or None when there is none."""
    exe = path or shutil.which("valgrind")
    if exe is None:
        return None
    try:
        r = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"(\d+\.\d+(?:\.\d+)?)", r.stdout)
    return m.group(1) if m and r.returncode == 0 else None


def require_valgrind() -> str:
    """The path of valgrind; BenchgateError with how to install it when it is missing."""
    exe = shutil.which("valgrind")
    if exe is None or valgrind_version(exe) is None:
        raise BenchgateError(INSTALL_HINT, key="--measure")
    return exe


def needs_valgrind(measures: Iterable[str]) -> bool:
    """True when one of ``measures`` runs under valgrind."""
    return any(m in (INSTRUCTIONS, CYCLES) for m in measures)


def check_available(
    measure: tuple[str, ...], per_bench: dict[str, tuple[str, ...]], benches: Iterable[str]
) -> None:
    """BenchgateError (how to install valgrind) when a bench to run needs it and it is missing."""
    if any(needs_valgrind(per_bench.get(b, measure)) for b in benches):
        require_valgrind()


def cachegrind_argv(valgrind: str, out_dir: Path, cache_sim: bool) -> list[str]:
    """The valgrind prefix of a counted process; one output file per process of its tree."""
    return [
        valgrind,
        "--tool=cachegrind",
        f"--cache-sim={'yes' if cache_sim else 'no'}",
        "--trace-children=yes",  # shims and wrappers exec the real program: follow them
        f"--cachegrind-out-file={out_dir / 'cg.%p'}",
        "--quiet",
    ]


def read_cachegrind(paths: Iterable[Path]) -> dict[str, int]:
    """The event totals (``Ir``, ``D1mr`` ...) of cachegrind output files, summed."""
    total: dict[str, int] = {}
    for path in paths:
        events: list[str] = []
        summary: list[int] = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith("summary:"):
                try:
                    summary = [int(x) for x in line.split()[1:]]
                except ValueError:
                    raise ValueError(f"{path.name}: a summary that is not numbers") from None
        if not events or len(summary) != len(events):
            raise ValueError(f"{path.name}: no event summary (valgrind stopped early?)")
        for e, v in zip(events, summary, strict=True):
            total[e] = total.get(e, 0) + v
    return total


def estimated_cycles(events: Mapping[str, int | float]) -> float:
    """Ir + 10 * (I1mr + D1mr + D1mw) + 100 * (ILmr + DLmr + DLmw)."""
    l1 = sum(events.get(k, 0) for k in ("I1mr", "D1mr", "D1mw"))
    ll = sum(events.get(k, 0) for k in ("ILmr", "DLmr", "DLmw"))
    return float(events.get("Ir", 0) + L1_MISS_CYCLES * l1 + LL_MISS_CYCLES * ll)


def counting_env(env: dict[str, str]) -> dict[str, str]:
    """The bench's env vars for a counted run: a fixed hash seed whatever was configured.

    A random seed reorders sets and dicts of strings from one process to the next, and the
    count with it (by a few percent): the count would not be repeatable.
    """
    out = dict(env)
    seed = out.get("PYTHONHASHSEED", "").strip()
    if not seed.isdigit():
        out["PYTHONHASHSEED"] = "0"
    return out


# --- one bench run ------------------------------------------------------------------------

RunOnce = Callable[["Bench", Path, "RunOptions", str, dict[str, Any]], RunRecord]


@dataclass
class _Part:
    """What one measurement of one bench run produced."""

    kind: str
    record: RunRecord  # status, reason, timing of the measurement's (last) process
    metrics: dict[str, Measurement]
    detail: dict[str, Any]
    duration_s: float


def _error(kind: str, record: RunRecord, reason: str) -> _Part:
    rec = replace(record, status=RunStatus.ERROR, reason=reason, metrics={})
    return _Part(kind, rec, {}, {}, record.duration_s)


def list_cases(
    bench: Bench, root: Path, options: RunOptions, env: dict[str, str]
) -> list[str] | None:
    """The case names of a ``benchgate.bench`` script, or None for any other bench.

    Runs the script natively with ``BENCHGATE_MEASURE=list`` (it imports its modules and
    exits before any setup). Only tried for scripts that mention benchgate, so that a plain
    script is never run in full just to find out.
    """
    if bench.path is None:
        return None
    try:
        if "benchgate" not in bench.path.read_text(encoding="utf-8", errors="replace"):
            return None
    except OSError:
        return None
    full = {**os.environ, **env, ENV_MEASURE: "list"}
    try:
        r = subprocess.run(
            list(bench.argv),
            cwd=root,
            env=full,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=options.timeout,
            start_new_session=True,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    obj = last_json_object(r.stdout)
    harness = obj.get("harness") if isinstance(obj, dict) else None
    if not isinstance(harness, dict) or harness.get("mode") != "list":
        return None
    cases = harness.get("cases")
    if not isinstance(cases, list) or not all(isinstance(c, str) for c in cases):
        return None
    return list(cases)


def _counted(
    bench: Bench,
    root: Path,
    options: RunOptions,
    invocation: str,
    env_record: dict[str, Any],
    run_once: RunOnce,
    valgrind: str,
    cache_sim: bool,
    extra_env: dict[str, str],
) -> tuple[RunRecord, dict[str, int] | None]:
    """One process of ``bench`` under cachegrind: its record and its event totals."""
    with tempfile.TemporaryDirectory(prefix="benchgate-cg-") as tmp:
        argv = (*cachegrind_argv(valgrind, Path(tmp), cache_sim), *bench.argv)
        opts = replace(
            options,
            env={**counting_env(options.env), **extra_env},
            measure=TIME_ONLY,
            measure_per_bench={},
        )
        record = run_once(replace(bench, argv=argv), root, opts, invocation, env_record)
        files = sorted(Path(tmp).glob("cg.*"))
        if record.status is RunStatus.ERROR or not files:
            return record, None
        try:
            return record, read_cachegrind(files)
        except (ValueError, OSError):
            return record, None


def _count_values(events: dict[str, int], cycles: bool) -> float:
    return estimated_cycles(events) if cycles else float(events.get("Ir", 0))


def _measure_counts(
    kinds: tuple[str, ...],
    bench: Bench,
    root: Path,
    options: RunOptions,
    invocation: str,
    env_record: dict[str, Any],
    run_once: RunOnce,
    calls: int,
) -> _Part:
    """Instruction counts (and/or estimated cycles) of one bench run."""
    valgrind = require_valgrind()
    cache_sim = CYCLES in kinds
    kind = "+".join(kinds)
    env = counting_env(options.env)
    cases = list_cases(bench, root, options, env)
    metrics: dict[str, Measurement] = {}
    duration = 0.0
    if cases is None:
        # A plain script or a command: the whole process, start-up included.
        record, events = _counted(
            bench, root, options, invocation, env_record, run_once, valgrind, cache_sim, {}
        )
        duration += record.duration_s
        if record.status is not RunStatus.OK:
            return _Part(kind, record, {}, {}, duration)
        if events is None:
            return _error(kind, record, "valgrind wrote no counts")
        if INSTRUCTIONS in kinds:
            metrics[PROCESS_INSTRUCTIONS] = Measurement(
                float(events.get("Ir", 0)), INSTRUCTIONS_UNIT, False
            )
        if CYCLES in kinds:
            metrics[PROCESS_CYCLES] = Measurement(estimated_cycles(events), CYCLES_UNIT, False)
        detail = {"scope": "process", "events": events}
        return _Part(kind, record, metrics, detail, duration)
    per_case: dict[str, Any] = {}
    last: RunRecord | None = None
    for case in cases:
        totals: list[dict[str, int]] = []
        for n in (calls, 2 * calls):
            extra = {ENV_MEASURE: INSTRUCTIONS, ENV_CASE: case, ENV_CALLS: str(n)}
            record, events = _counted(
                bench, root, options, invocation, env_record, run_once, valgrind, cache_sim, extra
            )
            duration += record.duration_s
            last = record
            if record.status is not RunStatus.OK:
                part = _Part(kind, record, {}, {}, duration)
                if record.status is RunStatus.ERROR:
                    part.record = replace(record, reason=f"{case}: {record.reason}")
                return part
            if events is None:
                return _error(kind, record, f"{case}: valgrind wrote no counts")
            totals.append(events)
        small, large = totals
        per_case[case] = {"calls": [calls, 2 * calls], "events": totals}
        for k in kinds:
            diff = _count_values(large, k == CYCLES) - _count_values(small, k == CYCLES)
            if diff <= 0:
                return _error(
                    kind,
                    record,
                    f"{case}: {calls} more calls counted {diff:g} {k} "
                    "(the operation does nothing measurable, or the script ignores "
                    f"{ENV_CALLS})",
                )
            unit = CYCLES_UNIT if k == CYCLES else INSTRUCTIONS_UNIT
            metrics[metric_name(case, SUFFIX[k])] = Measurement(diff / calls, unit, False)
    if last is None:
        return _error(kind, _placeholder(bench, invocation, env_record), "no case to count")
    detail = {"scope": "per-call", "cases": per_case}
    return _Part(kind, last, metrics, detail, duration)


def _placeholder(bench: Bench, invocation: str, env_record: dict[str, Any]) -> RunRecord:
    """A record for a measurement that started no process."""
    return RunRecord(
        run_id="",
        bench=bench.name,
        invocation=invocation,
        started="",
        duration_s=0.0,
        status=RunStatus.ERROR,
        env=env_record,
    )


def _measure_memory(
    bench: Bench,
    root: Path,
    options: RunOptions,
    invocation: str,
    env_record: dict[str, Any],
    run_once: RunOnce,
    calls: int,
) -> _Part:
    """Peak RSS of the bench process (and traced memory per case for benchgate.bench)."""
    with tempfile.TemporaryDirectory(prefix="benchgate-rss-") as tmp:
        out = Path(tmp) / "maxrss"
        argv = (sys.executable, "-I", "-c", _RSS_WRAPPER, str(out), *bench.argv)
        opts = replace(
            options,
            env={**options.env, ENV_MEASURE: MEMORY, ENV_CALLS: str(calls)},
            measure=TIME_ONLY,
            measure_per_bench={},
        )
        record = run_once(replace(bench, argv=argv), root, opts, invocation, env_record)
        rss = out.read_text().strip() if out.exists() else ""
    if record.status is RunStatus.SKIPPED and record.reason == NO_TRACED:
        record = replace(record, status=RunStatus.OK, reason=None)
    if record.status is not RunStatus.OK:
        return _Part(MEMORY, record, {}, {}, record.duration_s)
    metrics: dict[str, Measurement] = {}
    harness = record.extra.get("harness")
    traced = isinstance(harness, dict) and harness.get("mode") == MEMORY
    if traced:
        for name, m in record.metrics.items():
            metrics[name] = Measurement(m.value, BYTES_UNIT, False)
        # benchgate.bench reports its peak before tracemalloc started (whose own
        # bookkeeping would inflate it): that one is the operation's.
        own = harness.get("peak_rss") if isinstance(harness, dict) else None
        if isinstance(own, int) and own > 0:
            rss = str(own)
    if not rss.isdigit() or int(rss) <= 0:
        return _error(MEMORY, record, "could not read the bench's peak RSS")
    metrics[PEAK_RSS] = Measurement(float(rss), BYTES_UNIT, False)
    detail = {"scope": "per-call" if traced else "process", "calls": calls if traced else None}
    return _Part(MEMORY, record, metrics, detail, record.duration_s)


def execute_measures(
    bench: Bench,
    root: Path,
    options: RunOptions,
    invocation: str,
    env_record: dict[str, Any],
    run_once: RunOnce,
) -> RunRecord:
    """One run of ``bench`` with every measurement asked of it, merged into one record.

    ``run_once`` is the runner's ``execute`` (one process, the bench contract); it is
    called with ``measure`` set to time only, for the timing process and for each
    counting or memory process. The record is OK when every measurement is; otherwise it
    carries the first failure, its reason prefixed with the measurement's name.
    """
    kinds = measures_for(options, bench.name)
    calls = options.calls
    plain = replace(options, measure=TIME_ONLY, measure_per_bench={})
    parts: list[_Part] = []
    if TIME in kinds:
        rec = run_once(bench, root, plain, invocation, env_record)
        parts.append(_Part(TIME, rec, dict(rec.metrics), {}, rec.duration_s))
    counts = tuple(k for k in kinds if k in (INSTRUCTIONS, CYCLES))
    if counts:
        parts.append(
            _measure_counts(counts, bench, root, plain, invocation, env_record, run_once, calls)
        )
    if MEMORY in kinds:
        parts.append(_measure_memory(bench, root, plain, invocation, env_record, run_once, calls))
    return merge_parts(parts, kinds, options)


def merge_parts(parts: list[_Part], kinds: tuple[str, ...], options: RunOptions) -> RunRecord:
    """The record of one bench run from the records of its measurements."""
    first = parts[0].record
    record = replace(first, metrics={}, extra=dict(first.extra))
    record.duration_s = round(sum(p.duration_s for p in parts), 4)
    record.command = {**first.command, "measure": list(kinds)}
    if options.calls != DEFAULT_CALLS and any(k != TIME for k in kinds):
        record.command["calls"] = options.calls
    if TIME not in kinds:
        # Counts and memory do not depend on what else the machine was doing.
        record.disturbance = None
    detail: dict[str, Any] = {}
    for p in parts:
        if p.record.status is not RunStatus.OK:
            record.status = p.record.status
            record.exit_code = p.record.exit_code
            record.stderr_tail = p.record.stderr_tail
            prefix = "" if p.kind == TIME else f"{p.kind}: "
            record.reason = prefix + (p.record.reason or p.record.status.value)
            record.metrics = {}
            return record
        record.metrics.update(p.metrics)
        if p.kind != TIME:
            detail[p.kind] = p.detail
    record.status = RunStatus.OK
    record.reason = None
    if TIME not in kinds:
        record.extra = {}
    if detail:
        record.extra["measure"] = detail
    return record


# --- keys of a measurement these runs did not make ------------------------------------------


def measurement_of(unit: str | None) -> str:
    """Which measurement a metric of ``unit`` comes from (anything not counted is time)."""
    u = (unit or "").strip().lower()
    if u == INSTRUCTIONS_UNIT:
        return INSTRUCTIONS
    if u == CYCLES_UNIT:
        return CYCLES
    if u == BYTES_UNIT:
        return MEMORY
    return TIME


def mark_unmeasured(verdicts: list[Verdict], reduced: ReducedSet) -> None:
    """MISSING -> SKIPPED for keys of a measurement the bench's runs did not make.

    A project whose baselines.json holds time and instruction keys gates them in separate
    jobs (the instruction job runs ``--measure instructions``): in each, the other
    measurement's keys are not missing, just not measured. Known from the runs themselves:
    a bench that reported no metric at all of a key's measurement did not make it.
    """
    made: dict[str, set[str]] = {}
    for m in reduced.metrics.values():
        made.setdefault(m.bench, set()).add(measurement_of(m.unit))
    for v in verdicts:
        if v.status is not Status.MISSING or v.bench not in made:
            continue
        kind = measurement_of(v.unit)
        if kind not in made[v.bench]:
            v.status = Status.SKIPPED
            v.reason = f"not measured: these runs of {v.bench} made no {kind} measurement"


# --- determinism --------------------------------------------------------------------------

DETERMINISM_CAUSES = (
    "a hash seed that is not fixed (PYTHONHASHSEED), code that depends on the time or on "
    "random numbers without a seed, threads, or caches that persist across calls"
)


def determinism_problems(metrics: Iterable[ReducedMetric]) -> list[str]:
    """Count metrics whose value varied across runs: they should repeat exactly.

    One line per metric, with the spread and the likely causes.
    """
    out: list[str] = []
    for m in metrics:
        if not is_count_metric(m.unit) or len(m.values) < 2:
            continue
        lo, hi = min(m.values), max(m.values)
        if hi == lo:
            continue
        spread = (hi - lo) / lo * 100 if lo > 0 else float("inf")
        out.append(
            f"Determinism problem: {m.key} varied by {spread:.3g}% across {len(m.values)} "
            f"runs ({lo:.10g}..{hi:.10g} {m.unit}); an instruction count should repeat "
            f"exactly. Likely causes: {DETERMINISM_CAUSES}"
        )
    return out


def describe_scope(record: RunRecord) -> str | None:
    """``whole process`` when the run's counts cover the whole process, else None."""
    detail = record.extra.get("measure") if record.status is RunStatus.OK else None
    if not isinstance(detail, dict):
        return None
    scopes = {v.get("scope") for v in detail.values() if isinstance(v, dict)}
    return "whole process" if "process" in scopes else None
