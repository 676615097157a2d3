"""``benchgate ab``: base revision vs working tree, interleaved, judged by paired ratios.

The benches print deterministic values read from the project's own source, so the
verdicts depend on which revision's code each side imported, never on timing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import benchgate.ab.run as ab_mod
from benchgate.ab.run import run_ab
from benchgate.config import load_config
from benchgate.run.results import read_result_file
from conftest import write_baselines

BENCH = (
    "import json\n"
    "import mylib\n"
    "print(json.dumps({'metrics': {'steps_per_sec': "
    "{'value': mylib.SPEED, 'unit': 'steps/sec'}}}))\n"
)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def set_speed(project: Path, speed: int) -> None:
    (project / "src" / "mylib" / "__init__.py").write_text(f"SPEED = {speed}\n")


@pytest.fixture
def repo(project: Path) -> Path:
    """The project, committed in a git repository one folder up (project in a subfolder).

    ``mylib`` lives in ``src/`` and is not installed: only benchgate's PYTHONPATH makes it
    importable, from the tree of the side being run.
    """
    (project / "src" / "mylib").mkdir(parents=True)
    set_speed(project, 1000)
    (project / "tests" / "bench" / "vm.py").write_text(BENCH)
    top = project.parent
    git(top, "init", "-q")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "base")
    return project


def worktrees(top: Path) -> int:
    out = git(top, "worktree", "list", "--porcelain")
    return sum(1 for line in out.splitlines() if line.startswith("worktree "))


def ab_json(r: Result) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(r.output[r.output.index("{") :])
    return doc


def row(doc: dict[str, Any], key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(m for m in doc["metrics"] if m["key"] == key)
    return found


def test_ab_fails_a_working_tree_twice_as_slow(repo: Path, cli: Callable[..., Result]) -> None:
    set_speed(repo, 500)  # the uncommitted change halves the throughput
    r = cli("ab", "--base", "HEAD", "--repeat", "3", "--format", "json")
    assert r.exit_code == 1, r.output
    doc = ab_json(r)
    m = row(doc, "vm.steps_per_sec")
    assert m["status"] == "fail" and m["pairs"] == 3
    assert m["ratio"] == pytest.approx(0.5) and m["delta_pct"] == pytest.approx(-50.0)
    assert m["interval"]["low"] == pytest.approx(0.5) and m["interval"]["high"] == pytest.approx(
        0.5
    )
    assert m["base"] == 1000 and m["head"] == 500
    assert m["thresholds_from"] == "config" and m["baselines"] is None
    assert doc["head_dirty"] is True and doc["summary"]["gate"] == "fail"

    # Evidence: both sides' runs, same file format as the out-dir.
    ab_dir = repo / "tests" / "reports" / "bench" / "ab"
    base_runs = read_result_file(ab_dir / "base" / "vm.json")
    head_runs = read_result_file(ab_dir / "head" / "vm.json")
    assert [x.metrics["steps_per_sec"].value for x in base_runs] == [1000.0] * 3
    assert [x.metrics["steps_per_sec"].value for x in head_runs] == [500.0] * 3
    assert json.loads((ab_dir / "ab.json").read_text())["summary"]["fail"] == 1
    # Interleaved, and the side that goes first alternates each round.
    firsts = [
        "base" if b.started < h.started else "head"
        for b, h in zip(base_runs, head_runs, strict=True)
    ]
    assert firsts == ["base", "head", "base"]
    # The base ran in its own worktree (cwd), which is gone afterwards.
    base_cwd = Path(base_runs[0].command["bench_argv"][1]).parents[2]
    assert base_cwd != repo and not base_cwd.exists()
    assert worktrees(repo.parent) == 1


def test_unchanged_tree_passes_even_on_a_slower_machine(
    repo: Path, cli: Callable[..., Result]
) -> None:
    # baselines.json was measured on a machine twice as fast: against it, a FAIL.
    write_baselines(
        repo, {"vm.steps_per_sec": {"value": 2000, "unit": "steps/sec", "variance_pct_warn": 0.02}}
    )
    (repo / "tests" / "bench" / "fresh.py").write_text(
        "import json\nprint(json.dumps({'metrics': {'ops_per_sec': 7.0}}))\n"
    )  # a bench the base revision does not have
    r = cli("ab", "--base", "HEAD", "--repeat", "3")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    vm = next(line for line in lines if "vm.steps_per_sec" in line and line.startswith("PASS"))
    assert "1.000 (+0.0%)" in vm and "FAIL -50.0%" in vm
    assert any(line.startswith("NEW") and "fresh.ops_per_sec" in line for line in lines)
    assert "the machine, not the change (vm.steps_per_sec)" in r.output
    assert "gate passed" in r.output

    doc = ab_json(cli("ab", "--base", "HEAD", "--repeat", "3", "-k", "vm", "--format", "json"))
    m = row(doc, "vm.steps_per_sec")
    assert m["status"] == "pass" and m["baselines"]["status"] == "fail"
    assert m["thresholds_from"] == "baselines.json" and m["variance_pct_warn"] == 0.02
    assert [x["key"] for x in doc["metrics"]] == ["vm.steps_per_sec"]
    assert worktrees(repo.parent) == 1


def test_markdown_output(repo: Path, cli: Callable[..., Result]) -> None:
    set_speed(repo, 900)
    r = cli("ab", "--base", "HEAD", "--repeat", "3", "--format", "markdown")
    assert r.exit_code == 0  # -10% is a WARN: reported, not failing
    assert "| WARN | `vm.steps_per_sec` |" in r.output
    assert "0.900 (-10.0%)" in r.output


def test_bad_input_is_one_line_exit_2(
    repo: Path, project: Path, cli: Callable[..., Result], tmp_path: Path
) -> None:
    r = cli("ab", "--base", "no-such-branch")
    assert r.exit_code == 2
    assert "unknown revision 'no-such-branch'" in r.output and len(r.output.splitlines()) == 1
    (repo.parent / ".git").rename(repo.parent / "not-git")
    r = cli("ab", "--base", "HEAD")
    assert r.exit_code == 2 and "not a git repository" in r.output


def test_worktree_removed_on_interrupt(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Path] = []

    def interrupted(bench: Any, root: Path, *args: Any) -> Any:
        seen.append(root)
        raise KeyboardInterrupt

    monkeypatch.setattr(ab_mod, "execute", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_ab(load_config(repo), "HEAD", repeat=2)
    assert seen and seen[0] != repo and not seen[0].exists()
    assert worktrees(repo.parent) == 1


# --- --confirm: more interleaved rounds for unsure paired verdicts ------------------------

COUNTING_LIB = (
    "import pathlib\n"
    "_p = pathlib.Path({counter!r})\n"
    "_n = int(_p.read_text()) if _p.exists() else 0\n"
    "_p.write_text(str(_n + 1))\n"
    "_SEQ = {seq!r}\n"
    "SPEED = _SEQ[_n] if _n < len(_SEQ) else {then}\n"
)


def set_counting_speed(project: Path, seq: list[int], then: int) -> Path:
    """The working tree's mylib reports seq[i] on its i-th import, then ``then``."""
    counter = project.parent / "head-counter.txt"
    (project / "src" / "mylib" / "__init__.py").write_text(
        COUNTING_LIB.format(counter=str(counter), seq=seq, then=then)
    )
    return counter


def test_confirm_adds_interleaved_rounds_and_judges_all_pairs(
    repo: Path, cli: Callable[..., Result]
) -> None:
    # Five noisy first pairs: ratios 0.8, 1.2, 0.8, 1.2, 0.84 -> median 0.84, a FAIL whose
    # interval (0.8..1.2) reaches PASS: unsure. The later head runs are steady at 1000.
    counter = set_counting_speed(repo, [800, 1200, 800, 1200, 840], then=1000)
    r = cli("ab", "--base", "HEAD", "--confirm", "--confirm-runs", "3", "--format", "json")
    doc = ab_json(r)
    m = row(doc, "vm.steps_per_sec")
    assert m["before"] == {"status": "fail", "unsure": True}
    assert m["confirmed_pairs"] == 3 and m["pairs"] == 8
    # Judged on all 8 pairs, the first five included: 0.8 0.8 0.84 1 1 1 1.2 1.2 -> 1.0.
    assert m["status"] == "pass" and m["ratio"] == pytest.approx(1.0)
    assert doc["summary"]["confirm"] == {"budget_rounds": 3, "stopped": {"vm": "budget spent"}}
    assert r.exit_code == 0, r.output
    ab_dir = repo / "tests" / "reports" / "bench" / "ab"
    base_runs = read_result_file(ab_dir / "base" / "vm.json")
    head_runs = read_result_file(ab_dir / "head" / "vm.json")
    assert len(base_runs) == len(head_runs) == 8
    # The extra rounds are interleaved too, the first side still alternating.
    firsts = [
        "base" if b.started < h.started else "head"
        for b, h in zip(base_runs, head_runs, strict=True)
    ]
    assert firsts == ["base", "head"] * 4

    counter.unlink()  # the same sequence again, for the text output
    text = cli("ab", "--base", "HEAD", "--confirm", "--confirm-runs", "3")
    assert "confirm: vm.steps_per_sec: FAIL (unsure) -> PASS" in text.output
    assert "(3 more; budget spent)" in text.output


def test_confirm_stops_when_settled_and_leaves_sure_verdicts_alone(
    repo: Path, cli: Callable[..., Result]
) -> None:
    (repo / "tests" / "bench" / "steady.py").write_text(
        "import json\nprint(json.dumps({'metrics': {'ops_per_sec': 7.0}}))\n"
    )
    git(repo.parent, "add", "-A")
    git(repo.parent, "commit", "-q", "-m", "steady bench")
    # vm: 0.5 0.5 1.0 -> median 0.5, FAIL; interval 0.5..1.0 reaches PASS: unsure. One
    # more pair at 0.5 makes the FAIL sure at once.
    set_counting_speed(repo, [500, 500, 1000], then=500)
    r = cli("ab", "--base", "HEAD", "--repeat", "3", "--confirm", "--format", "json")
    assert r.exit_code == 1
    doc = ab_json(r)
    vm = row(doc, "vm.steps_per_sec")
    assert vm["status"] == "fail" and vm["before"] == {"status": "fail", "unsure": True}
    assert vm["confirmed_pairs"] >= 1 and vm["unsure"] is False
    assert doc["summary"]["confirm"]["stopped"] == {"vm": "settled"}
    steady = row(doc, "steady.ops_per_sec")
    assert steady["confirmed_pairs"] == 0 and steady["before"] is None and steady["pairs"] == 3


def test_confirm_marks_only_the_metrics_it_was_made_for(
    repo: Path, cli: Callable[..., Result]
) -> None:
    # One bench, two metrics: steps_per_sec unsure (as above), const_per_sec steady.
    (repo / "tests" / "bench" / "vm.py").write_text(
        "import json\nimport mylib\n"
        "print(json.dumps({'metrics': {"
        "'steps_per_sec': {'value': mylib.SPEED, 'unit': 'steps/sec'},"
        "'const_per_sec': {'value': 5.0, 'unit': 'ops/sec'}}}))\n"
    )
    git(repo.parent, "add", "-A")
    git(repo.parent, "commit", "-q", "-m", "two metrics")
    set_counting_speed(repo, [800, 1200, 800, 1200, 840], then=1000)
    doc = ab_json(
        cli("ab", "--base", "HEAD", "--confirm", "--confirm-runs", "2", "--format", "json")
    )
    steps, const = row(doc, "vm.steps_per_sec"), row(doc, "vm.const_per_sec")
    assert steps["confirmed_pairs"] == 2 and steps["before"] is not None
    assert const["confirmed_pairs"] == 0 and const["before"] is None
    assert const["pairs"] == steps["pairs"] == 7  # the bench ran: both have more pairs


def test_confirm_with_nothing_unsure_says_so(repo: Path, cli: Callable[..., Result]) -> None:
    r = cli("ab", "--base", "HEAD", "--repeat", "3", "--confirm")
    assert r.exit_code == 0, r.output
    assert "nothing to confirm" in r.output
    head = repo / "tests" / "reports" / "bench" / "ab" / "head" / "vm.json"
    assert len(read_result_file(head)) == 3


def test_confirm_time_limit_stops_confirming(repo: Path, cli: Callable[..., Result]) -> None:
    # Unsure FAIL (as above); 1 ms of confirming: the limit is checked before each round,
    # so exactly one round runs and the bench stops on the time limit.
    set_counting_speed(repo, [800, 1200, 800, 1200, 840], then=1000)
    r = cli("ab", "--base", "HEAD", "--confirm", "--confirm-time", "0.001", "--format", "json")
    doc = ab_json(r)
    m = row(doc, "vm.steps_per_sec")
    assert m["confirmed_pairs"] == 1 and m["pairs"] == 6
    assert doc["summary"]["confirm"]["stopped"] == {"vm": "time limit"}
