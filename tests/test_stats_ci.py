"""Interval arithmetic on synthetic samples with known answers, and the "unsure" label."""

from __future__ import annotations

import bisect
import itertools
import math
import random
import statistics

import pytest

from benchgate.judge.compare import compare
from benchgate.judge.confidence import MIN_CI_RUNS, annotate, is_unsure
from benchgate.judge.stats import (
    BOOTSTRAP_SEED,
    bootstrap_median_cdf,
    bootstrap_ratio_interval,
    clear_interval_cache,
    coefficient_of_variation,
    hodges_lehmann_ratio,
    mann_whitney_null_counts,
    mann_whitney_rank,
    mann_whitney_ratio_interval,
    mean_stdev,
    paired_median_ratio,
    paired_ratio_interval,
    quantile,
    reduce_values,
    sign_test_rank,
    spread_of,
)
from benchgate.model import (
    Baseline,
    BenchSummary,
    Interval,
    ReducedMetric,
    ReducedSet,
    RunStatus,
    Status,
)

P, IMP, W, F = Status.PASS, Status.IMPROVED, Status.WARN, Status.FAIL

# --- bootstrap -----------------------------------------------------------------------


def test_bootstrap_identical_samples_contains_one_and_is_narrow() -> None:
    runs = [100.0, 100.4, 99.7, 100.1, 99.9, 100.2, 99.8, 100.0, 100.3]
    ci = bootstrap_ratio_interval(runs, 100.0)
    assert ci.low <= 1.0 <= ci.high
    assert ci.high - ci.low < 0.01
    assert ci.level == 0.95 and ci.method == "bootstrap-median"


def test_bootstrap_constant_runs_give_a_point() -> None:
    ci = bootstrap_ratio_interval([50.0] * 7, 100.0)
    assert ci.low == ci.high == 0.5


def test_bootstrap_shifted_sample_excludes_one() -> None:
    runs = [80.0, 81.0, 79.5, 80.5, 80.2, 79.8, 80.1]
    ci = bootstrap_ratio_interval(runs, 100.0)
    assert ci.high < 1.0
    assert ci.low <= 0.80 <= ci.high


def test_bootstrap_of_five_runs_is_their_range() -> None:
    # The bootstrap median of 5 values falls on the minimum with probability 5.8%, so
    # both 2.5% tails sit on an extreme value: the interval is [min, max] / baseline.
    ci = bootstrap_ratio_interval([90.0, 95.0, 100.0, 104.0, 110.0], 100.0)
    assert ci.low == pytest.approx(0.90)
    assert ci.high == pytest.approx(1.10)


def test_bootstrap_is_deterministic_with_its_seed() -> None:
    runs = [97.0, 103.0, 99.0, 101.5, 100.0, 98.2, 102.2, 96.4]
    a = bootstrap_ratio_interval(runs, 100.0, method="mean")
    b = bootstrap_ratio_interval(list(runs), 100.0, method="mean")
    assert a == b
    other = [bootstrap_ratio_interval(runs, 100.0, seed=s, method="mean") for s in range(1, 6)]
    assert any(o != a for o in other)  # the seed is what makes it repeatable


def test_bootstrap_median_is_exact_whatever_the_seed_and_resamples() -> None:
    runs = [97.0, 103.0, 99.0, 101.5, 100.0, 98.2, 102.2, 96.4]
    a = bootstrap_ratio_interval(runs, 100.0)
    others = [bootstrap_ratio_interval(runs, 100.0, seed=s, resamples=50) for s in range(1, 6)]
    assert all(o == a for o in others)


def test_bootstrap_with_a_sample_baseline_and_other_methods() -> None:
    cur = [80.0, 82.0, 79.0, 81.0, 80.5]
    base = [100.0, 101.0, 99.0, 100.5, 99.5]
    ci = bootstrap_ratio_interval(cur, base, method="mean")
    assert ci.method == "bootstrap-mean"
    assert 0.77 < ci.low < 0.80 < ci.high < 0.83


def _reference_bootstrap(
    current: list[float], baseline: float, method: str, resamples: int
) -> tuple[float, float]:
    """The plain algorithm the fast one must reproduce draw for draw: choices, reduce, sort."""
    rng = random.Random(BOOTSTRAP_SEED)
    ratios = sorted(
        reduce_values(rng.choices(current, k=len(current)), method) / baseline
        for _ in range(resamples)
    )
    alpha = 1 - 0.95  # as the function computes it (not quite 0.05 in floats)
    return quantile(ratios, alpha / 2), quantile(ratios, 1 - alpha / 2)


# The median against a fixed baseline is exact (tested below); the others resample. What
# must hold is what a percentile bootstrap is, not the order its draws come in.
@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 21])
@pytest.mark.parametrize("method", ["mean", "trimmed-mean", "min", "max"])
def test_bootstrap_interval_properties(n: int, method: str) -> None:
    rng = random.Random(n)
    runs = [rng.lognormvariate(0, 0.1) * 100 for _ in range(n)]
    clear_interval_cache()
    ci = bootstrap_ratio_interval(runs, 97.0, method=method, resamples=400)
    point = reduce_values(runs, method) / 97.0
    # Every resample's statistic lies between the smallest and largest run.
    assert min(runs) / 97.0 <= ci.low <= ci.high <= max(runs) / 97.0
    if n == 1:
        assert ci.low == ci.high == point
    # The same data always give the same interval; units do not matter.
    clear_interval_cache()
    assert bootstrap_ratio_interval(runs, 97.0, method=method, resamples=400) == ci
    scaled = bootstrap_ratio_interval(
        [v * 1000 for v in runs], 97000.0, method=method, resamples=400
    )
    assert (scaled.low, scaled.high) == pytest.approx((ci.low, ci.high), rel=1e-12)


def test_bootstrap_mean_interval_matches_the_normal_approximation() -> None:
    """For the mean of 40 runs the percentile interval is close to mean ± 1.96 s/sqrt(n)."""
    rng = random.Random(7)
    runs = [rng.gauss(100.0, 5.0) for _ in range(40)]
    ci = bootstrap_ratio_interval(runs, 100.0, method="mean", resamples=4000)
    mean = statistics.fmean(runs)
    half = 1.96 * statistics.pstdev(runs) / math.sqrt(len(runs)) / 100.0
    assert ci.low == pytest.approx(mean / 100.0 - half, abs=0.15 * half)
    assert ci.high == pytest.approx(mean / 100.0 + half, abs=0.15 * half)


def test_bootstrap_interval_narrows_with_more_runs() -> None:
    rng = random.Random(3)
    many = [rng.gauss(100.0, 5.0) for _ in range(80)]
    wide = bootstrap_ratio_interval(many[:8], 100.0, method="mean", resamples=2000)
    narrow = bootstrap_ratio_interval(many, 100.0, method="mean", resamples=2000)
    assert narrow.high - narrow.low < (wide.high - wide.low) * 0.6


# Small samples with ties, odd and even n: every way two middle order statistics can meet.
SMALL_SAMPLES = [
    [5.0],
    [3.0, 1.0],
    [1.0, 2.0, 3.0],
    [1.0, 1.0, 2.0, 5.0],
    [3.0, 3.0, 3.0, 1.0, 2.0],
    [5.0, 1.0, 2.0, 2.0, 9.0, 9.0],
    [2.0, 2.0, 2.0, 2.0],
    [4.0, 1.0, 3.0, 2.0],  # 1 + 4 = 2 + 3: equal midpoints of two pairs are one value
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
    [8.0, 1.0, 7.0, 2.0, 6.0, 3.0, 5.0, 4.0, 4.0, 9.0],
]


def _enumerated_median_cdf(xs: list[float]) -> dict[float, float]:
    """P(median <= v) over all n**n equally likely resamples, by brute force."""
    n = len(xs)
    meds = sorted(statistics.median(d) for d in itertools.product(xs, repeat=n))
    return {v: sum(1 for m in meds if m <= v) / len(meds) for v in set(meds)}


@pytest.mark.parametrize("xs", [s for s in SMALL_SAMPLES if len(s) <= 6])
def test_exact_median_distribution_matches_enumeration(xs: list[float]) -> None:
    support, cdf = bootstrap_median_cdf(xs)
    expected = _enumerated_median_cdf(xs)
    assert support == sorted(expected)  # exactly the values a resample median can take
    assert cdf == pytest.approx([expected[v] for v in support], abs=1e-12)
    assert cdf[-1] == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("xs", [s for s in SMALL_SAMPLES if len(set(s)) >= 3])
def test_exact_median_distribution_matches_a_large_resampling(xs: list[float]) -> None:
    resamples = 200_000
    rng = random.Random(BOOTSTRAP_SEED)
    meds = sorted(statistics.median(rng.choices(xs, k=len(xs))) for _ in range(resamples))
    support, cdf = bootstrap_median_cdf(xs)
    assert set(meds) <= set(support)
    for v, c in zip(support, cdf, strict=True):
        seen = bisect.bisect_right(meds, v) / resamples
        # Five standard errors of an empirical CDF of 200,000 draws (at most 0.0056).
        assert abs(seen - c) <= 5 * math.sqrt(c * (1 - c) / resamples) + 1e-12, v


def test_exact_median_interval_agrees_with_the_old_resampling() -> None:
    """The ends of the 2,000-draw Monte Carlo differ only where its sampling error reaches.

    Its quantile of 2,000 ratios has a CDF level within about +-0.0035 (one standard
    error) of the one asked, so its end lies between the exact quantiles at q -+ 4 SE;
    and most often (a sample value, or a midpoint for even n) it is the very same.
    """
    rng = random.Random(11)
    se = math.sqrt(0.025 * 0.975 / 2000)
    same = total = 0
    for trial in range(120):
        n = (5, 6, 7, 9, 10, 20, 21)[trial % 7]
        runs = [rng.lognormvariate(0, 0.05) * 100 for _ in range(n)]
        ci = bootstrap_ratio_interval(runs, 97.0)
        old = _reference_bootstrap(runs, 97.0, "median", 2000)
        support, cdf = bootstrap_median_cdf(runs)

        def exact_quantile(
            q: float, support: list[float] = support, cdf: list[float] = cdf
        ) -> float:
            return (
                next((s for s, c in zip(support, cdf, strict=True) if c >= q), support[-1]) / 97.0
            )

        assert ci.low == exact_quantile(0.025)
        assert ci.high == exact_quantile(0.975)
        for q, end in ((0.025, old[0]), (0.975, old[1])):
            assert exact_quantile(q - 4 * se) <= end <= exact_quantile(q + 4 * se)
        same += (ci.low, ci.high) == old
        total += 1
    assert same >= 0.75 * total, same


def test_exact_median_interval_with_a_negative_baseline_mirrors_the_positive() -> None:
    runs = [97.0, 103.0, 99.0, 101.5, 100.0, 98.2, 102.2, 96.4, 100.9]
    pos = bootstrap_ratio_interval(runs, 100.0)
    neg = bootstrap_ratio_interval(runs, -100.0)
    assert (neg.low, neg.high) == (-pos.high, -pos.low)
    assert pos.low < pos.high


def test_bootstrap_remembers_but_hands_out_fresh_intervals() -> None:
    runs = [97.0, 103.0, 99.0, 101.5, 100.0]
    a = bootstrap_ratio_interval(runs, 100.0)
    a.low = 0.0  # a caller editing its interval must not change the next caller's
    b = bootstrap_ratio_interval(runs, 100.0)
    assert b.low > 0.9 and b is not a


def test_mean_stdev_agrees_with_exact_statistics() -> None:
    rng = random.Random(7)
    for n in (2, 3, 5, 20, 101):
        xs = [rng.gauss(1e6, 3e3) for _ in range(n)]
        mean, sd = mean_stdev(xs)
        assert mean == pytest.approx(statistics.fmean(xs), rel=1e-15)
        assert sd == pytest.approx(statistics.stdev(xs), rel=1e-12)
        assert coefficient_of_variation(xs) == pytest.approx(sd / mean, rel=1e-15)
    assert mean_stdev([0.1] * 3) == (pytest.approx(0.1), 0.0)  # exactly 0, not an ulp
    assert mean_stdev([4.0]) == (4.0, 0.0)
    with pytest.raises(ValueError):
        mean_stdev([])


# --- Hodges-Lehmann and Mann-Whitney -----------------------------------------------------


def test_hodges_lehmann_on_known_data() -> None:
    assert hodges_lehmann_ratio([2.0, 4.0, 6.0], [1.0, 2.0, 3.0]) == pytest.approx(2.0)
    base = [97.0, 100.0, 104.0, 99.0, 101.0]
    # Every value 10% higher: the median pairwise log difference is exactly log(1.1).
    assert hodges_lehmann_ratio([b * 1.1 for b in base], base) == pytest.approx(1.1)


def _brute_counts(m: int, n: int) -> list[int]:
    counts = [0] * (m * n + 1)
    for xs in itertools.combinations(range(m + n), m):
        chosen = set(xs)
        u = ys = 0
        for i in range(m + n):
            if i in chosen:
                u += ys
            else:
                ys += 1
        counts[u] += 1
    return counts


@pytest.mark.parametrize("m, n", [(1, 1), (2, 3), (3, 3), (4, 5), (5, 5), (3, 7)])
def test_mann_whitney_null_distribution_matches_enumeration(m: int, n: int) -> None:
    assert mann_whitney_null_counts(m, n) == _brute_counts(m, n)


@pytest.mark.parametrize(
    "m, n, k",
    # Published two-sided 5% critical values U_crit: k = U_crit + 1.
    [(5, 5, 3), (6, 6, 6), (8, 8, 14), (10, 10, 24), (20, 20, 128)],
)
def test_mann_whitney_rank_matches_tables(m: int, n: int, k: int) -> None:
    got, level = mann_whitney_rank(m, n)
    assert got == k
    assert level >= 0.95


def test_mann_whitney_normal_approximation_is_close_to_exact() -> None:
    m, n = 51, 50  # just past the exact limit
    counts = mann_whitney_null_counts(m, n)
    total = math.comb(m + n, m)
    cum, exact_k = 0, 0
    for u, c in enumerate(counts):
        if (cum + c) / total > 0.025:
            break
        cum += c
        exact_k = u + 1
    approx_k, level = mann_whitney_rank(m, n)
    assert abs(approx_k - exact_k) <= 2
    assert 0.94 < level < 0.96


def test_mann_whitney_tiny_samples_report_the_level_they_reach() -> None:
    k, level = mann_whitney_rank(3, 3)
    assert k == 1 and level == pytest.approx(0.9)  # 1 - 2/20: no 95% interval exists


def test_mann_whitney_interval_identical_and_shifted() -> None:
    base = [100.0, 102.0, 98.0, 101.0, 99.0, 100.5, 99.5, 100.2]
    same = mann_whitney_ratio_interval(list(base), base)
    assert same.low < 1.0 < same.high
    assert same.level >= 0.95 and same.method == "hodges-lehmann/mann-whitney"
    slower = mann_whitney_ratio_interval([b * 0.8 for b in base], base)
    assert slower.high < 1.0
    assert slower.low <= 0.8 <= slower.high


def test_log_based_intervals_refuse_non_positive_values() -> None:
    with pytest.raises(ValueError):
        mann_whitney_ratio_interval([1.0, 0.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        paired_ratio_interval([1.0, 2.0], [1.0])


# --- paired ----------------------------------------------------------------------------


@pytest.mark.parametrize("n, k", [(6, 1), (10, 2), (20, 6), (50, 18)])
def test_sign_test_rank_matches_binomial_tables(n: int, k: int) -> None:
    got, level = sign_test_rank(n)
    assert got == k and level >= 0.95


def test_sign_test_rank_too_few_pairs_reports_lower_level() -> None:
    assert sign_test_rank(5) == (1, pytest.approx(1 - 2 / 32))


def test_paired_interval_cancels_drift() -> None:
    # The host drifts by +-30% between rounds; within a pair head is 10% slower.
    drift = [1.0, 1.3, 0.8, 1.25, 0.7, 1.1, 0.9]
    wobble = [1.0, 1.005, 0.996, 1.002, 0.998, 1.001, 0.999]
    base = [1000.0 * d for d in drift]
    head = [1000.0 * d * 0.9 * w for d, w in zip(drift, wobble, strict=True)]
    assert paired_median_ratio(base, head) == pytest.approx(0.9, rel=0.003)
    ci = paired_ratio_interval(base, head)
    assert 0.89 < ci.low <= 0.9 <= ci.high < 0.91
    assert ci.method == "paired-sign-test" and ci.level >= 0.95
    # The same numbers as two independent samples say far less.
    loose = mann_whitney_ratio_interval(head, base)
    assert loose.high - loose.low > 10 * (ci.high - ci.low)


def test_paired_exact_ratio_is_a_point() -> None:
    base = [10.0, 12.0, 9.0, 11.0, 10.5, 9.5]
    ci = paired_ratio_interval(base, [b * 0.5 for b in base])
    assert ci.low == pytest.approx(0.5) and ci.high == pytest.approx(0.5)


# --- unsure ------------------------------------------------------------------------------


def _iv(low: float, high: float) -> Interval:
    return Interval(low, high, 0.95, "test")


@pytest.mark.parametrize(
    "status, low, high, unsure",
    [
        (F, 0.70, 0.84, False),
        (F, 0.70, 0.85, True),  # 0.85 exactly is WARN (the milder verdict on a threshold)
        (F, 0.70, 0.90, True),
        (W, 0.86, 0.94, False),
        (W, 0.84, 0.90, True),  # reaches FAIL
        (W, 0.90, 0.96, True),  # reaches PASS
        (P, 0.95, 1.05, False),  # both ends exactly on thresholds: still PASS
        (P, 0.94, 1.00, True),  # reaches WARN
        (P, 1.00, 1.06, True),  # reaches IMPROVED
        (IMP, 1.06, 1.20, False),
        (IMP, 1.04, 1.20, True),
    ],
)
def test_unsure_higher_is_better(status: Status, low: float, high: float, unsure: bool) -> None:
    assert is_unsure(status, _iv(low, high), True, 0.15, 0.05) is unsure


@pytest.mark.parametrize(
    "status, low, high, unsure",
    [
        (F, 1.16, 1.40, False),
        (F, 1.15, 1.40, True),  # 1.15 exactly is WARN
        (F, 1.10, 1.40, True),
        (W, 1.06, 1.14, False),
        (W, 1.10, 1.20, True),  # reaches FAIL
        (W, 1.00, 1.10, True),  # reaches PASS
        (P, 0.95, 1.05, False),
        (P, 1.00, 1.06, True),  # reaches WARN (slower is worse)
        (P, 0.94, 1.00, True),  # reaches IMPROVED
        (IMP, 0.80, 0.94, False),
        (IMP, 0.80, 0.96, True),
    ],
)
def test_unsure_lower_is_better(status: Status, low: float, high: float, unsure: bool) -> None:
    assert is_unsure(status, _iv(low, high), False, 0.15, 0.05) is unsure


# --- annotate ----------------------------------------------------------------------------


def _metric(
    key: str, values: list[float], unit: str = "ops/sec", hib: bool = True
) -> ReducedMetric:
    import statistics

    bench, name = key.split(".", 1)
    return ReducedMetric(
        key=key,
        bench=bench,
        metric=name,
        value=float(statistics.median(values)),
        unit=unit,
        higher_is_better=hib,
        method="median",
        spread=spread_of(values),
        values=values,
        run_ids=[f"r{i}" for i in range(len(values))],
    )


def _baseline(key: str, value: float, unit: str = "ops/sec", **raw: object) -> Baseline:
    return Baseline(key, value, unit, 0.15, 0.05, None, None, {"value": value, "unit": unit, **raw})


def _reduced(*metrics: ReducedMetric) -> ReducedSet:
    benches = {
        m.bench: BenchSummary(m.bench, RunStatus.OK, m.spread.n, m.spread.n) for m in metrics
    }
    return ReducedSet("median", {m.key: m for m in metrics}, benches, [])


def test_annotate_sets_intervals_and_never_changes_verdicts() -> None:
    reduced = _reduced(
        _metric("a.ops", [80.0, 80.5, 79.5, 80.2, 79.8]),  # a sure FAIL
        _metric("b.ops", [70.0, 84.0, 95.0, 84.5, 100.0]),  # FAIL by its median, unsure
        _metric("c.ops", [99.0, 100.0, 101.0, 100.5, 99.5]),  # a sure PASS
        _metric("d.lat", [1.30, 1.31, 1.29, 1.30, 1.32], unit="s", hib=False),  # sure FAIL
        _metric("e.ops", [50.0, 100.0]),  # too few runs
        _metric("f.ops", [10.0, 11.0, 12.0]),  # NEW: no baseline
    )
    baselines = {
        k: _baseline(k, v, u)
        for k, v, u in [
            ("a.ops", 100.0, "ops/sec"),
            ("b.ops", 100.0, "ops/sec"),
            ("c.ops", 100.0, "ops/sec"),
            ("d.lat", 1.0, "s"),
            ("e.ops", 100.0, "ops/sec"),
        ]
    }
    comparison = compare(reduced, baselines)
    before = {v.key: v.status for v in comparison.verdicts}
    annotate(comparison, reduced, baselines, drift_pct=0)
    after = {v.key: v for v in comparison.verdicts}
    assert {k: v.status for k, v in after.items()} == before
    assert after["a.ops"].status is F and not after["a.ops"].unsure
    assert after["b.ops"].status is F and after["b.ops"].unsure
    assert after["c.ops"].status is P and not after["c.ops"].unsure
    assert after["d.lat"].status is F and not after["d.lat"].unsure
    iv = after["d.lat"].interval
    assert iv is not None and iv.low > 1.15
    assert after["e.ops"].interval is None and not after["e.ops"].unsure
    assert after["f.ops"].interval is None
    assert any(f"fewer than {MIN_CI_RUNS} runs" in w for w in comparison.warnings)


def test_annotate_uses_hodges_lehmann_for_a_sample_baseline() -> None:
    reduced = _reduced(_metric("a.ops", [90.0, 91.0, 89.0, 90.5, 89.5]))
    base = _baseline("a.ops", 100.0, values=[100.0, 101.0, 99.0, 100.5, 99.5])
    comparison = compare(reduced, {"a.ops": base})
    annotate(comparison, reduced, {"a.ops": base}, drift_pct=0)
    v = comparison.verdicts[0]
    assert v.status is W
    assert v.interval is not None and v.interval.method == "hodges-lehmann/mann-whitney"
    assert v.interval.low <= 0.9 <= v.interval.high < 0.95
    # Explicit samples win over the entry's.
    annotate(
        comparison, reduced, {"a.ops": base}, baseline_samples={"a.ops": [90.0] * 5}, drift_pct=0
    )
    assert comparison.verdicts[0].interval is not None
    assert comparison.verdicts[0].interval.low <= 1.0 <= comparison.verdicts[0].interval.high
