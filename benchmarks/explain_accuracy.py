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
* ``cprofile_overhead_x``: time per call of the operation under cProfile over its time
  bare, in one process, alternating, fastest of 7 each: the profiler's slowdown.

Run it alone with ``python benchmarks/explain_accuracy.py`` (about a minute; excluded from
``benchgate run`` on this repository, like gate_accuracy.py).
"""

from __future__ import annotations

import cProfile
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchgate.config import load_config
from benchgate.explain.run import INSTRUCTIONS, TIME, explain
from benchgate.project import demo


def cprofile_overhead(root: Path, calls: int = 20, rounds: int = 7) -> tuple[float, float]:
    """Seconds per call of da_nmt_build's operation bare and under cProfile.

    Measured in one process, alternating, fastest of ``rounds`` each (noise only adds).
    """
    spec = importlib.util.spec_from_file_location("da_nmt_build", root / demo.SLOW_FILE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    leaves = mod.make_leaves()
    bare, profiled = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            mod.nmt_root(leaves)
        bare.append((time.perf_counter() - t0) / calls)
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        for _ in range(calls):
            mod.nmt_root(leaves)
        prof.disable()
        profiled.append((time.perf_counter() - t0) / calls)
    return min(bare), min(profiled)


def main() -> None:
    details: dict[str, Any] = {"helper": demo.SLOW_HELPER, "key": demo.SLOW_KEY}
    metrics: dict[str, dict[str, Any]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="benchgate-explain-bench-"))
    try:
        root = demo.copy_demo(tmp / "demo")
        demo.commit_demo(root)
        bare, profiled = cprofile_overhead(root)
        details["bare_s_per_call"] = bare
        details["cprofile_s_per_call"] = profiled
        metrics["cprofile_overhead_x"] = {
            "value": profiled / bare,
            "unit": "ratio",
            "higher_is_better": False,
        }
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
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(details, indent=2), file=sys.stderr)
    print(json.dumps({"metrics": metrics, "details": details}))


if __name__ == "__main__":
    main()
