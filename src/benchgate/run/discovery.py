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
from benchgate.importers import READERS

# In a declared command's argv: replaced by a temporary file the results are read from.
OUTPUT_PLACEHOLDER = "{output}"

_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


@dataclass(frozen=True)
class Bench:
    """One benchmark: its name (the key prefix) and the command that runs it."""

    name: str
    argv: tuple[str, ...]
    path: Path | None = None  # the script, for file benches
    # A declared command's result format (benchgate.importers.READERS); None: the contract.
    format: str | None = None
    # Where the command writes its results (relative to the root); None: its stdout, or
    # a temporary file when the argv holds the {output} placeholder.
    output: str | None = None
    # Exit codes that still carry results (pytest exits 1 when a test failed).
    ok_exit_codes: tuple[int, ...] = (0,)


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
        if isinstance(cmd, dict):
            benches[name] = declared_command(name, cmd, where, python)
            continue
        argv = _argv(cmd, where, name)
        benches[name] = Bench(name, argv)
    return [benches[k] for k in sorted(benches)]


def _argv(cmd: object, where: str | Path, name: str) -> tuple[str, ...]:
    if isinstance(cmd, str):
        argv = tuple(shlex.split(cmd))
    elif isinstance(cmd, list) and all(isinstance(a, str) for a in cmd):
        argv = tuple(cmd)
    else:
        raise BenchgateError("must be a string or a list of strings", where, name)
    if not argv:
        raise BenchgateError("empty command", where, f"tool.benchgate.commands.{name}")
    return argv


def declared_command(name: str, spec: dict[str, object], where: str | Path, python: str) -> Bench:
    """A command bench given as a table: ``{cmd, format, output}`` or ``{kind = "pytest"}``.

    ``kind = "pytest"`` runs ``python -m pytest <args>`` with benchgate's pytest plugin
    writing its results to a temporary file (each benchmark test one metric);
    ``format = NAME`` reads the command's stdout, or the file ``output`` (or the
    ``{output}`` placeholder in ``cmd``), with that importer.
    """
    key = f"tool.benchgate.commands.{name}"
    unknown = set(spec) - {"cmd", "format", "output", "kind", "args"}
    if unknown:
        raise BenchgateError(
            f"unknown key {sorted(unknown)[0]!r} (known: cmd, format, output, kind, args)",
            where,
            key,
        )
    kind = spec.get("kind", "command")
    output = spec.get("output")
    if output is not None and not (isinstance(output, str) and output.strip()):
        raise BenchgateError("output must be a file path", where, key)
    if kind == "pytest":
        if "cmd" in spec or "format" in spec:
            raise BenchgateError("kind = 'pytest' takes args, not cmd or format", where, key)
        args = spec.get("args", "")
        extra = _argv(args, where, name) if args else ()
        argv = (python, "-m", "pytest", *extra, "--benchgate-json", OUTPUT_PLACEHOLDER)
        return Bench(name, argv, format="pytest", ok_exit_codes=(0, 1))
    if kind != "command":
        raise BenchgateError(f"unknown kind {kind!r} (known: command, pytest)", where, key)
    if "cmd" not in spec:
        raise BenchgateError("needs cmd (the command to run)", where, key)
    if "args" in spec:
        raise BenchgateError("args is for kind = 'pytest'; put them in cmd", where, key)
    fmt = spec.get("format")
    if fmt is not None and fmt not in READERS:
        raise BenchgateError(
            f"unknown format {fmt!r} (known: {', '.join(sorted(READERS))})", where, key
        )
    argv = _argv(spec["cmd"], where, name)
    if (output is not None or any(OUTPUT_PLACEHOLDER in a for a in argv)) and fmt is None:
        raise BenchgateError("output needs a format to read it with", where, key)
    return Bench(name, argv, format=fmt, output=output)


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
