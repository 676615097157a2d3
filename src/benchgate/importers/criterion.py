"""criterion.rs results: ``target/criterion/<group>/<bench>/new/{estimates,sample}.json``.

One metric per criterion benchmark (its ``full_id`` from ``benchmark.json``, e.g.
``fib/20``; else its folder path), in the bench named by its ``group_id`` (else
``criterion``). The unit is criterion's, nanoseconds per iteration, lower is better. The
samples are ``times[i] / iters[i]`` of ``sample.json``. The value is criterion's own
headline (the middle number of ``time: [...]``): the ``slope`` point estimate when the
benchmark was sampled linearly, else the ``mean`` (``estimates.json``). Given
``sample.json`` alone the same headline is computed from it (the least-squares slope
through the origin for linear sampling, else the mean of the per-iteration times).
A benchmark declaring a throughput (``Throughput::Bytes``/``Elements``) also gets
``<id>:thrpt`` in B/sec or elements/sec, higher is better, as criterion prints it.

Give a folder (``target/criterion``: every ``new/`` result under it), one benchmark's
``new/`` folder, or one ``estimates.json``/``sample.json`` file (its siblings are read).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from benchgate.errors import BenchgateError
from benchgate.importers.base import (
    ImportedBench,
    Source,
    add_metric,
    bench_name,
    group,
    is_number,
    load_json,
    need,
    obj,
    origin_of,
)

NAME = "criterion"
SAMPLING_MODES = ("Linear", "Flat", "Auto")


def _estimate(est: dict[str, Any], where: str) -> float:
    """criterion's typical estimate: slope if present, else mean (``Estimates::typical``)."""
    for key in ("slope", "mean"):
        e = est.get(key)
        if e is None:
            continue
        point: Any = obj(e, where, key).get("point_estimate")
        need(is_number(point), where, f"{key}.point_estimate", "must be a number")
        return float(point)
    raise BenchgateError("has neither slope nor mean: not a criterion estimates.json", where)


def _samples(sample: dict[str, Any], where: str) -> tuple[list[float], float]:
    """(per-iteration times, headline) from a sample.json."""
    iters, times = sample.get("iters"), sample.get("times")
    need(
        isinstance(iters, list) and isinstance(times, list) and len(iters) == len(times),
        where,
        "iters",
        "iters and times must be lists of the same length: not a criterion sample.json",
    )
    assert isinstance(iters, list) and isinstance(times, list)
    need(
        bool(iters) and all(is_number(i) and i > 0 for i in iters),
        where,
        "iters",
        "must be positive numbers",
    )
    need(all(is_number(t) for t in times), where, "times", "must be numbers")
    per_iter = [float(t) / float(i) for t, i in zip(times, iters, strict=True)]
    mode = sample.get("sampling_mode", "Linear")
    need(
        mode in SAMPLING_MODES,
        where,
        "sampling_mode",
        f"unknown sampling mode {mode!r} (known: {', '.join(SAMPLING_MODES)})",
    )
    if mode == "Flat":
        headline = statistics.mean(per_iter)
    else:
        headline = sum(float(i) * float(t) for i, t in zip(iters, times, strict=True)) / sum(
            float(i) ** 2 for i in iters
        )
    return per_iter, headline


def _read_dir(new: Path) -> ImportedBench:
    """One benchmark from its ``new/`` folder."""
    est_path, sample_path, meta_path = (
        new / "estimates.json",
        new / "sample.json",
        new / "benchmark.json",
    )
    if not est_path.is_file() and not sample_path.is_file():
        raise BenchgateError("holds no estimates.json or sample.json", new)
    meta: dict[str, Any] = {}
    if meta_path.is_file():
        loaded = load_json(meta_path, None, "a criterion benchmark.json")
        meta = obj(loaded, str(meta_path), "benchmark")
    default = new.parent.name if new.name == "new" else new.name
    metric = meta.get("full_id") if isinstance(meta.get("full_id"), str) else default
    group_id = meta.get("group_id")
    bench = bench_name(group_id, NAME) if isinstance(group_id, str) else NAME
    out = ImportedBench(bench, extra={"tool": NAME})
    samples: list[float] | None = None
    value: float | None = None
    if sample_path.is_file():
        sample = obj(load_json(sample_path, None, "a criterion sample.json"), str(sample_path), "")
        samples, value = _samples(sample, str(sample_path))
    if est_path.is_file():
        est = obj(load_json(est_path, None, "a criterion estimates.json"), str(est_path), "")
        value = _estimate(est, str(est_path))
    add_metric(out, str(metric), value, "ns", False, samples)
    _throughput(out, str(metric), meta.get("throughput"), value, samples)
    return out


# criterion's Throughput variants: bytes (printed as B/s, KiB/s...) or elements.
_THROUGHPUT_UNITS = {"Bytes": "B/sec", "BytesDecimal": "B/sec", "Elements": "elements/sec"}


def _throughput(
    out: ImportedBench, metric: str, spec: Any, ns: float | None, samples: list[float] | None
) -> None:
    """``<metric>:thrpt`` when the benchmark declared a throughput (criterion's ``thrpt:``).

    Computed as criterion does: the declared count per iteration over the typical time.
    """
    if not isinstance(spec, dict) or len(spec) != 1 or ns is None or ns <= 0:
        return
    kind, count = next(iter(spec.items()))
    if kind not in _THROUGHPUT_UNITS or not is_number(count) or count <= 0:
        return
    rate = [count * 1e9 / t for t in samples if t > 0] if samples else None
    add_metric(out, f"{metric}:thrpt", count * 1e9 / ns, _THROUGHPUT_UNITS[kind], True, rate)


def read(source: Source, *, origin: str | None = None) -> list[ImportedBench]:
    """Criterion benchmarks from a folder, a ``new/`` folder, one of its files, or text."""
    where = origin_of(source, origin)
    if isinstance(source, Path):
        if source.is_dir():
            news = sorted(
                {p.parent for p in source.glob("**/new/*.json") if p.parent.name == "new"}
            )
            if (source / "estimates.json").is_file() or (source / "sample.json").is_file():
                news = [source]
            if not news:
                raise BenchgateError(
                    "holds no criterion results (no */new/estimates.json or sample.json)", where
                )
            return group([_read_dir(n) for n in news])
        if source.name in ("estimates.json", "sample.json", "benchmark.json"):
            if not source.is_file():
                raise BenchgateError("no such file", where)
            return [_read_dir(source.parent)]
    # Text (a command's stdout) or another file: the JSON of an estimates or a sample file.
    data = obj(load_json(source, origin, "a criterion estimates.json or sample.json"), where, "")
    out = ImportedBench(NAME, extra={"tool": NAME})
    if "iters" in data or "times" in data:
        samples, value = _samples(data, where)
        add_metric(out, NAME, value, "ns", False, samples)
    elif "mean" in data or "slope" in data:
        add_metric(out, NAME, _estimate(data, where), "ns", False)
    else:
        raise BenchgateError("not a criterion estimates.json or sample.json", where)
    return [out]
