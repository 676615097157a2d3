"""benchgate measuring itself: what the runner adds to each bench run.

A trivial bench script (it prints one canonical metric and exits) is run two ways,
alternately, so that any drift of the machine hits both alike:

* bare: ``subprocess.run([sys.executable, script])``, output captured;
* benchgate: ``benchgate.run.runner.execute``, which also starts the disturbance monitor,
  starts the bench in its own session with benchgate's environment, parses its output
  and builds the run record (the environment record is captured once beforehand, as
  ``benchgate run`` does once per call).

Metrics (lower is better):

* ``overhead_ms``: median over the pairs of (execute - bare), in milliseconds; floored
  at 0.001 because the bench contract needs a positive value (a median at or below zero
  means the overhead is lost in the noise of starting a process);
* ``overhead_ratio``: median over the pairs of execute / bare.

Run it alone with ``python benchmarks/runner_overhead.py``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchgate.config import DEFAULT_ENV
from benchgate.model import RunStatus
from benchgate.run.discovery import Bench
from benchgate.run.runner import RunOptions, execute

PAIRS = 15

TRIVIAL = (
    'import json\nprint(json.dumps({"metrics": {"x_per_sec": {"value": 1.0, "unit": "x/sec"}}}))\n'
)


def _metric(samples: list[float], unit: str) -> dict[str, Any]:
    """A lower-is-better metric: the median of its samples, every sample kept."""
    return {
        "value": statistics.median(samples),
        "unit": unit,
        "higher_is_better": False,
        "samples": samples,
    }


def _env_record(root: Path, env: dict[str, str]) -> dict[str, Any]:
    try:
        from benchgate.machine.environment import capture_environment
    except ImportError:  # environment capture not available: the record stays empty
        return {}
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return capture_environment(root, cpus, env)


def main() -> None:
    """Time bare and benchgate-run executions of a trivial bench, alternately."""
    with tempfile.TemporaryDirectory(prefix="benchgate-overhead-") as tmp:
        root = Path(tmp)
        script = root / "trivial.py"
        script.write_text(TRIVIAL)
        bench = Bench("trivial", (sys.executable, str(script)), script)
        env = dict(DEFAULT_ENV)
        options = RunOptions(out_dir=root / "out", env=env, timeout=60.0)
        record_env = _env_record(root, env)
        bare_env = {**os.environ, **env}

        def bare() -> float:
            t0 = time.perf_counter_ns()
            subprocess.run(
                [sys.executable, str(script)],
                cwd=root,
                env=bare_env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                check=True,
            )
            return (time.perf_counter_ns() - t0) / 1e9

        def run() -> float:
            t0 = time.perf_counter_ns()
            record = execute(bench, root, options, "overhead", record_env)
            elapsed = (time.perf_counter_ns() - t0) / 1e9
            if record.status is not RunStatus.OK:
                raise SystemExit(f"trivial bench failed under the runner: {record.reason}")
            return elapsed

        bare()
        run()  # warm-up: imports and first-use costs of both paths
        diffs_ms: list[float] = []
        ratios: list[float] = []
        for i in range(PAIRS):
            # Alternate which goes first, so neither always runs right after the other.
            if i % 2:
                b, r = bare(), run()
            else:
                r, b = run(), bare()
            diffs_ms.append((r - b) * 1000)
            ratios.append(r / b)
    overhead = _metric(diffs_ms, "ms")
    overhead["value"] = max(overhead["value"], 0.001)
    metrics = {"overhead_ms": overhead, "overhead_ratio": _metric(ratios, "x")}
    print(json.dumps({"metrics": metrics, "params": {"pairs": PAIRS}}))


if __name__ == "__main__":
    main()
