"""baselines.json: loading and validating the reviewed reference numbers.

The file is a flat JSON object ``{"<bench>.<metric>": {"value": .., "unit": .., ...}}``.
Only ``value`` and ``unit`` are required; thresholds are fractions in (0, 1); ``values``
(the per-run values a refresh reduced) and ``measured_commit`` (the commit they measured)
are optional and validated when present.
Unknown fields are kept in ``Baseline.raw`` so nothing is lost on rewrite.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from benchgate.errors import BenchgateError
from benchgate.model import DEFAULT_DEGRADATION, DEFAULT_WARN, Baseline

# A commit id as git prints it: abbreviated (7+) up to a full SHA-256 name (64).
_COMMIT = re.compile(r"[0-9a-fA-F]{7,64}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def parse_baselines_text(
    text: str,
    source: str | Path,
    default_degradation: float = DEFAULT_DEGRADATION,
    default_warn: float = DEFAULT_WARN,
) -> dict[str, Baseline]:
    """Parse and validate baselines.json content; ``source`` names it in errors."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise BenchgateError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", source
        ) from None
    except ValueError as exc:
        raise BenchgateError(f"not valid JSON ({exc})", source) from None
    if not isinstance(data, dict):
        raise BenchgateError("must be a JSON object mapping <bench>.<metric> to an entry", source)
    out: dict[str, Baseline] = {}
    for key, entry in data.items():
        out[key] = validate_entry(key, entry, source, default_degradation, default_warn)
    return out


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def validate_entry(
    key: str,
    entry: Any,
    source: str | Path,
    default_degradation: float = DEFAULT_DEGRADATION,
    default_warn: float = DEFAULT_WARN,
) -> Baseline:
    """Validate one baselines.json entry and return it as a Baseline."""
    if "." not in key or key.startswith(".") or key.endswith("."):
        raise BenchgateError("key must have the form <bench>.<metric>", source, key)
    if not isinstance(entry, dict):
        raise BenchgateError("entry must be an object with value and unit", source, key)
    if "value" not in entry:
        raise BenchgateError("missing 'value'", source, key)
    value = entry["value"]
    if not _number(value) or value <= 0:
        raise BenchgateError(
            f"'value' must be a positive finite number, got {json.dumps(value)}", source, key
        )
    unit = entry.get("unit")
    if unit is None:
        raise BenchgateError("missing 'unit'", source, key)
    if not isinstance(unit, str) or not unit.strip():
        raise BenchgateError("'unit' must be a non-empty string", source, key)
    thresholds: dict[str, float] = {}
    for name, default in (
        ("degradation_pct_max", default_degradation),
        ("variance_pct_warn", default_warn),
    ):
        t = entry.get(name, default)
        if not _number(t) or not 0 < t < 1:
            raise BenchgateError(
                f"'{name}' must be a fraction in (0, 1) (0.15 = 15%), got {json.dumps(t)}",
                source,
                key,
            )
        thresholds[name] = float(t)
    if thresholds["variance_pct_warn"] > thresholds["degradation_pct_max"]:
        raise BenchgateError(
            f"variance_pct_warn ({thresholds['variance_pct_warn']}) is above "
            f"degradation_pct_max ({thresholds['degradation_pct_max']})",
            source,
            key,
        )
    hib = entry.get("higher_is_better")
    if hib is not None and not isinstance(hib, bool):
        raise BenchgateError("'higher_is_better' must be true or false", source, key)
    notes = entry.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise BenchgateError("'notes' must be a string", source, key)
    values = entry.get("values")
    if values is not None and (
        not isinstance(values, list) or not values or not all(_number(v) and v > 0 for v in values)
    ):
        raise BenchgateError(
            "'values' (the per-run values the value was reduced from) must be a non-empty "
            "list of positive finite numbers",
            source,
            key,
        )
    commit = entry.get("measured_commit")
    if commit is not None and (not isinstance(commit, str) or not _COMMIT.fullmatch(commit)):
        raise BenchgateError(
            "'measured_commit' must be a git commit id (7-64 hex digits), "
            f"got {json.dumps(commit)}",
            source,
            key,
        )
    return Baseline(
        key=key,
        value=float(value),
        unit=unit,
        degradation_pct_max=thresholds["degradation_pct_max"],
        variance_pct_warn=thresholds["variance_pct_warn"],
        higher_is_better=hib,
        notes=notes,
        raw=dict(entry),
    )


def load_baselines(
    path: str | Path,
    default_degradation: float = DEFAULT_DEGRADATION,
    default_warn: float = DEFAULT_WARN,
) -> dict[str, Baseline]:
    """Read and validate a baselines.json file (BenchgateError on any problem)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BenchgateError(
            "not found (create it with `benchgate init`, or pass --baselines)", path
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchgateError(f"cannot be read: {exc}", path) from None
    return parse_baselines_text(text, path, default_degradation, default_warn)
