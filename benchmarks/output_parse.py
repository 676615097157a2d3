"""benchgate measuring itself: finding a bench's result in a long, hostile output.

A bench's stdout is read for its last JSON object (``benchgate.run.protocol``). Logs full
of ``{`` once made that search quadratic (0.4 MB took 3.4 s; 10 MB never finished).
Each output here is 10 MB of log lines (built once, untimed) and is parsed with
``parse_output`` as ``benchgate run`` does after each bench:

* ``brace_logs_MBps``: log lines holding ``{`` and unbalanced JSON fragments, the
  result object at the end (the usual shape: the search reads only the end);
* ``brace_logs_trailing_MBps``: log lines holding balanced ``{...}`` (Python reprs),
  the result, then a stray ``}``: the search cannot rule out that the ``}`` closes an
  object begun earlier, so it widens its window to the whole output (the linear worst
  case of a long log);
* ``no_result_MBps``: the same log lines and no result at all (an ERROR: the whole
  output is scanned once).

Run it alone with ``python benchmarks/output_parse.py``.
"""

from __future__ import annotations

import json

from benchgate import bench
from benchgate.run.protocol import parse_output

SIZE = 10_000_000
LINE = 'step {"i": 1, "loss": 0.5 progress {{ partial\n'
RESULT = json.dumps({"metrics": {"x_per_s": {"value": 3.0, "unit": "x/sec"}}}) + "\n"


def _logs() -> str:
    return LINE * (SIZE // len(LINE))


def with_result() -> str:
    return _logs() + RESULT


def with_trailing_brace() -> str:
    # Balanced (Python-repr) log lines, then a stray "}": nothing in the end window
    # pairs with it, so it could close an object begun earlier and the window widens.
    line = "2026-12-04 INFO state {'i': 1, 'loss': 0.5} ok\n"
    return line * (SIZE // len(line)) + RESULT + "done }\n"


def without_result() -> str:
    return _logs()


def parse_ok(text: str) -> None:
    if parse_output(text).error is not None:
        raise AssertionError("the result was not found")


def parse_error(text: str) -> None:
    if parse_output(text).error is None:
        raise AssertionError("found a result where there is none")


def main() -> None:
    """Time each parse on 10 MB; prints the canonical JSON."""
    common = {"bytes_per_call": lambda text: len(text), "min_time": 0.05, "samples": 5}
    bench.metric("brace_logs_MBps", setup=with_result, **common)(parse_ok)
    bench.metric("brace_logs_trailing_MBps", setup=with_trailing_brace, **common)(parse_ok)
    bench.metric("no_result_MBps", setup=without_result, warmup=0, **common)(parse_error)
    bench.main()


if __name__ == "__main__":
    main()
