"""``benchgate check``: the reviewer checklist of a refresh PR (sections 5.5 and 7), automated.

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

:func:`evaluate` holds the rules and is pure; :func:`run_check` gathers the inputs
from git. Renderers return text; nothing here prints.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgate.baselines.file import parse_baselines_text
from benchgate.baselines.history import EntryDelta, commit_deltas, diff_entries, entries_of
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.judge.compare import judge
from benchgate.model import ReducedSet, Status

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
    from benchgate.run.protocol import direction_from_unit

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


def evaluate(inputs: CheckInputs, config: Config) -> tuple[list[EntryDelta], list[CheckItem]]:
    """Apply every rule to ``inputs``: the per-key deltas and the checklist items."""
    deg_default, warn_default = config.degradation_pct_max, config.variance_pct_warn
    items: list[CheckItem] = []
    new = entries_of(inputs.new_baselines)
    if inputs.new_baselines is not None:
        from benchgate.baselines.file import parse_baselines_text

        try:
            parse_baselines_text(
                inputs.new_baselines, inputs.baselines_rel, deg_default, warn_default
            )
        except BenchgateError as exc:
            items.append(CheckItem("valid", "baselines.json is valid", FAIL, [str(exc)]))
            return [], items
    elif inputs.old_baselines is not None:
        items.append(
            CheckItem("valid", "baselines.json is valid", FAIL, ["baselines.json was deleted"])
        )
        return [], items
    old = entries_of(inputs.old_baselines) or {}
    deltas = diff_entries(old, new)
    changed = [d for d in deltas if d.kind == "changed"]
    existing_touched = [d for d in deltas if d.kind != "added"]
    is_refresh = bool(existing_touched)

    # scope
    title = (
        f"Only {inputs.baselines_rel}, {inputs.report_rel} and README/docs changed (dedicated PR)"
    )
    if not deltas:
        items.append(CheckItem("scope", title, SKIP, ["baselines.json not changed"]))
    elif not is_refresh:
        items.append(
            CheckItem(
                "scope",
                title,
                SKIP,
                ["only new metrics added: they land with the change that introduces them"],
            )
        )
    else:
        extra = [
            f
            for f in inputs.changed_files
            if not is_scope_ok(f, inputs.baselines_rel, inputs.report_rel)
        ]
        items.append(
            CheckItem(
                "scope",
                title,
                FAIL if extra else PASS,
                [f"also changes `{f}`" for f in extra[:20]]
                + ([f"and {len(extra) - 20} more files"] if len(extra) > 20 else []),
            )
        )

    # units and thresholds
    problems = []
    for d in deltas:
        if d.old is None or d.new is None:
            continue
        if d.old.get("unit") != d.new.get("unit"):
            problems.append(
                f"`{d.key}`: unit {json.dumps(d.old.get('unit'))} -> "
                f"{json.dumps(d.new.get('unit'))}"
            )
        for name, default in (
            ("degradation_pct_max", deg_default),
            ("variance_pct_warn", warn_default),
        ):
            a, b = _threshold(d.old, name, default), _threshold(d.new, name, default)
            if a != b:
                problems.append(f"`{d.key}`: {name} {json.dumps(a)} -> {json.dumps(b)}")
        if direction(d.old) != direction(d.new):
            problems.append(
                f"`{d.key}`: higher_is_better {json.dumps(direction(d.old))} -> "
                f"{json.dumps(direction(d.new))}"
            )
    items.append(
        CheckItem(
            "units-thresholds",
            "Units, directions and thresholds preserved",
            FAIL if problems else (PASS if deltas else SKIP),
            problems,
        )
    )

    # removed keys
    removed = [d.key for d in deltas if d.kind == "removed"]
    items.append(
        CheckItem(
            "removed",
            "No key removed",
            FAIL if removed else (PASS if deltas else SKIP),
            [f"`{k}` removed" for k in removed],
        )
    )

    # notes
    stale = [d.key for d in changed if not d.notes_changed]
    items.append(
        CheckItem(
            "notes",
            "Every changed value has new notes (how, where, why)",
            FAIL if stale else (PASS if changed else SKIP),
            [f"`{k}`: value changed, notes did not" for k in stale],
        )
    )

    # report
    report_title = f"{inputs.report_rel} updated with the methodology"
    if not changed:
        items.append(CheckItem("report", report_title, SKIP, ["no value changed"]))
    elif inputs.new_report is None:
        items.append(
            CheckItem(
                "report", report_title, FAIL, [f"values changed but {inputs.report_rel} is absent"]
            )
        )
    elif inputs.new_report == inputs.old_report:
        items.append(
            CheckItem(
                "report",
                report_title,
                FAIL,
                [f"values of {len(changed)} key(s) changed but {inputs.report_rel} did not"],
            )
        )
    else:
        items.append(CheckItem("report", report_title, PASS))

    # blanket shift and regressions
    common = [k for k in new or {} if k in old]
    shifts: dict[str, float] = {}
    regressions: list[str] = []
    for d in changed:
        assert d.old is not None and d.new is not None
        o, n = _num(d.old_value), _num(d.new_value)
        if o is None or n is None or o <= 0:
            continue
        hib = direction(d.old)
        s = worse_shift(o, n, hib)
        if s > 1e-9:
            shifts[d.key] = s
        deg = _num(_threshold(d.old, "degradation_pct_max", deg_default))
        warn = _num(_threshold(d.old, "variance_pct_warn", warn_default))
        if deg is None or warn is None:
            continue
        if judge(o, n, hib, deg, warn) is Status.FAIL:
            from benchgate.baselines.refresh import ACCEPTED_REGRESSION_MARK

            notes = d.record_text
            if ACCEPTED_REGRESSION_MARK not in notes.lower():
                regressions.append(
                    f"`{d.key}`: {-s * 100:+.1f}% the worse way (from {o:g} to {n:g}), past its "
                    f"{deg * 100:.0f}% degradation threshold, and the notes record no "
                    f'"{ACCEPTED_REGRESSION_MARK}"'
                )
    blanket_title = (
        f"No blanket shift (≥{BLANKET_SHARE:.0%} of keys, at least {BLANKET_MIN_KEYS}, moved "
        f"the worse way by similar ratios)"
    )
    blanket = blanket_shift(shifts, len(common))
    if not changed:
        items.append(CheckItem("blanket", blanket_title, SKIP, ["no value changed"]))
    elif blanket:
        med, keys = blanket
        items.append(
            CheckItem(
                "blanket",
                blanket_title,
                FAIL,
                [
                    f"{len(keys)} of {len(common)} keys moved the worse way by "
                    f"{med * 100:.1f}% ± {BLANKET_SIMILAR * 100:.0f} points: "
                    f"{_key_list(sorted(keys))}; a blanket increase can hide regressions"
                ],
            )
        )
    else:
        items.append(CheckItem("blanket", blanket_title, PASS))
    items.append(
        CheckItem(
            "regression",
            "No value moved past its degradation threshold without an accepted-regression note",
            FAIL if regressions else (PASS if changed else SKIP),
            regressions,
        )
    )

    # rapid edits (section 7)
    rapid_title = (
        f"No rapid edit: baselines not already refreshed on the base branch within "
        f"{inputs.rapid_days} days"
    )
    touches_values = any(d.kind in ("changed", "removed") for d in deltas)
    if not touches_values:
        items.append(CheckItem("rapid", rapid_title, SKIP, ["no existing value changed"]))
    elif inputs.recent_edits is None:
        items.append(CheckItem("rapid", rapid_title, SKIP, ["base branch history not available"]))
    elif inputs.recent_edits:
        items.append(
            CheckItem(
                "rapid",
                rapid_title,
                FAIL,
                [f"{sha} {date[:10]} {subject}" for sha, date, subject in inputs.recent_edits]
                + ["aim for stability between releases (section 7)"],
            )
        )
    else:
        items.append(CheckItem("rapid", rapid_title, PASS))

    # evidence
    ev_title = "New values match the evidence within its spread" + (
        f" ({inputs.evidence_label})" if inputs.evidence_label else ""
    )
    if inputs.evidence is None:
        items.append(CheckItem("evidence", ev_title, SKIP, ["no --evidence OUT_DIR given"]))
    else:
        mismatches = evidence_mismatches(
            [d for d in deltas if d.kind in ("changed", "added")], inputs.evidence
        )
        has_any = any(d.kind in ("changed", "added") for d in deltas)
        items.append(
            CheckItem(
                "evidence",
                ev_title,
                FAIL if mismatches else (PASS if has_any else SKIP),
                mismatches,
            )
        )
    return deltas, items


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
    from benchgate.gitutil import file_log

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
    from benchgate.gitutil import (
        changed_files,
        commit_info,
        default_branch,
        merge_base,
        relpath,
        resolve_rev,
        show_file,
        toplevel,
    )

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
        from benchgate.judge.gate import load_out_dir
        from benchgate.judge.reduce import current_reduced

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


def fmt_value(v: Any) -> str:
    from benchgate.render.report import fmt_num

    n = _num(v)
    return fmt_num(n) if n is not None else ("-" if v is None else json.dumps(v))


def delta_text(d: EntryDelta) -> str:
    o, n = _num(d.old_value), _num(d.new_value)
    if d.kind == "added":
        return "added"
    if d.kind == "removed":
        return "removed"
    if o and n is not None:
        return f"{(n - o) / o * 100:+.1f}%"
    return "-"


def _header(report: CheckReport) -> str:
    return (
        f"{report.baselines_rel}: base {report.merge_base[:12]} (merge-base of {report.base} "
        f"and {report.head}) -> head {report.head_sha[:12]}"
    )


def render_check_text(report: CheckReport) -> str:
    """The checklist as plain text, violations with their details."""
    lines = [f"benchgate check: {_header(report)}"]
    if report.note:
        lines.append(report.note)
    if report.deltas:
        lines.append(f"{len(report.deltas)} key(s) changed:")
        for d in report.deltas:
            reason = f"  reason: {d.reason}" if d.reason and d.kind != "removed" else ""
            lines.append(
                f"  {d.key}: {fmt_value(d.old_value)} -> {fmt_value(d.new_value)} {d.unit} "
                f"({delta_text(d)}){reason}"
            )
    for i in report.items:
        lines.append(f"[{i.status.upper()}] {i.rule}: {i.title}")
        lines += [f"       - {x}" for x in i.details if i.status != PASS]
    n = len(report.violations)
    lines.append("result: clean" if report.ok else f"result: {n} violation{'s' if n != 1 else ''}")
    return "\n".join(lines) + "\n"


def render_check_markdown(report: CheckReport) -> str:
    """The checklist ready to paste in a review: boxes ticked where the rule holds."""
    n = len(report.violations)
    verdict = "✅ clean" if report.ok else f"❌ {n} violation{'s' if n != 1 else ''}"
    lines = [f"### benchgate check: {verdict}", "", f"`{_header(report)}`", ""]
    if report.note:
        lines += [f"_{report.note}_", ""]
    if report.deltas:
        lines += [
            "| key | old | new | unit | change | reason |",
            "| --- | ---: | ---: | --- | ---: | --- |",
        ]
        for d in report.deltas:
            reason = (d.reason or "").replace("|", "\\|")
            lines.append(
                f"| `{d.key}` | {fmt_value(d.old_value)} | {fmt_value(d.new_value)} | {d.unit} | "
                f"{delta_text(d)} | {reason} |"
            )
        lines.append("")
    for i in report.items:
        if i.status == SKIP:
            why = f" ({'; '.join(i.details)})" if i.details else ""
            lines.append(f"- ➖ {i.title}: not applicable{why}")
            continue
        lines.append(f"- [{'x' if i.status == PASS else ' '}] {i.title}")
        if i.status == FAIL:
            lines += [f"  - {x}" for x in i.details]
    lines.append("- [ ] Reviewer sign-off: baselines updated only where justified")
    return "\n".join(lines) + "\n"


def render_check_json(report: CheckReport) -> str:
    """The checklist as a JSON document."""
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
