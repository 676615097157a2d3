"""``benchgate check``: the reviewer checklist of a refresh PR, automated.

baselines.json and report.md are read at the base and head revisions through git and
each rule of the method becomes a checklist item that passes, fails, or does not apply:

- ``scope``: a refresh PR changes only baselines.json, report.md and README/docs;
- ``units-thresholds``: no unit, direction or threshold changed;
- ``removed``: no key removed;
- ``notes``: every changed value comes with new notes;
- ``report``: values changed, so report.md was updated;
- ``blanket``: no blanket shift (most keys moved the worse way by similar ratios);
- ``regression``: no value moved past its own degradation threshold in the worse
  direction without an accepted-regression note;
- ``rapid``: baselines.json was not already refreshed on the base branch within N days;
- ``evidence`` (with ``--evidence OUT_DIR``): new values lie within the spread there.

Each rule is a small pure function of a :class:`ReviewContext`, listed in :data:`RULES`
(like the doctor's checks); :func:`evaluate` applies them and :func:`run_check` gathers
the inputs from git. Renderers return text; nothing here prints.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgate.baselines.file import parse_baselines_text
from benchgate.baselines.history import EntryDelta, commit_deltas, diff_entries, entries_of
from benchgate.baselines.refresh import ACCEPTED_REGRESSION_MARK
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.gitutil import (
    changed_files,
    commit_info,
    default_branch,
    file_log,
    merge_base,
    relpath,
    resolve_rev,
    show_file,
    toplevel,
)
from benchgate.judge.compare import judge
from benchgate.judge.gate import load_out_dir
from benchgate.judge.reduce import current_reduced
from benchgate.model import ReducedSet, Status
from benchgate.render import fmt
from benchgate.run.protocol import direction_from_unit

# Blanket shift: at least this share of the keys present on both sides, and at least
# BLANKET_MIN_KEYS keys, moved the worse way by ratios within BLANKET_SIMILAR (a fraction,
# 0.03 = 3 percentage points) of their median.
BLANKET_SHARE = 0.8
BLANKET_MIN_KEYS = 3
BLANKET_SIMILAR = 0.03
# A new value "matches the evidence" when it lies within the runs' [min, max], widened by
# this relative tolerance for the rounding of refreshed values (6 significant digits).
EVIDENCE_TOLERANCE = 1e-5

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass
class CheckItem:
    """One line of the checklist."""

    rule: str
    title: str
    status: str  # pass, fail, skip (does not apply)
    details: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "status": self.status,
            "details": self.details,
        }


@dataclass
class CheckInputs:
    """Everything the rules look at, already read from git (or built by a test)."""

    baselines_rel: str
    report_rel: str
    old_baselines: str | None
    new_baselines: str | None
    old_report: str | None
    new_report: str | None
    changed_files: list[str]
    # For the rapid-edit rule: (short sha, iso date, subject) of earlier refreshes on the base
    # branch within the window; None when the rule could not be evaluated.
    recent_edits: list[tuple[str, str, str]] | None = None
    rapid_days: int = 7
    evidence: ReducedSet | None = None
    evidence_label: str | None = None


@dataclass
class CheckReport:
    """The checklist and what it was computed from."""

    base: str  # as given (or the default branch found)
    base_sha: str
    head: str
    head_sha: str
    merge_base: str
    baselines_rel: str
    deltas: list[EntryDelta]
    items: list[CheckItem]
    note: str | None = None  # e.g. "baselines.json not changed"

    @property
    def violations(self) -> list[CheckItem]:
        return [i for i in self.items if i.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "base_sha": self.base_sha,
            "head": self.head,
            "head_sha": self.head_sha,
            "merge_base": self.merge_base,
            "baselines": self.baselines_rel,
            "ok": self.ok,
            "violations": len(self.violations),
            "note": self.note,
            "changes": [d.to_dict() for d in self.deltas],
            "items": [i.to_dict() for i in self.items],
        }


def direction(entry: dict[str, Any]) -> bool:
    """higher_is_better of an entry: its own field, else implied by its unit, else True."""
    hib = entry.get("higher_is_better")
    if isinstance(hib, bool):
        return hib

    implied = direction_from_unit(str(entry.get("unit") or ""))
    return True if implied is None else implied


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _threshold(entry: dict[str, Any], name: str, default: float) -> Any:
    return entry.get(name, default)


def worse_shift(old: float, new: float, higher_is_better: bool) -> float:
    """How much worse ``new`` is than ``old``, as a fraction (negative when better)."""
    return (old - new) / old if higher_is_better else (new - old) / old


def is_scope_ok(path: str, baselines_rel: str, report_rel: str) -> bool:
    """True for the files a dedicated refresh PR may change: baselines, report, README, docs."""
    if path in (baselines_rel, report_rel):
        return True
    parts = path.split("/")
    if parts[-1].lower().startswith("readme"):
        return True
    return any(p.lower() in ("docs", "doc") for p in parts[:-1])


def _key_list(keys: list[str], limit: int = 10) -> str:
    shown = ", ".join(f"`{k}`" for k in keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


@dataclass
class ReviewContext:
    """What every rule of the checklist looks at: the inputs and the per-key deltas."""

    inputs: CheckInputs
    config: Config
    old: dict[str, Any]
    new: dict[str, Any] | None
    deltas: list[EntryDelta]

    @property
    def changed(self) -> list[EntryDelta]:
        """The keys whose value changed."""
        return [d for d in self.deltas if d.kind == "changed"]

    @property
    def common(self) -> list[str]:
        """Keys present at both revisions."""
        return [k for k in self.new or {} if k in self.old]

    def thresholds(self, entry: dict[str, Any]) -> tuple[Any, Any]:
        """(degradation_pct_max, variance_pct_warn) of an entry, config defaults filled in."""
        return (
            _threshold(entry, "degradation_pct_max", self.config.degradation_pct_max),
            _threshold(entry, "variance_pct_warn", self.config.variance_pct_warn),
        )


Rule = Callable[[ReviewContext], CheckItem]


def _status(failed: Any, applies: bool) -> str:
    return FAIL if failed else (PASS if applies else SKIP)


def rule_scope(ctx: ReviewContext) -> CheckItem:
    """A refresh of existing values is a dedicated PR: baselines, report, README/docs only."""
    i = ctx.inputs
    title = f"Only {i.baselines_rel}, {i.report_rel} and README/docs changed (dedicated PR)"
    if not ctx.deltas:
        return CheckItem("scope", title, SKIP, ["baselines.json not changed"])
    if all(d.kind == "added" for d in ctx.deltas):
        why = "only new metrics added: they land with the change that introduces them"
        return CheckItem("scope", title, SKIP, [why])
    extra = [f for f in i.changed_files if not is_scope_ok(f, i.baselines_rel, i.report_rel)]
    details = [f"also changes `{f}`" for f in extra[:20]]
    if len(extra) > 20:
        details.append(f"and {len(extra) - 20} more files")
    return CheckItem("scope", title, FAIL if extra else PASS, details)


def rule_units_thresholds(ctx: ReviewContext) -> CheckItem:
    """No unit, direction or threshold of an existing key changed."""
    problems = []
    for d in ctx.deltas:
        if d.old is None or d.new is None:
            continue
        if d.old.get("unit") != d.new.get("unit"):
            problems.append(
                f"`{d.key}`: unit {json.dumps(d.old.get('unit'))} -> "
                f"{json.dumps(d.new.get('unit'))}"
            )
        names = ("degradation_pct_max", "variance_pct_warn")
        for name, a, b in zip(names, ctx.thresholds(d.old), ctx.thresholds(d.new), strict=True):
            if a != b:
                problems.append(f"`{d.key}`: {name} {json.dumps(a)} -> {json.dumps(b)}")
        if direction(d.old) != direction(d.new):
            problems.append(
                f"`{d.key}`: higher_is_better {json.dumps(direction(d.old))} -> "
                f"{json.dumps(direction(d.new))}"
            )
    title = "Units, directions and thresholds preserved"
    return CheckItem("units-thresholds", title, _status(problems, bool(ctx.deltas)), problems)


def rule_removed(ctx: ReviewContext) -> CheckItem:
    """No key removed."""
    removed = [d.key for d in ctx.deltas if d.kind == "removed"]
    return CheckItem(
        "removed",
        "No key removed",
        _status(removed, bool(ctx.deltas)),
        [f"`{k}` removed" for k in removed],
    )


def rule_notes(ctx: ReviewContext) -> CheckItem:
    """Every changed value comes with new notes."""
    stale = [d.key for d in ctx.changed if not d.notes_changed]
    return CheckItem(
        "notes",
        "Every changed value has new notes (how, where, why)",
        _status(stale, bool(ctx.changed)),
        [f"`{k}`: value changed, notes did not" for k in stale],
    )


def rule_report(ctx: ReviewContext) -> CheckItem:
    """Values changed, so report.md was updated."""
    i, changed = ctx.inputs, ctx.changed
    title = f"{i.report_rel} updated with the methodology"
    if not changed:
        return CheckItem("report", title, SKIP, ["no value changed"])
    if i.new_report is None:
        return CheckItem("report", title, FAIL, [f"values changed but {i.report_rel} is absent"])
    if i.new_report == i.old_report:
        why = f"values of {len(changed)} key(s) changed but {i.report_rel} did not"
        return CheckItem("report", title, FAIL, [why])
    return CheckItem("report", title, PASS)


def _worse_shifts(ctx: ReviewContext) -> dict[str, float]:
    """Each changed key that moved the worse way -> by how much (a fraction)."""
    shifts: dict[str, float] = {}
    for d in ctx.changed:
        assert d.old is not None
        o, n = _num(d.old_value), _num(d.new_value)
        if o is None or n is None or o <= 0:
            continue
        s = worse_shift(o, n, direction(d.old))
        if s > 1e-9:
            shifts[d.key] = s
    return shifts


def rule_blanket(ctx: ReviewContext) -> CheckItem:
    """No blanket shift: most keys moved the worse way by similar ratios."""
    title = (
        f"No blanket shift (≥{BLANKET_SHARE:.0%} of keys, at least {BLANKET_MIN_KEYS}, moved "
        f"the worse way by similar ratios)"
    )
    if not ctx.changed:
        return CheckItem("blanket", title, SKIP, ["no value changed"])
    common = len(ctx.common)
    blanket = blanket_shift(_worse_shifts(ctx), common)
    if not blanket:
        return CheckItem("blanket", title, PASS)
    med, keys = blanket
    return CheckItem(
        "blanket",
        title,
        FAIL,
        [
            f"{len(keys)} of {common} keys moved the worse way by "
            f"{fmt.share(med)} ± {BLANKET_SIMILAR * 100:.0f} points: "
            f"{_key_list(sorted(keys))}; a blanket increase can hide regressions"
        ],
    )


def rule_regression(ctx: ReviewContext) -> CheckItem:
    """No value moved past its own degradation threshold without an accepted-regression note."""
    regressions: list[str] = []
    for d in ctx.changed:
        assert d.old is not None and d.new is not None
        o, n = _num(d.old_value), _num(d.new_value)
        if o is None or n is None or o <= 0:
            continue
        hib = direction(d.old)
        deg, warn = (_num(t) for t in ctx.thresholds(d.old))
        if deg is None or warn is None or judge(o, n, hib, deg, warn) is not Status.FAIL:
            continue
        if ACCEPTED_REGRESSION_MARK not in d.record_text.lower():
            regressions.append(
                f"`{d.key}`: {fmt.pct(-worse_shift(o, n, hib) * 100)} the worse way (from {o:g} "
                f"to {n:g}), past its {deg * 100:.0f}% degradation threshold, and the notes "
                f'record no "{ACCEPTED_REGRESSION_MARK}"'
            )
    return CheckItem(
        "regression",
        "No value moved past its degradation threshold without an accepted-regression note",
        _status(regressions, bool(ctx.changed)),
        regressions,
    )


def rule_rapid(ctx: ReviewContext) -> CheckItem:
    """baselines.json was not already refreshed on the base branch within N days."""
    i = ctx.inputs
    title = (
        f"No rapid edit: baselines not already refreshed on the base branch within "
        f"{i.rapid_days} days"
    )
    if not any(d.kind in ("changed", "removed") for d in ctx.deltas):
        return CheckItem("rapid", title, SKIP, ["no existing value changed"])
    if i.recent_edits is None:
        return CheckItem("rapid", title, SKIP, ["base branch history not available"])
    if not i.recent_edits:
        return CheckItem("rapid", title, PASS)
    details = [f"{sha} {date[:10]} {subject}" for sha, date, subject in i.recent_edits]
    details.append("aim for stable baselines between releases, not a refresh per change")
    return CheckItem("rapid", title, FAIL, details)


def rule_evidence(ctx: ReviewContext) -> CheckItem:
    """With ``--evidence OUT_DIR``: new values lie within the spread of the runs there."""
    i = ctx.inputs
    title = "New values match the evidence within its spread" + (
        f" ({i.evidence_label})" if i.evidence_label else ""
    )
    if i.evidence is None:
        return CheckItem("evidence", title, SKIP, ["no --evidence OUT_DIR given"])
    touched = [d for d in ctx.deltas if d.kind in ("changed", "added")]
    mismatches = evidence_mismatches(touched, i.evidence)
    return CheckItem("evidence", title, _status(mismatches, bool(touched)), mismatches)


# The checklist, in the order it is shown. Add a rule: a function of the context that
# returns one CheckItem, listed here.
RULES: list[Rule] = [
    rule_scope,
    rule_units_thresholds,
    rule_removed,
    rule_notes,
    rule_report,
    rule_blanket,
    rule_regression,
    rule_rapid,
    rule_evidence,
]


def evaluate(inputs: CheckInputs, config: Config) -> tuple[list[EntryDelta], list[CheckItem]]:
    """Apply every rule of :data:`RULES` to ``inputs``: the per-key deltas and the items.

    An invalid or deleted baselines.json is the one failure no other rule can look past.
    """
    new = entries_of(inputs.new_baselines)
    if inputs.new_baselines is not None:
        try:
            parse_baselines_text(
                inputs.new_baselines,
                inputs.baselines_rel,
                config.degradation_pct_max,
                config.variance_pct_warn,
            )
        except BenchgateError as exc:
            return [], [CheckItem("valid", "baselines.json is valid", FAIL, [str(exc)])]
    elif inputs.old_baselines is not None:
        deleted = ["baselines.json was deleted"]
        return [], [CheckItem("valid", "baselines.json is valid", FAIL, deleted)]
    old = entries_of(inputs.old_baselines) or {}
    ctx = ReviewContext(inputs, config, old, new, diff_entries(old, new))
    return ctx.deltas, [rule(ctx) for rule in RULES]


def blanket_shift(shifts: dict[str, float], common: int) -> tuple[float, list[str]] | None:
    """(median shift, keys) when the worse-way ``shifts`` make a blanket shift, else None.

    ``shifts`` maps each key that moved the worse way to how much (a fraction); ``common``
    is the number of keys present at both revisions. A blanket shift: the keys within
    BLANKET_SIMILAR of the median shift number at least BLANKET_MIN_KEYS and at least
    BLANKET_SHARE of ``common``.
    """
    if len(shifts) < BLANKET_MIN_KEYS or common <= 0:
        return None
    med = statistics.median(shifts.values())
    similar = [k for k, s in shifts.items() if abs(s - med) <= BLANKET_SIMILAR + 1e-12]
    if len(similar) >= BLANKET_MIN_KEYS and len(similar) >= BLANKET_SHARE * common - 1e-9:
        return med, similar
    return None


def evidence_mismatches(deltas: list[EntryDelta], evidence: ReducedSet) -> list[str]:
    """The new values that lie outside [min, max] of the runs in the evidence."""
    out = []
    for d in deltas:
        v = _num(d.new_value)
        m = evidence.metrics.get(d.key)
        if m is None:
            out.append(f"`{d.key}`: not measured in the evidence")
            continue
        if v is None:
            continue
        lo = m.spread.min * (1 - EVIDENCE_TOLERANCE)
        hi = m.spread.max * (1 + EVIDENCE_TOLERANCE)
        if not lo <= v <= hi:
            out.append(
                f"`{d.key}`: {v:g} is outside the {m.spread.n} runs' range "
                f"[{m.spread.min:g}, {m.spread.max:g}] ({m.method} {m.value:g})"
            )
    return out


def _recent_edits(
    top: Path, rel: str, base_sha: str, head_ts: int, days: int
) -> list[tuple[str, str, str]]:
    """Earlier changes of existing values on the base branch within ``days`` of the head."""
    since = head_ts - days * 86400
    out = []
    for c in file_log(top, rel, base_sha, first_parent=True):
        if c.timestamp < since:
            break
        entry = commit_deltas(top, rel, c)
        if any(d.kind in ("changed", "removed") for d in entry.deltas):
            out.append((c.short, c.date, c.subject))
    return out


def run_check(
    config: Config,
    base: str | None = None,
    head: str = "HEAD",
    evidence_dir: Path | None = None,
    rapid_days: int | None = None,
) -> CheckReport:
    """Run the checklist on the change from the merge-base of ``base`` and ``head`` to ``head``.

    ``base`` defaults to the default branch (origin/HEAD, main, origin/main, master,
    origin/master). BenchgateError outside a git checkout or for an unknown revision.
    """
    top = toplevel(config.root)
    head_sha = resolve_rev(top, head, "--head")
    base_name = base if base is not None else default_branch(top)
    base_sha = resolve_rev(top, base_name, "--base")
    mb = merge_base(top, base_sha, head_sha)
    b_rel = relpath(top, config.baselines_path)
    r_rel = relpath(top, config.report_path)
    days = config.rapid_edit_days if rapid_days is None else rapid_days
    if days < 0:
        raise BenchgateError("must be 0 or more", key="--rapid-days")
    head_commit = commit_info(top, head_sha)
    evidence = None
    label = None
    if evidence_dir is not None:
        runs = load_out_dir(evidence_dir)
        evidence = current_reduced(evidence_dir, runs)
        label = str(evidence_dir)
    old_baselines = show_file(top, mb, b_rel, "--base")
    if old_baselines is not None:
        # The base's file is what the change is judged against: one that does not parse
        # would read as "no keys" and make any change look clean.
        parse_baselines_text(
            old_baselines,
            f"{b_rel} at {mb[:12]} (merge-base of {base_name})",
            config.degradation_pct_max,
            config.variance_pct_warn,
        )
    inputs = CheckInputs(
        baselines_rel=b_rel,
        report_rel=r_rel,
        old_baselines=old_baselines,
        new_baselines=show_file(top, head_sha, b_rel),
        old_report=show_file(top, mb, r_rel),
        new_report=show_file(top, head_sha, r_rel),
        changed_files=changed_files(top, mb, head_sha),
        recent_edits=_recent_edits(top, b_rel, base_sha, head_commit.timestamp, days)
        if days > 0
        else [],
        rapid_days=days,
        evidence=evidence,
        evidence_label=label,
    )
    deltas, items = evaluate(inputs, config)
    note = None
    if not deltas and all(i.status != FAIL for i in items):
        note = f"{b_rel} is the same at {mb[:12]} and {head_sha[:12]}: nothing to review"
    elif old_baselines is None and inputs.new_baselines is not None:
        note = f"{b_rel} does not exist at {mb[:12]}: every key is added by this change"
    return CheckReport(
        base=base_name,
        base_sha=base_sha,
        head=head,
        head_sha=head_sha,
        merge_base=mb,
        baselines_rel=b_rel,
        deltas=deltas,
        items=items,
        note=note,
    )


# --- rendering ----------------------------------------------------------------------------


def delta_text(d: EntryDelta) -> str:
    """How a baseline entry moved: ``added``, ``removed``, ``+3.2%`` or ``-``."""
    o, n = _num(d.old_value), _num(d.new_value)
    if d.kind == "added":
        return "added"
    if d.kind == "removed":
        return "removed"
    if o and n is not None:
        return fmt.pct((n - o) / o * 100)
    return "-"


def _header(report: CheckReport) -> str:
    return (
        f"{report.baselines_rel}: base {report.merge_base[:12]} (merge-base of {report.base} "
        f"and {report.head}) -> head {report.head_sha[:12]}"
    )


def render_check_text(report: CheckReport) -> str:
    """The checklist as plain text, violations with their details."""
    lines = [f"benchgate check: {fmt.plain(_header(report))}"]
    if report.note:
        lines.append(fmt.plain(report.note))
    if report.deltas:
        lines.append(f"{len(report.deltas)} key(s) changed:")
        for d in report.deltas:
            reason = f"  reason: {fmt.plain(d.reason)}" if d.reason and d.kind != "removed" else ""
            lines.append(
                f"  {fmt.plain(d.key)}: {fmt.any_value(d.old_value)} -> "
                f"{fmt.any_value(d.new_value)} {fmt.plain(d.unit)} ({delta_text(d)}){reason}"
            )
    for i in report.items:
        lines.append(f"[{i.status.upper()}] {i.rule}: {fmt.plain(i.title)}")
        lines += [f"       - {fmt.plain(x)}" for x in i.details if i.status != PASS]
    n = len(report.violations)
    lines.append("result: clean" if report.ok else f"result: {n} violation{'s' if n != 1 else ''}")
    return "\n".join(lines) + "\n"


def render_check_markdown(report: CheckReport) -> str:
    """The checklist ready to paste in a review: boxes ticked where the rule holds."""
    n = len(report.violations)
    verdict = "✅ clean" if report.ok else f"❌ {n} violation{'s' if n != 1 else ''}"
    lines = [f"### benchgate check: {verdict}", "", fmt.md_code(_header(report), table=False), ""]
    if report.note:
        lines += [f"_{fmt.md_text(report.note)}_", ""]
    if report.deltas:
        lines += [
            "| key | old | new | unit | change | reason |",
            "| --- | ---: | ---: | --- | ---: | --- |",
        ]
        for d in report.deltas:
            lines.append(
                f"| {fmt.md_code(d.key)} | {fmt.any_value(d.old_value)} "
                f"| {fmt.any_value(d.new_value)} | {fmt.md_cell(d.unit)} | {delta_text(d)} "
                f"| {fmt.md_cell(d.reason or '')} |"
            )
        lines.append("")
    for i in report.items:
        if i.status == SKIP:
            why = f" ({fmt.md_text('; '.join(i.details))})" if i.details else ""
            lines.append(f"- ➖ {fmt.md_text(i.title)}: not applicable{why}")
            continue
        lines.append(f"- [{'x' if i.status == PASS else ' '}] {fmt.md_text(i.title)}")
        if i.status == FAIL:
            lines += [f"  - {fmt.md_text(x)}" for x in i.details]
    lines.append("- [ ] Reviewer sign-off: baselines updated only where justified")
    return "\n".join(lines) + "\n"


def render_check_json(report: CheckReport) -> str:
    """The checklist as a JSON document."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
