"""Measurements beyond time: --measure parsing and config, the counting and memory modes of
benchgate.bench, zero-spread handling through reduce/compare/refresh/confirm/ab, the
determinism warning, and the no-valgrind error. The tests that run valgrind itself are in
test_measure_valgrind.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from tests.conftest import make_env, write_baselines

from benchgate.ab.run import judge_pairs
from benchgate.baselines.refresh import RefreshOptions, plan_refresh
from benchgate.bench.api import Suite
from benchgate.config import load_config, measure_settings
from benchgate.errors import BenchgateError
from benchgate.judge.confirm import worth_confirming
from benchgate.judge.gate import gate
from benchgate.judge.reduce import reduce_runs
from benchgate.model import Measurement, RunRecord, RunStatus, Status
from benchgate.run.measure import (
    CYCLES,
    INSTRUCTIONS,
    MEMORY,
    TIME,
    determinism_problems,
    estimated_cycles,
    metric_name,
    parse_measures,
    read_cachegrind,
)
from benchgate.run.results import write_bench_runs

# --- parsing and config --------------------------------------------------------------------


def test_parse_measures_lists_aliases_and_order() -> None:
    assert parse_measures("instructions") == (INSTRUCTIONS,)
    assert parse_measures("both") == (TIME, INSTRUCTIONS)
    assert parse_measures("time, memory,time") == (TIME, MEMORY)
    assert parse_measures(["cycles", "both"]) == (CYCLES, TIME, INSTRUCTIONS)
    with pytest.raises(BenchgateError, match="unknown measurement 'walltime'"):
        parse_measures("time,walltime")
    with pytest.raises(BenchgateError, match="names no measurement"):
        parse_measures(" , ")


def test_metric_name_puts_the_suffix_before_the_case() -> None:
    assert metric_name("encode", "_instructions") == "encode_instructions"
    assert metric_name("encode[n=1,k=x]", "_cycles") == "encode_cycles[n=1,k=x]"


def test_config_measure_and_per_bench_override(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.benchgate]\n"
        'measure = ["time", "instructions"]\n'
        "calls = 4\n"
        "[tool.benchgate.measure_per_bench]\n"
        'native = "time"\n'
        'alloc = "memory,instructions"\n'
    )
    cfg = load_config(project)
    assert cfg.calls == 4
    default, per_bench = measure_settings(cfg, None)
    assert default == (TIME, INSTRUCTIONS)
    assert per_bench == {"native": (TIME,), "alloc": (MEMORY, INSTRUCTIONS)}
    # The flag replaces `measure`; the per-bench entries still win for their benches.
    default, per_bench = measure_settings(cfg, "memory")
    assert default == (MEMORY,) and per_bench["native"] == (TIME,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('measure = "speed"', "tool.benchgate.measure: unknown measurement 'speed'"),
        (
            '[tool.benchgate.measure_per_bench]\nx = "nope"',
            "tool.benchgate.measure_per_bench.x: unknown measurement",
        ),
        ("calls = 0", "tool.benchgate.calls: must be between 1 and"),
    ],
)
def test_config_measure_errors_name_file_and_key(project: Path, text: str, message: str) -> None:
    (project / "pyproject.toml").write_text(f"[tool.benchgate]\n{text}\n")
    with pytest.raises(BenchgateError) as err:
        load_config(project)
    assert "pyproject.toml" in str(err.value) and message in str(err.value)


# --- cachegrind output and the cycle estimate ------------------------------------------------


def test_read_cachegrind_sums_files_and_estimates_cycles(tmp_path: Path) -> None:
    a = tmp_path / "cg.1"
    a.write_text(
        "desc: I1 cache: ...\ncmd: python x.py\nevents: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw\n"
        "fl=x.c\nfn=main\n1 5 0 0\n"
        "summary: 1000 10 1 300 20 2 100 5 1\n"
    )
    b = tmp_path / "cg.2"
    b.write_text("events: Ir\nsummary: 500\n")
    events = read_cachegrind([a, b])
    assert events["Ir"] == 1500 and events["D1mr"] == 20
    # Ir + 10 * (I1mr + D1mr + D1mw) + 100 * (ILmr + DLmr + DLmw)
    assert estimated_cycles(events) == 1500 + 10 * (10 + 20 + 5) + 100 * (1 + 2 + 1)
    bad = tmp_path / "cg.3"
    bad.write_text("events: Ir\n")
    with pytest.raises(ValueError, match="no event summary"):
        read_cachegrind([bad])


# --- benchgate.bench's counting and memory modes ----------------------------------------------


def test_count_calls_runs_exactly_n_calls_without_calibration() -> None:
    suite = Suite()
    calls: list[int] = []
    setups: list[int] = []

    def make(n: int) -> int:
        setups.append(n)
        return n

    @suite.metric("op", setup=make, params={"n": [1, 2]})
    def op(n: int) -> None:
        calls.append(n)

    suite.count_calls("op[n=2]", 23)
    assert calls == [2] * 23 and setups == [2]
    with pytest.raises(ValueError, match="no case named"):
        suite.count_calls("op[n=3]", 1)


def test_memory_mode_peak_of_one_call_and_retained_per_call() -> None:
    suite = Suite()
    kept: list[bytes] = []

    @suite.metric("alloc_s")
    def alloc() -> None:
        data = bytearray(1_000_000)  # freed at return: only in the peak
        kept.append(bytes(1000))  # kept: retained
        del data

    got = suite.memory("alloc_s", 10)
    assert 1_000_000 <= got["peak_bytes"] < 1_100_000
    assert 1000 <= got["retained_bytes"] < 1200


def test_bench_main_list_and_count_modes(
    write_bench: Callable[[str, str], Path], project: Path
) -> None:
    import subprocess
    import sys

    path = write_bench(
        "counted",
        """
        from benchgate import bench

        @bench.metric("op_s", params={"n": [1, 2]})
        def op(n):
            return n + 1

        if __name__ == "__main__":
            bench.main()
        """,
    )

    def run(**env: str) -> dict[str, object]:
        out = subprocess.run(
            [sys.executable, str(path)],
            env={**__import__("os").environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        return dict(json.loads(out.stdout))

    listed = run(BENCHGATE_MEASURE="list")
    assert listed["harness"]["cases"] == ["op_s[n=1]", "op_s[n=2]"]  # type: ignore[index]
    counted = run(BENCHGATE_MEASURE="instructions", BENCHGATE_CASE="op_s[n=2]", BENCHGATE_CALLS="7")
    assert counted["harness"]["calls"] == {"op_s[n=2]": 7}  # type: ignore[index]


def test_run_measure_memory_through_the_cli(
    cli: Callable[..., Result], write_bench: Callable[[str, str], Path], project: Path
) -> None:
    write_bench(
        "grow",
        """
        from benchgate import bench

        @bench.metric("build_s")
        def build():
            return [0] * 100_000

        if __name__ == "__main__":
            bench.main()
        """,
    )
    write_bench("plain", 'import json\nprint(json.dumps({"result": {"calls_per_s": 5.0}}))\n')
    res = cli("run", "--measure", "memory")
    assert res.exit_code == 0, res.output
    grow = json.loads((project / "tests/reports/bench/grow.json").read_text())["runs"][0]
    metrics = grow["metrics"]
    assert set(metrics) == {"build_s_peak_bytes", "peak_rss"}
    assert all(m["unit"] == "bytes" and m["higher_is_better"] is False for m in metrics.values())
    assert 800_000 <= metrics["build_s_peak_bytes"]["value"] < 900_000
    assert metrics["peak_rss"]["value"] > 1_000_000
    plain = json.loads((project / "tests/reports/bench/plain.json").read_text())["runs"][0]
    assert set(plain["metrics"]) == {"peak_rss"}  # a plain script: the process only
    assert grow["command"]["measure"] == ["memory"]


def test_instructions_without_valgrind_is_exit_2_with_install_hint(
    cli: Callable[..., Result],
    write_bench: Callable[[str, str], Path],
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_bench("plain", 'import json\nprint(json.dumps({"result": {"calls_per_s": 5.0}}))\n')
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    res = cli("run", "--measure", "time,instructions")
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "apt-get install valgrind" in lines[0]
    assert not (project / "tests" / "reports").exists()  # refused before anything ran


# --- zero spread and the determinism warning ------------------------------------------------


def _count_run(i: int, value: float, key: str = "op_instructions") -> RunRecord:
    return RunRecord(
        run_id=f"r{i}",
        bench="b",
        invocation="inv",
        started=f"2026-01-01T00:00:0{i}",
        duration_s=1.0,
        status=RunStatus.OK,
        metrics={key: Measurement(value, "instructions", False)},
        env=make_env(),
    )


def _write_counts(project: Path, values: list[float]) -> Path:
    out = project / "tests" / "reports" / "bench"
    write_bench_runs(out, "b", [_count_run(i, v) for i, v in enumerate(values)])
    return out


def test_zero_spread_reduce_compare_interval_and_confirm(project: Path) -> None:
    out = _write_counts(project, [28_000.0] * 5)
    reduced = reduce_runs({"b": [_count_run(i, 28_000.0) for i in range(5)]})
    m = reduced.metrics["b.op_instructions"]
    assert (m.spread.stdev, m.spread.cv, m.spread.iqr_rel) == (0.0, 0.0, 0.0)
    write_baselines(
        project,
        {
            "b.op_instructions": {
                "value": 27_720.0,  # current is +1.0%: PASS, exactly
                "unit": "instructions",
                "higher_is_better": False,
                "degradation_pct_max": 0.03,
                "variance_pct_warn": 0.005,
            }
        },
    )
    g = gate(load_config(project), out)
    v = g.comparison.verdicts[0]
    assert v.status is Status.WARN and v.delta_pct == pytest.approx(1.0101, abs=1e-3)
    assert v.interval is not None and v.interval.low == v.interval.high  # zero width
    assert v.unsure is False and not worth_confirming(v)
    assert not any("Noisy" in w or "Determinism" in w for w in g.comparison.warnings)


def test_zero_spread_refresh_is_not_noisy(project: Path) -> None:
    baselines = json.dumps(
        {
            "b.op_instructions": {
                "value": 27_900.0,
                "unit": "instructions",
                "variance_pct_warn": 0.01,
            }
        }
    )
    runs = {"b": [_count_run(i, 28_000.0) for i in range(5)]}
    plan = plan_refresh(
        load_config(project),
        runs,
        baselines,
        RefreshOptions(reason="algorithmic", why="faster path"),
    )
    assert plan.refusals == []
    assert [c.key for c in plan.changes] == ["b.op_instructions"]
    assert not any("Determinism" in w for w in plan.warnings)
    varying = {"b": [_count_run(i, 28_000.0 + (i == 2)) for i in range(5)]}
    plan = plan_refresh(
        load_config(project), varying, baselines, RefreshOptions(reason="algorithmic", why="x")
    )
    assert any(w.startswith("Determinism problem: b.op_instructions") for w in plan.warnings)


def test_varying_count_is_a_determinism_problem(project: Path) -> None:
    out = _write_counts(project, [28_000.0, 28_000.0, 28_011.0, 28_000.0, 28_000.0])
    reduced = reduce_runs({"b": [_count_run(i, v) for i, v in enumerate([1.0, 1.0, 1.5])]})
    (line,) = determinism_problems(reduced.metrics.values())
    assert "b.op_instructions varied by 50%" in line and "PYTHONHASHSEED" in line
    write_baselines(project, {"b.op_instructions": {"value": 28_000.0, "unit": "instructions"}})
    g = gate(load_config(project), out)
    assert any(
        w.startswith("Determinism problem: b.op_instructions") for w in g.comparison.warnings
    )
    # A time metric that varies is ordinary noise, not a determinism problem.
    timed = reduce_runs(
        {
            "b": [
                RunRecord(
                    run_id=f"t{i}",
                    bench="b",
                    invocation="i",
                    started="2026",
                    duration_s=1.0,
                    status=RunStatus.OK,
                    metrics={"op_s": Measurement(v, "s", False)},
                )
                for i, v in enumerate([1.0, 1.1])
            ]
        }
    )
    assert determinism_problems(timed.metrics.values()) == []


def test_zero_spread_pairs_in_ab() -> None:
    status, ratio, interval, unsure = judge_pairs([(100.0, 101.0)] * 5, False, 0.03, 0.005)
    assert status is Status.WARN and ratio == pytest.approx(1.01)
    assert interval is not None and interval.low == pytest.approx(interval.high)
    assert unsure is False


def test_reduce_cli_prints_determinism_warning(cli: Callable[..., Result], project: Path) -> None:
    _write_counts(project, [5.0, 5.0, 6.0])
    res = cli("reduce")
    assert res.exit_code == 0
    assert "warning: Determinism problem: b.op_instructions varied by 20%" in res.output


def test_keys_of_a_measurement_not_made_are_skipped_not_missing(project: Path) -> None:
    out = _write_counts(project, [28_000.0] * 3)
    write_baselines(
        project,
        {
            "b.op_instructions": {"value": 28_000.0, "unit": "instructions"},
            "b.gone_instructions": {"value": 5.0, "unit": "instructions"},
            "b.op_s": {"value": 0.001, "unit": "s"},
            "b.peak_rss": {"value": 1e7, "unit": "bytes"},
        },
    )
    by_key = {v.key: v for v in gate(load_config(project), out).comparison.verdicts}
    assert by_key["b.op_instructions"].status is Status.PASS
    # An instruction key the counted runs did not report is really missing ...
    assert by_key["b.gone_instructions"].status is Status.MISSING
    # ... a time or memory key is just not measured in an instructions-only run.
    assert by_key["b.op_s"].status is Status.SKIPPED
    assert "made no time measurement" in (by_key["b.op_s"].reason or "")
    assert by_key["b.peak_rss"].status is Status.SKIPPED


def test_ci_templates_have_an_instruction_job_installing_valgrind() -> None:
    import yaml

    from benchgate.project.ci_workflow import ci_template

    gh = yaml.safe_load(ci_template("github")[1])["jobs"]["instructions"]
    runs = "\n".join(s.get("run", "") for s in gh["steps"])
    assert "apt-get install -y -q valgrind" in runs
    assert "benchgate ab --base" in runs and "--measure instructions" in runs
    assert "benchgate run --measure instructions" in runs and "benchgate compare" in runs
    gl = yaml.safe_load(ci_template("gitlab")[1])["bench-instructions"]
    assert any("apt-get install -y -q valgrind" in line for line in gl["before_script"])
    script = "\n".join(gl["script"])
    assert "--measure instructions" in script and "benchgate compare" in script


@pytest.mark.parametrize(
    "text",
    [
        "",
        "summary: 12\n",  # no events line
        "events: Ir D1mr\nsummary: 12\n",  # fewer numbers than events
        "events: Ir\nsummary: twelve\n",
        "events: Ir\nsummary: 1 2\n",
        "\x00\xff garbage",
    ],
)
def test_cachegrind_parser_rejects_malformed_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "cg.1"
    path.write_text(text, encoding="utf-8", errors="replace")
    with pytest.raises(ValueError):
        read_cachegrind([path])
