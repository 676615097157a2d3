"""Safe file writes: atomic replacement, modes kept, stale temp files cleaned, writers serialised.

* ``atomic_write_*``: a crashed or killed process never leaves a half-written file. The
  temp file is named ``.<name>.benchgate-tmp-<pid>-<random>`` in the target's folder, so
  the next write to that folder recognises and removes the ones whose process is dead
  (SIGKILL gives no chance to clean up). A new file gets the umask's mode (like any
  file the user creates); rewriting an existing file keeps that file's mode.
* ``locked``: an advisory lock (``fcntl.flock``) serialising every read-modify-write of
  one folder (the out-dir: run files, reduced.json, report.md) or one file
  (baselines.json). Concurrent ``benchgate`` processes wait for each other instead of
  overwriting each other's runs; after a short wait the ``on_lock_wait`` hook is told who
  holds the lock, so the CLI can say what it is waiting for.

Write failures (read-only folder, full disk) raise BenchgateError naming the file.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchgate.errors import BenchgateError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, writes stay atomic
    fcntl = None  # type: ignore[assignment]

TEMP_MARK = ".benchgate-tmp-"
LOCK_NAME = ".benchgate.lock"
# After this long waiting for a lock, the on_lock_wait hook hears who holds it.
LOCK_NOTICE_S = 1.0
# Holders keep a lock only for a file read and write: waiting this long means a stuck holder.
LOCK_GIVE_UP_S = 600.0
_POLL_S = 0.02


def read_text(path: str | Path) -> str:
    """A regular file's text (UTF-8); OSError for a FIFO, device or folder in its place.

    Files benchgate reads (baselines.json, pyproject.toml, run files) can be planted by a
    bench or a checkout: a FIFO would block the read forever, a device never end it.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, device or folder)")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8")


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8, newlines untranslated) to ``path`` atomically."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # A lone surrogate that slipped past validation: refuse rather than crash mid-write.
        raise BenchgateError(
            f"cannot be written: text is not valid Unicode ({exc.reason})", path
        ) from None
    atomic_write_bytes(path, data)


def atomic_write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented JSON (with a final newline) atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def temp_path(path: Path) -> Path:
    """The recognisable temp file name for a write of ``path`` by this process."""
    return path.parent / f".{path.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    except OSError:
        return True
    return True


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete benchgate temp files in ``folder`` whose writing process is dead."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    me = os.getpid()
    for entry in entries:
        name = entry.name
        cut = name.rfind(TEMP_MARK)
        if not name.startswith(".") or cut < 0:
            continue
        pid_text = name[cut + len(TEMP_MARK) :].split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if pid == me or _pid_alive(pid):
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass  # gone already, or not ours to remove
    return removed


def _existing_mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, then a rename)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchgateError(
            f"cannot create the folder: {exc.strerror or exc}", path.parent
        ) from None
    remove_stale_temp_files(path.parent)
    mode = _existing_mode(path)
    tmp = temp_path(path)
    try:
        # 0o666 through the umask, as any new file of the user's; an existing file's mode wins.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        raise BenchgateError(f"cannot be written: {exc.strerror or exc}", path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise BenchgateError(f"cannot be written: {exc.strerror or exc}", path) from None
        raise


# --- advisory locks ---------------------------------------------------------------------

_notice: Callable[[str], None] | None = None
_guard = threading.Lock()
_thread_locks: dict[str, threading.RLock] = {}
_depth: dict[str, int] = {}
_fds: dict[str, int] = {}


def on_lock_wait(callback: Callable[[str], None] | None) -> None:
    """Have ``callback`` told (once per wait) when a lock is held by another process."""
    global _notice
    _notice = callback


def lock_file(target: Path) -> Path:
    """The lock file guarding ``target``: inside a folder, beside a file."""
    if target.is_dir() or not target.suffix:
        return target / LOCK_NAME
    return target.parent / f".{target.name}.lock"


def _holder(fd: int) -> str:
    try:
        raw = os.pread(fd, 300, 0).decode("utf-8", "replace").strip()
    except OSError:
        raw = ""
    return raw or "another process"


def _acquire(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        raise BenchgateError(f"cannot create the lock file: {exc.strerror or exc}", path) from None
    if fcntl is None:  # pragma: no cover - no advisory locks on this platform
        return fd
    t0 = time.monotonic()
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            waited = time.monotonic() - t0
            if not told and waited >= LOCK_NOTICE_S and _notice is not None:
                _notice(f"waiting for the lock {path}, held by {_holder(fd)}")
                told = True
            if waited >= LOCK_GIVE_UP_S:
                os.close(fd)
                raise BenchgateError(
                    f"still held by {_holder(fd)} after {LOCK_GIVE_UP_S:.0f} s; "
                    "if that process is gone, delete the lock file",
                    path,
                ) from None
            time.sleep(_POLL_S)
        except OSError as exc:
            os.close(fd)
            raise BenchgateError(f"cannot lock: {exc.strerror or exc}", path) from None
    try:
        who = f"pid {os.getpid()} ({' '.join(sys.argv[:3])[:200]})"
        os.ftruncate(fd, 0)
        os.pwrite(fd, who.encode("utf-8", "replace"), 0)
    except OSError:
        pass  # only informative
    return fd


@contextmanager
def locked(target: str | Path) -> Iterator[None]:
    """Hold the exclusive lock of ``target`` (a folder or a file) while inside.

    Re-entrant within a process (a nested ``locked`` of the same target is free), and
    threads of one process take turns. Every read-modify-write of a shared file goes
    inside, so concurrent writers never lose each other's changes.
    """
    path = lock_file(Path(target))
    key = os.path.abspath(path)
    with _guard:
        thread_lock = _thread_locks.setdefault(key, threading.RLock())
    with thread_lock:
        depth = _depth.get(key, 0)
        if depth == 0:
            _fds[key] = _acquire(path)
        _depth[key] = depth + 1
        try:
            yield
        finally:
            _depth[key] -= 1
            if _depth[key] == 0:
                fd = _fds.pop(key)
                try:
                    os.ftruncate(fd, 0)
                except OSError:
                    pass
                os.close(fd)  # releases the flock
