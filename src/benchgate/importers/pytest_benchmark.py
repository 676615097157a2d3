"""pytest-benchmark JSON: ``pytest --benchmark-json FILE`` and saved runs (``.benchmarks/``).

One metric per benchmark test (each parametrisation its own): the per-call time in
seconds, lower is better. The value is pytest-benchmark's own ``median``; the samples are
the per-round times of ``stats.data`` when the run was made with
``--benchmark-save-data`` (or ``--benchmark-json``, which keeps them too in recent
versions), else none (the stats alone carry no samples). The bench is the test module
(``tests/perf/test_codec.py::test_encode[64]`` -> bench ``test_codec``, metric
``test_encode[64]``; a test in a class keeps its class: ``TestCodec::test_encode``).
"""

from __future__ import annotations

from pathlib import PurePosixPath
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
    load_json,
    need,
    obj,
    origin_of,
    wrong_format,
)

NAME = "pytest-benchmark"
# Major versions of pytest-benchmark whose JSON layout this reader knows.
KNOWN_MAJOR = (3, 4, 5)


def split_fullname(fullname: str) -> tuple[str, str]:
    """(bench, metric) of a pytest node id ``path/test_x.py::Class::test_y[p]``."""
    path, sep, rest = fullname.partition("::")
    if not sep:
        return "pytest", fullname
    stem = PurePosixPath(path.replace("\\", "/")).name
    stem = stem[:-3] if stem.endswith(".py") else stem
    return bench_name(stem, "pytest"), rest


def read(source: Source, *, origin: str | None = None) -> list[ImportedBench]:
    """The benches of one pytest-benchmark JSON file (or its text)."""
    where = origin_of(source, origin)
    data = load_json(source, origin, "a pytest-benchmark JSON file")
    if not (isinstance(data, dict) and "benchmarks" in data and "machine_info" in data):
        wrong_format(data, "pytest-benchmark", where, "", "not pytest-benchmark output")
    need(
        isinstance(data, dict) and "benchmarks" in data,
        where,
        "benchmarks",
        "missing: not a pytest-benchmark JSON file (made by --benchmark-json or --benchmark-save)",
    )
    version = data.get("version")
    need(isinstance(version, str), where, "version", "missing: not a pytest-benchmark JSON file")
    major = version.split(".", 1)[0]
    if not major.isdigit() or int(major) not in KNOWN_MAJOR:
        raise BenchgateError(
            f"unknown pytest-benchmark version {version!r} "
            f"(known: {', '.join(f'{v}.x' for v in KNOWN_MAJOR)})",
            where,
            "version",
        )
    tool: dict[str, Any] = {"tool": NAME, "tool_version": version}
    commit = data.get("commit_info")
    if isinstance(commit, dict) and isinstance(commit.get("id"), str):
        tool["commit"] = commit["id"]
    out: list[ImportedBench] = []
    for i, raw in enumerate(arr(data["benchmarks"], where, "benchmarks")):
        key = f"benchmarks[{i}]"
        b = obj(raw, where, key)
        fullname = b.get("fullname", b.get("name"))
        need(isinstance(fullname, str) and bool(fullname), where, key, "has no name")
        bench, metric = split_fullname(str(fullname))
        stats = obj(b.get("stats"), where, f"{key}.stats")
        imported = ImportedBench(bench, extra=dict(tool))
        samples = finite_list(stats.get("data"))
        add_metric(imported, metric, stats.get("median"), "s", False, samples or None)
        out.append(imported)
    return group(out)
