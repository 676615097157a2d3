"""Baseline refreshes from baselines.json's git history, beside the measurements.

The same reading as ``benchgate baselines log`` (``benchgate.baselines.history``: the
entries of each version, their per-key differences, the reason from the notes), but every
version is read through one ``git cat-file --batch`` process instead of two ``git show``
calls per commit, so ``benchgate history`` stays instant on a long history.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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


_HEX = re.compile(r"[0-9a-fA-F]{4,64}")


class GitBaselines:
    """baselines.json's git history for one project, read once and shared by every key.

    ``trend`` and ``dashboard`` ask for hundreds of metrics: the refreshes are read in one
    pass for all keys, and each commit's version of the file (and each version's
    content) is looked up once, however many keys ask.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._refreshes: dict[str, list[Refresh]] | None = None
        self._where: tuple[Path, str] | None | bool = False  # False: not looked up yet
        self._version: dict[str, str | None] = {}  # commit -> object id of the file there
        self._entries: dict[str, dict[str, dict[str, Any]]] = {}  # object id -> entries

    def refreshes(self) -> dict[str, list[Refresh]]:
        """Per key, the commits that set its baseline value (see :func:`baseline_refreshes`)."""
        if self._refreshes is None:
            self._refreshes = baseline_refreshes(self.config)
        return self._refreshes

    def _location(self) -> tuple[Path, str] | None:
        if self._where is False:
            try:
                top = toplevel(self.config.root)
                self._where = (top, relpath(top, self.config.baselines_path))
            except BenchgateError:
                self._where = None
        return self._where if isinstance(self._where, tuple) else None

    def at(self, key: str, commits: list[str]) -> dict[str, float]:
        """The value baselines.json held for ``key`` at each of ``commits`` git knows.

        Commits unknown to this clone, or where the file or the key is absent, are left
        out.
        """
        where = self._location()
        if where is None or not commits:
            return {}
        top, rel = where
        # Commits come from run files (untrusted): only hashes go to git's batch input.
        commits = [c for c in commits if _HEX.fullmatch(c)]
        unknown = [c for c in commits if c not in self._version]
        if unknown:
            ids = object_ids(top, [f"{c}:{rel}" for c in unknown])
            for c in unknown:
                self._version[c] = ids.get(f"{c}:{rel}")
        blobs = sorted(
            {v for c in commits if (v := self._version.get(c)) and v not in self._entries}
        )
        if blobs:
            texts = show_files(top, blobs)
            for b in blobs:
                self._entries[b] = entries_of(texts.get(b)) or {}
        out: dict[str, float] = {}
        for c in commits:
            v = self._version.get(c)
            entry = self._entries.get(v, {}).get(key) if v else None
            value = entry.get("value") if entry else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[c] = float(value)
        return out


def baselines_at(config: Config, key: str, commits: list[str]) -> dict[str, float]:
    """The value baselines.json held for ``key`` at each of ``commits`` (those git knows).

    Two git processes whatever the number of commits: the file's object id at each commit,
    then the content of each distinct version.
    """
    return GitBaselines(config).at(key, commits)
