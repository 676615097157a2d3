"""What every reader shares: the imported bench, source loading, checks, name cleaning.

A reader turns one result file of another tool into :class:`ImportedBench` values: one per
benchgate bench, each holding its metrics as :class:`~benchgate.model.Measurement` (value,
unit, direction and samples taken from the format's own fields) and the metrics the tool
reported as failed or skipped. :mod:`benchgate.importers.convert` turns them into run
records for the out-dir.

Readers receive untrusted input: anything malformed raises :class:`BenchgateError` naming
the file and the problem (one line), never another exception.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from benchgate.errors import BenchgateError
from benchgate.model import Measurement, RunStatus

# A bench name becomes the <bench> part of <bench>.<metric>: letters, digits, '_' and '-'.
_BENCH_BAD = re.compile(r"[^A-Za-z0-9_\-]+")


@dataclass
class ImportedBench:
    """The metrics one tool reported for one bench, ready to become a benchgate run."""

    bench: str
    metrics: dict[str, Measurement] = field(default_factory=dict)
    # Metrics the tool reported but could not measure: name -> (ERROR or SKIPPED, reason).
    failed: dict[str, tuple[RunStatus, str]] = field(default_factory=dict)
    # What the tool said about the run (its version, machine, commit): kept with the run.
    extra: dict[str, Any] = field(default_factory=dict)


Source = str | Path


def origin_of(source: Source, origin: str | None) -> str:
    """The name used in error messages: the file's path, or ``origin`` for text."""
    if origin:
        return origin
    return str(source) if isinstance(source, Path) else "<text>"


def read_text(source: Source, origin: str | None = None) -> str:
    """The text of ``source`` (a Path is read; a str is the text itself)."""
    if not isinstance(source, Path):
        return source
    try:
        return source.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise BenchgateError("is a folder, not a result file", origin or source) from None
    except FileNotFoundError:
        raise BenchgateError("no such file", origin or source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchgateError(f"cannot be read: {exc}", origin or source) from None


def load_json(source: Source, origin: str | None, what: str) -> Any:
    """Parse ``source`` as JSON; a truncated or non-JSON file is one clear error."""
    text = read_text(source, origin)
    where = origin_of(source, origin)
    if not text.strip():
        raise BenchgateError(f"is empty, not {what}", where)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) - 1
        problem = "truncated" if truncated else "not valid JSON"
        raise BenchgateError(
            f"{problem} (line {exc.lineno}, column {exc.colno}): not {what}", where
        ) from None
    except RecursionError:
        raise BenchgateError(f"nested too deeply to be {what}", where) from None


def is_number(v: Any) -> TypeGuard[int | float]:
    """A JSON number (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def positive(v: Any) -> TypeGuard[int | float]:
    """A positive finite JSON number: what a metric value must be."""
    return is_number(v) and math.isfinite(v) and v > 0


def finite_list(v: Any) -> list[float] | None:
    """``v`` as a list of finite floats, or None if it is not one."""
    if not isinstance(v, list) or not all(is_number(x) and math.isfinite(x) for x in v):
        return None
    return [float(x) for x in v]


def need(cond: bool, where: str, key: str, problem: str) -> None:
    """Raise the reader's one-line error unless ``cond``."""
    if not cond:
        raise BenchgateError(problem, where, key)


def obj(v: Any, where: str, key: str) -> dict[str, Any]:
    """``v`` when it is a JSON object, else the error naming ``key``."""
    need(isinstance(v, dict), where, key, "must be an object")
    return v


def arr(v: Any, where: str, key: str) -> list[Any]:
    """``v`` when it is a JSON array, else the error naming ``key``."""
    need(isinstance(v, list), where, key, "must be a list")
    return v


def bench_name(text: str, default: str = "imported") -> str:
    """``text`` made a valid bench name (other characters become '_')."""
    name = _BENCH_BAD.sub("_", text).strip("_")
    return name or default


def add_metric(
    bench: ImportedBench,
    name: str,
    value: Any,
    unit: str,
    higher_is_better: bool,
    samples: list[float] | None = None,
    inferred: bool = False,
) -> None:
    """Add a metric, or record it as an ERROR when its value cannot be a metric value.

    A value of 0, a negative or a non-finite number (a tool's placeholder for "did not
    run") fails that one metric with its reason; the bench's other metrics are kept.
    """
    if not positive(value):
        bench.failed[name] = (RunStatus.ERROR, f"value {value!r} is not a positive number")
        return
    if samples is not None:
        samples = [s for s in samples if math.isfinite(s)] or None
    bench.metrics[name] = Measurement(
        value=float(value),
        unit=unit,
        higher_is_better=higher_is_better,
        samples=samples,
        inferred=inferred,
    )


def group(benches: list[ImportedBench]) -> list[ImportedBench]:
    """Merge entries of the same bench name (in first-seen order)."""
    out: dict[str, ImportedBench] = {}
    for b in benches:
        into = out.setdefault(b.bench, ImportedBench(b.bench, extra=dict(b.extra)))
        into.metrics.update(b.metrics)
        for k, v in b.failed.items():
            if k not in into.metrics:
                into.failed[k] = v
    return list(out.values())


def merge_as(benches: list[ImportedBench], name: str) -> ImportedBench:
    """Every imported bench as one bench called ``name`` (a declared command, ``--bench``).

    Metric names stay as the tool gave them; a name two source benches share is prefixed
    with its source bench (``<source>/<metric>``) so neither is lost.
    """
    counts: dict[str, int] = {}
    for b in benches:
        for m in [*b.metrics, *b.failed]:
            counts[m] = counts.get(m, 0) + 1
    merged = ImportedBench(name)
    for b in benches:

        def key(m: str, b: ImportedBench = b) -> str:
            return f"{b.bench}/{m}" if counts[m] > 1 and len(benches) > 1 else m

        merged.metrics.update({key(m): v for m, v in b.metrics.items()})
        merged.failed.update({key(m): v for m, v in b.failed.items()})
        if b.extra:
            merged.extra.setdefault("sources", {})[b.bench] = b.extra
    return merged


def stem_name(source: Source, origin: str | None, fallback: str) -> str:
    """A bench name from the file's stem (``results/hf.json`` -> ``hf``), else ``fallback``."""
    if isinstance(source, Path):
        path = source.name
    elif origin:
        path = origin.replace("\\", "/").rsplit("/", 1)[-1]
    else:
        return fallback
    return bench_name(path.split(".", 1)[0], fallback)


def looks_like(data: Any) -> str | None:
    """The format whose signature ``data`` (parsed JSON) has, to name it in an error."""
    if not isinstance(data, dict):
        return None
    first: Any = None
    for key in ("benchmarks", "results"):
        seq = data.get(key)
        if isinstance(seq, list) and seq:
            first = seq[0]
    if data.get("schema") == "benchgate.pytest/1":
        return "pytest"
    if "machine_info" in data and "benchmarks" in data:
        return "pytest-benchmark"
    if "context" in data and "benchmarks" in data:
        return "google-benchmark"
    if "result_columns" in data or ("results" in data and "commit_hash" in data):
        return "asv"
    if isinstance(first, dict) and "runs" in first:
        return "pyperf"
    if isinstance(first, dict) and "command" in first and "times" in first:
        return "hyperfine"
    if ("iters" in data and "times" in data) or ("mean" in data and "median_abs_dev" in data):
        return "criterion"
    return None


def wrong_format(data: Any, expected: str, where: str, key: str, problem: str) -> None:
    """Raise ``problem``, naming the right ``--format`` when ``data`` is another format's."""
    other = looks_like(data)
    if other is not None and other != expected:
        raise BenchgateError(f"this is {other} output, not {expected}: use --format {other}", where)
    raise BenchgateError(problem, where, key)
