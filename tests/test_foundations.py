"""The small modules everything stands on: fsutil, run files, discovery, gitutil."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchgate import fsutil, gitutil
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.run.discovery import Bench, discover, select
from benchgate.run.results import (
    REDUCED_FILE,
    bench_file,
    load_runs,
    read_result_file,
    result_files,
    write_bench_runs,
)
from conftest import git, make_runs

# --- fsutil -----------------------------------------------------------------------------


def test_atomic_writes_create_folders_and_leave_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "x.txt"
    fsutil.atomic_write_text(target, "one\r\ntwo\n")
    assert target.read_bytes() == b"one\r\ntwo\n"  # newlines untranslated
    fsutil.atomic_write_json(target.with_suffix(".json"), {"k": [1, 2]})
    assert json.loads(target.with_suffix(".json").read_text()) == {"k": [1, 2]}
    assert target.with_suffix(".json").read_text().endswith("\n")
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.json", "x.txt"]


# --- run files --------------------------------------------------------------------------


def test_run_files_round_trip(tmp_path: Path) -> None:
    runs = make_runs("enc", {"MBps": [1.0, 2.0, 3.0]}, "MB/sec")
    path = write_bench_runs(tmp_path, "enc", runs)
    assert path == bench_file(tmp_path, "enc")
    (tmp_path / REDUCED_FILE).write_text("{}")
    (tmp_path / ".enc.json.123.tmp").write_text("partial")
    assert result_files(tmp_path) == [path]  # not reduced.json, not temp files
    loaded = load_runs(tmp_path)
    assert list(loaded) == ["enc"]
    assert [r.to_dict() for r in loaded["enc"]] == [r.to_dict() for r in runs]
    assert result_files(tmp_path / "absent") == []


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{not json", "not valid JSON (line 1"),
        ('{"schema": "other/1", "runs": []}', "not a benchgate result file"),
        ('{"schema": "benchgate.results/1", "runs": {}}', "'runs' must be a list"),
        ('{"schema": "benchgate.results/1", "runs": [{"bench": "x"}]}', "runs[0]"),
    ],
)
def test_corrupt_run_file_is_one_line_naming_it(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "enc.json"
    path.write_text(text)
    with pytest.raises(BenchgateError) as err:
        read_result_file(path)
    message = str(err.value)
    assert problem in message and "enc.json" in message and "\n" not in message


# --- discovery --------------------------------------------------------------------------


def _project(tmp_path: Path, **kw: object) -> Config:
    bench = tmp_path / "tests" / "bench"
    bench.mkdir(parents=True)
    for name in ("b_enc.py", "a_dec.py", "_helper.py", "conftest.py", "notes.txt"):
        (bench / name).write_text("print('{}')\n")
    return Config(root=tmp_path, **kw)  # type: ignore[arg-type]


def test_discover_scripts_and_commands_sorted(tmp_path: Path) -> None:
    config = _project(tmp_path, commands={"rust": "cargo bench --bench x", "c": ["./c", "-q"]})
    benches = discover(config, python="py")
    names = [b.name for b in benches]
    assert names == sorted(names)
    assert {"a_dec", "b_enc", "rust", "c"} <= set(names)
    assert "notes" not in names  # not a *.py file
    assert "_helper" not in names and "conftest" not in names  # excluded by default
    a_dec = next(b for b in benches if b.name == "a_dec")
    assert a_dec.argv == ("py", str(config.bench_path / "a_dec.py"))
    assert next(b for b in benches if b.name == "rust").argv == ("cargo", "bench", "--bench", "x")


def test_discover_refuses_bad_names_and_clashes(tmp_path: Path) -> None:
    config = _project(tmp_path, commands={"a_dec": "echo"})
    with pytest.raises(BenchgateError, match="same name"):
        discover(config)
    with pytest.raises(BenchgateError, match="letters, digits"):
        discover(Config(root=tmp_path, commands={"bad name": "echo"}))
    with pytest.raises(BenchgateError, match="empty command"):
        discover(Config(root=tmp_path, commands={"empty": ""}))


def test_select_by_glob_or_substring_and_typos_are_errors() -> None:
    benches = [Bench(n, ("x",)) for n in ("enc_small", "enc_large", "dec")]
    assert [b.name for b in select(benches, None)] == ["enc_small", "enc_large", "dec"]
    assert [b.name for b in select(benches, "enc_*")] == ["enc_small", "enc_large"]
    assert [b.name for b in select(benches, "dec, large")] == ["enc_large", "dec"]
    with pytest.raises(BenchgateError):
        select(benches, "enc,typo")


# --- gitutil ----------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    top = tmp_path / "repo"
    (top / "sub").mkdir(parents=True)
    git(top, "init", "-q", "-b", "main")
    git(top, "config", "user.email", "t@example.com")
    git(top, "config", "user.name", "T")
    (top / "sub" / "b.json").write_text('{"v": 1}\n')
    git(top, "add", ".")
    git(top, "commit", "-q", "-m", "first", date="2026-11-01T10:00:00+00:00")
    (top / "sub" / "b.json").write_text('{"v": 2}\n')
    (top / "other.txt").write_text("x\n")
    git(top, "add", ".")
    git(top, "commit", "-q", "-m", "second", date="2026-11-02T10:00:00+00:00")
    return top


def test_gitutil_reads_files_and_history(repo: Path) -> None:
    top = gitutil.toplevel(repo / "sub")
    assert top == repo.resolve()
    head = gitutil.resolve_rev(top, "HEAD")
    first = gitutil.resolve_rev(top, "HEAD~1")
    assert gitutil.relpath(top, repo / "sub" / "b.json") == "sub/b.json"
    assert gitutil.show_file(top, first, "sub/b.json") == '{"v": 1}\n'
    assert gitutil.show_file(top, head, "missing.json") is None
    assert gitutil.changed_files(top, first, head) == ["other.txt", "sub/b.json"]
    assert gitutil.merge_base(top, first, head) == first
    assert gitutil.default_branch(top) == "main"
    info = gitutil.commit_info(top, head)
    assert (info.sha, info.subject, info.parent) == (head, "second", first)
    assert info.date.startswith("2026-11-02")
    assert [c.subject for c in gitutil.file_log(top, "sub/b.json")] == ["second", "first"]


def test_gitutil_refuses_options_and_unknown_revisions(repo: Path, tmp_path: Path) -> None:
    top = gitutil.toplevel(repo)
    with pytest.raises(BenchgateError, match="not a revision"):
        gitutil.resolve_rev(top, "--output=/tmp/x", "--base")
    with pytest.raises(BenchgateError, match="unknown revision"):
        gitutil.resolve_rev(top, "no-such-branch", "--base")
    with pytest.raises(BenchgateError, match="not a git repository"):
        gitutil.toplevel(tmp_path)


def test_head_state(repo: Path, tmp_path: Path) -> None:
    commit, dirty = gitutil.head_state(repo)
    assert commit == gitutil.resolve_rev(repo, "HEAD") and dirty is False
    (repo / "other.txt").write_text("changed\n")
    assert gitutil.head_state(repo) == (commit, True)
    (repo / "untracked.txt").write_text("new\n")
    (repo / "other.txt").write_text("x\n")
    assert gitutil.head_state(repo) == (commit, False)  # untracked files do not count
    plain = tmp_path / "plain"
    plain.mkdir()
    assert gitutil.head_state(plain) == (None, None)
    assert not os.listdir(plain)
