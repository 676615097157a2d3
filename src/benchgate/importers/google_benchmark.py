"""Google Benchmark JSON: ``./bench --benchmark_format=json`` or ``--benchmark_out=FILE``.

Per benchmark (its ``run_name``, e.g. ``BM_Sum/64``): the metric ``BM_Sum/64`` is the
real time per iteration and ``BM_Sum/64:cpu_time`` the CPU time, both in the row's
``time_unit`` (ns, us, ms, s), lower is better; ``bytes_per_second`` and
``items_per_second`` become ``BM_Sum/64:bytes_per_second`` (B/sec) and
``:items_per_second`` (items/sec), higher is better. User counters are kept too; the JSON
does not state their unit or direction, so those are inferred from the counter's name
(marked so; a baseline's own unit then wins).

With ``--benchmark_repetitions=N`` each repetition's row is a sample, and the value is
Google Benchmark's own ``median`` aggregate (else the ``mean`` aggregate, else the median
of the repetitions); other aggregate rows (stddev, cv, BigO, RMS) are not metrics. A row
with ``error_occurred`` (``SkipWithError``) is an ERROR with its message; a ``skipped``
row is SKIPPED.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from benchgate.importers.base import (
    ImportedBench,
    Source,
    add_metric,
    arr,
    is_number,
    load_json,
    looks_like,
    need,
    obj,
    origin_of,
    stem_name,
    wrong_format,
)
from benchgate.model import RunStatus
from benchgate.run.protocol import infer_from_name

NAME = "google-benchmark"
TIME_UNITS = ("ns", "us", "ms", "s")
_AGGREGATE_SUFFIXES = ("_mean", "_median", "_stddev", "_cv")
# Row fields that are not counters.
_FIELDS = {
    "name",
    "family_index",
    "per_family_instance_index",
    "run_name",
    "run_type",
    "repetitions",
    "repetition_index",
    "threads",
    "iterations",
    "real_time",
    "cpu_time",
    "time_unit",
    "aggregate_name",
    "aggregate_unit",
    "error_occurred",
    "error_message",
    "skipped",
    "skip_message",
    "label",
    "big_o",
    "rms",
    "complexity_n",
}
_RATES = {"bytes_per_second": "B/sec", "items_per_second": "items/sec"}


def _is_aggregate(row: dict[str, Any]) -> bool:
    if "run_type" in row:
        return row["run_type"] == "aggregate"
    # Versions before 1.5 had no run_type: aggregates are named <run>_mean etc.
    return str(row.get("name", "")).endswith(_AGGREGATE_SUFFIXES)


def _run_name(row: dict[str, Any]) -> str:
    if isinstance(row.get("run_name"), str):
        return str(row["run_name"])
    name = str(row["name"])
    for suffix in _AGGREGATE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _aggregate_name(row: dict[str, Any]) -> str:
    if isinstance(row.get("aggregate_name"), str):
        return str(row["aggregate_name"])
    return str(row["name"]).rsplit("_", 1)[-1]


def read(source: Source, *, origin: str | None = None) -> list[ImportedBench]:
    """The benchmarks of one Google Benchmark JSON output as one bench.

    The bench is named after the executable (``context.executable``).
    """
    where = origin_of(source, origin)
    data = load_json(source, origin, "Google Benchmark JSON output")
    if looks_like(data) not in (None, "google-benchmark"):
        wrong_format(data, "google-benchmark", where, "", "not google-benchmark output")
    need(
        isinstance(data, dict) and "benchmarks" in data and "context" in data,
        where,
        "benchmarks",
        "missing: not Google Benchmark JSON output (made by --benchmark_format=json "
        "or --benchmark_out)",
    )
    context = obj(data["context"], where, "context")
    exe = context.get("executable")
    name = stem_name(Path(exe), None, NAME) if isinstance(exe, str) and exe else NAME
    extra: dict[str, Any] = {
        k: context[k]
        for k in ("library_version", "library_build_type", "num_cpus", "mhz_per_cpu")
        if k in context
    }
    out = ImportedBench(name, extra={"tool": NAME, **extra})
    runs: dict[str, dict[str, Any]] = {}  # run name -> {"rows": [...], "aggs": {...}}
    for i, raw in enumerate(arr(data["benchmarks"], where, "benchmarks")):
        key = f"benchmarks[{i}]"
        row = obj(raw, where, key)
        need(isinstance(row.get("name"), str) and bool(row["name"]), where, key, "has no name")
        run = _run_name(row)
        entry = runs.setdefault(run, {"rows": [], "aggs": {}})
        if row.get("error_occurred"):
            out.failed[run] = (RunStatus.ERROR, str(row.get("error_message") or "error"))
            continue
        if row.get("skipped"):
            out.failed[run] = (RunStatus.SKIPPED, str(row.get("skip_message") or "skipped"))
            continue
        unit = row.get("time_unit", "ns")
        need(
            unit in TIME_UNITS,
            where,
            f"{key}.time_unit",
            f"unknown time unit {unit!r} (known: {', '.join(TIME_UNITS)})",
        )
        if _is_aggregate(row):
            entry["aggs"][_aggregate_name(row)] = row
        else:
            entry["rows"].append(row)
    for run, entry in runs.items():
        if run in out.failed:
            continue
        rows: list[dict[str, Any]] = entry["rows"]
        aggs: dict[str, dict[str, Any]] = entry["aggs"]
        headline = aggs.get("median") or aggs.get("mean")
        if not rows and headline is None:
            continue  # only stddev/cv/BigO rows: nothing to gate on
        first = rows[0] if rows else headline
        assert first is not None
        unit = str(first.get("time_unit", "ns"))
        fields = [("real_time", run, unit, False), ("cpu_time", f"{run}:cpu_time", unit, False)]
        for k in first:
            if k in _FIELDS or not is_number(first[k]):
                continue
            if k in _RATES:
                fields.append((k, f"{run}:{k}", _RATES[k], True))
            else:
                u, hib, _known = infer_from_name(k)
                fields.append((k, f"{run}:{k}", u, hib))
        for field_name, metric, u, hib in fields:
            samples = [float(r[field_name]) for r in rows if is_number(r.get(field_name))]
            if headline is not None and field_name in headline:
                value: Any = headline[field_name]
            elif samples:
                value = statistics.median(samples)
            else:
                continue
            inferred = field_name not in ("real_time", "cpu_time") and field_name not in _RATES
            add_metric(out, metric, value, u, hib, samples if len(samples) > 1 else None, inferred)
    return [out]
