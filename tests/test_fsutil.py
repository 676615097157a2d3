"""Safe writes: file modes kept, temp files recognisable and cleaned, writers serialised."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from benchgate import fsutil
from benchgate.errors import BenchgateError
from benchgate.fsutil import (
    TEMP_MARK,
    atomic_write_text,
    locked,
    remove_stale_temp_files,
    temp_path,
)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_new_file_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
        os.umask(0o007)
        atomic_write_text(tmp_path / "b.json", "{}")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a.json") == 0o644
    assert _mode(tmp_path / "b.json") == 0o660


def test_rewrite_keeps_the_existing_mode(tmp_path: Path) -> None:
    path = tmp_path / "baselines.json"
    path.write_text("{}")
    path.chmod(0o664)
    atomic_write_text(path, '{"a": 1}')
    assert _mode(path) == 0o664
    path.chmod(0o600)
    atomic_write_text(path, '{"a": 2}')
    assert _mode(path) == 0o600 and path.read_text() == '{"a": 2}'


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temp_files_are_recognisable_and_stale_ones_removed(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    assert temp_path(target).name.startswith(f".run.json{TEMP_MARK}{os.getpid()}-")
    stale = tmp_path / f".run.json{TEMP_MARK}{_dead_pid()}-abcd"
    stale.write_bytes(b"x" * 1000)
    live = tmp_path / f".run.json{TEMP_MARK}{os.getpid()}-beef"  # ours: in use
    live.write_bytes(b"y")
    user = tmp_path / ".notes.tmp"  # not ours: never touched
    user.write_text("mine")
    atomic_write_text(tmp_path / "other.json", "{}")  # any write to the folder cleans up
    assert not stale.exists()
    assert live.exists() and user.exists()
    assert remove_stale_temp_files(tmp_path) == []


def test_a_killed_writer_leaves_a_temp_file_the_next_write_removes(tmp_path: Path) -> None:
    # The writer is SIGKILLed between writing its temp file and the rename.
    code = (
        "import os, sys\n"
        "from benchgate import fsutil\n"
        "os.replace = lambda a, b: os.kill(os.getpid(), 9)\n"
        f"fsutil.atomic_write_text({str(tmp_path / 'big.json')!r}, 'x' * 3_000_000)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    left = [p for p in tmp_path.iterdir() if TEMP_MARK in p.name]
    assert len(left) == 1 and left[0].stat().st_size == 3_000_000
    atomic_write_text(tmp_path / "big.json", "{}")
    assert [p.name for p in tmp_path.iterdir() if TEMP_MARK in p.name] == []


def test_unwritable_folder_is_one_line_naming_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(BenchgateError) as exc:
        atomic_write_text(blocker / "sub" / "a.json", "{}")
    assert str(blocker) in str(exc.value) and "\n" not in str(exc.value)


def test_full_disk_is_one_line_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    target = tmp_path / "a.json"
    target.write_text("old")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(BenchgateError, match="No space left on device"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_lock_is_reentrant_and_serialises_threads(tmp_path: Path) -> None:
    order: list[str] = []

    def other() -> None:
        with locked(tmp_path):
            order.append("other")

    with locked(tmp_path):
        with locked(tmp_path):  # nested: no self-deadlock
            t = threading.Thread(target=other)
            t.start()
            time.sleep(0.2)
            order.append("me")
    t.join(5)
    assert order == ["me", "other"]


def test_waiting_for_a_lock_says_who_holds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom benchgate.fsutil import locked\n"
            f"with locked({str(tmp_path)!r}):\n    print('held', flush=True)\n    time.sleep(1.5)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    notes: list[str] = []
    monkeypatch.setattr(fsutil, "LOCK_NOTICE_S", 0.2)
    fsutil.on_lock_wait(notes.append)
    try:
        t0 = time.monotonic()
        with locked(tmp_path):
            waited = time.monotonic() - t0
    finally:
        fsutil.on_lock_wait(None)
        holder.wait(10)
    assert waited > 0.5
    assert len(notes) == 1 and f"pid {holder.pid}" in notes[0] and "waiting for" in notes[0]
