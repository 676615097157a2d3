"""The bench contract: what a bench prints and how it is read.

A bench prints a JSON object on stdout; the last complete JSON object wins, so log
lines before it are fine. Two forms are accepted:

* canonical: ``{"metrics": {"encode_MBps": {"value": 520.4, "unit": "MB/sec",
  "higher_is_better": true, "samples": [...]}}}``
* in the wild: ``{"case": "...", "params": {...}, "result": {"calls_per_s": 1.2e5,
  "median_s": 0.0029}}`` -- every numeric field of ``result`` is a metric, with unit
  and direction inferred from its name; nested objects give dotted names
  (``{"result": {"match": {"jobs_per_sec": 9}}}`` is ``match.jobs_per_sec``).

``[tool.benchgate.metrics.<bench>]`` (benchgate.selection) chooses which are gated, renames
them and marks informational ones. Each metric is judged on its own: a value of 0, a
negative or inf is that metric's error, the others are measured.

``{"skip": "reason"}`` (or exit code 77) means unavailable on this platform.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from benchgate.model import Measurement
from benchgate.selection import NO_RULES, MetricRules
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
    # Metrics whose own value was bad (0, negative, inf): name -> why. The others count.
    metric_errors: dict[str, str] = field(default_factory=dict)
    # Informational metrics (config ``info``): recorded and shown, never gated.
    info: dict[str, Any] = field(default_factory=dict)


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


def _measurement(name: str, spec: Any, short: str | None = None) -> Measurement:
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
    # Unit and direction are guessed from ``short``: a nested name's last part.
    guessed_unit, guessed_hib, known = infer_from_name(short or name)
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


# Nested result objects are read to this depth (``a.b.c``); deeper ones are context.
MAX_NEST = 6
MAX_INFO_CHARS = 200  # an informational value is context: kept short


def _flatten(raw: dict[str, Any], prefix: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """(dotted name, value) of every leaf of a result object, nested objects included."""
    for k, v in raw.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and depth < MAX_NEST:
            yield from _flatten(v, name + ".", depth + 1)
        else:
            yield name, v


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if _is_number(v):
        return "number"
    return {str: "string", list: "list", dict: "object", type(None): "null"}.get(
        type(v), type(v).__name__
    )


def info_value(v: Any) -> Any:
    """An informational value made storable and short: numbers kept when JSON can hold
    them, anything else (text, lists, 0, inf, a 400-digit number) as bounded text."""
    if _is_number(v) and finite(v) is not None:
        return v if not isinstance(v, int) or abs(v) < 10**30 else float(v)
    if isinstance(v, str):
        return clean_text(v, MAX_INFO_CHARS)
    text = v if isinstance(v, (int, float)) else json.dumps(v, default=str)
    return clean_text(str(text), MAX_INFO_CHARS)


def _where(leaves: list[tuple[str, Any]], field_name: str) -> str:
    """Where the numbers were looked for, for the "no numeric metric" error."""
    if not leaves:
        return f"'{field_name}' is an empty object"
    shown = ", ".join(f"{n!r} ({_kind(v)})" for n, v in leaves[:6])
    more = f" and {len(leaves) - 6} more" if len(leaves) > 6 else ""
    return f"looked in '{field_name}' (nested objects as dotted names): {shown}{more}"


def _select(
    reported: list[tuple[str, Any]], rules: MetricRules, in_the_wild: bool
) -> tuple[dict[str, Measurement], dict[str, str], dict[str, Any], list[str]]:
    """Each reported (name, spec) judged on its own: (metrics, metric errors, info, dropped).

    A value that is not a positive finite number (0, a negative, inf) makes that metric an
    error and leaves the others measured; an informational one is kept as it is.
    """
    metrics: dict[str, Measurement] = {}
    errors: dict[str, str] = {}
    info: dict[str, Any] = {}
    dropped: list[str] = []
    source: dict[str, str] = {}
    for name, spec in reported:
        kind, gated = rules.classify(name)
        if kind == "metric" and in_the_wild and not _is_number(spec):
            continue  # text, lists, booleans in `result` are context, not metrics
        _metric_name(name)
        if kind == "dropped":
            dropped.append(name)
            continue
        if gated in source:
            errors[gated] = f"reported as both {source[gated]!r} and {name!r} (see rename)"
            metrics.pop(gated, None)
            continue
        source[gated] = name
        if kind == "info":
            value = spec.get("value") if isinstance(spec, dict) else spec
            info[gated] = info_value(value)
            continue
        # A nested name's unit comes from its last part (match.jobs_per_sec: jobs/sec).
        short = gated.rsplit(".", 1)[-1] if in_the_wild else gated
        try:
            m = _measurement(name, spec, short)
        except ValueError as exc:
            errors[gated] = str(exc)
            continue
        if in_the_wild:
            m.inferred = True
        metrics[gated] = m
    return metrics, errors, info, dropped


def parse_output(stdout: str, rules: MetricRules = NO_RULES) -> BenchOutput:
    """Read a bench's stdout into metrics, a skip reason, or an error message.

    ``rules`` (the bench's ``[tool.benchgate.metrics.<bench>]``) select, rename and mark
    informational metrics. Each metric is judged on its own: a bad value is that metric's
    error (``metric_errors``) and the others are measured; only when nothing measurable
    is left is the whole output an error. Never raises: whatever a bench prints becomes
    that bench's result or its error.
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
            field_name = "metrics"
            raw = obj["metrics"]
            if not isinstance(raw, dict):
                raise ValueError("'metrics' must be an object")
            reported = list(raw.items())
        elif "result" in obj:
            field_name = "result"
            raw = obj["result"]
            if not isinstance(raw, dict):
                raise ValueError("'result' must be an object")
            reported = list(_flatten(raw))
        else:
            return BenchOutput(error="its JSON has no 'metrics', 'result' or 'skip' field")
        metrics, errors, info, dropped = _select(reported, rules, field_name == "result")
    except ValueError as exc:
        return BenchOutput(error=str(exc))
    extra = clean_json({k: v for k, v in obj.items() if k != field_name})
    if metrics or info:
        return BenchOutput(metrics=metrics, metric_errors=errors, info=info, extra=extra)
    if errors:
        text = "; ".join(errors.values())
        error = text if len(text) <= 300 else text[:297] + "..."
        return BenchOutput(error=error, metric_errors=errors, extra=extra)
    if dropped:
        names = ", ".join(repr(n) for n in dropped[:6])
        return BenchOutput(
            error=f"every metric it reports is excluded by its [tool.benchgate.metrics] "
            f"rules: {names}"
        )
    return BenchOutput(error=f"its JSON reports no numeric metric ({_where(reported, field_name)})")


def apply_rules(out: BenchOutput, rules: MetricRules) -> BenchOutput:
    """``rules`` applied to an output read by another reader (a declared command's format):
    metrics dropped, renamed or made informational as parse_output does with its own."""
    if rules.empty or out.error is not None or out.skip is not None:
        return out
    metrics: dict[str, Measurement] = {}
    info = dict(out.info)
    errors = dict(out.metric_errors)
    dropped: list[str] = []
    for name, m in out.metrics.items():
        kind, gated = rules.classify(name)
        if kind == "dropped":
            dropped.append(name)
        elif gated in metrics or gated in info:
            errors[gated] = f"reported twice under {gated!r} (see rename)"
            metrics.pop(gated, None)
        elif kind == "info":
            info[gated] = info_value(m.value)
        else:
            metrics[gated] = m
    if not metrics and not info and not errors:
        names = ", ".join(repr(n) for n in dropped[:6])
        return BenchOutput(
            error=f"every metric it reports is excluded by its [tool.benchgate.metrics] "
            f"rules: {names}"
        )
    return BenchOutput(metrics=metrics, extra=out.extra, metric_errors=errors, info=info)
