"""Shared fixtures: tiny projects with real bench scripts, driven through the real CLI."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from benchgate.cli import main


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project: a folder with a pyproject.toml and tests/bench/."""
    root = tmp_path / "proj"
    (root / "tests" / "bench").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0"\n')
    return root


@pytest.fixture
def write_bench(project: Path) -> Callable[[str, str], Path]:
    """Write a bench script ``tests/bench/<name>.py`` with the given body."""

    def _write(name: str, body: str) -> Path:
        path = project / "tests" / "bench" / f"{name}.py"
        path.write_text(textwrap.dedent(body))
        return path

    return _write


@pytest.fixture
def cli(project: Path) -> Callable[..., Result]:
    """Invoke the real CLI on the project: ``cli("run", "--repeat", "2")``."""

    def _cli(*args: str) -> Result:
        return CliRunner().invoke(main, ["-C", str(project), *args], catch_exceptions=False)

    return _cli


def write_baselines(project: Path, data: dict[str, object]) -> Path:
    path = project / "tests" / "bench" / "baselines.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def const_bench(metrics: dict[str, tuple[float, str]]) -> str:
    """A bench printing fixed canonical metrics (deterministic, instant)."""
    payload = {"metrics": {k: {"value": v, "unit": u} for k, (v, u) in metrics.items()}}
    return f"import json\nprint('warming up')\nprint(json.dumps({payload!r}))\n"
