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
from typing import Any

import psutil
import pytest
from click.testing import Result

from benchgate.judge.reduce import reduce_runs
from benchgate.model import RESULTS_SCHEMA
from benchgate.run.results import write_bench_runs
from conftest import const_bench, make_runs, write_baselines

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


# --- items 4 and 5: a bench's bad output is that bench's ERROR, one line --------------

BAD_OUTPUTS = [
    ("huge_number", '{"metrics": {"x_per_s": %s}}' % ("9" * 400), "positive finite number"),
    ("deep", '{"a":' * 5000 + "1" + "}" * 5000, "nests deeper than"),
    ("surrogate_name", '{"metrics": {"x\\ud800": 1}}', "lone surrogate"),
    ("newline_name", '{"metrics": {"x\\n::add-mask::s": 1}}', "control character"),
    ("empty_name", '{"metrics": {"": 1}}', "metric name is empty"),
    ("nan", '{"metrics": {"x_per_s": NaN}}', "positive finite number"),
    ("infinite", '{"metrics": {"x_per_s": 1e999}}', "positive finite number"),
    ("zero", '{"metrics": {"x_per_s": 0}}', "positive finite number"),
    ("negative", '{"metrics": {"x_per_s": {"value": -2, "unit": "x/sec"}}}', "positive finite"),
    ("unit_newline", '{"metrics": {"x": {"value": 1, "unit": "ms\\n|"}}}', "control character"),
    ("huge_sample", '{"metrics": {"x": {"value": 1, "samples": [%s]}}}' % ("1" * 400), "samples"),
]


def test_bad_bench_outputs_are_that_benchs_error_and_the_others_run(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    for name, text, _ in BAD_OUTPUTS:
        write_bench(name, f"print({text!r})\n")
    write_bench("zz_good", const_bench({"x_per_s": (5.0, "x/sec")}))
    r = cli("run")
    assert r.exit_code == 0, r.output
    assert f"{len(BAD_OUTPUTS)} error" in r.output and "1 ok" in r.output
    by_bench = {str(run["bench"]): run for run in _runs_on_disk(project)}
    for name, _, expected in BAD_OUTPUTS:
        run = by_bench[name]
        reason = str(run["reason"])
        assert run["status"] == "error" and expected in reason, (name, reason)
        assert "\n" not in reason
    assert by_bench["zz_good"]["status"] == "ok"


def test_surrogate_skip_reason_is_stored_printable(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    write_bench("s", 'print(\'{"skip": "no \\\\ud800 gpu\\\\nreally"}\')\n')
    assert cli("run").exit_code == 0
    (run,) = _runs_on_disk(project)
    assert run["status"] == "skipped" and run["reason"] == "no \ufffd gpu really"
    write_baselines(project, {"s.x_per_s": {"value": 1.0, "unit": "x/sec"}})
    r = cli("compare")
    assert r.exit_code == 0, r.output
    assert "SKIPPED" in r.output and "no \ufffd gpu really" in r.output


def test_ten_megabytes_of_brace_logs_still_find_the_result(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    write_bench(
        "noisy",
        "import json, sys\n"
        'line = \'step {"i": 1, "loss": 0.5 progress {{ partial\\n\'\n'
        "sys.stdout.write(line * (10_000_000 // len(line)))\n"
        "print(json.dumps({'metrics': {'x_per_s': 3}}))\n",
    )
    r = cli("run", "--timeout", "60")
    assert r.exit_code == 0, r.output
    (run,) = _runs_on_disk(project)
    assert run["status"] == "ok", run["reason"]


# --- items 5 and 6: bad run files, reduced.json and options: exit 2, one line, disk unchanged


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _good_run() -> dict[str, Any]:
    return make_runs("a", {"x_per_s": [100.0]})[0].to_dict()


def _with(path: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def mutate(run: dict[str, Any]) -> dict[str, Any]:
        target = run
        keys = path.split(".")
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
        return run

    return mutate


class _Raw(str):
    """Literal JSON text to splice in (numbers Python's json cannot produce)."""


RUN_FILE_CASES = [
    ("metrics_list", _with("metrics", [1, 2]), "metrics must be an object"),
    ("disturbance_string", _with("disturbance", "yes"), "disturbance must be an object"),
    ("nan_value", _with("metrics.x_per_s.value", float("nan")), "positive finite number"),
    ("inf_value", _with("metrics.x_per_s.value", float("inf")), "positive finite number"),
    ("negative_value", _with("metrics.x_per_s.value", -5.0), "positive finite number"),
    ("zero_value", _with("metrics.x_per_s.value", 0), "positive finite number"),
    ("huge_value", _with("metrics.x_per_s.value", 10**400), "positive finite number"),
    ("empty_name", lambda r: {**r, "metrics": {"": r["metrics"]["x_per_s"]}}, "empty"),
    ("surrogate_name", lambda r: {**r, "metrics": {"x\ud800": {}}}, "lone surrogate"),
    ("newline_name", lambda r: {**r, "metrics": {"x\n::add-mask::y": {}}}, "control character"),
    ("unit_number", _with("metrics.x_per_s.unit", 5), "unit must be a string"),
    ("status_bogus", _with("status", "great"), "status must be"),
    ("samples_string", _with("metrics.x_per_s.samples", "1,2"), "samples must be a list"),
    ("deep_env", _with("env", _Raw('{"a":' * 5000 + "1" + "}" * 5000)), "nested too deeply"),
]


def _dump_run_file(run: dict[str, Any]) -> str:
    raw: dict[str, str] = {}

    def splice(o: Any) -> Any:
        if isinstance(o, _Raw):
            raw[f"@raw{len(raw)}@"] = str(o)
            return f"@raw{len(raw) - 1}@"
        if isinstance(o, dict):
            return {k: splice(v) for k, v in o.items()}
        return o

    text = json.dumps({"schema": RESULTS_SCHEMA, "bench": "a", "runs": [splice(run)]})
    for marker, literal in raw.items():
        text = text.replace(f'"{marker}"', literal)
    return text


@pytest.mark.parametrize(
    "name, mutate, expected", RUN_FILE_CASES, ids=[c[0] for c in RUN_FILE_CASES]
)
@pytest.mark.parametrize("command", ["compare", "reduce"])
def test_bad_run_files_are_one_line_exit_2_and_change_nothing(
    project: Path,
    cli: Callable[..., Result],
    command: str,
    name: str,
    mutate: Callable[[dict[str, Any]], dict[str, Any]],
    expected: str,
) -> None:
    write_baselines(project, {"a.x_per_s": {"value": 100.0, "unit": "x/sec"}})
    out = project / OUT
    out.mkdir(parents=True)
    (out / "a.json").write_text(_dump_run_file(mutate(_good_run())), encoding="utf-8")
    before = _snapshot(project)
    r = cli(command)
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "a.json" in lines[0] and expected in lines[0], r.output
    assert _snapshot(project) == before


REDUCED_CASES = [
    ("nan", "value", float("nan")),
    ("negative", "value", -1.0),
    ("zero_in_values", "values", [0.0]),
    ("inf_spread", "spread", {"n": 1, "min": 1, "max": float("inf"), "stdev": 0, "cv": 0}),
]


@pytest.mark.parametrize("name, field, value", REDUCED_CASES, ids=[c[0] for c in REDUCED_CASES])
def test_bad_reduced_json_is_one_line_exit_2_and_changes_nothing(
    project: Path, cli: Callable[..., Result], name: str, field: str, value: Any
) -> None:
    write_baselines(project, {"a.x_per_s": {"value": 100.0, "unit": "x/sec"}})
    out = project / OUT
    out.mkdir(parents=True)
    runs = make_runs("a", {"x_per_s": [100.0, 101.0]}, unit="x/sec")
    write_bench_runs(out, "a", runs)
    reduced = reduce_runs({"a": runs}).to_dict()
    reduced["metrics"]["a.x_per_s"][field] = value
    (out / "reduced.json").write_text(json.dumps(reduced))
    before = _snapshot(project)
    r = cli("compare")
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "reduced.json" in lines[0], r.output
    assert _snapshot(project) == before


def test_a_unit_switching_between_runs_is_an_error_not_a_mix(
    project: Path, cli: Callable[..., Result]
) -> None:
    write_baselines(project, {"a.lat": {"value": 10.0, "unit": "ms"}})
    out = project / OUT
    runs = make_runs("a", {"lat": [10.0, 10.0, 10.0]}, unit="ms", hib=False)
    runs += make_runs("a", {"lat": [5.0, 5.0]}, unit="ops/sec", hib=True, prefix="b")
    write_bench_runs(out, "a", runs)
    r = cli("compare")
    assert r.exit_code == 1, r.output
    assert "unit changed between runs" in r.output
    assert "ERROR" in r.output


def test_cpu_list_beyond_the_machine_is_one_line(
    cli: Callable[..., Result], write_bench: Callable[[str, str], Path]
) -> None:
    write_bench("a", const_bench({"x_per_s": (1.0, "x/sec")}))
    r = cli("run", "--cpus", "0-99999999999")
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    assert "--cpus: CPU 99999999999 does not exist here" in r.output


def test_unwritable_out_dir_fails_before_measuring(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    marker = project / "ran"
    write_bench(
        "a", f"open({str(marker)!r}, 'w').close()\n" + const_bench({"x_per_s": (1.0, "x/sec")})
    )
    blocker = project / "blocker"
    blocker.write_text("a file, not a folder")
    r = cli("run", "--out-dir", str(blocker / "out"))
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "blocker" in r.output
    assert not marker.exists()  # nothing was measured, so nothing was lost


def test_full_out_dir_fails_before_measuring(
    project: Path,
    write_bench: Callable[[str, str], Path],
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = project / "ran"
    write_bench(
        "a", f"open({str(marker)!r}, 'w').close()\n" + const_bench({"x_per_s": (1.0, "x/sec")})
    )
    real_fsync = os.fsync

    def full(fd: int) -> None:
        if os.fstat(fd).st_size >= 1024:  # the pre-measurement probe write
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    r = cli("run")
    assert r.exit_code == 2, r.output
    assert "No space left on device" in r.output and len(r.output.strip().splitlines()) == 1
    assert not marker.exists()


# --- item 10: file modes through the real CLI -----------------------------------------


def test_written_files_follow_the_umask_and_keep_their_mode(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    write_bench("a", const_bench({"x_per_s": (1.0, "x/sec")}))
    old = os.umask(0o022)
    try:
        assert cli("run").exit_code == 0
        out = project / OUT
        assert {p.name: p.stat().st_mode & 0o777 for p in out.glob("*.json")} == {"a.json": 0o644}
        (out / "report.md").chmod(0o664)
        assert cli("run", "--append").exit_code == 0
        assert (out / "report.md").stat().st_mode & 0o777 == 0o664
        assert (out / "a.json").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
