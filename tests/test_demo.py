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


def test_inject_slowdown_changes_exactly_the_helper(tmp_path: Path) -> None:
    dest = demo.copy_demo(tmp_path / "real")
    before = (dest / demo.SLOW_FILE).read_text()
    path = demo.inject_slowdown(dest)
    after = path.read_text()
    assert after != before and "for byte in data[:14]" in after
    assert after.count("def leaf_node") == 1
    with pytest.raises(BenchgateError, match="not as shipped"):
        demo.inject_slowdown(dest)  # already changed: refuses to change it twice


def test_demo_tells_the_story_end_to_end(tmp_path: Path) -> None:
    """`benchgate demo` on the real bundled suite (time mode, one round): the suite is
    measured, the known change is made, ab judges it, explain names the helper."""
    from click.testing import CliRunner

    from benchgate.cli import main

    dest = tmp_path / "demo"
    r = CliRunner().invoke(main, ["demo", "--dir", str(dest), "--repeat", "1", "--measure", "time"])
    # 0: the story held; 1: this machine was too noisy for the gate to be sure. Never 2.
    assert r.exit_code in (0, 1), r.output
    out = r.output
    for step in (
        "1. measure the suite",
        "2. a known change to leaf_node()",
        "3. the gate:",
        "4. why: benchgate explain da_nmt_build.leaves_per_sec",
    ):
        assert step in out, step
    assert "vm_counter_runtime.steps_per_sec" in out and "mempool_select.ops_per_sec" in out
    assert "explain names leaf_node()" in out
    assert " 0 ERROR," in out and "\nERROR " not in out  # no bench crashed
    assert (dest / "tests/reports/bench/explain/da_nmt_build.leaves_per_sec/flame.html").is_file()
    assert ("the story held" in out) == (r.exit_code == 0)
