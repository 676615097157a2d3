"""The value rules shared by the writer and the readers of measurements.

What a bench may report (run/protocol) and what a run file or reduced.json may hold
(model's ``from_dict``) are checked by these same functions, so a file benchgate wrote is
always readable and a file it would not have written is refused on read.

* a metric value is a finite number > 0 (a rate or a time; 0 and negatives are not
  measurements, NaN and infinity are not numbers to compare);
* a sample is a finite number;
* a name (metric, unit) is non-empty, at most MAX_NAME characters, without control
  characters (a newline in a key would start a new line in every report and CI log)
  and without lone surrogates (not encodable: every later write or print would fail).
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any

MAX_NAME = 200

# Control characters (Unicode category Cc) and lone surrogates: one search, C speed.
_CONTROL = "\x00-\x1f\x7f-\x9f"
_SURROGATE = "\ud800-\udfff"
_UNSAFE = re.compile(f"[{_CONTROL}{_SURROGATE}]")
_UNSAFE_BUT_TAB = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{_SURROGATE}]")
_SURROGATES = re.compile(f"[{_SURROGATE}]")


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        return float(v)
    except OverflowError:  # an int too large for a float (a 400-digit number)
        return None


def positive_finite(v: Any) -> float | None:
    """``v`` as a float when it is a finite number > 0, else None."""
    f = _number(v)
    return f if f is not None and math.isfinite(f) and f > 0 else None


def finite(v: Any) -> float | None:
    """``v`` as a float when it is a finite number, else None."""
    f = _number(v)
    return f if f is not None and math.isfinite(f) else None


def name_problem(name: Any, what: str = "name") -> str | None:
    """Why ``name`` cannot be a metric name or unit, or None when it can."""
    if not isinstance(name, str):
        return f"{what} must be a string"
    return _name_problem(name, what)


@functools.lru_cache(maxsize=4096)  # the same few names and units recur in every run
def _name_problem(name: str, what: str) -> str | None:
    if not name.strip():
        return f"{what} is empty"
    if len(name) > MAX_NAME:
        return f"{what} is longer than {MAX_NAME} characters"
    bad = _UNSAFE.search(name)
    if bad is None:
        return None
    if _SURROGATES.match(bad.group()):
        return f"{what} {name[:40]!r} holds a lone surrogate (not valid Unicode)"
    return f"{what} {name[:40]!r} holds a control character"


def clean_text(text: str, limit: int | None = None) -> str:
    """Free text (a skip reason) made safe to store and print: lone surrogates become
    U+FFFD, control characters other than tab become spaces, and it is cut at ``limit``."""
    if limit is not None:
        text = text[:limit]
    if _UNSAFE_BUT_TAB.search(text) is None:  # the usual case: nothing to replace
        return text
    text = _SURROGATES.sub("\ufffd", text)
    return _UNSAFE_BUT_TAB.sub(" ", text)


# In JSON text (ensure_ascii off) a control character shows as an escape, a non-finite
# float as a bare word; a lone surrogate stays raw. Any of these: clean the slow way.
_JSON_SUSPECT = re.compile(f"[{_SURROGATE}]|\\\\[ubfnr]|NaN|Infinity")


def clean_json(value: Any, depth: int = 0) -> Any:
    """A bench's extra fields made storable: text cleaned as ``clean_text``, non-finite
    floats as strings, nesting cut at 20 levels (extras are context, not measurements)."""
    if not value:
        return value
    if depth == 0 and isinstance(value, (dict, list)):
        try:
            dumped = json.dumps(value, ensure_ascii=False, check_circular=False)
        except (ValueError, TypeError, RecursionError):
            dumped = None
        if dumped is not None and _JSON_SUSPECT.search(dumped) is None:
            return value  # the usual case, decided at C speed
    if depth > 20:
        return "…"
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v, depth + 1) for v in value]
    return value
