"""CI output: GitHub annotations, the PR comment, the step summary and JUnit XML."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchgate import ci
from benchgate.cli import main
from benchgate.errors import BenchgateError
from benchgate.model import GATING, Comparison, Interval, Spread, Status, Verdict
from conftest import const_bench, write_baselines


def _spread(n: int, v: float) -> Spread:
    return Spread(
        n=n, min=v * 0.98, max=v * 1.02, stdev=v * 0.01, cv=0.01, iqr_rel=0.01, mad_rel=0.005
    )


def verdict(
    key: str,
    status: Status,
    base: float | None,
    cur: float | None,
    unit: str | None = "ops/sec",
    hib: bool | None = True,
    **kw: object,
) -> Verdict:
    delta = (cur - base) / base * 100 if base is not None and cur is not None else None
    return Verdict(
        key=key,
        status=status,
        baseline=base,
        current=cur,
        unit=unit,
        delta_pct=delta,
        higher_is_better=hib,
        degradation_pct_max=0.15 if base is not None else None,
        variance_pct_warn=0.05 if base is not None else None,
        n=5 if cur is not None else 0,
        spread=_spread(5, cur) if cur is not None else None,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def comparison() -> Comparison:
    """One verdict of every status, in baselines order (not attention order)."""
    return Comparison(
        verdicts=[
            verdict("a.pass_ops", Status.PASS, 1000.0, 990.0),
            verdict("a.fast_ops", Status.IMPROVED, 1000.0, 1200.0),
            verdict(
                "vm.steps_per_sec",
                Status.FAIL,
                1_320_000.0,
                1_091_640.0,
                "steps/sec",
                interval=Interval(0.80, 0.85, 0.95, "bootstrap"),
                unsure=False,
            ),
            verdict("enc.MBps", Status.WARN, 520.4, 489.9, "MB/sec", unsure=True),
            verdict("lat.p99_s", Status.FAIL, 0.004, 0.005, "s", hib=False),
            verdict("gpu.kernels", Status.SKIPPED, 5.0, None, reason="no accelerator here"),
            verdict("gone.ops", Status.MISSING, 100.0, None, reason="its bench did not run"),
            verdict(
                "crash.ops",
                Status.ERROR,
                100.0,
                None,
                reason="exit code 1\nTraceback: RuntimeError: kaboom\x1b[0m",
            ),
            verdict("new.ops", Status.NEW, None, 5123.0, reason="not in baselines.json"),
        ],
        warnings=["Scaling governor is powersave, not performance", "3 runs were disturbed"],
    )


# --- annotations --------------------------------------------------------------------


def test_annotations_one_per_gating_and_warn(comparison: Comparison) -> None:
    lines = ci.github_annotations(comparison)
    errors = [line for line in lines if line.startswith("::error ")]
    warnings = [line for line in lines if line.startswith("::warning ")]
    notices = [line for line in lines if line.startswith("::notice ")]
    assert len(errors) == sum(1 for v in comparison.verdicts if v.status in GATING) == 5
    assert len(warnings) == 1 and "benchgate WARN enc.MBps" in warnings[0]
    assert len(notices) == 2
    # Attention order: the FAILs first (GitHub shows only the first 10 of each kind).
    assert errors[0].startswith("::error title=benchgate FAIL vm.steps_per_sec::")
    assert [e.split("::")[1].split()[2] for e in errors] == [
        "FAIL",
        "FAIL",
        "ERROR",
        "MISSING",
        "NEW",
    ]


def test_annotation_text(comparison: Comparison) -> None:
    lines = ci.github_annotations(comparison)
    fail = next(line for line in lines if "FAIL vm.steps_per_sec" in line)
    assert fail == (
        "::error title=benchgate FAIL vm.steps_per_sec::vm.steps_per_sec: "
        "baseline 1,320,000 steps/sec, current 1,091,640 steps/sec, delta -17.3%25 "
        "(limit -15%25; 95%25 CI -20.0%25..-15.0%25)"
    )
    lat = next(line for line in lines if "FAIL lat.p99_s" in line)
    assert "delta +25.0%25 (limit +15%25)" in lat  # lower is better: the limit is upward
    new = next(line for line in lines if "NEW new.ops" in line)
    assert "current 5,123 ops/sec" in new and "no baseline" in new
    missing = next(line for line in lines if "MISSING gone.ops" in line)
    assert "its bench did not run" in missing and "baseline 100.0 ops/sec" in missing
    error = next(line for line in lines if "ERROR crash.ops" in line)
    assert "exit code 1" in error  # the first line of the reason


def test_annotations_escape_data_and_properties() -> None:
    v = verdict("we,ird:key.ops", Status.FAIL, 100.0, 50.0, unit="%", reason=None)
    v2 = verdict("x.ops", Status.ERROR, None, None, unit=None, reason="line1\r\nline2 100%")
    v2.reason = "bad unit\nsecond"
    line, err = ci.github_annotations(Comparison([v, v2]))[:2]
    title, message = line.split("::")[1], line.split("::", 2)[2]
    assert title == "error title=benchgate FAIL we%2Cird%3Akey.ops"
    assert "\n" not in line and "\r" not in line
    assert message.startswith(
        "we,ird:key.ops: baseline 100.0 %25, current 50.00 %25, delta -50.0%25"
    )
    assert ci.escape_data("a%b\r\nc") == "a%25b%0D%0Ac"
    assert ci.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert "\n" not in err


def test_annotations_allow_and_file(comparison: Comparison) -> None:
    lines = ci.github_annotations(comparison, allow={Status.NEW}, file="tests/bench/baselines.json")
    new = next(line for line in lines if "NEW new.ops" in line)
    assert new.startswith("::warning file=tests/bench/baselines.json,title=benchgate NEW new.ops::")
    assert "allowed" in new
    assert sum(line.startswith("::error ") for line in lines) == 4


def test_no_annotations_when_all_pass() -> None:
    c = Comparison([verdict("a.ops", Status.PASS, 10.0, 10.0)])
    assert ci.github_annotations(c) == []


# --- markdown -------------------------------------------------------------------------


def test_markdown_verdict_line_counts_every_status(comparison: Comparison) -> None:
    md = ci.format_markdown(comparison)
    first = md.splitlines()[0]
    assert first == (
        "### ❌ benchgate: 2 FAIL, 1 ERROR, 1 MISSING, 1 NEW, 1 WARN, 1 SKIPPED, "
        "1 IMPROVED, 1 PASS — gate failed"
    )
    counts = [int(n) for n in re.findall(r"(\d+) [A-Z]+", first)]
    assert sum(counts) == len(comparison.verdicts)


def test_markdown_regressions_first_rest_collapsed(comparison: Comparison) -> None:
    md = ci.format_markdown(comparison)
    head, _, collapsed = md.partition("<details>")
    assert "</details>" in collapsed
    attention_rows = [r for r in head.splitlines() if r.startswith("| ") and "`" in r]
    assert [r.split("|")[1].split()[-1] for r in attention_rows] == [
        "FAIL",
        "FAIL",
        "ERROR",
        "MISSING",
        "NEW",
        "WARN",
    ]
    summary = re.search(r"<summary>(.*)</summary>", collapsed)
    assert summary and summary.group(1) == "3 more: 1 SKIPPED, 1 IMPROVED, 1 PASS"
    rest_rows = [r for r in collapsed.splitlines() if r.startswith("| ") and "`" in r]
    assert len(rest_rows) == 3
    # Environment notes come before the tables.
    assert md.index("Scaling governor is powersave") < md.index("| status |")


def test_markdown_cells(comparison: Comparison) -> None:
    md = ci.format_markdown(comparison)
    fail = next(r for r in md.splitlines() if "`vm.steps_per_sec`" in r)
    cells = [c.strip() for c in fail.strip("|").split("|")]
    assert cells == [
        "❌ FAIL",
        "`vm.steps_per_sec`",
        "1,320,000",
        "1,091,640",
        "steps/sec",
        "▼ -17.3% worse",
        "limit -15%; 95% CI -20.0%..-15.0%",
    ]
    lat = next(r for r in md.splitlines() if "`lat.p99_s`" in r)
    assert "▲ +25.0% worse" in lat  # up is worse for a latency
    warn = next(r for r in md.splitlines() if "`enc.MBps`" in r)
    assert "unsure" in warn
    improved = next(r for r in md.splitlines() if "`a.fast_ops`" in r)
    assert "▲ +20.0% better" in improved
    new = next(r for r in md.splitlines() if "`new.ops`" in r)
    assert "not in baselines.json" in new
    crash = next(r for r in md.splitlines() if "`crash.ops`" in r)
    assert "exit code 1" in crash and "kaboom" not in crash  # first line of the reason only


def test_markdown_escapes_table_breakers() -> None:
    v = verdict("a.ops", Status.ERROR, 1.0, None, reason="bad | pipe <script> here")
    md = ci.format_markdown(Comparison([v]))
    row = next(r for r in md.splitlines() if "`a.ops`" in r)
    assert "bad \\| pipe &lt;script> here" in row
    assert row.count(" | ") == 6  # seven cells, none split by the pipe in the reason


def test_markdown_gate_passed_and_no_regressions() -> None:
    c = Comparison(
        [verdict("a.ops", Status.PASS, 10.0, 10.1), verdict("b.ops", Status.IMPROVED, 10.0, 12.0)]
    )
    md = ci.format_markdown(c)
    assert md.startswith("### ✅ benchgate: 1 IMPROVED, 1 PASS — gate passed\n")
    assert "No regressions" in md
    assert "<summary>2 more: 1 IMPROVED, 1 PASS</summary>" in md


def test_markdown_allow_relaxes_gate() -> None:
    c = Comparison(
        [verdict("n.ops", Status.NEW, None, 3.0), verdict("a.ops", Status.PASS, 1.0, 1.0)]
    )
    assert "gate failed" in ci.format_markdown(c)
    assert "gate passed (NEW allowed)" in ci.format_markdown(c, allow={Status.NEW})


def test_markdown_empty_comparison() -> None:
    md = ci.format_markdown(Comparison([]))
    assert md.startswith("### ✅ benchgate: no metrics compared — gate passed")
    assert "<details>" not in md


# --- step summary ------------------------------------------------------------------------


def test_step_summary_lists_every_row(comparison: Comparison) -> None:
    text = ci.step_summary(comparison)
    rows = [r for r in text.splitlines() if r.startswith("| ") and "`" in r]
    assert len(rows) == len(comparison.verdicts)
    assert "<details>" not in text
    assert text.splitlines()[0].startswith("### ❌ benchgate: 2 FAIL")


def test_write_step_summary_appends_in_github(
    comparison: Comparison, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier output of this step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    path = ci.write_step_summary(comparison, env=os.environ)
    assert path == summary
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier output of this step\n### ❌ benchgate:")
    assert "`vm.steps_per_sec`" in text and "▼ -17.3% worse" in text
    ci.write_step_summary(comparison, env=os.environ)
    assert summary.read_text(encoding="utf-8").count("### ❌ benchgate:") == 2


def test_write_step_summary_outside_github(comparison: Comparison) -> None:
    assert ci.write_step_summary(comparison, env={}) is None
    assert ci.write_step_summary(comparison, env={"GITHUB_STEP_SUMMARY": ""}) is None


def test_write_step_summary_unwritable(comparison: Comparison, tmp_path: Path) -> None:
    with pytest.raises(BenchgateError, match="step summary"):
        ci.write_step_summary(comparison, env={"GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "f")})


# --- JUnit XML ---------------------------------------------------------------------------

# The shape of the junit-10.xsd schema Jenkins (xunit) and GitLab read: for each element,
# its allowed attributes, its required attributes and its allowed children.
SCHEMA: dict[str, tuple[set[str], set[str], set[str]]] = {
    "testsuites": ({"name", "time", "tests", "failures", "errors"}, set(), {"testsuite"}),
    "testsuite": (
        {
            "name",
            "tests",
            "failures",
            "errors",
            "group",
            "time",
            "skipped",
            "timestamp",
            "hostname",
            "id",
            "package",
            "file",
            "log",
            "url",
        },
        {"name", "tests", "failures", "errors"},
        {"testsuite", "properties", "testcase", "system-out", "system-err"},
    ),
    "properties": (set(), set(), {"property"}),
    "property": ({"name", "value"}, {"name", "value"}, set()),
    "testcase": (
        {"name", "time", "classname", "group"},
        {"name"},
        {"skipped", "error", "failure", "system-out", "system-err"},
    ),
    "failure": ({"type", "message"}, set(), set()),
    "error": ({"type", "message"}, set(), set()),
    "skipped": ({"type", "message"}, set(), set()),
    "system-out": (set(), set(), set()),
    "system-err": (set(), set(), set()),
}
# SUREFIRE_TIME of the schema: digits with optional thousands commas and decimals.
TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?")


def check_shape(el: ET.Element) -> None:
    """Fail unless ``el`` and its subtree fit the junit-10.xsd element/attribute shape."""
    assert el.tag in SCHEMA, f"unknown element <{el.tag}>"
    allowed, required, children = SCHEMA[el.tag]
    assert set(el.attrib) <= allowed, f"<{el.tag}> has {set(el.attrib) - allowed}"
    assert required <= set(el.attrib), f"<{el.tag}> lacks {required - set(el.attrib)}"
    if "time" in el.attrib and el.tag in ("testsuites", "testsuite"):
        assert TIME.fullmatch(el.attrib["time"]), el.attrib["time"]
    for child in el:
        assert child.tag in children, f"<{child.tag}> inside <{el.tag}>"
        check_shape(child)
    if not children:
        assert len(el) == 0


def check_counts(root: ET.Element) -> None:
    """Counts on every suite match its testcases, and the root's are the sums."""
    sums = {"tests": 0, "failures": 0, "errors": 0}
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        got = {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "errors": sum(1 for c in cases if c.find("error") is not None),
            "skipped": sum(1 for c in cases if c.find("skipped") is not None),
        }
        for k, n in got.items():
            assert int(suite.attrib[k]) == n, (suite.attrib["name"], k)
        for k in sums:
            sums[k] += got[k]
    for k, n in sums.items():
        assert int(root.attrib[k]) == n, k
    suite_time = sum(float(s.attrib["time"]) for s in root.findall("testsuite"))
    assert float(root.attrib["time"]) == pytest.approx(suite_time, abs=0.01)


def test_junit_shape_and_counts(comparison: Comparison) -> None:
    xml = ci.junit_xml(
        comparison, bench_times={"vm": 12.5, "a": 3.25}, timestamp="2025-01-02T03:04:05"
    )
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(xml)
    check_shape(root)
    check_counts(root)
    assert root.tag == "testsuites"
    assert root.attrib["tests"] == "9" and root.attrib["failures"] == "4"
    assert root.attrib["errors"] == "1" and root.attrib["time"] == "15.750"
    names = [s.attrib["name"] for s in root.findall("testsuite")]
    assert names == ["a", "vm", "enc", "lat", "gpu", "gone", "crash", "new"]
    vm = root.find("testsuite[@name='vm']")
    assert vm is not None and vm.attrib["time"] == "12.500"
    assert vm.attrib["timestamp"] == "2025-01-02T03:04:05"


def test_junit_testcases(comparison: Comparison) -> None:
    root = ET.fromstring(ci.junit_xml(comparison))
    cases = {c.attrib["name"]: c for c in root.iter("testcase")}
    assert set(cases) == {v.key for v in comparison.verdicts}
    assert cases["vm.steps_per_sec"].attrib["classname"] == "benchgate.vm"
    fail = cases["vm.steps_per_sec"].find("failure")
    assert fail is not None and fail.attrib["type"] == "FAIL"
    assert fail.attrib["message"].startswith("vm.steps_per_sec: baseline 1,320,000 steps/sec")
    assert "delta: -17.3% (worse)" in (fail.text or "")
    for key, typ in (("new.ops", "NEW"), ("gone.ops", "MISSING")):
        el = cases[key].find("failure")
        assert el is not None and el.attrib["type"] == typ
    err = cases["crash.ops"].find("error")
    assert err is not None and err.attrib["type"] == "ERROR"
    assert "kaboom" in (err.text or "")  # the whole reason in the body
    skipped = cases["gpu.kernels"].find("skipped")
    assert skipped is not None and skipped.attrib["message"] == "no accelerator here"
    # WARN passes but says so, with its numbers; PASS rows show their numbers too.
    warn = cases["enc.MBps"]
    assert warn.find("failure") is None and warn.find("error") is None
    out = warn.findtext("system-out") or ""
    assert "status: WARN" in out and "current: 489.9 MB/sec" in out and "unsure" in out
    assert "baseline: 1,000 ops/sec" in (cases["a.pass_ops"].findtext("system-out") or "")
    suite_out = root.find("testsuite/system-out")
    assert suite_out is not None and "powersave" in (suite_out.text or "")


def test_junit_escaping_and_illegal_characters() -> None:
    v = verdict('a.<x&"y">', Status.ERROR, 1.0, None, reason="bad\x1b[31m <b>&amp; \x00 end")
    xml = ci.junit_xml(Comparison([v]))
    root = ET.fromstring(xml)  # parses: escaped and no control characters left
    case = next(root.iter("testcase"))
    assert case.attrib["name"] == 'a.<x&"y">'
    err = case.find("error")
    assert err is not None and "<b>&amp;" in err.attrib["message"]
    assert "\x1b" not in xml and "\x00" not in xml


def test_junit_allow_and_empty() -> None:
    c = Comparison([verdict("n.ops", Status.NEW, None, 3.0)])
    root = ET.fromstring(ci.junit_xml(c, allow={Status.NEW}))
    check_shape(root)
    check_counts(root)
    assert root.attrib["failures"] == "0"
    assert "allowed" in (next(root.iter("testcase")).findtext("system-out") or "")
    empty = ET.fromstring(ci.junit_xml(Comparison([])))
    check_shape(empty)
    assert empty.attrib["tests"] == "0" and len(empty) == 0


def test_shape_check_catches_bad_documents() -> None:
    """The shape check is not vacuous: it rejects what the schema rejects."""
    bad_attr = ET.fromstring('<testsuites skipped="1"/>')
    with pytest.raises(AssertionError):
        check_shape(bad_attr)
    missing = ET.fromstring('<testsuites><testsuite name="x" tests="1"/></testsuites>')
    with pytest.raises(AssertionError):
        check_shape(missing)
    wrong_count = ET.fromstring(
        '<testsuites tests="1" failures="0" errors="0" time="0">'
        '<testsuite name="x" tests="1" failures="0" errors="0" skipped="0" time="0">'
        '<testcase name="k"><failure/></testcase></testsuite></testsuites>'
    )
    with pytest.raises(AssertionError):
        check_counts(wrong_count)


# --- templates entry point -------------------------------------------------------------


def test_ci_template_paths() -> None:
    dest, text = ci.ci_template("github")
    assert dest == ".github/workflows/bench.yml" and "benchgate" in text
    dest, text = ci.ci_template("gitlab")
    assert dest == ".gitlab-ci.bench.yml"
    assert "include:" in text.split("\n\n")[0]  # the header says how to include it
    with pytest.raises(BenchgateError, match="unknown CI kind"):
        ci.ci_template("jenkins")


def test_ci_template_uses_project_paths(tmp_path: Path) -> None:
    from benchgate.config import Config

    cfg = Config(root=tmp_path, baselines="perf/baselines.json", out_dir="build/perf")
    for kind in ("github", "gitlab"):
        _, text = ci.ci_template(kind, cfg)
        assert "perf/baselines.json" in text and "build/perf" in text
        assert ci.TEMPLATE_BASELINES not in text and ci.TEMPLATE_OUT_DIR not in text


def test_new_metric_whose_baseline_the_change_adds_does_not_fail() -> None:
    # compare --baselines-rev: the PR adds the metric and its baseline, as the method asks.
    added = verdict("added.ops", Status.NEW, None, 5123.0, reason="not in baselines.json")
    added.proposed = 5100.0
    bare = verdict("bare.ops", Status.NEW, None, 7.0, reason="not in baselines.json")
    c = Comparison([added, bare])
    assert added.added_with_baseline and not bare.added_with_baseline
    assert [v.key for v in c.gating()] == ["bare.ops"]
    lines = ci.github_annotations(c)
    note = next(line for line in lines if "added.ops" in line)
    assert note.startswith("::notice ")
    assert "PR proposes 5,100 ops/sec" in note and "baseline added by this change" in note
    assert any(line.startswith("::error ") and "bare.ops" in line for line in lines)
    root = ET.fromstring(ci.junit_xml(c))
    cases = {x.attrib["name"]: x for x in root.iter("testcase")}
    assert cases["added.ops"].find("failure") is None
    assert cases["bare.ops"].find("failure") is not None
    md = ci.format_markdown(c)
    row = next(r for r in md.splitlines() if "`added.ops`" in r)
    assert "PR proposes 5,100 ops/sec" in row


def test_compare_under_github_actions_appends_the_table_to_the_step_summary(
    project: Path, write_bench: Callable[[str, str], Path], tmp_path: Path
) -> None:
    """What docs/ci.md promises: under GITHUB_ACTIONS=true `compare` annotates and appends
    the verdict table to $GITHUB_STEP_SUMMARY (appends: earlier output stays)."""
    write_bench("a", const_bench({"ops": (500.0, "ops/sec")}))
    write_baselines(project, {"a.ops": {"value": 1000.0, "unit": "ops/sec"}})
    runner = CliRunner()
    assert runner.invoke(main, ["-C", str(project), "run", "--repeat", "1"]).exit_code == 0
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step output\n")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    r = runner.invoke(main, ["-C", str(project), "compare"], env=env)
    assert r.exit_code == 1, r.output
    assert "::error title=benchgate FAIL a.ops::" in r.stdout
    text = summary.read_text()
    assert text.startswith("earlier step output\n### ")
    assert "gate failed" in text and "FAIL" in text
    assert "a.ops" in text
    # Twice appends twice; --no-step-summary (or --no-github) leaves the file alone.
    runner.invoke(main, ["-C", str(project), "compare"], env=env)
    assert summary.read_text().count("a.ops") == 2 * text.count("a.ops")
    before = summary.read_text()
    runner.invoke(main, ["-C", str(project), "compare", "--no-step-summary"], env=env)
    runner.invoke(main, ["-C", str(project), "compare", "--no-github"], env=env)
    assert summary.read_text() == before
    # Outside GitHub Actions nothing is written, even with the variable set.
    runner.invoke(main, ["-C", str(project), "compare"], env={**env, "GITHUB_ACTIONS": ""})
    assert summary.read_text() == before
