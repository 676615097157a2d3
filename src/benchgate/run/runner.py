"""Running benches: each in a fresh subprocess, round-robin over repeats, every run kept.

Each finished run is written to its bench's result file at once (atomically), so a
run killed midway loses nothing that was already measured. Ctrl-C or SIGTERM while a bench
runs kills the bench's whole process group before the interrupt propagates.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Any

from benchgate.config import Config
from benchgate.model import RunRecord, RunStatus
from benchgate.run.discovery import Bench
from benchgate.run.measure import DEFAULT_CALLS, TIME_ONLY, execute_measures, measures_for
from benchgate.run.protocol import SKIP_EXIT_CODE, parse_output
from benchgate.run.results import (
    REDUCED_FILE,
    bench_file,
    load_runs,
    result_files,
    write_bench_runs,
)

STDERR_TAIL_CHARS = 4000


@dataclass
class RunOptions:
    """How one ``benchgate run`` call measures."""

    out_dir: Path
    append: bool = False
    repeat: int = 1
    cpus: list[int] | None = None
    timeout: float = 300.0
    env: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)  # the benchgate command line, for the record
    disturbed_share: float = 0.25
    # What to measure (benchgate.run.measure): time, instructions, cycles, memory.
    measure: tuple[str, ...] = TIME_ONLY
    measure_per_bench: dict[str, tuple[str, ...]] = field(default_factory=dict)
    calls: int = DEFAULT_CALLS  # calls of the smaller counting process


@dataclass
class Progress:
    """One progress event: a bench run is starting (``record`` None) or has finished."""

    bench: str
    bench_index: int
    bench_count: int
    round: int
    rounds: int
    elapsed_s: float
    record: RunRecord | None = None


@dataclass
class RunSummary:
    """What a ``benchgate run`` call did."""

    invocation: str
    records: list[RunRecord]
    files: list[Path]
    removed: list[Path]
    env: dict[str, Any]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _tail(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    return text[-STDERR_TAIL_CHARS:]


@contextmanager
def _pinned(cpus: list[int] | None) -> Iterator[None]:
    """Pin this process while a child is forked: the child inherits the affinity."""
    if not cpus or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM (a cancelled CI job) raises KeyboardInterrupt like Ctrl-C.

    Without it SIGTERM ends Python at once: no ``finally`` runs, so a bench in its own
    session outlives us and an atomic write leaves its temp file. Only installed in the main
    thread and where nobody installed a SIGTERM handler already (theirs is left to decide).
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


_NO_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")


def import_hint(last_line: str, root: Path) -> str | None:
    """What to do when a bench cannot import the project's own package.

    The runner runs benches with the interpreter's own import path, as the project's users
    would: a package that lives in the project (``src/<name>`` or ``<name>``) but is not
    installed is not importable. Say so, with the two fixes, instead of a bare traceback.
    """
    m = _NO_MODULE.search(last_line)
    if m is None:
        return None
    top = m.group(1).split(".", 1)[0]
    for where in (root / "src", root):
        if (where / top).is_dir() or (where / f"{top}.py").is_file():
            rel = "src" if where != root else "."
            return (
                f"{top!r} is in this project ({rel}/) but not installed: `pip install -e .`, "
                f'or env = {{PYTHONPATH = "{rel}"}} in [tool.benchgate]'
            )
    return None


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the bench's process group (its session), so its own children die too."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _children_cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def child_env(env: dict[str, str]) -> dict[str, str]:
    """The environment a bench sees: ours plus the configured benchmark variables."""
    merged = dict(os.environ)
    merged.update(env)
    return merged


def execute(
    bench: Bench,
    root: Path,
    options: RunOptions,
    invocation: str,
    env_record: dict[str, Any],
) -> RunRecord:
    """Run ``bench`` once in a fresh subprocess and return what it reported."""
    if measures_for(options, bench.name) != TIME_ONLY:  # counts, memory: run/measure.py
        return execute_measures(bench, root, options, invocation, env_record, execute)
    from benchgate.run.disturbance import DisturbanceMonitor

    started = _now()
    t0 = time.perf_counter()
    monitor = DisturbanceMonitor(options.cpus, options.disturbed_share)
    cpu0 = _children_cpu_seconds()
    monitor.start()
    timed_out = False
    with sigterm_as_interrupt():
        try:
            with _pinned(options.cpus):
                proc = subprocess.Popen(
                    list(bench.argv),
                    cwd=root,
                    env=child_env(options.env),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    errors="replace",
                    start_new_session=True,  # so a timeout kills the bench's own children too
                )
        except OSError as exc:
            return RunRecord(
                run_id=uuid.uuid4().hex[:12],
                bench=bench.name,
                invocation=invocation,
                started=started,
                duration_s=0.0,
                status=RunStatus.ERROR,
                reason=f"could not start {bench.argv[0]!r}: {exc.strerror or exc}",
                env=env_record,
                command=_command(bench, options),
            )
        try:
            stdout, stderr = proc.communicate(timeout=options.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            stdout, stderr = proc.communicate()
        except BaseException:
            # Ctrl-C, SIGTERM (see sigterm_as_interrupt) or any error while waiting: the bench
            # is in its own session, so no terminal signal reaches it; kill its group and reap.
            _kill_group(proc)
            proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
            raise
    duration = time.perf_counter() - t0
    disturbance = monitor.stop(_children_cpu_seconds() - cpu0)
    record = RunRecord(
        run_id=uuid.uuid4().hex[:12],
        bench=bench.name,
        invocation=invocation,
        started=started,
        duration_s=round(duration, 4),
        status=RunStatus.ERROR,
        exit_code=proc.returncode,
        stderr_tail=_tail(stderr),
        env=env_record,
        command=_command(bench, options),
        disturbance=disturbance,
    )
    if timed_out:
        record.reason = f"timed out after {options.timeout:g} s"
        return record
    out = parse_output(stdout)
    if proc.returncode == SKIP_EXIT_CODE or (out.skip is not None and proc.returncode == 0):
        record.status = RunStatus.SKIPPED
        record.reason = out.skip or _last_line(stderr) or f"exit code {SKIP_EXIT_CODE}"
        return record
    if proc.returncode != 0:
        record.reason = f"exited with code {proc.returncode}"
        last = _last_line(stderr)
        if last:
            record.reason += f": {last}"
            hint = import_hint(last, root)
            if hint:
                record.reason += f" ({hint})"
        return record
    if out.error:
        record.reason = out.error
        return record
    record.status = RunStatus.OK
    record.metrics = out.metrics
    record.extra = out.extra
    return record


def _last_line(text: str) -> str | None:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else None


def _command(bench: Bench, options: RunOptions) -> dict[str, Any]:
    return {
        "argv": options.argv,
        "bench_argv": list(bench.argv),
        "cpus": options.cpus,
        "env": options.env,
        "timeout": options.timeout,
    }


def run_benches(
    config: Config,
    benches: list[Bench],
    options: RunOptions,
    progress: Callable[[Progress], None] | None = None,
) -> RunSummary:
    """Run every bench ``options.repeat`` times, round-robin, writing each run at once.

    Without ``append`` the out-dir's earlier runs are replaced: each bench's file is
    rewritten by its first new run, and files of benches not run this time are removed
    at the end (only then, so an interrupted call still leaves complete files behind).
    """
    from benchgate.machine.environment import capture_environment

    out_dir = options.out_dir
    existing = load_runs(out_dir) if options.append else {}
    invocation = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    # Without --cpus, record the CPUs we may use (e.g. under `taskset`): the bench inherits them.
    used = options.cpus
    if used is None and hasattr(os, "sched_getaffinity"):
        used = sorted(os.sched_getaffinity(0))
    env_record = capture_environment(config.root, used, options.env)
    stored: dict[str, list[RunRecord]] = {b.name: list(existing.get(b.name, [])) for b in benches}
    records: list[RunRecord] = []
    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    written: set[Path] = set()
    # SIGTERM unwinds too, so a write it interrupts leaves no temp file behind.
    with sigterm_as_interrupt():
        for rnd in range(1, options.repeat + 1):
            for i, bench in enumerate(benches, 1):
                event = Progress(bench.name, i, len(benches), rnd, options.repeat, 0.0)
                if progress:
                    event.elapsed_s = time.perf_counter() - t0
                    progress(event)
                record = execute(bench, config.root, options, invocation, env_record)
                records.append(record)
                stored[bench.name].append(record)
                written.add(write_bench_runs(out_dir, bench.name, stored[bench.name]))
                if progress:
                    progress(
                        Progress(
                            bench.name,
                            i,
                            len(benches),
                            rnd,
                            options.repeat,
                            time.perf_counter() - t0,
                            record,
                        )
                    )
    removed: list[Path] = []
    stale_reduced = out_dir / REDUCED_FILE
    if stale_reduced.exists():
        # reduced.json no longer covers the runs on disk; compare would ignore it anyway.
        stale_reduced.unlink()
        removed.append(stale_reduced)
    if not options.append:
        for path in result_files(out_dir):
            if path not in written:
                path.unlink()
                removed.append(path)
    return RunSummary(
        invocation=invocation,
        records=records,
        files=sorted(written) or [bench_file(out_dir, b.name) for b in benches],
        removed=removed,
        env=env_record,
    )
