"""benchgate's pytest plugin: --benchgate-out, the benchgate_bench fixture, kind = "pytest"."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from benchgate.model import RunStatus
from benchgate.run.results import load_runs

SUITE = """
import pytest

@pytest.mark.parametrize("n", [10, 100])
def test_sum(benchmark, n):
    benchmark(sum, range(n))

def test_broken(benchmark):
    benchmark(len, "abc")
    assert 1 == 2, "the result is wrong"

@pytest.fixture
def device():
    raise RuntimeError("no device")

def test_setup_error(benchmark, device):
    benchmark(len, "x")

@pytest.mark.skip(reason="needs a GPU")
def test_gpu(benchmark):
    benchmark(len, "x")

def test_own(benchgate_bench):
    benchgate_bench.min_time = 0.002
    benchgate_bench.samples = 4
    assert benchgate_bench(sorted, [3, 1, 2]) == [1, 2, 3]

def test_not_a_benchmark():
    assert True
"""

FAST = ["-p", "no:cacheprovider", "--benchmark-min-rounds=5", "--benchmark-max-time=0.005"]


def _suite(root: Path) -> Path:
    d = root / "tests" / "perf"
    d.mkdir(parents=True, exist_ok=True)
    (d / "test_codec.py").write_text(SUITE)
    return d


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *FAST, *args],
        cwd=root,
        capture_output=True,
        text=True,
    )


def test_benchgate_out_writes_runs(project: Path) -> None:
    _suite(project)
    p = _pytest(project, "tests/perf", "--benchgate-out", "out", "--benchmark-json", "pb.json")
    assert p.returncode == 1, p.stdout  # test_broken fails; the runs are written anyway
    assert "benchgate: wrote 1 result file(s) to out" in p.stdout
    [run] = load_runs(project / "out")["test_codec"]
    assert run.status is RunStatus.OK
    assert set(run.metrics) == {"test_sum[10]", "test_sum[100]", "test_own"}
    # The same numbers as pytest-benchmark's own JSON: its median, its rounds.
    pb = {
        b["name"]: b["stats"] for b in json.loads((project / "pb.json").read_text())["benchmarks"]
    }
    m = run.metrics["test_sum[10]"]
    assert m.value == pb["test_sum[10]"]["median"]
    assert m.samples == pb["test_sum[10]"]["data"]
    assert (m.unit, m.higher_is_better) == ("s", False)
    own = run.metrics["test_own"]
    assert own.samples is not None and len(own.samples) == 4
    status = run.extra["metric_status"]
    assert status["test_broken"] == {
        "status": "error",
        "reason": "AssertionError: the result is wrong",
    }
    assert status["test_setup_error"]["status"] == "error"
    assert "no device" in status["test_setup_error"]["reason"]
    assert status["test_gpu"] == {"status": "skipped", "reason": "needs a GPU"}
    assert "test_not_a_benchmark" not in status and "test_not_a_benchmark" not in run.metrics


def test_kind_pytest_under_benchgate_run(cli: Callable[..., Result], project: Path) -> None:
    _suite(project)
    args = "tests/perf -k 'sum or broken or gpu' " + " ".join(FAST)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0"\n\n'
        f'[tool.benchgate.commands]\npy = {{ kind = "pytest", args = "{args}" }}\n'
    )
    r = cli("run")
    assert r.exit_code == 0, r.output
    runs = load_runs(project / "tests" / "reports" / "bench")["py"]
    assert [r.status for r in runs] == [RunStatus.OK]
    assert set(runs[0].metrics) == {"test_sum[10]", "test_sum[100]"}
    (project / "tests" / "bench" / "baselines.json").write_text(
        json.dumps(
            {"py.test_sum[10]": {"value": runs[0].metrics["test_sum[10]"].value, "unit": "s"}}
        )
    )
    r = cli("compare", "--allow", "new", "--format", "json")
    rows = {v["key"]: v for v in json.loads(r.output)["metrics"]}
    assert rows["py.test_broken"]["status"] == "error"
    assert rows["py.test_broken"]["reason"] == "AssertionError: the result is wrong"
    assert (rows["py.test_gpu"]["status"], rows["py.test_gpu"]["reason"]) == (
        "skipped",
        "needs a GPU",
    )
    assert rows["py.test_sum[10]"]["status"] in ("pass", "warn", "fail", "improved")
    assert r.exit_code == 1  # the broken benchmark test gates


def test_plugin_is_inert_without_its_options(project: Path) -> None:
    (project / "conftest.py").write_text(
        "import sys\n"
        "def pytest_collection_finish(session):\n"
        "    pm = session.config.pluginmanager\n"
        "    assert pm.get_plugin('benchgate') is not None\n"
        "    assert pm.get_plugin('benchgate-collector') is None\n"
        "    loaded = sorted(m for m in sys.modules if m.startswith('benchgate'))\n"
        "    # the package itself (its stdlib-only bench API) and the plugin, nothing else\n"
        "    assert loaded == ['benchgate', 'benchgate.bench', 'benchgate.bench.api',\n"
        "                      'benchgate.pytest_plugin'], loaded\n"
        "    assert not {'click', 'rich', 'psutil'} & set(sys.modules)\n"
    )
    (project / "test_x.py").write_text("def test_x():\n    pass\n")
    p = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_x.py"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stdout + p.stderr
