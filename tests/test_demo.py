"""The bundled demo project is copied clean: no caches, no out-dir."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchgate.errors import BenchgateError
from benchgate.project import demo

LITTER = [
    "__pycache__/x.cpython-311.pyc",
    "tests/bench/__pycache__/b.cpython-311.pyc",
    "tests/bench/stray.pyc",
    ".mypy_cache/3.11/x.json",
    ".ruff_cache/0.4/x",
    ".pytest_cache/v/cache/lastfailed",
    "tests/bench/.pytest_cache/README.md",
    "tests/reports/bench/b.json",
]


@pytest.fixture
def fake_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A demo source tree like one used in a checkout: the project plus tool litter."""
    src = tmp_path / "demo_project"
    (src / "tests" / "bench").mkdir(parents=True)
    (src / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    (src / "tests" / "bench" / "b.py").write_text("print('{}')\n")
    (src / "tests" / "bench" / "baselines.json").write_text("{}\n")
    for rel in LITTER:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text("x")
    monkeypatch.setattr(demo, "demo_source", lambda: src)
    return src


def test_copy_leaves_caches_and_results_behind(fake_source: Path, tmp_path: Path) -> None:
    dest = demo.copy_demo(tmp_path / "copy")
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert copied == ["pyproject.toml", "tests/bench/b.py", "tests/bench/baselines.json"]


def test_copy_to_a_fresh_temp_dir(fake_source: Path) -> None:
    dest = demo.copy_demo()
    try:
        assert (dest / "tests" / "bench" / "b.py").is_file()
        assert not (dest / ".mypy_cache").exists()
    finally:
        shutil.rmtree(dest)


def test_copy_refuses_a_non_empty_folder(fake_source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(BenchgateError, match="not empty"):
        demo.copy_demo(dest)


def test_the_bundled_demo_copies(tmp_path: Path) -> None:
    dest = demo.copy_demo(tmp_path / "real")
    assert (dest / "pyproject.toml").is_file() and (dest / "tests" / "bench").is_dir()
    for name in demo.DEMO_IGNORE:
        assert not list(dest.rglob(name)), name


def test_demo_runs_the_main_job_end_to_end(tmp_path: Path) -> None:
    """`benchgate demo` on the real bundled suite, one run per bench: every bench reports
    (msgspec or cbor2 may be absent: SKIPPED is fine), the verdict table and the report
    are there, and the exit code is 0 without --strict whatever the verdicts."""
    from click.testing import CliRunner

    from benchgate.cli import main

    dest = tmp_path / "demo"
    r = CliRunner().invoke(main, ["demo", "--dir", str(dest), "--repeat", "1"])
    assert r.exit_code == 0, r.output
    assert "STATUS" in r.output and "benchgate:" in r.output
    assert (dest / "tests" / "reports" / "bench" / "report.md").is_file()
    keys = {
        "vm_counter_runtime.steps_per_sec",
        "da_rs_encode.encode_MBps",
        "da_nmt_build.leaves_per_sec",
        "miner_hash_loop.hashes_per_sec",
        "mempool_select.p90_s",
    }
    assert all(k in r.output for k in keys)
    assert "ERROR" not in r.output.split("benchgate:")[0]  # no bench crashed
