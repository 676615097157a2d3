"""The out-dir: one ``<bench>.json`` per benchmark holding every run, plus reduced.json.

Each write replaces one file atomically, so a run killed midway leaves every earlier
run on disk intact. Every read-modify-write of the out-dir holds its lock
(``fsutil.locked``) and merges with what is on disk, so concurrent ``benchgate run
--append`` calls (or a run beside a ``reduce``) never lose each other's runs.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from benchgate import fsutil
from benchgate.errors import BenchgateError
from benchgate.fsutil import atomic_write_bytes, atomic_write_json, locked
from benchgate.model import RESULTS_SCHEMA, RunRecord

REDUCED_FILE = "reduced.json"
REPORT_FILE = "report.md"


def bench_file(out_dir: Path, bench: str) -> Path:
    """The result file of ``bench`` in ``out_dir``."""
    return out_dir / f"{bench}.json"


def result_files(out_dir: Path) -> list[Path]:
    """Every per-bench result file in ``out_dir`` (not reduced.json, not temp files)."""
    if not out_dir.is_dir():
        return []
    return sorted(
        p for p in out_dir.glob("*.json") if p.name != REDUCED_FILE and not p.name.startswith(".")
    )


def read_result_file(path: Path) -> list[RunRecord]:
    """The runs stored in one result file (BenchgateError naming the file if corrupt).

    Read as strictly as the runner writes (model's ``from_dict``): a NaN, zero or negative
    value, an empty or control-character metric name, a wrong type is refused, naming the
    run and the field, never passed on to the gate.
    """
    try:
        data = json.loads(fsutil.read_text(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchgateError(f"cannot be read: {exc}", path) from None
    except json.JSONDecodeError as exc:
        raise BenchgateError(
            f"corrupt result file: not valid JSON (line {exc.lineno}, column {exc.colno}); "
            "delete it or re-run `benchgate run` without --append",
            path,
        ) from None
    except (ValueError, RecursionError) as exc:  # an int over 4300 digits; absurd nesting
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise BenchgateError(f"corrupt result file: {problem}", path) from None
    if not isinstance(data, dict) or data.get("schema") != RESULTS_SCHEMA:
        raise BenchgateError(
            f'not a benchgate result file (expected "schema": "{RESULTS_SCHEMA}")', path
        )
    runs = data.get("runs")
    if not isinstance(runs, list):
        raise BenchgateError("corrupt result file: 'runs' must be a list", path)
    out = []
    for i, raw in enumerate(runs):
        try:
            out.append(RunRecord.from_dict(raw))
        except (KeyError, TypeError, ValueError) as exc:
            raise BenchgateError(f"corrupt result file: {exc}", path, f"runs[{i}]") from None
    return out


def load_runs(out_dir: Path) -> dict[str, list[RunRecord]]:
    """All runs in ``out_dir``, by bench name, in the order they were made."""
    return {p.stem: read_result_file(p) for p in result_files(out_dir)}


@contextmanager
def out_dir_lock(out_dir: Path) -> Iterator[None]:
    """Hold the out-dir's lock (creating the folder): one writer at a time, others wait."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchgateError(f"cannot create the out-dir: {exc.strerror or exc}", out_dir) from None
    with locked(out_dir):
        yield


def merge_runs(
    on_disk: list[RunRecord], mine: list[RunRecord], drop: Collection[str] = ()
) -> list[RunRecord]:
    """``on_disk`` plus the runs of ``mine`` it lacks, minus ``drop`` (run ids), oldest first.

    Runs only another process wrote are kept: that is what makes concurrent writers safe.
    """
    by_id = {r.run_id: r for r in on_disk if r.run_id not in drop}
    for r in mine:
        if r.run_id not in drop:
            by_id[r.run_id] = r
    return sorted(by_id.values(), key=lambda r: r.started)


def write_bench_runs(
    out_dir: Path,
    bench: str,
    runs: list[RunRecord],
    drop: Collection[str] = (),
    ignore_disk: bool = False,
) -> Path:
    """Merge ``runs`` into the result file of ``bench`` (under the out-dir's lock).

    Runs already in the file that are not in ``runs`` stay (a concurrent writer's), except
    those whose id is in ``drop`` (the runs a call without --append replaces), or all of
    them with ``ignore_disk`` (a corrupt file being replaced).
    """
    path = bench_file(out_dir, bench)
    with out_dir_lock(out_dir):
        on_disk = read_result_file(path) if path.exists() and not ignore_disk else []
        merged = merge_runs(on_disk, runs, drop)
        atomic_write_json(
            path,
            {"schema": RESULTS_SCHEMA, "bench": bench, "runs": [r.to_dict() for r in merged]},
        )
    return path


# A write this big must fit before a bench is run, so a full disk stops the call before
# measuring instead of after (a run file of a few hundred runs is about this size).
PROBE_BYTES = 256 * 1024


class RunWriter:
    """Writes one call's runs into the out-dir as they come.

    Safe against concurrent writers (lock + merge) and against the out-dir or a result file
    vanishing mid-call (a bench that deletes it): every file this call wrote is checked
    before each write and re-written from the runs held in memory, with a warning.
    """

    def __init__(self, out_dir: Path, append: bool) -> None:
        self.out_dir = out_dir
        self.append = append
        self.held: dict[str, list[RunRecord]] = {}
        self.replaced: set[str] = set()
        self.written: set[Path] = set()
        self.corrupt: set[Path] = set()  # unreadable files a call without --append replaces
        self.warnings: list[str] = []

    def start(self) -> dict[str, list[RunRecord]]:
        """Check the out-dir can be written and load its runs (before anything is measured).

        With ``append`` the runs on disk are kept (and held, to restore them if the out-dir
        is deleted); without, their ids are remembered so this call's writes replace them.
        """
        with out_dir_lock(self.out_dir):
            existing: dict[str, list[RunRecord]] = {}
            for path in result_files(self.out_dir):
                try:
                    existing[path.stem] = read_result_file(path)
                except BenchgateError:
                    if self.append:
                        raise  # appending to a corrupt file would hide it
                    self.corrupt.add(path)
            probe = self.out_dir / ".benchgate-write-probe"
            atomic_write_bytes(probe, b"\0" * PROBE_BYTES)
            probe.unlink()
        if self.append:
            self.held = {b: list(rs) for b, rs in existing.items()}
        else:
            self.replaced = {r.run_id for rs in existing.values() for r in rs}
        return existing

    def add(self, record: RunRecord) -> Path:
        """Write ``record`` into its bench's file at once."""
        self.held.setdefault(record.bench, []).append(record)
        with out_dir_lock(self.out_dir):
            self._restore_missing()
            path = bench_file(self.out_dir, record.bench)
            write_bench_runs(
                self.out_dir,
                record.bench,
                self.held[record.bench],
                self.replaced,
                ignore_disk=path in self.corrupt and path not in self.written,
            )
        self.written.add(path)
        return path

    def _restore_missing(self) -> None:
        for bench, runs in self.held.items():
            path = bench_file(self.out_dir, bench)
            if runs and (path in self.written or self.append) and not path.exists():
                write_bench_runs(self.out_dir, bench, runs, self.replaced)
                self.warnings.append(
                    f"{path.name} vanished during the call (did a bench delete the out-dir?): "
                    f"re-wrote its {len(runs)} runs from memory"
                )

    def finish(self) -> list[Path]:
        """Restore anything lost, drop reduced.json (stale now) and, without --append, the
        replaced runs of benches not run this time. Returns the files removed."""
        removed: list[Path] = []
        with out_dir_lock(self.out_dir):
            self._restore_missing()
            stale_reduced = self.out_dir / REDUCED_FILE
            if stale_reduced.exists():
                # reduced.json no longer covers the runs on disk; compare would ignore it anyway.
                stale_reduced.unlink()
                removed.append(stale_reduced)
            if not self.append:
                for path in result_files(self.out_dir):
                    if path in self.written:
                        continue
                    if path in self.corrupt:
                        path.unlink()
                        removed.append(path)
                        continue
                    kept = [r for r in read_result_file(path) if r.run_id not in self.replaced]
                    if kept:  # a concurrent call's runs: keep them
                        write_bench_runs(self.out_dir, path.stem, kept, self.replaced)
                    else:
                        path.unlink()
                        removed.append(path)
        return removed
