"""The result-format readers, on files made by the real tools (or committed fixtures).

pytest-benchmark and pyperf are in the dev lock: their files are made here with tiny
benchmarks. hyperfine and Google Benchmark come from Debian (the tests skip with the
install command when missing and CI is unset). asv, criterion and go: committed fixtures
(tests/fixtures/importers/*/README.md says how each was made).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from benchgate.errors import BenchgateError
from benchgate.importers import READERS, read
from benchgate.importers.base import ImportedBench
from benchgate.importers.convert import to_record
from benchgate.judge.reduce import reduce_runs
from benchgate.model import RunStatus
from benchgate.run.results import load_runs

FIXTURES = Path(__file__).parent / "fixtures" / "importers"


def need_tool(ok: bool, what: str, install: str) -> None:
    """Skip (with how to install) when a tool is missing, unless CI is set: then fail."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing on CI ({install})")
    pytest.skip(f"{what} is not installed: {install}")


def by_name(benches: list[ImportedBench]) -> dict[str, ImportedBench]:
    return {b.bench: b for b in benches}


# --------------------------------------------------------------------- pytest-benchmark

PB_TESTS = """
import pytest

@pytest.mark.parametrize("n", [10, 200])
def test_sum(benchmark, n):
    benchmark(sum, range(n))

class TestSort:
    def test_sorted(self, benchmark):
        benchmark(sorted, list(range(50, 0, -1)))
"""


@pytest.fixture(scope="module")
def pytest_benchmark_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pb")
    (d / "test_codec.py").write_text(PB_TESTS)
    out = d / "bench.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--benchmark-min-rounds=7",
            "--benchmark-max-time=0.005",
            "--benchmark-save-data",
            f"--benchmark-json={out}",
            "test_codec.py",
        ],
        cwd=d,
        check=True,
        capture_output=True,
    )
    return out


def test_pytest_benchmark_keeps_its_median_and_rounds(pytest_benchmark_json: Path) -> None:
    raw = json.loads(pytest_benchmark_json.read_text())
    benches = read("pytest-benchmark", pytest_benchmark_json)
    assert [b.bench for b in benches] == ["test_codec"]
    metrics = benches[0].metrics
    assert set(metrics) == {"test_sum[10]", "test_sum[200]", "TestSort::test_sorted"}
    for b in raw["benchmarks"]:
        m = metrics[b["fullname"].split("::", 1)[1]]
        assert m.value == b["stats"]["median"]  # the tool's own summary, to the digit
        assert m.samples == b["stats"]["data"]
        assert len(m.samples) == b["stats"]["rounds"] >= 7
        assert (m.unit, m.higher_is_better, m.inferred) == ("s", False, False)


def test_pytest_benchmark_stats_only_has_no_samples(
    pytest_benchmark_json: Path, tmp_path: Path
) -> None:
    raw = json.loads(pytest_benchmark_json.read_text())
    for b in raw["benchmarks"]:
        del b["stats"]["data"]
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(raw))
    m = read("pytest-benchmark", path)[0].metrics["test_sum[10]"]
    assert m.samples is None
    assert m.value == raw["benchmarks"][0]["stats"]["median"]


def test_pytest_benchmark_unknown_version(pytest_benchmark_json: Path, tmp_path: Path) -> None:
    raw = json.loads(pytest_benchmark_json.read_text())
    raw["version"] = "9.0.0"
    path = tmp_path / "future.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(BenchgateError, match=r"future.json: version: unknown pytest-benchmark"):
        read("pytest-benchmark", path)


# ------------------------------------------------------------------------------ pyperf

PYPERF_SCRIPT = """
import pyperf
runner = pyperf.Runner()
runner.timeit("sum100", stmt="sum(range(100))")
runner.bench_func("sorted50", sorted, list(range(50, 0, -1)))
"""


@pytest.fixture(scope="module")
def pyperf_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pyperf")
    (d / "bench.py").write_text(PYPERF_SCRIPT)
    out = d / "suite.json"
    subprocess.run(
        [sys.executable, "bench.py", "--processes", "2", "--values", "3", "--warmups", "1"]
        + ["--loops", "200", "-q", "-o", str(out)],
        cwd=d,
        check=True,
        capture_output=True,
    )
    return out


def test_pyperf_suite_mean_and_per_process_values(pyperf_json: Path) -> None:
    import pyperf

    suite = pyperf.BenchmarkSuite.load(str(pyperf_json))
    benches = read("pyperf", pyperf_json)
    assert [b.bench for b in benches] == ["suite"]
    metrics = benches[0].metrics
    assert set(metrics) == {"sum100", "sorted50"}
    for bench in suite.get_benchmarks():
        m = metrics[bench.get_name()]
        assert m.value == bench.mean()  # pyperf's "Mean +- std dev", to the digit
        assert m.samples == list(bench.get_values())
        assert len(m.samples) == 6  # 2 processes x 3 values; warm-ups left out
        assert (m.unit, m.higher_is_better) == ("s", False)


def test_pyperf_unknown_version(pyperf_json: Path, tmp_path: Path) -> None:
    raw = json.loads(pyperf_json.read_text())
    raw["version"] = "7.0"
    path = tmp_path / "v7.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(BenchgateError, match="v7.json: version: unknown pyperf format version"):
        read("pyperf", path)


# --------------------------------------------------------------------------- hyperfine


def test_hyperfine_times_and_mean(tmp_path: Path) -> None:
    need_tool(shutil.which("hyperfine") is not None, "hyperfine", "apt-get install hyperfine")
    out = tmp_path / "hf.json"
    subprocess.run(
        ["hyperfine", "-N", "--runs", "5", "--export-json", str(out)]
        + ["--command-name", "noop", "true", "sleep 0.001"],
        check=True,
        capture_output=True,
    )
    raw = json.loads(out.read_text())
    [bench] = read("hyperfine", out)
    assert bench.bench == "hf"
    assert set(bench.metrics) == {"noop", "sleep 0.001"}
    for r in raw["results"]:
        m = bench.metrics[r["command"]]
        assert m.value == r["mean"]  # hyperfine's "Time (mean ± σ)"
        assert m.samples == r["times"] and len(m.samples) == 5
        assert (m.unit, m.higher_is_better) == ("s", False)


def test_hyperfine_failed_command_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "hf.json"
    path.write_text(
        json.dumps(
            {"results": [{"command": "false", "mean": 0.001, "times": [0.001], "exit_codes": [1]}]}
        )
    )
    [bench] = read("hyperfine", path)
    assert bench.failed["false"][0] is RunStatus.ERROR


# -------------------------------------------------------------------- Google Benchmark

GB_SOURCE = r"""
#include <benchmark/benchmark.h>
#include <numeric>
#include <vector>
static void BM_Sum(benchmark::State& state) {
  std::vector<int> v(state.range(0), 1);
  for (auto _ : state) benchmark::DoNotOptimize(std::accumulate(v.begin(), v.end(), 0));
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0) * sizeof(int));
}
BENCHMARK(BM_Sum)->Arg(64)->Arg(512)->Iterations(20000)->Unit(benchmark::kMicrosecond);
static void BM_Fails(benchmark::State& state) {
  for (auto _ : state) {}
  state.SkipWithError("no device");
}
BENCHMARK(BM_Fails)->Iterations(10);
BENCHMARK_MAIN();
"""


@pytest.fixture(scope="module")
def gb_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    hint = "apt-get install g++ libbenchmark-dev"
    need_tool(shutil.which("g++") is not None, "g++", hint)
    need_tool(Path("/usr/include/benchmark/benchmark.h").is_file(), "Google Benchmark", hint)
    d = tmp_path_factory.mktemp("gb")
    (d / "bench.cc").write_text(GB_SOURCE)
    subprocess.run(
        ["g++", "-O2", "bench.cc", "-o", "sum_bench", "-lbenchmark", "-lpthread"],
        cwd=d,
        check=True,
        capture_output=True,
    )
    return d / "sum_bench"


def test_google_benchmark_repetitions_and_aggregates(gb_binary: Path) -> None:
    text = subprocess.run(
        [str(gb_binary), "--benchmark_format=json", "--benchmark_repetitions=3"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    raw = json.loads(text)
    [bench] = read("google-benchmark", text, origin="stdout")
    assert bench.bench == "sum_bench"
    rows = raw["benchmarks"]
    for run in ("BM_Sum/64/iterations:20000", "BM_Sum/512/iterations:20000"):
        median = next(
            r for r in rows if r["run_name"] == run and r.get("aggregate_name") == "median"
        )
        reps = [r for r in rows if r["run_name"] == run and r["run_type"] == "iteration"]
        m = bench.metrics[run]
        assert m.value == median["real_time"]  # Google Benchmark's own median, to the digit
        assert m.samples == [r["real_time"] for r in reps] and len(reps) == 3
        assert (m.unit, m.higher_is_better) == ("us", False)
        assert bench.metrics[f"{run}:cpu_time"].value == median["cpu_time"]
        bps = bench.metrics[f"{run}:bytes_per_second"]
        assert (bps.unit, bps.higher_is_better, bps.value) == (
            "B/sec",
            True,
            median["bytes_per_second"],
        )
    # Aggregate rows are not metrics of their own.
    assert not [k for k in bench.metrics if k.endswith(("_mean", "_stddev", "_cv"))]
    status, reason = bench.failed["BM_Fails/iterations:10"]
    assert status is RunStatus.ERROR and reason == "no device"


def test_google_benchmark_single_run(gb_binary: Path) -> None:
    text = subprocess.run(
        [str(gb_binary), "--benchmark_format=json"], check=True, capture_output=True, text=True
    ).stdout
    row = json.loads(text)["benchmarks"][0]
    [bench] = read("google-benchmark", text)
    m = bench.metrics[row["run_name"]]
    assert m.value == row["real_time"] and m.samples is None


# --------------------------------------------------------------------------------- asv

ASV_RESULT = next((FIXTURES / "asv" / "results" / "vm").glob("c7469afa-*.json"))


def test_asv_results_with_benchmarks_json() -> None:
    raw = json.loads(ASV_RESULT.read_text())
    [bench] = read("asv", ASV_RESULT)
    assert bench.bench == "bench_sum"
    m = bench.metrics
    # asv leaves trailing columns out of a row (here: profile)
    row = dict(
        zip(raw["result_columns"], raw["results"]["bench_sum.TimeSuite.time_sum"], strict=False)
    )
    assert m["TimeSuite.time_sum(10)"].value == row["result"][0]  # asv show: 325±9ns
    assert m["TimeSuite.time_sum(1000)"].value == row["result"][1]  # 6.08±1μs
    assert m["TimeSuite.time_sum(10)"].samples == row["samples"][0]
    assert statistics.median(row["samples"][0]) == pytest.approx(row["result"][0])
    assert round(m["time_sorted"].value * 1e6, 2) == 5.91
    assert (m["mem_list"].value, m["mem_list"].unit) == (8056.0, "B")
    assert (m["track_answer"].unit, m["track_answer"].inferred) == ("widgets", False)
    assert all(not x.higher_is_better for x in m.values())


def test_asv_results_alone_units_from_benchmark_type(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    shutil.copy(ASV_RESULT, path)
    [bench] = read("asv", path)
    assert bench.metrics["time_sorted"].unit == "s"
    assert bench.metrics["mem_list"].unit == "B"
    assert bench.metrics["track_answer"].inferred  # the unit is in benchmarks.json only


def test_asv_failed_and_skipped_and_versions(tmp_path: Path) -> None:
    raw = json.loads(ASV_RESULT.read_text())
    raw["results"]["bench_sum.time_sorted"][0] = [None]
    raw["results"]["bench_sum.mem_list"][0] = [float("nan")]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(raw))
    [bench] = read("asv", path)
    assert bench.failed["time_sorted"][0] is RunStatus.ERROR
    assert bench.failed["mem_list"][0] is RunStatus.SKIPPED
    raw["version"] = 3
    path.write_text(json.dumps(raw))
    with pytest.raises(BenchgateError, match="unknown asv results version 3"):
        read("asv", path)
    with pytest.raises(BenchgateError, match="is asv's benchmarks.json"):
        read("asv", FIXTURES / "asv" / "results" / "benchmarks.json")


# --------------------------------------------------------------------------- criterion

CRITERION = FIXTURES / "criterion" / "target" / "criterion"


def test_criterion_folder_headline_and_samples() -> None:
    benches = by_name(read("criterion", CRITERION))
    assert set(benches) == {"fib", "parse"}
    fib = benches["fib"].metrics
    assert set(fib) == {"fib/recursive/20", "fib/iterative/20"}
    for metric, folder in (("fib/recursive/20", "fib/recursive/20"),):
        new = CRITERION / folder / "new"
        est = json.loads((new / "estimates.json").read_text())
        sample = json.loads((new / "sample.json").read_text())
        m = fib[metric]
        assert m.value == est["slope"]["point_estimate"]  # criterion's "time:" middle value
        assert m.samples == [t / i for t, i in zip(sample["times"], sample["iters"], strict=True)]
        assert (m.unit, m.higher_is_better) == ("ns", False)
    flat = json.loads((CRITERION / "parse" / "json_small" / "new" / "estimates.json").read_text())
    assert benches["parse"].metrics["parse/json_small"].value == flat["mean"]["point_estimate"]
    thrpt = benches["parse"].metrics["parse/json_small:thrpt"]  # criterion's "thrpt:"
    assert thrpt.value == 4096 * 1e9 / flat["mean"]["point_estimate"]
    assert (thrpt.unit, thrpt.higher_is_better) == ("B/sec", True)


def test_criterion_sample_json_alone_gives_the_same_headline(tmp_path: Path) -> None:
    new = CRITERION / "fib" / "recursive" / "20" / "new"
    est = json.loads((new / "estimates.json").read_text())
    text = (new / "sample.json").read_text()
    [bench] = read("criterion", text, origin="sample.json")
    assert bench.metrics["criterion"].value == pytest.approx(
        est["slope"]["point_estimate"], rel=1e-12
    )
    one = read("criterion", new / "estimates.json")
    assert one[0].metrics["fib/recursive/20"].value == est["slope"]["point_estimate"]


# ---------------------------------------------------------------------------------- go


def test_go_bench_count_benchmem_and_failures() -> None:
    [bench] = read("go", FIXTURES / "go" / "codec_bench.txt")
    assert bench.bench == "codec"
    m = bench.metrics
    enc = m["BenchmarkEncode/size=64"]
    assert enc.value == statistics.median([633.2, 640.9, 628.7]) == 633.2
    assert enc.samples == [633.2, 640.9, 628.7]
    assert (enc.unit, enc.higher_is_better) == ("ns/op", False)
    mbs = m["BenchmarkEncode/size=64:MB/s"]
    assert (mbs.value, mbs.unit, mbs.higher_is_better) == (101.08, "MB/s", True)
    assert (m["BenchmarkEncode/size=4096:B/op"].value, m["BenchmarkParse:allocs/op"].value) == (
        4224.0,
        9.0,
    )
    assert m["BenchmarkParse:tokens/op"].higher_is_better is False
    assert bench.failed["BenchmarkDecode"] == (
        RunStatus.ERROR,
        "codec_test.go:41: decode: unexpected EOF",
    )
    assert bench.failed["BenchmarkSIMD"][0] is RunStatus.SKIPPED
    assert bench.extra["gomaxprocs"] == 8


def test_go_bench_truncated_line() -> None:
    text = (FIXTURES / "go" / "codec_bench.txt").read_text()
    cut = text[: text.index("101.80 MB/s") + 3]
    with pytest.raises(BenchgateError, match=r"go.txt: line 7: incomplete result line"):
        read("go", cut, origin="go.txt")


def test_go_bench_bad_number_names_the_line() -> None:
    with pytest.raises(BenchgateError, match="out.txt: line 2: 'abc' is not a number"):
        read("go", "pkg: x\nBenchmarkX-2  100  abc ns/op\n", origin="out.txt")


# ---------------------------------------------------------------------- bad input, CLI


def test_unknown_format_lists_the_known_ones(cli: Callable[..., Result], tmp_path: Path) -> None:
    r = cli("import", "--format", "nope", str(tmp_path / "x.json"))
    assert r.exit_code == 2
    assert "unknown format 'nope' (known: asv, criterion, go, google-benchmark" in r.output


@pytest.mark.parametrize("fmt", sorted(set(READERS) - {"go"}))
def test_truncated_file_is_one_line_naming_it(
    fmt: str, cli: Callable[..., Result], tmp_path: Path
) -> None:
    path = tmp_path / "cut.json"
    path.write_text('{"benchmarks": [{"name": "x", "stats": {"median": 1')
    r = cli("import", "--format", fmt, str(path))
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "truncated" in lines[0]


def test_wrong_format_names_the_right_one(
    cli: Callable[..., Result], pyperf_json: Path, project: Path
) -> None:
    r = cli("import", "--format", "pytest-benchmark", str(pyperf_json))
    assert r.exit_code == 2
    assert "this is pyperf output, not pytest-benchmark: use --format pyperf" in r.output
    assert not (project / "tests" / "reports" / "bench").exists()  # nothing half-written


def test_import_then_reduce_and_compare(
    cli: Callable[..., Result], project: Path, pytest_benchmark_json: Path, tmp_path: Path
) -> None:
    second = tmp_path / "second.json"
    shutil.copy(pytest_benchmark_json, second)
    r = cli("import", "--format", "pytest-benchmark", str(pytest_benchmark_json), str(second))
    assert r.exit_code == 0, r.output
    assert "imported 2 file(s) as 2 runs" in r.output
    runs = load_runs(project / "tests" / "reports" / "bench")
    assert [len(v) for v in runs.values()] == [2]
    raw = json.loads(pytest_benchmark_json.read_text())
    median = raw["benchmarks"][0]["stats"]["median"]
    key = "test_codec." + raw["benchmarks"][0]["fullname"].split("::", 1)[1]
    (project / "tests" / "bench" / "baselines.json").write_text(
        json.dumps({key: {"value": median, "unit": "s", "higher_is_better": False}})
    )
    assert cli("reduce").exit_code == 0
    r = cli("compare", "--allow", "new", "--format", "json")
    assert r.exit_code == 0, r.output
    row = next(v for v in json.loads(r.output)["metrics"] if v["key"] == key)
    assert (row["status"], row["current"]) == ("pass", median)
    # --append adds a run; without it the runs are replaced.
    assert cli("import", "--format", "pytest-benchmark", "--append", str(second)).exit_code == 0
    assert [len(v) for v in load_runs(project / "tests" / "reports" / "bench").values()] == [3]
    r = cli("import", "--format", "pytest-benchmark", "--bench", "py", str(second))
    assert r.exit_code == 0
    assert list(load_runs(project / "tests" / "reports" / "bench")) == ["py"]


# --------------------------------------------------------------------- declared commands


def _config(project: Path, table: str) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0"\n\n[tool.benchgate.commands]\n' + table
    )


def test_declared_command_stdout_in_a_format(cli: Callable[..., Result], project: Path) -> None:
    fixture = FIXTURES / "go" / "codec_bench.txt"
    _config(project, f'gocodec = {{ cmd = ["cat", "{fixture}"], format = "go" }}\n')
    # cat exits 0: the FAIL line is read as that benchmark's ERROR, the others measured.
    r = cli("run")
    assert r.exit_code == 0, r.output
    [run] = load_runs(project / "tests" / "reports" / "bench")["gocodec"]
    assert run.status is RunStatus.OK
    assert run.metrics["BenchmarkEncode/size=64"].value == 633.2
    assert run.extra["metric_status"]["BenchmarkDecode"]["status"] == "error"
    (project / "tests" / "bench" / "baselines.json").write_text("{}")
    r = cli("compare", "--allow", "new")
    assert r.exit_code == 1  # the failed benchmark is an ERROR row, which gates
    assert "gocodec.BenchmarkDecode" in r.output and "unexpected EOF" in r.output


def test_declared_command_output_file(cli: Callable[..., Result], project: Path) -> None:
    need_tool(shutil.which("hyperfine") is not None, "hyperfine", "apt-get install hyperfine")
    _config(
        project,
        'hf = { cmd = "hyperfine -N --runs 3 --export-json {output} true", format = "hyperfine" }\n',
    )
    r = cli("run")
    assert r.exit_code == 0, r.output
    [run] = load_runs(project / "tests" / "reports" / "bench")["hf"]
    assert run.status is RunStatus.OK, run.reason
    assert len(run.metrics["true"].samples or []) == 3


@pytest.mark.parametrize(
    "table, problem",
    [
        ('x = { cmd = "true", format = "nope" }', "unknown format 'nope' (known: asv"),
        ('x = { cmd = "true", colour = 1 }', "unknown key 'colour'"),
        ('x = { kind = "pytest", cmd = "true" }', "takes args, not cmd"),
        ('x = { kind = "jest" }', "unknown kind 'jest'"),
        ('x = { cmd = "true", output = "o.json" }', "output needs a format"),
    ],
)
def test_declared_command_bad_table(
    cli: Callable[..., Result], project: Path, table: str, problem: str
) -> None:
    _config(project, table + "\n")
    r = cli("run")
    assert r.exit_code == 2
    assert problem in r.output and "pyproject.toml" in r.output


# -------------------------------------------------------------- property: never a crash

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["benchmarks", "results", "version", "stats", "median", "data", "runs", "values"]
                + ["metadata", "name", "fullname", "context", "real_time", "time_unit", "command"]
                + ["times", "mean", "iters", "slope", "result_columns", "schema", "benches"]
                + ["run_type", "aggregate_name", "exit_codes", "point_estimate", "metrics"]
            )
            | st.text(max_size=5),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


def _never_crashes(fmt: str, text: str) -> None:
    try:
        out = read(fmt, text, origin="fuzz")
    except BenchgateError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(out, list) and all(isinstance(b, ImportedBench) for b in out)


@settings(max_examples=150, deadline=None)
@given(fmt=st.sampled_from(sorted(READERS)), doc=_json)
def test_random_json_gives_runs_or_a_benchgate_error(fmt: str, doc: object) -> None:
    _never_crashes(fmt, json.dumps(doc))


@settings(max_examples=150, deadline=None)
@given(fmt=st.sampled_from(sorted(READERS)), text=st.text(max_size=200), cut=st.integers(0, 400))
def test_garbled_text_gives_runs_or_a_benchgate_error(fmt: str, text: str, cut: int) -> None:
    real = (FIXTURES / "go" / "codec_bench.txt").read_text() + ASV_RESULT.read_text()
    _never_crashes(fmt, text)
    _never_crashes(fmt, real[:cut] + text)


# Real documents of each format (shapes copied from the tools' output), mutated at random.
SEEDS: dict[str, object] = {
    "pytest-benchmark": {
        "machine_info": {"node": "vm"},
        "commit_info": {"id": "abc"},
        "benchmarks": [
            {
                "group": None,
                "name": "test_sum[10]",
                "fullname": "t/test_b.py::test_sum[10]",
                "params": {"n": 10},
                "stats": {"median": 1.4e-07, "rounds": 3, "data": [1.3e-07, 1.4e-07, 1.5e-07]},
            }
        ],
        "datetime": "2026-12-04T16:37:55",
        "version": "5.3.1",
    },
    "pyperf": {
        "version": "1.0",
        "metadata": {"unit": "second", "perf_version": "2.11.0"},
        "benchmarks": [
            {
                "metadata": {"name": "sum100", "loops": 100},
                "runs": [
                    {"metadata": {}, "warmups": [[1, 3e-06]]},
                    {"values": [6.4e-07, 6.9e-07], "warmups": [[100, 6.4e-07]]},
                ],
            }
        ],
    },
    "google-benchmark": {
        "context": {"executable": "./gb"},
        "benchmarks": [
            {
                "name": "BM_Sum/64",
                "run_name": "BM_Sum/64",
                "run_type": "iteration",
                "repetitions": 2,
                "iterations": 7,
                "real_time": 0.018,
                "cpu_time": 0.017,
                "time_unit": "us",
                "bytes_per_second": 1.3e10,
                "widgets": 3.0,
            },
            {
                "name": "BM_Sum/64_median",
                "run_name": "BM_Sum/64",
                "run_type": "aggregate",
                "aggregate_name": "median",
                "real_time": 0.018,
                "cpu_time": 0.017,
                "time_unit": "us",
            },
        ],
    },
    "hyperfine": {
        "results": [
            {
                "command": "true",
                "mean": 0.0025,
                "median": 0.0026,
                "times": [0.002, 0.003],
                "exit_codes": [0, 0],
            }
        ]
    },
    "criterion": {"sampling_mode": "Linear", "iters": [1.0, 2.0], "times": [10.0, 21.0]},
    "pytest": {
        "schema": "benchgate.pytest/1",
        "benches": {
            "test_codec": {
                "metrics": {
                    "t[1]": {
                        "value": 1e-07,
                        "unit": "s",
                        "higher_is_better": False,
                        "samples": [1e-07, 2e-07],
                    }
                },
                "failed": {"t[2]": {"status": "error", "reason": "boom"}},
            }
        },
    },
    "asv": json.loads(ASV_RESULT.read_text()),
}


def _mutate(doc: object, data: st.DataObject) -> object:
    """``doc`` with one node replaced by random JSON, dropped, or left as it is."""
    if isinstance(doc, dict) and doc and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(doc)))
        out = dict(doc)
        action = data.draw(st.sampled_from(["recurse", "replace", "drop"]))
        if action == "drop":
            del out[key]
        elif action == "replace":
            out[key] = data.draw(_json)
        else:
            out[key] = _mutate(doc[key], data)
        return out
    if isinstance(doc, list) and doc and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(doc) - 1))
        out_l = list(doc)
        out_l[i] = _mutate(doc[i], data) if data.draw(st.booleans()) else data.draw(_json)
        return out_l
    return data.draw(_json) if data.draw(st.booleans()) else doc


@settings(max_examples=200, deadline=None)
@given(fmt=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_mutated_real_documents_give_runs_or_a_benchgate_error(
    fmt: str, data: st.DataObject
) -> None:
    doc = SEEDS[fmt]
    for _ in range(data.draw(st.integers(1, 3))):
        doc = _mutate(doc, data)
    _never_crashes(fmt, json.dumps(doc))


def test_seeds_are_valid_documents() -> None:
    for fmt, doc in SEEDS.items():
        assert read(fmt, json.dumps(doc)), fmt


def test_go_text_fuzz_seed() -> None:
    _never_crashes("go", textwrap.dedent("BenchmarkX 1 2 ns/op\n--- FAIL: BenchmarkY\n"))


def test_declared_pyperf_command_temp_and_fixed_output(
    cli: Callable[..., Result], project: Path
) -> None:
    (project / "bench.py").write_text(PYPERF_SCRIPT)
    cmd = f"{sys.executable} bench.py --processes 2 --values 3 --warmups 1 --loops 100 -q -o"
    _config(
        project,
        f'tmp = {{ cmd = "{cmd} {{output}}", format = "pyperf" }}\n'
        f'fixed = {{ cmd = "{cmd} out/pp.json", format = "pyperf", output = "out/pp.json" }}\n',
    )
    (project / "out").mkdir()
    # A stale file from an earlier run: pyperf refuses to overwrite its -o file, and it must
    # never be read as this run's results, so benchgate removes it first.
    (project / "out" / "pp.json").write_text("stale")
    r = cli("run")
    assert r.exit_code == 0, r.output
    runs = load_runs(project / "tests" / "reports" / "bench")
    for name in ("tmp", "fixed"):
        assert [x.status for x in runs[name]] == [RunStatus.OK], runs[name][0].reason
        assert set(runs[name][0].metrics) == {"sum100", "sorted50"}
        assert len(runs[name][0].metrics["sum100"].samples or []) == 6
    assert (project / "out" / "pp.json").is_file()  # a declared output file is the user's


def test_metric_failing_in_some_runs_only_is_noted() -> None:
    good = ImportedBench("b")
    good.metrics["t"] = read("go", "BenchmarkT 10 5 ns/op\n")[0].metrics["BenchmarkT"]
    bad = ImportedBench("b")
    bad.metrics["u"] = good.metrics["t"]
    bad.failed["t"] = (RunStatus.ERROR, "flaky assertion")
    runs = [
        to_record(x, "inv", f"2026-01-01T00:00:0{i}", {}, {}) for i, x in enumerate([good, bad])
    ]
    reduced = reduce_runs({"b": runs})
    assert reduced.metrics["b.t"].spread.n == 1
    assert reduced.benches["b"].reason == "t failed in 1 of 2 runs (flaky assertion)"
    assert reduced.benches["b"].metric_status == {}
