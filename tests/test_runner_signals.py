"""Ctrl-C and SIGTERM during a run: the bench's process group dies with us, data stays whole."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from benchgate.fsutil import TEMP_MARK
from benchgate.run.runner import sigterm_as_interrupt
from conftest import const_bench

# Python ignores SIGINT when it starts with SIGINT ignored (as in a background job of a
# non-interactive shell); the test must not depend on how pytest itself was started.
CLI = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from benchgate.cli import main; sys.argv[0] = 'benchgate'; main()"
)


def _sleeper_bench(pid_file: Path) -> str:
    """A bench that starts a child of its own, records both PIDs, then sleeps."""
    return (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
        f"tmp = {str(pid_file)!r} + '.tmp'\n"
        "with open(tmp, 'w') as fh:\n"
        "    fh.write(f'{os.getpid()} {child.pid}')\n"
        f"os.replace(tmp, {str(pid_file)!r})\n"
        "time.sleep(300)\n"
    )


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for a reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for(predicate: Callable[[], bool], seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_a_bench_kills_its_group(
    project: Path,
    tmp_path: Path,
    write_bench: Callable[[str, str], Path],
    cli: Callable[..., Result],
    signum: int,
) -> None:
    pid_file = tmp_path / "bench.pids"
    write_bench("a", const_bench({"x_per_s": (1.0, "ops/sec")}))
    write_bench("b", _sleeper_bench(pid_file))
    assert cli("run", "-k", "a").exit_code == 0
    out = project / "tests" / "reports" / "bench"
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "-C", str(project), "run", "--append"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so cleanup below can reach anything it left behind
    )
    pids: list[int] = []
    try:
        assert _wait_for(pid_file.exists), "bench b never started"
        pids = [int(p) for p in pid_file.read_text().split()]
        assert all(_alive(p) for p in pids)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        assert "interrupted" in stderr
        assert _wait_for(lambda: not any(_alive(p) for p in pids)), (
            f"bench processes {pids} outlived the interrupted run"
        )
    finally:
        for pid in [proc.pid, *pids]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)
    # The completed runs are intact, the interrupted one left nothing, not even a temp file.
    runs = json.loads((out / "a.json").read_text())["runs"]
    assert len(runs) == 2 and all(r["status"] == "ok" for r in runs)
    assert not (out / "b.json").exists()
    assert sorted(p.name for p in out.iterdir() if TEMP_MARK in p.name) == []


def test_sigterm_as_interrupt_raises_and_restores() -> None:
    before = signal.getsignal(signal.SIGTERM)
    assert before is signal.SIG_DFL  # pytest leaves SIGTERM alone
    with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this at once
    assert signal.getsignal(signal.SIGTERM) is before


def test_sigterm_as_interrupt_leaves_an_existing_handler_alone() -> None:
    seen: list[int] = []

    def mine(signum: int, frame: object) -> None:
        seen.append(signum)

    old = signal.signal(signal.SIGTERM, mine)
    try:
        with sigterm_as_interrupt():
            assert signal.getsignal(signal.SIGTERM) is mine
            os.kill(os.getpid(), signal.SIGTERM)
            assert _wait_for(lambda: seen == [signal.SIGTERM], 10)
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, old)


def test_sigterm_as_interrupt_is_a_no_op_off_the_main_thread() -> None:
    found: list[object] = []

    def body() -> None:
        with sigterm_as_interrupt():
            found.append(signal.getsignal(signal.SIGTERM))

    t = threading.Thread(target=body)
    t.start()
    t.join(30)
    assert found == [signal.SIG_DFL]
