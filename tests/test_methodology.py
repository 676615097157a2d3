"""report.md blocks, the baseline environment round trip, the PR title and body."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchgate.baselines.refresh import RefreshOptions, RefreshPlan, plan_refresh
from benchgate.baselines.refresh_report import (
    ENV_SECTION,
    REFRESH_SECTION,
    compact_json,
    parse_baseline_environment,
    pr_body,
    pr_title,
    read_baseline_environment,
    read_section,
    render_report,
    replace_section,
)
from benchgate.config import Config
from benchgate.model import RunRecord
from conftest import make_env, make_runs

ENV = make_env(governor={"2": "performance", "3": "performance"})


def runs(
    values: list[float], pinned: bool = True, env: dict[str, Any] | None = None
) -> dict[str, list[RunRecord]]:
    return {
        "enc": make_runs(
            "enc", {"MBps": values}, "MB/sec", env=env if env is not None else ENV, pinned=pinned
        )
    }


BASELINES = '{\n  "enc.MBps": {\n    "value": 500,\n    "unit": "MB/sec"\n  }\n}\n'
VALUES = [520.0, 521.0, 519.5, 520.4, 522.0]


def make_plan(tmp_path: Path, values: list[float] = VALUES, **kw: Any) -> RefreshPlan:
    pinned = kw.pop("pinned", True)
    opts = RefreshOptions(reason="deps", why="msgspec 0.18 -> 0.19", **kw)
    plan = plan_refresh(Config(root=tmp_path), runs(values, pinned), BASELINES, opts)
    assert plan.ok, plan.refusals
    return plan


# --- blocks -----------------------------------------------------------------------------


def test_replace_section_appends_then_replaces_in_place() -> None:
    text = "# Notes\n\nHand-written intro.\n"
    once = replace_section(text, "x", "first")
    assert (
        once
        == "# Notes\n\nHand-written intro.\n\n<!-- benchgate:begin x -->\nfirst\n<!-- benchgate:end x -->\n"
    )
    tail = "\n## Upcoming work\n\n- numpy 2\n"
    twice = replace_section(once + tail, "x", "second\nline")
    assert twice == (
        "# Notes\n\nHand-written intro.\n\n<!-- benchgate:begin x -->\nsecond\nline\n"
        "<!-- benchgate:end x -->\n" + tail
    )
    assert read_section(twice, "x") == "second\nline\n"
    assert read_section(twice, "y") is None


def test_replace_section_in_empty_report_adds_a_title() -> None:
    out = replace_section("", "x", "c")
    assert out.startswith("# Benchmark methodology\n\n<!-- benchgate:begin x -->")


def test_report_contents(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, caveats=["encoder rewrite lands next sprint"])
    text = render_report(plan, None)
    section = read_section(text, REFRESH_SECTION)
    assert section is not None
    for expected in (
        "deps",
        "msgspec 0.18 -> 0.19",
        "| Machine | bench1 |",
        "| CPU model | AMD EPYC 7B13 |",
        "| Cores | 8 logical, 4 physical |",
        "| CPUs used | 2-3 |",
        "| Python | 3.12.3 (CPython) |",
        "`msgspec` 0.18.6",
        "`numpy` 1.26.4",
        "benchgate run --repeat 5 --cpus 2-3",
        "pinned to CPUs 2-3",
        "PYTHONHASHSEED=0 NUMBA_DISABLE_JIT=1",
        "`enc`: `python tests/bench/enc.py`",
        "5 runs per metric",
        "aggregated by **median**",
        "| `enc.MBps` | 500.0 | 520.4 | MB/sec | +4.1% | 5 | 519.5 | 522.0 |",
        "encoder rewrite lands next sprint",
    ):
        assert expected in section, expected


def test_hand_written_parts_survive_a_refresh(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    first = render_report(plan, "# Bench methodology\n\nWe run on the quiet box.\n")
    edited = (
        first.replace(
            "<!-- benchgate:begin environment -->",
            "## Caveats by hand\n\nGC pauses on big inputs.\n\n<!-- benchgate:begin environment -->",
        )
        + "\nFooter by hand.\n"
    )
    second = render_report(make_plan(tmp_path, values=[530.0] * 5), edited)
    assert second.startswith("# Bench methodology\n\nWe run on the quiet box.\n")
    assert "## Caveats by hand\n\nGC pauses on big inputs.\n" in second
    assert second.endswith("\nFooter by hand.\n")
    assert second.count("<!-- benchgate:begin refresh -->") == 1
    assert "| 530.0 |" in second and "| 520.4 |" not in second


def test_environment_round_trip(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    path = tmp_path / "report.md"
    path.write_text(render_report(plan, None))
    assert read_baseline_environment(path) == ENV
    assert read_baseline_environment(tmp_path / "absent.md") is None
    assert parse_baseline_environment("no block here") is None
    broken = f"<!-- benchgate:begin {ENV_SECTION} -->\n```json\n{{nope\n```\n<!-- benchgate:end {ENV_SECTION} -->"
    assert parse_baseline_environment(broken) is None


def test_compact_json_keeps_lists_inline() -> None:
    text = compact_json({"values": [1.0, 2.5], "spread": {"n": 2}, "ids": ["a,b", "c"]})
    assert '"values": [1.0, 2.5]' in text and '"ids": ["a,b", "c"]' in text
    assert json.loads(text) == {"values": [1.0, 2.5], "spread": {"n": 2}, "ids": ["a,b", "c"]}


def test_unpinned_runs_are_said_so(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, pinned=False)
    section = read_section(render_report(plan, None), REFRESH_SECTION) or ""
    assert "not pinned" in section


# --- the PR ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reason, why, title",
    [
        (
            "deps",
            "msgspec 0.18 -> 0.19",
            "bench: refresh baselines (reason: deps — msgspec 0.18 -> 0.19)",
        ),
        ("hardware", None, "bench: refresh baselines (reason: hardware)"),
        ("feature", "x" * 80, "bench: refresh baselines (reason: feature — " + "x" * 49 + "…)"),
    ],
)
def test_pr_title(reason: str, why: str | None, title: str) -> None:
    assert pr_title(reason, why) == title


def test_pr_body(tmp_path: Path) -> None:
    plan = make_plan(tmp_path)
    body = pr_body(plan, Config(root=tmp_path))
    for heading in (
        "### Environment",
        "### Commands",
        "### Repetitions and aggregation",
        "### Evidence",
        "### Checklist",
    ):
        assert heading in body
    assert "**Reason:** deps" in body and "msgspec 0.18 -> 0.19" in body
    assert "benchgate run --repeat 5 --cpus 2-3" in body
    evidence = body.split("```json\n", 1)[1].split("\n```", 1)[0]
    snippet = json.loads(evidence)
    assert snippet["enc.MBps"]["values"] == VALUES
    assert snippet["enc.MBps"]["value"] == 520.4 and snippet["enc.MBps"]["spread"]["n"] == 5
    assert "- [x] Reason for refresh (algo change / deps / hardware / CI image): deps" in body
    assert "- [x] Environment details (CPU, Python, deps)" in body
    assert "- [x] Commands used (with pinning): pinned" in body
    assert "- [x] Repetitions (≥5) and aggregation method: 5 runs, median" in body
    assert "- [x] Updated tests/bench/baselines.json minimal scope" in body
    assert "- [x] Updated tests/bench/report.md with summary" in body
    assert "- [x] Evidence attached" in body
    assert "- [ ] Reviewer sign-off" in body


def test_pr_checklist_leaves_unverified_boxes_open(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, VALUES[:3], min_runs=3, pinned=False)
    body = pr_body(plan, Config(root=tmp_path), report_written=False)
    assert "- [ ] Commands used (with pinning): recorded, **not pinned**" in body
    assert "- [ ] Repetitions (≥5) and aggregation method: 3 runs, median" in body
    assert "- [ ] Updated tests/bench/report.md with summary" in body


def test_pr_checklist_without_environment(tmp_path: Path) -> None:
    rs = runs(VALUES, env={})
    plan = plan_refresh(
        Config(root=tmp_path), rs, BASELINES, RefreshOptions(reason="deps", why="w")
    )
    assert plan.ok
    body = pr_body(plan, Config(root=tmp_path))
    assert "- [ ] Environment details (CPU, Python, deps): **incomplete**" in body
    assert any("record no environment" in c for c in plan.caveats)
    assert "_The runs record no environment._" in body
