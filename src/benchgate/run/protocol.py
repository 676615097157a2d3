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
import re
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from benchgate.model import Measurement
from benchgate.validate import clean_json, clean_text, finite, name_problem, positive_finite

SKIP_EXIT_CODE = 77
MAX_REASON = 300  # characters of a skip reason kept

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


# A string (escapes included; JSON strings never span lines) or a brace.
_TOKEN = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|[{}]')
# Deeper objects are refused before decoding (the decoder recurses once per level).
MAX_DEPTH = 100
# Only the end of the output is read: a bench's result is its last object.
MAX_OUTPUT_CHARS = 16 * 2**20


@dataclass
class LastObject:
    """The outcome of looking for the last JSON object, with the work it took."""

    obj: dict[str, Any] | None
    problem: str | None = None  # why no object was found, when something looked like one
    tokens: int = 0  # strings and braces scanned
    decoded_chars: int = 0  # characters handed to the JSON decoder


def find_last_object(text: str) -> LastObject:
    """The last complete JSON object in ``text`` (log lines around it ignored), in linear time.

    A forward pass (strings and braces only, by a regular expression) pairs each ``}``
    with its ``{``; candidates are decoded from the one that ends last backwards, the
    outermost first, until one is a valid JSON object. Log lines with unbalanced braces
    cannot hide a later object, and the decoder is handed at most a few times the scanned
    length, so hostile output (megabytes of ``{``) costs linear time.

    The pass starts on the last 64 KiB (from a line start: strings never span lines) and
    widens fourfold only while the answer could be part of an object that began earlier
    (an unmatched ``}`` after it), so the usual case -- the object at the end -- reads
    only the end of a long log.
    """
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[-MAX_OUTPUT_CHARS:]
    tokens = decoded = 0
    window = _FIRST_WINDOW
    while True:
        begin = max(0, len(text) - window)
        if begin:
            begin = text.rfind("\n", 0, begin) + 1
        result, settled = _scan(text, begin)
        tokens += result.tokens
        decoded += result.decoded_chars
        if settled or begin == 0:
            result.tokens, result.decoded_chars = tokens, decoded
            return result
        window *= 4


_FIRST_WINDOW = 64 * 1024


def _scan(text: str, begin: int) -> tuple[LastObject, bool]:
    """find_last_object on ``text[begin:]``; settled when no earlier start can change it."""
    result = LastObject(None)
    spans: list[tuple[int, int, int]] = []  # (start, end, nesting depth inside)
    opens: list[int] = []
    below: list[int] = []  # deepest nesting seen under each open brace
    stray = -1  # the last "}" with no "{" in the scanned part
    for m in _TOKEN.finditer(text, begin):
        result.tokens += 1
        at = m.start()
        c = text[at]
        if c == "{":
            opens.append(at)
            below.append(0)
        elif c == "}":
            if not opens:
                stray = at
                continue
            depth = below.pop() + 1
            if below and below[-1] < depth:
                below[-1] = depth
            spans.append((opens.pop(), m.end(), depth))
    decoder = json.JSONDecoder()
    budget = 4 * (len(text) - begin) + 4096
    for start, end, depth in reversed(spans):
        settled = stray < start  # nothing after it can close an object begun before `begin`
        if depth > MAX_DEPTH:
            # The last object is too deep to read: say so rather than fall back to an older one.
            result.problem = f"its last JSON object nests deeper than {MAX_DEPTH} levels"
            return result, settled
        if result.decoded_chars + (end - start) > budget:
            result.problem = "its output is too tangled to find a JSON object"
            return result, settled
        result.decoded_chars += end - start
        try:
            obj, _ = decoder.raw_decode(text[start:end])
        except (ValueError, RecursionError):  # JSONDecodeError, or an int over 4300 digits
            continue
        if isinstance(obj, dict):
            result.obj = obj
            return result, settled
    return result, False


def last_json_object(text: str) -> dict[str, Any] | None:
    """The last complete top-level JSON object in ``text`` (log lines around it ignored)."""
    return find_last_object(text).obj


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
    raw_value = spec.get("value")
    value = positive_finite(raw_value)
    if value is None:
        shown = repr(raw_value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise ValueError(f"metric {name!r}: value must be a positive finite number, got {shown}")
    guessed_unit, guessed_hib, known = infer_from_name(name)
    unit = spec.get("unit")
    inferred = False
    if unit is None:
        unit, inferred = guessed_unit, True
    else:
        problem = name_problem(unit, "unit")
        if problem:
            raise ValueError(f"metric {name!r}: {problem}")
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
        checked = [finite(s) for s in samples] if isinstance(samples, list) else [None]
        if any(s is None for s in checked):
            raise ValueError(f"metric {name!r}: samples must be a list of finite numbers")
        samples = [s for s in checked if s is not None]
    return Measurement(
        value=value, unit=unit, higher_is_better=hib, samples=samples, inferred=inferred
    )


def _metric_name(name: str) -> str:
    problem = name_problem(name, "metric name")
    if problem:
        raise ValueError(problem)
    return name


def parse_output(stdout: str) -> BenchOutput:
    """Read a bench's stdout into metrics, a skip reason, or an error message.

    Never raises: whatever a bench prints becomes that bench's result or its error.
    """
    found = find_last_object(stdout)
    obj = found.obj
    if obj is None:
        return BenchOutput(error=found.problem or "printed no JSON object on stdout")
    if "skip" in obj:
        reason = obj["skip"]
        text = reason if isinstance(reason, str) else json.dumps(reason, default=str)[:300]
        text = clean_text(text, MAX_REASON).strip()
        return BenchOutput(skip=text if reason not in (None, True) and text else "skipped")
    try:
        if "metrics" in obj:
            raw = obj["metrics"]
            if not isinstance(raw, dict):
                raise ValueError("'metrics' must be an object")
            metrics = {_metric_name(k): _measurement(k, v) for k, v in raw.items()}
            extra = {k: v for k, v in obj.items() if k != "metrics"}
        elif "result" in obj:
            raw = obj["result"]
            if not isinstance(raw, dict):
                raise ValueError("'result' must be an object")
            metrics = {}
            for k, v in raw.items():
                if _is_number(v):
                    m = _measurement(_metric_name(k), {"value": v})
                    m.inferred = True
                    metrics[k] = m
            extra = {k: v for k, v in obj.items() if k != "result"}
        else:
            return BenchOutput(error="its JSON has no 'metrics', 'result' or 'skip' field")
    except ValueError as exc:
        return BenchOutput(error=str(exc))
    if not metrics:
        return BenchOutput(error="its JSON reports no numeric metric")
    return BenchOutput(metrics=metrics, extra=clean_json(extra))
