"""Recording from ``run``, ``compare`` and ``ab``: which store, which branch, what to write.

The store is off unless ``store = ...`` in ``[tool.benchgate]`` or ``--store URL`` says
otherwise (docs/store.md says why). The commands call these after their out-dir is
written; recording an out-dir is idempotent, so ``run --append`` records earlier runs
once and only the new ones are added.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.gitutil import git
from benchgate.model import RunRecord
from benchgate.run.results import load_runs
from benchgate.store.store import (
    RecordResult,
    Store,
    judgement_of,
    stored_runs,
)
from benchgate.store.url import StoreURL, parse_store_url

# CI variables naming the branch being measured, most specific first (GitHub pull
# requests: the head branch; GitLab merge requests: the source branch).
BRANCH_VARS = (
    "BENCHGATE_BRANCH",
    "GITHUB_HEAD_REF",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "GITHUB_REF_NAME",
    "CI_COMMIT_REF_NAME",
    "CI_COMMIT_BRANCH",
)


def recording_url(config: Config, flag: str | None) -> StoreURL:
    """Where ``run``/``compare``/``ab`` record: ``--store`` beats config; unset is off."""
    if flag is not None:
        return parse_store_url(flag, config.root, "--store")
    if config.store is None:
        return StoreURL("off", "off")
    return parse_store_url(config.store, config.root, _config_key(config))


def reading_url(config: Config, flag: str | None) -> StoreURL:
    """Where ``history`` and ``store ...`` read: ``--store``, else config, else the default file.

    A config of ``off`` only stops recording; reading still finds the default file.
    """
    url = recording_url(config, flag)
    if url.kind == "off":
        if flag is not None:
            raise BenchgateError("this command needs a store, not off", key="--store")
        return parse_store_url("sqlite", config.root)
    return url


def _config_key(config: Config) -> str:
    where = f"{config.source}: " if config.source else ""
    return f"{where}tool.benchgate.store"


def current_branch(root: Path) -> str:
    """The branch being measured: a CI variable, else the checkout's branch ("" if detached)."""
    for name in BRANCH_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    try:
        r = git(["rev-parse", "--abbrev-ref", "HEAD"], root)
    except BenchgateError:
        return ""
    name = r.stdout.strip() if r.returncode == 0 else ""
    return "" if name == "HEAD" else name


def branch_of_rev(rev: str) -> str:
    """The branch a revision names (``origin/main`` -> ``main``); "" for a commit hash."""
    if re.fullmatch(r"[0-9a-fA-F]{7,40}", rev) or "~" in rev or "^" in rev or rev == "HEAD":
        return ""
    for prefix in ("refs/heads/", "refs/remotes/origin/", "origin/", "upstream/"):
        if rev.startswith(prefix):
            return rev[len(prefix) :]
    return rev


def check_store(url: StoreURL) -> None:
    """Open and close the store: a bad URL, server or file fails before minutes of measuring."""
    if url.kind == "off":
        return
    Store.open(url).close()


def record_out_dir(
    config: Config,
    url: StoreURL,
    out_dir: Path,
    verdicts: list[dict[str, Any]] | None = None,
    source: str = "compare",
    summary: dict[str, Any] | None = None,
) -> RecordResult | None:
    """Record the runs in ``out_dir`` (and the verdicts given) in one transaction.

    None when the store is off. Runs already stored are skipped.
    """
    if url.kind == "off":
        return None
    branch = current_branch(config.root)
    runs = stored_runs(load_runs(out_dir), "run", branch)
    judgement = judgement_of(source, verdicts, runs, branch, summary) if verdicts else None
    with Store.open(url) as store:
        return store.record(runs, judgement)


def record_ab(
    config: Config,
    url: StoreURL,
    base_rev: str,
    base_runs: dict[str, list[RunRecord]],
    head_runs: dict[str, list[RunRecord]],
    result: dict[str, Any],
) -> RecordResult | None:
    """Record both sides of ``benchgate ab`` and its paired verdicts (``ABResult.to_dict()``).

    The base side is filed under the branch ``base_rev`` names, the head side under the
    branch being measured.
    """
    if url.kind == "off":
        return None
    branch = current_branch(config.root)
    runs = stored_runs(base_runs, "ab-base", branch_of_rev(base_rev)) + stored_runs(
        head_runs, "ab-head", branch
    )
    verdicts = []
    for m in result.get("metrics", []):
        bv = m.get("baselines") or {}
        verdicts.append({**m, "baseline": bv.get("baseline"), "current": bv.get("current")})
    judgement = judgement_of("ab", verdicts, runs, branch, result.get("summary"))
    with Store.open(url) as store:
        return store.record(runs, judgement)
