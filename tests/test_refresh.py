"""`benchgate refresh`: every refusal, format-preserving edits, notes, dry run, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from benchgate.baselines.editor import BaselinesEditor
from benchgate.baselines.file import parse_baselines_text
from benchgate.baselines.refresh import (
    ACCEPTED_REGRESSION_MARK,
    RefreshOptions,
    measured_commit,
    plan_refresh,
    unified_diff,
)
from benchgate.cli import main
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.judge.reduce import reduce_runs
from benchgate.model import RunRecord, RunStatus
from benchgate.run.results import write_bench_runs
from conftest import make_env, make_runs

WHY = "msgspec 0.18 -> 0.19"


def status_runs(bench: str, status: RunStatus, reason: str, n: int = 5) -> list[RunRecord]:
    return [
        RunRecord(
            run_id=f"{bench}-{i}",
            bench=bench,
            invocation="inv1",
            started=f"2026-11-26T11:{i:02d}:00+00:00",
            duration_s=0.1,
            status=status,
            reason=reason,
            env=make_env(),
        )
        for i in range(n)
    ]


STEADY = [1000.0, 1010.0, 1005.0, 1002.0, 1008.0]  # median 1005, IQR/median ~0.6%

BASELINES = """{
  "a.ops": {
    "value": 1000,
    "unit": "ops/sec",
    "notes": "Median of 5 runs on the old box"
  },
  "b.ops": {
    "value": 500,
    "unit": "ops/sec",
    "degradation_pct_max": 0.2,
    "variance_pct_warn": 0.05,
    "custom": {"owner": "team-x", "tags": [1, 2]}
  }
}
"""


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(root=tmp_path)


def opts(**over: Any) -> RefreshOptions:
    base: dict[str, Any] = {"reason": "deps", "why": WHY}
    base.update(over)
    return RefreshOptions(**base)


def plan_for(config: Config, runs: dict[str, list[RunRecord]], text: str = BASELINES, **over: Any):
    return plan_refresh(config, runs, text, opts(**over))


def steady_runs() -> dict[str, list[RunRecord]]:
    return {
        "a": make_runs("a", {"ops": STEADY}),
        "b": make_runs("b", {"ops": [502.0, 505.0, 500.0, 501.0, 503.0]}),
    }


# --- numbers ------------------------------------------------------------------------------


# --- format-preserving edits --------------------------------------------------------------


def _other_lines(text: str, key: str) -> list[str]:
    return [ln for ln in text.splitlines() if key not in ln]


@pytest.mark.parametrize(
    "text",
    [
        # two-space indentation, trailing newline
        '{\n  "a.x": {\n    "value": 1,\n    "unit": "s"\n  },\n  "b.y": {\n    "value": 2,\n'
        '    "unit": "s",\n    "notes": "old"\n  }\n}\n',
        # four-space indentation, no trailing newline
        '{\n    "a.x": {\n        "value": 1,\n        "unit": "s"\n    },\n    "b.y": {\n'
        '        "value": 2,\n        "unit": "s",\n        "notes": "old"\n    }\n}',
        # compact one-line entries
        '{\n  "a.x": {"value": 1, "unit": "s"},\n  "b.y": {"value": 2, "unit": "s", "notes": "old"}\n}\n',
        # the whole file on one line, no spaces
        '{"a.x":{"value":1,"unit":"s"},"b.y":{"value":2,"unit":"s","notes":"old"}}',
        # CRLF line ends and tabs
        '{\r\n\t"a.x": {\r\n\t\t"value": 1,\r\n\t\t"unit": "s"\r\n\t},\r\n\t"b.y": {\r\n'
        '\t\t"value": 2,\r\n\t\t"unit": "s",\r\n\t\t"notes": "old"\r\n\t}\r\n}\r\n',
        # unicode in notes and keys, escapes kept as written
        '{\n  "a.x": {\n    "value": 1,\n    "unit": "µs",\n    "notes": "vérifié — ok \\u00e9"\n  },\n'
        '  "b.y": {\n    "value": 2,\n    "unit": "s",\n    "notes": "old"\n  }\n}\n',
    ],
    ids=["2-space", "4-space-no-newline", "compact-entries", "one-line", "crlf-tabs", "unicode"],
)
def test_editor_touches_only_the_changed_spans(text: str) -> None:
    ed = BaselinesEditor(text)
    ed.set_field("b.y", "value", "3.5")
    ed.set_field("b.y", "notes", json.dumps("new — ñ", ensure_ascii=False))
    out = ed.render()
    assert json.loads(out)["b.y"] == {"value": 3.5, "unit": "s", "notes": "new — ñ"}
    assert json.loads(out)["a.x"] == json.loads(text)["a.x"]
    # Only the value and notes spans differ: replacing them back restores the input exactly.
    back = BaselinesEditor(out)
    back.set_field("b.y", "value", "2")
    back.set_field("b.y", "notes", '"old"')
    assert back.render() == text
    # The untouched entry is byte-identical, and so is the tail of the file.
    a_start = text.index('"a.x"')
    a_end = text.index("}", a_start) + 1
    assert text[a_start:a_end] in out
    assert out.endswith(text[text.rindex("}") :])


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            '{\n  "a.x": {\n    "value": 1,\n    "unit": "s"\n  }\n}\n',
            '{\n  "a.x": {\n    "value": 1,\n    "unit": "s",\n    "notes": "n"\n  }\n}\n',
        ),
        (
            '{\n    "a.x": {\n        "value": 1,\n        "unit": "s"\n    }\n}',
            '{\n    "a.x": {\n        "value": 1,\n        "unit": "s",\n        "notes": "n"\n    }\n}',
        ),
        (
            '{"a.x": {"value": 1, "unit": "s"}}\n',
            '{"a.x": {"value": 1, "unit": "s", "notes": "n"}}\n',
        ),
        ('{"a.x":{"value":1,"unit":"s"}}', '{"a.x":{"value":1,"unit":"s","notes":"n"}}'),
    ],
    ids=["2-space", "4-space", "compact", "no-spaces"],
)
def test_editor_adds_notes_in_the_entry_style(text: str, expected: str) -> None:
    ed = BaselinesEditor(text)
    ed.set_field("a.x", "notes", '"n"')
    assert ed.render() == expected


def test_editor_inserts_notes_after_the_value() -> None:
    text = '{\n  "a.x": {\n    "value": 1,\n    "unit": "s",\n    "custom": [1]\n  }\n}\n'
    ed = BaselinesEditor(text)
    ed.set_field("a.x", "value", "2")
    ed.set_field("a.x", "notes", '"n"', after="value")
    assert ed.render() == (
        '{\n  "a.x": {\n    "value": 2,\n    "notes": "n",\n    "unit": "s",\n    "custom": [1]\n  }\n}\n'
    )
    ed = BaselinesEditor('{"a.x": {"unit": "s", "value": 1}}')
    ed.set_field("a.x", "notes", '"n"', after="value")
    assert ed.render() == '{"a.x": {"unit": "s", "value": 1, "notes": "n"}}'


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{}\n", '{\n  "n.m": {\n    "value": 7,\n    "unit": "s"\n  }\n}\n'),
        ("{\n}", '{\n  "n.m": {\n    "value": 7,\n    "unit": "s"\n  }\n}'),
        (
            '{\n    "a.x": {\n        "value": 1,\n        "unit": "s"\n    }\n}\n',
            '{\n    "a.x": {\n        "value": 1,\n        "unit": "s"\n    },\n'
            '    "n.m": {\n        "value": 7,\n        "unit": "s"\n    }\n}\n',
        ),
        (
            '{\n  "a.x": {"value": 1, "unit": "s"},\n  "b.y": {"value": 2, "unit": "s"}\n}\n',
            '{\n  "a.x": {"value": 1, "unit": "s"},\n  "b.y": {"value": 2, "unit": "s"},\n'
            '  "n.m": {"value": 7, "unit": "s"}\n}\n',
        ),
    ],
    ids=["empty", "empty-multiline", "4-space", "compact"],
)
def test_editor_appends_new_keys_in_the_file_style(text: str, expected: str) -> None:
    ed = BaselinesEditor(text)
    ed.add_entry("n.m", [("value", "7"), ("unit", '"s"')])
    assert ed.render() == expected


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason, why, option",
    [
        (None, WHY, "--reason"),
        ("", WHY, "--reason"),
        ("ci-red", WHY, "--reason"),
        ("deps", "  ", "--why"),
    ],
)
def test_no_reason_no_refresh(config: Config, reason: str | None, why: str, option: str) -> None:
    with pytest.raises(BenchgateError) as exc:
        plan_refresh(config, steady_runs(), BASELINES, opts(reason=reason, why=why))
    assert exc.value.key == option


def test_too_few_runs_refused(config: Config) -> None:
    runs = {"a": make_runs("a", {"ops": STEADY[:3]})}
    plan = plan_for(config, runs, only=["a.ops"])
    assert not plan.ok
    assert any("a.ops: only 3 runs, at least 5 needed" in r for r in plan.refusals)
    assert plan.new_text == BASELINES
    # --min-runs lowers the bar (the PR checklist then leaves "Repetitions" unticked).
    assert plan_for(config, runs, only=["a.ops"], min_runs=3).ok


def test_mixed_environments_refused_naming_the_difference(config: Config) -> None:
    old = make_env(python="3.11.9")
    runs = {
        "a": make_runs(
            "a", {"ops": STEADY[:3]}, env=old, day="2026-11-25", invocation="i0", prefix="x"
        )
        + make_runs("a", {"ops": STEADY}, day="2026-11-26"),
    }
    plan = plan_for(config, runs, only=["a.ops"])
    assert not plan.ok
    msg = next(r for r in plan.refusals if "different environments" in r)
    assert "Python 3.12.3" in msg and "3.11.9" in msg


def test_mixed_cpus_refused(config: Config) -> None:
    runs = {
        "a": make_runs("a", {"ops": STEADY}, env=make_env(cpus=[0, 1]), prefix="x")
        + make_runs("a", {"ops": STEADY}, day="2026-11-27"),
    }
    plan = plan_for(config, runs, only=["a.ops"])
    assert any("CPUs" in r and "different environments" in r for r in plan.refusals)


def test_environment_mixing_across_benches_refused(config: Config) -> None:
    runs = {
        "a": make_runs("a", {"ops": STEADY}),
        "b": make_runs(
            "b",
            {"ops": STEADY},
            env=make_env(distributions={"msgspec": "0.19.0", "numpy": "1.26.4"}),
        ),
    }
    plan = plan_for(config, runs)
    msg = next(r for r in plan.refusals if "different environments" in r)
    assert "msgspec" in msg


@pytest.mark.parametrize(
    "status, reason, word",
    [
        (RunStatus.SKIPPED, "msgspec not installed", "SKIPPED"),
        (RunStatus.ERROR, "exited with code 1", "ERROR"),
    ],
)
def test_skipped_or_error_key_never_refreshed(
    config: Config, status: RunStatus, reason: str, word: str
) -> None:
    runs = {"a": make_runs("a", {"ops": STEADY}), "b": status_runs("b", status, reason)}
    plan = plan_for(config, runs, only=["a.ops", "b.ops"])
    assert not plan.ok
    assert any(r.startswith(f"b.ops: {word}") and reason in r for r in plan.refusals)
    # Without --only the key is simply left as it is.
    plan = plan_for(config, runs)
    assert plan.ok
    assert [c.key for c in plan.changes] == ["a.ops"]
    assert any(line.startswith(f"b.ops: {word}") for line in plan.left_alone)


def test_unmeasured_key_refused(config: Config) -> None:
    plan = plan_for(config, steady_runs(), only=["zzz.ops"])
    assert any("zzz.ops: not measured" in r for r in plan.refusals)


def test_unit_mismatch_refused(config: Config) -> None:
    runs = {"a": make_runs("a", {"ops": STEADY}, unit="MB/sec")}
    plan = plan_for(config, runs)
    assert any("a.ops: the runs report 'MB/sec'" in r and "'ops/sec'" in r for r in plan.refusals)


def test_same_unit_spelled_differently_is_fine(config: Config) -> None:
    runs = {"a": make_runs("a", {"ops": STEADY}, unit="ops/s")}
    plan = plan_for(config, runs)
    assert plan.ok
    assert json.loads(plan.new_text)["a.ops"]["unit"] == "ops/sec"  # the baseline's unit kept


NOISY = [900.0, 1020.0, 1100.0, 950.0, 1060.0]  # IQR/median 10.8%


def test_noisy_refused_with_figures(config: Config) -> None:
    runs = {"a": make_runs("a", {"ops": NOISY})}
    plan = plan_for(config, runs)
    msg = next(r for r in plan.refusals if r.startswith("a.ops: noisy"))
    assert "IQR/median 10.8%" in msg and "variance_pct_warn 5.0%" in msg and "min 900" in msg
    assert "--allow-noisy" in msg


def test_allow_noisy_is_recorded_in_notes(config: Config) -> None:
    runs = {"a": make_runs("a", {"ops": NOISY})}
    plan = plan_for(config, runs, allow_noisy=["a.ops"])
    assert plan.ok, plan.refusals
    notes = json.loads(plan.new_text)["a.ops"]["refreshed"]
    assert "noisy: IQR/median 10.8%" in notes and "--allow-noisy" in notes
    assert any("noisy" in c for c in plan.caveats)


def test_noise_threshold_is_the_keys_own(config: Config) -> None:
    text = BASELINES.replace(
        '"unit": "ops/sec",\n    "notes"',
        '"unit": "ops/sec",\n    "variance_pct_warn": 0.12,\n    "notes"',
    )
    runs = {"a": make_runs("a", {"ops": NOISY})}
    assert plan_for(config, runs, text).ok


REGRESSED = [800.0, 805.0, 802.0, 801.0, 803.0]  # -19.8% from 1000: past 15%


def test_fail_level_regression_refused(config: Config) -> None:
    runs = {"a": make_runs("a", {"ops": REGRESSED})}
    plan = plan_for(config, runs)
    msg = next(r for r in plan.refusals if r.startswith("a.ops:"))
    assert "-19.8%" in msg and "degradation threshold" in msg and "--accept-regression" in msg


def test_accept_regression_is_recorded_in_notes(config: Config) -> None:
    runs = {"a": make_runs("a", {"ops": REGRESSED})}
    plan = plan_for(config, runs, accept_regression=["a.ops"])
    assert plan.ok, plan.refusals
    notes = json.loads(plan.new_text)["a.ops"]["refreshed"]
    assert f"{ACCEPTED_REGRESSION_MARK}: -19.8% from 1000" in notes


def test_lower_is_better_regression(config: Config) -> None:
    text = '{"a.lat": {"value": 10, "unit": "ms"}}\n'
    runs = {"a": make_runs("a", {"lat": [12.0, 12.1, 12.0, 12.2, 12.0]}, unit="ms", hib=False)}
    assert any("a.lat:" in r for r in plan_for(config, runs, text).refusals)
    # Faster is never a regression.
    runs = {"a": make_runs("a", {"lat": [5.0, 5.1, 5.0, 5.0, 5.0]}, unit="ms", hib=False)}
    assert plan_for(config, runs, text).ok


def test_all_refusals_listed_at_once_and_nothing_changes(config: Config) -> None:
    runs = {
        "a": make_runs("a", {"ops": REGRESSED[:2]}),
        "b": make_runs("b", {"ops": NOISY}, prefix="b"),
    }
    plan = plan_for(config, runs)
    assert len(plan.refusals) == 3  # too few runs + regression on a, noisy b
    assert plan.new_text == BASELINES and not plan.changed


# --- what a refresh writes -----------------------------------------------------------------


def test_clean_refresh_updates_value_record_values_and_commit_only(config: Config) -> None:
    plan = plan_for(config, steady_runs())
    assert plan.ok and plan.changed
    data = json.loads(plan.new_text)
    assert data["a.ops"]["value"] == 1005
    assert data["b.ops"]["value"] == 502
    # Every other field kept as it was, unknown ones included.
    assert data["b.ops"]["custom"] == {"owner": "team-x", "tags": [1, 2]}
    assert data["b.ops"]["degradation_pct_max"] == 0.2
    assert list(data) == ["a.ops", "b.ops"]
    # The per-run values and the commit they measured, for two-sample comparisons later.
    assert data["a.ops"]["values"] == STEADY
    assert data["a.ops"]["measured_commit"] == "abc123def456"
    assert len(data["b.ops"]["values"]) == 5
    diff = unified_diff(BASELINES, plan.new_text, "baselines.json")
    changed = [ln for ln in diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    # A record after each value, the per-run values and the commit at each entry's end (so
    # the last field's line gains a comma): nothing else. A person's notes stay as written.
    assert len([ln for ln in changed if ln.startswith("-")]) == 4
    allowed = ('"value"', '"refreshed"', '"values"', '"measured_commit"', '"custom"', '"notes"')
    assert all(any(a in ln for a in allowed) for ln in changed), changed
    assert data["a.ops"]["notes"] == "Median of 5 runs on the old box"
    # The unknown field's line only gains the comma before the appended fields.
    assert '    "custom": {"owner": "team-x", "tags": [1, 2]},\n' in plan.new_text
    assert plan.new_text.endswith('"measured_commit": "abc123def456"\n  }\n}\n')


def test_sample_baseline_values_are_rewritten_with_the_new_runs(config: Config) -> None:
    text = BASELINES.replace(
        '"notes": "Median of 5 runs on the old box"',
        '"notes": "Median of 5 runs on the old box",\n    "values": [990, 995, 1000, 1001, 1010],'
        '\n    "measured_commit": "0123456789ab"',
    )
    plan = plan_for(config, steady_runs(), text)
    assert plan.ok
    data = json.loads(plan.new_text)
    assert data["a.ops"]["values"] == STEADY  # the runs the new value is the median of
    assert data["a.ops"]["measured_commit"] == "abc123def456"  # the commit they measured
    assert plan.new_text.count('"measured_commit"') == 2


def test_refresh_drops_an_old_commit_when_the_runs_name_none(config: Config) -> None:
    text = BASELINES.replace(
        '"notes": "Median of 5 runs on the old box"',
        '"notes": "Median of 5 runs on the old box",\n    "measured_commit": "0123456789ab"',
    )
    dirty = make_env(git={"commit": "abc123def456", "dirty": True})
    runs = {
        "a": make_runs("a", {"ops": STEADY}, env=dirty),
        "b": make_runs("b", {"ops": [500.0, 502.0, 501.0, 503.0, 504.0]}, env=dirty),
    }
    plan = plan_for(config, runs, text)
    assert plan.ok, plan.refusals
    data = json.loads(plan.new_text)
    # Uncommitted changes: no commit holds the measured code, so none is recorded, and
    # the old one (which the new values did not measure) is gone.
    assert "measured_commit" not in data["a.ops"] and "measured_commit" not in data["b.ops"]
    assert data["a.ops"]["values"] == STEADY


def test_measured_commit_is_none_when_runs_disagree() -> None:
    runs = make_runs("a", {"ops": STEADY})
    runs[0].env = make_env(git={"commit": "fff123def456", "dirty": False})
    m = reduce_runs({"a": runs}).metrics["a.ops"]
    assert measured_commit({"a": runs}, m) is None
    same = make_runs("a", {"ops": STEADY})
    assert measured_commit({"a": same}, reduce_runs({"a": same}).metrics["a.ops"]) == "abc123def456"


def test_notes_say_how_where_when_why(config: Config) -> None:
    plan = plan_for(config, steady_runs())
    notes = json.loads(plan.new_text)["a.ops"]["refreshed"]
    assert notes == (
        "Median of 5 runs on AMD EPYC 7B13 (cpus 2-3); Python 3.12.3; 2026-11-26; "
        f"reason: deps — {WHY}"
    )


def test_notes_name_changed_dependencies(config: Config) -> None:
    previous = make_env(distributions={"msgspec": "0.18.5", "numpy": "1.26.4"})
    plan = plan_refresh(config, steady_runs(), BASELINES, opts(), previous_env=previous)
    notes = json.loads(plan.new_text)["a.ops"]["refreshed"]
    assert "; msgspec 0.18.6;" in notes and "numpy" not in notes
    assert any("environment differs from the previous refresh" in c for c in plan.caveats)


def test_trimmed_mean_method(config: Config) -> None:
    plan = plan_for(config, steady_runs(), method="trimmed-mean")
    assert plan.ok
    assert json.loads(plan.new_text)["a.ops"]["refreshed"].startswith("Trimmed mean of 5 runs")


def test_only_limits_the_keys(config: Config) -> None:
    plan = plan_for(config, steady_runs(), only=["b.ops"])
    assert [c.key for c in plan.changes] == ["b.ops"]
    assert '"a.ops": {\n    "value": 1000,' in plan.new_text


def test_new_metrics_need_only(config: Config) -> None:
    runs = steady_runs()
    runs["c"] = make_runs("c", {"lat": [2.0, 2.1, 2.0, 2.05, 2.0]}, unit="ms", hib=False)
    plan = plan_for(config, runs)
    assert "c.lat" not in json.loads(plan.new_text)
    assert any("c.lat" in w and "--only" in w for w in plan.warnings)
    plan = plan_for(config, runs, only=["a.ops", "c.lat"])
    entry = json.loads(plan.new_text)["c.lat"]
    assert entry["value"] == 2.0 and entry["unit"] == "ms"
    assert entry["degradation_pct_max"] == 0.15 and entry["variance_pct_warn"] == 0.05
    assert entry["higher_is_better"] is False
    notes = json.dumps(entry["refreshed"], ensure_ascii=False)
    assert "notes" not in entry  # a person adds notes; a refresh never writes them
    assert plan.new_text.endswith(
        '  },\n  "c.lat": {\n    "value": 2,\n    "unit": "ms",\n'
        '    "degradation_pct_max": 0.15,\n    "variance_pct_warn": 0.05,\n'
        f'    "higher_is_better": false,\n    "refreshed": {notes},\n'
        '    "values": [2, 2.1, 2, 2.05, 2],\n    "measured_commit": "abc123def456"\n  }\n}\n'
    )


def test_fresh_project_empty_baselines(config: Config) -> None:
    runs = {"a": make_runs("a", {"ops": STEADY, "lat": [3.0] * 5})}
    plan = plan_for(config, runs, "{}\n", only=["a.ops", "a.lat"])
    assert plan.ok, plan.refusals
    data = json.loads(plan.new_text)
    assert list(data) == ["a.ops", "a.lat"]
    assert data["a.ops"]["value"] == 1005
    assert plan.new_text.startswith('{\n  "a.ops": {\n    "value": 1005,\n')
    # Without --only, the first refresh of an empty file takes every measured key, with
    # the same checks as any refresh.
    plan = plan_for(config, runs, "{}\n")
    assert plan.ok, plan.refusals
    assert sorted(json.loads(plan.new_text)) == ["a.lat", "a.ops"]
    assert any("baselines.json is empty: adding every measured key (2)" in w for w in plan.warnings)
    few = {"a": make_runs("a", {"ops": STEADY[:3]})}
    plan = plan_for(config, few, "{}\n")
    assert any("only 3 runs, at least 5 needed" in r for r in plan.refusals)
    noisy = {"a": make_runs("a", {"ops": NOISY})}
    assert any("noisy" in r for r in plan_for(config, noisy, "{}\n").refusals)
    plan = plan_for(config, {}, "{}\n")
    assert any("baselines.json is empty and the out-dir holds no" in r for r in plan.refusals)


def test_custom_config_thresholds_for_new_keys(tmp_path: Path) -> None:
    config = Config(root=tmp_path, degradation_pct_max=0.25, variance_pct_warn=0.1)
    runs = {"a": make_runs("a", {"ops": STEADY})}
    plan = plan_refresh(config, runs, "{}", opts(only=["a.ops"]))
    entry = json.loads(plan.new_text)["a.ops"]
    assert entry["degradation_pct_max"] == 0.25 and entry["variance_pct_warn"] == 0.1


def test_unchanged_value_is_not_touched(config: Config) -> None:
    text = BASELINES.replace('"value": 1000', '"value": 1005')
    plan = plan_for(config, steady_runs(), text)
    assert plan.unchanged == ["a.ops"]
    assert [c.key for c in plan.changes] == ["b.ops"]
    assert '"notes": "Median of 5 runs on the old box"' in plan.new_text


def test_decision_is_spelled_out(config: Config) -> None:
    plan = plan_for(config, {"a": make_runs("a", {"ops": REGRESSED})}, accept_regression=["a.ops"])
    assert plan.decision.startswith("1 metric breaches degradation")


def test_bad_key_names_are_bad_input(config: Config) -> None:
    with pytest.raises(BenchgateError):
        plan_for(config, steady_runs(), only=["nodot"])
    with pytest.raises(BenchgateError):
        plan_for(config, steady_runs(), "[1, 2]")


def test_stray_flag_keys_warned(config: Config) -> None:
    plan = plan_for(config, steady_runs(), allow_noisy=["x.y"])
    assert any("--allow-noisy names keys that are not refreshed: x.y" in w for w in plan.warnings)


# --- the CLI --------------------------------------------------------------------------------


def make_project(tmp_path: Path, baselines: str = BASELINES) -> Path:
    root = tmp_path / "proj"
    (root / "tests" / "bench").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0"\n')
    (root / "tests" / "bench" / "baselines.json").write_text(baselines)
    out = root / "tests" / "reports" / "bench"
    for bench, runs in steady_runs().items():
        write_bench_runs(out, bench, runs)
    return root


def invoke(root: Path, *args: str):
    return CliRunner().invoke(main, ["-C", str(root), *args], catch_exceptions=False)


def test_cli_dry_run_writes_nothing(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    before = sorted(p for p in root.rglob("*"))
    r = invoke(root, "refresh", "--reason", "deps", "--why", WHY, "--dry-run")
    assert r.exit_code == 0, r.output
    assert "decision: no refresh needed" in r.output
    assert '-    "value": 1000,' in r.output and '+    "value": 1005,' in r.output
    assert "+++ b/tests/bench/report.md" in r.output
    assert "nothing written" in r.output
    assert sorted(p for p in root.rglob("*")) == before
    assert (root / "tests/bench/baselines.json").read_text() == BASELINES


def test_cli_refresh_writes_baselines_report_and_pr_body(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    report = root / "tests/bench/report.md"
    report.write_text("# Our benches\n\nHand-written: run on the quiet box.\n")
    r = invoke(
        root,
        "refresh",
        "--reason",
        "deps",
        "--why",
        WHY,
        "--pr-body",
        str(tmp_path / "pr.md"),
        "--caveat",
        "numpy 2 upgrade next month",
    )
    assert r.exit_code == 0, r.output
    assert "PR title: bench: refresh baselines (reason: deps — msgspec 0.18 -> 0.19)" in r.output
    data = json.loads((root / "tests/bench/baselines.json").read_text())
    assert data["a.ops"]["value"] == 1005
    text = report.read_text()
    assert text.startswith("# Our benches\n\nHand-written: run on the quiet box.\n")
    assert "numpy 2 upgrade next month" in text
    body = (tmp_path / "pr.md").read_text()
    assert body.startswith("bench: refresh baselines (reason: deps")
    assert "- [ ] Reviewer sign-off" in body


def test_cli_refusal_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    write_bench_runs(root / "tests/reports/bench", "a", make_runs("a", {"ops": REGRESSED}))
    r = invoke(root, "refresh", "--reason", "deps", "--why", WHY)
    assert r.exit_code == 1
    assert "refused: a.ops:" in r.output
    assert (root / "tests/bench/baselines.json").read_text() == BASELINES
    assert not (root / "tests/bench/report.md").exists()


def test_cli_no_reason_is_exit_2(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    r = invoke(root, "refresh", "--why", WHY)
    assert r.exit_code == 2
    assert "no reason, no refresh" in r.output
    r = invoke(root, "refresh", "--reason", "green-ci", "--why", WHY)
    assert r.exit_code == 2


def test_cli_prints_pr_body_without_file(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    r = invoke(root, "refresh", "--reason", "hardware", "--why", "new CI runners")
    assert r.exit_code == 0, r.output
    assert "bench: refresh baselines (reason: hardware — new CI runners)" in r.output
    assert "### Checklist" in r.output


def test_runs_without_environment_are_not_mixed_with_recorded_ones(config: Config) -> None:
    runs = {
        "a": make_runs("a", {"ops": STEADY}, env={}, prefix="x")
        + make_runs("a", {"ops": STEADY}, day="2026-11-27")
    }
    plan = plan_for(config, runs, only=["a.ops"])
    assert any("no environment recorded in 5 runs from 2026-11-26" in r for r in plan.refusals)


def test_drop_disturbed_leaves_runs_out(config: Config) -> None:
    rs = make_runs("a", {"ops": STEADY + [500.0]})
    rs[-1].disturbance = {"disturbed": True, "share": 0.6}
    plan = plan_for(config, {"a": rs}, drop_disturbed=True)
    assert plan.ok
    assert plan.changes[0].metric.spread.n == 5 and plan.changes[0].new == 1005
    plan = plan_for(config, {"a": rs})
    assert any("1 of the 6 runs used were disturbed" in c for c in plan.caveats)


def test_a_persons_notes_survive_every_refresh(config: Config) -> None:
    """Notes are a person's words (why a threshold is wide, what to watch): a refresh keeps
    them byte for byte and writes its own record beside them, in `refreshed`."""
    human = "Wide threshold: GC pauses on the CI box. Watch after the allocator change — ñ."
    text = BASELINES.replace("Median of 5 runs on the old box", human)
    first = plan_for(config, steady_runs(), text)
    assert first.ok
    a = json.loads(first.new_text)["a.ops"]
    assert a["notes"] == human and a["refreshed"].startswith("Median of 5 runs")
    assert f'"notes": "{human}"' in first.new_text  # the same bytes, non-ASCII unescaped
    # A second refresh replaces its own record, never the notes.
    runs = {"a": make_runs("a", {"ops": [1100.0, 1105.0, 1102.0, 1101.0, 1103.0]})}
    second = plan_refresh(config, runs, first.new_text, opts(why="second"))
    assert second.ok, second.refusals
    a2 = json.loads(second.new_text)["a.ops"]
    assert a2["notes"] == human and a2["refreshed"].endswith("reason: deps — second")
    assert a2["value"] == 1102
    # The file with both fields is what the parser reads back (docs/formats.md).
    assert parse_baselines_text(second.new_text, "b.json")["a.ops"].notes == human


def test_refreshed_must_be_a_string(config: Config) -> None:
    with pytest.raises(BenchgateError, match="'refreshed' must be a string"):
        parse_baselines_text('{"a.ops": {"value": 1, "unit": "s", "refreshed": 5}}', "b.json")
