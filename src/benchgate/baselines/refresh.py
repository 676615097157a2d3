"""``benchgate refresh``: the method's refresh (sections 1 and 4-5) as one reviewed step.

:func:`plan_refresh` is pure: from the runs in the out-dir and the text of baselines.json
it decides which keys change, collects every refusal as a clear message, and produces the
new text. Nothing is written here except by :func:`write_refresh`, which the CLI calls
unless ``--dry-run``.

baselines.json is edited in place, not re-serialised: a small scanner records the span of
each top-level entry and of its ``value`` and ``notes`` fields (positions from
``json.JSONDecoder.raw_decode``), and only those spans are replaced. Untouched keys stay
byte-identical, key order and formatting are kept, new keys are appended in the file's own
style, so the refresh diff shows only what changed.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgate.baselines.file import parse_baselines_text
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.fsutil import atomic_write_text
from benchgate.judge.compare import compare, delta_pct, judge, refresh_decision, units_match
from benchgate.judge.reduce import reduce_runs
from benchgate.judge.stats import noise
from benchgate.model import (
    Baseline,
    Comparison,
    ReducedMetric,
    RunRecord,
    RunStatus,
    Status,
)
from benchgate.run.measure import determinism_problems

# The four legitimate reasons of section 1 of the method: no reason, no refresh.
REASONS = ("algorithmic", "feature", "deps", "hardware")
REASON_TEXT = {
    "algorithmic": "algorithmic change",
    "feature": "new feature shifts hot-path costs",
    "deps": "compiler/dependency upgrade",
    "hardware": "hardware/CI image change",
}
# Aggregation methods a refresh may use (the method names median and trimmed mean).
REFRESH_METHODS = ("median", "trimmed-mean")
METHOD_LABEL = {"median": "Median", "trimmed-mean": "Trimmed mean", "mean": "Mean"}

# The entry field a refresh writes its record into (how, where, when, why). `notes` are a
# person's and a refresh never changes them (docs/formats.md).
RECORD_FIELD = "refreshed"
# Markers written into the record; `benchgate check` looks for ACCEPTED_REGRESSION_MARK.
ACCEPTED_REGRESSION_MARK = "accepted regression"
NOISY_MARK = "noisy"

# Significant digits of a refreshed value: 6 is finer than any spread a benchmark has
# (0.001%), yet keeps the diff readable.
VALUE_DIGITS = 6


def format_value(x: float, digits: int = VALUE_DIGITS) -> str:
    """The JSON text of a refreshed value: ``digits`` significant digits, integral as int.

    ``1318273.4`` -> ``1318270``; ``520.41234`` -> ``520.412``; ``0.000123456789`` ->
    ``0.000123457``.
    """
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {x}")
    if x == 0:
        return "0"
    r = float(f"{x:.{digits}g}")
    if r.is_integer() and abs(r) < 1e21:
        return str(int(r))
    return repr(r)


# --- format-preserving editing of baselines.json ------------------------------------------

_WS = " \t\n\r"
_DECODER = json.JSONDecoder()


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


@dataclass
class _Member:
    """One ``"key": value`` pair of a JSON object, by positions in the text."""

    key: str
    key_start: int
    key_end: int
    value_start: int
    value_end: int


@dataclass
class _Object:
    """A JSON object's span (``{`` to after ``}``) and its members."""

    start: int
    end: int
    members: list[_Member]


def _scan_object(text: str, i: int) -> _Object:
    """Scan the object starting at ``text[i] == '{'``; values are skipped with raw_decode."""
    if i >= len(text) or text[i] != "{":
        raise ValueError(f"expected '{{' at offset {i}")
    j = _skip_ws(text, i + 1)
    members: list[_Member] = []
    if j < len(text) and text[j] == "}":
        return _Object(i, j + 1, members)
    while True:
        key, key_end = _DECODER.raw_decode(text, j)
        if not isinstance(key, str):
            raise ValueError(f"expected a key at offset {j}")
        colon = _skip_ws(text, key_end)
        if text[colon] != ":":
            raise ValueError(f"expected ':' at offset {colon}")
        v = _skip_ws(text, colon + 1)
        _, v_end = _DECODER.raw_decode(text, v)
        members.append(_Member(key, j, key_end, v, v_end))
        n = _skip_ws(text, v_end)
        if text[n] == ",":
            j = _skip_ws(text, n + 1)
            continue
        if text[n] == "}":
            return _Object(i, n + 1, members)
        raise ValueError(f"expected ',' or '}}' at offset {n}")


@dataclass
class _Style:
    """How members of an object are laid out: after ``{``, between members, before ``}``."""

    inner: str
    between: str
    close: str
    colon: str
    before_comma: str


def _style_of(text: str, obj: _Object) -> _Style:
    ms = obj.members
    first, last = ms[0], ms[-1]
    inner = text[obj.start + 1 : first.key_start]
    colon = text[first.key_end : first.value_start]
    if len(ms) >= 2:
        comma = _skip_ws(text, first.value_end)
        before_comma = text[first.value_end : comma]
        between = text[comma + 1 : ms[1].key_start]
    else:
        before_comma = ""
        between = inner if "\n" in inner else " "
    close = text[last.value_end : obj.end - 1]
    return _Style(inner, between, close, colon, before_comma)


def _dumps(s: str) -> str:
    # Non-ASCII text (names, arrows, dashes in notes) is written as is, in UTF-8.
    return json.dumps(s, ensure_ascii=False)


class BaselinesEditor:
    """Edits baselines.json text in place: only the spans that change are replaced."""

    def __init__(self, text: str) -> None:
        self.text = text
        start = _skip_ws(text, 0)
        self.root = _scan_object(text, start)
        self.entries: dict[str, _Object] = {}
        for m in self.root.members:
            if text[m.value_start] == "{":
                self.entries[m.key] = _scan_object(text, m.value_start)
        # (start, end, replacement), applied from the end so offsets stay valid.
        self._edits: list[tuple[int, int, str]] = []
        self._new: list[tuple[str, list[tuple[str, str]]]] = []

    def set_field(self, key: str, name: str, json_text: str, after: str | None = None) -> None:
        """Set field ``name`` of entry ``key`` to ``json_text``.

        An absent field is inserted right after field ``after`` when the entry has it
        (so the diff touches no other line: the anchor keeps its comma), else at the end.
        """
        obj = self.entries[key]
        for m in obj.members:
            if m.key == name:
                self._edits.append((m.value_start, m.value_end, json_text))
                return
        st = _style_of(self.text, obj)
        anchor = next((m for m in obj.members if m.key == after), obj.members[-1])
        insert = f"{st.before_comma},{st.between}{_dumps(name)}{st.colon}{json_text}"
        self._edits.append((anchor.value_end, anchor.value_end, insert))

    def add_entry(self, key: str, fields: list[tuple[str, str]]) -> None:
        """Append a new entry ``key`` with ``(name, json_text)`` fields, in the file's style."""
        if key in self.entries or any(k == key for k, _ in self._new):
            raise ValueError(f"key {key!r} already exists")
        self._new.append((key, fields))

    def _entry_text(self, fields: list[tuple[str, str]], st: _Style) -> str:
        parts = [f"{_dumps(k)}{st.colon}{v}" for k, v in fields]
        return "{" + st.inner + f"{st.before_comma},{st.between}".join(parts) + st.close + "}"

    def render(self) -> str:
        """The edited text."""
        text = self.text
        edits = list(self._edits)
        if self._new:
            edits.append(self._new_entries_edit())
        for start, end, repl in sorted(edits, key=lambda e: e[0], reverse=True):
            text = text[:start] + repl + text[end:]
        return text

    def _new_entries_edit(self) -> tuple[int, int, str]:
        root = self.root
        if not root.members:
            # An empty object ("{}" from `benchgate init`): two-space indentation.
            entry_style = _Style("\n    ", "\n    ", "\n  ", ": ", "")
            body = ",\n  ".join(
                f"{_dumps(k)}: {self._entry_text(f, entry_style)}" for k, f in self._new
            )
            return (root.start, root.end, "{\n  " + body + "\n}")
        top = _style_of(self.text, root)
        # The last entry that is an object shows how this file lays entries out.
        ref = next(
            (self.entries[m.key] for m in reversed(root.members) if m.key in self.entries), None
        )
        entry_style = (
            _style_of(self.text, ref)
            if ref is not None and ref.members
            else _Style("\n    ", "\n    ", "\n  ", ": ", "")
        )
        last = root.members[-1]
        insert = "".join(
            f"{top.before_comma},{top.between}{_dumps(k)}{top.colon}"
            f"{self._entry_text(f, entry_style)}"
            for k, f in self._new
        )
        return (last.value_end, last.value_end, insert)


# --- the plan --------------------------------------------------------------------------


@dataclass
class RefreshOptions:
    """What ``benchgate refresh`` was asked to do."""

    reason: str | None
    why: str | None
    only: list[str] | None = None
    method: str = "median"
    min_runs: int = 5
    accept_regression: list[str] = field(default_factory=list)
    allow_noisy: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    drop_disturbed: bool = False
    # The date written into notes and the report (default: the date of the latest run used).
    date: str | None = None


@dataclass
class KeyChange:
    """One key a refresh sets: old and new value, the notes, what was accepted."""

    key: str
    old: float | None  # None for a NEW key
    new: float
    new_text: str  # the JSON text written
    unit: str
    higher_is_better: bool
    metric: ReducedMetric
    notes: str  # the refresh's record, written to the entry's `refreshed` field
    status: Status  # the new value judged against the old one (NEW for a new key)
    noisy_allowed: bool = False
    regression_accepted: bool = False
    # The entry is a sample baseline ("values": [...]): its per-run values are rewritten
    # with the runs the new value comes from, so its interval does not rest on old runs.
    rewrite_values: bool = False

    @property
    def delta_pct(self) -> float | None:
        return None if self.old is None else delta_pct(self.old, self.new)

    @property
    def is_new(self) -> bool:
        return self.old is None


@dataclass
class RefreshPlan:
    """Everything a refresh decided; ``ok`` when there is no refusal."""

    options: RefreshOptions
    decision: str  # section 4 of the method in one sentence
    comparison: Comparison
    changes: list[KeyChange]
    refusals: list[str]
    warnings: list[str]
    unchanged: list[str]  # measured keys whose value is the same at the written precision
    left_alone: list[str]  # baseline keys not refreshed, with why
    env: dict[str, Any]  # the one environment the runs used were made in
    previous_env: dict[str, Any] | None
    runs_used: list[RunRecord]
    caveats: list[str]  # the user's --caveat lines plus the ones benchgate found
    date: str
    old_text: str
    new_text: str

    @property
    def ok(self) -> bool:
        return not self.refusals

    @property
    def changed(self) -> bool:
        return self.ok and self.new_text != self.old_text


def unified_diff(old: str, new: str, label: str) -> str:
    """The unified diff of two texts (empty when they are equal)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{label}",
        tofile=f"b/{label}",
    )
    out = []
    for ln in lines:
        out.append(ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n")
    return "".join(out)


def cpus_text(cpus: Any) -> str:
    """``[2, 3, 4, 7]`` -> ``"2-4,7"``; ``"all"``/None -> ``"all"``."""
    if not isinstance(cpus, list) or not cpus:
        return "all"
    try:
        xs = sorted({int(c) for c in cpus})
    except (TypeError, ValueError):
        return ",".join(str(c) for c in cpus)
    parts = []
    start = prev = xs[0]
    for c in [*xs[1:], None]:
        if c is not None and c == prev + 1:
            prev = c
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if c is not None:
            start = prev = c
    return ",".join(parts)


def _fingerprint(env: dict[str, Any]) -> str:
    fp = env.get("fingerprint")
    if fp:
        return str(fp)
    if not env:
        return ""
    from benchgate.machine.environment import fingerprint

    return fingerprint(env)


def _group_label(runs: list[RunRecord]) -> str:
    first = min(r.started for r in runs)
    calls = len({r.invocation for r in runs})
    what = f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
    return f"in {what} from {first[:16]} ({calls} call{'s' if calls != 1 else ''})"


def environment_refusal(runs: list[RunRecord]) -> str | None:
    """A refusal naming what differs when ``runs`` come from more than one environment."""
    groups: dict[str, list[RunRecord]] = {}
    for r in runs:
        groups.setdefault(_fingerprint(r.env), []).append(r)
    if len(groups) <= 1:
        return None
    from benchgate.machine.environment import diff_environments

    ordered = sorted(groups.values(), key=lambda rs: max(r.started for r in rs), reverse=True)
    latest = ordered[0]
    here = max(latest, key=lambda r: r.started).env
    diffs: list[str] = []
    for other in ordered[1:]:
        there = max(other, key=lambda r: r.started).env
        if not here or not there:
            bare = other if not there else latest
            diffs.append(f"no environment recorded {_group_label(bare)}")
            continue
        found = diff_environments(here, there, _group_label(latest), _group_label(other))
        diffs.extend(found or [f"environment fingerprints differ {_group_label(other)}"])
    return (
        f"the runs come from {len(groups)} different environments and are not mixed: "
        + "; ".join(diffs)
        + ". Measure again in one environment (`benchgate run --repeat 5` without --append), "
        "or refresh only keys measured in one (--only)"
    )


def _changed_deps(env: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
    """``name version`` of the distributions whose version differs from the previous env."""
    now = env.get("distributions")
    before = (previous or {}).get("distributions")
    if not isinstance(now, dict) or not isinstance(before, dict):
        return []
    return [f"{k} {v}" for k, v in sorted(now.items()) if before.get(k) != v]


def compose_notes(
    method: str,
    n: int,
    env: dict[str, Any],
    date: str,
    reason: str,
    why: str,
    previous_env: dict[str, Any] | None = None,
    noisy: str | None = None,
    regression: str | None = None,
) -> str:
    """The notes of a refreshed key: how, where, when, why and what was accepted.

    For example ``Median of 5 runs on AMD EPYC 7B13 (cpus 2-3); Python 3.12.3;
    msgspec 0.18.6; 2026-11-26; reason: deps — msgspec 0.18 -> 0.19``. Dependencies are
    listed when their versions differ from the previous refresh's environment (four at
    most; report.md has them all).
    """
    head = f"{METHOD_LABEL.get(method, method)} of {n} runs"
    cpu = env.get("cpu_model")
    if cpu:
        head += f" on {cpu}"
    cpus = cpus_text(env.get("cpus"))
    if cpus != "all":
        head += f" (cpus {cpus})"
    parts = [head]
    if env.get("python"):
        parts.append(f"Python {env['python']}")
    deps = _changed_deps(env, previous_env)
    parts.extend(deps[:4])
    if len(deps) > 4:
        parts.append(f"+{len(deps) - 4} more dependency changes (report.md)")
    parts.append(date)
    if noisy:
        parts.append(noisy)
    if regression:
        parts.append(regression)
    parts.append(f"reason: {reason} — {why}")
    return "; ".join(parts)


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _check_reason(options: RefreshOptions) -> tuple[str, str]:
    reason = (options.reason or "").strip().lower()
    why = " ".join((options.why or "").split())
    if not reason:
        raise BenchgateError(
            "no reason, no refresh: pass --reason " + "|".join(REASONS) + " and --why TEXT "
            "(the method's legitimate reasons; a one-off regression or a red CI is not one)",
            key="--reason",
        )
    if reason not in REASONS:
        raise BenchgateError(
            f"{options.reason!r} is not a legitimate reason (choose from {', '.join(REASONS)})",
            key="--reason",
        )
    if not why:
        raise BenchgateError(
            "say why in a sentence: what changed and why the shift is acceptable", key="--why"
        )
    if options.method not in REFRESH_METHODS:
        raise BenchgateError(
            f"unknown method {options.method!r} (choose from {', '.join(REFRESH_METHODS)})",
            key="--method",
        )
    if options.min_runs < 1:
        raise BenchgateError("must be at least 1", key="--min-runs")
    return reason, why


def _check_key_names(names: Iterable[str], option: str) -> None:
    for k in names:
        if "." not in k or k.startswith(".") or k.endswith("."):
            raise BenchgateError(f"{k!r} is not a <bench>.<metric> key", key=option)


def plan_refresh(
    config: Config,
    runs_by_bench: dict[str, list[RunRecord]],
    baselines_text: str,
    options: RefreshOptions,
    previous_env: dict[str, Any] | None = None,
) -> RefreshPlan:
    """Decide a refresh: what changes, every refusal, and the new baselines.json text.

    ``baselines_text`` is the current content of baselines.json; ``previous_env`` the
    environment of the last refresh (from report.md) for the notes and caveats.
    BenchgateError for bad input (no or unknown reason, invalid baselines.json, bad keys).
    """
    reason, why = _check_reason(options)
    source = config.baselines_path
    baselines = parse_baselines_text(
        baselines_text, source, config.degradation_pct_max, config.variance_pct_warn
    )
    only = list(dict.fromkeys(options.only or []))
    _check_key_names(only, "--only")
    _check_key_names(options.accept_regression, "--accept-regression")
    _check_key_names(options.allow_noisy, "--allow-noisy")

    reduced = reduce_runs(runs_by_bench, options.method, options.drop_disturbed)
    comparison = compare(reduced, baselines)
    decision = refresh_decision(comparison)
    verdicts = {v.key: v for v in comparison.verdicts}

    refusals: list[str] = []
    warnings: list[str] = []
    left_alone: list[str] = []

    if only:
        keys = only
        for k in baselines:
            if k not in only:
                left_alone.append(f"{k}: not named in --only")
    elif not baselines:
        # The first refresh after `benchgate init` ({}): every measured key is added, with
        # the same checks (runs, noise, one environment) as any refresh.
        keys = list(reduced.metrics)
        if keys:
            warnings.append(
                f"baselines.json is empty: adding every measured key ({len(keys)}) as the "
                "first baselines (--only KEY,... adds fewer)"
            )
        for name, summary in reduced.benches.items():
            if summary.status is not RunStatus.OK:
                left_alone.append(
                    f"{name}: {summary.status.value.upper()} "
                    f"({summary.reason or 'no metrics'}): not added"
                )
    else:
        keys = [k for k in baselines if k in reduced.metrics]
        for k in baselines:
            if k in reduced.metrics:
                continue
            v = verdicts.get(k)
            status = v.status.label if v else "MISSING"
            left_alone.append(f"{k}: {status} ({(v.reason if v else None) or 'not measured'})")
        unnamed_new = [k for k in reduced.metrics if k not in baselines]
        if unnamed_new:
            warnings.append(
                f"{len(unnamed_new)} new metric(s) not added: {', '.join(unnamed_new)} "
                "(name them with --only to add them in the change that introduces them)"
            )

    chosen: list[tuple[str, ReducedMetric, Baseline | None]] = []
    for k in keys:
        m = reduced.metrics.get(k)
        if m is not None:
            chosen.append((k, m, baselines.get(k)))
            continue
        bench_name = k.split(".", 1)[0]
        bench = reduced.benches.get(bench_name)
        if bench is None:
            refusals.append(f"{k}: not measured: the out-dir holds no runs of bench {bench_name!r}")
        elif bench.status is RunStatus.SKIPPED:
            refusals.append(
                f"{k}: SKIPPED ({bench.reason or 'unavailable here'}): "
                "a skipped metric is never refreshed"
            )
        elif bench.status is RunStatus.ERROR:
            refusals.append(
                f"{k}: ERROR ({bench.reason or 'bench failed'}): fix the bench and measure again"
            )
        else:
            refusals.append(f"{k}: not measured: bench {bench_name!r} ran but did not report it")
    if not chosen and not refusals:
        refusals.append(
            "nothing to refresh: no key of baselines.json was measured in the out-dir "
            "(run `benchgate run --repeat 5` first, or name new keys with --only)"
            if baselines
            else "nothing to refresh: baselines.json is empty and the out-dir holds no "
            "measured metric (run `benchgate run --repeat 5` first)"
        )

    used_ids = {rid for _, m, _ in chosen for rid in m.run_ids}
    runs_used = sorted(
        (r for rs in runs_by_bench.values() for r in rs if r.run_id in used_ids),
        key=lambda r: r.started,
    )
    mixed = environment_refusal(runs_used)
    if mixed:
        refusals.append(mixed)
    env: dict[str, Any] = dict(runs_used[-1].env) if runs_used else {}
    date = options.date or (runs_used[-1].started[:10] if runs_used else "")

    allow_noisy = set(options.allow_noisy)
    accept = set(options.accept_regression)
    changes: list[KeyChange] = []
    unchanged: list[str] = []
    for k, m, b in chosen:
        n = m.spread.n
        deg = b.degradation_pct_max if b else config.degradation_pct_max
        warn = b.variance_pct_warn if b else config.variance_pct_warn
        hib = b.higher_is_better if b and b.higher_is_better is not None else m.higher_is_better
        unit = b.unit if b else m.unit
        if n < options.min_runs:
            refusals.append(
                f"{k}: only {n} run{'s' if n != 1 else ''}, at least {options.min_runs} needed "
                "(`benchgate run --append` adds runs; single-run decisions are a pitfall)"
            )
        if b is not None and not m.inferred and not units_match(m.unit, b.unit):
            refusals.append(
                f"{k}: the runs report {m.unit!r} but baselines.json has {b.unit!r}: numbers in "
                "different units are not a refresh (fix the bench, or change the unit in its "
                "own reviewed change)"
            )
            continue
        if b is None and m.inferred:
            warnings.append(
                f"{k}: unit {m.unit!r} and direction were guessed from the metric's name; "
                "check them in baselines.json"
            )
        nz = noise(m.spread)
        noisy_note: str | None = None
        if nz > warn:
            figures = (
                f"IQR/median {_pct(nz)} across {n} runs is over its variance_pct_warn "
                f"{_pct(warn)} (min {m.spread.min:g}, max {m.spread.max:g}, CV {_pct(m.spread.cv)})"
            )
            if k in allow_noisy:
                noisy_note = f"{NOISY_MARK}: {figures}, allowed with --allow-noisy"
            else:
                refusals.append(
                    f"{k}: noisy: {figures}. Stabilise the machine (`benchgate doctor`, pin "
                    "CPUs) and measure again, or name it in --allow-noisy"
                )
        if m.value <= 0:
            refusals.append(f"{k}: reduced value {m.value:g} is not positive")
            continue
        new_text = format_value(m.value)
        new = float(new_text)
        regression_note: str | None = None
        if b is None:
            status = Status.NEW
        else:
            status = judge(b.value, new, hib, deg, warn)
            if status is Status.FAIL:
                d = delta_pct(b.value, new)
                if k in accept:
                    regression_note = (
                        f"{ACCEPTED_REGRESSION_MARK}: {d:+.1f}% from {b.value:g}, past its "
                        f"{_pct(deg)} degradation threshold (--accept-regression)"
                    )
                else:
                    refusals.append(
                        f"{k}: {d:+.1f}% from {b.value:g} {unit} moves the baseline past its "
                        f"{_pct(deg)} degradation threshold in the worse direction: fix the "
                        "regression, or accept it explicitly with --accept-regression "
                        "(recorded in the notes)"
                    )
            if new == b.value:
                unchanged.append(k)
                continue
        notes = compose_notes(
            options.method, n, env, date, reason, why, previous_env, noisy_note, regression_note
        )
        changes.append(
            KeyChange(
                key=k,
                old=b.value if b else None,
                new=new,
                new_text=new_text,
                unit=unit,
                higher_is_better=hib,
                metric=m,
                notes=notes,
                status=status,
                noisy_allowed=noisy_note is not None,
                regression_accepted=regression_note is not None,
                rewrite_values=b is not None and "values" in b.raw,
            )
        )

    warnings.extend(determinism_problems(m for _, m, _ in chosen))  # counts repeat exactly
    chosen_keys = {k for k, _, _ in chosen}
    for name, given in (("--allow-noisy", allow_noisy), ("--accept-regression", accept)):
        stray = sorted(given - chosen_keys)
        if stray:
            warnings.append(f"{name} names keys that are not refreshed: {', '.join(stray)}")
    if not only and not refusals and unchanged and not changes:
        warnings.append("every measured value is the same at the written precision")

    caveats = [c.strip() for c in options.caveats if c.strip()]
    caveats += auto_caveats(runs_used, changes, baselines, env, previous_env, reduced.benches)
    new_text = baselines_text
    if not refusals and changes:
        new_text = apply_changes(baselines_text, changes, config)
    return RefreshPlan(
        options=options,
        decision=decision,
        comparison=comparison,
        changes=changes,
        refusals=refusals,
        warnings=warnings,
        unchanged=unchanged,
        left_alone=left_alone,
        env=env,
        previous_env=previous_env,
        runs_used=runs_used,
        caveats=caveats,
        date=date,
        old_text=baselines_text,
        new_text=new_text,
    )


def auto_caveats(
    runs_used: list[RunRecord],
    changes: list[KeyChange],
    baselines: dict[str, Baseline],
    env: dict[str, Any],
    previous_env: dict[str, Any] | None,
    benches: dict[str, Any],
) -> list[str]:
    """Caveats benchgate can see for itself: accepted noise/regressions, env changes, ..."""
    out: list[str] = []
    for c in changes:
        if c.noisy_allowed:
            out.append(
                f"`{c.key}` is noisy (IQR/median {_pct(noise(c.metric.spread))}); "
                "refreshed anyway with --allow-noisy"
            )
        if c.regression_accepted and c.delta_pct is not None:
            out.append(
                f"`{c.key}` accepts a regression of {c.delta_pct:+.1f}% (--accept-regression)"
            )
    disturbed = sum(1 for r in runs_used if r.disturbed)
    if disturbed:
        out.append(
            f"{disturbed} of the {len(runs_used)} runs used were disturbed by other processes"
        )
    failed = [
        f"{name} ({b.reason})"
        for name, b in benches.items()
        if b.status is RunStatus.OK and b.reason and any(c.metric.bench == name for c in changes)
    ]
    if failed:
        out.append("some runs failed: " + "; ".join(failed))
    if runs_used and not env:
        out.append("the runs record no environment: the report cannot say where they were made")
    if previous_env and env and _fingerprint(previous_env) != _fingerprint(env):
        from benchgate.machine.environment import diff_environments

        diffs = diff_environments(env, previous_env, "now", "at the previous refresh")
        what = "; ".join(diffs) if diffs else "fingerprint differs"
        changed = {c.key for c in changes}
        kept = [k for k in baselines if k not in changed]
        line = f"the environment differs from the previous refresh's: {what}"
        if kept:
            line += (
                f"; {len(kept)} key(s) not refreshed here keep values measured in the old "
                "environment"
            )
        out.append(line)
    return out


def apply_changes(text: str, changes: list[KeyChange], config: Config) -> str:
    """``text`` with each change's value and record set; new keys appended in the file's style.

    The record (how, where, when, why) goes into the entry's ``refreshed`` field; ``notes``
    belong to people and are kept byte for byte, like every other field (unit, thresholds,
    unknown ones), except a sample baseline's ``values``, rewritten with the runs the new
    value comes from. New entries get value, unit, the default thresholds, the direction
    and the record.
    """
    editor = BaselinesEditor(text)
    for c in changes:
        if c.is_new:
            editor.add_entry(
                c.key,
                [
                    ("value", c.new_text),
                    ("unit", _dumps(c.unit)),
                    ("degradation_pct_max", repr(float(config.degradation_pct_max))),
                    ("variance_pct_warn", repr(float(config.variance_pct_warn))),
                    ("higher_is_better", "true" if c.higher_is_better else "false"),
                    (RECORD_FIELD, _dumps(c.notes)),
                ],
            )
        else:
            editor.set_field(c.key, "value", c.new_text)
            # The record goes in its own field; a person's `notes` are never touched. An
            # absent record goes right after the value, whose line changes anyway: the diff
            # then shows one changed line and one added line per key, nothing else.
            editor.set_field(c.key, RECORD_FIELD, _dumps(c.notes), after="value")
            if c.rewrite_values:
                values = ", ".join(format_value(v) for v in c.metric.values)
                editor.set_field(c.key, "values", f"[{values}]")
    new_text = editor.render()
    # Belt and braces: the result must parse to exactly the intended values.
    parsed = parse_baselines_text(
        new_text, config.baselines_path, config.degradation_pct_max, config.variance_pct_warn
    )
    for c in changes:
        got = parsed.get(c.key)
        if (
            got is None or got.value != c.new or got.raw.get(RECORD_FIELD) != c.notes
        ):  # pragma: no cover
            raise BenchgateError("internal error: the edit did not apply cleanly", key=c.key)
    return new_text


def write_refresh(config: Config, plan: RefreshPlan, report_text: str | None) -> list[Path]:
    """Write baselines.json (and report.md when given), each atomically; the paths written."""
    if not plan.ok:
        raise BenchgateError("refused: nothing written")
    written: list[Path] = []
    if plan.new_text != plan.old_text:
        atomic_write_text(config.baselines_path, plan.new_text)
        written.append(config.baselines_path)
    if report_text is not None:
        atomic_write_text(config.report_path, report_text)
        written.append(config.report_path)
    return written
