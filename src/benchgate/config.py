"""Project configuration: ``[tool.benchgate]`` of the project's pyproject.toml.

Defaults are the paths of gates.md; command-line flags override the file.
"""

from __future__ import annotations

import difflib
import math
import re
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchgate import fsutil
from benchgate.errors import BenchgateError
from benchgate.run.measure import DEFAULT_CALLS, parse_measures
from benchgate.selection import MetricRules, RuleError, parse_metric_rules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_EXCLUDE = ["runner.py", "conftest.py", "test_*.py", "_*.py"]
DEFAULT_ENV = {"PYTHONHASHSEED": "0", "NUMBA_DISABLE_JIT": "1"}


@dataclass
class Config:
    """Where things live and how benches run. Relative paths are relative to ``root``."""

    root: Path
    bench_dir: str = "tests/bench"
    patterns: list[str] = field(default_factory=lambda: ["*.py"])
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    # Benches that are commands rather than scripts: name -> command (string or argv list),
    # or a table {cmd, format, output} / {kind = "pytest", args} (see run/discovery.py).
    commands: dict[str, str | list[str] | dict[str, Any]] = field(default_factory=dict)
    baselines: str = "tests/bench/baselines.json"
    report: str = "tests/bench/report.md"
    gates_md: str = "tests/GATES.md"
    out_dir: str = "tests/reports/bench"
    degradation_pct_max: float = 0.15
    variance_pct_warn: float = 0.05
    env: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ENV))
    cpus: str | None = None
    timeout: float = 300.0
    # A run is "disturbed" when other processes took more than this share of its CPUs.
    disturbed_share: float = 0.25
    # check: baselines.json changed on the base branch within this many days = rapid edit.
    rapid_edit_days: int = 7
    min_runs: int = 5
    # What benches measure: "time", "instructions", "cycles", "memory", a list, or "both".
    measure: str | list[str] = "time"
    # Per-bench override: bench name -> measurements (wins over `measure`).
    measure_per_bench: dict[str, str | list[str]] = field(default_factory=dict)
    # Calls of the smaller instruction-counting process (the other makes twice as many).
    calls: int = DEFAULT_CALLS
    # [tool.benchgate.metrics.<bench>]: which metrics gate, renames, informational ones.
    metrics: dict[str, MetricRules] = field(default_factory=dict)
    # How `ab` makes each side importable: "pythonpath" (its tree first) or "venv" (built).
    ab_build: str = "pythonpath"
    # Machine classes: name -> what identifies it (see benchgate.machine.classes).
    machines: dict[str, Any] = field(default_factory=dict)
    # Between-day drift of wall-clock metrics against a stored baseline (fraction at 95%;
    # judge.drift.DEFAULT_DRIFT_PCT): widens those verdicts' intervals. 0 = none.
    drift_pct: float = 0.10
    # Results store URL (docs/store.md): sqlite, sqlite:///PATH, postgresql://..., off.
    store: str | None = None
    source: Path | None = None  # the pyproject.toml read, if any

    def path(self, rel: str | Path) -> Path:
        """Resolve a configured path against the project root."""
        p = Path(rel)
        return p if p.is_absolute() else self.root / p

    @property
    def baselines_path(self) -> Path:
        return self.path(self.baselines)

    @property
    def out_path(self) -> Path:
        return self.path(self.out_dir)

    @property
    def bench_path(self) -> Path:
        return self.path(self.bench_dir)

    @property
    def report_path(self) -> Path:
        return self.path(self.report)

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with every non-None override applied (flags beat the file)."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` holding a pyproject.toml; else ``start``."""
    start = (start or Path.cwd()).resolve()
    for d in [start, *start.parents]:
        if (d / "pyproject.toml").is_file():
            return d
    return start


# Bounds beyond which a setting is a typo, not a choice (and past which arithmetic on it
# overflows: a 400-digit timeout cannot become a float).
MAX_TIMEOUT_S = 10_000_000.0
MAX_MIN_RUNS = 1_000_000
MAX_RAPID_EDIT_DAYS = 36_500
MAX_CALLS = 1_000_000
_BENCH_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Bad(Exception):
    """A setting's problem; ``key`` is the dotted key below tool.benchgate, when deeper."""

    def __init__(self, problem: str, key: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.key = key


def _text(v: Any, what: str = "a string") -> str:
    if not isinstance(v, str):
        raise _Bad(f"must be {what}, got {_shown(v)}")
    if "\0" in v:
        raise _Bad("must not hold a NUL character")
    return v


def _shown(v: Any) -> str:
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, list):
        return "an array"
    return kind.get(type(v), type(v).__name__)


def _path(v: Any) -> str:
    v = _text(v, "a path (string)")
    if not v.strip():
        raise _Bad("must not be empty")
    return v


def _strings(v: Any) -> list[str]:
    if not isinstance(v, list):
        raise _Bad(f"must be an array of strings, got {_shown(v)}")
    for i, x in enumerate(v):
        if not isinstance(x, str) or not x:
            raise _Bad(f"item {i + 1} must be a non-empty string, got {_shown(x)}")
        _text(x)
    return list(v)


def _patterns(v: Any) -> list[str]:
    out = _strings(v)
    for i, p in enumerate(out):
        if p.startswith(("/", "\\")):
            raise _Bad(f"item {i + 1} ({p!r}) must be a pattern relative to bench_dir")
    return out


def _argv_of(cmd: Any) -> list[str]:
    if isinstance(cmd, str):
        _text(cmd)
        try:
            argv = shlex.split(cmd)
        except ValueError as exc:  # e.g. "No closing quotation"
            raise _Bad(f"cannot be split into arguments: {exc}") from None
    elif isinstance(cmd, list):
        argv = _strings(cmd)
    else:
        raise _Bad(f"must be a string or an array of strings, got {_shown(cmd)}")
    if not argv:
        raise _Bad("empty command")
    return argv


def _command_table(spec: dict[str, Any]) -> dict[str, Any]:
    # The table form ({cmd, format, output} or {kind = "pytest", args}); its keys and
    # their combinations are checked where the bench is built (run.discovery).
    unknown = sorted(set(spec) - {"cmd", "format", "output", "kind", "args"})
    if unknown:
        raise _Bad(f"unknown key {unknown[0]!r} (known: cmd, format, output, kind, args)")
    for key, value in spec.items():
        if key in ("cmd", "args"):
            if key == "cmd" or value:
                try:
                    _argv_of(value)
                except _Bad as exc:
                    raise _Bad(f"{key}: {exc.problem}") from None
        elif not isinstance(value, str):
            raise _Bad(f"{key} must be a string, got {_shown(value)}")
        else:
            _text(value)
    return spec


def _commands(v: Any) -> dict[str, str | list[str] | dict[str, Any]]:
    if not isinstance(v, dict):
        raise _Bad(f"must be a table of name = command, got {_shown(v)}")
    out: dict[str, str | list[str] | dict[str, Any]] = {}
    for name, cmd in v.items():
        if not _BENCH_NAME.match(name):
            raise _Bad("a bench name must be letters, digits, '_' or '-'", f"commands.{name}")
        try:
            out[name] = _command_table(cmd) if isinstance(cmd, dict) else cmd
            if not isinstance(cmd, dict):
                _argv_of(cmd)
        except _Bad as exc:
            raise _Bad(exc.problem, f"commands.{name}") from None
    return out


def _env(v: Any) -> dict[str, str]:
    if not isinstance(v, dict):
        raise _Bad(f"must be a table of NAME = value, got {_shown(v)}")
    out: dict[str, str] = {}
    for name, val in v.items():
        if not _ENV_NAME.match(name):
            raise _Bad("not a valid environment variable name", f"env.{name}")
        # Numbers are written as they read (PYTHONHASHSEED = 0); anything else is a mistake.
        if isinstance(val, bool) or not isinstance(val, (str, int, float)):
            raise _Bad(f"must be a string or a number, got {_shown(val)}", f"env.{name}")
        if isinstance(val, float) and not math.isfinite(val):
            raise _Bad("must be a finite number", f"env.{name}")
        if isinstance(val, str) and "\0" in val:
            raise _Bad("must not hold a NUL character", f"env.{name}")
        out[name] = str(val)
    return out


def _number(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Bad(f"must be a number, got {_shown(v)}")
    if isinstance(v, int) and abs(v) > 10**15:
        raise _Bad(f"{str(v)[:12]}... is out of range")
    x = float(v)
    if not math.isfinite(x):
        raise _Bad(f"must be a finite number, got {v}")
    return x


def _fraction(v: Any) -> float:
    x = _number(v)
    if not 0 < x < 1:
        raise _Bad(f"must be a fraction in (0, 1) (0.15 = 15%), got {v}")
    return x


def _drift(v: Any) -> float:
    x = _number(v)
    if not 0 <= x < 1:
        raise _Bad(f"must be a fraction in [0, 1) (0.10 = 10%; 0 = no drift), got {v}")
    return x


def _timeout(v: Any) -> float:
    x = _number(v)
    if not 0 < x <= MAX_TIMEOUT_S:
        raise _Bad(f"must be seconds in (0, {MAX_TIMEOUT_S:g}], got {v}")
    return x


def _integer(lo: int, hi: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _Bad(f"must be an integer, got {_shown(v)}")
        if not lo <= v <= hi:
            shown = str(v) if len(str(v)) <= 20 else str(v)[:12] + "..."
            raise _Bad(f"must be between {lo} and {hi}, got {shown}")
        return v

    return check


def _cpus(v: Any) -> str:
    v = _text(v, 'a CPU list string (e.g. "2-3" or "auto")')
    if not v.strip():
        raise _Bad("must not be empty (leave it out for no pinning)")
    return v


def _machines(v: Any) -> dict[str, Any]:
    # Each class's keys are checked by benchgate.machine.classes.machine_classes, which
    # every command using them calls; here only the shape.
    if not isinstance(v, dict):
        raise _Bad(f"must be a table of class name = table, got {_shown(v)}")
    for name, spec in v.items():
        if not isinstance(spec, dict):
            raise _Bad(
                f'must be a table, e.g. {{ arch = "x86_64" }}, got {_shown(spec)}',
                f"machines.{name}",
            )
    return dict(v)


def _measure(v: Any) -> str | list[str]:
    if not isinstance(v, (str, list)):
        raise _Bad(f'must be a string or an array, e.g. "time,instructions", got {_shown(v)}')
    try:
        parse_measures(v)
    except BenchgateError as exc:
        raise _Bad(exc.problem) from None
    return v


def _measure_per_bench(v: Any) -> dict[str, str | list[str]]:
    if not isinstance(v, dict):
        raise _Bad(f"must be a table of bench name = measurements, got {_shown(v)}")
    for name, value in v.items():
        try:
            _measure(value)
        except _Bad as exc:
            raise _Bad(exc.problem, f"measure_per_bench.{name}") from None
    return dict(v)


AB_BUILDS = ("pythonpath", "venv")


def _metric_rules(v: Any) -> dict[str, MetricRules]:
    try:
        return parse_metric_rules(v)
    except RuleError as exc:
        raise _Bad(exc.problem, ".".join(p for p in ("metrics", exc.key) if p)) from None


def _ab_build(v: Any) -> str:
    v = _text(v)
    if v not in AB_BUILDS:
        raise _Bad(f"must be one of {', '.join(AB_BUILDS)}, got {v!r}")
    return v


# One check per setting: each returns the value to use or raises _Bad.
_CHECKS: dict[str, Callable[[Any], Any]] = {
    "bench_dir": _path,
    "patterns": _patterns,
    "exclude": _strings,
    "commands": _commands,
    "baselines": _path,
    "report": _path,
    "gates_md": _path,
    "out_dir": _path,
    "degradation_pct_max": _fraction,
    "variance_pct_warn": _fraction,
    "env": _env,
    "cpus": _cpus,
    "timeout": _timeout,
    "disturbed_share": _fraction,
    "rapid_edit_days": _integer(0, MAX_RAPID_EDIT_DAYS),
    "min_runs": _integer(1, MAX_MIN_RUNS),
    "machines": _machines,
    "measure": _measure,
    "measure_per_bench": _measure_per_bench,
    "calls": _integer(1, MAX_CALLS),
    "metrics": _metric_rules,
    "ab_build": _ab_build,
    "drift_pct": _drift,
    "store": _text,
}


def load_config(root: Path | None = None) -> Config:
    """Read ``[tool.benchgate]`` from ``root``'s pyproject.toml (root found upward if None).

    Every setting is checked for type and range; an unknown one is an error with the
    nearest known name. Each problem is one BenchgateError naming the file and the key.
    """
    root = find_root() if root is None else root.resolve()
    cfg = Config(root=root)
    pyproject = root / "pyproject.toml"
    if not pyproject.exists():  # a FIFO or folder in its place is an error below
        return cfg
    try:
        data = tomllib.loads(fsutil.read_text(pyproject))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BenchgateError(f"not valid TOML: {exc}", pyproject) from None
    except OSError as exc:
        raise BenchgateError(f"cannot be read: {exc.strerror or exc}", pyproject) from None
    tool = data.get("tool")
    if tool is None:
        return replace(cfg, source=pyproject)
    if not isinstance(tool, dict):
        raise BenchgateError(f"[tool] must be a table, got {_shown(tool)}", pyproject, "tool")
    section = tool.get("benchgate")
    if section is None:
        return replace(cfg, source=pyproject)
    if not isinstance(section, dict):
        raise BenchgateError(
            f"must be a table ([tool.benchgate]), got {_shown(section)}",
            pyproject,
            "tool.benchgate",
        )
    values: dict[str, Any] = {}
    for key, val in section.items():
        name = key.replace("-", "_")
        check = _CHECKS.get(name)
        if check is None:
            near = difflib.get_close_matches(name, list(_CHECKS), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            known = ", ".join(_CHECKS)
            raise BenchgateError(
                f"unknown setting {key!r}{hint}; known: {known}", pyproject, "tool.benchgate"
            )
        try:
            val = check(val)
        except _Bad as exc:
            where = f"tool.benchgate.{exc.key}" if exc.key else f"tool.benchgate.{key}"
            raise BenchgateError(exc.problem, pyproject, where) from None
        if name == "env":
            # Added to the method's defaults, not instead of them: a project that adds
            # PYTHONPATH keeps PYTHONHASHSEED=0. A default is changed by naming it.
            val = {**DEFAULT_ENV, **val}
        values[name] = val
    cfg = replace(cfg, source=pyproject, **values)
    if cfg.variance_pct_warn > cfg.degradation_pct_max:
        raise BenchgateError(
            f"variance_pct_warn ({cfg.variance_pct_warn:g}) is above degradation_pct_max "
            f"({cfg.degradation_pct_max:g})",
            pyproject,
            "tool.benchgate",
        )
    return cfg


def measure_settings(
    config: Config, flag: str | None
) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """(measurements, per-bench overrides): ``--measure`` replaces ``measure``;
    ``measure_per_bench`` still wins for the benches it names."""
    default = parse_measures(flag) if flag is not None else parse_measures(config.measure)
    per_bench = {
        str(k): parse_measures(v, f"tool.benchgate.measure_per_bench.{k}")
        for k, v in config.measure_per_bench.items()
    }
    return default, per_bench
