"""``benchgate collect``: the CI artifact layout of gates.md, full and partial."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import Result

from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.project.collect import collect, read_regular

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def fill(project: Path, baselines: bool = True, report: bool = True, results: bool = True) -> Path:
    """A project holding whichever of the collected pieces are asked for."""
    if baselines:
        (project / "tests/bench/baselines.json").write_text(
            '{"a.ops": {"value": 1, "unit": "ops/sec"}}\n'
        )
    if report:
        (project / "tests/bench/report.md").write_text("# Methodology\n")
    out = project / "tests/reports/bench"
    if results:
        out.mkdir(parents=True, exist_ok=True)
        (out / "a.json").write_text('{"schema": "benchgate.results/1", "runs": []}\n')
        (out / "b.json").write_text('{"schema": "benchgate.results/1", "runs": [1]}\n')
        (out / "reduced.json").write_text("{}\n")
        (out / "report.md").write_text("# Benchmark report\n")
        (out / "junit.xml").write_text("<testsuites/>\n")
        (out / ".a.json.123.tmp").write_text("half")  # an interrupted write: never collected
        (out / "notes.txt").write_text("not an artifact")
        (out / "sub").mkdir(exist_ok=True)
        (out / "sub" / "deep.json").write_text("{}")
    return out


def test_full_collect(project: Path) -> None:
    fill(project)
    dest = project / "outputs"
    r = collect(Config(root=project), dest, now=NOW)
    got = sorted(c.dest for c in r.collected)
    assert got == [
        "bench/baselines.json",
        "bench/report.md",
        "bench/results/a.json",
        "bench/results/b.json",
        "bench/results/junit.xml",
        "bench/results/reduced.json",
        "bench/results/report.md",
    ]
    assert r.absent == [] and r.removed == []
    for c in r.collected:
        assert (dest / c.dest).read_bytes() == c.source.read_bytes()
        assert c.size == c.source.stat().st_size
    assert not (dest / "bench/results/notes.txt").exists()
    assert not list((dest / "bench/results").glob(".*"))
    assert r.total_bytes == sum(c.size for c in r.collected)

    index = (dest / "index.txt").read_text()
    assert r.index == dest / "index.txt"
    assert "created: 2025-01-02T03:04:05Z" in index
    assert "results from: tests/reports/bench" in index
    assert f"collected: 7 files, {r.total_bytes} bytes" in index
    assert "absent: 0" in index
    line = next(x for x in index.splitlines() if "bench/results/reduced.json" in x)
    assert line.split() == ["bench/results/reduced.json", "3", "tests/reports/bench/reduced.json"]


def test_partial_inputs_are_reported_not_fatal(project: Path) -> None:
    fill(project, baselines=True, report=False, results=False)
    dest = project / "outputs"
    r = collect(Config(root=project), dest, now=NOW)
    assert [c.dest for c in r.collected] == ["bench/baselines.json"]
    absent = {a.dest: a.why for a in r.absent}
    assert set(absent) == {"bench/report.md", "bench/results/"}
    assert "tests/bench/report.md does not exist" in absent["bench/report.md"]
    assert "tests/reports/bench does not exist" in absent["bench/results/"]
    index = (dest / "index.txt").read_text()
    assert "absent: 2" in index
    assert "bench/report.md: tests/bench/report.md does not exist" in index


def test_results_without_runs_or_reduced(project: Path) -> None:
    out = project / "tests/reports/bench"
    out.mkdir(parents=True)
    (out / "report.md").write_text("# only a report\n")
    r = collect(Config(root=project), project / "outputs", now=NOW)
    assert [c.dest for c in r.collected] == ["bench/results/report.md"]
    absent = {a.dest for a in r.absent}
    assert absent == {
        "bench/baselines.json",
        "bench/report.md",
        "bench/results/<bench>.json",
        "bench/results/reduced.json",
    }


def test_nothing_at_all(project: Path) -> None:
    r = collect(Config(root=project), project / "outputs", now=NOW)
    assert r.collected == []
    assert len(r.absent) == 3
    assert (project / "outputs/index.txt").is_file()


def test_stale_copies_are_removed(project: Path) -> None:
    out = fill(project)
    dest = project / "outputs"
    collect(Config(root=project), dest, now=NOW)
    (out / "b.json").unlink()
    (project / "tests/bench/report.md").unlink()
    (dest / "bench/results/keep.txt").write_text("not ours")
    r = collect(Config(root=project), dest, now=NOW)
    assert sorted(r.removed) == ["bench/report.md", "bench/results/b.json"]
    assert not (dest / "bench/results/b.json").exists()
    assert not (dest / "bench/report.md").exists()
    assert (dest / "bench/results/keep.txt").exists()  # only our kinds of files are mirrored
    assert "removed (stale copies of an earlier collect): 2" in (dest / "index.txt").read_text()


def test_config_paths_and_results_override(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "perf").mkdir(parents=True)
    (root / "perf/base.json").write_text("{}")
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "x.json").write_text("{}")
    cfg = Config(root=root, baselines="perf/base.json", report="perf/METHOD.md", out_dir="perf/out")
    r = collect(cfg, tmp_path / "art", results_dir=other, now=NOW)
    assert sorted(c.dest for c in r.collected) == ["bench/baselines.json", "bench/results/x.json"]
    assert (tmp_path / "art/bench/baselines.json").read_text() == "{}"
    index = (tmp_path / "art/index.txt").read_text()
    assert f"results from: {other}" in index  # outside the project: shown absolute


def test_refuses_to_copy_results_onto_themselves(project: Path) -> None:
    out = project / "x" / "bench" / "results"
    out.mkdir(parents=True)
    with pytest.raises(BenchgateError, match="results folder itself"):
        collect(Config(root=project), project / "x", results_dir=out)


def test_cli_collect(
    project: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(project, report=False)
    monkeypatch.chdir(project)
    r = cli("collect", "--out-dir", "outputs")
    assert r.exit_code == 0, r.output
    assert "collected 6 files" in r.output
    assert "absent: bench/report.md: tests/bench/report.md does not exist" in r.output
    assert "index: outputs/index.txt" in r.output
    assert (project / "outputs/bench/results/reduced.json").is_file()

    # --results points elsewhere; an absent results folder is reported, exit 0 all the same.
    r = cli("collect", "--out-dir", "outputs2", "--results", "nowhere")
    assert r.exit_code == 0, r.output
    assert "absent: bench/results/: nowhere does not exist" in r.output


def test_cli_collect_bad_input_exits_2(project: Path, cli: Callable[..., Result]) -> None:
    out = project / "o" / "bench" / "results"
    out.mkdir(parents=True)
    r = cli("collect", "--out-dir", str(project / "o"), "--results", str(out))
    assert r.exit_code == 2
    assert "results folder itself" in r.output


def test_symlinks_and_special_files_are_skipped_and_listed(
    project: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    """A link planted in the out-dir (to /proc/self/environ, or anywhere outside it) would
    publish the job's secrets as an artifact: only regular files are copied, none followed."""
    out = fill(project)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN=hunter2\n")
    (out / "environ.json").symlink_to("/proc/self/environ")
    (out / "outside.md").symlink_to(secret)
    (out / "inside.json").symlink_to(out / "a.json")  # a link even to a sibling: not followed
    os.mkfifo(out / "pipe.json")  # would block a plain read forever
    (project / "tests/bench/report.md").unlink()
    (project / "tests/bench/report.md").symlink_to(secret)

    dest = project / "outputs"
    r = collect(Config(root=project), dest, now=NOW)
    skipped = sorted(s.dest for s in r.skipped)
    assert skipped == [
        "bench/report.md",
        "bench/results/environ.json",
        "bench/results/inside.json",
        "bench/results/outside.md",
        "bench/results/pipe.json",
    ]
    assert all("symbolic link" in s.why for s in r.skipped if "pipe" not in s.dest)
    assert "not a regular file" in next(s.why for s in r.skipped if "pipe" in s.dest)
    copied = {c.dest for c in r.collected}
    assert "bench/results/a.json" in copied and not copied & set(skipped)
    for p in dest.rglob("*"):
        assert not p.is_symlink()
        if p.is_file():
            assert "hunter2" not in p.read_text(errors="replace")
            assert "PATH=" not in p.read_text(errors="replace")
    index = (dest / "index.txt").read_text()
    assert "skipped (only regular files are copied, no link followed): 5" in index
    assert "bench/results/environ.json: tests/reports/bench/environ.json: a symbolic link" in index

    res = cli("collect", "--out-dir", str(tmp_path / "arts"))
    assert res.exit_code == 0, res.output
    assert "skipped: bench/results/environ.json" in res.output
    assert not (tmp_path / "arts/bench/results/environ.json").exists()


def test_read_regular_refuses_links_and_fifos(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"ok")
    assert read_regular(f) == b"ok"
    (tmp_path / "l").symlink_to(f)
    os.mkfifo(tmp_path / "p")
    for name in ("l", "p"):
        with pytest.raises(Exception) as err:
            read_regular(tmp_path / name)
        assert not isinstance(err.value, OSError)
    with pytest.raises(OSError):
        read_regular(tmp_path / "missing")


def test_a_results_folder_that_is_a_link_is_not_followed(project: Path, tmp_path: Path) -> None:
    """tests/reports/bench -> a folder of credentials (*.json) would publish them."""
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "application_default_credentials.json").write_text('{"secret": "s3cr3t"}')
    (project / "tests/reports").mkdir(parents=True)
    (project / "tests/reports/bench").symlink_to(creds)
    dest = project / "outputs"
    r = collect(Config(root=project), dest, now=NOW)
    assert [s.dest for s in r.skipped] == ["bench/results/"]
    assert "a symbolic link (not followed)" in r.skipped[0].why
    assert not any(c.dest.startswith("bench/results/") for c in r.collected)
    assert "s3cr3t" not in "".join(p.read_text() for p in dest.rglob("*") if p.is_file())


def test_collect_does_not_write_through_a_planted_link(
    project: Path, tmp_path: Path, cli: Callable[..., Result]
) -> None:
    fill(project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "outputs").mkdir()
    (project / "outputs/bench").symlink_to(elsewhere)
    with pytest.raises(BenchgateError, match="symbolic link"):
        collect(Config(root=project), project / "outputs", now=NOW)
    r = cli("collect", "--out-dir", str(project / "outputs"))
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1
    assert list(elsewhere.iterdir()) == []
