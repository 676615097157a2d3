"""The data model shared by every stage: measurements, runs, reduced metrics, verdicts.

Everything here is plain data with ``to_dict`` / ``from_dict`` so the out-dir files
(``<bench>.json``, ``reduced.json``) round-trip without loss.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

RESULTS_SCHEMA = "benchgate.results/1"
REDUCED_SCHEMA = "benchgate.reduced/1"

DEFAULT_DEGRADATION = 0.15
DEFAULT_WARN = 0.05


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
        return cls(
            value=float(d["value"]),
            unit=str(d["unit"]),
            higher_is_better=bool(d["higher_is_better"]),
            samples=[float(s) for s in d["samples"]] if d.get("samples") is not None else None,
            inferred=bool(d.get("inferred", False)),
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

    @property
    def disturbed(self) -> bool:
        return bool(self.disturbance and self.disturbance.get("disturbed"))

    def to_dict(self) -> dict[str, Any]:
        return {
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

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunRecord:
        return cls(
            run_id=str(d["run_id"]),
            bench=str(d["bench"]),
            invocation=str(d.get("invocation", d["run_id"])),
            started=str(d["started"]),
            duration_s=float(d.get("duration_s", 0.0)),
            status=RunStatus(d["status"]),
            exit_code=d.get("exit_code"),
            reason=d.get("reason"),
            stderr_tail=d.get("stderr_tail"),
            metrics={k: Measurement.from_dict(m) for k, m in (d.get("metrics") or {}).items()},
            env=dict(d.get("env") or {}),
            command=dict(d.get("command") or {}),
            disturbance=d.get("disturbance"),
            extra=dict(d.get("extra") or {}),
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
        return cls(
            n=int(d["n"]),
            min=float(d["min"]),
            max=float(d["max"]),
            stdev=float(d["stdev"]),
            cv=float(d["cv"]),
            iqr_rel=float(d.get("iqr_rel", 0.0)),
            mad_rel=float(d.get("mad_rel", 0.0)),
            within_cv=d.get("within_cv"),
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
        return cls(
            key=str(d["key"]),
            bench=str(d["bench"]),
            metric=str(d["metric"]),
            value=float(d["value"]),
            unit=str(d["unit"]),
            higher_is_better=bool(d["higher_is_better"]),
            method=str(d["method"]),
            spread=Spread.from_dict(d["spread"]),
            values=[float(v) for v in d["values"]],
            run_ids=[str(r) for r in d["run_ids"]],
            inferred=bool(d.get("inferred", False)),
        )


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

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BenchSummary:
        return cls(
            bench=str(d["bench"]),
            status=RunStatus(d["status"]),
            runs=int(d["runs"]),
            ok_runs=int(d["ok_runs"]),
            reason=d.get("reason"),
            disturbed_runs=int(d.get("disturbed_runs", 0)),
            dropped_runs=int(d.get("dropped_runs", 0)),
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
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReducedSet:
        return cls(
            method=str(d["method"]),
            metrics={k: ReducedMetric.from_dict(m) for k, m in d["metrics"].items()},
            benches={k: BenchSummary.from_dict(b) for k, b in d["benches"].items()},
            run_ids=[str(r) for r in d["run_ids"]],
            created=str(d.get("created", "")),
            envs=list(d.get("envs") or []),
            dropped_disturbed=int(d.get("dropped_disturbed", 0)),
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
