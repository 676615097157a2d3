"""History and rollback of baselines.json, from git.

``benchgate baselines log [KEY]`` lists every commit that changed baselines.json with
its per-key old -> new values and the reason taken from the notes;
``benchgate baselines revert REV`` restores the file as it was at REV, atomically, and
touches nothing else.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgate.baselines.file import load_baselines, parse_baselines_text, strict_json_loads
from benchgate.baselines.refresh import unified_diff
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.fsutil import atomic_write_text
from benchgate.gitutil import (
    Commit,
    commit_info,
    file_log,
    relpath,
    resolve_rev,
    show_file,
    toplevel,
)

# Where a change's explanation lives: the refresh's record, then a person's notes.
RECORD_FIELDS = ("refreshed", "notes")
# The fields besides value and notes whose change a reviewer must see.
WATCHED_FIELDS = ("unit", "degradation_pct_max", "variance_pct_warn", "higher_is_better")

_REASON_RE = re.compile(r"reason:\s*(.+)$", re.I | re.S)


def reason_from_notes(notes: Any) -> str | None:
    """The reason a refresh wrote into notes (``reason: deps — ...``), else the notes."""
    if not isinstance(notes, str) or not notes.strip():
        return None
    m = _REASON_RE.search(notes)
    text = m.group(1) if m else notes
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:159] + "…"


def entries_of(text: str | None) -> dict[str, dict[str, Any]] | None:
    """The entries of a baselines.json text, leniently (None if absent or not a JSON object).

    History may hold files that would not validate today; the log shows them anyway.
    """
    if text is None:
        return None
    try:
        data = strict_json_loads(text, "baselines.json")
    except BenchgateError:
        return None
    if not isinstance(data, dict):
        return None
    return {str(k): (v if isinstance(v, dict) else {"value": v}) for k, v in data.items()}


@dataclass
class EntryDelta:
    """How one key changed between two versions of baselines.json."""

    key: str
    kind: str  # added, removed, changed (value), edited (other fields only)
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def old_value(self) -> Any:
        return (self.old or {}).get("value")

    @property
    def new_value(self) -> Any:
        return (self.new or {}).get("value")

    @property
    def unit(self) -> str:
        return str((self.new or self.old or {}).get("unit") or "")

    @property
    def reason(self) -> str | None:
        new = self.new or {}
        # The refresh's own record first (it states the reason), else a person's notes.
        return reason_from_notes(new.get("refreshed")) or reason_from_notes(new.get("notes"))

    @property
    def notes_changed(self) -> bool:
        """Whether the notes or the refresh record changed (either explains a new value)."""
        old, new = self.old or {}, self.new or {}
        return any(old.get(f) != new.get(f) for f in RECORD_FIELDS)

    @property
    def record_text(self) -> str:
        """The new entry's refresh record and notes, together (where markers are looked for)."""
        new = self.new or {}
        return " ".join(str(new.get(f) or "") for f in RECORD_FIELDS)

    def field_changes(self) -> list[str]:
        """``unit 'a' -> 'b'`` for each watched field that changed (existing keys only)."""
        if self.old is None or self.new is None:
            return []
        out = []
        for name in WATCHED_FIELDS:
            a, b = self.old.get(name), self.new.get(name)
            if a != b:
                out.append(f"{name} {json.dumps(a)} -> {json.dumps(b)}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "old": self.old_value,
            "new": self.new_value,
            "unit": self.unit,
            "fields": self.field_changes(),
            "reason": self.reason,
        }


def diff_entries(
    old: dict[str, dict[str, Any]] | None, new: dict[str, dict[str, Any]] | None
) -> list[EntryDelta]:
    """Per-key differences from ``old`` to ``new`` (in ``new``'s order, removals last)."""
    old = old or {}
    new = new or {}
    out: list[EntryDelta] = []
    for k, n in new.items():
        o = old.get(k)
        if o is None:
            out.append(EntryDelta(k, "added", None, n))
        elif o.get("value") != n.get("value"):
            out.append(EntryDelta(k, "changed", o, n))
        elif o != n:
            out.append(EntryDelta(k, "edited", o, n))
    out += [EntryDelta(k, "removed", o, None) for k, o in old.items() if k not in new]
    return out


@dataclass
class HistoryEntry:
    """One commit that changed baselines.json and what it did to each key."""

    commit: Commit
    deltas: list[EntryDelta] = field(default_factory=list)
    problem: str | None = None  # e.g. the file was not valid JSON at this commit

    def to_dict(self) -> dict[str, Any]:
        return {
            "commit": self.commit.sha,
            "short": self.commit.short,
            "date": self.commit.date,
            "subject": self.commit.subject,
            "changes": [d.to_dict() for d in self.deltas],
            "problem": self.problem,
        }


def _baselines_rel(config: Config) -> tuple[Path, str]:
    top = toplevel(config.root)
    return top, relpath(top, config.baselines_path)


def commit_deltas(top: Path, rel: str, commit: Commit) -> HistoryEntry:
    """What ``commit`` changed in baselines.json, compared with its first parent."""
    new_text = show_file(top, commit.sha, rel)
    old_text = show_file(top, commit.parent, rel) if commit.parent else None
    new, old = entries_of(new_text), entries_of(old_text)
    problem = None
    if new_text is None:
        problem = "file deleted"
    elif new is None:
        problem = "not a valid JSON object at this commit"
    else:
        # The same validation as `compare`: the log shows the commit that broke the gate.
        try:
            parse_baselines_text(new_text, rel)
        except BenchgateError as exc:
            problem = f"invalid at this commit: {exc.key + ': ' if exc.key else ''}{exc.problem}"
    return HistoryEntry(commit, diff_entries(old, new), problem)


def working_file_problem(config: Config) -> BenchgateError | None:
    """Why ``compare`` would reject the working tree's baselines.json, or None if it is valid."""
    try:
        load_baselines(config.baselines_path, config.degradation_pct_max, config.variance_pct_warn)
    except BenchgateError as exc:
        return exc
    return None


def baselines_log(
    config: Config, key: str | None = None, max_count: int | None = None, rev: str = "HEAD"
) -> list[HistoryEntry]:
    """Commits reachable from ``rev`` that changed baselines.json, newest first.

    With ``key``, only the commits that changed that key, and only its delta.
    BenchgateError outside a git checkout or for an unknown ``rev``.
    """
    top, rel = _baselines_rel(config)
    sha = resolve_rev(top, rev)
    out: list[HistoryEntry] = []
    for c in file_log(top, rel, sha):
        entry = commit_deltas(top, rel, c)
        if key is not None:
            entry.deltas = [d for d in entry.deltas if d.key == key]
            if not entry.deltas:
                continue
        out.append(entry)
        if max_count is not None and len(out) >= max_count:
            break
    return out


@dataclass
class RevertResult:
    """What ``baselines revert`` did: the commit restored, the texts and their diff."""

    commit: Commit
    path: Path
    old_text: str
    new_text: str
    diff: str
    written: bool


def revert_baselines(config: Config, rev: str, dry_run: bool = False) -> RevertResult:
    """Restore baselines.json as it was at ``rev`` (atomically); nothing else is touched.

    BenchgateError when ``rev`` is unknown, the file did not exist there, or its content
    there is not a valid baselines.json (restoring it would break the gate).
    """
    top, rel = _baselines_rel(config)
    sha = resolve_rev(top, rev, "REV")
    commit = commit_info(top, sha)
    text = show_file(top, sha, rel)
    if text is None:
        raise BenchgateError(f"{rel} does not exist at {commit.short}", key=rev)
    parse_baselines_text(
        text, f"{rel} at {commit.short}", config.degradation_pct_max, config.variance_pct_warn
    )
    path = config.baselines_path
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchgateError(f"cannot be read: {exc}", path) from None
    diff = unified_diff(current, text, rel)
    written = False
    if text != current and not dry_run:
        atomic_write_text(path, text)
        written = True
    return RevertResult(commit, path, current, text, diff, written)
