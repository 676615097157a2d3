"""Every git call benchgate makes, and reading a project's files at git revisions.

Only read-only git commands run here (``rev-parse``, ``ls-tree``, ``cat-file``, ``diff``,
``log``, ``merge-base``, ``status``), plus the temporary worktree of ``ab``; nothing
changes the repository's state. Paths given to git are relative to the repository's top
level, because the project root may be a subfolder of it.

A revision a user typed never reaches git where it could be read as an option: it is
validated (:func:`check_rev`: no leading ``-``, no control characters) and placed after
``--end-of-options``; once resolved, only the full commit hash is passed on.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchgate.errors import BenchgateError

# Where the default branch is looked for, in this order (section "base" of docs/refresh.md).
DEFAULT_BRANCH_CANDIDATES = ("origin/HEAD", "main", "origin/main", "master", "origin/master")

_FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")

# Never take the index lock: benchgate may run while the user's git is busy.
_GIT_ENV = {"GIT_OPTIONAL_LOCKS": "0"}


def git(
    args: list[str], cwd: Path, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``git args`` in ``cwd`` and return the completed process (never raises on rc).

    BenchgateError when git is missing or does not answer within ``timeout`` seconds.
    """
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            env={**os.environ, **_GIT_ENV},
        )
    except FileNotFoundError:
        if not Path(cwd).is_dir():
            raise BenchgateError("no such folder", cwd) from None
        raise BenchgateError("git is not installed (this command needs it)") from None
    except subprocess.TimeoutExpired:
        raise BenchgateError(f"git {args[0]} did not answer within {timeout:g} s") from None


def _git_bytes(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **_GIT_ENV},
        )
    except FileNotFoundError:
        raise BenchgateError("git is not installed (this command reads git history)") from None


def check_rev(rev: str, option: str = "REV") -> str:
    """``rev`` if it can only be read as a revision, else BenchgateError naming ``option``.

    Refused: empty, a leading ``-`` (git would take it for an option, e.g.
    ``--output=FILE``), whitespace or control characters (no ref name holds them).
    """
    if not rev or rev.startswith("-") or any(c.isspace() or not c.isprintable() for c in rev):
        raise BenchgateError(f"not a revision: {rev!r}", key=option)
    return rev


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
    check_rev(rev, option)
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
    r = git(["merge-base", "--end-of-options", a, b], top)
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


def show_file(top: Path, rev: str, rel: str, option: str = "REV") -> str | None:
    """The content of ``rel`` at ``rev`` byte for byte, or None when it does not exist there.

    The one reader of a file at a revision. A revision git cannot read (unknown, not
    fetched, an option in disguise) is a BenchgateError naming ``option``, never "no
    file": callers that fall back to an empty file would otherwise let a typo through
    the gate. A path that is a folder or a symbolic link there is an error too.
    Read as bytes and decoded as UTF-8 without newline translation, so a restored file is
    identical to the committed one (CRLF line ends included).
    """
    # A full hash (what the history walks pass) needs no lookup: ls-tree fails on an
    # unknown one all the same.
    sha = rev if _FULL_SHA.fullmatch(rev) else resolve_rev(top, rev, option)
    where = f"{rel} at {sha[:12]}"
    r = _git_bytes(["ls-tree", "-z", "--full-tree", "--end-of-options", sha, "--", rel], top)
    if r.returncode != 0:
        err = last_line(r.stderr.decode("utf-8", "replace"))
        raise BenchgateError(f"git cannot list {where}: {err}", key=option)
    blob = None
    for rec in r.stdout.split(b"\0"):
        meta, _, name = rec.partition(b"\t")
        if name.decode("utf-8", "surrogateescape") != rel:
            continue
        mode, kind, obj = meta.decode("ascii", "replace").split(" ", 2)
        if kind != "blob" or mode == "120000":
            what = "a symbolic link" if mode == "120000" else f"a {kind}"
            raise BenchgateError(f"is {what} at {sha[:12]}, not a file", rel)
        blob = obj
    if blob is None:
        return None
    r = _git_bytes(["cat-file", "blob", blob], top)
    if r.returncode != 0:
        err = last_line(r.stderr.decode("utf-8", "replace"))
        raise BenchgateError(f"git cannot read {where}: {err}", key=option)
    try:
        return r.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise BenchgateError(f"not UTF-8 text at {sha[:12]}", rel) from None


def changed_files(top: Path, old: str, new: str) -> list[str]:
    """Paths (relative to the top) that differ between commits ``old`` and ``new``."""
    r = git(["diff", "--name-only", "--no-renames", "--end-of-options", old, new, "--"], top)
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
    commits = _log(top, ["-1", "--end-of-options", check_rev(rev)])
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
    return _log(top, [*args, "--end-of-options", check_rev(rev), "--", rel])


def show_files(top: Path, specs: list[str]) -> dict[str, str | None]:
    """Many ``rev:path`` contents in one git process (``git cat-file --batch``).

    Each spec maps to its text (UTF-8, undecodable bytes replaced), or None when the
    object does not exist. One process for hundreds of versions keeps history reads fast.
    """
    if not specs:
        return {}
    try:
        r = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=top,
            input="".join(f"{s}\n" for s in specs).encode("utf-8"),
            capture_output=True,
        )
    except FileNotFoundError:
        raise BenchgateError("git is not installed (this command reads git history)") from None
    if r.returncode != 0:
        err = r.stderr.decode("utf-8", "replace")
        raise BenchgateError(f"git cat-file failed: {last_line(err)}")
    out: dict[str, str | None] = {}
    data, pos = r.stdout, 0
    for spec in specs:
        nl = data.index(b"\n", pos)
        header = data[pos:nl].decode("utf-8", "replace").split()
        pos = nl + 1
        if len(header) == 3 and header[1] == "blob":
            size = int(header[2])
            out[spec] = data[pos : pos + size].decode("utf-8", "replace")
            pos += size + 1  # the content is followed by a newline
        else:
            out[spec] = None  # "<spec> missing", or not a blob
    return out


def object_ids(top: Path, specs: list[str]) -> dict[str, str | None]:
    """The object id of each ``rev:path`` (None when absent), in one ``cat-file --batch-check``.

    Cheap for thousands of commits: no content is read, and commits that share a version
    of the file share its id.
    """
    if not specs:
        return {}
    try:
        r = subprocess.run(
            ["git", "cat-file", "--batch-check=%(objectname) %(objecttype)"],
            cwd=top,
            input="".join(f"{s}\n" for s in specs).encode("utf-8"),
            capture_output=True,
        )
    except FileNotFoundError:
        raise BenchgateError("git is not installed (this command reads git history)") from None
    if r.returncode != 0:
        err = r.stderr.decode("utf-8", "replace")
        raise BenchgateError(f"git cat-file failed: {last_line(err)}")
    lines = r.stdout.decode("utf-8", "replace").splitlines()
    out: dict[str, str | None] = {}
    for spec, line in zip(specs, lines, strict=False):
        parts = line.split()
        out[spec] = parts[0] if len(parts) == 2 and parts[1] == "blob" else None
    return out


def head_state(root: Path, timeout: float = 10.0) -> tuple[str | None, bool | None]:
    """The checkout's HEAD commit and whether tracked files have uncommitted changes.

    ``(None, None)`` outside a git checkout, without git, or when git hangs; ``dirty`` is
    None when ``git status`` failed. Used to record where a run was made, so it never raises.
    """
    try:
        head = git(["rev-parse", "--verify", "--quiet", "HEAD"], root, timeout)
        if head.returncode != 0 or not head.stdout.strip():
            return None, None
        st = git(["status", "--porcelain", "--untracked-files=no"], root, timeout)
    except (BenchgateError, OSError):
        return None, None
    return head.stdout.strip(), (bool(st.stdout.strip()) if st.returncode == 0 else None)
