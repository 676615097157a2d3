"""A declared command's results read with an importer (``format = NAME`` in the config).

The runner asks :func:`prepare` for the argv to start (``{output}`` replaced by a fresh
temporary file) and, once the command has exited, :func:`read_output` turns what it
wrote into the same :class:`~benchgate.run.protocol.BenchOutput` a bench script gives.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchgate.errors import BenchgateError
from benchgate.importers import read
from benchgate.importers.base import merge_as
from benchgate.importers.convert import METRIC_STATUS, metric_status, outcome
from benchgate.model import RunStatus
from benchgate.run.discovery import OUTPUT_PLACEHOLDER, Bench
from benchgate.run.protocol import BenchOutput


def prepare(bench: Bench, root: Path) -> tuple[list[str], Path | None]:
    """(argv to run, file to read afterwards or None for stdout).

    A declared ``output`` file is removed first, so a stale file from an earlier run is
    never read as this run's results (and a tool that refuses to overwrite, such as
    pyperf's ``-o``, can write it).
    """
    argv = list(bench.argv)
    if any(OUTPUT_PLACEHOLDER in a for a in argv):
        fd, name = tempfile.mkstemp(prefix=f"benchgate-{bench.name}-", suffix=".out")
        os.close(fd)
        os.unlink(name)  # the command creates it; an empty leftover would read as truncated
        argv = [a.replace(OUTPUT_PLACEHOLDER, name) for a in argv]
        return argv, Path(name)
    if bench.output is not None:
        path = Path(bench.output)
        path = path if path.is_absolute() else root / path
        if not path.is_dir():
            # A folder (criterion's target/criterion) is left alone: it holds the tool's
            # own history, and the tool rewrites each benchmark's results in it.
            path.unlink(missing_ok=True)
        return argv, path
    return argv, None


def read_output(bench: Bench, stdout: str, output: Path | None) -> BenchOutput:
    """What the command reported, read with its format's importer."""
    assert bench.format is not None
    try:
        if output is not None:
            if not output.exists():
                return BenchOutput(error=f"wrote no results to {output}")
            benches = read(bench.format, output)
        else:
            benches = read(bench.format, stdout, origin=f"stdout of {bench.name}")
    except BenchgateError as exc:
        return BenchOutput(error=str(exc))
    merged = merge_as(benches, bench.name)
    status, reason = outcome(merged)
    if status is RunStatus.SKIPPED:
        return BenchOutput(skip=reason)
    if status is RunStatus.ERROR:
        return BenchOutput(error=reason)
    extra = dict(merged.extra)
    if merged.failed:
        extra[METRIC_STATUS] = metric_status(merged)
    return BenchOutput(metrics=merged.metrics, extra=extra)


def cleanup(bench: Bench, output: Path | None) -> None:
    """Remove the temporary results file (a declared ``output`` file is left for the user)."""
    if output is not None and bench.output is None:
        output.unlink(missing_ok=True)
