"""Reliability of the run side on hostile and unlucky input (issue 10).

Concurrent writers, benches whose daemons hold the output pipes, benches that delete the
out-dir, and a table of malformed bench outputs, run files, reduced.json files and
options: each bad input is one line on stderr, exit 2 (or that bench's ERROR), and
nothing on disk changes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from click.testing import Result

from conftest import const_bench

OUT = "tests/reports/bench"


def _runs_on_disk(project: Path) -> list[dict[str, object]]:
    out = project / OUT
    runs: list[dict[str, object]] = []
    for p in sorted(out.glob("*.json")):
        if p.name != "reduced.json":
            runs.extend(json.loads(p.read_text())["runs"])
    return runs


# --- item 2: concurrent writers --------------------------------------------------------


def test_eight_concurrent_appenders_lose_no_run(
    project: Path, write_bench: Callable[[str, str], Path]
) -> None:
    write_bench("a", const_bench({"x_per_s": (100.0, "x/sec")}))
    write_bench("b", const_bench({"y_per_s": (50.0, "y/sec")}))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "benchgate", "-C", str(project), "run", "--append"]
            + ["--repeat", "3"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "6 ok" in out
    runs = _runs_on_disk(project)
    assert len(runs) == 8 * 3 * 2
    assert len({r["run_id"] for r in runs}) == len(runs)
    assert len({r["invocation"] for r in runs}) == 8


# --- item 3: --timeout whatever holds the pipes ----------------------------------------

DAEMON = """
import json, os, sys, time
pid = os.fork()
if pid == 0:
    os.setsid()  # its own session: out of the bench's process group, still holding stdout
    with open({pidfile!r}, "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(30)
    os._exit(0)
time.sleep(0.2)
{rest}
"""


def _daemon_gone(pidfile: Path) -> None:
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def test_timeout_holds_when_a_daemon_keeps_stdout_open(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    pidfile = project / "daemon.pid"
    write_bench("hang", DAEMON.format(pidfile=str(pidfile), rest="time.sleep(30)"))
    try:
        t0 = time.monotonic()
        r = cli("run", "--timeout", "2")
        took = time.monotonic() - t0
        assert r.exit_code == 0, r.output
        assert took < 8, f"a 2 s timeout took {took:.1f} s"
        (run,) = _runs_on_disk(project)
        assert run["status"] == "error" and "timed out after 2 s" in str(run["reason"])
        # The daemon was still the bench's child at the deadline: killed with it.
        daemon = int(pidfile.read_text())
        time.sleep(0.2)
        try:
            alive = psutil.Process(daemon).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            alive = False
        assert not alive
    finally:
        _daemon_gone(pidfile)


def test_a_bench_that_succeeds_is_judged_by_its_exit_not_its_daemon(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    pidfile = project / "daemon.pid"
    rest = "print(json.dumps({'metrics': {'x_per_s': 7}}), flush=True)\nsys.exit(0)"
    write_bench("ok", DAEMON.format(pidfile=str(pidfile), rest=rest))
    try:
        t0 = time.monotonic()
        r = cli("run", "--timeout", "20")
        took = time.monotonic() - t0
        assert r.exit_code == 0, r.output
        assert took < 8, f"waited {took:.1f} s for the daemon's pipe"
        (run,) = _runs_on_disk(project)
        assert run["status"] == "ok", run["reason"]
        assert run["metrics"]["x_per_s"]["value"] == 7  # type: ignore[index]
    finally:
        _daemon_gone(pidfile)


# --- item 12: a bench that deletes the out-dir -----------------------------------------


def test_a_bench_deleting_the_out_dir_loses_no_run(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    write_bench("a_first", const_bench({"x_per_s": (1.0, "x/sec")}))
    write_bench(
        "b_wiper",
        "import json, shutil\n"
        f"shutil.rmtree({str(project / OUT)!r}, ignore_errors=True)\n"
        "print(json.dumps({'metrics': {'y_per_s': 2}}))\n",
    )
    r = cli("run", "--repeat", "2")
    assert r.exit_code == 0, r.output
    assert "re-wrote its 2 runs from memory" in r.output  # a_first, said on stderr
    runs = _runs_on_disk(project)
    assert sorted(str(r["bench"]) for r in runs) == ["a_first"] * 2 + ["b_wiper"] * 2
