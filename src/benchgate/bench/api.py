"""Write a bench in a few lines: benchgate times the operation and prints the contract JSON.

Usage (``tests/bench/compress.py``)::

    import zlib

    from benchgate import bench

    def make_state(n):                    # untimed; gets the case's params
        return bytes(range(256)) * (n // 256)

    @bench.metric("compress_MBps", bytes_per_call=len, setup=make_state,
                  params={"n": [1024, 65536]})
    def compress(data):                   # timed: called with setup's return value
        zlib.compress(data)

    if __name__ == "__main__":
        bench.main()

``python tests/bench/compress.py`` prints one canonical JSON object on stdout
(``{"metrics": {"compress_MBps[n=1024]": {"value": ..., "unit": "MB/sec",
"higher_is_better": true, "samples": [...]}, ...}}``) and a readable line per metric on
stderr; ``benchgate run`` runs it unchanged. ``bench.skip("reason")`` prints
``{"skip": "reason"}`` and exits 77 (unavailable on this platform).

How a metric is measured (per case):

1. **Calibration.** The operation is run in a loop of ``n`` calls, ``n = 1, 10, 100, ...``
   until the loop lasts at least ``min_time`` (default 0.1 s); once a loop lasts a
   measurable time the next ``n`` is extrapolated from it (x1.05) instead of multiplied by
   ten, and the loop is timed again until it reaches ``min_time``. These runs warm up.
2. **Warm-up.** ``warmup`` (default 1) more loops of ``n`` calls, discarded; one that
   lasts under half of ``min_time`` (the first calls were slow: lazy initialisation, cold
   caches) resumes the calibration from ``n``.
3. **Samples.** ``samples`` (default 7) loops of ``n`` calls, each timed with
   ``time.perf_counter_ns``; the garbage collector is off inside each timed loop (like
   ``timeit``; ``disable_gc=False`` keeps it on) and on between loops.
4. **Result.** Each sample gives a time per call and from it the metric's value (a rate
   for throughput metrics); ``value`` is the median of the samples, and every sample is
   reported so benchgate can compute the within-run spread.

What is measured, and the harness's own overhead: the cost of one call of your function
with its arguments, exactly what ``timeit.timeit("f(state)")`` reports. The timing loop
is generated code (like ``timeit``'s) in which the call is written out with the exact
arguments (``_f(_a0)``; no ``*args`` indirection, no wrapper lambda) and unrolled ten
times, so the loop's own cost is one ``for`` step per ten calls. That remaining cost, and
the two clock reads, are measured on the same loop with an empty body (same iteration
counts, fastest of five) and subtracted from every sample. Measured on the development
machine (Python 3.11, 2 vCPUs, under load from other jobs): the empty loop costs 0.6-1.0 ns
per call before subtraction (calling an empty Python function costs about 32 ns and is
part of what you measure, as in ``timeit``); for a 1 us operation the reported time was
within -1.3%..+1.0% of a hand-unrolled ``timeit`` reference over 13 runs, median |error|
0.4% (``benchmarks/harness_overhead.py``; docs/bench-api.md has the figures). If the call
itself is large next to your operation, loop inside your function and declare
``ops_per_call``.

Latency percentiles (``percentiles=True`` or ``(50, 90, 99)``) come from a separate pass
after the samples: calls are timed in batches of about 10 us (a batch of one call for
operations slower than that), the clock's own cost is subtracted, and the percentile of
the per-call times is reported as ``<name>_p50`` etc. (lower is better). For operations
faster than 10 us these are per-call estimates smoothed over a batch.

Instruction counts and memory (``benchgate run --measure instructions|memory``, see
docs/measurements.md). The runner sets ``BENCHGATE_MEASURE`` and the script needs no
change: ``list`` prints the case names and exits; ``instructions`` runs the one case named
by ``BENCHGATE_CASE`` exactly ``BENCHGATE_CALLS`` times (a fixed count, never calibrated
by time, so the count does not depend on the machine's speed) after its setup, with the
same generated loop; the runner counts that process under valgrind at two call counts and
divides the difference by the extra calls, so start-up, imports and setup cancel out.
``memory`` runs every case under ``tracemalloc``: the peak traced memory of one call above
what was live before it (``<name>_peak_bytes``) and the traced memory each call leaves
behind (``<name>_retained_bytes``, from blocks of ``BENCHGATE_CALLS`` and twice as many).

Profiling (``benchgate explain``, see docs/explain.md). When ``BENCHGATE_PROFILE`` is set
the script measures nothing: it runs the setup of the one case named by
``BENCHGATE_PROFILE_CASE``, calls the operation once (lazy initialisation is not charged),
then exactly ``BENCHGATE_PROFILE_CALLS`` times. With ``cprofile`` those calls, and only
they, run under ``cProfile``, whose statistics go to the file ``BENCHGATE_PROFILE_OUT``;
with ``count`` they run bare, for a process counted under valgrind from outside.

Settings, strongest first: ``bench.main()``'s command-line flags (``--min-time``,
``--samples``, ``--warmup``), the environment variables ``BENCHGATE_MIN_TIME`` (seconds per
sample), ``BENCHGATE_SAMPLES`` and ``BENCHGATE_WARMUP``, the arguments of
``bench.metric(...)``, those of ``bench.configure(...)``, and the defaults above.

This module imports only the standard library: bench scripts import it, and it must not
perturb what they measure.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import keyword
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, NoReturn, TypeAlias, TypeVar

__all__ = [
    "SKIP_EXIT_CODE",
    "Case",
    "Metric",
    "Result",
    "Suite",
    "Timing",
    "bench",
    "configure",
    "import_or_skip",
    "main",
    "measure",
    "metric",
    "skip",
]

SKIP_EXIT_CODE = 77

DEFAULT_MIN_TIME = 0.1
DEFAULT_SAMPLES = 7
DEFAULT_WARMUP = 1
ENV_MIN_TIME = "BENCHGATE_MIN_TIME"
ENV_SAMPLES = "BENCHGATE_SAMPLES"
ENV_WARMUP = "BENCHGATE_WARMUP"
# Set by `benchgate explain`: profile one case over a fixed number of calls.
ENV_PROFILE = "BENCHGATE_PROFILE"
ENV_PROFILE_CASE = "BENCHGATE_PROFILE_CASE"
ENV_PROFILE_CALLS = "BENCHGATE_PROFILE_CALLS"
ENV_PROFILE_OUT = "BENCHGATE_PROFILE_OUT"
# Set by the runner for --measure instructions/cycles/memory (benchgate.run.measure).
ENV_MEASURE = "BENCHGATE_MEASURE"
ENV_CASE = "BENCHGATE_CASE"
ENV_CALLS = "BENCHGATE_CALLS"
DEFAULT_COUNT_CALLS = 10

# Calls written out per loop step: the `for` step's own cost is spread over this many calls.
UNROLL = 10
# Latency pass: calls are timed in batches lasting about this long (ns), so that the clock
# read (~40-80 ns) stays a small, subtracted part of each batch.
LATENCY_BATCH_NS = 10_000
# Calibration gives up when a loop this long still reads zero time (a clock that is stuck).
_MAX_CALLS = 10**6

# Time units a plain-time metric (or a latency percentile) may be reported in.
TIME_UNITS = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}
# Throughput units for bytes_per_call, in bytes per unit.
BYTE_UNITS = {
    "B/sec": 1.0,
    "KB/sec": 1e3,
    "MB/sec": 1e6,
    "GB/sec": 1e9,
    "KiB/sec": 1024.0,
    "MiB/sec": 1024.0**2,
    "GiB/sec": 1024.0**3,
}
DEFAULT_PERCENTILES = (50.0, 90.0, 99.0)

Clock = Callable[[], int]
F = TypeVar("F", bound=Callable[..., Any])
# A per-call count: a number, or a callable given the operation's own arguments.
Count: TypeAlias = int | float | Callable[..., int | float]
Params: TypeAlias = Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]


# --------------------------------------------------------------------------- timing core


def _loop_source(nargs: int, kwnames: Sequence[str], unroll: int, empty: bool) -> str:
    """Source of a timing loop calling ``_f`` with exactly these arguments."""
    argnames = [f"_a{i}" for i in range(nargs)] + [f"_k{i}" for i in range(len(kwnames))]
    call_args = [f"_a{i}" for i in range(nargs)] + [f"{k}=_k{i}" for i, k in enumerate(kwnames)]
    call = "pass" if empty else f"_f({', '.join(call_args)})"
    # The empty loop keeps one `pass`: repeated ones would each leave a NOP (kept for line
    # events) and overstate the `for` step's cost.
    body = "\n".join(f"        {call}" for _ in range(1 if empty else unroll))
    signature = ", ".join(["_q", "_r", "_timer", "_f", *argnames])
    # Both iterators are built before the first clock read so only the loops are timed.
    return (
        f"def _loop({signature}):\n"
        "    _it = _repeat(None, _q)\n"
        "    _it1 = _repeat(None, _r)\n"
        "    _t0 = _timer()\n"
        "    for _ in _it:\n"
        f"{body}\n"
        "    for _ in _it1:\n"
        f"        {call}\n"
        "    _t1 = _timer()\n"
        "    return _t1 - _t0\n"
    )


_LOOP_CACHE: dict[tuple[int, tuple[str, ...], bool], Callable[..., int]] = {}


def _make_loop(nargs: int, kwnames: Sequence[str], empty: bool = False) -> Callable[..., int]:
    """A compiled timing loop ``_loop(q, r, timer, f, *args)`` -> elapsed clock units.

    It makes ``q * UNROLL + r`` calls of ``f``; generated (as ``timeit`` does) so that the
    call costs exactly what ``f(a, b)`` written by hand costs.
    """
    key = (nargs, tuple(kwnames), empty)
    loop = _LOOP_CACHE.get(key)
    if loop is None:
        for k in kwnames:
            if not k.isidentifier() or keyword.iskeyword(k):
                raise ValueError(f"keyword argument name {k!r} is not a Python identifier")
        ns: dict[str, Any] = {"_repeat": itertools.repeat}
        code = compile(_loop_source(nargs, kwnames, UNROLL, empty), "<benchgate-loop>", "exec")
        exec(code, ns)  # noqa: S102 - our own generated source; names are validated above
        loop = ns["_loop"]
        _LOOP_CACHE[key] = loop
    return loop


class _Timer:
    """Times ``n`` calls of one operation with given arguments, loop overhead removed."""

    def __init__(
        self,
        fn: Callable[..., Any],
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        clock: Clock,
        disable_gc: bool,
    ) -> None:
        self.fn = fn
        self.args = (*args, *kwargs.values())
        self.loop = _make_loop(len(args), list(kwargs))
        self.empty = _make_loop(len(args), list(kwargs), empty=True)
        self.clock = clock
        self.disable_gc = disable_gc
        self._overhead: dict[int, float] = {}

    def raw(self, n: int, empty: bool = False) -> int:
        """Clock units taken by ``n`` calls (or by the empty loop of the same shape)."""
        q, r = divmod(n, UNROLL)
        loop = self.empty if empty else self.loop
        gc_was_on = gc.isenabled()
        if self.disable_gc:
            gc.disable()
        try:
            return loop(q, r, self.clock, self.fn, *self.args)
        finally:
            if gc_was_on:
                gc.enable()

    def overhead(self, n: int) -> float:
        """The loop's own cost for ``n`` calls: the empty loop, fastest of five runs."""
        if n not in self._overhead:
            self._overhead[n] = float(min(self.raw(n, empty=True) for _ in range(5)))
        return self._overhead[n]

    def time(self, n: int) -> float:
        """Clock units of ``n`` calls with the loop's own cost subtracted (at least 1)."""
        return max(self.raw(n) - self.overhead(n), 1.0)

    def calibrate(self, min_ns: float, start: int = 1) -> tuple[int, list[tuple[int, float]]]:
        """Smallest tried call count whose loop lasts ``min_ns``, and the (n, time) tried."""
        n = start
        trace: list[tuple[int, float]] = []
        while True:
            raw = self.raw(n)
            t = max(raw - self.overhead(n), 1.0)
            trace.append((n, t))
            if t >= min_ns:
                return n, trace
            if raw <= 0 and n >= _MAX_CALLS:
                raise RuntimeError(f"{n} calls took no time: the clock does not advance")
            # Extrapolate once the loop lasts long enough to be measured well (>= 1/100 of
            # the target); before that, grow tenfold so a slow first call cannot mislead.
            if t * 100 >= min_ns:
                n = max(n + 1, math.ceil(n * min_ns / t * 1.05))
            else:
                n *= 10


@dataclass
class Timing:
    """What :func:`measure` found: per-call times of each sample, in nanoseconds."""

    calls: int  # calls per sample
    sample_ns: list[float]  # per-call time of each sample, loop overhead subtracted
    overhead_ns: float  # the loop's own cost per sample (subtracted), in clock units
    calibration: list[tuple[int, float]] = field(default_factory=list)  # (calls, time)
    latency_ns: list[float] = field(default_factory=list)  # per-call estimates, if asked
    latency_batch: int = 0  # calls per latency batch

    @property
    def per_call_s(self) -> list[float]:
        """Per-call time of each sample, in seconds."""
        return [t / 1e9 for t in self.sample_ns]

    @property
    def median_ns(self) -> float:
        """Median per-call time, in nanoseconds."""
        return _median(self.sample_ns)


def measure(
    fn: Callable[..., Any],
    *,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    min_time: float = DEFAULT_MIN_TIME,
    samples: int = DEFAULT_SAMPLES,
    warmup: int = DEFAULT_WARMUP,
    disable_gc: bool = True,
    latency: bool = False,
    clock: Clock | None = None,
) -> Timing:
    """Time ``fn(*args, **kwargs)``: calibrate, warm up, take ``samples`` samples.

    Each sample is a loop of the same number of calls lasting at least ``min_time``
    seconds; the loop's own cost is subtracted. With ``latency=True`` a further pass times
    calls in small batches for percentiles (:attr:`Timing.latency_ns`). ``clock`` returns
    nanoseconds (default ``time.perf_counter_ns``); tests pass a fake one.
    """
    _check_settings(min_time, samples, warmup)
    timer = _Timer(fn, args, kwargs or {}, clock or time.perf_counter_ns, disable_gc)
    min_ns = min_time * 1e9
    calls, trace = timer.calibrate(min_ns)
    for _ in range(warmup):
        # An operation whose first calls were slow (lazy initialisation, cold caches) can
        # leave the count too small: a warm-up loop far under min_time calibrates again.
        if timer.time(calls) < min_ns / 2:
            calls, more = timer.calibrate(min_ns, start=calls)
            trace += more
    gc.collect()  # garbage left by setup and calibration is not charged to a sample
    sample_ns = [timer.time(calls) / calls for _ in range(samples)]
    result = Timing(calls, sample_ns, timer.overhead(calls), trace)
    if latency:
        per_call = _median(sample_ns)
        batch = max(1, math.ceil(LATENCY_BATCH_NS / max(per_call, 1e-3)))
        batch = min(batch, calls)
        n_batches = max(3 * samples, int(2 * min_time * 1e9 / max(per_call * batch, 1.0)))
        n_batches = min(n_batches, 200_000)
        result.latency_ns = [timer.time(batch) / batch for _ in range(n_batches)]
        result.latency_batch = batch
    return result


def _check_settings(min_time: float, samples: int, warmup: int) -> None:
    if not (isinstance(min_time, (int, float)) and math.isfinite(min_time) and min_time > 0):
        raise ValueError(f"min_time must be a positive number of seconds, got {min_time!r}")
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
    if not isinstance(warmup, int) or isinstance(warmup, bool) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}")


def _median(values: Sequence[float]) -> float:
    return _percentile(sorted(values), 50.0)


def _percentile(ordered: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile of sorted values (numpy's default method)."""
    if not ordered:
        raise ValueError("percentile of no values")
    pos = (len(ordered) - 1) * p / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Case:
    """One parameter combination of a metric: its full name and its params."""

    name: str
    params: dict[str, Any]


def _case_suffix(params: Mapping[str, Any]) -> str:
    if not params:
        return ""
    return "[" + ",".join(f"{k}={_fmt_param(v)}" for k, v in params.items()) + "]"


def _fmt_param(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _expand_params(params: Params | None, where: str) -> list[dict[str, Any]]:
    """Every case of ``params``: the product of a dict of lists, or a list of dicts."""
    if params is None:
        return [{}]
    if isinstance(params, Mapping):
        names = list(params)
        values = []
        for k in names:
            v = params[k]
            if isinstance(v, (str, bytes)) or not isinstance(v, Sequence) or not v:
                raise ValueError(f"{where}: params[{k!r}] must be a non-empty list of values")
            values.append(list(v))
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    cases = [dict(c) for c in params]
    if not cases or not all(isinstance(c, Mapping) for c in params):
        raise ValueError(f"{where}: params must be a dict of lists or a non-empty list of dicts")
    return cases


def _rate_unit(unit: str | None, default: str) -> str:
    """``"steps"`` -> ``"steps/sec"``; a unit with a ``/`` is kept as given."""
    if unit is None:
        return default
    unit = unit.strip()
    if not unit:
        raise ValueError("unit must be a non-empty string")
    return unit if "/" in unit else f"{unit}/sec"


@dataclass
class Metric:
    """A registered measurement: an operation and how to turn its timing into metrics."""

    name: str
    fn: Callable[..., Any]
    kind: str  # "ops", "bytes", "items" or "time"
    count: Count | None
    unit: str
    scale: float  # bytes per unit (bytes) or ns per unit (time); 1 otherwise
    cases: list[Case]
    setup: Callable[..., Any] | None = None
    teardown: Callable[[Any], Any] | None = None
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    percentiles: tuple[float, ...] = ()
    latency_unit: str = "s"
    min_time: float | None = None
    samples: int | None = None
    warmup: int | None = None
    disable_gc: bool = True

    @property
    def higher_is_better(self) -> bool:
        return self.kind != "time"

    def call_arguments(
        self, params: Mapping[str, Any], state: Any, has_state: bool
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The operation's arguments for one case (see :meth:`Suite.metric`)."""
        if has_state:
            return (state, *self.args), dict(self.kwargs)
        return self.args, {**params, **self.kwargs}

    def per_call(self, args: Sequence[Any], kwargs: Mapping[str, Any], case: str) -> float:
        """The ops/bytes/items one call handles (1 for a plain-time metric)."""
        if self.count is None:
            return 1.0
        n = self.count(*args, **kwargs) if callable(self.count) else self.count
        if isinstance(n, bool) or not isinstance(n, (int, float)) or not n > 0:
            raise ValueError(f"{case}: the per-call count must be a positive number, got {n!r}")
        return float(n)

    def values(self, per_call_ns: Sequence[float], count: float) -> list[float]:
        """The metric's value for each per-call time, in its unit."""
        if self.kind == "time":
            return [t / self.scale for t in per_call_ns]
        # count per call / seconds per call, then bytes -> MB etc.
        return [count * 1e9 / t / self.scale for t in per_call_ns]


@dataclass
class Result:
    """One measured metric: its full name, its canonical dict and how it was timed."""

    name: str
    metric: dict[str, Any]  # {"value", "unit", "higher_is_better", "samples"}
    timing: Timing
    latency: bool = False  # a percentile from the latency pass

    def describe(self) -> str:
        """One readable line: value, unit, spread over the samples, how it was sampled."""
        d = self.metric
        samples = d.get("samples") or [d["value"]]
        mean = sum(samples) / len(samples)
        var = sum((x - mean) ** 2 for x in samples) / max(len(samples) - 1, 1)
        cv = 100.0 * math.sqrt(var) / mean if mean else 0.0
        t = self.timing
        if self.latency:
            how = f"{len(t.latency_ns)} batches of {t.latency_batch} calls"
        else:
            how = f"{len(t.sample_ns)} samples of {t.calls} calls, {_fmt_ns(t.median_ns)}/call"
        return f"{self.name}: {d['value']:.4g} {d['unit']} ±{cv:.1f}% ({how})"


# --------------------------------------------------------------------------- the suite


@dataclass
class _Settings:
    min_time: float
    samples: int
    warmup: int


def _env_settings() -> dict[str, Any]:
    """Settings from BENCHGATE_MIN_TIME / BENCHGATE_SAMPLES / BENCHGATE_WARMUP."""
    out: dict[str, Any] = {}
    raw = os.environ.get(ENV_MIN_TIME, "").strip()
    if raw:
        try:
            out["min_time"] = float(raw)
        except ValueError:
            raise ValueError(f"{ENV_MIN_TIME} must be a number of seconds, got {raw!r}") from None
    for var, key in ((ENV_SAMPLES, "samples"), (ENV_WARMUP, "warmup")):
        raw = os.environ.get(var, "").strip()
        if raw:
            try:
                out[key] = int(raw)
            except ValueError:
                raise ValueError(f"{var} must be an integer, got {raw!r}") from None
    return out


def _skip(reason: str) -> NoReturn:
    """Print ``{"skip": reason}`` on stdout and exit 77 (unavailable on this platform)."""
    reason = str(reason) or "skipped"
    sys.stdout.write(json.dumps({"skip": reason}) + "\n")
    sys.stdout.flush()
    print(f"skipped: {reason}", file=sys.stderr)
    raise SystemExit(SKIP_EXIT_CODE)


def _import_or_skip(module: str, reason: str | None = None) -> ModuleType:
    """Import ``module``, or skip the whole bench when it is not installed."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        _skip(reason or f"{module} is not installed (pip install {module.split('.')[0]})")


class Suite:
    """The metrics of one bench script. ``benchgate.bench`` is the default instance.

    ``clock`` (nanoseconds, default ``time.perf_counter_ns``) is injectable for tests.
    """

    def __init__(
        self,
        *,
        min_time: float | None = None,
        samples: int | None = None,
        warmup: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.metrics: dict[str, Metric] = {}
        self.min_time = min_time
        self.samples = samples
        self.warmup = warmup
        self.clock = clock
        self._case_names: set[str] = set()

    # -- declaring -------------------------------------------------------------------

    def configure(
        self,
        *,
        min_time: float | None = None,
        samples: int | None = None,
        warmup: int | None = None,
    ) -> None:
        """Script-wide defaults, e.g. ``bench.configure(min_time=0.05, samples=5)``.

        Environment variables and command-line flags still override them.
        """
        if min_time is not None:
            self.min_time = min_time
        if samples is not None:
            self.samples = samples
        if warmup is not None:
            self.warmup = warmup
        _check_settings(
            DEFAULT_MIN_TIME if self.min_time is None else self.min_time,
            DEFAULT_SAMPLES if self.samples is None else self.samples,
            DEFAULT_WARMUP if self.warmup is None else self.warmup,
        )

    def metric(
        self,
        name: str,
        *,
        ops_per_call: Count | None = None,
        bytes_per_call: Count | None = None,
        items_per_call: Count | None = None,
        unit: str | None = None,
        params: Params | None = None,
        setup: Callable[..., Any] | None = None,
        teardown: Callable[[Any], Any] | None = None,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        percentiles: bool | Sequence[float] = False,
        latency_unit: str = "s",
        min_time: float | None = None,
        samples: int | None = None,
        warmup: int | None = None,
        disable_gc: bool = True,
    ) -> Callable[[F], F]:
        """Decorator: register the decorated function as the operation of metric ``name``.

        What the metric reports (at most one of the three counts):

        * ``ops_per_call=k``: ``k`` operations per call -> ``ops/sec``; with
          ``unit="steps"`` (or ``"steps/sec"``) -> ``steps/sec``;
        * ``bytes_per_call=b``: ``b`` bytes per call -> ``MB/sec`` (1 MB = 1e6 bytes;
          ``unit`` may be ``B/sec``, ``KB/sec``, ``GB/sec``, ``KiB/sec``, ``MiB/sec``);
        * ``items_per_call=k, unit="leaves/sec"``: any other count (``unit`` required);
        * none: the time per call, lower is better, in ``unit`` = ``s`` (default), ``ms``,
          ``us`` or ``ns``.

        A count may be a callable, called once per case (untimed) with the operation's
        own arguments, when it depends on the case: ``bytes_per_call=lambda data: len(data)``.

        How the operation is called, per case (``params={"n": [1024, 65536]}`` gives one
        case per value, named ``encode_MBps[n=1024]``; a dict of several lists gives their
        product; a list of dicts gives exactly those cases):

        * with ``setup``: ``state = setup(**case_params)`` once, untimed; then
          ``fn(state, *args, **kwargs)``; ``teardown(state)`` after the case;
        * without: ``fn(*args, **case_params, **kwargs)``.

        ``percentiles=True`` (or a list such as ``(50, 99.9)``) adds ``<name>_p50``,
        ``<name>_p90``, ``<name>_p99`` metrics: per-call latency percentiles in
        ``latency_unit``, lower is better. ``min_time``, ``samples``, ``warmup`` and
        ``disable_gc`` override the script-wide settings for this metric. Returns the
        function unchanged.
        """
        where = f"bench.metric({name!r})"
        if not isinstance(name, str) or not name.strip() or any(c in name for c in "[]\n"):
            raise ValueError(f"{where}: the name must be a non-empty string without '[', ']'")
        counts = {
            k: v
            for k, v in (
                ("ops_per_call", ops_per_call),
                ("bytes_per_call", bytes_per_call),
                ("items_per_call", items_per_call),
            )
            if v is not None
        }
        if len(counts) > 1:
            raise ValueError(f"{where}: give at most one of {', '.join(counts)}")
        for k, v in counts.items():
            if not callable(v) and (
                isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0
            ):
                raise ValueError(f"{where}: {k} must be a positive number or a callable")
        count = next(iter(counts.values()), None)
        scale = 1.0
        if ops_per_call is not None:
            kind, unit_s = "ops", _rate_unit(unit, "ops/sec")
        elif bytes_per_call is not None:
            kind, unit_s = "bytes", unit or "MB/sec"
            if unit_s not in BYTE_UNITS:
                raise ValueError(f"{where}: unit for bytes must be one of {', '.join(BYTE_UNITS)}")
            scale = BYTE_UNITS[unit_s]
        elif items_per_call is not None:
            if unit is None:
                raise ValueError(f'{where}: items_per_call needs a unit, e.g. unit="leaves/sec"')
            kind, unit_s = "items", _rate_unit(unit, "")
        else:
            kind, unit_s = "time", unit or "s"
            if unit_s not in TIME_UNITS:
                raise ValueError(
                    f"{where}: a time metric's unit must be one of s, ms, us, ns "
                    f"(for a rate such as {unit_s!r}, give ops_per_call or items_per_call)"
                )
            scale = TIME_UNITS[unit_s]
        if latency_unit not in TIME_UNITS:
            raise ValueError(f"{where}: latency_unit must be one of s, ms, us, ns")
        if percentiles is True:
            pcts: tuple[float, ...] = DEFAULT_PERCENTILES
        elif percentiles is False:
            pcts = ()
        else:
            pcts = tuple(float(p) for p in percentiles)
            if not all(0 <= p <= 100 for p in pcts):
                raise ValueError(f"{where}: percentiles must be between 0 and 100")
        _check_settings(
            DEFAULT_MIN_TIME if min_time is None else min_time,
            DEFAULT_SAMPLES if samples is None else samples,
            DEFAULT_WARMUP if warmup is None else warmup,
        )
        cases = [Case(name + _case_suffix(p), p) for p in _expand_params(params, where)]
        names = [c.name for c in cases]
        names += [_pct_name(name, p) + _case_suffix(c.params) for c in cases for p in pcts]
        clash = sorted(set(names) & self._case_names) or sorted(
            {n for n in names if names.count(n) > 1}
        )
        if clash:
            raise ValueError(f"{where}: metric {clash[0]!r} is registered twice")

        def register(fn: F) -> F:
            if not callable(fn):
                raise TypeError(f"{where} decorates a function, got {fn!r}")
            self.metrics[name] = Metric(
                name=name,
                fn=fn,
                kind=kind,
                count=count,
                unit=unit_s,
                scale=scale,
                cases=cases,
                setup=setup,
                teardown=teardown,
                args=tuple(args),
                kwargs=dict(kwargs or {}),
                percentiles=pcts,
                latency_unit=latency_unit,
                min_time=min_time,
                samples=samples,
                warmup=warmup,
                disable_gc=disable_gc,
            )
            self._case_names.update(names)
            return fn

        return register

    # -- running ---------------------------------------------------------------------

    def _settings(self, m: Metric, overrides: Mapping[str, Any]) -> _Settings:
        def pick(key: str, default: Any) -> Any:
            for source in (overrides, _env_settings(), vars(m), vars(self)):
                if source.get(key) is not None:
                    return source[key]
            return default

        s = _Settings(
            min_time=pick("min_time", DEFAULT_MIN_TIME),
            samples=pick("samples", DEFAULT_SAMPLES),
            warmup=pick("warmup", DEFAULT_WARMUP),
        )
        _check_settings(s.min_time, s.samples, s.warmup)
        return s

    def iter_results(
        self,
        *,
        min_time: float | None = None,
        samples: int | None = None,
        warmup: int | None = None,
        select: str | None = None,
    ) -> Iterator[Result]:
        """Run every case, one after the other; yield each metric as it is measured.

        ``select`` keeps only the cases whose name contains it.
        """
        overrides = {"min_time": min_time, "samples": samples, "warmup": warmup}
        for m in self.metrics.values():
            cases = [c for c in m.cases if not select or select in c.name]
            if not cases:
                continue
            s = self._settings(m, overrides)
            for case in cases:
                yield from self._run_case(m, case, s)

    def _run_case(self, m: Metric, case: Case, s: _Settings) -> Iterator[Result]:
        has_state = m.setup is not None
        state = m.setup(**case.params) if m.setup is not None else None
        try:
            args, kwargs = m.call_arguments(case.params, state, has_state)
            count = m.per_call(args, kwargs, case.name)
            timing = measure(
                m.fn,
                args=args,
                kwargs=kwargs,
                min_time=s.min_time,
                samples=s.samples,
                warmup=s.warmup,
                disable_gc=m.disable_gc,
                latency=bool(m.percentiles),
                clock=self.clock,
            )
        finally:
            if m.teardown is not None:
                m.teardown(state)
        values = m.values(timing.sample_ns, count)
        metric = {
            "value": _median(values),
            "unit": m.unit,
            "higher_is_better": m.higher_is_better,
            "samples": values,
        }
        yield Result(case.name, metric, timing)
        scale = TIME_UNITS[m.latency_unit]
        lat = [t / scale for t in timing.latency_ns]
        ordered = sorted(lat)
        # Samples: the percentile within each of `samples` consecutive slices of the pass.
        size = len(lat) // s.samples
        groups = [sorted(lat[i * size : (i + 1) * size]) for i in range(s.samples)]
        for p in m.percentiles:
            d: dict[str, Any] = {
                "value": _percentile(ordered, p),
                "unit": m.latency_unit,
                "higher_is_better": False,
            }
            if size >= 3:
                d["samples"] = [_percentile(g, p) for g in groups]
            yield Result(_pct_name(m.name, p) + _case_suffix(case.params), d, timing, True)

    def run(
        self,
        *,
        min_time: float | None = None,
        samples: int | None = None,
        warmup: int | None = None,
        select: str | None = None,
        log: Callable[[str], Any] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Run every registered metric and return the canonical ``metrics`` object.

        ``log`` receives one human-readable line per metric (``bench.main`` prints them
        on stderr).
        """
        out: dict[str, dict[str, Any]] = {}
        for r in self.iter_results(
            min_time=min_time, samples=samples, warmup=warmup, select=select
        ):
            out[r.name] = r.metric
            if log is not None:
                log(r.describe())
        return out

    def main(self, argv: Sequence[str] | None = None) -> None:
        """Run the metrics and print the canonical JSON on stdout (the script's entry point).

        Flags: ``--min-time S``, ``--samples N``, ``--warmup N``, ``-k TEXT`` (only the
        metrics whose name contains TEXT), ``--list``, ``-q`` (no lines on stderr).
        Human-readable lines go to stderr; stdout gets the one JSON object.
        """
        import argparse

        parser = argparse.ArgumentParser(
            description="Run this bench's metrics and print benchgate's JSON on stdout."
        )
        parser.add_argument("--min-time", type=float, help="seconds per sample")
        parser.add_argument("--samples", type=int, help="samples per metric")
        parser.add_argument("--warmup", type=int, help="warm-up loops per metric")
        parser.add_argument("-k", dest="select", help="only metrics whose name contains this")
        parser.add_argument("--list", action="store_true", help="list the metrics and exit")
        parser.add_argument("-q", "--quiet", action="store_true", help="nothing on stderr")
        ns = parser.parse_args(argv)
        if not self.metrics:
            print("error: no metrics; decorate a function with @bench.metric(...)", file=sys.stderr)
            raise SystemExit(2)
        if ns.list:
            for m in self.metrics.values():
                for c in m.cases:
                    print(c.name)
            return
        overrides = {"min_time": ns.min_time, "samples": ns.samples, "warmup": ns.warmup}
        try:  # bad settings are reported before anything runs; errors of the operation
            for m in self.metrics.values():  # itself propagate with their traceback
                self._settings(m, overrides)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        if os.environ.get(ENV_PROFILE):
            self._main_profile()
            return
        mode = os.environ.get(ENV_MEASURE, "").strip().lower()
        if mode and mode != "time":
            self._main_measure(mode, ns.select)
            return
        metrics: dict[str, dict[str, Any]] = {}
        calls: dict[str, int] = {}
        for r in self.iter_results(select=ns.select, **overrides):
            metrics[r.name] = r.metric
            if not r.latency:
                calls[r.name] = r.timing.calls
            if not ns.quiet:
                print(r.describe(), file=sys.stderr, flush=True)
        if not metrics:
            print(f"error: no metric matches -k {ns.select!r}", file=sys.stderr)
            raise SystemExit(2)
        # Extra top-level fields are kept by benchgate with the run: how it was sampled.
        doc = {"metrics": metrics, "harness": {"name": "benchgate.bench", "calls": calls}}
        sys.stdout.write(json.dumps(doc) + "\n")
        sys.stdout.flush()

    # -- instruction counts and memory (BENCHGATE_MEASURE) ---------------------------

    def _cases(self, select: str | None) -> list[tuple[Metric, Case]]:
        return [
            (m, c) for m in self.metrics.values() for c in m.cases if not select or select in c.name
        ]

    @contextlib.contextmanager
    def prepared(self, key: str) -> Iterator[tuple[Metric, tuple[Any, ...], dict[str, Any]]]:
        """Case ``key`` (see :meth:`find_case`) set up, untimed, with its call arguments;
        torn down on exit. Counting, memory and profiling runs all start from here."""
        m, case = self.find_case(key)
        state = m.setup(**case.params) if m.setup is not None else None
        try:
            yield m, *m.call_arguments(case.params, state, m.setup is not None)
        finally:
            if m.teardown is not None:
                m.teardown(state)

    def count_calls(self, case_name: str, calls: int) -> None:
        """Run case ``case_name`` exactly ``calls`` times after its setup, nothing timed.

        This is what an instruction-counting process runs: setup (untimed, cancelled by
        the runner's two-point subtraction), then the same generated loop as the timing
        pass, garbage collector off as there, then teardown. No warm-up and no
        calibration: the number of calls must not depend on the machine's speed.
        """
        with self.prepared(case_name) as (m, args, kwargs):
            m.per_call(args, kwargs, case_name)  # as in the timing pass; cancels out
            # A constant clock: reading the real one costs a number of instructions that
            # depends on the time read, which would make the count vary run to run.
            timer = _Timer(m.fn, args, kwargs, _zero_clock, m.disable_gc)
            timer.raw(calls)

    def memory(self, case_name: str, calls: int) -> dict[str, float]:
        """Traced memory of one case: ``peak_bytes`` of one call, ``retained_bytes`` per call.

        ``tracemalloc`` runs only around the calls (setup is not traced). One call first,
        untraced for the numbers, so lazy initialisation is not charged; then the peak of
        one call above what was live before it; then blocks of ``calls`` and ``2 * calls``
        calls, and the difference of the growth of live traced memory over them divided by
        ``calls``: what each call leaves allocated (caches, leaks, kept results).
        tracemalloc sees live blocks, not a running total of allocations, so memory
        allocated and freed within a call shows only in the peak.
        """
        import tracemalloc  # only in memory mode: it must not load in a timing run

        with self.prepared(case_name) as (m, args, kwargs):
            fn = m.fn
            gc_was_on = gc.isenabled()
            gc.collect()
            if m.disable_gc:
                gc.disable()
            tracemalloc.start()
            try:
                fn(*args, **kwargs)
                before = tracemalloc.get_traced_memory()[0]
                tracemalloc.reset_peak()
                fn(*args, **kwargs)
                peak = tracemalloc.get_traced_memory()[1] - before
                # Blocks of `calls` and `2 * calls` calls: the difference of their growth is
                # `calls` calls' worth, the bookkeeping of a block (loop, the readings
                # themselves) cancelling out as in the instruction counts.
                m0 = tracemalloc.get_traced_memory()[0]
                for _ in range(calls):
                    fn(*args, **kwargs)
                m1 = tracemalloc.get_traced_memory()[0]
                for _ in range(2 * calls):
                    fn(*args, **kwargs)
                m2 = tracemalloc.get_traced_memory()[0]
                retained = ((m2 - m1) - (m1 - m0)) / calls
            finally:
                tracemalloc.stop()
                if gc_was_on:
                    gc.enable()
        return {"peak_bytes": float(peak), "retained_bytes": float(retained)}

    def _main_measure(self, mode: str, select: str | None) -> None:
        """``bench.main()`` when the runner asks for a count or memory (``BENCHGATE_MEASURE``)."""
        raw = os.environ.get(ENV_CALLS, "").strip()
        try:
            calls = int(raw) if raw else DEFAULT_COUNT_CALLS
            if calls < 1:
                raise ValueError
        except ValueError:
            print(f"error: {ENV_CALLS} must be an integer >= 1, got {raw!r}", file=sys.stderr)
            raise SystemExit(2) from None
        harness: dict[str, Any] = {"name": "benchgate.bench", "mode": mode}
        metrics: dict[str, dict[str, Any]] = {}
        if mode == "list":
            harness["cases"] = [c.name for _, c in self._cases(select)]
            sys.stdout.write(json.dumps({"skip": "listing only", "harness": harness}) + "\n")
            sys.stdout.flush()
            return
        if mode == "instructions":
            case = os.environ.get(ENV_CASE, "")
            try:
                self.count_calls(case, calls)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                raise SystemExit(2) from None
            harness["calls"] = {case: calls}
            metrics[case] = {"value": calls, "unit": "calls", "higher_is_better": False}
        elif mode == "memory":
            # The process's peak resident set, first with no tracing (tracemalloc's own
            # bookkeeping would inflate it): each case's setup and calls, as timed runs do.
            for _m, c in self._cases(select):
                self.count_calls(c.name, calls)
            rss = _peak_rss()
            if rss is not None:
                harness["peak_rss"] = rss
            for m, c in self._cases(select):
                got = self.memory(c.name, calls)
                for what, value in got.items():
                    if value > 0:  # 0 cannot be the base of a ratio: such a metric is left out
                        name = f"{m.name}_{what}" + _case_suffix(c.params)
                        metrics[name] = {"value": value, "unit": "bytes", "higher_is_better": False}
            harness["calls"] = calls
            harness["cases"] = [c.name for _, c in self._cases(select)]
            if not metrics:
                sys.stdout.write(json.dumps({"skip": "no traced allocation", "harness": harness}))
                sys.stdout.write("\n")
                sys.stdout.flush()
                return
        else:
            print(
                f"error: {ENV_MEASURE} must be time, list, instructions or memory, got {mode!r}",
                file=sys.stderr,
            )
            raise SystemExit(2)
        sys.stdout.write(json.dumps({"metrics": metrics, "harness": harness}) + "\n")
        sys.stdout.flush()

    # -- profiling (BENCHGATE_PROFILE, for `benchgate explain`) -----------------------

    def find_case(self, key: str) -> tuple[Metric, Case]:
        """The metric and case behind a metric name: a case's own name, or one derived
        from it (a latency percentile ``<name>_p99[...]``, a count ``<name>_instructions``).
        """
        cases = [(m, c) for m in self.metrics.values() for c in m.cases]
        for m, c in cases:
            if c.name == key:
                return m, c
        head, sep, tail = key.partition("[")
        for m, c in cases:
            derived = [_pct_name(m.name, p) for p in m.percentiles]
            derived += [m.name + "_instructions", m.name + "_cycles"]
            if head in derived and c.name == m.name + sep + tail:
                return m, c
        raise ValueError(f"no case named {key!r}")

    def profile_case(self, key: str, calls: int, mode: str, out: str | None = None) -> None:
        """Run case ``key``'s operation ``calls`` times after its setup and one untimed call.

        ``mode`` ``cprofile``: only those calls run under cProfile, whose statistics are
        written to ``out``; ``count``: they run bare (valgrind counts the process).
        """
        import cProfile  # only when profiling: a timing run must not load it

        with self.prepared(key) as (m, args, kwargs):
            fn = m.fn
            fn(*args, **kwargs)  # lazy initialisation is not what a profile should show
            gc.collect()
            prof = cProfile.Profile() if mode == "cprofile" else None
            if prof is not None:
                prof.enable()
            if prof is None:
                # Through sys.call_tracing, whose C function (_PyEval_CallTracing, exported
                # by every CPython) valgrind's --toggle-collect brackets: only these calls
                # are counted, not start-up, imports or setup.
                sys.call_tracing(_profile_loop, (fn, args, kwargs, calls))
            else:
                _profile_loop(fn, args, kwargs, calls)
            if prof is not None:
                prof.disable()
                prof.dump_stats(out or "bench.pstats")

    def _main_profile(self) -> None:
        mode = os.environ.get(ENV_PROFILE, "").strip().lower()
        raw = os.environ.get(ENV_PROFILE_CALLS, "").strip()
        key = os.environ.get(ENV_PROFILE_CASE, "")
        try:
            if mode not in ("cprofile", "count"):
                raise ValueError(f"{ENV_PROFILE} must be cprofile or count, got {mode!r}")
            calls = int(raw) if raw else 10
            if calls < 1:
                raise ValueError(f"{ENV_PROFILE_CALLS} must be an integer >= 1, got {raw!r}")
            self.profile_case(key, calls, mode, os.environ.get(ENV_PROFILE_OUT))
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        doc = {"profile": {"case": key, "calls": calls, "mode": mode}}
        sys.stdout.write(json.dumps(doc) + "\n")
        sys.stdout.flush()

    skip = staticmethod(_skip)
    import_or_skip = staticmethod(_import_or_skip)
    measure = staticmethod(measure)


def _profile_loop(fn: Callable[..., Any], args: Any, kwargs: Any, calls: int) -> None:
    """The profiled calls: one frame, named so a profile reads as "the operation, n times"."""
    for _ in range(calls):
        fn(*args, **kwargs)


def _zero_clock() -> int:
    return 0


def _peak_rss() -> int | None:
    """This process's peak resident set in bytes so far (None where unknown)."""
    try:
        import resource  # Unix only
    except ImportError:
        return None
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(kb if sys.platform == "darwin" else kb * 1024)


def _pct_name(name: str, p: float) -> str:
    text = f"{p:g}".replace(".", "_")
    return f"{name}_p{text}"


def _fmt_ns(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.4g} {unit}"
    return f"{ns:.4g} ns"


bench = Suite()
"""The default suite: ``from benchgate import bench``, then ``@bench.metric(...)``."""

# Module-level aliases of the default suite: ``from benchgate.bench import metric, main``.
metric = bench.metric
configure = bench.configure
main = bench.main
skip = _skip
import_or_skip = _import_or_skip
