"""``go test -bench`` text output (with ``-count N``, ``-benchmem``, custom metrics).

Each result line ``BenchmarkEncode/size=64-8  1000000  1025 ns/op  128 B/op  2 allocs/op``
(the Go benchmark format) gives, per benchmark: ``BenchmarkEncode/size=64`` in ns/op,
and ``...:B/op``, ``...:allocs/op``, ``...:MB/s`` and any ``b.ReportMetric`` unit as
``<name>:<unit>``. With ``-count N`` each of the N lines is a sample and the value is
their median (as ``benchstat`` reports). Direction follows Go's convention: a unit ending
in ``/s`` (MB/s, a rate) is higher-is-better, every other (per-op costs) lower. The
``-GOMAXPROCS`` suffix is dropped when every result line of a package carries the same
one, so baselines do not depend on the runner's core count. The bench is the package's
last path element (from the ``pkg:`` line), else ``go``. ``--- FAIL: BenchmarkX`` is an
ERROR and ``--- SKIP: BenchmarkX`` SKIPPED, each with the message Go printed under it.
"""

from __future__ import annotations

import re
import statistics

from benchgate.errors import BenchgateError
from benchgate.importers.base import (
    ImportedBench,
    Source,
    add_metric,
    bench_name,
    group,
    origin_of,
    read_text,
)
from benchgate.model import RunStatus

NAME = "go"
_LINE = re.compile(r"^(Benchmark\S*)\s+(\d+)((?:\s+\S+\s+\S+)+)\s*$")
_STATUS = re.compile(r"^\s*--- (FAIL|SKIP): (Benchmark\S*)")
_PARTIAL = re.compile(r"^Benchmark\S*\s+\d+(\s|$)")
_PROCS = re.compile(r"-(\d+)$")
_CONFIG = re.compile(r"^([a-z][^\s:A-Z]*):\s*(.*)$")


def _higher(unit: str) -> bool:
    return unit.endswith("/s")


def read(source: Source, *, origin: str | None = None) -> list[ImportedBench]:
    """The benchmarks of ``go test -bench`` output, one bench per package."""
    where = origin_of(source, origin)
    text = read_text(source, origin)
    pkg = NAME
    # per package: metric -> unit -> samples; failures; procs suffixes seen
    values: dict[str, dict[tuple[str, str], list[float]]] = {}
    failed: dict[str, dict[str, tuple[RunStatus, str]]] = {}
    pending: tuple[str, str, RunStatus] | None = None
    lines = text.splitlines()
    found = False
    for n, line in enumerate(lines, 1):
        if pending is not None:
            p_pkg, p_name, p_status = pending
            msg = line.strip()
            if line[:1] in (" ", "\t") and msg and not msg.startswith("---"):
                reason = failed[p_pkg][p_name][1]
                joined = msg if reason in ("failed", "skipped") else f"{reason}; {msg}"
                failed[p_pkg][p_name] = (p_status, joined[:300])
                continue
            pending = None
        m = _STATUS.match(line)
        if m:
            status = RunStatus.ERROR if m.group(1) == "FAIL" else RunStatus.SKIPPED
            name = m.group(2)
            failed.setdefault(pkg, {})[name] = (
                status,
                "failed" if status is RunStatus.ERROR else "skipped",
            )
            pending = (pkg, name, status)
            found = True
            continue
        c = _CONFIG.match(line)
        if c and not line.startswith("Benchmark"):
            if c.group(1) == "pkg":
                pkg = bench_name(c.group(2).strip().rsplit("/", 1)[-1], NAME)
            continue
        m = _LINE.match(line)
        if not m:
            if _PARTIAL.match(line):
                # A name and an iteration count but no complete "value unit" pair: cut off.
                raise BenchgateError(
                    f"line {n}: incomplete result line {line.strip()[:80]!r} (truncated?)", where
                )
            continue
        name, rest = m.group(1), m.group(3).split()
        pairs = list(zip(rest[0::2], rest[1::2], strict=False))
        parsed: list[tuple[float, str]] = []
        for val, unit in pairs:
            try:
                parsed.append((float(val), unit))
            except ValueError:
                raise BenchgateError(
                    f"line {n}: {val!r} is not a number (a Go benchmark line is "
                    "'BenchmarkName N value unit ...')",
                    where,
                ) from None
        found = True
        per = values.setdefault(pkg, {})
        for val, unit in parsed:
            per.setdefault((name, unit), []).append(val)
    if not found:
        raise BenchgateError("has no Benchmark result lines: not `go test -bench` output", where)
    out: list[ImportedBench] = []
    for p in {**values, **failed}:
        imported = ImportedBench(p, extra={"tool": NAME})
        per = values.get(p, {})
        names = {name for name, _ in per} | set(failed.get(p, {}))
        suffixes = {s.group(1) if (s := _PROCS.search(nm)) else None for nm in names}
        strip = len(suffixes) == 1 and None not in suffixes
        if strip:
            imported.extra["gomaxprocs"] = int(next(iter(suffixes)) or 0)

        def clean(nm: str, strip: bool = strip) -> str:
            return _PROCS.sub("", nm) if strip else nm

        for (name, unit), samples in per.items():
            metric = clean(name) if unit == "ns/op" else f"{clean(name)}:{unit}"
            add_metric(
                imported,
                metric,
                statistics.median(samples),
                unit,
                _higher(unit),
                samples if len(samples) > 1 else None,
            )
        for name, (status, reason) in failed.get(p, {}).items():
            if clean(name) not in imported.metrics:
                imported.failed[clean(name)] = (status, reason)
        out.append(imported)
    return group(out)
