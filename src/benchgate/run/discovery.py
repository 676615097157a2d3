"""Bench discovery: scripts in the bench dir and commands declared in config."""

from __future__ import annotations

import fnmatch
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from benchgate.config import Config
from benchgate.errors import BenchgateError

_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


@dataclass(frozen=True)
class Bench:
    """One benchmark: its name (the key prefix) and the command that runs it."""

    name: str
    argv: tuple[str, ...]
    path: Path | None = None  # the script, for file benches


def _check_name(name: str, where: str | Path) -> None:
    if not _NAME.match(name):
        raise BenchgateError(
            f"bench name {name!r} must be letters, digits, '_' or '-' "
            "(it becomes the <bench> part of <bench>.<metric>)",
            where,
        )


def discover(config: Config, python: str | None = None) -> list[Bench]:
    """Every bench of the project, sorted by name: scripts first found, then commands."""
    python = python or sys.executable
    benches: dict[str, Bench] = {}
    bench_dir = config.bench_path
    if bench_dir.is_dir():
        for pattern in config.patterns:
            for path in sorted(bench_dir.glob(pattern)):
                if not path.is_file() or any(fnmatch.fnmatch(path.name, x) for x in config.exclude):
                    continue
                _check_name(path.stem, path)
                benches.setdefault(path.stem, Bench(path.stem, (python, str(path)), path))
    where = config.source or "pyproject.toml"
    for name, cmd in config.commands.items():
        _check_name(name, where)
        if name in benches:
            raise BenchgateError(
                f"command bench {name!r} has the same name as {benches[name].path}", where
            )
        if isinstance(cmd, str):
            argv = tuple(shlex.split(cmd))
        elif isinstance(cmd, list) and all(isinstance(a, str) for a in cmd):
            argv = tuple(cmd)
        else:
            raise BenchgateError("must be a string or a list of strings", where, name)
        if not argv:
            raise BenchgateError("empty command", where, f"tool.benchgate.commands.{name}")
        benches[name] = Bench(name, argv)
    return [benches[k] for k in sorted(benches)]


def select(benches: list[Bench], pattern: str | None) -> list[Bench]:
    """Benches whose name matches ``pattern`` (comma-separated globs or substrings).

    A pattern part that matches no bench is an error, so a typo never runs nothing.
    """
    if not pattern:
        return benches
    parts = [p.strip() for p in pattern.split(",") if p.strip()]
    chosen: set[str] = set()
    for part in parts:
        hits = {
            b.name
            for b in benches
            if fnmatch.fnmatch(b.name, part)
            or (not any(c in part for c in "*?[") and part in b.name)
        }
        if not hits:
            names = ", ".join(b.name for b in benches) or "none found"
            raise BenchgateError(f"no bench matches {part!r} (benches: {names})", key="-k")
        chosen |= hits
    return [b for b in benches if b.name in chosen]
