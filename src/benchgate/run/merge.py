"""Merge the out-dirs of CI matrix jobs (shards) into one out-dir, keeping every run.

The merge is all or nothing: everything is checked first (each source is an out-dir with
result files, no run id twice, one environment or declared machine classes, one shard
plan), then the merged out-dir is written in a temporary folder beside the destination
and renamed into place. A refused or interrupted merge leaves the destination as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.fsutil import atomic_write_text
from benchgate.machine.classes import (
    class_of_run,
    describe_identity,
    identity_of,
    machine_classes,
    recorded_by_fingerprint,
)
from benchgate.machine.environment import diff_environments, fingerprint
from benchgate.model import RESULTS_SCHEMA, RunRecord
from benchgate.run.results import bench_file, load_runs, result_files


@dataclass
class MergeResult:
    """What a merge wrote."""

    out_dir: Path
    sources: list[Path]
    benches: int
    runs: int
    environments: int
    classes: list[str] = field(default_factory=list)
    shard_plans: list[str] = field(default_factory=list)  # "N=8 plan 1a2b3c4d5e6f"
    replaced: bool = False


def _fp(run: RunRecord) -> str:
    fp = run.env.get("fingerprint")
    return str(fp) if fp else fingerprint(run.env)


def _load_source(path: Path) -> dict[str, list[RunRecord]]:
    if not path.exists():
        raise BenchgateError("no such out-dir", path)
    if not path.is_dir():
        raise BenchgateError("not a folder (merge takes out-dirs)", path)
    if not result_files(path):
        raise BenchgateError("holds no result files (<bench>.json): not a benchgate out-dir", path)
    return load_runs(path)


def _check_environments(
    config: Config, located: list[tuple[Path, RunRecord]]
) -> tuple[int, list[str]]:
    """Refuse mixed environments unless every run is of a declared machine class."""
    classes = machine_classes(config)
    with_env = [(p, r) for p, r in located if r.env]
    groups: dict[str, tuple[Path, RunRecord]] = {}
    for p, r in with_env:
        groups.setdefault(_fp(r), (p, r))
    if classes:
        names: list[str] = []
        inherited = recorded_by_fingerprint([r for _, r in with_env], classes)
        for p, r in with_env:
            cls = class_of_run(r, classes, inherited)
            if cls is None:
                raise BenchgateError(
                    f"run {r.run_id} of {r.bench} was made on a machine that matches no "
                    "declared machine class "
                    f"({describe_identity(identity_of(r.env), _fp(r))}); add a class for it "
                    "to [tool.benchgate.machines]",
                    p,
                )
            if cls.name not in names:
                names.append(cls.name)
        return len(groups), names
    if len(groups) > 1:
        (pa, ra), (pb, rb) = list(groups.values())[:2]
        diffs = diff_environments(ra.env, rb.env, f"in {pa}", f"in {pb}")
        what = "; ".join(diffs[:3]) or "their fingerprints differ"
        raise BenchgateError(
            f"runs of {len(groups)} different environments ({_fp(ra)} in {pa}, {_fp(rb)} in "
            f"{pb}: {what}); numbers of different machines are not mixed unless they are "
            "declared machine classes ([tool.benchgate.machines])",
            pb,
        )
    return len(groups), []


def _check_shard_plans(located: list[tuple[Path, RunRecord]]) -> list[str]:
    """Refuse shards of one N computed from different splits (overlapping or missing benches)."""
    plans: dict[int, dict[str, Path]] = {}
    for p, r in located:
        shard = r.command.get("shard")
        if not isinstance(shard, dict) or "n" not in shard or "plan" not in shard:
            continue
        plans.setdefault(int(shard["n"]), {}).setdefault(str(shard["plan"]), p)
    out = []
    for n, digests in sorted(plans.items()):
        if len(digests) > 1:
            (da, pa), (db, pb) = list(digests.items())[:2]
            raise BenchgateError(
                f"the shard jobs split the suite differently (plan {da} in {pa}, {db} in {pb}): "
                "give every job the same --durations so that each bench runs in one shard",
                pb,
            )
        out.append(f"N={n} plan {next(iter(digests))}")
    return out


def _write_merged(out_dir: Path, bench: str, runs: list[RunRecord]) -> None:
    """The result file of ``bench``, as ``write_bench_runs`` writes it but one JSON line.

    Indented JSON goes through the json module's pure-Python encoder; the compact form
    uses its C encoder, five times faster on a large merge. Readers see the same data.
    """
    data = {"schema": RESULTS_SCHEMA, "bench": bench, "runs": [r.to_dict() for r in runs]}
    atomic_write_text(bench_file(out_dir, bench), json.dumps(data) + "\n")


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def merge_out_dirs(
    config: Config, sources: list[Path], out_dir: Path, force: bool = False
) -> MergeResult:
    """Merge the runs of ``sources`` into ``out_dir`` (atomically); BenchgateError if refused.

    Runs of one bench from several sources are kept together, oldest first. ``out_dir``
    must not exist, be empty, or (with ``force``) is replaced as a whole.
    """
    if not sources:
        raise BenchgateError("give at least one out-dir to merge", key="OUT_DIR")
    dest = out_dir.resolve()
    seen: dict[Path, Path] = {}
    for s in sources:
        resolved = s.resolve()
        if resolved in seen:
            raise BenchgateError("given twice", s)
        if resolved == dest or dest in resolved.parents or resolved in dest.parents:
            raise BenchgateError("is (or contains, or is inside) the destination --out-dir", s)
        seen[resolved] = s
    if dest.exists() and not dest.is_dir():
        raise BenchgateError("exists and is not a folder", dest)
    if dest.exists() and not _is_empty_dir(dest) and not force:
        raise BenchgateError(
            "exists and is not empty: merge into a new folder, or pass --force to replace it",
            dest,
        )
    located: list[tuple[Path, RunRecord]] = []
    for s in sources:
        for runs in _load_source(s).values():
            located.extend((s, r) for r in runs)
    # A run's identity is its run id (unique per run, recorded by every benchgate run).
    owner: dict[str, Path] = {}
    for src, r in located:
        if r.run_id in owner:
            where = "twice in" if owner[r.run_id] == src else f"in {owner[r.run_id]} and"
            raise BenchgateError(
                f"run id {r.run_id} ({r.bench}) is {where} {src}: the same job's out-dir "
                "given twice, or a copy of it",
                src,
            )
        owner[r.run_id] = src
    environments, classes = _check_environments(config, located)
    plans = _check_shard_plans(located)
    by_bench: dict[str, list[RunRecord]] = {}
    for _, r in located:
        by_bench.setdefault(r.bench, []).append(r)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.merge-", dir=dest.parent))
    try:
        for bench in sorted(by_bench):
            # Stable: runs started at the same instant keep the order of the sources given.
            _write_merged(tmp, bench, sorted(by_bench[bench], key=lambda r: r.started))
        replaced = dest.exists()
        if replaced:
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            os.replace(dest, old / "d")
            try:
                os.replace(tmp, dest)
            except BaseException:
                os.replace(old / "d", dest)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return MergeResult(
        out_dir=dest,
        sources=list(sources),
        benches=len(by_bench),
        runs=len(located),
        environments=environments,
        classes=classes,
        shard_plans=plans,
        replaced=replaced,
    )


def merge_summary(result: MergeResult) -> list[str]:
    """The lines ``benchgate merge`` prints."""
    lines = [
        f"merged {result.runs} runs of {result.benches} benches from "
        f"{len(result.sources)} out-dirs into {result.out_dir}"
        + (" (replaced)" if result.replaced else "")
    ]
    if result.classes:
        lines.append(f"machine classes: {', '.join(result.classes)}")
    if result.environments > 1:
        lines.append(f"{result.environments} environments (fingerprints) among the runs")
    lines.extend(f"shards: {p}" for p in result.shard_plans)
    return lines


def as_dict(result: MergeResult) -> dict[str, Any]:
    """The merge result as JSON-able data."""
    return {
        "out_dir": str(result.out_dir),
        "sources": [str(s) for s in result.sources],
        "benches": result.benches,
        "runs": result.runs,
        "environments": result.environments,
        "classes": result.classes,
        "shard_plans": result.shard_plans,
        "replaced": result.replaced,
    }
