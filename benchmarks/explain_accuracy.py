"""``benchgate explain`` on a known slowdown: does it name the function that changed?

The bundled demo suite is copied into a temporary git repository; one helper of one bench
is made slower in the working tree (``leaf_node`` of ``da_nmt_build`` computes a per-leaf
checksum: about a third more work for the tree build, the demo's own change); then
``explain da_nmt_build.leaves_per_sec --base HEAD`` runs in time mode and, when valgrind is
installed, in instruction mode. Targets (docs/explain.md): the helper is named first, with
at least 80% of the total change in instruction mode.

Metrics:

* ``instructions_top_share`` / ``time_top_share``: the share of the total change of the
  function named first (higher is better), 0 when it is not ``leaf_node``;
* ``instructions_seconds`` / ``time_seconds``: seconds per explanation (both sides, the
  worktree, every profiling process);
* ``cprofile_overhead_x``: time per call under cProfile (base side, CPU time) over the
  time per call the bench itself reports: the profiler's slowdown of this operation.

Run it alone with ``python benchmarks/explain_accuracy.py`` (about a minute; excluded from
``benchgate run`` on this repository, like gate_accuracy.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchgate.config import load_config
from benchgate.explain.run import INSTRUCTIONS, TIME, explain
from benchgate.project import demo

LEAVES = 512  # leaves per tree build in da_nmt_build (one call of its operation)


def bench_time_per_call(root: Path) -> float:
    """Seconds per call of da_nmt_build's operation, as the bench itself measures it."""
    env = {**os.environ, "BENCHGATE_MIN_TIME": "0.05", "BENCHGATE_SAMPLES": "5"}
    out = subprocess.run(
        [sys.executable, str(root / demo.SLOW_FILE), "-q"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    value = json.loads(out.strip().splitlines()[-1])["metrics"]["leaves_per_sec"]["value"]
    return LEAVES / float(value)


def main() -> None:
    details: dict[str, Any] = {"helper": demo.SLOW_HELPER, "key": demo.SLOW_KEY}
    metrics: dict[str, dict[str, Any]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="benchgate-explain-bench-"))
    try:
        root = demo.copy_demo(tmp / "demo")
        demo.commit_demo(root)
        unprofiled = bench_time_per_call(root)
        demo.inject_slowdown(root)
        config = load_config(root)
        measures = [TIME] + ([INSTRUCTIONS] if shutil.which("valgrind") else [])
        if INSTRUCTIONS not in measures:
            details["instructions"] = "valgrind is not installed: apt-get install valgrind"
        for measure in measures:
            e = explain(config, demo.SLOW_KEY, "HEAD", measure=measure)
            top = e.diff.grown(1)
            first = top[0] if top else None
            named = first is not None and first.name == demo.SLOW_HELPER
            share = first.share if named and first is not None and first.share else 0.0
            details[measure] = {
                "first": first.name if first else None,
                "share": share,
                "ratio": e.diff.ratio,
                "seconds": e.seconds,
                "grown": [(r.name, r.share) for r in e.diff.grown(3)],
            }
            metrics[f"{measure}_top_share"] = {
                "value": max(share, 1e-6),
                "unit": "ratio",
                "higher_is_better": True,
            }
            metrics[f"{measure}_seconds"] = {
                "value": e.seconds,
                "unit": "s",
                "higher_is_better": False,
            }
            if measure == TIME:
                overhead = e.diff.base_total / unprofiled
                details["cprofile_s_per_call"] = e.diff.base_total
                details["bench_s_per_call"] = unprofiled
                metrics["cprofile_overhead_x"] = {
                    "value": overhead,
                    "unit": "ratio",
                    "higher_is_better": False,
                }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(details, indent=2), file=sys.stderr)
    print(json.dumps({"metrics": metrics, "details": details}))


if __name__ == "__main__":
    main()
