"""Metric selection ([tool.benchgate.metrics]), per-metric judging, nested results,
informational metrics and near-miss names."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import given
from hypothesis import strategies as st
from tests.test_fuzz_parsers import FUZZ, bench_objects

from benchgate.baselines.file import parse_baselines_text
from benchgate.config import load_config
from benchgate.errors import BenchgateError
from benchgate.judge.compare import compare
from benchgate.judge.reduce import reduce_runs
from benchgate.model import Baseline, RunRecord, RunStatus, Status
from benchgate.render.fmt import num as fmt_num
from benchgate.render.report import render_text
from benchgate.run.protocol import MAX_INFO_CHARS, parse_output
from benchgate.selection import MetricRules, parse_metric_rules, rules_for
from benchgate.validate import name_problem


def _pyproject(project: Path, body: str) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "0"\n\n' + body.strip() + "\n"
    )


# --- classification -----------------------------------------------------------------------

RULES = MetricRules(
    include=("steps_*", "match.*", "elapsed_s"),
    exclude=("*_last_run",),
    rename={"steps_per_s": "steps_per_sec"},
    info=("elapsed_s", "final_*"),
)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("steps_per_s", ("metric", "steps_per_sec")),  # renamed
        ("steps_total", ("metric", "steps_total")),
        ("steps_last_run", ("dropped", "steps_last_run")),  # exclude beats include
        ("match.jobs_per_sec", ("metric", "match.jobs_per_sec")),  # dotted name
        ("elapsed_s", ("info", "elapsed_s")),  # info beats include
        ("final_theta", ("info", "final_theta")),  # info even when not included
        ("share_prob", ("dropped", "share_prob")),  # not included
    ],
)
def test_classify(name: str, expected: tuple[str, str]) -> None:
    assert RULES.classify(name) == expected


def test_patterns_match_the_renamed_name_too() -> None:
    rules = MetricRules(include=("steps_per_sec",), rename={"steps_per_s": "steps_per_sec"})
    assert rules.classify("steps_per_s") == ("metric", "steps_per_sec")


def test_rules_for_falls_back_to_star() -> None:
    rules = {"*": MetricRules(exclude=("x",)), "a": MetricRules(exclude=("y",))}
    assert rules_for(rules, "a").exclude == ("y",)
    assert rules_for(rules, "b").exclude == ("x",)
    assert rules_for({}, "b").empty


# --- strict config ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "toml, key, fragment",
    [
        ("[tool.benchgate]\nmetrics = 3", "tool.benchgate.metrics", "must be"),
        ("[tool.benchgate.metrics]\nsim = 1", "tool.benchgate.metrics.sim", "must be a table"),
        (
            "[tool.benchgate.metrics.sim]\ninclde = ['a']",
            "tool.benchgate.metrics.sim.inclde",
            "did you mean 'include'",
        ),
        (
            "[tool.benchgate.metrics.sim]\ninclude = 'a*'",
            "tool.benchgate.metrics.sim.include",
            "array of glob patterns",
        ),
        (
            "[tool.benchgate.metrics.sim]\ninfo = ['']",
            "tool.benchgate.metrics.sim.info",
            "item 1 must be a non-empty string",
        ),
        (
            "[tool.benchgate.metrics.sim]\nrename = ['a']",
            "tool.benchgate.metrics.sim.rename",
            "table of reported_name",
        ),
        (
            "[tool.benchgate.metrics.sim]\nrename = {a = 1}",
            "tool.benchgate.metrics.sim.rename.a",
            "must be a string",
        ),
        (
            "[tool.benchgate.metrics.sim]\nrename = {a = 'x', b = 'x'}",
            "tool.benchgate.metrics.sim.rename",
            "both renamed to 'x'",
        ),
        (
            "[tool.benchgate.metrics.sim]\nrename = {a = 'b', b = 'c'}",
            "tool.benchgate.metrics.sim.rename",
            "no chains",
        ),
        (
            "[tool.benchgate.metrics.\"a b\"]\ninclude = ['x']",
            "tool.benchgate.metrics.a b",
            "bench name",
        ),
        ("[tool.benchgate]\nab_build = 'docker'", "tool.benchgate.ab_build", "pythonpath, venv"),
    ],
)
def test_bad_metric_config_is_one_line_naming_file_and_key(
    project: Path, toml: str, key: str, fragment: str
) -> None:
    _pyproject(project, toml)
    with pytest.raises(BenchgateError) as err:
        load_config(project)
    text = str(err.value)
    assert "pyproject.toml" in text and f": {key}: " in text and fragment in text, text
    assert "\n" not in text


def test_bad_metric_config_exits_2_through_the_cli(
    project: Path, cli: Callable[..., Result]
) -> None:
    _pyproject(project, "[tool.benchgate.metrics.sim]\nexclude = [1]")
    r = cli("compare")
    assert r.exit_code == 2
    assert "tool.benchgate.metrics.sim.exclude: item 1" in r.output


def test_good_metric_config_loads(project: Path) -> None:
    _pyproject(
        project,
        """
[tool.benchgate]
ab_build = "venv"
[tool.benchgate.metrics.sim]
include = ["steps_*"]
rename = {steps_per_s = "steps_per_sec", "match.jobs" = "jobs"}
info = ["elapsed_s"]
""",
    )
    cfg = load_config(project)
    assert cfg.ab_build == "venv"
    assert cfg.metrics["sim"].rename == {"steps_per_s": "steps_per_sec", "match.jobs": "jobs"}
    assert parse_metric_rules({}) == {}


# --- per-metric judging of bench output ---------------------------------------------------


@pytest.mark.parametrize(
    "result, metrics, errors",
    [
        ({"a_per_s": 5, "shares_found": 0}, {"a_per_s"}, {"shares_found"}),
        ({"a_per_s": 5, "t_s": float("inf")}, {"a_per_s"}, {"t_s"}),
        ({"a_per_s": 5, "t_s": -1.5}, {"a_per_s"}, {"t_s"}),
        ({"a_per_s": 5, "big": 10**400}, {"a_per_s"}, {"big"}),
        ({"match": {"jobs_per_sec": 9, "n": 0}, "sla": {"p99_ms": 3}}, None, None),
    ],
)
def test_one_bad_field_is_that_metrics_error(
    result: dict[str, object], metrics: set[str] | None, errors: set[str] | None
) -> None:
    out = parse_output(json.dumps({"case": "c", "result": result}))
    if metrics is None:  # the nested case
        assert set(out.metrics) == {"match.jobs_per_sec", "sla.p99_ms"}
        assert set(out.metric_errors) == {"match.n"}
        assert out.metrics["sla.p99_ms"].unit == "ms"
        return
    assert out.error is None
    assert set(out.metrics) == metrics and set(out.metric_errors) == errors
    (why,) = out.metric_errors.values()
    assert "positive finite number" in why


def test_only_bad_fields_is_a_bench_error_naming_them() -> None:
    out = parse_output('{"result": {"shares_found": 0}}')
    assert out.error is not None and "'shares_found'" in out.error
    assert out.metric_errors


def test_no_number_says_where_it_looked() -> None:
    out = parse_output('{"result": {"name": "x", "sub": {"flag": true, "xs": [1, 2]}}}')
    assert out.error is not None
    assert "looked in 'result'" in out.error
    assert "'name' (string)" in out.error and "'sub.flag' (boolean)" in out.error
    assert "'sub.xs' (list)" in out.error


def test_rules_apply_at_parse_time() -> None:
    rules = MetricRules(
        exclude=("accepted_last_run",),
        rename={"steps_per_s": "steps_per_sec"},
        info=("final_*", "elapsed_s"),
    )
    huge = int("9" * 75)
    text = json.dumps(
        {
            "result": {
                "steps_per_s": 10.0,
                "accepted_last_run": 3,
                "final_theta": huge,
                "final_state": "converged",
                "elapsed_s": 0,
            }
        }
    )
    out = parse_output(text, rules)
    assert set(out.metrics) == {"steps_per_sec"}
    assert out.metrics["steps_per_sec"].unit == "steps/sec"
    assert out.info["final_state"] == "converged"
    assert out.info["final_theta"] == pytest.approx(float(huge))
    assert out.info["elapsed_s"] == 0  # informational: shown as is, never an error
    assert not out.metric_errors


def test_everything_excluded_is_said() -> None:
    out = parse_output('{"result": {"a": 1}}', MetricRules(exclude=("a",)))
    assert out.error is not None and "excluded" in out.error


def test_two_names_renamed_onto_one_is_an_error() -> None:
    out = parse_output(
        '{"metrics": {"a_per_s": 1, "b_per_s": 2, "c_per_s": 3}}',
        MetricRules(rename={"a_per_s": "c_per_s"}),
    )
    assert "c_per_s" in out.metric_errors and "b_per_s" in out.metrics


def _baselines(data: dict[str, object]) -> dict[str, Baseline]:
    return parse_baselines_text(json.dumps(data), "baselines.json")


# --- reduce and compare: per-metric ERROR, INFO, near misses ------------------------------


def _run(
    i: int, metrics: dict[str, float], errors: dict[str, str], info: dict[str, object]
) -> RunRecord:
    out = parse_output(json.dumps({"metrics": metrics}))
    return RunRecord(
        run_id=f"r{i}",
        bench="sim",
        invocation="inv",
        started=f"2026-01-01T00:00:0{i}",
        duration_s=1.0,
        status=RunStatus.OK,
        metrics=out.metrics,
        metric_errors=errors,
        info=info,
    )


def test_compare_gives_error_info_and_near_miss_rows() -> None:
    runs = [
        _run(
            i,
            {"steps_per_s": 100.0 + i, "match.jobs_per_sec": 50.0},
            {"shares_found": "metric 'shares_found': value must be a positive finite number"},
            {"final_theta": int("9" * 75), "note": "x" * 300},
        )
        for i in range(3)
    ]
    reduced = reduce_runs({"sim": runs})
    assert "sim.shares_found" in reduced.benches["sim"].metric_errors
    assert "in 3 of 3 runs" in reduced.benches["sim"].metric_errors["sim.shares_found"]
    baselines = _baselines(
        {
            "sim.steps_per_sec": {"value": 100.0, "unit": "steps/sec"},
            "sim.match.jobs_per_sec": {"value": 50.0, "unit": "jobs/sec"},
            "sim.shares_found": {"value": 3.0, "unit": "shares"},
        }
    )
    comparison = compare(reduced, baselines)
    by_key = {v.key: v for v in comparison.verdicts}
    assert by_key["sim.match.jobs_per_sec"].status is Status.PASS
    assert by_key["sim.shares_found"].status is Status.ERROR
    assert by_key["sim.final_theta"].status is Status.INFO
    assert by_key["sim.steps_per_sec"].status is Status.MISSING
    assert "did you mean 'steps_per_s'?" in str(by_key["sim.steps_per_sec"].reason)
    assert by_key["sim.steps_per_s"].status is Status.NEW
    (note,) = comparison.warnings
    assert '[tool.benchgate.metrics.sim] rename = {steps_per_s = "steps_per_sec"}' in note
    gating = {v.key for v in comparison.gating()}
    assert "sim.final_theta" not in gating and "sim.note" not in gating
    text = render_text(comparison)
    assert "1 INFO" not in text and "2 INFO" in text
    rows = [line for line in text.splitlines() if line.split(" ", 1)[0] in {"INFO", "NEW"}]
    assert rows and max(len(line) for line in rows) < 160  # huge/long values clipped


@pytest.mark.parametrize(
    "x, shown",
    [(float("9" * 75), "1.000e+75"), (123456.0, "123,456"), (1.5, "1.500")],
)
def test_huge_numbers_do_not_stretch(x: float, shown: str) -> None:
    assert fmt_num(x) == shown


def test_no_pairing_across_benches_or_far_names() -> None:
    runs = {"a": [_run(0, {"throughput_x": 1.0}, {}, {})]}
    runs["a"][0].bench = "a"
    reduced = reduce_runs(runs)
    baselines = _baselines(
        {"b.throughput_y": {"value": 1.0, "unit": "x"}, "a.latency_ms": {"value": 1, "unit": "ms"}}
    )
    comparison = compare(reduced, baselines)
    assert comparison.warnings == []


# --- property: any output under any rules gives storable, bounded results -----------------

globs = st.sampled_from(["*", "x*", "*_per_s", "a.*", "?", "[ab]*", "ok_per_s", "*.*"])
rules_strategy = st.builds(
    MetricRules,
    include=st.lists(globs, max_size=2).map(tuple),
    exclude=st.lists(globs, max_size=2).map(tuple),
    rename=st.dictionaries(
        st.sampled_from(["ok_per_s", "a", "x", "a.b"]),
        st.sampled_from(["y_per_s", "z", "w.v"]),
        max_size=2,
    ).filter(lambda d: len(set(d.values())) == len(d)),
    info=st.lists(globs, max_size=2).map(tuple),
)


@FUZZ
@given(bench_objects, rules_strategy)
def test_any_output_under_any_rules_is_storable(obj: object, rules: MetricRules) -> None:
    out = parse_output(json.dumps(obj, allow_nan=True), rules)
    if out.error is not None:
        assert "\n" not in out.error
    for name, m in out.metrics.items():
        assert name_problem(name) is None and m.value > 0 and math.isfinite(m.value)
    assert not set(out.metrics) & set(out.metric_errors)
    for name, v in out.info.items():
        assert name_problem(name) is None
        # Informational values are bounded and write as strict JSON.
        assert len(json.dumps(v, allow_nan=False, ensure_ascii=False)) <= 2 * MAX_INFO_CHARS + 2
    record = RunRecord(
        "r",
        "b",
        "i",
        "s",
        0.0,
        RunStatus.OK,
        metrics=out.metrics,
        metric_errors=out.metric_errors,
        info=out.info,
    )
    again = RunRecord.from_dict(json.loads(json.dumps(record.to_dict(), allow_nan=False)))
    assert again.info == out.info and again.metric_errors == out.metric_errors


def test_informational_baseline_key_not_reported_is_info_not_missing() -> None:
    runs = {"sim": [_run(0, {"x_per_s": 1.0}, {}, {})]}
    reduced = reduce_runs(runs)
    baselines = _baselines(
        {"sim.x_per_s": {"value": 1.0, "unit": "x/sec"}, "sim.elapsed_s": {"value": 2, "unit": "s"}}
    )
    without = {v.key: v.status for v in compare(reduced, baselines).verdicts}
    assert without["sim.elapsed_s"] is Status.MISSING
    rules = {"sim": MetricRules(info=("elapsed_*",))}
    comparison = compare(reduced, baselines, rules)
    by_key = {v.key: v for v in comparison.verdicts}
    assert by_key["sim.elapsed_s"].status is Status.INFO
    assert "not reported" in str(by_key["sim.elapsed_s"].reason)
    assert not comparison.gating()


def test_rules_apply_to_outputs_of_other_readers() -> None:
    from benchgate.run.protocol import apply_rules

    read = parse_output('{"metrics": {"a_per_s": 1, "b_per_s": 2, "t_s": 3}}')
    rules = MetricRules(exclude=("b_*",), rename={"a_per_s": "x_per_s"}, info=("t_s",))
    out = apply_rules(read, rules)
    assert set(out.metrics) == {"x_per_s"} and out.info == {"t_s": 3.0}
    assert apply_rules(read, MetricRules()) is read
    gone = apply_rules(read, MetricRules(include=("zzz",)))
    assert gone.error is not None and "excluded" in gone.error
