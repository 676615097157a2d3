"""How sure a verdict is: a confidence interval for current/baseline and the "unsure" label.

The verdicts of gates.md never change here: the interval is extra information. A verdict
is *unsure* when its interval holds ratios that the same rules would judge differently,
i.e. the interval straddles a threshold between the verdict and a neighbour (a FAIL
whose interval reaches above ``1 - degradation_pct_max`` for higher-is-better, a PASS
whose interval reaches below ``1 - variance_pct_warn``, ...; for lower-is-better the
thresholds are ``1 + ...`` and the sides swap). Judging the interval's ends with
:func:`benchgate.judge.compare.judge` is exactly that test, in both directions.

Which interval (see docs/statistics.md):

- baseline is one number (baselines.json ``value``): percentile bootstrap of the
  reduced statistic (median by default) of the current runs, divided by the baseline
  (exact for the median, 2,000 seeded resamples for the other methods);
- baseline is a sample (its entry carries the per-run ``values`` it was reduced from,
  or the caller passes ``baseline_samples``): Hodges-Lehmann with the Mann-Whitney
  interval, distribution-free, on log values.

Either way the interval is then widened by the between-day drift of the machine
(:mod:`benchgate.judge.drift`): the baseline was measured on another day, and two tight
samples can differ by a drift that no sample shows. Counted measurements (instructions,
cycles, bytes) are not widened: they do not drift.

Fewer than :data:`MIN_CI_RUNS` current runs give no interval (and so never "unsure").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from benchgate.judge.compare import judge
from benchgate.judge.drift import DEFAULT_DRIFT_PCT, Drift, drifts, widen
from benchgate.judge.stats import (
    CI_LEVEL,
    bootstrap_ratio_interval,
    hodges_lehmann_ratio,
    mann_whitney_ratio_interval,
    reduce_values,
)
from benchgate.model import (
    Baseline,
    Comparison,
    Interval,
    ReducedMetric,
    ReducedSet,
    RunRecord,
    Status,
    Verdict,
)

# Below this many runs an interval says nothing useful (a bootstrap of 2 values is a coin).
MIN_CI_RUNS = 3

# Verdicts that compare a current value with a baseline, and so can have an interval.
JUDGED = {Status.PASS, Status.IMPROVED, Status.WARN, Status.FAIL}

# Marker a confirmation run carries in RunRecord.command: the keys it was made to confirm.
CONFIRM_KEY = "confirm_for"


def is_unsure(
    status: Status,
    interval: Interval,
    higher_is_better: bool,
    degradation_pct_max: float,
    variance_pct_warn: float,
) -> bool:
    """True when ratios inside ``interval`` would get a verdict other than ``status``.

    The verdict regions are contiguous ranges of the ratio, so it is enough to judge the
    two ends (a ratio exactly on a threshold gets the milder verdict, as in gates.md).
    """
    for end in (interval.low, interval.high):
        if judge(1.0, end, higher_is_better, degradation_pct_max, variance_pct_warn) is not status:
            return True
    return False


def baseline_values(b: Baseline) -> list[float] | None:
    """The per-run values a baselines.json entry was reduced from, if it records them.

    An entry may carry ``"values": [..]`` (numbers): then the baseline is a sample and the
    interval uses Hodges-Lehmann / Mann-Whitney. Anything else there is ignored.
    """
    raw = b.raw.get("values")
    if not isinstance(raw, list) or len(raw) < MIN_CI_RUNS:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in raw):
        return None
    return [float(v) for v in raw]


def metric_interval(
    m: ReducedMetric,
    baseline: float,
    samples: Sequence[float] | None = None,
    level: float = CI_LEVEL,
    drift_pct: float = 0.0,
) -> Interval | None:
    """The interval of current/baseline for one metric, or None with too few runs.

    ``drift_pct`` > 0 widens it by the between-day drift (:func:`benchgate.judge.drift.widen`)
    around the estimate that goes with the interval (Hodges-Lehmann for a sample baseline,
    stat(current) / baseline for one number); never for a metric whose unit does not drift.
    """
    if len(m.values) < MIN_CI_RUNS:
        return None
    try:
        if samples is not None and len(samples) >= MIN_CI_RUNS:
            interval = mann_whitney_ratio_interval(m.values, samples, level)
            centre = hodges_lehmann_ratio(m.values, samples)
        else:
            interval = bootstrap_ratio_interval(m.values, baseline, level, method=m.method)
            centre = reduce_values(m.values, m.method) / baseline
    except (ValueError, ZeroDivisionError):
        # Non-positive values (a log ratio is undefined) or a zero baseline: no interval.
        return None
    if drift_pct > 0 and drifts(m.unit):
        interval = widen(interval, centre, drift_pct)
    return interval


def annotate_verdict(
    v: Verdict,
    m: ReducedMetric,
    samples: Sequence[float] | None = None,
    level: float = CI_LEVEL,
    drift_pct: float = 0.0,
) -> None:
    """Set ``v.interval`` and ``v.unsure`` for one judged verdict (no-op otherwise)."""
    if (
        v.status not in JUDGED
        or v.baseline is None
        or v.current is None
        or v.degradation_pct_max is None
        or v.variance_pct_warn is None
    ):
        return
    interval = metric_interval(m, v.baseline, samples, level, drift_pct)
    v.interval = interval
    if interval is None:
        v.unsure = False
        return
    hib = v.higher_is_better if v.higher_is_better is not None else m.higher_is_better
    v.unsure = is_unsure(v.status, interval, hib, v.degradation_pct_max, v.variance_pct_warn)


def confirmed_counts(runs: Mapping[str, list[RunRecord]]) -> dict[str, int]:
    """Per metric key, how many confirmation runs (``--confirm``) were made for it."""
    out: dict[str, int] = {}
    for records in runs.values():
        for r in records:
            keys = r.command.get(CONFIRM_KEY)
            if isinstance(keys, list):
                for k in keys:
                    out[str(k)] = out.get(str(k), 0) + 1
    return out


def annotate(
    comparison: Comparison,
    reduced: ReducedSet,
    baselines: Mapping[str, Baseline] | None = None,
    runs: Mapping[str, list[RunRecord]] | None = None,
    baseline_samples: Mapping[str, Sequence[float]] | None = None,
    level: float = CI_LEVEL,
    drift_pct: float = DEFAULT_DRIFT_PCT,
    drift_by_key: Mapping[str, Drift] | None = None,
) -> None:
    """Give each judged verdict its interval and unsure label, in place.

    ``baselines`` lets an entry's recorded per-run ``values`` serve as a sample baseline;
    ``baseline_samples`` (key -> values) does the same explicitly and wins. ``runs`` (the
    out-dir's) lets earlier ``--confirm`` runs be counted into ``confirmed_runs``.
    Each interval is widened by the between-day drift: ``drift_by_key`` (estimated from
    the results store) where it has the key, else ``drift_pct`` (the configured default;
    0 for none), and a note among the comparison's warnings says which.
    A verdict resting on fewer than ``MIN_CI_RUNS`` runs gets no interval, and a note
    among the comparison's warnings says so.
    """
    few: list[str] = []
    widened: dict[str, int] = {}
    for v in comparison.verdicts:
        m = reduced.metrics.get(v.key)
        if m is None or v.status not in JUDGED:
            continue
        samples: Sequence[float] | None = None
        if baseline_samples is not None and v.key in baseline_samples:
            samples = baseline_samples[v.key]
        elif baselines is not None and v.key in baselines:
            samples = baseline_values(baselines[v.key])
        drift = drift_by_key.get(v.key) if drift_by_key else None
        pct = drift.pct if drift is not None else drift_pct
        annotate_verdict(v, m, samples, level, pct)
        if v.interval is not None and pct > 0 and drifts(m.unit):
            source = "store" if drift is not None else "config"
            widened[source] = widened.get(source, 0) + 1
        if len(m.values) < MIN_CI_RUNS:
            few.append(v.key)
    if runs is not None:
        counts = confirmed_counts(runs)
        for v in comparison.verdicts:
            v.confirmed_runs = max(v.confirmed_runs, counts.get(v.key, 0))
    notes: list[str] = []
    if few:
        notes.append(
            f"No confidence interval for {len(few)} metrics with fewer than {MIN_CI_RUNS} runs"
        )
    if widened.get("config"):
        notes.append(
            f"Intervals of {widened['config']} metrics include a between-day drift of "
            f"±{drift_pct * 100:.3g}% (drift_pct): the baseline was measured on another day"
        )
    if widened.get("store"):
        notes.append(
            f"Intervals of {widened['store']} metrics include the between-day drift estimated "
            "from the results store's history"
        )
    for note in notes:
        if note not in comparison.warnings:
            comparison.warnings.append(note)
