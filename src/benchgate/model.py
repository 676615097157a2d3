"""The data model shared by every stage: measurements, runs, reduced metrics, verdicts.

Everything here is plain data with ``to_dict`` / ``from_dict`` so the out-dir files
(``<bench>.json``, ``reduced.json``) round-trip without loss.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from benchgate.validate import clean_json, clean_text, finite, name_problem, positive_finite

RESULTS_SCHEMA = "benchgate.results/1"
REDUCED_SCHEMA = "benchgate.reduced/1"

DEFAULT_DEGRADATION = 0.15
DEFAULT_WARN = 0.05


# --- strict reading: what benchgate would not write is refused on read -------------------
# Each raises ValueError("<field>: <problem>"); the file readers add the file's name.


def _obj(v: Any, what: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ValueError(f"{what} must be an object, not {type(v).__name__}")
    return v


def _opt_obj(v: Any, what: str) -> dict[str, Any]:
    return {} if v is None else dict(_obj(v, what))


def _text(v: Any, what: str, optional: bool = False) -> str:
    if v is None and optional:
        return ""
    if not isinstance(v, str):
        raise ValueError(f"{what} must be a string")
    return v


def _name(v: Any, what: str) -> str:
    problem = name_problem(v, what)
    if problem:
        raise ValueError(problem)
    return str(v)


def _positive(v: Any, what: str) -> float:
    f = positive_finite(v)
    if f is None:
        raise ValueError(f"{what} must be a positive finite number, got {_shown(v)}")
    return f


def _finite(v: Any, what: str, minimum: float | None = None) -> float:
    f = finite(v)
    if f is None or (minimum is not None and f < minimum):
        bound = f" >= {minimum:g}" if minimum is not None else ""
        raise ValueError(f"{what} must be a finite number{bound}, got {_shown(v)}")
    return f


def _samples(v: Any) -> list[float]:
    xs = _list(v, "samples")
    if all(type(x) is float for x in xs) and all(map(math.isfinite, xs)):
        return xs  # as the runner writes them: checked at C speed
    return [_finite(x, "samples[]") for x in xs]


def _bool(v: Any, what: str) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"{what} must be true or false")
    return v


def _list(v: Any, what: str) -> list[Any]:
    if not isinstance(v, list):
        raise ValueError(f"{what} must be a list")
    return v


def _clean_tail(text: str) -> str | None:
    # A stderr tail keeps its line breaks; only what cannot be printed is replaced.
    return "\n".join(clean_text(line) for line in text.split("\n")) or None


def _shown(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


class Status(str, Enum):
    """Verdict of one metric against its baseline (gates.md)."""

    PASS = "pass"
    IMPROVED = "improved"
    WARN = "warn"
    FAIL = "fail"
    NEW = "new"
    MISSING = "missing"
    SKIPPED = "skipped"
    ERROR = "error"
    INFO = "info"  # an informational metric (config `info`): shown, never gated

    @property
    def label(self) -> str:
        return self.value.upper()


# The order in which statuses are listed: the ones that need attention first.
STATUS_ORDER = [
    Status.FAIL,
    Status.ERROR,
    Status.MISSING,
    Status.NEW,
    Status.WARN,
    Status.SKIPPED,
    Status.IMPROVED,
    Status.PASS,
    Status.INFO,
]

# Statuses that make `compare` exit 1 (NEW and MISSING can be relaxed with --allow).
GATING = {Status.FAIL, Status.NEW, Status.MISSING, Status.ERROR}


class RunStatus(str, Enum):
    """Outcome of one execution of one bench."""

    OK = "ok"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass
class Measurement:
    """One metric as one bench run reported it."""

    value: float
    unit: str
    higher_is_better: bool
    samples: list[float] | None = None
    # True when unit/direction were guessed from the metric's name (in-the-wild form);
    # a baseline's own unit then wins instead of being a mismatch.
    inferred: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "value": self.value,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
        }
        if self.samples is not None:
            d["samples"] = self.samples
        if self.inferred:
            d["inferred"] = True
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Measurement:
        """Read and check one stored measurement (ValueError naming the bad field)."""
        d = _obj(d, "measurement")
        value, unit, hib = d.get("value"), d.get("unit"), d.get("higher_is_better")
        # Fast path for what the runner writes (4,000-run out-dirs load in well under a second).
        if not (type(value) is float and 0.0 < value < math.inf):
            value = _positive(value, "value")
        if not (type(unit) is str and name_problem(unit, "unit") is None):
            unit = _name(unit, "unit")
        samples = d.get("samples")
        return cls(
            value=value,
            unit=unit,
            higher_is_better=hib if type(hib) is bool else _bool(hib, "higher_is_better"),
            samples=_samples(samples) if samples is not None else None,
            inferred=_bool(d.get("inferred", False), "inferred"),
        )


@dataclass
class RunRecord:
    """One execution of one bench: what it reported and the conditions it ran in."""

    run_id: str
    bench: str
    invocation: str
    started: str
    duration_s: float
    status: RunStatus
    exit_code: int | None = None
    reason: str | None = None
    stderr_tail: str | None = None
    metrics: dict[str, Measurement] = field(default_factory=dict)
    # Everything the gate needs to know about where the numbers came from.
    env: dict[str, Any] = field(default_factory=dict)
    # argv of the benchgate call, the bench command, cpus, benchmark env vars.
    command: dict[str, Any] = field(default_factory=dict)
    # Share of the chosen CPUs taken by other processes during the run.
    disturbance: dict[str, Any] | None = None
    # Extra fields a bench reported (the in-the-wild form's case/params).
    extra: dict[str, Any] = field(default_factory=dict)
    # Metrics whose own value was bad this run (0, negative, inf): name -> why.
    metric_errors: dict[str, str] = field(default_factory=dict)
    # Informational metrics (config `info`): name -> value as reported (bounded).
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def disturbed(self) -> bool:
        return bool(self.disturbance and self.disturbance.get("disturbed"))

    def to_dict(self) -> dict[str, Any]:
        d = {
            "run_id": self.run_id,
            "bench": self.bench,
            "invocation": self.invocation,
            "started": self.started,
            "duration_s": self.duration_s,
            "status": self.status.value,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "stderr_tail": self.stderr_tail,
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
            "env": self.env,
            "command": self.command,
            "disturbance": self.disturbance,
            "extra": self.extra,
        }
        # Only when present: run files without them read as before.
        if self.metric_errors:
            d["metric_errors"] = self.metric_errors
        if self.info:
            d["info"] = self.info
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunRecord:
        """Read and check one stored run (ValueError naming the bad field)."""
        d = _obj(d, "run")
        run_id = _name(d.get("run_id"), "run_id")
        status = d.get("status")
        if status not in {s.value for s in RunStatus}:
            raise ValueError(f"status must be ok, skipped or error, got {_shown(status)}")
        exit_code = d.get("exit_code")
        if exit_code is not None and (
            not isinstance(exit_code, int) or isinstance(exit_code, bool)
        ):
            raise ValueError("exit_code must be an integer or null")
        metrics: dict[str, Measurement] = {}
        for k, m in _opt_obj(d.get("metrics"), "metrics").items():
            name = _name(k, "metric name")
            try:
                metrics[name] = Measurement.from_dict(m)
            except ValueError as exc:
                raise ValueError(f"metrics[{name!r}].{exc}") from None
        disturbance = d.get("disturbance")
        return cls(
            run_id=run_id,
            bench=_name(d.get("bench"), "bench"),
            invocation=clean_text(_text(d.get("invocation", run_id), "invocation")),
            started=clean_text(_text(d.get("started"), "started")),
            duration_s=_finite(d.get("duration_s", 0.0), "duration_s", minimum=0.0),
            status=RunStatus(status),
            exit_code=exit_code,
            # Free text and context are cleaned, not refused: a lone surrogate or a control
            # character in them must not break every later print of this run.
            reason=clean_text(_text(d.get("reason"), "reason", optional=True)) or None,
            stderr_tail=_clean_tail(_text(d.get("stderr_tail"), "stderr_tail", optional=True)),
            metrics=metrics,
            env=clean_json(_opt_obj(d.get("env"), "env")),
            command=clean_json(_opt_obj(d.get("command"), "command")),
            disturbance=(
                clean_json(_obj(disturbance, "disturbance")) if disturbance is not None else None
            ),
            extra=clean_json(_opt_obj(d.get("extra"), "extra")),
            metric_errors={
                _name(k, "metric name"): clean_text(_text(v, "metric_errors[]"))
                for k, v in _opt_obj(d.get("metric_errors"), "metric_errors").items()
            },
            info={
                _name(k, "metric name"): clean_json(v)
                for k, v in _opt_obj(d.get("info"), "info").items()
            },
        )


@dataclass
class Spread:
    """How much a metric moved across runs (and within runs, when samples exist)."""

    n: int
    min: float
    max: float
    stdev: float
    cv: float  # stdev / mean, a fraction
    iqr_rel: float  # interquartile range / median, a fraction
    mad_rel: float  # median absolute deviation / median, a fraction
    within_cv: float | None = None  # median over runs of the within-run sample CV

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Spread:
        """Read and check a stored spread (ValueError naming the bad field)."""
        d = _obj(d, "spread")
        n = d.get("n")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"spread.n must be a positive integer, got {_shown(n)}")
        within = d.get("within_cv")
        return cls(
            n=n,
            min=_positive(d.get("min"), "spread.min"),
            max=_positive(d.get("max"), "spread.max"),
            stdev=_finite(d.get("stdev"), "spread.stdev", minimum=0.0),
            cv=_finite(d.get("cv"), "spread.cv", minimum=0.0),
            iqr_rel=_finite(d.get("iqr_rel", 0.0), "spread.iqr_rel", minimum=0.0),
            mad_rel=_finite(d.get("mad_rel", 0.0), "spread.mad_rel", minimum=0.0),
            within_cv=(
                _finite(within, "spread.within_cv", minimum=0.0) if within is not None else None
            ),
        )


@dataclass
class ReducedMetric:
    """A metric reduced over all its runs to one value with its spread."""

    key: str
    bench: str
    metric: str
    value: float
    unit: str
    higher_is_better: bool
    method: str
    spread: Spread
    values: list[float]  # the per-run values, in run order
    run_ids: list[str]
    inferred: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "bench": self.bench,
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "method": self.method,
            "spread": self.spread.to_dict(),
            "values": self.values,
            "run_ids": self.run_ids,
            "inferred": self.inferred,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReducedMetric:
        """Read and check a stored reduced metric (ValueError naming the bad field)."""
        d = _obj(d, "metric")
        bench = _name(d.get("bench"), "bench")
        metric = _name(d.get("metric"), "metric name")
        key = _name(d.get("key"), "key")
        if key != f"{bench}.{metric}":
            raise ValueError(f"key {key!r} is not bench.metric ({bench!r}.{metric!r})")
        values = [_positive(v, "values[]") for v in _list(d.get("values"), "values")]
        if not values:
            raise ValueError("values is empty")
        return cls(
            key=key,
            bench=bench,
            metric=metric,
            value=_positive(d.get("value"), "value"),
            unit=_name(d.get("unit"), "unit"),
            higher_is_better=_bool(d.get("higher_is_better"), "higher_is_better"),
            method=_text(d.get("method"), "method"),
            spread=Spread.from_dict(_obj(d.get("spread"), "spread")),
            values=values,
            run_ids=[_text(r, "run_ids[]") for r in _list(d.get("run_ids"), "run_ids")],
            inferred=_bool(d.get("inferred", False), "inferred"),
        )


def _metric_status(v: Any) -> dict[str, dict[str, str]]:
    """A stored bench summary's metric_status: metric -> {status: error|skipped, reason}."""
    out: dict[str, dict[str, str]] = {}
    for name, st in _opt_obj(v, "metric_status").items():
        st = _obj(st, f"metric_status.{name}")
        status = st.get("status")
        if status not in ("error", "skipped"):
            raise ValueError(f"metric_status.{name}.status must be error or skipped")
        out[str(name)] = {
            "status": str(status),
            "reason": clean_text(_text(st.get("reason"), "reason", optional=True)),
        }
    return out


@dataclass
class BenchSummary:
    """What became of one bench over all its runs."""

    bench: str
    status: RunStatus  # OK when at least one run produced metrics
    runs: int
    ok_runs: int
    reason: str | None = None
    disturbed_runs: int = 0
    dropped_runs: int = 0
    # Metrics that cannot be reduced (e.g. their unit changed between runs): key -> why.
    # They are ERROR verdicts, never values.
    metric_errors: dict[str, str] = field(default_factory=dict)
    # Metrics the tool reported as failed or skipped in every run (an imported or pytest
    # bench: one failing test is one ERROR row, not a lost bench): name -> {status, reason}.
    metric_status: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BenchSummary:
        """Read and check a stored bench summary (ValueError naming the bad field)."""
        d = _obj(d, "bench")
        status = d.get("status")
        if status not in {s.value for s in RunStatus}:
            raise ValueError(f"status must be ok, skipped or error, got {_shown(status)}")
        counts = {}
        for name in ("runs", "ok_runs", "disturbed_runs", "dropped_runs"):
            v = d.get(name, 0)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {_shown(v)}")
            counts[name] = v
        errors = _opt_obj(d.get("metric_errors"), "metric_errors")
        return cls(
            bench=_name(d.get("bench"), "bench"),
            status=RunStatus(status),
            reason=clean_text(_text(d.get("reason"), "reason", optional=True)) or None,
            metric_errors={_name(k, "metric key"): _text(v, "reason") for k, v in errors.items()},
            metric_status=_metric_status(d.get("metric_status")),
            **counts,
        )


@dataclass
class ReducedSet:
    """The content of ``reduced.json``: every metric reduced, every bench summarised."""

    method: str
    metrics: dict[str, ReducedMetric]
    benches: dict[str, BenchSummary]
    run_ids: list[str]
    created: str = ""
    envs: list[dict[str, Any]] = field(default_factory=list)  # distinct environments seen
    dropped_disturbed: int = 0
    # Informational metrics: key -> {"bench", "metric", "value", "n"} (value: the median
    # when every run gave a finite number, else the latest value as reported).
    info: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": REDUCED_SCHEMA,
            "method": self.method,
            "created": self.created,
            "run_ids": self.run_ids,
            "dropped_disturbed": self.dropped_disturbed,
            "benches": {k: b.to_dict() for k, b in self.benches.items()},
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
            "envs": self.envs,
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReducedSet:
        """Read and check a stored reduced.json (ValueError naming the bad field)."""
        d = _obj(d, "reduced file")
        metrics: dict[str, ReducedMetric] = {}
        for k, m in _obj(d.get("metrics"), "metrics").items():
            try:
                metrics[k] = ReducedMetric.from_dict(m)
            except ValueError as exc:
                raise ValueError(f"metrics[{k!r}]: {exc}") from None
            if metrics[k].key != k:
                raise ValueError(f"metrics[{k!r}]: holds key {metrics[k].key!r}")
        benches: dict[str, BenchSummary] = {}
        for k, b in _obj(d.get("benches"), "benches").items():
            try:
                benches[k] = BenchSummary.from_dict(b)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"benches[{k!r}]: {exc}") from None
        envs = d.get("envs") or []
        dropped = d.get("dropped_disturbed", 0)
        if not isinstance(dropped, int) or isinstance(dropped, bool) or dropped < 0:
            raise ValueError("dropped_disturbed must be a non-negative integer")
        return cls(
            method=_text(d.get("method"), "method"),
            metrics=metrics,
            benches=benches,
            run_ids=[_text(r, "run_ids[]") for r in _list(d.get("run_ids"), "run_ids")],
            created=_text(d.get("created", ""), "created"),
            envs=[_obj(e, "envs[]") for e in _list(envs, "envs")],
            dropped_disturbed=dropped,
            info={
                _name(k, "info key"): clean_json(_obj(v, f"info[{k!r}]"))
                for k, v in _opt_obj(d.get("info"), "info").items()
            },
        )


@dataclass
class Baseline:
    """One entry of baselines.json, validated. ``raw`` keeps every field as written."""

    key: str
    value: float
    unit: str
    degradation_pct_max: float
    variance_pct_warn: float
    higher_is_better: bool | None
    notes: str | None
    raw: dict[str, Any]


@dataclass
class Interval:
    """A confidence interval for current/baseline (a ratio; 1.0 = unchanged)."""

    low: float
    high: float
    level: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Verdict:
    """One row of the comparison: a metric judged by the rules of gates.md."""

    key: str
    status: Status
    baseline: float | None
    current: float | None
    unit: str | None
    delta_pct: float | None
    higher_is_better: bool | None = None
    degradation_pct_max: float | None = None
    variance_pct_warn: float | None = None
    reason: str | None = None
    n: int = 0
    spread: Spread | None = None
    interval: Interval | None = None
    unsure: bool = False
    confirmed_runs: int = 0  # extra runs made by --confirm for this metric
    proposed: float | None = None  # value a PR proposes for a baseline it adds (--baselines-rev)
    # A paired A/B verdict (`benchgate ab`) is a Verdict too: ``baseline`` and ``current``
    # are the medians of the base and head runs, ``n`` the pairs, ``ratio`` the median of
    # the per-pair ratios head/base (``delta_pct`` is its change in percent), and
    # ``confirmed_runs`` the extra rounds of --confirm.
    ratio: float | None = None
    thresholds_from: str | None = None  # "baselines.json" or "config" (A/B)
    baseline_verdict: Verdict | None = None  # the head's runs against baselines.json (A/B)
    before: tuple[Status, bool] | None = None  # (status, unsure) before --confirm (A/B)

    @property
    def bench(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def added_with_baseline(self) -> bool:
        """A NEW metric whose baseline the same change adds (``compare --baselines-rev``).

        That is what the method asks ("add it to baselines.json in the same PR that
        introduces the metric"), so it does not fail the gate; the verdict still shows
        NEW and the value the change proposes, for the reviewer.
        """
        return self.status is Status.NEW and self.proposed is not None

    def to_dict(self) -> dict[str, Any]:
        """The ``compare --format json`` form (A/B verdicts have their own, in ab.json)."""
        return {
            "key": self.key,
            "status": self.status.value,
            "baseline": self.baseline,
            "current": self.current,
            "unit": self.unit,
            "delta_pct": self.delta_pct,
            "higher_is_better": self.higher_is_better,
            "degradation_pct_max": self.degradation_pct_max,
            "variance_pct_warn": self.variance_pct_warn,
            "reason": self.reason,
            "n": self.n,
            "spread": self.spread.to_dict() if self.spread else None,
            "interval": self.interval.to_dict() if self.interval else None,
            "unsure": self.unsure,
            "confirmed_runs": self.confirmed_runs,
            "proposed": self.proposed,
        }


@dataclass
class Comparison:
    """All verdicts of one comparison plus the notes that qualify them."""

    verdicts: list[Verdict]
    warnings: list[str] = field(default_factory=list)  # environment / disturbance notes
    method: str = "median"

    def counts(self) -> dict[Status, int]:
        out = {s: 0 for s in STATUS_ORDER}
        for v in self.verdicts:
            out[v.status] += 1
        return out

    def gating(self, allow: set[Status] | None = None) -> list[Verdict]:
        """Verdicts that make the gate fail (exit 1), after ``allow`` relaxations."""
        allowed = allow or set()
        return [
            v
            for v in self.verdicts
            if v.status in GATING and v.status not in allowed and not v.added_with_baseline
        ]
