"""End to end: real tiny benches through the real CLI, following the method's steps."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from benchgate.fsutil import TEMP_MARK
from conftest import const_bench, write_baselines

SKIP_BENCH = "import sys\nprint('no accelerator here', file=sys.stderr)\nsys.exit(77)\n"
SKIP_JSON_BENCH = "import json\nprint(json.dumps({'skip': 'needs libfoo'}))\n"
CRASH_BENCH = "import sys\nprint('about to crash')\nraise RuntimeError('kaboom in bench')\n"
NOJSON_BENCH = "print('I forgot to print JSON')\n"
WILD_BENCH = (
    "import json\nprint('log line {not json}')\n"
    "print(json.dumps({'case': 'sel', 'params': {'n': 10}, "
    "'result': {'ops_per_sec': 2000.0, 'median_s': 0.0005}}))\n"
)


def _runner(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "tests/bench/runner.py", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_method_end_to_end(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    r = cli("init")
    assert r.exit_code == 0, r.output
    for rel in ("tests/bench/runner.py", "tests/bench/baselines.json", "tests/GATES.md"):
        assert (project / rel).is_file()
    assert "tests/reports/" in (project / ".gitignore").read_text()
    write_bench("vm", const_bench({"steps_per_sec": (1000.0, "steps/sec")}))
    write_bench("gpu", SKIP_BENCH)
    write_bench("wild", WILD_BENCH)
    write_bench("_helper", "raise SystemExit('helpers are not benches')\n")
    write_bench("test_x", "raise SystemExit('tests are not benches')\n")
    write_baselines(
        project,
        {
            "vm.steps_per_sec": {"value": 1000, "unit": "steps/sec", "notes": "keep me"},
            "gpu.kernels_per_sec": {"value": 5, "unit": "kernels/sec"},
            "wild.ops_per_sec": {"value": 1800, "unit": "ops/sec"},
            "wild.median_s": {"value": 0.0005, "unit": "s"},
        },
    )
    out = "tests/reports/bench"
    for _ in range(5):
        p = _runner(project, "--out-dir", out, "--append")
        assert p.returncode == 0, p.stderr
    data = json.loads((project / out / "vm.json").read_text())
    assert len(data["runs"]) == 5
    run0 = data["runs"][0]
    assert run0["env"]["env_vars"]["PYTHONHASHSEED"] == "0"
    assert run0["command"]["env"]["NUMBA_DISABLE_JIT"] == "1"
    assert run0["env"].get("python")
    assert not (project / out / "_helper.json").exists()
    assert not (project / out / "test_x.json").exists()
    assert (project / out / "report.md").is_file()
    gpu = json.loads((project / out / "gpu.json").read_text())
    assert gpu["runs"][0]["status"] == "skipped"
    assert gpu["runs"][0]["reason"] == "no accelerator here"

    p = _runner(project, "--out-dir", out, "--reduce", "median")
    assert p.returncode == 0, p.stderr
    reduced = json.loads((project / out / "reduced.json").read_text())
    assert reduced["metrics"]["vm.steps_per_sec"]["spread"]["n"] == 5

    p = _runner(project, "--compare", "--out-dir", out)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "IMPROVED" in p.stdout and "wild.ops_per_sec" in p.stdout
    assert "SKIPPED" in p.stdout
    assert "no refresh needed" in p.stdout

    r = cli("compare", "--format", "json")
    doc = json.loads(r.output)
    statuses = {m["key"]: m["status"] for m in doc["metrics"]}
    assert statuses == {
        "vm.steps_per_sec": "pass",
        "gpu.kernels_per_sec": "skipped",
        "wild.ops_per_sec": "improved",
        "wild.median_s": "pass",
    }
    assert doc["summary"]["gate"] == "pass"
    vm = next(m for m in doc["metrics"] if m["key"] == "vm.steps_per_sec")
    assert vm["delta_pct"] == 0 and vm["unit"] == "steps/sec" and vm["baseline"] == 1000


def test_regression_new_missing_and_exit_codes(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    write_bench("a", const_bench({"x_per_s": (80.0, "ops/sec"), "extra_per_s": (1.0, "ops/sec")}))
    write_baselines(
        project,
        {
            "a.x_per_s": {"value": 100, "unit": "ops/sec"},
            "b.y_per_s": {"value": 1, "unit": "ops/sec"},
        },
    )
    assert cli("run", "--repeat", "2").exit_code == 0
    r = cli("compare")
    assert r.exit_code == 1
    assert "FAIL" in r.output and "NEW" in r.output and "MISSING" in r.output
    assert "1 metric breaches degradation" in r.output
    assert "fewer than 5 runs" in r.output
    # Relaxing NEW and MISSING leaves the FAIL.
    assert cli("compare", "--allow", "new,missing").exit_code == 1
    write_baselines(
        project,
        {
            "a.x_per_s": {"value": 82, "unit": "ops/sec"},
            "b.y_per_s": {"value": 1, "unit": "ops/sec"},
        },
    )
    assert cli("compare").exit_code == 1
    assert cli("compare", "--allow", "new,missing").exit_code == 0
    assert cli("compare", "--allow", "fail").exit_code == 2


def test_crash_timeout_and_no_json_are_errors_others_still_run(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    write_bench("crash", CRASH_BENCH)
    write_bench("nojson", NOJSON_BENCH)
    write_bench("slow", "import time\ntime.sleep(30)\n")
    write_bench("ok", const_bench({"x_per_s": (5.0, "ops/sec")}))
    write_bench("skipjson", SKIP_JSON_BENCH)
    # The short timeout only for the bench that must time out: on a loaded machine a
    # quick bench's interpreter start alone can take a second.
    r = cli("run", "-k", "crash,nojson,ok,skipjson")
    assert r.exit_code == 0
    r = cli("run", "--append", "-k", "slow", "--timeout", "1")
    assert r.exit_code == 0
    out = project / "tests" / "reports" / "bench"
    crash = json.loads((out / "crash.json").read_text())["runs"][0]
    assert crash["status"] == "error" and crash["exit_code"] == 1
    assert "kaboom in bench" in crash["stderr_tail"] and "kaboom" in crash["reason"]
    nojson = json.loads((out / "nojson.json").read_text())["runs"][0]
    assert nojson["status"] == "error" and "no JSON" in nojson["reason"]
    slow = json.loads((out / "slow.json").read_text())["runs"][0]
    assert slow["status"] == "error" and "timed out after 1 s" in slow["reason"]
    assert slow["duration_s"] < 10
    skip = json.loads((out / "skipjson.json").read_text())["runs"][0]
    assert skip["status"] == "skipped" and skip["reason"] == "needs libfoo"
    ok = json.loads((out / "ok.json").read_text())["runs"][0]
    assert ok["status"] == "ok"
    write_baselines(project, {"ok.x_per_s": {"value": 5, "unit": "ops/sec"}})
    r = cli("compare", "--format", "json")
    assert r.exit_code == 1
    statuses = {m["key"]: m["status"] for m in json.loads(r.output)["metrics"]}
    assert statuses == {
        "ok.x_per_s": "pass",
        "crash": "error",
        "nojson": "error",
        "slow": "error",
        "skipjson": "skipped",
    }
    report = (out / "report.md").read_text()
    assert "kaboom in bench" in report


def test_append_accumulates_and_plain_run_replaces(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    write_bench("a", const_bench({"x_per_s": (1.0, "ops/sec")}))
    write_bench("b", const_bench({"y_per_s": (1.0, "ops/sec")}))
    out = project / "tests" / "reports" / "bench"
    assert cli("run").exit_code == 0
    assert cli("run", "--append", "--repeat", "2").exit_code == 0
    assert len(json.loads((out / "a.json").read_text())["runs"]) == 3
    assert cli("reduce").exit_code == 0
    assert (out / "reduced.json").exists()
    assert cli("run", "-k", "a").exit_code == 0
    assert len(json.loads((out / "a.json").read_text())["runs"]) == 1
    assert not (out / "b.json").exists()  # replaced: earlier runs gone
    assert not (out / "reduced.json").exists()  # stale reduction removed
    assert not [p for p in out.iterdir() if TEMP_MARK in p.name]  # no temp files


def test_round_robin_order(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    write_bench("a", const_bench({"x_per_s": (1.0, "ops/sec")}))
    write_bench("b", const_bench({"y_per_s": (1.0, "ops/sec")}))
    assert cli("run", "--repeat", "3").exit_code == 0
    out = project / "tests" / "reports" / "bench"
    runs = [r for n in ("a", "b") for r in json.loads((out / f"{n}.json").read_text())["runs"]]
    order = [r["bench"] for r in sorted(runs, key=lambda r: r["started"])]
    assert order == ["a", "b", "a", "b", "a", "b"]


def test_bad_input_exits_2_with_one_line(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    write_bench("a", const_bench({"x_per_s": (1.0, "ops/sec")}))
    r = cli("run", "-k", "nosuch")
    assert r.exit_code == 2 and "no bench matches 'nosuch'" in r.output
    r = cli("run", "--cpus", "4096")
    assert r.exit_code == 2 and "4096" in r.output
    assert cli("run").exit_code == 0
    bl = project / "tests" / "bench" / "baselines.json"
    bl.write_text("{oops")
    r = cli("compare")
    assert r.exit_code == 2
    assert (
        r.output.strip().count("\n") == 0 and str(bl) in r.output and "not valid JSON" in r.output
    )
    bl.write_text('{"a.x_per_s": {"value": 1, "unit": "ops/sec", "variance_pct_warn": 0.5}}')
    r = cli("compare")
    assert r.exit_code == 2 and "a.x_per_s" in r.output and "above degradation_pct_max" in r.output
    bl.write_text('{"a.x_per_s": {"value": 1, "unit": "ops/sec"}}')
    result_file = project / "tests" / "reports" / "bench" / "a.json"
    result_file.write_text('{"schema": "benchgate.results/1", "runs": [')
    r = cli("compare")
    assert r.exit_code == 2 and "a.json" in r.output and "corrupt result file" in r.output
    r = cli("run", "--append")
    assert r.exit_code == 2 and "corrupt result file" in r.output
    assert "Traceback" not in r.output


def test_no_out_dir_yet(project: Path, cli: Callable[..., Result]) -> None:
    (project / "tests" / "bench" / "baselines.json").write_text("{}")
    r = cli("compare")
    assert r.exit_code == 2 and "run `benchgate run` first" in r.output


def test_init_never_overwrites_without_force(project: Path, cli: Callable[..., Result]) -> None:
    bl = project / "tests" / "bench" / "baselines.json"
    bl.write_text('{"a.b": {"value": 1, "unit": "s"}}\n')
    r = cli("init")
    assert "kept  tests/bench/baselines.json" in r.output
    assert bl.read_text() == '{"a.b": {"value": 1, "unit": "s"}}\n'
    r = cli("init")
    assert r.exit_code == 0  # everything in place and compatible
    r = cli("init", "--force")  # never replaces baselines that hold data
    assert r.exit_code == 0 and bl.read_text() == '{"a.b": {"value": 1, "unit": "s"}}\n'
    assert "--force never replaces baselines" in r.output
    assert "backed up tests/bench/runner.py to tests/bench/runner.py.bak" in r.output


def test_killed_run_loses_no_earlier_data(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    write_bench("a", const_bench({"x_per_s": (1.0, "ops/sec")}))
    # b records its PID: it runs in its own session, which a SIGKILL of the runner does
    # not reach, and the test must not leave it behind.
    write_bench(
        "b",
        "import os, pathlib, time\npathlib.Path('b.pid').write_text(str(os.getpid()))\ntime.sleep(60)\n",
    )
    assert cli("run", "-k", "a").exit_code == 0
    out = project / "tests" / "reports" / "bench"
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchgate", "-C", str(project), "run", "--append"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                runs_a = json.loads((out / "a.json").read_text())["runs"]
                if len(runs_a) == 2 and (project / "b.pid").exists():
                    break  # a's new run is saved and b is midway
            except (json.JSONDecodeError, FileNotFoundError):
                pass
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        pid_file = project / "b.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
    runs = json.loads((out / "a.json").read_text())["runs"]
    assert len(runs) == 2 and all(r["status"] == "ok" for r in runs)
    assert not (out / "b.json").exists()
