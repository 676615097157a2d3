"""The out-dir: one ``<bench>.json`` per benchmark holding every run, plus reduced.json.

Each write replaces one file atomically, so a run killed midway leaves every earlier
run on disk intact.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchgate.errors import BenchgateError
from benchgate.fsutil import atomic_write_json
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
    """The runs stored in one result file (BenchgateError naming the file if corrupt)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchgateError(f"cannot be read: {exc}", path) from None
    except json.JSONDecodeError as exc:
        raise BenchgateError(
            f"corrupt result file: not valid JSON (line {exc.lineno}, column {exc.colno}); "
            "delete it or re-run `benchgate run` without --append",
            path,
        ) from None
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
            raise BenchgateError(f"corrupt result file: {exc!r}", path, f"runs[{i}]") from None
    return out


def load_runs(out_dir: Path) -> dict[str, list[RunRecord]]:
    """All runs in ``out_dir``, by bench name, in the order they were made."""
    return {p.stem: read_result_file(p) for p in result_files(out_dir)}


def write_bench_runs(out_dir: Path, bench: str, runs: list[RunRecord]) -> Path:
    """Atomically (re)write the result file of ``bench`` with ``runs``."""
    path = bench_file(out_dir, bench)
    atomic_write_json(
        path,
        {"schema": RESULTS_SCHEMA, "bench": bench, "runs": [r.to_dict() for r in runs]},
    )
    return path
