"""Baselines files of other layouts, recognised and converted to benchgate's (``init --migrate``).

Layouts recognised:

* ``benchgate``: ``{"<bench>.<metric>": {"value": ..., "unit": ...}}`` -- nothing to do;
* ``meta-cases``: ``{"meta": {...}, "cases": {"<case>": {"script": ..., "metric": ...,
  "value": ..., "higher_is_better": ..., "result": {...}}}}``, the layout of the scripts
  the refresh method grew out of. Each case becomes one key ``<bench>.<metric>`` for its
  gated ``metric`` (the other numbers of its ``result`` were never gated and are left out);
  the bench is the one of the bench dir the case's script or name points at;
* ``nested``: ``{"<bench>": {"<metric>": number or {"value": ...}}}``.

Conversion is pure: it returns the new content, the unified diff and notes; the caller
writes (atomically, keeping a backup).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from benchgate.baselines.file import parse_baselines_text
from benchgate.errors import BenchgateError
from benchgate.run.protocol import infer_from_name
from benchgate.validate import name_problem, positive_finite

LAYOUTS = ("benchgate", "meta-cases", "nested", "empty")
_THRESHOLDS = ("degradation_pct_max", "variance_pct_warn")


@dataclass
class Migration:
    """The converted baselines and what the conversion decided."""

    layout: str
    data: dict[str, Any]
    old_text: str
    new_text: str
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text

    def diff(self, name: str = "baselines.json") -> str:
        """The unified diff old -> new."""
        return "".join(
            difflib.unified_diff(
                self.old_text.splitlines(keepends=True),
                self.new_text.splitlines(keepends=True),
                f"a/{name}",
                f"b/{name}",
            )
        )


def detect_layout(data: Any) -> str:
    """Which layout ``data`` (a parsed baselines file) has; ``"unknown"`` if none."""
    if not isinstance(data, dict):
        return "unknown"
    if not data:
        return "empty"
    if isinstance(data.get("cases"), dict) and set(data) <= {"meta", "cases", "schema"}:
        return "meta-cases"
    if all(isinstance(v, dict) and "value" in v and "." in k for k, v in data.items()):
        return "benchgate"
    if all(
        isinstance(v, dict) and v and all(isinstance(m, (int, float, dict)) for m in v.values())
        for v in data.values()
    ):
        return "nested"
    return "unknown"


def describe_layout(layout: str, data: Any) -> str:
    """A few words on ``data``'s layout, for ``init``."""
    if layout == "meta-cases":
        return f'layout {{"meta", "cases"}} with {len(data["cases"])} cases'
    if layout == "nested":
        return f"layout {{bench: {{metric: value}}}} with {len(data)} benches"
    if layout == "benchgate":
        return f"benchgate's layout, {len(data)} keys"
    if layout == "empty":
        return "empty"
    keys = ", ".join(repr(k) for k in list(data)[:4]) if isinstance(data, dict) else ""
    return f"an unknown layout (top-level keys {keys})" if keys else "an unknown layout"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-]+", "_", text).strip("_")


def bench_candidates(case: str, entry: dict[str, Any], bench_dir: str) -> list[str]:
    """Bench names a case may belong to, most likely first.

    The case's script when it lives in the bench dir (``tests/bench/x.py`` -> ``x``); the
    case name up to its parameters (``da.nmt_build(N=1)`` -> ``da_nmt_build``); the
    script's path without its ``bench`` folder (``da/bench/nmt_build.py`` -> ``da_nmt_build``).
    """
    out: list[str] = []
    script = entry.get("script")
    if isinstance(script, str) and script:
        p = PurePosixPath(script)
        if str(p.parent) == bench_dir.rstrip("/"):
            out.append(_slug(p.stem))
    out.append(_slug(case.split("(", 1)[0].replace(".", "_")))
    if isinstance(script, str) and script:
        parts = [x for x in PurePosixPath(script).with_suffix("").parts if x != "bench"]
        out.append(_slug("_".join(parts)))
    return [c for i, c in enumerate(out) if c and c not in out[:i]]


def _entry(value: Any, hib: Any, metric: str, source: dict[str, Any], note: str) -> dict[str, Any]:
    unit, guessed_hib, _ = infer_from_name(metric)
    out: dict[str, Any] = {"value": value, "unit": source.get("unit") or unit}
    out["higher_is_better"] = hib if isinstance(hib, bool) else guessed_hib
    for t in _THRESHOLDS:
        if t in source:
            out[t] = source[t]
    out["notes"] = note
    return out


def _from_cases(
    cases: dict[str, Any], benches: list[str], bench_dir: str, notes: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ungated: dict[str, int] = {}
    for case, entry in cases.items():
        if not isinstance(entry, dict):
            notes.append(f"case {case!r}: not an object, left out")
            continue
        metric = entry.get("metric")
        value = positive_finite(entry.get("value"))
        if not isinstance(metric, str) or name_problem(metric) or value is None:
            notes.append(f"case {case!r}: no gated 'metric' with a positive 'value', left out")
            continue
        candidates = bench_candidates(case, entry, bench_dir)
        found = [c for c in candidates if c in benches]
        bench = found[0] if found else candidates[0]
        if not found and benches:
            near = difflib.get_close_matches(bench, benches, n=1, cutoff=0.6)
            hint = f" (is it {near[0]!r}? rename the key)" if near else ""
            notes.append(f"case {case!r}: no bench {bench!r} in the bench dir{hint}")
        key = f"{bench}.{metric}"
        if key in out:
            notes.append(f"case {case!r}: {key} already comes from another case, left out")
            continue
        source = f"migrated from cases[{case!r}]"
        if isinstance(entry.get("script"), str):
            source += f" ({entry['script']})"
        out[key] = _entry(value, entry.get("higher_is_better"), metric, entry, source)
        result = entry.get("result")
        for k in _dotted(result) if isinstance(result, dict) else []:
            if k != metric:
                ungated[k] = ungated.get(k, 0) + 1
    if ungated:
        # One note, not one per case: these were context in the old layout, never gated.
        shown = ", ".join(f"{k} ({n} cases)" if n > 1 else k for k, n in sorted(ungated.items()))
        notes.append(f"the other numbers of the cases' results were never gated: {shown}")
    return out


def _dotted(obj: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted names of a result's leaves, as benchgate reads them."""
    out: list[str] = []
    for k, v in obj.items():
        out += _dotted(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]
    return out


def _from_nested(data: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for bench, metrics in data.items():
        for metric, spec in metrics.items():
            src = spec if isinstance(spec, dict) else {"value": spec}
            value = positive_finite(src.get("value"))
            key = f"{_slug(bench)}.{metric}"
            if value is None or name_problem(metric):
                notes.append(f"{bench}/{metric}: no positive value, left out")
                continue
            out[key] = _entry(
                value, src.get("higher_is_better"), metric, src, f"migrated from {bench}/{metric}"
            )
    return out


def migrate_baselines(path: Path, benches: list[str], bench_dir: str) -> Migration:
    """Convert the baselines file at ``path`` to benchgate's layout (nothing written).

    ``benches`` are the bench names of the project (to attach cases to them), ``bench_dir``
    the bench dir relative to the root. BenchgateError naming the file when it is not
    JSON, of an unknown layout, or converts to no entry at all.
    """
    try:
        old_text = path.read_text(encoding="utf-8")
        data = json.loads(old_text)
    except FileNotFoundError:
        raise BenchgateError("not found: nothing to migrate", path) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BenchgateError(f"cannot be read as JSON ({exc})", path) from None
    layout = detect_layout(data)
    notes: list[str] = []
    if layout in ("benchgate", "empty"):
        parse_baselines_text(old_text, path)  # an invalid entry is still worth an error
        return Migration(layout, data, old_text, old_text, ["already benchgate's layout"])
    if layout == "meta-cases":
        new = _from_cases(data["cases"], benches, bench_dir, notes)
    elif layout == "nested":
        new = _from_nested(data, notes)
    else:
        raise BenchgateError(
            f"{describe_layout(layout, data)}: cannot migrate (known layouts: "
            '{"meta", "cases"} and {bench: {metric: value}})',
            path,
        )
    if not new:
        raise BenchgateError(f"{describe_layout(layout, data)}: no entry could be migrated", path)
    new_text = json.dumps(new, indent=2, ensure_ascii=False) + "\n"
    parse_baselines_text(new_text, path)  # what we write must read back as valid baselines
    return Migration(layout, new, old_text, new_text, notes)
