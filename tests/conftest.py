"""Shared fixtures: tiny projects with real bench scripts, driven through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from benchgate.cli import main
from benchgate.machine.environment import fingerprint
from benchgate.model import Measurement, RunRecord, RunStatus
from pgserver import PgUnavailable, temporary_cluster


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


def no_drift(project: Path) -> None:
    """Set ``drift_pct = 0`` in the project's [tool.benchgate]: intervals of the samples alone."""
    path = project / "pyproject.toml"
    text = path.read_text()
    if "[tool.benchgate]" in text:
        text = text.replace("[tool.benchgate]\n", "[tool.benchgate]\ndrift_pct = 0\n", 1)
    else:
        text += "\n[tool.benchgate]\ndrift_pct = 0\n"
    path.write_text(text)


def write_baselines(project: Path, data: dict[str, object]) -> Path:
    path = project / "tests" / "bench" / "baselines.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def const_bench(metrics: dict[str, tuple[float, str]]) -> str:
    """A bench printing fixed canonical metrics (deterministic, instant)."""
    payload = {"metrics": {k: {"value": v, "unit": u} for k, (v, u) in metrics.items()}}
    return f"import json\nprint('warming up')\nprint(json.dumps({payload!r}))\n"


def git(top: Path, *args: str, date: str | None = None) -> str:
    """Run git in ``top`` with no user or system config; ``date`` sets author and committer date."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if date:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    r = subprocess.run(["git", *args], cwd=top, env=env, capture_output=True, text=True, check=True)
    return r.stdout.strip()


def make_env(**over: Any) -> dict[str, Any]:
    """A recorded benchmark environment (fingerprinted after ``over`` is applied)."""
    env: dict[str, Any] = {
        "python": "3.12.3",
        "python_implementation": "CPython",
        "cpu_model": "AMD EPYC 7B13",
        "cpus": [2, 3],
        "logical_cores": 8,
        "physical_cores": 4,
        "os": "Linux-6.1-x86_64",
        "hostname": "bench1",
        "distributions": {"msgspec": "0.18.6", "numpy": "1.26.4"},
        "env_vars": {"PYTHONHASHSEED": "0"},
        "git": {"commit": "abc123def456", "dirty": False},
    }
    env.update(over)
    env["fingerprint"] = fingerprint(env)
    return env


def make_runs(
    bench: str,
    metrics: dict[str, list[float]],
    unit: str = "ops/sec",
    hib: bool = True,
    env: dict[str, Any] | None = None,
    day: str = "2026-11-26",
    invocation: str = "inv1",
    prefix: str = "",
    pinned: bool = True,
) -> list[RunRecord]:
    """OK runs of one bench, run i carrying ``metrics[k][i]``, as `benchgate run` records them.

    ``env=None`` is make_env(); ``pinned=False`` records a run without --cpus.
    """
    env = env if env is not None else make_env()
    n = len(next(iter(metrics.values())))
    argv = ["benchgate", "run", "--repeat", str(n)] + (["--cpus", "2-3"] if pinned else [])
    return [
        RunRecord(
            run_id=f"{prefix}{bench}-{i}",
            bench=bench,
            invocation=invocation,
            started=f"{day}T10:{i:02d}:00+00:00",
            duration_s=1.0,
            status=RunStatus.OK,
            metrics={k: Measurement(v[i], unit, hib) for k, v in metrics.items()},
            env=env,
            command={
                "argv": argv,
                "bench_argv": ["python", f"tests/bench/{bench}.py"],
                "cpus": [2, 3] if pinned else None,
                "env": {"PYTHONHASHSEED": "0", "NUMBA_DISABLE_JIT": "1"},
                "timeout": 300.0,
            },
        )
        for i in range(n)
    ]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server for the session (tests/pgserver.py); its URL.

    Missing binaries or driver: skip with how to install them, unless CI is set, where
    every component is installed and a missing one must fail the run.
    """
    try:
        with temporary_cluster() as url:
            yield url
    except PgUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(str(exc))


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty database on the session's server, for one test."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_server.rsplit("/", 1)[0] + "/" + name
