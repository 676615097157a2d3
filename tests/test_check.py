"""`benchgate check`: every rule of the reviewer checklist on small git repos built here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from benchgate.baselines.refresh import RefreshOptions, plan_refresh, write_refresh
from benchgate.baselines.refresh_report import render_report
from benchgate.baselines.review import (
    CheckInputs,
    blanket_shift,
    evaluate,
    is_scope_ok,
    render_check_markdown,
    run_check,
)
from benchgate.cli import main
from benchgate.config import load_config
from benchgate.run.results import write_bench_runs
from conftest import git, make_runs

T0 = "2026-01-01T12:00:00+00:00"  # the base branch's initial commit
T_PR = "2026-02-01T12:00:00+00:00"  # the PR's commits (a month later: no rapid edit)

KEYS = ["a.ops", "b.ops", "c.ops", "d.ops", "e.ops"]


def entry(
    value: float, notes: str = "Median of 5 runs; reason: hardware — CI v1", **kw: Any
) -> dict[str, Any]:
    return {"value": value, "unit": "ops/sec", **kw, "notes": notes}


BASE = {k: entry(1000.0 * (i + 1)) for i, k in enumerate(KEYS)}


def dump(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


class Repo:
    """A git repo whose benchgate project lives in the subfolder proj/."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self.proj = top / "proj"
        self.proj.mkdir(parents=True)
        git(top, "init", "-q", "-b", "main")
        git(top, "config", "user.name", "Test")
        git(top, "config", "user.email", "test@example.com")
        git(top, "config", "commit.gpgsign", "false")
        self.write("pyproject.toml", '[project]\nname = "proj"\nversion = "0"\n')
        self.write("src/app.py", "print('hi')\n")
        self.write("tests/bench/baselines.json", dump(BASE))
        self.write("tests/bench/report.md", "# Methodology\n\nv1 runners.\n")
        self.commit("initial", T0)

    def write(self, rel: str, text: str) -> None:
        p = self.proj / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    def commit(self, msg: str, date: str = T_PR) -> None:
        git(self.top, "add", "-A")
        git(self.top, "commit", "-q", "-m", msg, date=date)

    def branch(self, name: str = "refresh") -> None:
        git(self.top, "checkout", "-q", "-b", name)

    def baselines(self, data: dict[str, Any]) -> None:
        self.write("tests/bench/baselines.json", dump(data))

    def touch_report(self, text: str = "# Methodology\n\nv2 runners, 5 runs, median.\n") -> None:
        self.write("tests/bench/report.md", text)

    def check(self, **kw: Any):
        return run_check(load_config(self.proj), kw.pop("base", "main"), **kw)

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(main, ["-C", str(self.proj), *args], catch_exceptions=False)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.branch()
    return r


def refreshed(key: str, value: float, reason: str = "deps — msgspec 0.19") -> dict[str, Any]:
    data = json.loads(json.dumps(BASE))
    data[key]["value"] = value
    data[key]["notes"] = f"Median of 5 runs; 2026-02-01; reason: {reason}"
    return data


def statuses(report: Any) -> dict[str, str]:
    return {i.rule: i.status for i in report.items}


def failing(report: Any) -> list[str]:
    return [i.rule for i in report.violations]


def details(report: Any, rule: str) -> list[str]:
    """The detail lines of one rule's item."""
    return list(next(i for i in report.items if i.rule == rule).details)


# --- a legitimate refresh -----------------------------------------------------------------


def test_legitimate_single_key_refresh_is_clean(repo: Repo) -> None:
    repo.baselines(refreshed("b.ops", 2100.0))
    repo.touch_report()
    repo.write("README.md", "# proj\n\nmethodology note\n")
    repo.write("docs/bench.md", "how we measure\n")
    repo.commit("bench: refresh baselines (reason: deps)")
    report = repo.check()
    assert report.ok, [(i.rule, i.details) for i in report.violations]
    st = statuses(report)
    assert st["scope"] == st["units-thresholds"] == st["notes"] == st["report"] == "pass"
    assert st["blanket"] == st["regression"] == st["rapid"] == st["removed"] == "pass"
    assert st["evidence"] == "skip"
    assert [d.key for d in report.deltas] == ["b.ops"]
    r = repo.cli("check", "--base", "main")
    assert r.exit_code == 0, r.output
    assert "result: clean" in r.output
    assert "b.ops: 2,000 -> 2,100 ops/sec (+5.0%)  reason: deps — msgspec 0.19" in r.output


def test_refresh_made_by_benchgate_passes_check(repo: Repo) -> None:
    """End to end: `benchgate refresh` output, committed, is exactly what `check` accepts."""
    runs = make_runs("c", {"ops": [3090.0, 3100.0, 3095.0, 3098.0, 3093.0]}, day="2026-02-01")
    config = load_config(repo.proj)
    out = repo.top.parent / "out"
    write_bench_runs(out, "c", runs)
    text = config.baselines_path.read_text()
    plan = plan_refresh(
        config, {"c": runs}, text, RefreshOptions(reason="algorithmic", why="faster c")
    )
    assert plan.ok, plan.refusals
    write_refresh(config, plan, render_report(plan, config.report_path.read_text()))
    repo.commit("bench: refresh baselines (reason: algorithmic)")
    report = repo.check(evidence_dir=out)
    assert report.ok, [(i.rule, i.details) for i in report.violations]
    assert statuses(report)["evidence"] == "pass"
    r = repo.cli("check", "--base", "main", "--evidence", str(out), "--format", "markdown")
    assert r.exit_code == 0, r.output
    assert "### benchgate check: ✅ clean" in r.output
    assert "- [x] New values match the evidence" in r.output
    assert "- [ ] Reviewer sign-off" in r.output


# --- each violation -----------------------------------------------------------------------


def test_scope_other_files_changed(repo: Repo) -> None:
    repo.baselines(refreshed("b.ops", 2100.0))
    repo.touch_report()
    repo.write("src/app.py", "print('faster')\n")
    repo.commit("refresh and code")
    report = repo.check()
    assert failing(report) == ["scope"]
    assert details(report, "scope") == ["also changes `proj/src/app.py`"]


def test_scope_rule_paths() -> None:
    b, r = "proj/tests/bench/baselines.json", "proj/tests/bench/report.md"
    assert is_scope_ok(b, b, r) and is_scope_ok(r, b, r)
    assert is_scope_ok("README.md", b, r) and is_scope_ok("proj/README.rst", b, r)
    assert is_scope_ok("docs/x/y.md", b, r) and is_scope_ok("proj/doc/z.txt", b, r)
    assert not is_scope_ok("proj/src/app.py", b, r)
    assert not is_scope_ok("proj/pyproject.toml", b, r)
    assert not is_scope_ok("docs.py", b, r)


def test_new_metric_in_a_feature_pr_is_not_a_refresh(repo: Repo) -> None:
    data = json.loads(json.dumps(BASE))
    data["f.ops"] = entry(42.0, notes="new bench")
    repo.baselines(data)
    repo.write("src/app.py", "print('feature')\n")
    repo.commit("feature with its bench")
    report = repo.check()
    assert report.ok
    assert statuses(report)["scope"] == "skip"


@pytest.mark.parametrize(
    "change, detail",
    [
        ({"unit": "MB/sec"}, 'unit "ops/sec" -> "MB/sec"'),
        ({"degradation_pct_max": 0.3}, "degradation_pct_max 0.15 -> 0.3"),
        ({"variance_pct_warn": 0.1}, "variance_pct_warn 0.05 -> 0.1"),
        ({"higher_is_better": False}, "higher_is_better true -> false"),
    ],
)
def test_unit_direction_or_threshold_changed(
    repo: Repo, change: dict[str, Any], detail: str
) -> None:
    data = refreshed("b.ops", 2100.0)
    data["b.ops"].update(change)
    repo.baselines(data)
    repo.touch_report()
    repo.commit("loosen")
    report = repo.check()
    assert "units-thresholds" in failing(report)
    assert details(report, "units-thresholds") == [f"`b.ops`: {detail}"]


def test_explicit_default_threshold_is_not_a_change(repo: Repo) -> None:
    data = refreshed("b.ops", 2100.0)
    data["b.ops"]["degradation_pct_max"] = 0.15
    repo.baselines(data)
    repo.touch_report()
    repo.commit("explicit default")
    assert repo.check().ok


def test_key_removed(repo: Repo) -> None:
    data = json.loads(json.dumps(BASE))
    del data["e.ops"]
    repo.baselines(data)
    repo.commit("drop e")
    report = repo.check()
    assert "removed" in failing(report)
    assert details(report, "removed") == ["`e.ops` removed"]


def test_value_changed_notes_did_not(repo: Repo) -> None:
    data = json.loads(json.dumps(BASE))
    data["b.ops"]["value"] = 2100.0
    repo.baselines(data)
    repo.touch_report()
    repo.commit("bump")
    assert failing(repo.check()) == ["notes"]


def test_report_not_updated(repo: Repo) -> None:
    repo.baselines(refreshed("b.ops", 2100.0))
    repo.commit("refresh without report")
    report = repo.check()
    assert failing(report) == ["report"]


def test_blanket_shift(repo: Repo) -> None:
    data = json.loads(json.dumps(BASE))
    for i, k in enumerate(KEYS[:4]):
        data[k]["value"] = data[k]["value"] * (0.90 + 0.01 * i)  # -10%, -9%, -8%, -7%
        data[k]["notes"] = "Median of 5 runs; reason: feature — slower everywhere"
    repo.baselines(data)
    repo.touch_report()
    repo.commit("bump everything")
    report = repo.check()
    assert failing(report) == ["blanket"]
    detail = details(report, "blanket")[0]
    assert detail.startswith("4 of 5 keys moved the worse way by 8.5% ± 3 points")


def test_blanket_shift_needs_similar_ratios(repo: Repo) -> None:
    data = json.loads(json.dumps(BASE))
    for k, f in zip(KEYS, [0.98, 0.90, 0.95, 0.88, 0.99], strict=True):
        data[k]["value"] = data[k]["value"] * f
        data[k]["notes"] = "reason: feature — a mix"
    repo.baselines(data)
    repo.touch_report()
    repo.commit("mixed")
    assert "blanket" not in failing(repo.check())


def test_blanket_shift_rule_unit() -> None:
    assert blanket_shift({"a": 0.1, "b": 0.11, "c": 0.09}, 3) is not None
    assert blanket_shift({"a": 0.1, "b": 0.11}, 2) is None  # at least 3 keys
    assert blanket_shift({"a": 0.1, "b": 0.11, "c": 0.09}, 4) is None  # 75% < 80%
    assert blanket_shift({"a": 0.1, "b": 0.11, "c": 0.09, "d": 0.1}, 5) is not None  # 80%
    assert blanket_shift({"a": 0.02, "b": 0.10, "c": 0.18}, 3) is None  # not similar


def test_regression_without_note(repo: Repo) -> None:
    repo.baselines(refreshed("b.ops", 1600.0))  # -20% past the 15% threshold
    repo.touch_report()
    repo.commit("accept slower b")
    report = repo.check()
    assert failing(report) == ["regression"]
    detail = details(report, "regression")[0]
    assert detail.startswith("`b.ops`: -20.0% the worse way (from 2000 to 1600)")


def test_regression_with_accepted_note(repo: Repo) -> None:
    data = refreshed("b.ops", 1600.0)
    data["b.ops"]["notes"] += "; accepted regression: -20.0% from 2000 (--accept-regression)"
    repo.baselines(data)
    repo.touch_report()
    repo.commit("accept slower b")
    assert repo.check().ok


def test_lower_is_better_direction_from_unit(repo: Repo) -> None:
    data = json.loads(json.dumps(BASE))
    data["f.lat"] = {"value": 10.0, "unit": "ms", "notes": "x"}
    git(repo.top, "checkout", "-q", "main")
    repo.baselines(data)
    repo.commit("add latency", T0)
    git(repo.top, "checkout", "-q", "refresh")
    git(repo.top, "merge", "-q", "--ff-only", "main")
    data["f.lat"] = {"value": 12.0, "unit": "ms", "notes": "reason: deps — slower"}
    repo.baselines(data)
    repo.touch_report()
    repo.commit("slower latency")
    report = repo.check()
    assert failing(report) == ["regression"]


def _refresh_again_on_a_branch(repo: Repo) -> str:
    """After an earlier refresh of a.ops reached main: a PR refreshing b.ops, failing `rapid`.

    Returns the rapid rule's detail line.
    """
    repo.branch()
    data = refreshed("a.ops", 1100.0, "hardware — CI v2")
    data["b.ops"]["value"] = 2100.0
    data["b.ops"]["notes"] = "reason: deps — again"
    repo.baselines(data)
    repo.touch_report("# Methodology\n\nv3\n")
    repo.commit("bench: refresh baselines (reason: deps)")
    report = repo.check()
    assert failing(report) == ["rapid"]
    return details(report, "rapid")[0]


def test_rapid_edit(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    # An earlier refresh landed on main four days before this PR.
    repo.baselines(refreshed("a.ops", 1100.0, "hardware — CI v2"))
    repo.touch_report("# Methodology\n\nv2\n")
    repo.commit("bench: refresh baselines (reason: hardware)", "2026-01-28T12:00:00+00:00")
    detail = _refresh_again_on_a_branch(repo)
    assert "2026-01-28 bench: refresh baselines (reason: hardware)" in detail
    assert repo.check(rapid_days=3).ok
    r = repo.cli("check", "--base", "main", "--rapid-days", "3")
    assert r.exit_code == 0, r.output


def test_rapid_edit_ignores_added_keys_and_old_changes(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    data = json.loads(json.dumps(BASE))
    data["f.ops"] = entry(1.0)
    repo.baselines(data)
    repo.commit("add a metric", "2026-01-30T12:00:00+00:00")
    repo.branch()
    data = refreshed("b.ops", 2100.0)
    data["f.ops"] = entry(1.0)
    repo.baselines(data)
    repo.touch_report()
    repo.commit("refresh b")
    assert repo.check().ok


def test_evidence_mismatch(repo: Repo, tmp_path: Path) -> None:
    repo.baselines(refreshed("b.ops", 2500.0))
    repo.touch_report()
    repo.commit("made-up number")
    runs = make_runs("b", {"ops": [2090.0, 2100.0, 2110.0, 2105.0, 2095.0]}, day="2026-02-01")
    out = tmp_path / "evidence"
    write_bench_runs(out, "b", runs)
    report = repo.check(evidence_dir=out)
    assert "evidence" in failing(report)
    detail = details(report, "evidence")[0]
    assert detail == "`b.ops`: 2500 is outside the 5 runs' range [2090, 2110] (median 2100)"


def test_invalid_baselines_at_head(repo: Repo) -> None:
    repo.write("tests/bench/baselines.json", "{not json")
    repo.commit("oops")
    report = repo.check()
    assert failing(report) == ["valid"]


def test_nothing_changed(repo: Repo) -> None:
    repo.write("src/app.py", "print('x')\n")
    repo.commit("code only")
    report = repo.check()
    assert report.ok and report.note and "nothing to review" in report.note


def test_default_base_is_the_default_branch(repo: Repo) -> None:
    repo.baselines(refreshed("b.ops", 2100.0))
    repo.commit("no report")
    r = repo.cli("check")
    assert r.exit_code == 1
    assert "merge-base of main and HEAD" in r.output
    assert "[FAIL] report:" in r.output


def test_no_default_branch_is_exit_2(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    git(repo.top, "branch", "-m", "trunk")
    r = repo.cli("check")
    assert r.exit_code == 2
    assert "no default branch found" in r.output and "--base" in r.output


def test_bad_input_exit_2(repo: Repo, tmp_path: Path) -> None:
    r = repo.cli("check", "--base", "no-such-branch")
    assert r.exit_code == 2
    assert "unknown revision 'no-such-branch'" in r.output
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n')
    r = CliRunner().invoke(main, ["-C", str(lone), "check"], catch_exceptions=False)
    assert r.exit_code == 2
    assert "not a git repository" in r.output


def test_formats(repo: Repo) -> None:
    repo.baselines(refreshed("b.ops", 2100.0))
    repo.commit("no report")
    r = repo.cli("check", "--base", "main", "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.output)
    assert doc["ok"] is False and doc["violations"] == 1
    assert {i["rule"] for i in doc["items"]} >= {"scope", "report", "blanket", "rapid"}
    assert doc["changes"][0]["key"] == "b.ops" and doc["changes"][0]["new"] == 2100.0
    md = render_check_markdown(repo.check())
    assert "### benchgate check: ❌ 1 violation" in md
    assert "- [ ] proj/tests/bench/report.md updated with the methodology" in md
    assert "  - values of 1 key(s) changed but proj/tests/bench/report.md did not" in md
    assert "- [x] No key removed" in md
    assert "- ➖ New values match the evidence" in md


def test_evaluate_is_pure(tmp_path: Path) -> None:
    from benchgate.config import Config

    old = dump(BASE)
    new = dump(refreshed("a.ops", 1040.0))
    inputs = CheckInputs(
        baselines_rel="b.json",
        report_rel="r.md",
        old_baselines=old,
        new_baselines=new,
        old_report="x",
        new_report="y",
        changed_files=["b.json", "r.md"],
        recent_edits=None,
    )
    deltas, items = evaluate(inputs, Config(root=tmp_path))
    assert [d.key for d in deltas] == ["a.ops"]
    by_rule = {i.rule: i.status for i in items}
    assert by_rule["rapid"] == "skip" and "fail" not in by_rule.values()


def test_rapid_edit_through_a_merge_commit(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    git(repo.top, "checkout", "-q", "-b", "earlier")
    repo.baselines(refreshed("a.ops", 1100.0, "hardware — CI v2"))
    repo.touch_report("# Methodology\n\nv2\n")
    repo.commit("bench: refresh baselines (reason: hardware)", "2026-01-10T12:00:00+00:00")
    git(repo.top, "checkout", "-q", "main")
    # Merged (with a merge commit) three days before the PR: on the base branch since then.
    git(
        repo.top,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge earlier refresh",
        "earlier",
        date="2026-01-29T12:00:00+00:00",
    )
    detail = _refresh_again_on_a_branch(repo)
    assert "2026-01-29 Merge earlier refresh" in detail


def test_unrelated_histories_exit_2(repo: Repo) -> None:
    git(repo.top, "checkout", "-q", "--orphan", "island")
    repo.write("src/app.py", "print('island')\n")
    repo.commit("island")
    r = repo.cli("check", "--base", "main")
    assert r.exit_code == 2
    assert "no common ancestor" in r.output


def test_the_refresh_record_explains_a_change_and_notes_stay(repo: Repo) -> None:
    """A refresh writes its record in `refreshed` and leaves a person's notes: the notes
    rule, the reason shown and the accepted-regression marker all read the record."""
    data = json.loads(json.dumps(BASE))
    data["b.ops"]["value"] = 1600.0  # -20%: past the threshold, accepted in the record
    data["b.ops"]["refreshed"] = (
        "Median of 5 runs; 2026-02-01; accepted regression: -20.0% from 2000 "
        "(--accept-regression); reason: deps — msgspec 0.19"
    )
    repo.baselines(data)
    repo.touch_report()
    repo.commit("bench: refresh baselines (reason: deps)")
    report = repo.check()
    assert report.ok, [(i.rule, i.details) for i in report.violations]
    assert report.deltas[0].reason == "deps — msgspec 0.19"
    assert report.deltas[0].new is not None
    assert report.deltas[0].new["notes"] == BASE["b.ops"]["notes"]
