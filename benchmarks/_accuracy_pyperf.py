"""The gate-accuracy workload under pyperf (used by ``gate_accuracy.py``).

A plain ``pyperf.Runner`` script: pyperf spawns its own worker processes, calibrates the
loop count, warms up and writes its JSON (``-o FILE``). ``--iterations`` is forwarded to
the workers (pyperf does not pass unknown options on by itself)::

    python benchmarks/_accuracy_pyperf.py --iterations 4000 -p 5 -n 3 -o base.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pyperf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _accuracy_workload import work  # noqa: E402


def _forward(cmd: list[str], args: argparse.Namespace) -> None:
    cmd.extend(["--iterations", str(args.iterations)])


def main() -> None:
    """Benchmark ``work(--iterations)`` with pyperf's own process model."""
    runner = pyperf.Runner(add_cmdline_args=_forward)
    runner.argparser.add_argument("--iterations", type=int, required=True)
    args = runner.parse_args()
    runner.bench_func("workload", work, args.iterations)


if __name__ == "__main__":
    main()
