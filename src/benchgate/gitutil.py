"""Reading a project's files at git revisions: what ``check`` and ``baselines log`` stand on.

Only read-only git commands run here (``rev-parse``, ``show``, ``diff``, ``log``,
``merge-base``); nothing changes the repository's state. Paths given to git are relative
to the repository's top level, because the project root may be a subfolder of it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchgate.errors import BenchgateError

# Where the default branch is looked for, in this order (section "base" of docs/refresh.md).
DEFAULT_BRANCH_CANDIDATES = ("origin/HEAD", "main", "origin/main", "master", "origin/master")


def git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``git args`` in ``cwd`` and return the completed process (never raises on rc)."""
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise BenchgateError("git is not installed (this command needs it)") from None


def last_line(text: str) -> str:
    """The last non-blank line of ``text`` (git's error is usually there), stripped."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def toplevel(root: Path) -> Path:
    """The top folder of the git checkout holding ``root`` (BenchgateError if none)."""
    if not root.is_dir():
        raise BenchgateError("no such folder", root)
    r = git(["rev-parse", "--show-toplevel"], root)
    if r.returncode != 0 or not r.stdout.strip():
        raise BenchgateError("not a git repository", root)
    return Path(r.stdout.strip()).resolve()


def resolve_rev(top: Path, rev: str, option: str = "REV") -> str:
    """The full commit hash ``rev`` names (BenchgateError naming ``option`` if unknown)."""
    if not rev or rev.startswith("-"):
        raise BenchgateError(f"not a revision: {rev!r}", key=option)
    r = git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], top)
    if r.returncode != 0 or not r.stdout.strip():
        raise BenchgateError(
            f"unknown revision {rev!r} (fetch it first, e.g. `git fetch origin main`)", key=option
        )
    return r.stdout.strip()


def default_branch(top: Path) -> str:
    """The default branch's ref: origin/HEAD, else main, origin/main, master, origin/master."""
    for name in DEFAULT_BRANCH_CANDIDATES:
        r = git(["rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"], top)
        if r.returncode == 0 and r.stdout.strip():
            return name
    raise BenchgateError(
        "no default branch found (tried " + ", ".join(DEFAULT_BRANCH_CANDIDATES) + "): "
        "pass --base REV",
        top,
    )


def merge_base(top: Path, a: str, b: str) -> str:
    """The best common ancestor of ``a`` and ``b`` (BenchgateError if they share none)."""
    r = git(["merge-base", a, b], top)
    if r.returncode != 0 or not r.stdout.strip():
        raise BenchgateError(
            f"{a[:12]} and {b[:12]} have no common ancestor (a shallow clone? fetch the "
            "history, e.g. `git fetch --unshallow` or `fetch-depth: 0`)",
            key="--base",
        )
    return r.stdout.strip()


def relpath(top: Path, path: Path) -> str:
    """``path`` relative to the repository top, with forward slashes (as git names it)."""
    try:
        return path.resolve().relative_to(top).as_posix()
    except ValueError:
        raise BenchgateError("is outside the git repository " + str(top), path) from None


def show_file(top: Path, rev: str, rel: str) -> str | None:
    """The content of ``rel`` at ``rev`` byte for byte, or None when it does not exist there.

    Read as bytes and decoded as UTF-8 without newline translation, so a restored file is
    identical to the committed one (CRLF line ends included).
    """
    try:
        r = subprocess.run(
            ["git", "show", f"{rev}:{rel}"],
            cwd=top,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise BenchgateError("git is not installed (this command reads git history)") from None
    if r.returncode != 0:
        return None
    try:
        return r.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise BenchgateError(f"not UTF-8 text at {rev[:12]}", rel) from None


def changed_files(top: Path, old: str, new: str) -> list[str]:
    """Paths (relative to the top) that differ between commits ``old`` and ``new``."""
    r = git(["diff", "--name-only", "--no-renames", old, new, "--"], top)
    if r.returncode != 0:
        raise BenchgateError(f"git diff failed: {last_line(r.stderr)}")
    return [ln for ln in r.stdout.splitlines() if ln.strip()]


@dataclass
class Commit:
    """One commit as ``git log`` lists it."""

    sha: str
    short: str
    timestamp: int  # committer date, seconds since the epoch
    date: str  # committer date, ISO 8601
    subject: str
    parent: str | None  # first parent, None for a root commit


def commit_info(top: Path, rev: str) -> Commit:
    """The commit ``rev`` (resolved) with its date, subject and first parent."""
    commits = _log(top, ["-1", rev])
    if not commits:
        raise BenchgateError(f"unknown revision {rev!r}")
    return commits[0]


def _log(top: Path, args: list[str]) -> list[Commit]:
    fmt = "%H%x1f%h%x1f%ct%x1f%cI%x1f%P%x1f%s%x1e"
    r = git(["log", f"--format={fmt}", *args], top)
    if r.returncode != 0:
        raise BenchgateError(f"git log failed: {last_line(r.stderr)}")
    out = []
    for rec in r.stdout.split("\x1e"):
        rec = rec.strip("\n")
        if not rec:
            continue
        sha, short, ct, iso, parents, subject = rec.split("\x1f", 5)
        out.append(
            Commit(
                sha=sha,
                short=short,
                timestamp=int(ct),
                date=iso,
                subject=subject,
                parent=parents.split()[0] if parents.split() else None,
            )
        )
    return out


def file_log(
    top: Path, rel: str, rev: str = "HEAD", first_parent: bool = False, max_count: int | None = None
) -> list[Commit]:
    """Commits reachable from ``rev`` that changed ``rel``, newest first.

    With ``first_parent`` only the first-parent line is followed, so a merged pull request
    shows up as its merge commit, dated when it landed on the branch.
    """
    args = []
    if first_parent:
        args.append("--first-parent")
    if max_count is not None:
        args.append(f"--max-count={max_count}")
    return _log(top, [*args, rev, "--", rel])


def worktree_state(root: Path) -> tuple[str | None, bool | None]:
    """The checkout's HEAD commit and whether tracked files have uncommitted changes.

    ``(None, None)`` outside a git checkout, in a repository without commits, or when git
    is not installed; ``dirty`` is None when ``git status`` fails. Never takes the index
    lock (``--no-optional-locks``), so a run beside an editor's git never blocks it.
    """
    try:
        head = git(["rev-parse", "--verify", "--quiet", "HEAD"], root)
    except BenchgateError:
        return None, None
    if head.returncode != 0 or not head.stdout.strip():
        return None, None
    status = git(["--no-optional-locks", "status", "--porcelain", "--untracked-files=no"], root)
    dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return head.stdout.strip(), dirty
