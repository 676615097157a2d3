"""The bench contract: what a bench prints and how it is read.

A bench prints a JSON object on stdout; the last complete JSON object wins, so log
lines before it are fine. Two forms are accepted:

* canonical: ``{"metrics": {"encode_MBps": {"value": 520.4, "unit": "MB/sec",
  "higher_is_better": true, "samples": [...]}}}``
* in the wild: ``{"case": "...", "params": {...}, "result": {"calls_per_s": 1.2e5,
  "median_s": 0.0029}}`` -- every numeric field of ``result`` is a metric, with unit
  and direction inferred from its name.

``{"skip": "reason"}`` (or exit code 77) means unavailable on this platform.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from benchgate.model import Measurement

SKIP_EXIT_CODE = 77

_TIME_UNITS = {
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "ms": "ms",
    "us": "us",
    "µs": "us",
    "ns": "ns",
}


@dataclass
class BenchOutput:
    """What one bench execution reported, once parsed."""

    metrics: dict[str, Measurement] = field(default_factory=dict)
    skip: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def last_json_object(text: str) -> dict[str, Any] | None:
    """The last complete top-level JSON object in ``text`` (log lines around it ignored)."""
    decoder = json.JSONDecoder()
    found: dict[str, Any] | None = None
    i = 0
    n = len(text)
    while True:
        i = text.find("{", i)
        if i < 0 or i >= n:
            return found
        try:
            obj, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            i += 1
            continue
        if isinstance(obj, dict):
            found = obj
        i = end


def infer_from_name(name: str) -> tuple[str, bool, bool]:
    """(unit, higher_is_better, known) guessed from a metric's name.

    Throughput (higher is better): ``*_per_s``, ``*_per_sec``, ``*ps``, ``*MBps``,
    ``ops*``, ``throughput*``. Time (lower is better): ``*_s``, ``*_ms``, ``*_us``,
    ``*_ns``, ``latency*``, ``time*``. Anything else: higher is better, unit "units",
    known=False (name it clearly or set unit/higher_is_better in baselines.json).
    """
    low = name.lower()
    m = re.match(r"^(.*?)_?per_(s|sec|second)$", low)
    if m:
        what = m.group(1).rsplit("_", 1)[-1] or "ops"
        return f"{what}/sec", True, True
    m = re.match(r"^.*?([kmgt]?b)ps$", name, re.IGNORECASE)
    if m and m.group(1)[:-1]:
        return f"{m.group(1)[:-1].upper()}B/sec", True, True
    if low.startswith("ops"):
        return "ops/sec", True, True
    if low.startswith("throughput"):
        return "units/sec", True, True
    m = re.match(r"^.*_(s|ms|us|ns)$", low)
    if m:
        return m.group(1), False, True
    if low.startswith(("latency", "time")):
        return "s", False, True
    if low.endswith("ps"):
        return low.rsplit("_", 1)[-1], True, True
    return "units", True, False


def direction_from_unit(unit: str) -> bool | None:
    """higher_is_better implied by a unit (rates up, times down), None if unclear."""
    u = unit.strip().lower()
    if u in _TIME_UNITS or u.endswith(("/op", "/call", "/iter")) or u.startswith("s/"):
        return False
    if "/" in u and u.rsplit("/", 1)[-1] in ("s", "sec", "second", "min", "h"):
        return True
    if u.endswith("ps"):
        return True
    return None


def _is_number(v: Any) -> TypeGuard[int | float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _measurement(name: str, spec: Any) -> Measurement:
    if _is_number(spec):
        spec = {"value": spec}
    if not isinstance(spec, dict):
        raise ValueError(f"metric {name!r} must be an object with a value")
    value = spec.get("value")
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"metric {name!r}: value must be a positive finite number, got {value!r}")
    guessed_unit, guessed_hib, known = infer_from_name(name)
    unit = spec.get("unit")
    inferred = False
    if unit is None:
        unit, inferred = guessed_unit, True
    elif not isinstance(unit, str) or not unit.strip():
        raise ValueError(f"metric {name!r}: unit must be a non-empty string")
    hib = spec.get("higher_is_better")
    if hib is None:
        from_unit = direction_from_unit(unit)
        if from_unit is not None:
            hib = from_unit
        else:
            hib = guessed_hib
            inferred = inferred or not known
    elif not isinstance(hib, bool):
        raise ValueError(f"metric {name!r}: higher_is_better must be true or false")
    samples = spec.get("samples")
    if samples is not None:
        if not isinstance(samples, list) or not all(
            _is_number(s) and math.isfinite(s) for s in samples
        ):
            raise ValueError(f"metric {name!r}: samples must be a list of finite numbers")
        samples = [float(s) for s in samples]
    return Measurement(
        value=float(value), unit=unit, higher_is_better=hib, samples=samples, inferred=inferred
    )


def parse_output(stdout: str) -> BenchOutput:
    """Read a bench's stdout into metrics, a skip reason, or an error message."""
    obj = last_json_object(stdout)
    if obj is None:
        return BenchOutput(error="printed no JSON object on stdout")
    if "skip" in obj:
        reason = obj["skip"]
        return BenchOutput(skip=str(reason) if reason not in (None, True, "") else "skipped")
    try:
        if "metrics" in obj:
            raw = obj["metrics"]
            if not isinstance(raw, dict):
                raise ValueError("'metrics' must be an object")
            metrics = {str(k): _measurement(str(k), v) for k, v in raw.items()}
            extra = {k: v for k, v in obj.items() if k != "metrics"}
        elif "result" in obj:
            raw = obj["result"]
            if not isinstance(raw, dict):
                raise ValueError("'result' must be an object")
            metrics = {}
            for k, v in raw.items():
                if _is_number(v):
                    m = _measurement(str(k), {"value": v})
                    m.inferred = True
                    metrics[str(k)] = m
            extra = {k: v for k, v in obj.items() if k != "result"}
        else:
            return BenchOutput(error="its JSON has no 'metrics', 'result' or 'skip' field")
    except ValueError as exc:
        return BenchOutput(error=str(exc))
    if not metrics:
        return BenchOutput(error="its JSON reports no numeric metric")
    return BenchOutput(metrics=metrics, extra=extra)
