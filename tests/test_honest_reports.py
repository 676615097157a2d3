"""Reports say what was and was not checked: no tick, "no warnings" or "no refresh needed"
that the measurements do not support."""

from __future__ import annotations

import json
from pathlib import Path

from benchgate.baselines.decision import refresh_decision
from benchgate.baselines.refresh import RefreshOptions, plan_refresh
from benchgate.baselines.refresh_report import checklist, command_lines, render_report
from benchgate.ci import format_markdown, step_summary
from benchgate.config import Config
from benchgate.judge.reduce import reduce_runs
from benchgate.model import Comparison, Status, Verdict
from benchgate.render.report import comparison_json, doctor_text, render_out_report, render_text
from conftest import make_env, make_runs

STEADY = [1000.0, 1010.0, 1005.0, 1002.0, 1008.0]
BASELINES = '{"a.ops": {"value": 1000, "unit": "ops/sec"}}\n'


def _plan(config: Config, logical_cores: int):
    env = make_env(logical_cores=logical_cores)
    runs = {"a": make_runs("a", {"ops": STEADY}, env=env)}  # pinned to CPUs 2-3
    return plan_refresh(config, runs, BASELINES, RefreshOptions(reason="deps", why="x"))


def _pin_line(lines: list[str]) -> str:
    return next(x for x in lines if "Commands used" in x)


def test_checklist_does_not_tick_pinned_when_every_cpu_was_used(tmp_path: Path) -> None:
    """`--cpus auto` on a 2-CPU runner selects both CPUs: nothing was isolated."""
    config = Config(root=tmp_path)
    everything = _plan(config, logical_cores=2)
    line = _pin_line(checklist(everything, config))
    assert line.startswith("- [ ] ") and "nothing was isolated" in line
    assert "every CPU of the machine" in "\n".join(command_lines(everything.runs_used))
    some = _plan(config, logical_cores=8)
    line = _pin_line(checklist(some, config))
    assert line.startswith("- [x] ") and "isolated" not in line


def test_doctor_text_names_what_was_not_checked() -> None:
    quiet = {"warn_names": [], "checks": []}
    assert doctor_text(quiet) == "no warnings"
    unsampled = {
        "warn_names": [],
        "checks": [{"check": "load", "status": "info", "detail": "load average 0.5 (not sampled)"}],
    }
    text = doctor_text(unsampled, disturbed=45, runs=50)
    assert not text.startswith("no warnings;") and "no warnings in the checks made" in text
    assert "not checked: load (not sampled)" in text
    assert "45 of 50 runs were disturbed by other processes" in text
    warned = {"warn_names": ["governor"], "checks": []}
    assert doctor_text(warned, 1, 2).startswith("WARN: governor; 1 of 2 runs were disturbed")


def test_report_md_does_not_say_no_warnings_over_disturbed_runs() -> None:
    doctor = {
        "warn_names": [],
        "checks": [{"check": "load", "status": "info", "detail": "load average 3.1 (not sampled)"}],
    }
    runs = make_runs("a", {"ops": STEADY}, env=make_env(doctor=doctor))
    for r in runs[:4]:
        r.disturbance = {"disturbed": True, "other_share": 0.6}
    by_bench = {"a": runs}
    text = render_out_report(by_bench, reduce_runs(by_bench))
    row = next(x for x in text.splitlines() if x.startswith("| Doctor |"))
    assert "| Doctor | no warnings |" not in text
    assert "not checked: load (not sampled)" in row and "4 of 5 runs were disturbed" in row


def test_methodology_report_states_disturbed_runs(tmp_path: Path) -> None:
    config = Config(root=tmp_path)
    env = make_env(doctor={"warn_names": [], "checks": []})
    runs = {"a": make_runs("a", {"ops": STEADY}, env=env)}
    runs["a"][0].disturbance = {"disturbed": True}
    plan = plan_refresh(config, runs, BASELINES, RefreshOptions(reason="deps", why="x"))
    report = render_report(plan, "")
    assert "| Doctor | no warnings in the checks made; 1 of 5 runs were disturbed" in report


def _comparison(*statuses: Status) -> Comparison:
    return Comparison(
        verdicts=[
            Verdict(f"b{i}.m", s, 1.0, 1.0, "ops/sec", 0.0, reason="boom")
            for i, s in enumerate(statuses)
        ],
        method="median",
    )


def test_no_refresh_needed_is_never_said_under_a_failed_gate() -> None:
    c = _comparison(Status.PASS, Status.ERROR, Status.MISSING)
    decision = refresh_decision(c)
    assert "no refresh needed" not in decision
    assert decision.startswith("the gate failed on 1 ERROR, 1 MISSING, not on the numbers")
    assert "a refresh is not the answer" in decision and "fix the benches that failed" in decision
    for rendered in (
        render_text(c),
        format_markdown(c),
        step_summary(c),
        json.dumps(comparison_json(c)),
    ):
        assert "no refresh needed" not in rendered
    # A relaxed status does not fail the gate, so the usual sentence is right again.
    assert refresh_decision(_comparison(Status.PASS, Status.NEW), {Status.NEW}).startswith(
        "no refresh needed"
    )
    new = refresh_decision(_comparison(Status.PASS, Status.NEW))
    assert new.startswith("the gate failed on 1 NEW, not on the numbers; add baselines")
    assert "refresh is not the answer" not in new and "--only" in new
    both = refresh_decision(_comparison(Status.FAIL, Status.ERROR))
    assert both.startswith("1 metric breaches degradation") and "fix the benches" in both
    assert refresh_decision(_comparison(Status.PASS)).startswith("no refresh needed")
