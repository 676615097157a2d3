"""asv (airspeed velocity) results: ``results/<machine>/<commit>-<env>.json``.

One metric per benchmark and parameter combination: the bench is the benchmark's module
(``bench_sum.TimeSuite.time_sum`` -> bench ``bench_sum``) and the metric the rest, with
the parameters as asv prints them (``TimeSuite.time_sum(10)``). The value is asv's own
result (the median of its samples); the samples are kept when asv recorded them
(``asv run --record-samples``). The unit is the one in ``results/benchmarks.json`` when
that file is beside the results (two folders up); otherwise asv's benchmark type gives it
(``time_``/``timeraw_``: seconds, ``mem_``/``peakmem_``: bytes; a ``track_`` unit is then
unknown). asv judges every benchmark type lower-is-better, and so does the import. A
failed benchmark (``null``) is an ERROR, a skipped one (``NaN``, asv's ``n/a``) SKIPPED.
Result files of format version 1 (asv < 0.5) and 2 are read.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

from benchgate.errors import BenchgateError
from benchgate.importers.base import (
    ImportedBench,
    Source,
    add_metric,
    arr,
    bench_name,
    finite_list,
    group,
    is_number,
    load_json,
    looks_like,
    need,
    obj,
    origin_of,
    wrong_format,
)
from benchgate.model import RunStatus

NAME = "asv"
KNOWN_VERSIONS = (1, 2)
UNITS = {"seconds": "s", "bytes": "B"}
_PREFIX_UNITS = (("timeraw_", "s"), ("time_", "s"), ("peakmem_", "B"), ("mem_", "B"))


def _declared_units(source: Source) -> dict[str, str]:
    """Benchmark name -> unit from ``results/benchmarks.json`` beside the results, if any."""
    if not isinstance(source, Path):
        return {}
    path = source.resolve().parent.parent / "benchmarks.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(k): str(v["unit"])
        for k, v in data.items()
        if isinstance(v, dict) and isinstance(v.get("unit"), str)
    }


def _unit(name: str, declared: dict[str, str]) -> tuple[str, bool]:
    """(unit, inferred) of benchmark ``name``."""
    if name in declared:
        return UNITS.get(declared[name], declared[name]), False
    leaf = name.rsplit(".", 1)[-1]
    for prefix, unit in _PREFIX_UNITS:
        if leaf.startswith(prefix):
            return unit, False
    return "unit", True


def _combos(params: Any, where: str, key: str) -> list[str]:
    """The asv labels of every parameter combination: ``["(10)", "(1000)"]`` or ``[""]``."""
    if not params:
        return [""]
    lists = arr(params, where, key)
    need(
        all(isinstance(p, list) and all(isinstance(v, str) for v in p) for p in lists),
        where,
        key,
        "must be a list of lists of parameter values",
    )
    return ["(" + ", ".join(c) + ")" for c in itertools.product(*lists)]


def read(source: Source, *, origin: str | None = None) -> list[ImportedBench]:
    """The benchmarks of one asv results file, one bench per benchmark module."""
    where = origin_of(source, origin)
    data = load_json(source, origin, "an asv results file")
    if looks_like(data) not in (None, "asv"):
        wrong_format(data, "asv", where, "", "not asv output")
    if (
        isinstance(data, dict)
        and "results" not in data
        and all(isinstance(v, dict) and "type" in v for k, v in data.items() if k != "version")
    ):
        raise BenchgateError(
            "is asv's benchmarks.json (the list of benchmarks), not a results file: "
            "import results/<machine>/<commit>-<env>.json",
            where,
        )
    need(
        isinstance(data, dict) and "results" in data,
        where,
        "results",
        "missing: not an asv results file (results/<machine>/<commit>-<env>.json)",
    )
    version = data.get("version")
    if version not in KNOWN_VERSIONS:
        raise BenchgateError(
            f"unknown asv results version {version!r} "
            f"(known: {', '.join(map(str, KNOWN_VERSIONS))})",
            where,
            "version",
        )
    declared = _declared_units(source)
    extra: dict[str, Any] = {"tool": NAME}
    for k in ("commit_hash", "env_name", "python"):
        if isinstance(data.get(k), str):
            extra[k] = data[k]
    results = obj(data["results"], where, "results")
    columns: list[Any] = []
    if version == 2:
        columns = arr(data.get("result_columns"), where, "result_columns")
        need(
            all(isinstance(c, str) for c in columns),
            where,
            "result_columns",
            "must be a list of column names",
        )
    out: list[ImportedBench] = []
    for name, raw in results.items():
        key = f"results.{name}"
        values, params, samples = _row(raw, version, columns, where, key)
        module, _, rest = name.partition(".")
        imported = ImportedBench(bench_name(module, NAME) if rest else NAME, extra=dict(extra))
        unit, inferred = _unit(name, declared)
        labels = _combos(params, where, f"{key}.params")
        if values is None:
            values = [None] * len(labels)
        need(
            len(values) == len(labels),
            where,
            key,
            f"{len(values)} results for {len(labels)} parameter combinations",
        )
        for i, (label, value) in enumerate(zip(labels, values, strict=True)):
            metric = (rest or name) + label
            if value is None:
                imported.failed[metric] = (RunStatus.ERROR, "asv recorded no result (it failed)")
                continue
            if is_number(value) and math.isnan(value):
                imported.failed[metric] = (RunStatus.SKIPPED, "asv: n/a (skipped)")
                continue
            s = finite_list(samples[i]) if samples and i < len(samples) else None
            add_metric(imported, metric, value, unit, False, s, inferred)
        out.append(imported)
    return group(out)


def _row(
    raw: Any, version: int, columns: list[Any], where: str, key: str
) -> tuple[list[Any] | None, Any, list[Any] | None]:
    """(values, params, samples) of one result entry, in either format version."""
    if version == 2:
        row = arr(raw, where, key)
        cells = dict(zip(columns, row, strict=False))
        values, params, samples = cells.get("result"), cells.get("params"), cells.get("samples")
    elif isinstance(raw, dict):
        values, params, samples = raw.get("result"), raw.get("params"), None
    else:
        values, params, samples = raw, None, None
    if values is not None and not isinstance(values, list):
        values = [values]
    need(
        values is None or all(v is None or is_number(v) for v in values),
        where,
        key,
        "results must be numbers or null",
    )
    if not isinstance(samples, list):
        samples = None
    return values, params, samples
