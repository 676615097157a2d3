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

import math
import unicodedata
from typing import Any

MAX_NAME = 200


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
    if not name.strip():
        return f"{what} is empty"
    if len(name) > MAX_NAME:
        return f"{what} is longer than {MAX_NAME} characters"
    for ch in name:
        if "\ud800" <= ch <= "\udfff":
            return f"{what} {name[:40]!r} holds a lone surrogate (not valid Unicode)"
        if unicodedata.category(ch) == "Cc":
            return f"{what} {name[:40]!r} holds a control character"
    return None


def clean_text(text: str, limit: int | None = None) -> str:
    """Free text (a skip reason) made safe to store and print: lone surrogates become
    U+FFFD, control characters other than tab become spaces, and it is cut at ``limit``."""
    out = []
    for ch in text[: limit if limit is not None else len(text)]:
        if "\ud800" <= ch <= "\udfff":
            out.append("\ufffd")
        elif ch != "\t" and unicodedata.category(ch) == "Cc":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def clean_json(value: Any, depth: int = 0) -> Any:
    """A bench's extra fields made storable: text cleaned as ``clean_text``, non-finite
    floats as strings, nesting cut at 20 levels (extras are context, not measurements)."""
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
