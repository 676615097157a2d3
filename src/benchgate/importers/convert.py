"""Imported benches -> benchgate run records, and ``benchgate import`` into an out-dir.

An imported bench becomes one run (:class:`~benchgate.model.RunRecord`) like the ones
``benchgate run`` writes, so reduce, compare, refresh and the CI outputs work unchanged.
Metrics the tool reported as failed or skipped are kept with their reason in
``extra["metric_status"]``; a bench with no measured metric is itself ERROR (or SKIPPED
when every one was skipped).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchgate.importers import read
from benchgate.importers.base import ImportedBench, merge_as
from benchgate.model import RunRecord, RunStatus
from benchgate.run.discovery import _check_name
from benchgate.run.results import (
    REDUCED_FILE,
    load_runs,
    result_files,
    write_bench_runs,
)

METRIC_STATUS = "metric_status"


def metric_status(imported: ImportedBench) -> dict[str, dict[str, str]]:
    """The failed metrics as stored in a run's ``extra``: name -> {status, reason}."""
    return {
        name: {"status": status.value, "reason": reason}
        for name, (status, reason) in imported.failed.items()
    }


def outcome(imported: ImportedBench) -> tuple[RunStatus, str | None]:
    """The run status of an imported bench and, when not OK, why."""
    if imported.metrics:
        return RunStatus.OK, None
    if not imported.failed:
        return RunStatus.ERROR, "the file reports no metric for it"
    reasons = [f"{name}: {reason}" for name, (_s, reason) in imported.failed.items()]
    statuses = {s for s, _r in imported.failed.values()}
    status = RunStatus.SKIPPED if statuses == {RunStatus.SKIPPED} else RunStatus.ERROR
    return status, "; ".join(reasons)[:500]


def to_record(
    imported: ImportedBench,
    invocation: str,
    started: str,
    env: dict[str, Any],
    command: dict[str, Any],
) -> RunRecord:
    """One run record of ``imported``."""
    status, reason = outcome(imported)
    extra: dict[str, Any] = dict(imported.extra)
    if imported.failed:
        extra[METRIC_STATUS] = metric_status(imported)
    return RunRecord(
        run_id=uuid.uuid4().hex[:12],
        bench=imported.bench,
        invocation=invocation,
        started=started,
        duration_s=0.0,
        status=status,
        reason=reason,
        metrics=dict(imported.metrics),
        env=env,
        command=command,
        extra=extra,
    )


@dataclass
class ImportSummary:
    """What one ``benchgate import`` did."""

    records: list[RunRecord]
    files: list[Path]
    removed: list[Path]


def import_files(
    fmt: str,
    paths: list[Path],
    out_dir: Path,
    env: dict[str, Any],
    argv: list[str],
    append: bool = False,
    bench: str | None = None,
) -> ImportSummary:
    """Read every file as ``fmt`` and write one run per bench per file into ``out_dir``.

    Every file is read before anything is written, so a bad file leaves the out-dir as it
    was. Without ``append`` the out-dir's earlier runs are replaced, as ``benchgate run``
    does: the imported benches' files are rewritten and other result files removed.
    """
    if bench is not None:
        _check_name(bench, "--bench")
    per_file: list[tuple[str, list[ImportedBench]]] = []
    for path in paths:
        benches = read(fmt, path)
        if bench is not None:
            benches = [merge_as(benches, bench)]
        per_file.append((str(path), benches))
    return import_benches(per_file, out_dir, env, argv, fmt, append)


def import_benches(
    per_file: list[tuple[str, list[ImportedBench]]],
    out_dir: Path,
    env: dict[str, Any],
    argv: list[str],
    fmt: str,
    append: bool = False,
) -> ImportSummary:
    """Write already-read benches into ``out_dir``: one run per bench per source."""
    invocation = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    t0 = datetime.now(timezone.utc)
    stored: dict[str, list[RunRecord]] = load_runs(out_dir) if append else {}
    records: list[RunRecord] = []
    touched: list[str] = []
    for i, (path, benches) in enumerate(per_file):
        # Files are runs in the order given: later files are later runs.
        started = (t0 + timedelta(milliseconds=i)).isoformat(timespec="milliseconds")
        command = {"argv": argv, "imported": {"format": fmt, "file": path}}
        for b in benches:
            record = to_record(b, invocation, started, env, command)
            records.append(record)
            stored.setdefault(b.bench, []).append(record)
            if b.bench not in touched:
                touched.append(b.bench)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_bench_runs(out_dir, name, stored[name]) for name in touched]
    removed: list[Path] = []
    stale = out_dir / REDUCED_FILE
    if stale.exists():
        stale.unlink()
        removed.append(stale)
    if not append:
        for p in result_files(out_dir):
            if p not in written:
                p.unlink()
                removed.append(p)
    return ImportSummary(records, written, removed)
