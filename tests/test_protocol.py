"""The bench contract: parsing both output forms, log noise, skips, errors."""

from __future__ import annotations

import pytest

from benchgate.run.protocol import infer_from_name, last_json_object, parse_output


def test_last_complete_object_wins_over_logs() -> None:
    out = 'starting {not json}\n{"metrics": {"a_per_s": 1}}\nlog {"x": 1} tail\n{"metrics": {"b_per_s": 2}}\nbye {'
    assert last_json_object(out) == {"metrics": {"b_per_s": 2}}


def test_pretty_printed_object_with_nested_objects() -> None:
    out = 'log\n{\n  "metrics": {\n    "x_MBps": {\n      "value": 5,\n      "unit": "MB/sec"\n    }\n  }\n}\n'
    parsed = parse_output(out)
    assert parsed.error is None
    assert parsed.metrics["x_MBps"].value == 5


def test_canonical_form() -> None:
    out = '{"metrics": {"encode_MBps": {"value": 520.4, "unit": "MB/sec", "higher_is_better": true, "samples": [519, 521]}}}'
    m = parse_output(out).metrics["encode_MBps"]
    assert (m.value, m.unit, m.higher_is_better, m.samples, m.inferred) == (
        520.4,
        "MB/sec",
        True,
        [519.0, 521.0],
        False,
    )


def test_canonical_direction_from_unit() -> None:
    out = (
        '{"metrics": {"p50": {"value": 3.2, "unit": "ms"}, "rate": {"value": 9, "unit": "req/s"}}}'
    )
    ms = parse_output(out).metrics
    assert ms["p50"].higher_is_better is False
    assert ms["rate"].higher_is_better is True


def test_in_the_wild_form() -> None:
    out = (
        '{"case": "mempool", "params": {"n": 1000}, '
        '"result": {"calls_per_s": 1.2e5, "median_s": 0.0029, "p90_s": 0.0035, "label": "x"}}'
    )
    parsed = parse_output(out)
    assert set(parsed.metrics) == {"calls_per_s", "median_s", "p90_s"}
    assert parsed.metrics["calls_per_s"].higher_is_better is True
    assert parsed.metrics["calls_per_s"].unit == "calls/sec"
    assert parsed.metrics["median_s"].higher_is_better is False
    assert parsed.metrics["median_s"].unit == "s"
    assert all(m.inferred for m in parsed.metrics.values())
    assert parsed.extra["case"] == "mempool"


@pytest.mark.parametrize(
    "name, unit, hib",
    [
        ("calls_per_s", "calls/sec", True),
        ("steps_per_sec", "steps/sec", True),
        ("encode_MBps", "MB/sec", True),
        ("qps", "qps", True),
        ("ops", "ops/sec", True),
        ("throughput", "units/sec", True),
        ("median_s", "s", False),
        ("p99_ms", "ms", False),
        ("x_us", "us", False),
        ("x_ns", "ns", False),
        ("latency", "s", False),
        ("time_total", "s", False),
    ],
)
def test_inference_rules(name: str, unit: str, hib: bool) -> None:
    got_unit, got_hib, known = infer_from_name(name)
    assert (got_unit, got_hib, known) == (unit, hib, True)


def test_unknown_name_is_flagged() -> None:
    assert infer_from_name("score") == ("units", True, False)


@pytest.mark.parametrize(
    "out, fragment",
    [
        ("no json here", "no JSON object"),
        ('{"hello": 1}', "no 'metrics', 'result' or 'skip'"),
        ('{"metrics": {"a": {"value": -1}}}', "positive finite"),
        ('{"metrics": {"a": {"value": "fast"}}}', "positive finite"),
        ('{"metrics": {"a": {"value": 1, "samples": "x"}}}', "samples"),
        ('{"metrics": []}', "'metrics' must be an object"),
        ('{"result": {"name": "x"}}', "no numeric metric"),
    ],
)
def test_bad_output_is_an_error(out: str, fragment: str) -> None:
    parsed = parse_output(out)
    assert parsed.error is not None and fragment in parsed.error


def test_skip_object() -> None:
    assert parse_output('{"skip": "needs a GPU"}').skip == "needs a GPU"
