#!/usr/bin/env python
"""Time ratios beside instruction ratios on the demo suite, and valgrind's slowdown there.

For docs/measurements.md. Two parts, both on a fresh copy of the bundled demo project:

1. **A known change to each bench.** The copy is made a git repository; each bench gets a
   small edit that makes its operation do about 10% more work (listed in ``CHANGES``; the
   decode metric of ``da_rs_encode`` is left unchanged, as a control). Then
   ``benchgate ab --base HEAD --measure time,instructions`` measures the committed and the
   edited suite interleaved, and the table gives, per metric, the paired time ratio
   (slow-down factor: base rate / head rate, or head time / base time) beside the
   instruction ratio (head count / base count).
2. **valgrind's slowdown.** Each ``benchgate.bench`` case is run with a fixed number of
   calls (``BENCHGATE_MEASURE=instructions``) natively and under ``valgrind
   --tool=cachegrind --cache-sim=no``; the slowdown is the ratio of the CPU seconds
   (user + system) of the two processes, start-up included, and of their per-call
   difference between two call counts (start-up cancelled).

Usage::

    python benchmarks/measure_demo.py --repeat 3 --out benchmarks/reports/measure_demo.md
    python benchmarks/measure_demo.py --no-ab --calls 100      # valgrind's slowdown only

It takes about 10 minutes on 2 cores (valgrind runs each counted process ~30-60x slower).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "reports" / "measure_demo.md"

# bench file -> (what the change does, [(old text, new text), ...]): about 10% more work.
CHANGES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "da_nmt_build": (
        "also builds the root of a tenth of the leaves",
        [
            (
                "    return nmt_root(leaves)\n",
                "    nmt_root(leaves[: len(leaves) // 10])\n    return nmt_root(leaves)\n",
            )
        ],
    ),
    "da_rs_encode": (
        "encode also encodes a tenth of the data (decode unchanged: the control)",
        [
            (
                "    rs, data = state\n    return rs.encode(data)\n",
                "    rs, data = state\n    rs.encode(data[: len(data) // 10])\n"
                "    return rs.encode(data)\n",
            )
        ],
    ),
    "mempool_select": (
        "10% more senders (a plain script: counted as a whole process)",
        [("SENDERS = 2_000\n", "SENDERS = 2_200\n")],
    ),
    "miner_hash_loop": (
        "hashes 10% more nonces per batch",
        [("range(start, start + BATCH)", "range(start, start + BATCH + BATCH // 10)")],
    ),
    "p2p_encode_decode": (
        "round-trips a tenth of the frames twice",
        [("    for f in frames:\n", "    for f in frames + frames[: len(frames) // 10]:\n")],
    ),
    "vm_counter_runtime": (
        "also runs a contract of a tenth of the iterations",
        [
            (
                '@bench.metric("steps_per_sec"',
                'EXTRA = assemble(ITERATIONS // 10)\n\n\n@bench.metric("steps_per_sec"',
            ),
            (
                "    return run(contract.code, {}, gas_limit=10**9)\n",
                "    run(EXTRA, {}, gas_limit=10**9)\n"
                "    return run(contract.code, {}, gas_limit=10**9)\n",
            ),
        ],
    ),
}


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(
        ["git", "-c", "user.name=demo", "-c", "user.email=demo@example.invalid", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )


def make_project(tmp: Path) -> Path:
    """A git copy of the demo project, the known changes applied in the working tree."""
    from benchgate.project.demo import copy_demo

    root = copy_demo(tmp / "demo")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "demo")
    for bench, (_what, edits) in CHANGES.items():
        path = root / "tests" / "bench" / f"{bench}.py"
        text = path.read_text()
        for old, new in edits:
            if old not in text:
                raise SystemExit(f"{path.name}: the text to change is not there: {old!r}")
            text = text.replace(old, new, 1)
        path.write_text(text)
    return root


def run_ab(root: Path, repeat: int) -> dict[str, Any]:
    """``benchgate ab --base HEAD --measure time,instructions`` on the edited copy."""
    out = root / "ab-out"
    cmd = [
        sys.executable,
        "-m",
        "benchgate",
        "ab",
        "--base",
        "HEAD",
        "--measure",
        "time,instructions",
        "--repeat",
        str(repeat),
        "--format",
        "json",
        "--out-dir",
        str(out),
    ]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    if r.returncode not in (0, 1):
        raise SystemExit(f"benchgate ab failed ({r.returncode}): {r.stderr[-2000:]}")
    data = dict(json.loads(r.stdout))
    data["wall_s"] = time.perf_counter() - t0
    return data


def _cpu_of(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, env=env, cwd=cwd, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def slowdown(root: Path, calls: int) -> list[dict[str, Any]]:
    """CPU seconds of each benchgate.bench case natively and under cachegrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    rows = []
    for script in sorted((root / "tests" / "bench").glob("[!_]*.py")):
        env = {**os.environ, "PYTHONHASHSEED": "0", "BENCHGATE_MEASURE": "list"}
        r = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, check=False
        )
        try:
            cases = json.loads(r.stdout.strip().splitlines()[-1])["harness"]["cases"]
        except (ValueError, KeyError, IndexError):
            continue  # not a benchgate.bench script
        for case in cases:
            got: dict[str, float] = {}
            for label, prefix in (
                ("native", []),
                (
                    "valgrind",
                    [
                        valgrind,
                        "--tool=cachegrind",
                        "--cache-sim=no",
                        "-q",
                        "--cachegrind-out-file=/dev/null",
                    ],
                ),
            ):
                for n in (calls, 2 * calls):
                    e = {
                        **env,
                        "BENCHGATE_MEASURE": "instructions",
                        "BENCHGATE_CASE": case,
                        "BENCHGATE_CALLS": str(n),
                    }
                    got[f"{label}_{n}"] = _cpu_of([*prefix, sys.executable, str(script)], e, root)
            native_diff = got[f"native_{2 * calls}"] - got[f"native_{calls}"]
            per_native = native_diff / calls
            per_vg = (got[f"valgrind_{2 * calls}"] - got[f"valgrind_{calls}"]) / calls
            # Under 0.05 s of native difference the CPU clock's noise dominates: no ratio.
            measurable = native_diff >= 0.05
            rows.append(
                {
                    "bench": script.stem,
                    "case": case,
                    "process_native_s": got[f"native_{calls}"],
                    "process_valgrind_s": got[f"valgrind_{calls}"],
                    "process_slowdown": got[f"valgrind_{calls}"] / got[f"native_{calls}"],
                    "per_call_native_s": per_native,
                    "per_call_valgrind_s": per_vg,
                    "per_call_slowdown": per_vg / per_native if measurable else None,
                }
            )
    return rows


def _time_ratio(m: dict[str, Any]) -> float | None:
    """The slow-down factor of a time metric: >1 means slower, whatever the direction."""
    r = m.get("ratio")
    if r is None:
        return None
    return 1 / r if m.get("higher_is_better") else r


def render(ab: dict[str, Any], slow: list[dict[str, Any]], repeat: int) -> str:
    metrics = {m["key"]: m for m in ab["metrics"]}
    lines = [
        "# Time ratio beside instruction ratio on the demo suite",
        "",
        f"`benchgate ab --base HEAD --measure time,instructions --repeat {repeat}` on the demo "
        f"project with the known changes below ({ab['wall_s']:.0f} s in all).",
        "",
        "| bench | change | time metric | time ratio (slow-down, paired median) | "
        "time interval | instruction ratio |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, m in metrics.items():
        if m["unit"] in ("instructions", "cycles"):
            continue
        bench, metric = key.split(".", 1)
        what = CHANGES.get(bench, ("-", []))[0]
        count = metrics.get(f"{bench}.{metric}_instructions") or metrics.get(
            f"{bench}.process_instructions"
        )
        tr = _time_ratio(m)
        iv = m.get("interval")
        if iv and m.get("higher_is_better"):
            ivt = f"{1 / iv['high']:.3f}..{1 / iv['low']:.3f}"
        elif iv:
            ivt = f"{iv['low']:.3f}..{iv['high']:.3f}"
        else:
            ivt = "-"
        ir = count.get("ratio") if count else None
        scope = (
            " (whole process)" if count and count["key"].endswith("process_instructions") else ""
        )
        lines.append(
            f"| {bench} | {what} | {metric} | {tr:.3f} | {ivt} | "
            + (f"{ir:.4f}{scope}" if ir is not None else "-")
            + " |"
        )
    lines += [
        "",
        "# valgrind's slowdown (CPU seconds, cachegrind --cache-sim=no)",
        "",
        "| bench | case | process native s | process valgrind s | process slowdown | "
        "per-call slowdown |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in slow:
        pc = r["per_call_slowdown"]
        lines.append(
            f"| {r['bench']} | {r['case']} | {r['process_native_s']:.2f} | "
            f"{r['process_valgrind_s']:.2f} | {r['process_slowdown']:.1f}x | "
            + (f"{pc:.1f}x" if pc else "-")
            + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="ab rounds (default 3)")
    parser.add_argument("--calls", type=int, default=10, help="calls of the slowdown processes")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report")
    parser.add_argument("--no-ab", action="store_true", help="the slowdown part only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="benchgate-measure-demo-") as tmp:
        root = make_project(Path(tmp))
        slow = slowdown(root, args.calls)
        ab = {"metrics": [], "wall_s": 0.0} if args.no_ab else run_ab(root, args.repeat)
    text = render(ab, slow, args.repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps({"ab": ab, "slowdown": slow}, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
