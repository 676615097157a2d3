"""benchgate's pytest plugin: benchmark tests as benchgate metrics.

Registered through the ``pytest11`` entry point, so it is there wherever benchgate is
installed. It does nothing unless asked: without ``--benchgate-out`` or
``--benchgate-json`` it registers no hook beyond its options and imports nothing but the
standard library (the run's start-up and the measured code are untouched).

* ``pytest --benchgate-out DIR`` writes benchgate runs into DIR (``<bench>.json`` as
  ``benchgate run`` writes them): one bench per test module, one metric per benchmark test
  and parametrisation, with the per-round samples pytest-benchmark measured (its median
  is the value; seconds per call, lower is better). ``--benchgate-append`` adds to the
  runs already there.
* ``pytest --benchgate-json FILE`` writes the same as one file (``benchgate run`` uses it
  for a bench declared ``{ kind = "pytest", args = "..." }``).
* The ``benchgate_bench`` fixture measures like ``benchgate.bench`` (calibrated loops,
  warm-up, samples; ``benchgate.bench.measure``) for teams without pytest-benchmark:
  ``benchgate_bench(fn, *args, **kwargs)``.

A benchmark test (one using ``benchmark`` or ``benchgate_bench``) that fails or errors is
an ERROR for its metric, one that is skipped SKIPPED, each with the test's reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

# The fixtures whose tests are benchmark tests.
BENCH_FIXTURES = ("benchmark", "benchgate_bench")
SCHEMA = "benchgate.pytest/1"
_KEY = pytest.StashKey["_Collector"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--benchgate-out``, ``--benchgate-json`` and ``--benchgate-append``."""
    group = parser.getgroup("benchgate", "benchgate: benchmark tests as gated metrics")
    group.addoption(
        "--benchgate-out",
        metavar="DIR",
        default=None,
        help="Write benchgate runs of the benchmark tests into DIR (<bench>.json per module).",
    )
    group.addoption(
        "--benchgate-append",
        action="store_true",
        default=False,
        help="With --benchgate-out: add to DIR's earlier runs instead of replacing them.",
    )
    group.addoption(
        "--benchgate-json",
        metavar="FILE",
        default=None,
        help="Write the benchmark tests' results as one benchgate JSON file.",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the collector only when one of the options asks for results."""
    if config.getoption("benchgate_out") or config.getoption("benchgate_json"):
        collector = _Collector(config)
        config.stash[_KEY] = collector
        config.pluginmanager.register(collector, "benchgate-collector")


def split_nodeid(nodeid: str) -> tuple[str, str]:
    """(bench, metric) of a test: ``tests/perf/test_codec.py::test_encode[64]`` ->
    (``test_codec``, ``test_encode[64]``); a test in a class keeps it (``TestX::test_y``)."""
    path, sep, rest = nodeid.partition("::")
    if not sep:
        return "pytest", nodeid
    stem = PurePosixPath(path).name
    stem = stem[:-3] if stem.endswith(".py") else stem
    bench = "".join(c if c.isalnum() or c in "_-" else "_" for c in stem).strip("_")
    return bench or "pytest", rest


def _reason(report: pytest.TestReport) -> str:
    """The one line saying why a test failed or was skipped."""
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    text = getattr(report, "longreprtext", "") or str(report.longrepr or "")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # pytest ends a failure's text with "E   AssertionError: ..." lines and the location.
    errors = [ln[1:].strip() for ln in lines if ln.startswith("E ")]
    line = errors[0] if errors else (lines[-1] if lines else report.outcome)
    return line[:300]


class _Collector:
    """Collects each benchmark test's samples and outcome; writes them at session end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.metrics: dict[str, dict[str, dict[str, Any]]] = {}
        self.failed: dict[str, dict[str, dict[str, str]]] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        names = getattr(item, "fixturenames", ())
        if not any(f in names for f in BENCH_FIXTURES):
            return
        bench, metric = split_nodeid(item.nodeid)
        if report.failed or (report.skipped and not hasattr(report, "wasxfail")):
            if report.when == "teardown" and metric in self.failed.get(bench, {}):
                return  # the first failure is the one that matters
            status = "skipped" if report.skipped else "error"
            what = {"setup": "setup failed: ", "teardown": "teardown failed: "}.get(report.when, "")
            self.failed.setdefault(bench, {})[metric] = {
                "status": status,
                "reason": what + _reason(report) if status == "error" else _reason(report),
            }
            self.metrics.get(bench, {}).pop(metric, None)
            return
        if report.when != "call" or not report.passed:
            return
        measured = _measurement(item)
        if measured is None:
            self.failed.setdefault(bench, {})[metric] = {
                "status": "error",
                "reason": "the test measured nothing (pytest-benchmark disabled, "
                "or the benchmark fixture was never called)",
            }
        else:
            self.metrics.setdefault(bench, {})[metric] = measured

    def document(self) -> dict[str, Any]:
        """Everything collected, as the ``--benchgate-json`` file holds it."""
        benches: dict[str, Any] = {}
        for bench in sorted({*self.metrics, *self.failed}):
            benches[bench] = {
                "metrics": self.metrics.get(bench, {}),
                "failed": self.failed.get(bench, {}),
            }
        return {"schema": SCHEMA, "benches": benches}

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        doc = self.document()
        json_path = self.config.getoption("benchgate_json")
        if json_path:
            path = Path(json_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        out = self.config.getoption("benchgate_out")
        if out and doc["benches"]:
            self.written = _write_runs(
                doc, Path(out), bool(self.config.getoption("benchgate_append"))
            )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        written = getattr(self, "written", None)
        if written:
            terminalreporter.write_line(
                f"benchgate: wrote {len(written)} result file(s) to "
                f"{self.config.getoption('benchgate_out')}"
            )


def _measurement(item: pytest.Item) -> dict[str, Any] | None:
    """The canonical metric of a passed benchmark test, or None if nothing was measured."""
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    own = funcargs.get("benchgate_bench")
    if isinstance(own, BenchFixture) and own.samples_s:
        samples = own.samples_s
        return {
            "value": _median(samples),
            "unit": "s",
            "higher_is_better": False,
            "samples": samples,
        }
    fixture = funcargs.get("benchmark")
    meta = getattr(fixture, "stats", None)
    stats: Any = getattr(meta, "stats", None)
    data = list(getattr(stats, "data", None) or [])
    if not data:
        return None
    # pytest-benchmark's own median of its per-round times (seconds per call).
    return {"value": float(stats.median), "unit": "s", "higher_is_better": False, "samples": data}


def _median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _write_runs(doc: dict[str, Any], out_dir: Path, append: bool) -> list[Path]:
    """Write the collected benches into ``out_dir`` as benchgate run files."""
    # Imported here, not at the top: this module is loaded into every pytest run of every
    # project with benchgate installed, and must not slow their start-up.
    from benchgate.config import find_root
    from benchgate.importers import pytest_json
    from benchgate.importers.convert import import_benches
    from benchgate.machine.environment import capture_environment

    benches = pytest_json.read(json.dumps(doc), origin="pytest --benchgate-out")
    env = capture_environment(find_root(), None, {})
    argv = ["pytest", "--benchgate-out", str(out_dir)]
    return import_benches([("pytest", benches)], out_dir, env, argv, "pytest", append).files


class BenchFixture:
    """The ``benchgate_bench`` fixture: ``benchgate_bench(fn, *args, **kwargs)``.

    Times ``fn(*args, **kwargs)`` as ``benchgate.bench`` does (``benchgate.bench.measure``:
    calibration to ``min_time`` seconds per sample, ``warmup`` discarded loops, then
    ``samples`` timed loops, loop overhead subtracted). Settings: the attributes below,
    else ``BENCHGATE_MIN_TIME``/``BENCHGATE_SAMPLES``/``BENCHGATE_WARMUP``, else
    benchgate.bench's defaults. Returns ``fn``'s result from one extra, untimed call.
    """

    def __init__(self) -> None:
        self.min_time: float | None = None
        self.samples: int | None = None
        self.warmup: int | None = None
        self.samples_s: list[float] = []

    def __call__(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        # benchgate.bench.api imports only the standard library; loaded on first use only.
        from benchgate.bench import api

        env = api._env_settings()
        timing = api.measure(
            fn,
            args=args,
            kwargs=kwargs,
            min_time=self.min_time or env.get("min_time", api.DEFAULT_MIN_TIME),
            samples=self.samples or env.get("samples", api.DEFAULT_SAMPLES),
            warmup=self.warmup
            if self.warmup is not None
            else env.get("warmup", api.DEFAULT_WARMUP),
        )
        self.samples_s = timing.per_call_s
        return fn(*args, **kwargs)


@pytest.fixture
def benchgate_bench() -> BenchFixture:
    """Measure a callable as ``benchgate.bench`` does: ``benchgate_bench(fn, *args)``."""
    return BenchFixture()
