"""``benchgate refresh``: new baseline values as one reviewed step, or clear refusals.

:func:`plan_refresh` is pure: from the runs in the out-dir and the text of baselines.json
it decides which keys change, collects every refusal as a clear message, and produces the
new text. Nothing is written here except by :func:`write_refresh`, which the CLI calls
unless ``--dry-run``. baselines.json is edited in place, not re-serialised
(:mod:`benchgate.baselines.editor`), so the refresh diff shows only what changed.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgate.baselines.decision import refresh_decision
from benchgate.baselines.editor import BaselinesEditor, dumps_json_string
from benchgate.baselines.file import parse_baselines_text
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.fsutil import atomic_write_text
from benchgate.judge.compare import compare, delta_pct, judge, units_match
from benchgate.judge.reduce import reduce_runs
from benchgate.judge.stats import noise
from benchgate.machine.environment import diff_environments, fingerprint
from benchgate.model import (
    Baseline,
    BenchSummary,
    Comparison,
    ReducedMetric,
    RunRecord,
    RunStatus,
    Status,
)
from benchgate.render import fmt
from benchgate.run.measure import determinism_problems

# The four legitimate reasons to move a baseline: no reason, no refresh.
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

# Significant digits of a refreshed value (see fmt.stored_value).
VALUE_DIGITS = fmt.STORED_DIGITS


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
    # The per-run values the new value is reduced from are written with it ("values"), so
    # every later comparison with this entry is two-sample (its interval counts the
    # baseline's own spread); False only for callers that want the value alone.
    rewrite_values: bool = True
    # The commit the runs measured ("measured_commit"): `compare --confirm` re-measures it
    # interleaved with the working tree. None when the runs disagree or were made on a
    # checkout with uncommitted changes (no commit holds the code they measured).
    measured_commit: str | None = None

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
    decision: str  # whether a refresh is warranted, in one sentence
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


def _fingerprint(env: dict[str, Any]) -> str:
    fp = env.get("fingerprint")
    if fp:
        return str(fp)
    if not env:
        return ""

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
    cpus = fmt.cpus(env.get("cpus"))
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


def unmeasured_refusal(key: str, benches: dict[str, BenchSummary]) -> str:
    """Why a key named for refreshing has no value in the out-dir."""
    bench_name = key.split(".", 1)[0]
    bench = benches.get(bench_name)
    if bench is None:
        return f"{key}: not measured: the out-dir holds no runs of bench {bench_name!r}"
    if bench.status is RunStatus.SKIPPED:
        return (
            f"{key}: SKIPPED ({bench.reason or 'unavailable here'}): "
            "a skipped metric is never refreshed"
        )
    if bench.status is RunStatus.ERROR:
        return f"{key}: ERROR ({bench.reason or 'bench failed'}): fix the bench and measure again"
    return f"{key}: not measured: bench {bench_name!r} ran but did not report it"


@dataclass
class KeyContext:
    """One key a refresh would set: its reduced metric, its entry, what was asked."""

    key: str
    metric: ReducedMetric
    baseline: Baseline | None
    options: RefreshOptions
    config: Config

    @property
    def deg(self) -> float:
        b = self.baseline
        return b.degradation_pct_max if b else self.config.degradation_pct_max

    @property
    def warn(self) -> float:
        b = self.baseline
        return b.variance_pct_warn if b else self.config.variance_pct_warn

    @property
    def hib(self) -> bool:
        b = self.baseline
        return (
            b.higher_is_better
            if b and b.higher_is_better is not None
            else self.metric.higher_is_better
        )

    @property
    def unit(self) -> str:
        return self.baseline.unit if self.baseline else self.metric.unit

    @property
    def new_text(self) -> str:
        """The JSON text the value is written as."""
        return fmt.stored_value(self.metric.value)

    @property
    def new(self) -> float:
        """The value as written (what the gate will compare with)."""
        return float(self.new_text)

    @property
    def status(self) -> Status:
        """The written value judged against the old one (NEW for a new key)."""
        b = self.baseline
        return Status.NEW if b is None else judge(b.value, self.new, self.hib, self.deg, self.warn)


@dataclass
class KeyFinding:
    """What one rule found about a key: a refusal, a warning, or a note of what is accepted."""

    refusal: str | None = None
    warning: str | None = None
    note: str | None = None  # written into the key's notes
    accepted: str | None = None  # NOISY_MARK or ACCEPTED_REGRESSION_MARK, with ``note``
    final: bool = False  # the key cannot be judged further (later rules are not asked)


KeyRule = Callable[[KeyContext], KeyFinding | None]


def refuse_few_runs(c: KeyContext) -> KeyFinding | None:
    """Single-run decisions are a pitfall: at least --min-runs runs per key."""
    n = c.metric.spread.n
    if n >= c.options.min_runs:
        return None
    return KeyFinding(
        f"{c.key}: only {n} run{'s' if n != 1 else ''}, at least {c.options.min_runs} needed "
        "(`benchgate run --append` adds runs; single-run decisions are a pitfall)"
    )


def refuse_unit_change(c: KeyContext) -> KeyFinding | None:
    """Numbers in another unit are not a refresh."""
    b, m = c.baseline, c.metric
    if b is None or m.inferred or units_match(m.unit, b.unit):
        return None
    return KeyFinding(
        f"{c.key}: the runs report {m.unit!r} but baselines.json has {b.unit!r}: numbers in "
        "different units are not a refresh (fix the bench, or change the unit in its "
        "own reviewed change)",
        final=True,
    )


def warn_guessed_unit(c: KeyContext) -> KeyFinding | None:
    """A new key whose unit and direction were guessed from its name: say so."""
    if c.baseline is not None or not c.metric.inferred:
        return None
    return KeyFinding(
        warning=f"{c.key}: unit {c.metric.unit!r} and direction were guessed from the "
        "metric's name; check them in baselines.json"
    )


def refuse_noisy(c: KeyContext) -> KeyFinding | None:
    """A spread over variance_pct_warn is refused, unless --allow-noisy names the key."""
    s = c.metric.spread
    nz = noise(s)
    if nz <= c.warn:
        return None
    figures = (
        f"IQR/median {fmt.share(nz)} across {s.n} runs is over its variance_pct_warn "
        f"{fmt.share(c.warn)} (min {s.min:g}, max {s.max:g}, CV {fmt.share(s.cv)})"
    )
    if c.key in c.options.allow_noisy:
        note = f"{NOISY_MARK}: {figures}, allowed with --allow-noisy"
        return KeyFinding(note=note, accepted=NOISY_MARK)
    return KeyFinding(
        f"{c.key}: noisy: {figures}. Stabilise the machine (`benchgate doctor`, pin "
        "CPUs) and measure again, or name it in --allow-noisy"
    )


def refuse_non_positive(c: KeyContext) -> KeyFinding | None:
    """A value that is zero or negative is no measurement of a cost or a rate."""
    if c.metric.value > 0:
        return None
    return KeyFinding(f"{c.key}: reduced value {c.metric.value:g} is not positive", final=True)


def refuse_regression(c: KeyContext) -> KeyFinding | None:
    """A value past its degradation threshold the worse way needs --accept-regression."""
    b = c.baseline
    if b is None or c.status is not Status.FAIL:
        return None
    d = delta_pct(b.value, c.new)
    if c.key in c.options.accept_regression:
        note = (
            f"{ACCEPTED_REGRESSION_MARK}: {fmt.pct(d)} from {b.value:g}, past its "
            f"{fmt.share(c.deg)} degradation threshold (--accept-regression)"
        )
        return KeyFinding(note=note, accepted=ACCEPTED_REGRESSION_MARK)
    return KeyFinding(
        f"{c.key}: {fmt.pct(d)} from {b.value:g} {c.unit} moves the baseline past its "
        f"{fmt.share(c.deg)} degradation threshold in the worse direction: fix the "
        "regression, or accept it explicitly with --accept-regression (recorded in the notes)"
    )


# The per-key refusals of a refresh, in the order they are reported. Add one: a function
# of the KeyContext returning a KeyFinding (or None when the key is fine), listed here.
KEY_RULES: list[KeyRule] = [
    refuse_few_runs,
    refuse_unit_change,
    warn_guessed_unit,
    refuse_noisy,
    refuse_non_positive,
    refuse_regression,
]


def key_findings(key: KeyContext) -> list[KeyFinding]:
    """Every rule's finding about ``key``, up to the first one that is final."""
    out: list[KeyFinding] = []
    for rule in KEY_RULES:
        found = rule(key)
        if found is not None:
            out.append(found)
            if found.final:
                break
    return out


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
        refusals.append(unmeasured_refusal(k, reduced.benches))
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
        key = KeyContext(k, m, b, options, config)
        findings = key_findings(key)
        refusals += [f.refusal for f in findings if f.refusal]
        warnings += [f.warning for f in findings if f.warning]
        if any(f.final for f in findings):
            continue
        noisy_note = next((f.note for f in findings if f.accepted == NOISY_MARK), None)
        regression_note = next(
            (f.note for f in findings if f.accepted == ACCEPTED_REGRESSION_MARK), None
        )
        if b is not None and key.new == b.value:
            unchanged.append(k)
            continue
        notes = compose_notes(
            options.method, m.spread.n, env, date, reason, why, previous_env, noisy_note,
            regression_note,
        )  # fmt: skip
        changes.append(
            KeyChange(
                key=k,
                old=b.value if b else None,
                new=key.new,
                new_text=key.new_text,
                unit=key.unit,
                higher_is_better=key.hib,
                metric=m,
                notes=notes,
                status=key.status,
                noisy_allowed=noisy_note is not None,
                regression_accepted=regression_note is not None,
                measured_commit=measured_commit(runs_by_bench, m),
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
                f"`{c.key}` is noisy (IQR/median {fmt.share(noise(c.metric.spread))}); "
                "refreshed anyway with --allow-noisy"
            )
        if c.regression_accepted and c.delta_pct is not None:
            out.append(
                f"`{c.key}` accepts a regression of {fmt.pct(c.delta_pct)} (--accept-regression)"
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
            fields = [
                ("value", c.new_text),
                ("unit", dumps_json_string(c.unit)),
                ("degradation_pct_max", repr(float(config.degradation_pct_max))),
                ("variance_pct_warn", repr(float(config.variance_pct_warn))),
                ("higher_is_better", "true" if c.higher_is_better else "false"),
                (RECORD_FIELD, dumps_json_string(c.notes)),
            ]
            if c.rewrite_values:
                fields.append(("values", _values_text(c.metric.values)))
            if c.measured_commit:
                fields.append(("measured_commit", dumps_json_string(c.measured_commit)))
            editor.add_entry(c.key, fields)
        else:
            editor.set_field(c.key, "value", c.new_text)
            # The record goes in its own field; a person's `notes` are never touched. An
            # absent record goes right after the value, whose line changes anyway: the diff
            # then shows one changed line and one added line per key, nothing else.
            editor.set_field(c.key, RECORD_FIELD, dumps_json_string(c.notes), after="value")
            if c.rewrite_values:
                # A commit from an earlier refresh would point at code these runs did not
                # measure: replaced, or removed when these runs name none.
                if not c.measured_commit:
                    editor.remove_field(c.key, "measured_commit")
                editor.set_field(c.key, "values", _values_text(c.metric.values), after=RECORD_FIELD)
                if c.measured_commit:
                    editor.set_field(
                        c.key, "measured_commit", dumps_json_string(c.measured_commit), "values"
                    )
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


def _values_text(values: list[float]) -> str:
    """The JSON text of a per-run ``values`` list, each number as a refresh writes values."""
    return "[" + ", ".join(fmt.stored_value(v) for v in values) + "]"


def measured_commit(runs_by_bench: dict[str, list[RunRecord]], m: ReducedMetric) -> str | None:
    """The commit every run behind ``m`` measured, if they agree on one clean commit.

    None when any run records no commit, a checkout with uncommitted changes (no commit
    holds what it measured), or a commit other than the others'.
    """
    ids = set(m.run_ids)
    commits: set[str] = set()
    for r in runs_by_bench.get(m.bench, []):
        if r.run_id not in ids:
            continue
        g = r.env.get("git") if isinstance(r.env, dict) else None
        if not isinstance(g, dict) or g.get("dirty") is not False:
            return None
        c = g.get("commit")
        if not isinstance(c, str) or not c:
            return None
        commits.add(c)
    return commits.pop() if len(commits) == 1 else None


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
