"""The bench-writing API (benchgate.bench) and the bundled demo suite.

Timing logic is tested with a fake clock (an operation advances it by a fixed cost), so
every number is exact and nothing depends on the machine's speed. Scripts run in
subprocesses with tiny BENCHGATE_MIN_TIME so they finish in a fraction of a second.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from benchgate.bench import SKIP_EXIT_CODE, Suite, measure
from benchgate.config import load_config
from benchgate.run.discovery import discover
from benchgate.run.protocol import parse_output

DEMO = Path(__file__).resolve().parents[1] / "src" / "benchgate" / "project" / "demo_project"
DEMO_BENCH = DEMO / "tests" / "bench"
FAST_ENV = {
    "BENCHGATE_MIN_TIME": "0.002",
    "BENCHGATE_SAMPLES": "3",
    "BENCHGATE_WARMUP": "0",
    "PYTHONDONTWRITEBYTECODE": "1",  # keep __pycache__ out of the shipped demo folder
    "PYTHONHASHSEED": "0",
}


class FakeClock:
    """Nanoseconds that only move when the operation (or a clock read) moves them."""

    def __init__(self, read_cost: int = 0) -> None:
        self.now = 0
        self.read_cost = read_cost

    def __call__(self) -> int:
        self.now += self.read_cost
        return self.now

    def op(self, cost: int) -> Any:
        def operation(*args: Any, **kwargs: Any) -> None:
            self.now += cost

        return operation


@pytest.fixture(autouse=True)
def _no_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("BENCHGATE_MIN_TIME", "BENCHGATE_SAMPLES", "BENCHGATE_WARMUP"):
        monkeypatch.delenv(var, raising=False)


def run_script(
    path: Path, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path), *args],
        cwd=cwd or path.parent,
        env={**os.environ, **FAST_ENV, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --------------------------------------------------------------------------- calibration


def test_calibration_grows_until_min_time() -> None:
    clock = FakeClock()
    t = measure(clock.op(1000), min_time=1e-3, samples=3, warmup=0, clock=clock)
    ns = [n for n, _ in t.calibration]
    times = [x for _, x in t.calibration]
    assert ns[0] == 1 and ns == sorted(ns) and len(set(ns)) == len(ns)
    assert all(x < 1e6 for x in times[:-1]) and times[-1] >= 1e6
    assert t.calls == ns[-1]
    assert t.calibration == [(1, 1000.0), (10, 10_000.0), (1050, 1_050_000.0)]
    assert t.sample_ns == [1000.0, 1000.0, 1000.0]


def test_calibration_slow_operation_is_one_call() -> None:
    clock = FakeClock()
    t = measure(clock.op(50_000_000), min_time=0.01, samples=2, warmup=0, clock=clock)
    assert t.calls == 1 and t.calibration == [(1, 50_000_000.0)]
    assert t.per_call_s == [0.05, 0.05]


def test_slow_first_call_recalibrates_in_warmup() -> None:
    clock = FakeClock()
    costs = iter([50_000_000])  # the first call is cold: 50 ms, then 1 us

    def op() -> None:
        clock.now += next(costs, 1000)

    t = measure(op, min_time=1e-3, samples=2, warmup=1, clock=clock)
    assert t.calibration[0] == (1, 50_000_000.0)
    assert t.calls == 1050 and t.sample_ns == [1000.0, 1000.0]


def test_loop_overhead_is_subtracted() -> None:
    # Every clock read costs 70 ns: the empty loop sees it too, so it cancels exactly.
    clock = FakeClock(read_cost=70)
    t = measure(clock.op(1000), min_time=1e-3, samples=3, warmup=1, clock=clock)
    assert t.overhead_ns == 70.0
    assert t.sample_ns == [1000.0, 1000.0, 1000.0]


def test_stuck_clock_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="does not advance"):
        measure(lambda: None, min_time=1e-3, clock=lambda: 0)


def test_measure_real_clock_args_and_kwargs() -> None:
    seen: list[tuple[Any, ...]] = []

    def op(a: int, b: int, *, scale: int) -> None:
        seen.append((a, b, scale))

    t = measure(op, args=(1, 2), kwargs={"scale": 3}, min_time=1e-4, samples=2, warmup=1)
    assert seen and set(seen) == {(1, 2, 3)}
    assert len(t.sample_ns) == 2 and all(x > 0 for x in t.sample_ns)


def test_gc_disabled_while_timing_and_restored() -> None:
    import gc

    states: list[bool] = []
    measure(lambda: states.append(gc.isenabled()), min_time=1e-5, samples=1, warmup=0)
    assert states and not any(states)
    assert gc.isenabled()
    states.clear()
    measure(
        lambda: states.append(gc.isenabled()),
        min_time=1e-5,
        samples=1,
        warmup=0,
        disable_gc=False,
    )
    assert all(states)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"min_time": 0}, "min_time"),
        ({"samples": 0}, "samples"),
        ({"warmup": -1}, "warmup"),
    ],
)
def test_measure_rejects_bad_settings(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        measure(lambda: None, **kwargs)


# --------------------------------------------------------------------------- metrics


def suite_with(clock: FakeClock) -> Suite:
    return Suite(min_time=1e-4, samples=3, warmup=0, clock=clock)


@pytest.mark.parametrize(
    "options, unit, value, higher",
    [
        ({"ops_per_call": 4}, "ops/sec", 4e6, True),
        ({"ops_per_call": 4, "unit": "steps"}, "steps/sec", 4e6, True),
        ({"ops_per_call": 4, "unit": "steps/sec"}, "steps/sec", 4e6, True),
        ({"bytes_per_call": 2000}, "MB/sec", 2000.0, True),
        ({"bytes_per_call": 2048, "unit": "KiB/sec"}, "KiB/sec", 2e6, True),
        ({"items_per_call": 3, "unit": "leaves/sec"}, "leaves/sec", 3e6, True),
        ({"items_per_call": 3, "unit": "leaves"}, "leaves/sec", 3e6, True),
        ({}, "s", 1e-6, False),
        ({"unit": "us"}, "us", 1.0, False),
        ({"unit": "ns"}, "ns", 1000.0, False),
    ],
)
def test_derived_metrics_and_units(
    options: dict[str, Any], unit: str, value: float, higher: bool
) -> None:
    clock = FakeClock()
    suite = suite_with(clock)
    suite.metric("m", **options)(clock.op(1000))  # 1 us per call
    out = suite.run()
    m = out["m"]
    assert m["unit"] == unit and m["higher_is_better"] is higher
    assert m["value"] == pytest.approx(value)
    assert m["samples"] == pytest.approx([value] * 3)
    # What the runner reads back is the same metric.
    parsed = parse_output(json.dumps({"metrics": out})).metrics["m"]
    assert parsed.unit == unit and parsed.higher_is_better is higher and not parsed.inferred


def test_parameterised_cases_are_named_and_counted() -> None:
    clock = FakeClock()
    suite = suite_with(clock)
    seen: list[Any] = []

    def setup(n: int, k: int) -> dict[str, int]:
        return {"n": n, "k": k}

    @suite.metric(
        "encode_MBps",
        bytes_per_call=lambda state: state["n"],
        params={"n": [1000, 4000], "k": [2, 4]},
        setup=setup,
        teardown=seen.append,
    )
    def encode(state: dict[str, int]) -> None:
        clock.now += state["n"]  # 1 ns per byte: 1000 MB/sec for every case

    out = suite.run()
    assert list(out) == [
        "encode_MBps[n=1000,k=2]",
        "encode_MBps[n=1000,k=4]",
        "encode_MBps[n=4000,k=2]",
        "encode_MBps[n=4000,k=4]",
    ]
    assert all(m["value"] == pytest.approx(1000.0) for m in out.values())
    assert seen == [
        {"n": 1000, "k": 2},
        {"n": 1000, "k": 4},
        {"n": 4000, "k": 2},
        {"n": 4000, "k": 4},
    ]


def test_params_list_of_dicts_and_no_setup_passes_params_as_kwargs() -> None:
    clock = FakeClock()
    suite = suite_with(clock)
    calls: list[dict[str, Any]] = []

    @suite.metric("t", params=[{"size": 1.5}, {"size": "big"}], kwargs={"mode": "x"}, unit="ns")
    def op(size: Any, mode: str) -> None:
        calls.append({"size": size, "mode": mode})
        clock.now += 10

    out = suite.run()
    assert list(out) == ["t[size=1.5]", "t[size=big]"]
    assert {c["mode"] for c in calls} == {"x"}
    assert {c["size"] for c in calls} == {1.5, "big"}


def test_setup_state_and_static_args() -> None:
    clock = FakeClock()
    suite = suite_with(clock)
    setups: list[int] = []
    got: list[tuple[Any, ...]] = []

    def setup() -> str:
        setups.append(1)
        return "state"

    @suite.metric("x", setup=setup, args=(7,), ops_per_call=lambda s, n: n)
    def op(state: str, n: int) -> None:
        got.append((state, n))
        clock.now += 7000

    out = suite.run()
    assert setups == [1]  # once per case, not timed
    assert set(got) == {("state", 7)}
    assert out["x"]["value"] == pytest.approx(1e6)  # 7 ops per 7 us


def test_percentiles_are_extra_lower_is_better_metrics() -> None:
    clock = FakeClock()
    suite = suite_with(clock)
    suite.metric(
        "sel",
        ops_per_call=1,
        params={"n": [1]},
        percentiles=True,
        latency_unit="us",
    )(clock.op(2000))
    out = suite.run()
    assert list(out) == ["sel[n=1]", "sel_p50[n=1]", "sel_p90[n=1]", "sel_p99[n=1]"]
    for p in ("50", "90", "99"):
        m = out[f"sel_p{p}[n=1]"]
        assert m["unit"] == "us" and m["higher_is_better"] is False
        assert m["value"] == pytest.approx(2.0)
        assert len(m["samples"]) == 3


def test_custom_percentiles_naming() -> None:
    clock = FakeClock()
    suite = suite_with(clock)
    suite.metric("lat", percentiles=(99.9,))(clock.op(100))
    assert list(suite.run()) == ["lat", "lat_p99_9"]


@pytest.mark.parametrize(
    "options, match",
    [
        ({"ops_per_call": 1, "bytes_per_call": 1}, "at most one"),
        ({"ops_per_call": 0}, "positive"),
        ({"items_per_call": 3}, "needs a unit"),
        ({"bytes_per_call": 3, "unit": "MB/s"}, "unit for bytes"),
        ({"unit": "steps/sec"}, "ops_per_call or items_per_call"),
        ({"params": {"n": []}}, "non-empty list"),
        ({"params": {"n": "abc"}}, "non-empty list"),
        ({"percentiles": (150,)}, "between 0 and 100"),
        ({"samples": 0}, "samples"),
    ],
)
def test_metric_rejects_bad_declarations(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Suite().metric("m", **options)


def test_duplicate_metric_names_are_rejected() -> None:
    suite = Suite()
    suite.metric("a", params={"n": [1]})(lambda n: None)
    with pytest.raises(ValueError, match="registered twice"):
        suite.metric("a", params={"n": [1]})(lambda n: None)


def test_env_overrides_beat_script_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    suite = Suite(min_time=10.0, samples=9, clock=clock)
    suite.metric("m", min_time=5.0, unit="ns")(clock.op(1000))
    monkeypatch.setenv("BENCHGATE_MIN_TIME", "0.0001")
    monkeypatch.setenv("BENCHGATE_SAMPLES", "2")
    (result,) = list(suite.iter_results())
    assert len(result.metric["samples"]) == 2
    assert result.timing.calls * 1000 < 1e6  # calibrated to 0.1 ms, not 5 s
    # Explicit run() arguments (the --min-time / --samples flags) beat the environment.
    (result,) = list(suite.iter_results(samples=4))
    assert len(result.metric["samples"]) == 4


def test_bad_env_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    suite = Suite()
    suite.metric("m")(lambda: None)
    monkeypatch.setenv("BENCHGATE_SAMPLES", "many")
    with pytest.raises(ValueError, match="BENCHGATE_SAMPLES must be an integer"):
        suite.run()


def test_describe_line() -> None:
    clock = FakeClock()
    suite = suite_with(clock)
    suite.metric("enc", bytes_per_call=1000)(clock.op(1000))
    lines: list[str] = []
    suite.run(log=lines.append)
    assert lines == ["enc: 1000 MB/sec ±0.0% (3 samples of 105 calls, 1 us/call)"]


def test_package_exports_the_default_suite() -> None:
    import benchgate
    import benchgate.bench as imported

    module = sys.modules["benchgate.bench"]
    assert isinstance(benchgate.bench, Suite) and imported is benchgate.bench
    assert module.metric == module.bench.metric and module.main == benchgate.bench.main
    assert callable(benchgate.bench.skip) and callable(benchgate.bench.measure)


# --------------------------------------------------------------------------- scripts


SCRIPT = """\
    import sys
    from benchgate import bench

    print("log line on stdout before the JSON")

    def make(n):
        return list(range(n))

    @bench.metric("sum_per_sec", items_per_call=len, unit="sums/sec", setup=make,
                  params={"n": [10, 100]})
    def total(data):
        return sum(data)

    @bench.metric("sort_s", setup=lambda: list(range(50, 0, -1)), percentiles=(50,))
    def order(data):
        return sorted(data)

    if __name__ == "__main__":
        bench.main()
"""


def test_standalone_script_prints_canonical_json(tmp_path: Path) -> None:
    script = tmp_path / "foo.py"
    script.write_text(textwrap.dedent(SCRIPT))
    proc = run_script(script)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "log line on stdout before the JSON"
    doc = json.loads(lines[-1])  # one JSON object, on its own line
    assert set(doc["metrics"]) == {
        "sum_per_sec[n=10]",
        "sum_per_sec[n=100]",
        "sort_s",
        "sort_s_p50",
    }
    for m in doc["metrics"].values():
        assert set(m) == {"value", "unit", "higher_is_better", "samples"}
        assert m["value"] > 0 and len(m["samples"]) == 3
    out = parse_output(proc.stdout)
    assert out.error is None and out.metrics["sum_per_sec[n=10]"].unit == "sums/sec"
    assert out.metrics["sort_s"].higher_is_better is False
    assert "sum_per_sec[n=10]:" in proc.stderr  # readable lines go to stderr


def test_standalone_flags_list_select_and_bad_env(tmp_path: Path) -> None:
    script = tmp_path / "foo.py"
    script.write_text(textwrap.dedent(SCRIPT))
    listed = run_script(script, "--list")
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[-3:] == ["sum_per_sec[n=10]", "sum_per_sec[n=100]", "sort_s"]
    only = run_script(script, "-k", "n=100", "-q")
    assert only.returncode == 0 and only.stderr == ""
    assert list(json.loads(only.stdout.splitlines()[-1])["metrics"]) == ["sum_per_sec[n=100]"]
    bad = run_script(script, env={"BENCHGATE_MIN_TIME": "fast"})
    assert bad.returncode == 2
    assert "BENCHGATE_MIN_TIME must be a number" in bad.stderr
    assert parse_output(bad.stdout).error is not None


def test_operation_error_fails_loudly(tmp_path: Path) -> None:
    script = tmp_path / "boom.py"
    script.write_text(
        "from benchgate import bench\n"
        "@bench.metric('x')\n"
        "def op():\n"
        "    raise ValueError('broken operation')\n"
        "bench.main()\n"
    )
    proc = run_script(script)
    assert proc.returncode == 1
    assert "ValueError: broken operation" in proc.stderr
    assert parse_output(proc.stdout).error is not None


@pytest.mark.parametrize(
    "body, reason",
    [
        ("bench.skip('needs a GPU')", "needs a GPU"),
        ("bench.import_or_skip('benchgate_no_such_module')", "benchgate_no_such_module"),
    ],
)
def test_skip_prints_json_and_exits_77(tmp_path: Path, body: str, reason: str) -> None:
    script = tmp_path / "skipper.py"
    script.write_text(
        f"from benchgate import bench\n{body}\n"
        "@bench.metric('x')\ndef op():\n    pass\nbench.main()\n"
    )
    proc = run_script(script)
    assert proc.returncode == SKIP_EXIT_CODE
    doc = json.loads(proc.stdout.strip())
    assert set(doc) == {"skip"} and reason in doc["skip"]
    assert reason in (parse_output(proc.stdout).skip or "")


# --------------------------------------------------------------------------- demo suite

EXPECTED = {
    "vm_counter_runtime": {"steps_per_sec": "steps/sec"},
    "da_rs_encode": {"encode_MBps": "MB/sec", "decode_MBps": "MB/sec"},
    "da_nmt_build": {"leaves_per_sec": "leaves/sec"},
    "miner_hash_loop": {"hashes_per_sec": "hashes/sec"},
    "p2p_encode_decode": {"frames_per_sec": "frames/sec"},
    "mempool_select": {"ops_per_sec": "ops/sec", "median_s": "s", "p90_s": "s"},
}


def test_demo_project_layout() -> None:
    config = load_config(DEMO)
    assert config.bench_dir == "tests/bench"  # the empty [tool.benchgate] keeps defaults
    assert sorted(b.name for b in discover(config)) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_demo_bench_runs_and_reports_its_metrics(name: str) -> None:
    proc = run_script(DEMO_BENCH / f"{name}.py", cwd=DEMO)
    out = parse_output(proc.stdout)
    if name == "p2p_encode_decode" and proc.returncode == SKIP_EXIT_CODE:
        assert out.skip and "msgspec" in out.skip
        return
    assert proc.returncode == 0, proc.stderr
    assert out.error is None, out.error
    assert {k: m.unit for k, m in out.metrics.items()} == EXPECTED[name]
    higher = {k: m.higher_is_better for k, m in out.metrics.items()}
    assert higher == {k: not k.endswith("_s") for k in EXPECTED[name]}
    if name != "mempool_select":  # the in-the-wild form carries no samples
        assert all(m.samples and len(m.samples) == 3 for m in out.metrics.values())


def run_p2p_without(*modules: str) -> subprocess.CompletedProcess[str]:
    """Run the p2p bench as if ``modules`` were not installed."""
    path = DEMO_BENCH / "p2p_encode_decode.py"
    code = (
        "import runpy, sys\n"
        f"for m in {modules!r}:\n"
        "    sys.modules[m] = None\n"
        f"runpy.run_path({str(path)!r}, run_name='__main__')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=DEMO,
        env={**os.environ, **FAST_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_p2p_falls_back_to_cbor2() -> None:
    pytest.importorskip("cbor2")
    proc = run_p2p_without("msgspec")
    assert proc.returncode == 0, proc.stderr
    assert "cbor2" in proc.stderr
    assert set(parse_output(proc.stdout).metrics) == {"frames_per_sec"}


def test_p2p_skips_without_a_serializer() -> None:
    proc = run_p2p_without("msgspec", "cbor2")
    assert proc.returncode == SKIP_EXIT_CODE
    assert json.loads(proc.stdout.strip()) == {"skip": "no serializer: pip install msgspec"}


# --------------------------------------------------------------------------- Reed-Solomon


@pytest.fixture(scope="module")
def rs() -> ModuleType:
    """The demo's _rs.py helper, imported from its file (without writing bytecode)."""
    spec = importlib.util.spec_from_file_location("demo_rs", DEMO_BENCH / "_rs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    old = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = old
    return module


def test_gf256_field(rs: ModuleType) -> None:
    for a in range(1, 256):
        assert rs.gf_mul(a, rs.gf_inv(a)) == 1
        assert rs.gf_mul(a, 1) == a and rs.gf_mul(a, 0) == 0
    assert rs.gf_mul(2, 128) == 0x1D  # x * x^7 = x^8 = x^4 + x^3 + x^2 + 1
    rng = random.Random(1)
    for _ in range(200):
        a, b, c = (rng.randrange(256) for _ in range(3))
        assert rs.gf_mul(a, b ^ c) == rs.gf_mul(a, b) ^ rs.gf_mul(a, c)


@pytest.mark.parametrize("k, m", [(1, 1), (4, 2), (8, 4), (10, 6)])
def test_rs_decodes_random_erasures(rs: ModuleType, k: int, m: int) -> None:
    rng = random.Random(k * 100 + m)
    code = rs.ReedSolomon(k, m)
    for size in (0, 1, k * 7 + 3, 1000):
        data = rng.randbytes(size)
        shards = code.encode(data)
        assert len(shards) == k + m and len({len(s) for s in shards}) == 1
        assert b"".join(shards[:k])[:size] == data  # systematic: data shards are the data
        for _ in range(15):
            damaged = list(shards)
            for i in rng.sample(range(k + m), rng.randint(0, m)):
                damaged[i] = None
            assert code.decode(damaged, size) == data


def test_rs_too_many_erasures_is_an_error(rs: ModuleType) -> None:
    code = rs.ReedSolomon(4, 2)
    shards: list[bytes | None] = list(code.encode(b"hello world"))
    shards[0] = shards[1] = shards[5] = None
    with pytest.raises(ValueError, match="3 shards left, 4 are needed"):
        code.decode(shards, 11)


def test_rs_parity_rows_are_mds(rs: ModuleType) -> None:
    # Every k of the k + m generator rows is invertible, and the inverse is an inverse.
    import itertools

    code = rs.ReedSolomon(4, 3)
    for rows in itertools.combinations(range(7), 4):
        sub = [code.generator[r] for r in rows]
        inv = rs.invert(sub)
        for i in range(4):
            for j in range(4):
                acc = 0
                for t in range(4):
                    acc ^= rs.gf_mul(inv[i][t], sub[t][j])
                assert acc == int(i == j)
