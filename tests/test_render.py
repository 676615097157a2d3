"""One formatting layer: numbers, CPU lists and escaping, the same in every output.

The injection tests push hostile keys, units, reasons, stderr tails and environment
values through every renderer (text table, run progress lines, A/B text and markdown,
PR comment, step summary, annotations, JUnit, report.md, the refresh report and PR body,
`check`) and assert that none of them lets the text out of its place.
"""

from __future__ import annotations

import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from benchgate.ab.run import ABResult, paired_verdict
from benchgate.baselines.history import EntryDelta
from benchgate.baselines.refresh import RefreshOptions, plan_refresh
from benchgate.baselines.refresh_report import parse_baseline_environment, pr_body, render_report
from benchgate.baselines.review import (
    CheckItem,
    CheckReport,
    render_check_markdown,
    render_check_text,
)
from benchgate.cli import main
from benchgate.cli.measure import _Display
from benchgate.config import Config
from benchgate.judge.compare import compare
from benchgate.judge.reduce import reduce_runs
from benchgate.model import (
    Baseline,
    Comparison,
    Interval,
    RunRecord,
    RunStatus,
    Status,
    Verdict,
)
from benchgate.render import fmt
from benchgate.render.ab import render_ab_markdown, render_ab_text
from benchgate.render.github import format_markdown, github_annotations, step_summary
from benchgate.render.junit import junit_xml
from benchgate.render.report import render_out_report, render_text
from benchgate.run.results import write_bench_runs
from benchgate.run.runner import Progress
from benchgate.store.series import Point, Series
from benchgate.trend.analyze import TrendOptions, analyze
from benchgate.trend.render import render_markdown as trend_markdown
from benchgate.trend.render import render_text as trend_text
from conftest import make_env, make_runs

# --- numbers and lists --------------------------------------------------------------


@pytest.mark.parametrize(
    "x, text",
    [
        (None, "-"),
        (0.0, "0"),
        (1091640.3, "1,091,640"),
        (12345.6, "12,346"),
        (1234.56, "1,235"),
        (489.93, "489.9"),
        (0.0041234, "0.004123"),
        (-2.5, "-2.500"),
        (1.2345e-5, "1.234e-05"),
        (float("inf"), "inf"),
    ],
)
def test_num(x: float | None, text: str) -> None:
    assert fmt.num(x) == text


@pytest.mark.parametrize(
    "x, text",
    [
        (1318273.4, "1318270"),
        (520.41234, "520.412"),
        (0.000123456789, "0.000123457"),
        (1005.0, "1005"),
        (2.5, "2.5"),
        (12345678901.0, "12345700000"),
        (1e-9, "1e-09"),
    ],
)
def test_stored_value(x: float, text: str) -> None:
    import json

    assert fmt.stored_value(x) == text
    assert json.loads(text) == pytest.approx(x, rel=1e-5)


def test_stored_value_refuses_nan() -> None:
    with pytest.raises(ValueError):
        fmt.stored_value(float("nan"))


def test_percentages_and_intervals() -> None:
    assert fmt.pct(3.25) == "+3.2%" and fmt.pct(-17.34) == "-17.3%" and fmt.pct(None) == "-"
    assert fmt.pct(5.0, signed=False) == "5.0%"
    assert fmt.share(0.052) == "5.2%"
    assert fmt.ratio_pct(1.052) == "+5.2%"
    iv = Interval(0.99, 1.02, 0.95, "bootstrap")
    assert fmt.interval(iv) == "95% CI -1.0%..+2.0%"
    assert fmt.ratio_interval(iv) == "0.990..1.020 (95%)"
    assert fmt.interval(None) is None and fmt.ratio_interval(None) == "-"


def test_cpus_one_text() -> None:
    assert fmt.cpus([2, 3, 4, 7]) == "2-4,7"
    assert fmt.cpus([3, 2]) == "2-3"
    assert fmt.cpus([0]) == "0"
    assert fmt.cpus("all") == "all" and fmt.cpus(None) == "all" and fmt.cpus([]) == "all"
    assert fmt.cpus(["x\n::y"]) == "x\\n::y"


def test_fence_is_longer_than_any_backtick_run() -> None:
    lines = fmt.fence("a\n````\nb ``````` c", "text")
    assert lines[0] == "````````text" and lines[-1] == "````````"
    assert fmt.fence("plain")[0] == "```"


# --- the same value everywhere ------------------------------------------------------

VALUE = 1091640.3
SHOWN = "1,091,640"


def _one_metric_outputs(tmp_path: Path) -> dict[str, str]:
    """Every output that shows a value, for one metric measured at VALUE."""
    runs = {"vm": make_runs("vm", {"steps": [VALUE] * 5}, "steps/sec")}
    reduced = reduce_runs(runs)
    base = Baseline("vm.steps", VALUE * 1.2, "steps/sec", 0.15, 0.05, True, None, {})
    comparison = compare(reduced, {"vm.steps": base})
    v = comparison.verdicts[0]
    assert v.current == pytest.approx(VALUE)
    baselines_text = (
        '{\n  "vm.steps": {\n    "value": 1091640.3,\n    "unit": "steps/sec"\n  }\n}\n'
    )
    plan = plan_refresh(
        Config(root=tmp_path),
        {"vm": make_runs("vm", {"steps": [VALUE * 1.01] * 5}, "steps/sec")},
        baselines_text,
        RefreshOptions(reason="deps", why="numpy upgrade"),
    )
    assert plan.ok, plan.refusals
    ab = ABResult(
        "main", "a" * 40, "b" * 40, False, 5,
        [paired_verdict("vm.steps", Status.PASS, "steps/sec", True, 0.15, 0.05, "config",
                        ratio=1.0, n=5, baseline=VALUE, current=VALUE)],
        {}, {}, tmp_path / "ab",
    )  # fmt: skip
    return {
        "text": render_text(comparison),
        "markdown": format_markdown(comparison),
        "step summary": step_summary(comparison),
        "annotations": "\n".join(github_annotations(comparison)),
        "junit": junit_xml(comparison),
        "report.md": render_out_report(runs, reduced, comparison),
        "refresh report": render_report(plan, None),
        "pr body": pr_body(plan, Config(root=tmp_path)),
        "ab text": render_ab_text(ab),
        "ab markdown": render_ab_markdown(ab),
    }


def test_a_value_prints_the_same_in_every_output(tmp_path: Path) -> None:
    for name, text in _one_metric_outputs(tmp_path).items():
        assert SHOWN in text, name
        assert "1,092,000" not in text and "1091640.3" not in text.replace(
            '"value": 1091640.3', ""
        ), name


# --- injection ----------------------------------------------------------------------

KEY = "vm.k\n::add-mask::x"
UNIT = "u|<!--"
HOSTILE = "r\r\n::add-mask::y </details> <img src=x onerror=alert(1)> <!-- | \x1b[2J"
TAIL = "Traceback\n```\n::add-mask::z\n</details>\n````\nend"


def _hostile_comparison() -> Comparison:
    verdicts = [
        Verdict(KEY, Status.FAIL, 100.0, 80.0, UNIT, -20.0, True, 0.15, 0.05, n=5),
        Verdict("vm.e", Status.ERROR, 100.0, None, UNIT, None, True, 0.15, 0.05, reason=HOSTILE),
        Verdict("vm.p", Status.PASS, 100.0, 100.0, "ops", 0.0, True, 0.15, 0.05, n=5),
    ]
    return Comparison(verdicts, warnings=[f"warning {HOSTILE}"])


def _hostile_runs() -> dict[str, list[RunRecord]]:
    env = make_env(
        env_vars={"X": "```\n<!-- benchgate:end environment -->"}, cpu_model="<img src=x>"
    )
    ok = make_runs("vm", {"k\n::add-mask::x": [1.0, 1.1, 0.9, 1.0, 1.0]}, UNIT, env=env)
    err = RunRecord(
        "bad-1", "bad", "inv1", "2026-11-26T10:09:00+00:00", 1.0, RunStatus.ERROR,
        reason=HOSTILE, stderr_tail=TAIL, env=env,
    )  # fmt: skip
    return {"vm": ok, "bad": [err]}


def _text_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    comparison = _hostile_comparison()
    display = _Display(live=False)
    runs = _hostile_runs()
    for r in (*runs["vm"][:1], *runs["bad"]):
        display(Progress(r.bench, 1, 1, 1, 1, 0.0, r))
    progress = capsys.readouterr().err
    ab = _hostile_ab(tmp_path)
    check = _hostile_check()
    return {
        "text table": render_text(comparison),
        "run progress": progress,
        "ab text": render_ab_text(ab),
        "check text": render_check_text(check),
        "junit": junit_xml(comparison),
    }


def _hostile_ab(tmp_path: Path) -> ABResult:
    metrics = [
        paired_verdict(KEY, Status.FAIL, UNIT, True, 0.15, 0.05, "config", ratio=0.8, n=5,
                       baseline=100.0, current=80.0),
        paired_verdict("vm.e", Status.ERROR, UNIT, True, 0.15, 0.05, "config", reason=HOSTILE),
    ]  # fmt: skip
    return ABResult(
        "main\n::add-mask::b", "a" * 40, None, True, 5, metrics, {}, {}, tmp_path / "ab",
        warnings=[f"w {HOSTILE}"],
    )  # fmt: skip


def _hostile_check() -> CheckReport:
    delta = EntryDelta(KEY, "changed", {"value": 1, "unit": UNIT}, {"value": 2, "unit": UNIT})
    item = CheckItem("notes", "Every changed value has new notes", "fail", [f"`{KEY}` {HOSTILE}"])
    return CheckReport("main", "a" * 40, "HEAD", "b" * 40, "c" * 40, "b.json", [delta], [item])


def _md_outputs(tmp_path: Path) -> dict[str, str]:
    comparison = _hostile_comparison()
    runs = _hostile_runs()
    reduced = reduce_runs(runs)
    base = Baseline(KEY, 1.0, UNIT, 0.15, 0.05, True, None, {})
    out_cmp = compare(reduced, {KEY: base})
    env = runs["vm"][0].env
    plan = plan_refresh(
        Config(root=tmp_path),
        {"vm": runs["vm"]},
        "{}",
        RefreshOptions(
            reason="deps", why=f"why {HOSTILE}", only=[KEY], caveats=[f"c {HOSTILE}"],
            allow_noisy=[KEY],
        ),
    )  # fmt: skip
    assert plan.ok, plan.refusals
    assert plan.env == env
    return {
        "pr comment": format_markdown(comparison),
        "step summary": step_summary(comparison),
        "report.md": render_out_report(runs, reduced, out_cmp),
        "refresh report": render_report(plan, None),
        "pr body": pr_body(plan, Config(root=tmp_path)),
        "ab markdown": render_ab_markdown(_hostile_ab(tmp_path)),
        "check markdown": render_check_markdown(_hostile_check()),
    }


def test_no_output_line_starts_a_workflow_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A bench's own stderr tail is quoted verbatim inside a fence (it is for reading);
    # everything else that came from outside must stay inside its line.
    md = {name: _outside_fences(text) for name, text in _md_outputs(tmp_path).items()}
    outputs = {**_text_outputs(tmp_path, capsys), **md}
    for name, text in outputs.items():
        assert "add-mask" in text, name  # the hostile text is shown, not dropped
        for line in text.splitlines():
            assert not line.lstrip().startswith("::"), (name, line)
        assert "\r" not in text and "\x1b" not in text, name


def test_annotations_are_one_line_each() -> None:
    lines = github_annotations(_hostile_comparison())
    assert len(lines) == 3  # FAIL, ERROR, the environment note
    for line in lines:
        assert line.startswith(("::error ", "::notice ")) and "\n" not in line and "\r" not in line
    # The key's newline is escaped in the title property and in the message.
    assert "%0A::add-mask::x" in lines[0] or "\\n::add-mask::x" in lines[0]


def test_junit_stays_well_formed_and_keys_stay_on_their_line() -> None:
    doc = ET.fromstring(junit_xml(_hostile_comparison()))
    names = [c.get("name") for c in doc.iter("testcase")]
    assert KEY in names  # the attribute carries the key as it is; XML escapes it
    for el in doc.iter("system-out"):
        for line in (el.text or "").splitlines():
            assert not line.startswith("::"), line


def _unescaped_pipes(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row))


def _outside_fences(text: str) -> str:
    """The markdown without its fenced blocks (inside them HTML is shown, not interpreted)."""
    out: list[str] = []
    bar: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if bar is None and stripped.startswith("```"):
            bar = re.match("`+", stripped).group(0)  # type: ignore[union-attr]
        elif bar is not None and stripped == bar:
            bar = None
        elif bar is None:
            out.append(line)
    assert bar is None, "a fence is left open"
    return "\n".join(out)


def test_markdown_has_no_raw_html_and_tables_keep_their_shape(tmp_path: Path) -> None:
    for name, full in _md_outputs(tmp_path).items():
        text = _outside_fences(full)
        assert "<img" not in text, name
        assert "<!-- |" not in text and "<!--\n" not in text, name
        comments = re.findall("<!--(.*?)-->", text, re.S)
        assert all(c.strip().startswith("benchgate:") for c in comments), (name, comments)
        assert text.count("<details") == text.count("</details>"), name
        header_cells = 0
        for line in text.splitlines():
            if line.startswith("| ---") or line.startswith("| --- "):
                header_cells = _unescaped_pipes(line)
            elif line.startswith("|") and header_cells:
                assert _unescaped_pipes(line) == header_cells, (name, line)
            elif not line.startswith("|"):
                header_cells = 0


def test_a_stderr_tail_cannot_close_its_fence(tmp_path: Path) -> None:
    report = _md_outputs(tmp_path)["report.md"]
    lines = report.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip().startswith("`````"))
    bar = lines[start].strip()
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == bar)
    inside = "\n".join(ln.strip() for ln in lines[start + 1 : end])
    assert "Traceback" in inside and "end" in inside and "</details>" in inside


def test_environment_block_survives_hostile_values(tmp_path: Path) -> None:
    text = _md_outputs(tmp_path)["refresh report"]
    env: Any = parse_baseline_environment(text)
    assert env is not None
    assert env["env_vars"]["X"] == "```\n<!-- benchgate:end environment -->"
    assert env["cpu_model"] == "<img src=x>"


def test_live_display_prints_each_finished_run(capsys: pytest.CaptureFixture[str]) -> None:
    display = _Display(live=True)  # rich's bar; stderr is not a terminal here
    try:
        for r in _hostile_runs()["vm"][:2]:
            display(Progress(r.bench, 1, 1, 1, 2, 0.0))
            display(Progress(r.bench, 1, 1, 1, 2, 0.1, r))
    finally:
        display.close()
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("[run 1/2] bench 1/1 vm")]
    assert len(lines) == 2 and all("k\\n::add-mask::x=" in ln for ln in lines)


def test_plain_and_markdown_survive_unencodable_text() -> None:
    assert fmt.plain("a\ud800b\u2028c") == "a\\ud800b\\u2028c"
    assert fmt.md_text("x\ud800y|<b>") == "x y\\|&lt;b>"
    fmt.plain("k\ud800").encode("utf-8")  # printable: no lone surrogate left


def test_an_error_message_stays_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.benchgate]\n")
    write_bench_runs(
        tmp_path / "tests" / "reports" / "bench", "vm", make_runs("vm", {"k": [1.0] * 3})
    )
    (tmp_path / "tests" / "bench").mkdir(parents=True)
    (tmp_path / "tests" / "bench" / "baselines.json").write_text(
        '{"a.b\\n::add-mask::x": {"value": "x", "unit": "s"}}\n'
    )
    out = CliRunner().invoke(main, ["-C", str(tmp_path), "compare"])
    assert out.exit_code == 2, out.output
    lines = out.output.splitlines()
    assert len(lines) == 1 and "a.b\\n::add-mask::x" in lines[0], lines


def _hostile_trend() -> list[Any]:
    """A metric with a hostile key and unit whose level drops by 12% at point 90."""
    rng = random.Random(1)
    values = [(1000.0 if i < 90 else 880.0) * rng.gauss(1.0, 0.01) for i in range(100)]
    points = tuple(
        Point(
            commit=f"{i:040x}",
            time=f"2026-01-01T{i % 24:02d}:00:00+00:00",
            value=v,
            n=5,
            lo=v * 0.99,
            hi=v * 1.01,
            stdev=v * 0.005,
            baseline=1000.0,
        )
        for i, v in enumerate(values)
    )
    return [analyze(Series(key=KEY, unit=UNIT, higher_is_better=True, points=points))]


def test_trend_outputs_keep_hostile_keys_in_place() -> None:
    trends = _hostile_trend()
    text = trend_text(trends, TrendOptions())
    md = trend_markdown(trends, TrendOptions())
    assert "add-mask" in text and "add-mask" in md
    for out in (text, md):
        assert not any(ln.lstrip().startswith("::") for ln in out.splitlines())
    assert "<!--" not in md and "u\\|&lt;!--" in md
