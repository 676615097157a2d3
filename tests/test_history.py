"""`benchgate baselines log` and `baselines revert` on a small git repo built here."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from benchgate.baselines.file import baselines_lock, writing_baselines
from benchgate.baselines.history import (
    baselines_log,
    diff_entries,
    reason_from_notes,
    revert_baselines,
)
from benchgate.cli import main
from benchgate.config import load_config
from benchgate.errors import BenchgateError
from conftest import git

V1 = '{\n  "a.ops": {"value": 1000, "unit": "ops/sec", "notes": "first"},\n  "b.ms": {"value": 5, "unit": "ms"}\n}\n'
V2 = (
    '{\n  "a.ops": {"value": 1100, "unit": "ops/sec", "notes": "Median of 5 runs; 2026-02-01; '
    'reason: hardware — CI v2"},\n  "b.ms": {"value": 5, "unit": "ms"},\n'
    '  "c.ops": {"value": 7, "unit": "ops/sec", "notes": "reason: feature — new bench"}\n}\n'
)
V3 = (
    '{\n  "a.ops": {"value": 1100, "unit": "ops/sec", "notes": "Median of 5 runs; 2026-02-01; '
    'reason: hardware — CI v2"},\n  "b.ms": {"value": 4.5, "unit": "ms", "notes": "reason: algorithmic — cache"},\n'
    '  "c.ops": {"value": 7, "unit": "ops/sec", "notes": "reason: feature — new bench"}\n}\n'
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    top = tmp_path / "repo"
    proj = top / "sub"
    (proj / "tests" / "bench").mkdir(parents=True)
    git(top, "init", "-q", "-b", "main")
    git(top, "config", "user.name", "Test")
    git(top, "config", "user.email", "test@example.com")
    git(top, "config", "commit.gpgsign", "false")
    (proj / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    path = proj / "tests" / "bench" / "baselines.json"
    for i, (text, msg) in enumerate(
        [
            (V1, "initial baselines"),
            (V2, "bench: refresh baselines (reason: hardware)"),
            (V3, "faster b"),
        ]
    ):
        path.write_text(text)
        (proj / "other.txt").write_text(f"{i}\n")
        git(top, "add", "-A")
        git(top, "commit", "-q", "-m", msg, date=f"2026-0{i + 1}-01T12:00:00+00:00")
    (proj / "other.txt").write_text("unrelated\n")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "unrelated change", date="2026-04-01T12:00:00+00:00")
    return proj


def cli(project: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["-C", str(project), *args], catch_exceptions=False)


def test_reason_from_notes() -> None:
    assert reason_from_notes("Median of 5 runs; 2026-02-01; reason: deps — x") == "deps — x"
    assert reason_from_notes("hand note") == "hand note"
    assert reason_from_notes(None) is None
    assert reason_from_notes("") is None


def test_diff_entries_kinds() -> None:
    old = {"a": {"value": 1}, "b": {"value": 2}, "c": {"value": 3, "unit": "s"}}
    new = {"a": {"value": 1}, "c": {"value": 3, "unit": "ms"}, "b": {"value": 4}, "d": {"value": 5}}
    kinds = {d.key: d.kind for d in diff_entries(old, new)}
    assert kinds == {"c": "edited", "b": "changed", "d": "added"}
    assert [d.kind for d in diff_entries(new, old)][-1] == "removed"


def test_log_lists_commits_with_per_key_changes(project: Path) -> None:
    entries = baselines_log(load_config(project))
    assert [e.commit.subject for e in entries] == [
        "faster b",
        "bench: refresh baselines (reason: hardware)",
        "initial baselines",
    ]
    latest = entries[0]
    assert [(d.key, d.kind, d.old_value, d.new_value) for d in latest.deltas] == [
        ("b.ms", "changed", 5, 4.5)
    ]
    assert latest.deltas[0].reason == "algorithmic — cache"
    refresh = entries[1]
    assert [(d.key, d.kind) for d in refresh.deltas] == [("a.ops", "changed"), ("c.ops", "added")]
    assert refresh.deltas[0].reason == "hardware — CI v2"
    assert [d.kind for d in entries[2].deltas] == ["added", "added"]


def test_log_for_one_key(project: Path) -> None:
    entries = baselines_log(load_config(project), key="a.ops")
    assert [e.commit.subject for e in entries] == [
        "bench: refresh baselines (reason: hardware)",
        "initial baselines",
    ]
    assert all(len(e.deltas) == 1 for e in entries)


def test_log_cli(project: Path) -> None:
    r = cli(project, "baselines", "log")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].endswith("2026-03-01 faster b")
    assert lines[1] == "    b.ms: 5.000 -> 4.500 ms (-10.0%)  reason: algorithmic — cache"
    assert "    a.ops: 1,000 -> 1,100 ops/sec (+10.0%)  reason: hardware — CI v2" in lines
    assert "    c.ops: added 7.000 ops/sec  reason: feature — new bench" in lines
    r = cli(project, "baselines", "log", "b.ms", "-n", "1", "--format", "json")
    doc = json.loads(r.output)
    assert len(doc) == 1 and doc[0]["changes"][0]["new"] == 4.5
    r = cli(project, "baselines", "log", "zzz.x")
    assert "no commit changed zzz.x" in r.output


def test_revert_restores_only_baselines(project: Path) -> None:
    config = load_config(project)
    path = config.baselines_path
    other = (project / "other.txt").read_text()
    result = revert_baselines(config, "HEAD~2")
    assert result.written
    assert path.read_text() == V2
    assert (project / "other.txt").read_text() == other  # nothing else touched
    assert '-  "b.ms": {"value": 4.5' in result.diff and '+  "b.ms": {"value": 5,' in result.diff
    # Reverting to what is already there writes nothing.
    again = revert_baselines(config, "HEAD~2")
    assert not again.written and again.diff == ""


def test_revert_waits_for_a_writer_holding_the_baselines_lock(project: Path) -> None:
    config = load_config(project)
    target = baselines_lock(config)
    assert project.parent / ".git" in target.parents  # nothing new in the work tree
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nfrom benchgate.fsutil import locked\n"
            f"with locked({str(target)!r}):\n    print('held', flush=True)\n    time.sleep(1.5)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        result = revert_baselines(config, "HEAD~3")
        waited = time.monotonic() - t0
    finally:
        holder.wait(10)
    assert waited > 0.5 and result.written
    assert config.baselines_path.read_text() == V1


def test_a_baselines_file_changed_since_it_was_read_is_not_overwritten(project: Path) -> None:
    config = load_config(project)
    path = config.baselines_path
    read = path.read_text()
    path.write_text(V1)  # another writer, meanwhile
    with pytest.raises(BenchgateError, match="changed by another command"):
        with writing_baselines(config, {path: read}):
            pytest.fail("entered although the file changed")
    assert path.read_text() == V1
    with writing_baselines(config, {path: V1}):
        pass  # unchanged since read: the writer goes ahead


def test_revert_keeps_bytes_exactly(project: Path) -> None:
    top = project.parent
    path = project / "tests" / "bench" / "baselines.json"
    crlf = V1.replace("\n", "\r\n")
    path.write_bytes(crlf.encode())
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "crlf")
    path.write_text(V3)
    revert_baselines(load_config(project), "HEAD")
    assert path.read_bytes() == crlf.encode()


def test_revert_cli(project: Path) -> None:
    r = cli(project, "baselines", "revert", "HEAD~3")
    assert r.exit_code == 0, r.output
    assert "--- a/sub/tests/bench/baselines.json" in r.output
    assert "restored" in r.output and "initial baselines" in r.output
    assert (project / "tests" / "bench" / "baselines.json").read_text() == V1
    status = git(project.parent, "status", "--porcelain")
    assert status == "M sub/tests/bench/baselines.json"
    r = cli(project, "baselines", "revert", "HEAD~3")
    assert "already as at" in r.output


def test_revert_refuses_missing_file_and_unknown_rev(project: Path) -> None:
    top = project.parent
    git(top, "checkout", "-q", "--orphan", "empty")
    git(top, "rm", "-rq", "--cached", ".")
    (top / "x.txt").write_text("x")
    git(top, "add", "x.txt")
    git(top, "commit", "-q", "-m", "no baselines")
    config = load_config(project)
    with pytest.raises(BenchgateError, match="does not exist at"):
        revert_baselines(config, "HEAD")
    r = cli(project, "baselines", "revert", "nope")
    assert r.exit_code == 2 and "unknown revision 'nope'" in r.output


def test_revert_refuses_an_invalid_file(project: Path) -> None:
    top = project.parent
    path = project / "tests" / "bench" / "baselines.json"
    path.write_text('{"a.ops": {"value": -1, "unit": "x"}}')
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "broken")
    path.write_text(V3)
    with pytest.raises(BenchgateError, match="positive"):
        revert_baselines(load_config(project), "HEAD")
    assert path.read_text() == V3


def test_not_a_git_repo(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    r = CliRunner().invoke(main, ["-C", str(tmp_path), "baselines", "log"], catch_exceptions=False)
    assert r.exit_code == 2 and "not a git repository" in r.output
