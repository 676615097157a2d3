"""The controlled workload of the gate-accuracy benchmark (``gate_accuracy.py``).

``work(n)`` runs a fixed pure-Python integer loop (an FNV-style hash over ``n`` steps):
no allocation that grows, no I/O, no randomness, so its instruction count is exactly
proportional to ``n``. One call is one "op". A candidate that must be slower by a known
fraction ``drop`` does ``n / (1 - drop)`` steps per call, so its throughput in ops/sec is
lower by exactly ``drop`` (up to the cost of the call itself, about 1e-4 of it here).

Run as a script it is a bench written with ``benchgate.bench`` (calibrated loop, warm-up,
samples, every sample printed in benchgate's canonical JSON); ``--iterations`` is its
own flag, the others are ``bench.main``'s::

    python benchmarks/_accuracy_workload.py --iterations 2000 --min-time 0.03 --samples 3

The file name starts with ``_`` so that ``benchgate run`` does not take it for one of the
project's own benches.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

METRIC = "ops_per_sec"


def work(n: int) -> int:
    """``n`` steps of a 32-bit FNV-1a style hash: fixed work per step, result returned."""
    h = 0x811C9DC5
    for i in range(n):
        h = ((h ^ (i & 0xFF)) * 0x01000193) & 0xFFFFFFFF
    return h


def iterations_for(base_iterations: int, drop: float) -> int:
    """Steps per call for a candidate whose throughput is lower by ``drop`` (0 <= drop < 1)."""
    if not 0 <= drop < 1:
        raise ValueError(f"drop must be in [0, 1), got {drop}")
    return round(base_iterations / (1 - drop))


def main(argv: Sequence[str] | None = None) -> None:
    """Measure ``work(--iterations)`` with benchgate.bench; prints the canonical JSON."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--iterations", type=int, required=True, help="hash steps per call")
    args, rest = parser.parse_known_args(argv)
    from benchgate import bench

    bench.metric(METRIC, ops_per_call=1, args=(args.iterations,))(work)
    bench.main(rest)


if __name__ == "__main__":
    main()
