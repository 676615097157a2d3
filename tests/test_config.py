"""[tool.benchgate]: env is added to the method's defaults; an uninstalled project package
gets a hint instead of a bare ModuleNotFoundError."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from benchgate.config import DEFAULT_ENV, load_config
from benchgate.run.runner import import_hint


def add_settings(project: Path, text: str) -> None:
    with (project / "pyproject.toml").open("a") as f:
        f.write(f"\n[tool.benchgate]\n{text}\n")


def test_env_is_added_to_the_defaults(project: Path) -> None:
    add_settings(project, 'env = {PYTHONPATH = "src", NUMBA_DISABLE_JIT = "0"}')
    env = load_config(project).env
    assert env["PYTHONPATH"] == "src"
    assert env["PYTHONHASHSEED"] == DEFAULT_ENV["PYTHONHASHSEED"]  # kept
    assert env["NUMBA_DISABLE_JIT"] == "0"  # a default is changed by naming it


def test_import_hint_names_the_fix(tmp_path: Path) -> None:
    (tmp_path / "src" / "mylib").mkdir(parents=True)
    (tmp_path / "flat.py").write_text("")
    line = "ModuleNotFoundError: No module named 'mylib'"
    hint = import_hint(line, tmp_path)
    assert hint is not None and "src/" in hint and "pip install -e ." in hint
    assert 'PYTHONPATH = "src"' in hint
    flat = import_hint("ModuleNotFoundError: No module named 'flat.sub'", tmp_path)
    assert flat is not None and 'PYTHONPATH = "."' in flat
    assert import_hint("ModuleNotFoundError: No module named 'numpy'", tmp_path) is None
    assert import_hint("ValueError: boom", tmp_path) is None


def test_uninstalled_project_package_end_to_end(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    (project / "src" / "mylib_e2e").mkdir(parents=True)
    (project / "src" / "mylib_e2e" / "__init__.py").write_text("SPEED = 7.0\n")
    write_bench(
        "speed",
        "import json\nimport mylib_e2e\n"
        "print(json.dumps({'metrics': {'ops_per_sec': mylib_e2e.SPEED}}))\n",
    )
    r = cli("run")
    assert "not installed: `pip install -e .`" in r.output
    add_settings(project, 'env = {PYTHONPATH = "src"}')
    assert cli("run").exit_code == 0
    runs = json.loads((project / "tests" / "reports" / "bench" / "speed.json").read_text())["runs"]
    assert runs[-1]["status"] == "ok"
    assert runs[-1]["command"]["env"]["PYTHONHASHSEED"] == "0"
