"""Running benches: each in a fresh subprocess, round-robin over repeats, every run kept.

Each finished run is written to its bench's result file at once (atomically), so a
run killed midway loses nothing that was already measured. Ctrl-C or SIGTERM while a bench
runs kills the bench's whole process group before the interrupt propagates.
"""

from __future__ import annotations

import os
import re
import resource
import selectors
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

import psutil

from benchgate.config import Config
from benchgate.importers import command as formatted
from benchgate.machine.environment import capture_environment
from benchgate.model import RunRecord, RunStatus
from benchgate.run.discovery import Bench
from benchgate.run.disturbance import DisturbanceMonitor
from benchgate.run.measure import DEFAULT_CALLS, TIME_ONLY, execute_measures, measures_for
from benchgate.run.protocol import SKIP_EXIT_CODE, apply_rules, parse_output
from benchgate.run.results import RunWriter, bench_file
from benchgate.selection import MetricRules, rules_for

STDERR_TAIL_CHARS = 4000
# Only the end of a bench's output matters (the last JSON object, the last stderr lines):
# keep that much of each, so a bench printing gigabytes cannot exhaust memory.
STDOUT_CAP = 16 * 2**20
STDERR_CAP = 256 * 1024
# After a bench exits, how long its pipes may stay open (a daemon it left behind) before
# reading stops and the bench is judged on its own exit.
EXIT_GRACE_S = 0.5
_POLL_EXIT_S = 0.05
_READ_CHUNK = 1 << 16


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
    # [tool.benchgate.metrics]: per bench, which metrics gate and under which name.
    metric_rules: dict[str, MetricRules] = field(default_factory=dict)
    # The declared machine class this machine is (recorded in each run's environment).
    machine_class: str | None = None
    # --shard K/N: {"k", "n", "plan"} (recorded in each run's command, checked by merge).
    shard: dict[str, Any] | None = None


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
    warnings: list[str] = field(default_factory=list)  # e.g. result files restored from memory


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


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the bench, its process group (its session) and every descendant still linked
    to it, so a child that started its own session (a daemon) dies too."""
    try:
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    for child in descendants:
        try:
            child.kill()
        except psutil.Error:
            pass


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


class Tail:
    """The last ``cap`` bytes of a stream (memory stays bounded whatever a bench prints)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.buf = bytearray()
        self.total = 0

    @property
    def dropped(self) -> int:
        """Bytes read but no longer kept."""
        return self.total - min(self.total, self.cap)

    def add(self, chunk: bytes) -> None:
        self.buf += chunk
        self.total += len(chunk)
        if len(self.buf) > 2 * self.cap:  # trim in batches: amortised linear
            del self.buf[: len(self.buf) - self.cap]

    def text(self) -> str:
        return bytes(self.buf[-self.cap :] if self.cap else b"").decode("utf-8", "replace")


@dataclass
class Captured:
    """What a bench printed, and whether it outlived its timeout."""

    stdout: Tail
    stderr: Tail
    timed_out: bool


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)  # readable when the process exits (Linux 5.3+)
    except (AttributeError, OSError):
        return None


def capture_output(proc: subprocess.Popen[bytes], timeout: float) -> Captured:
    """Read the bench's stdout and stderr until it exits, never past ``timeout`` seconds.

    Pipes are read without blocking, so whatever holds them (a daemon the bench started
    in its own session keeps them open forever) the deadline is kept: at the deadline the
    bench's tree is killed and reading stops. Once the bench itself has exited, its pipes
    get EXIT_GRACE_S to reach end of file; then reading stops and the bench is judged by
    its own exit code and what it printed.
    """
    out, err = Tail(STDOUT_CAP), Tail(STDERR_CAP)
    deadline = time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    pidfd = _pidfd(proc.pid)
    exit_by: float | None = None
    timed_out = False
    try:
        for pipe, tail in ((proc.stdout, out), (proc.stderr, err)):
            assert pipe is not None
            os.set_blocking(pipe.fileno(), False)
            sel.register(pipe.fileno(), selectors.EVENT_READ, tail)
        if pidfd is not None:
            sel.register(pidfd, selectors.EVENT_READ, None)
        while any(key.data is not None for key in sel.get_map().values()):
            now = time.monotonic()
            if exit_by is None and pidfd is None and proc.poll() is not None:
                exit_by = now + EXIT_GRACE_S
            if exit_by is not None:
                if now >= exit_by:
                    break
                wait = exit_by - now
            elif now >= deadline:
                timed_out = proc.poll() is None
                break
            else:
                wait = deadline - now
                if pidfd is None:
                    wait = min(wait, _POLL_EXIT_S)  # no pidfd: poll for the exit
            for key, _ in sel.select(wait):
                if key.data is None:  # the pidfd: the bench exited
                    sel.unregister(key.fd)
                    proc.poll()
                    exit_by = time.monotonic() + EXIT_GRACE_S
                    continue
                try:
                    chunk = os.read(key.fd, _READ_CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    key.data.add(chunk)
                else:
                    sel.unregister(key.fd)
        if not timed_out:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True  # closed its output but kept running
        if timed_out:
            _kill_tree(proc)
            proc.wait()
    finally:
        sel.close()
        if pidfd is not None:
            os.close(pidfd)
        _close_pipes(proc)
    return Captured(out, err, timed_out)


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
    argv, output = formatted.prepare(bench, root) if bench.format else (list(bench.argv), None)
    try:
        return _execute(bench, root, options, invocation, env_record, argv, output)
    finally:
        if bench.format:
            formatted.cleanup(bench, output)


def _execute(
    bench: Bench,
    root: Path,
    options: RunOptions,
    invocation: str,
    env_record: dict[str, Any],
    argv: list[str],
    output: Path | None,
) -> RunRecord:
    started = _now()
    t0 = time.perf_counter()
    monitor = DisturbanceMonitor(options.cpus, options.disturbed_share)
    cpu0 = _children_cpu_seconds()
    monitor.start()
    with sigterm_as_interrupt():
        try:
            with _pinned(options.cpus):
                proc = subprocess.Popen(
                    argv,
                    cwd=root,
                    env=child_env(options.env),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
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
            captured = capture_output(proc, options.timeout)
        except BaseException:
            # Ctrl-C, SIGTERM (see sigterm_as_interrupt) or any error while waiting: the bench
            # is in its own session, so no terminal signal reaches it; kill its group and reap.
            _kill_tree(proc)
            proc.wait()
            _close_pipes(proc)
            raise
        timed_out = captured.timed_out
        stdout = captured.stdout.text()
        stderr = captured.stderr.text()
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
    rules = rules_for(options.metric_rules, bench.name)
    if bench.format and proc.returncode in bench.ok_exit_codes:
        out = apply_rules(formatted.read_output(bench, stdout, output), rules)
    else:
        out = parse_output(stdout, rules)
    if out.error and captured.stdout.dropped:
        out.error += (
            f" (it printed {captured.stdout.total:,} bytes on stdout; "
            f"only the last {STDOUT_CAP // 2**20} MiB are read)"
        )
    if proc.returncode == SKIP_EXIT_CODE or (out.skip is not None and proc.returncode == 0):
        record.status = RunStatus.SKIPPED
        record.reason = out.skip or _last_line(stderr) or f"exit code {SKIP_EXIT_CODE}"
        return record
    if proc.returncode not in bench.ok_exit_codes:
        record.reason = f"exited with code {proc.returncode}"
        last = _last_line(stderr)
        if last:
            record.reason += f": {last}"
            hint = import_hint(last, root)
            if hint:
                record.reason += f" ({hint})"
        return record
    record.metric_errors = out.metric_errors
    if out.error:
        record.reason = out.error
        if proc.returncode != 0:  # a format command that may exit non-zero (pytest: 1)
            record.reason += f" (exit code {proc.returncode}: {_last_line(stderr) or ''})"
        return record
    record.status = RunStatus.OK
    record.metrics = out.metrics
    record.info = out.info
    record.extra = out.extra
    return record


def _last_line(text: str) -> str | None:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else None


def _command(bench: Bench, options: RunOptions) -> dict[str, Any]:
    command: dict[str, Any] = {
        "argv": options.argv,
        "bench_argv": list(bench.argv),
        "cpus": options.cpus,
        "env": options.env,
        "timeout": options.timeout,
    }
    if options.shard is not None:
        command["shard"] = options.shard
    return command


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
    Writes go through RunWriter: concurrent calls on one out-dir lose nothing, and a
    result file deleted mid-call (by a bench) is re-written from memory, with a warning.
    """
    out_dir = options.out_dir
    writer = RunWriter(out_dir, options.append)
    writer.start()  # a corrupt, unwritable or full out-dir stops us before measuring
    invocation = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    # Without --cpus, record the CPUs we may use (e.g. under `taskset`): the bench inherits them.
    used = options.cpus
    if used is None and hasattr(os, "sched_getaffinity"):
        used = sorted(os.sched_getaffinity(0))
    env_record = capture_environment(config.root, used, options.env)
    if options.machine_class:
        env_record["machine_class"] = options.machine_class
    records: list[RunRecord] = []
    t0 = time.perf_counter()
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
                writer.add(record)
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
    removed = writer.finish()
    return RunSummary(
        invocation=invocation,
        records=records,
        files=sorted(writer.written) or [bench_file(out_dir, b.name) for b in benches],
        removed=removed,
        env=env_record,
        warnings=writer.warnings,
    )
