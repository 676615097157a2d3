"""The file benchgate's pytest plugin writes with ``pytest --benchgate-json FILE``.

``{"schema": "benchgate.pytest/1", "benches": {"<module>": {"metrics": {"<test id>":
{"value", "unit", "higher_is_better", "samples"}}, "failed": {"<test id>": {"status":
"error"|"skipped", "reason": "..."}}}}}``: one bench per test module, one metric per
benchmark test and parametrisation, with the samples pytest-benchmark (or the
``benchgate_bench`` fixture) measured. ``benchgate run`` reads it for a bench declared
with ``kind = "pytest"``.
"""

from __future__ import annotations

from typing import Any

from benchgate.errors import BenchgateError
from benchgate.importers.base import (
    ImportedBench,
    Source,
    add_metric,
    bench_name,
    finite_list,
    load_json,
    need,
    obj,
    origin_of,
)
from benchgate.model import RunStatus

NAME = "pytest"
SCHEMA = "benchgate.pytest/1"


def read(source: Source, *, origin: str | None = None) -> list[ImportedBench]:
    """The benches of one file written by ``pytest --benchgate-json``."""
    where = origin_of(source, origin)
    data = load_json(source, origin, "a file written by pytest --benchgate-json")
    need(isinstance(data, dict), where, "schema", f"missing: not a {SCHEMA} file")
    if data.get("schema") != SCHEMA:
        raise BenchgateError(
            f"unknown schema {data.get('schema')!r} (known: {SCHEMA})", where, "schema"
        )
    out: list[ImportedBench] = []
    for name, raw in obj(data.get("benches"), where, "benches").items():
        key = f"benches.{name}"
        b = obj(raw, where, key)
        imported = ImportedBench(bench_name(str(name), "pytest"), extra={"tool": "pytest"})
        for metric, spec in obj(b.get("metrics", {}), where, f"{key}.metrics").items():
            m: dict[str, Any] = obj(spec, where, f"{key}.metrics.{metric}")
            unit, hib = m.get("unit"), m.get("higher_is_better")
            need(
                isinstance(unit, str) and bool(unit) and isinstance(hib, bool),
                where,
                f"{key}.metrics.{metric}",
                "needs a unit and higher_is_better",
            )
            assert isinstance(unit, str) and isinstance(hib, bool)
            samples = finite_list(m.get("samples")) if m.get("samples") is not None else None
            add_metric(imported, str(metric), m.get("value"), unit, hib, samples)
        for metric, spec in obj(b.get("failed", {}), where, f"{key}.failed").items():
            f = obj(spec, where, f"{key}.failed.{metric}")
            status = RunStatus.SKIPPED if f.get("status") == "skipped" else RunStatus.ERROR
            imported.failed[str(metric)] = (status, str(f.get("reason") or status.value))
        out.append(imported)
    return out
