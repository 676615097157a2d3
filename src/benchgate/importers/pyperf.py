"""pyperf JSON: ``python bench.py -o FILE`` (one benchmark or a suite), ``pyperf`` tools.

One metric per benchmark of the file. The samples are the values of every worker process
(``runs[].values``); warm-ups and calibration runs are left out, as pyperf does. The
value is pyperf's own headline, the mean of those values (``Mean +- std dev``). The unit
comes from the benchmark's metadata (``second`` -> ``s``, ``byte`` -> ``B``, ``integer``
-> ``count``); pyperf treats a larger value as worse for every unit, so lower is better.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchgate.errors import BenchgateError
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

NAME = "pyperf"
# pyperf's JSON format versions (the top-level "version" field) this reader knows.
KNOWN_VERSIONS = ("1.0",)
UNITS = {"second": "s", "byte": "B", "integer": "count"}


def read(source: Source, *, origin: str | None = None) -> list[ImportedBench]:
    """The benchmarks of one pyperf JSON file as one bench."""
    where = origin_of(source, origin)
    data = load_json(source, origin, "a pyperf JSON file")
    if looks_like(data) not in (None, "pyperf"):
        wrong_format(data, "pyperf", where, "", "not pyperf output")
    need(
        isinstance(data, dict) and "benchmarks" in data,
        where,
        "benchmarks",
        "missing: not a pyperf JSON file (made by -o/--output or --append)",
    )
    version = data.get("version")
    if version not in KNOWN_VERSIONS:
        raise BenchgateError(
            f"unknown pyperf format version {version!r} (known: {', '.join(KNOWN_VERSIONS)})",
            where,
            "version",
        )
    common = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = stem_name(source, origin, NAME)
    out = ImportedBench(name, extra={"tool": NAME, "tool_version": common.get("perf_version")})
    for i, raw in enumerate(arr(data["benchmarks"], where, "benchmarks")):
        key = f"benchmarks[{i}]"
        b = obj(raw, where, key)
        own = b.get("metadata") or {}
        meta: dict[str, Any] = {**common, **obj(own, where, f"{key}.metadata")}
        metric = meta.get("name")
        need(isinstance(metric, str) and bool(metric), where, key, "has no metadata.name")
        unit_name = meta.get("unit", "second")
        need(
            isinstance(unit_name, str) and unit_name in UNITS,
            where,
            f"{key}.metadata.unit",
            f"unknown pyperf unit {unit_name!r} (known: {', '.join(UNITS)})",
        )
        values: list[float] = []
        for j, run in enumerate(arr(b.get("runs"), where, f"{key}.runs")):
            run = obj(run, where, f"{key}.runs[{j}]")
            vals = run.get("values", [])
            need(
                isinstance(vals, list) and all(is_number(v) for v in vals),
                where,
                f"{key}.runs[{j}].values",
                "must be a list of numbers",
            )
            values.extend(float(v) for v in vals)
        if not values:
            # Only calibration or warm-up runs: pyperf itself reports no value here.
            out.failed[str(metric)] = (RunStatus.ERROR, "pyperf recorded no values (only warm-ups)")
            continue
        add_metric(out, str(metric), statistics.mean(values), UNITS[unit_name], False, values)
    return [out]
