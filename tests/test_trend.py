"""Change points (E-Divisive means with a t-test), creep and the trend renderers."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import random
import re
from datetime import datetime, timedelta, timezone

import pytest

from benchgate.store.series import Point, Series
from benchgate.trend.analyze import (
    TrendOptions,
    TrendStatus,
    analyze,
    creep,
    is_date,
    parse_time,
    since,
)
from benchgate.trend.changepoint import _any_significant, _Sums, betainc, detect, t_pvalue
from benchgate.trend.render import (
    STATUS_HEAD,
    render_csv,
    render_json,
    render_markdown,
    render_text,
)


def noise(n: int, seed: int, level: float = 1000.0, cv: float = 0.02) -> list[float]:
    rng = random.Random(seed)
    return [level * rng.gauss(1.0, cv) for _ in range(n)]


def steps(levels: list[tuple[int, float]], seed: int, cv: float = 0.01) -> list[float]:
    """``[(points, level), ...]`` with gaussian noise of ``cv`` around each level."""
    rng = random.Random(seed)
    return [lvl * rng.gauss(1.0, cv) for n, lvl in levels for _ in range(n)]


def make_series(
    values: list[float], key: str = "b.m", higher_is_better: bool = True, **kw: object
) -> Series:
    pts = tuple(
        Point(
            commit=hashlib.sha1(str(i).encode()).hexdigest(),
            time=(datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(hours=i)).isoformat(),
            value=v,
            n=5,
            lo=v * 0.99,
            hi=v * 1.01,
            stdev=v * 0.005,
            baseline=1000.0,
        )
        for i, v in enumerate(values)
    )
    return Series(key=key, unit="ops/sec", higher_is_better=higher_is_better, points=pts, **kw)  # type: ignore[arg-type]


# --- the t distribution -------------------------------------------------------------------


def test_t_pvalue_closed_forms() -> None:
    # df=1 is the Cauchy distribution, df=2 has a closed form too.
    for t in (0.1, 0.5, 1.0, 3.0, 30.0):
        assert t_pvalue(t, 1) == pytest.approx(1 - 2 / math.pi * math.atan(t), rel=1e-10)
        assert t_pvalue(-t, 2) == pytest.approx(1 - t / math.sqrt(2 + t * t), rel=1e-10)
    # Tabulated two-sided 5% and 1% critical values.
    assert t_pvalue(2.228138851986, 10) == pytest.approx(0.05, rel=1e-9)
    assert t_pvalue(2.763262455461, 28) == pytest.approx(0.01, rel=1e-9)
    assert t_pvalue(0.0, 5) == 1.0
    assert t_pvalue(math.inf, 5) == 0.0
    assert t_pvalue(3.0, 0) == 1.0


def test_betainc_symmetry_and_range() -> None:
    rng = random.Random(0)
    for _ in range(300):
        a, b, x = rng.uniform(0.05, 50), rng.uniform(0.05, 50), rng.uniform(1e-9, 1 - 1e-9)
        v = betainc(a, b, x)
        assert 0.0 <= v <= 1.0
        assert v + betainc(b, a, 1 - x) == pytest.approx(1.0, abs=1e-9)


# --- the detector ---------------------------------------------------------------------------


def test_finds_known_steps_at_the_right_place() -> None:
    for seed in range(10):
        x = steps([(60, 1000.0), (50, 880.0), (70, 950.0)], seed)
        found = detect(x)
        assert [s.index for s in found] == [60, 110], seed
        assert found[0].rel_change == pytest.approx(-0.12, abs=0.01)
        assert found[1].rel_change == pytest.approx(950 / 880 - 1, abs=0.01)
        assert all(s.pvalue < 1e-10 for s in found)


def test_step_near_the_end_is_found() -> None:
    # A regression 5 commits ago: few points after it, still a change point.
    x = steps([(95, 1000.0), (5, 850.0)], seed=3)
    assert [s.index for s in detect(x)] == [95]


def test_pure_noise_has_no_change_points() -> None:
    # At the default alpha noise series of typical history lengths give none.
    hits = [seed for seed in range(30) if detect(noise(200, seed))]
    assert hits == []


def test_constant_and_tiny_series() -> None:
    assert detect([5.0] * 100) == []
    assert detect([]) == [] and detect([1.0, 2.0]) == []
    jump = [5.0] * 40 + [7.0] * 40
    assert [s.index for s in detect(jump)] == [40]


def test_step_plus_trend() -> None:
    # A slow upward trend with a 15% drop in the middle: the drop is found where it is.
    rng = random.Random(7)
    x = [
        1000 * (1 + 0.0005 * i) * (0.85 if i >= 120 else 1.0) * rng.gauss(1, 0.01)
        for i in range(200)
    ]
    found = detect(x)
    drops = [s for s in found if s.rel_change < -0.1]
    assert [s.index for s in drops] == [120]


def test_deterministic_and_scale_free() -> None:
    x = steps([(40, 10.0), (40, 12.0), (40, 9.0)], seed=11, cv=0.03)
    a, b = detect(x), detect(x)
    assert a == b
    scaled = detect([v * 1e6 for v in x])
    assert [s.index for s in scaled] == [s.index for s in a]


def test_min_magnitude_drops_small_changes() -> None:
    x = steps([(80, 1000.0), (80, 1020.0)], seed=5, cv=0.002)
    assert [s.index for s in detect(x)] == [80]
    assert detect(x, min_magnitude=0.05) == []


def test_prescreen_never_hides_a_significant_split() -> None:
    # The O(n) pre-screen may only skip intervals where no split passes the t-test.
    rng = random.Random(3)
    for _ in range(300):
        n = rng.randrange(3, 60)
        x = [
            rng.choice([1.0, 1.5, 2.0]) + rng.gauss(0, rng.choice([0.0, 0.01, 0.5]))
            for _ in range(n)
        ]
        sums = _Sums(x)
        alpha = rng.choice([1e-4, 1e-3, 0.01, 0.2])
        a, b = sorted(rng.sample(range(n + 1), 2))
        exact = any(sums.split(a, tau, b).pvalue <= alpha for tau in range(a + 1, b))
        if exact:
            assert _any_significant(sums, a, b, alpha), (x, a, b, alpha)


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        detect([1.0] * 10, window=2)
    with pytest.raises(ValueError):
        detect([1.0] * 10, alpha=0)


def test_detect_on_arbitrary_values() -> None:
    # Random lengths, signs, scales, repeated values and outliers: valid output every time.
    rng = random.Random(42)
    for _ in range(150):
        n = rng.randrange(0, 130)
        pool = [rng.uniform(-1e6, 1e6) for _ in range(rng.randrange(1, 6))]
        values = [rng.choice(pool) if rng.random() < 0.5 else rng.gauss(0, 10) for _ in range(n)]
        found = detect(values, window=rng.randrange(3, 60))
        idx = [s.index for s in found]
        assert idx == sorted(set(idx))
        assert all(0 < i < len(values) for i in idx)
        assert all(0.0 <= s.pvalue <= 1.0 for s in found)


# --- analysis: status, commit ranges, creep --------------------------------------------------


def test_regression_in_the_recent_commits_fails() -> None:
    s = make_series(steps([(90, 1000.0), (10, 880.0)], seed=1))
    t = analyze(s)
    assert t.status is TrendStatus.REGRESSION and t.status.fails
    (cp,) = t.change_points
    assert cp.index == 90 and cp.recent
    assert cp.commit == s.points[90].commit and cp.previous_commit == s.points[89].commit
    assert cp.worse == pytest.approx(0.12, abs=0.01) and cp.confidence > 0.9999


def test_lower_is_better_direction() -> None:
    # Latency going up is worse; going down is an improvement.
    up = analyze(make_series(steps([(90, 10.0), (10, 11.5)], seed=2), higher_is_better=False))
    assert up.status is TrendStatus.REGRESSION
    down = analyze(make_series(steps([(90, 10.0), (10, 8.5)], seed=2), higher_is_better=False))
    assert down.status is TrendStatus.IMPROVED and not down.status.fails


def test_old_regression_is_history_not_a_failure() -> None:
    s = make_series(steps([(40, 1000.0), (60, 880.0)], seed=4))
    t = analyze(s)
    assert [cp.index for cp in t.change_points] == [40]
    assert not t.change_points[0].recent
    assert t.status is TrendStatus.STABLE


def test_small_recent_change_within_warn_passes() -> None:
    # A -3% change point, inside variance_pct_warn (5%): reported, not failing.
    t = analyze(make_series(steps([(80, 1000.0), (20, 970.0)], seed=6, cv=0.002)))
    assert [cp.index for cp in t.change_points] == [80]
    assert t.status is TrendStatus.STABLE


def test_creep_five_small_steps() -> None:
    # Five pull requests at -4% each, each inside WARN: 18.5% worse over 20 commits.
    levels = [(62, 1000.0)] + [(4, 1000.0 * 0.96**k) for k in range(1, 5)] + [(2, 815.0)]
    s = make_series(steps(levels, seed=8, cv=0.004))
    t = analyze(s)
    # No single change point reaches FAIL (15%), yet the level is 15%+ worse than 20 ago.
    assert all(cp.worse < s.degradation_pct_max for cp in t.change_points)
    assert t.creep is not None and t.status.fails
    assert t.creep.last_commit == s.points[-1].commit
    assert t.creep.first_commit == s.points[-21].commit and t.creep.commits == 21
    assert t.creep.worse > 0.15


def test_creep_status_when_every_step_is_small() -> None:
    # Quiet enough that each -3.5% step is its own change point, each one inside WARN.
    levels = [(62, 1000.0)] + [(4, 1000.0 * 0.965**k) for k in range(1, 5)] + [(2, 837.0)]
    t = analyze(make_series(steps(levels, seed=8, cv=0.001)))
    assert [cp.index for cp in t.change_points] == [62, 66, 70, 74, 78]
    assert t.status is TrendStatus.CREEP
    assert t.creep is not None and t.creep.worse == pytest.approx(0.163, abs=0.01)
    text = render_text([t], TrendOptions())
    assert "Creep over the newest 20 commits" in text and "-16." in text


def test_creep_linear_drift_without_change_points() -> None:
    # 1.2% worse per commit for 20 commits, noisy enough that no single step is detected.
    rng = random.Random(9)
    x = [1000 * rng.gauss(1, 0.01) for _ in range(60)]
    x += [1000 * (1 - 0.012 * i) * rng.gauss(1, 0.01) for i in range(1, 21)]
    t = analyze(make_series(x))
    assert t.creep is not None and t.creep.worse > 0.15 and t.status.fails


def test_no_creep_when_one_change_explains_it() -> None:
    s = make_series(steps([(85, 1000.0), (15, 800.0)], seed=10))
    t = analyze(s)
    assert t.creep is None
    assert t.status is TrendStatus.REGRESSION
    assert creep(s, [], 20) is not None  # without the change point it would look like creep


def test_no_creep_in_noise_or_short_series() -> None:
    assert analyze(make_series(noise(100, 12))).creep is None
    assert analyze(make_series([1.0, 2.0])).status is TrendStatus.SHORT
    assert creep(make_series([1000.0, 990, 980, 700, 600]), [], 20) is None  # < 6 points
    assert creep(make_series([1000.0] * 10 + [600.0] * 5), [], 5) is None  # span < 6


def test_recent_window_is_configurable() -> None:
    s = make_series(steps([(60, 1000.0), (40, 880.0)], seed=1))
    assert analyze(s).status is TrendStatus.STABLE
    assert analyze(s, TrendOptions(recent=50)).status is TrendStatus.REGRESSION


def test_since_by_commit_and_time() -> None:
    s = make_series(noise(50, 1))
    assert len(since(s, commit=s.points[10].commit[:12]).points) == 40
    assert len(since(s, commit="f" * 40).points) == 50
    cut = parse_time(s.points[20].time)
    assert since(s, time=cut).points[0] == s.points[20]
    assert is_date("2026-01-31") and is_date("2026-01-31T10:00:00Z")
    assert not is_date("main") and not is_date("HEAD~3") and not is_date("abc123")


# --- renderers ------------------------------------------------------------------------------


def _trends() -> list:
    return [
        analyze(make_series(steps([(90, 1000.0), (10, 880.0)], seed=1), key="enc.ops")),
        analyze(make_series(noise(100, 3), key="dec|ops</script>")),
    ]


def test_render_text_markdown_json() -> None:
    trends, opts = _trends(), TrendOptions()
    text = render_text(trends, opts)
    assert text.startswith("benchgate trend: FAIL: 2 metrics, 1 REGRESSION")
    assert "enc.ops" in text and "-12." in text
    s = trends[0].series
    assert f"{s.points[89].commit[:12]}..{s.points[90].commit[:12]}" in text
    md = render_markdown(trends, opts)
    assert "| enc.ops | REGRESSION |" in md
    # A pipe in a key never splits a markdown row: the same number of cells as the header.
    evil = analyze(make_series(steps([(90, 1000.0), (10, 880.0)], seed=1), key="a|b`c"))
    row = next(ln for ln in render_markdown([evil], opts).splitlines() if ln.startswith("| a"))
    assert row.startswith("| a\\|b`c | REGRESSION |")
    assert len(re.split(r"(?<!\\)\|", row)) == len(STATUS_HEAD) + 2
    doc = json.loads(render_json(trends, opts))
    assert doc["ok"] is False
    cp = doc["metrics"][0]["change_points"][0]
    assert cp["index"] == 90 and cp["worse"] and cp["recent"] and cp["confidence"] > 0.999


def test_render_csv_is_otava_wide_table() -> None:
    trends = _trends()
    rows = list(csv.reader(io.StringIO(render_csv(trends))))
    assert rows[0] == ["time", "commit", "enc.ops", "dec|ops</script>"]
    assert len(rows) == 101
    assert float(rows[1][2]) == trends[0].series.points[0].value
