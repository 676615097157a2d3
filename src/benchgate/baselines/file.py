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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchgate import fsutil
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.fsutil import locked
from benchgate.gitutil import git_dir, relpath, resolve_rev, show_file, toplevel
from benchgate.model import DEFAULT_DEGRADATION, DEFAULT_WARN, Baseline

# A commit id as git prints it: abbreviated (7+) up to a full SHA-256 name (64).
_COMMIT = re.compile(r"[0-9a-fA-F]{7,64}")
# Bounds on what a reviewed file of reference numbers can hold. A number with more digits
# than this is a typo or an attack (a 400-digit integer overflows float()); JSON nested
# deeper than this is not a baselines.json (5,000 levels exhaust the parser's recursion).
MAX_INT_DIGITS = 30
MAX_DEPTH = 32


class _Reject(ValueError):
    """A problem found while decoding, reported as one line by :func:`strict_json_loads`."""


def _check_str(s: str, what: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise _Reject(f"{what} {s!r} holds a lone surrogate (not valid Unicode)") from None


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        _check_str(k, "key")
        if k in out:
            raise _Reject(f"duplicate key {k!r}")
        out[k] = v
    return out


def _parse_int(s: str) -> int:
    if len(s.lstrip("-")) > MAX_INT_DIGITS:
        raise _Reject(f"number {s[:12]}... has {len(s)} digits (at most {MAX_INT_DIGITS})")
    return int(s)


def _parse_float(s: str) -> float:
    x = float(s)
    if not math.isfinite(x):
        raise _Reject(f"number {s[:24]} is out of range")
    return x


def _parse_constant(s: str) -> Any:
    raise _Reject(f"{s} is not a number JSON allows")


def _walk(data: Any) -> None:
    """Check nesting depth and every string (iteratively: no recursion limit to hit)."""
    stack = [(data, 1)]
    while stack:
        item, d = stack.pop()
        if d > MAX_DEPTH:
            raise _Reject(f"nested deeper than {MAX_DEPTH}")
        if isinstance(item, str):
            _check_str(item, "string")
        elif isinstance(item, dict):
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)


def strict_json_loads(text: str, source: str | Path) -> Any:
    """Decode JSON strictly, BenchgateError (one line naming ``source``) on any problem.

    Refused besides syntax errors: duplicate keys, NaN/Infinity, integers of more than
    MAX_INT_DIGITS digits, floats out of range, lone surrogates in strings, nesting
    deeper than MAX_DEPTH, and text that is not valid Unicode.
    """
    try:
        data = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
        _walk(data)
    except json.JSONDecodeError as exc:
        raise BenchgateError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", source
        ) from None
    except RecursionError:
        raise BenchgateError(f"not valid JSON (nested deeper than {MAX_DEPTH})", source) from None
    except ValueError as exc:  # _Reject, and int()'s own digit limit
        raise BenchgateError(f"not valid JSON ({exc})", source) from None
    return data


def parse_baselines_text(
    text: str,
    source: str | Path,
    default_degradation: float = DEFAULT_DEGRADATION,
    default_warn: float = DEFAULT_WARN,
) -> dict[str, Baseline]:
    """Parse and validate baselines.json content; ``source`` names it in errors."""
    data = strict_json_loads(text, source)
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
    record = entry.get("refreshed")
    if record is not None and not isinstance(record, str):
        raise BenchgateError(
            "'refreshed' must be a string (the last refresh's record)", source, key
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
        text = fsutil.read_text(path)
    except FileNotFoundError:
        raise BenchgateError(
            "not found (create it with `benchgate init`, or pass --baselines)", path
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchgateError(f"cannot be read: {exc}", path) from None
    return parse_baselines_text(text, path, default_degradation, default_warn)


def load_baselines_at(
    root: Path,
    path: Path,
    rev: str,
    missing_ok: bool = False,
    default_degradation: float = DEFAULT_DEGRADATION,
    default_warn: float = DEFAULT_WARN,
    option: str = "--baselines-rev",
) -> dict[str, Baseline] | None:
    """baselines.json as it is at git revision ``rev``, validated like the working file.

    A revision git cannot read is a BenchgateError (never "no baselines": that would turn
    every metric into "baseline added by this change" and let any regression through).
    A revision without the file is a BenchgateError too, unless ``missing_ok`` (the change
    adds the file), when the answer is None: the caller says so in its output.
    """
    top = toplevel(root)
    rel = relpath(top, path)
    sha = resolve_rev(top, rev, option)
    text = show_file(top, sha, rel, option)
    if text is None:
        if missing_ok:
            return None
        raise BenchgateError(
            f"{rel} does not exist at {rev} ({sha[:12]}): nothing to compare with; if this "
            "change adds it, pass --baselines-missing-ok (every metric is then NEW)",
            key=option,
        )
    return parse_baselines_text(text, f"{rel} at {rev}", default_degradation, default_warn)


def baselines_lock(config: Config) -> Path:
    """What every writer of baselines.json and report.md locks (``fsutil.locked``).

    The lock file lives in the git folder, so nothing new appears in the work tree (a
    refresh PR's scope, ``git status``); outside a git checkout it sits beside
    baselines.json.
    """
    top = git_dir(config.root)
    return top / "benchgate-baselines.json" if top is not None else config.baselines_path


@contextmanager
def writing_baselines(config: Config, read: dict[Path, str]) -> Iterator[None]:
    """Hold the baselines lock to write, once the files are still as they were read.

    ``read``: each file's text as its writer read it (UTF-8, no newline translation; ``""``
    when it was absent). A refresh or revert plans from what it read, then takes the lock
    and writes only if no other writer changed those files meanwhile: two at the same time
    never silently undo each other, and a refused or dry run leaves no lock file behind.
    """
    with locked(baselines_lock(config)):
        for path, text in read.items():
            try:
                now = path.read_bytes().decode("utf-8", "replace")
            except FileNotFoundError:
                now = ""
            except OSError as exc:
                raise BenchgateError(f"cannot be read: {exc}", path) from None
            if now != text:
                raise BenchgateError(
                    "changed by another command while this one ran: nothing written; run it again",
                    path,
                )
        yield
