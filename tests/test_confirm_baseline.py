"""``compare --confirm`` against the stored baseline's commit: pairs when reachable, else a note.

The bench prints ``mylib.SPEED`` (from the side's own tree) times a "machine factor" read
from the environment: the same for both sides of a pair, so the pairs see the code only,
while the stored baseline (measured on a "faster machine") sees the machine too.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from benchgate.run.results import load_runs
from conftest import write_baselines

BENCH = (
    "import json, os\n"
    "import mylib\n"
    "v = mylib.SPEED * float(os.environ.get('BG_TEST_MACHINE', '1'))\n"
    "print(json.dumps({'metrics': {'steps_per_sec': {'value': v, 'unit': 'steps/sec'}}}))\n"
)
KEY = "vm.steps_per_sec"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def repo(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project committed in a git repository; today's machine is 12% slower."""
    (project / "src" / "mylib").mkdir(parents=True)
    (project / "src" / "mylib" / "__init__.py").write_text("SPEED = 1000\n")
    (project / "tests" / "bench" / "vm.py").write_text(BENCH)
    # Plain runs import mylib from the tree too (`ab` puts each side's src/ first).
    with (project / "pyproject.toml").open("a") as f:
        f.write('\n[tool.benchgate]\nenv = { PYTHONPATH = "src" }\n')
    git(project.parent, "init", "-q")
    git(project.parent, "add", "-A")
    git(project.parent, "commit", "-q", "-m", "base")
    monkeypatch.setenv("BG_TEST_MACHINE", "0.88")
    return project


def _baselines(project: Path, commit: str | None) -> None:
    entry: dict[str, Any] = {"value": 1000, "unit": "steps/sec", "values": [1000.0] * 5}
    if commit is not None:
        entry["measured_commit"] = commit
    write_baselines(project, {KEY: entry})


def _verdict(r: Result) -> dict[str, Any]:
    doc = json.loads(r.output[r.output.index("{") :])
    found: dict[str, Any] = next(m for m in doc["metrics"] if m["key"] == KEY)
    return found


def test_unsure_verdict_is_judged_on_pairs_against_the_baselines_commit(
    repo: Path, cli: Callable[..., Result]
) -> None:
    head = git(repo.parent, "rev-parse", "HEAD").strip()
    _baselines(repo, head)
    assert cli("run", "--repeat", "3").exit_code == 0
    # 880 against 1000: a WARN, unsure once the between-day drift is counted.
    plain = _verdict(cli("compare", "--format", "json"))
    assert plain["status"] == "warn" and plain["unsure"] is True
    assert "+drift" in plain["interval"]["method"]

    r = cli("compare", "--confirm", "--format", "json")
    assert r.exit_code == 0, r.output
    v = _verdict(r)
    # Same code both sides of every pair: ratio exactly 1, a sure PASS. The machine was
    # slower, not the code.
    assert v["status"] == "pass" and v["unsure"] is False and v["n"] == 5
    assert v["delta_pct"] == 0 and v["interval"]["low"] == v["interval"]["high"] == 1.0
    assert f"interleaved with the baseline's commit {head[:12]}" in v["reason"]
    assert (
        f"confirm: {KEY}: WARN (unsure) -> PASS on 5 pairs against the baseline's commit "
        f"{head[:12]} (ratio 1.000)" in r.output
    )
    # The pairs are kept as evidence; the out-dir's own runs are untouched.
    pairs_dir = repo / "tests" / "reports" / "bench" / "confirm-baseline" / head[:12] / "ab"
    assert (pairs_dir / "ab.json").is_file() and (pairs_dir / "base" / "vm.json").is_file()
    assert len(load_runs(repo / "tests" / "reports" / "bench")["vm"]) == 3
    # The worktree is gone.
    assert git(repo.parent, "worktree", "list").count("\n") == 1


def test_a_real_regression_against_the_commit_fails_on_pairs(
    repo: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    head = git(repo.parent, "rev-parse", "HEAD").strip()
    _baselines(repo, head)
    (repo / "src" / "mylib" / "__init__.py").write_text("SPEED = 800\n")  # 20% slower code
    monkeypatch.setenv("BG_TEST_MACHINE", "1.05")  # on a faster machine today: 840
    assert cli("run", "--repeat", "3").exit_code == 0
    plain = _verdict(cli("compare", "--format", "json"))
    assert plain["status"] == "fail" and plain["unsure"] is True  # 0.84: drift could explain it
    r = cli("compare", "--confirm", "--format", "json")
    v = _verdict(r)
    assert r.exit_code == 1 and v["status"] == "fail" and v["unsure"] is False
    assert v["delta_pct"] == pytest.approx(-20.0)


@pytest.mark.parametrize(
    "commit, why",
    [
        ("0123456789abcdef0123456789abcdef01234567", "is not in this repository"),
        (None, "records no measured_commit"),
    ],
)
def test_unreachable_commit_falls_back_with_a_note(
    repo: Path, cli: Callable[..., Result], commit: str | None, why: str
) -> None:
    _baselines(repo, commit)
    assert cli("run", "--repeat", "3").exit_code == 0
    r = cli("compare", "--confirm", "--confirm-runs", "2", "--format", "json")
    assert f"confirm: {KEY}: not paired against its baseline's commit:" in r.output
    assert why in r.output and "re-measuring the current side only" in r.output
    # Today's behaviour: the current side measured again and judged on all its runs.
    v = _verdict(r)
    assert v["status"] == "warn" and v["n"] == 5 and v["confirmed_runs"] == 2
    assert len(load_runs(repo / "tests" / "reports" / "bench")["vm"]) == 5
    assert not (repo / "tests" / "reports" / "bench" / "confirm-baseline").exists()
