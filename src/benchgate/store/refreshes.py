"""Baseline refreshes from baselines.json's git history, beside the measurements.

The same reading as ``benchgate baselines log`` (``benchgate.baselines.history``: the
entries of each version, their per-key differences, the reason from the notes), but every
version is read through one ``git cat-file --batch`` process instead of two ``git show``
calls per commit, so ``benchgate history`` stays instant on a long history.
"""

from __future__ import annotations

from benchgate.baselines.history import diff_entries, entries_of
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.gitutil import file_log, object_ids, relpath, show_files, toplevel
from benchgate.store.series import Refresh
from benchgate.store.store import utc_text


def baseline_refreshes(config: Config, rev: str = "HEAD") -> dict[str, list[Refresh]]:
    """Per key, every commit that set its baseline value, oldest first.

    An added key or a changed value is a refresh; a removed key or an edit of other fields
    is not. Outside a git checkout (or without baselines.json in history) the answer is
    empty: history is still shown, without refreshes.
    """
    try:
        top = toplevel(config.root)
        rel = relpath(top, config.baselines_path)
        commits = file_log(top, rel, rev)
    except BenchgateError:
        return {}
    specs: list[str] = []
    for c in commits:
        specs.append(f"{c.sha}:{rel}")
        if c.parent:
            specs.append(f"{c.parent}:{rel}")
    texts = show_files(top, specs)
    out: dict[str, list[Refresh]] = {}
    for c in reversed(commits):  # oldest first
        new = entries_of(texts.get(f"{c.sha}:{rel}"))
        old = entries_of(texts.get(f"{c.parent}:{rel}")) if c.parent else None
        for d in diff_entries(old, new):
            if d.kind not in ("added", "changed"):
                continue
            value = d.new_value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            out.setdefault(d.key, []).append(
                Refresh(
                    commit=c.sha,
                    time=utc_text(c.date),
                    value=float(value),
                    reason=d.reason or c.subject,
                )
            )
    return out


def baselines_at(config: Config, key: str, commits: list[str]) -> dict[str, float]:
    """The value baselines.json held for ``key`` at each of ``commits`` (those git knows).

    Two git processes whatever the number of commits: the file's object id at each commit,
    then the content of each distinct version. Commits unknown to this clone, or where the
    file or key is absent, are left out.
    """
    if not commits:
        return {}
    try:
        top = toplevel(config.root)
        rel = relpath(top, config.baselines_path)
    except BenchgateError:
        return {}
    ids = object_ids(top, [f"{c}:{rel}" for c in commits])
    blobs = sorted({i for i in ids.values() if i is not None})
    texts = show_files(top, blobs)
    values: dict[str, float] = {}
    for blob in blobs:
        entry = (entries_of(texts.get(blob)) or {}).get(key)
        v = entry.get("value") if entry else None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            values[blob] = float(v)
    out: dict[str, float] = {}
    for c in commits:
        version = ids.get(f"{c}:{rel}")
        if version is not None and version in values:
            out[c] = values[version]
    return out
