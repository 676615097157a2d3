"""Readers for the result formats teams already have, and their conversion to runs.

``benchgate import --format NAME FILE...`` and a declared command's ``format`` both go
through :data:`READERS`: a format name -> a function reading one file (a Path) or a
command's output (a str) into :class:`~benchgate.importers.base.ImportedBench` values.
Each reader lives in its own module; docs/importers.md says what maps to what.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from benchgate.errors import BenchgateError
from benchgate.importers import (
    asv,
    criterion,
    go_bench,
    google_benchmark,
    hyperfine,
    pyperf,
    pytest_benchmark,
    pytest_json,
)
from benchgate.importers.base import ImportedBench, Source, origin_of
from benchgate.validate import clean_text, name_problem

Reader = Callable[..., list[ImportedBench]]

READERS: dict[str, Reader] = {
    pytest_benchmark.NAME: pytest_benchmark.read,
    pytest_json.NAME: pytest_json.read,
    pyperf.NAME: pyperf.read,
    asv.NAME: asv.read,
    google_benchmark.NAME: google_benchmark.read,
    hyperfine.NAME: hyperfine.read,
    criterion.NAME: criterion.read,
    go_bench.NAME: go_bench.read,
}


def reader(name: str, where: str | Path | None = None) -> Reader:
    """The reader of format ``name``; BenchgateError listing the known formats otherwise."""
    try:
        return READERS[name]
    except KeyError:
        raise BenchgateError(
            f"unknown format {name!r} (known: {', '.join(sorted(READERS))})", where
        ) from None


def read(fmt: str, source: Source, origin: str | None = None) -> list[ImportedBench]:
    """Read ``source`` (a file or folder as a Path, a command's output as a str) as ``fmt``.

    Every name and unit is checked as a run file's are (no control characters, at most
    200 characters), so what is imported can always be written and read back.
    """
    benches = reader(fmt)(source, origin=origin)
    where = origin_of(source, origin)
    for b in benches:
        for name, m in b.metrics.items():
            problem = name_problem(name, "metric name") or name_problem(m.unit, "unit")
            if problem:
                raise BenchgateError(f"{b.bench}: {problem}", where)
        for name, (status, reason) in list(b.failed.items()):
            problem = name_problem(name, "metric name")
            if problem:
                raise BenchgateError(f"{b.bench}: {problem}", where)
            b.failed[name] = (status, clean_text(reason, 500))
    return benches


__all__ = ["READERS", "ImportedBench", "read", "reader"]
