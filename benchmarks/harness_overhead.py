"""benchgate measuring itself: how close ``benchgate.bench`` gets to the truth for a 1 us op.

The operation is a pure-Python loop over 30 integers called as ``op(data)`` (about 1 us).
Its cost is measured two ways, alternately, in the same process:

* the harness: ``benchgate.bench.measure(op, args=(data,))``, i.e. calibration, generated
  unrolled loop, empty-loop overhead subtracted -- what a bench script gets;
* the reference: ``timeit`` with the statement written out 20 times per loop step
  (``_f(_d)`` x 20, ``_f`` and ``_d`` locals), the same number of calls; its own loop
  cost is one ``for`` step per 20 calls (about 0.3 ns a call) and is not subtracted.

Each of the 25 rounds takes 3 samples of 10 ms each way, back to back, and compares the
fastest sample of each side (noise only adds time); the median over rounds is reported.

Metrics (lower is better):

* ``overhead_error_pct``: |median over the rounds of (harness / reference - 1)| x 100,
  in percent; floored at 0.001 because the bench contract needs a positive value. The
  API's promise is that this stays under 2 for a 1 us operation.
* ``op_ns_per_call``: the operation's time per call as the harness measures it (fastest
  sample of each round; median over rounds), in ns.

The signed error, the loop overhead subtracted per call and the cost of calling an empty
function are printed in ``details``. Run it alone with ``python benchmarks/harness_overhead.py``.
"""

from __future__ import annotations

import json
import statistics
import sys
import timeit

from benchgate.bench import measure

# Many short rounds, each comparing the two adjacent in time, so that a load change on the
# machine hits both sides of a round alike; the median over rounds drops the odd ones.
ROUNDS = 25
MIN_TIME = 0.01  # seconds per sample, for the harness and the reference alike
SAMPLES = 3
REF_UNROLL = 20
DATA = list(range(30))


def op(data: list[int]) -> int:
    """The measured operation: about 1 us of interpreted work."""
    total = 0
    for x in data:
        total += x
    return total


def empty(data: list[int]) -> None:
    """An empty function: the cost of the call itself."""


def reference_ns(calls: int) -> float:
    """Fastest per-call ns of ``op(DATA)`` over SAMPLES hand-unrolled timeit loops."""
    timer = timeit.Timer(
        "\n".join(["_f(_d)"] * REF_UNROLL),
        setup="_f = op; _d = DATA",  # timeit puts setup inside its function: locals
        globals={"op": op, "DATA": DATA},
    )
    number = max(1, calls // REF_UNROLL)
    times = timer.repeat(repeat=SAMPLES, number=number)
    return min(times) / (number * REF_UNROLL) * 1e9


def main() -> None:
    """Alternate harness and reference measurements; report the harness's relative error."""
    harness: list[float] = []
    reference: list[float] = []
    loop_ns: list[float] = []
    # Warm-up, and the call count every reference loop uses (the harness's calibration).
    calls = measure(op, args=(DATA,), min_time=MIN_TIME, samples=1).calls
    for i in range(ROUNDS):
        # Alternate which goes first, so neither always runs right after the other.
        if i % 2:
            ref = reference_ns(calls)
            t = measure(op, args=(DATA,), min_time=MIN_TIME, samples=SAMPLES, warmup=0)
        else:
            t = measure(op, args=(DATA,), min_time=MIN_TIME, samples=SAMPLES, warmup=0)
            ref = reference_ns(calls)
        # Fastest sample on both sides: machine noise only ever adds time, so the minima
        # compare the two measurement methods rather than two moments of the machine.
        harness.append(min(t.sample_ns))
        reference.append(ref)
        loop_ns.append(t.overhead_ns / t.calls)
    errors = [h / r - 1.0 for h, r in zip(harness, reference, strict=True)]
    signed_pct = statistics.median(errors) * 100.0
    call_ns = measure(empty, args=(DATA,), min_time=MIN_TIME, samples=SAMPLES).median_ns
    doc = {
        "metrics": {
            "overhead_error_pct": {
                "value": max(abs(signed_pct), 0.001),
                "unit": "%",
                "higher_is_better": False,
                "samples": [max(abs(e) * 100.0, 0.001) for e in errors],
            },
            "op_ns_per_call": {
                "value": statistics.median(harness),
                "unit": "ns",
                "higher_is_better": False,
                "samples": harness,
            },
        },
        "details": {
            "rounds": ROUNDS,
            "signed_error_pct": signed_pct,
            "reference_ns_per_call": statistics.median(reference),
            "loop_overhead_ns_per_call_subtracted": statistics.median(loop_ns),
            "empty_call_ns": call_ns,
        },
    }
    print(
        f"op {statistics.median(harness):.1f} ns/call (reference "
        f"{statistics.median(reference):.1f}), error {signed_pct:+.2f}%, "
        f"loop overhead subtracted {statistics.median(loop_ns):.2f} ns/call, "
        f"empty call {call_ns:.1f} ns",
        file=sys.stderr,
    )
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
