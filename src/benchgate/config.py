"""Project configuration: ``[tool.benchgate]`` of the project's pyproject.toml.

Defaults are the paths of gates.md; command-line flags override the file.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from benchgate.errors import BenchgateError
from benchgate.run.measure import DEFAULT_CALLS, parse_measures

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
    # Benches that are commands rather than scripts: name -> command (string or argv list).
    commands: dict[str, str | list[str]] = field(default_factory=dict)
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


_TYPES: dict[str, tuple[type, ...]] = {
    "bench_dir": (str,),
    "patterns": (list,),
    "exclude": (list,),
    "commands": (dict,),
    "baselines": (str,),
    "report": (str,),
    "gates_md": (str,),
    "out_dir": (str,),
    "degradation_pct_max": (int, float),
    "variance_pct_warn": (int, float),
    "env": (dict,),
    "cpus": (str,),
    "timeout": (int, float),
    "disturbed_share": (int, float),
    "rapid_edit_days": (int,),
    "min_runs": (int,),
    "measure": (str, list),
    "measure_per_bench": (dict,),
    "calls": (int,),
}


def load_config(root: Path | None = None) -> Config:
    """Read ``[tool.benchgate]`` from ``root``'s pyproject.toml (root found upward if None)."""
    root = find_root() if root is None else root.resolve()
    cfg = Config(root=root)
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return cfg
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BenchgateError(f"not valid TOML: {exc}", pyproject) from None
    section = data.get("tool", {}).get("benchgate")
    if section is None:
        return replace(cfg, source=pyproject)
    if not isinstance(section, dict):
        raise BenchgateError("[tool.benchgate] must be a table", pyproject)
    known = {f.name for f in fields(Config)} - {"root", "source"}
    values: dict[str, Any] = {}
    for key, val in section.items():
        name = key.replace("-", "_")
        if name not in known:
            raise BenchgateError(f"unknown setting {key!r}", pyproject, "tool.benchgate")
        types = _TYPES[name]
        if isinstance(val, bool) or not isinstance(val, types):
            want = " or ".join(t.__name__ for t in types)
            raise BenchgateError(f"must be {want}", pyproject, f"tool.benchgate.{key}")
        if name == "env" and isinstance(val, dict):
            # Added to the method's defaults, not instead of them: a project that adds
            # PYTHONPATH keeps PYTHONHASHSEED=0. A default is changed by naming it.
            val = {**DEFAULT_ENV, **{str(k): str(v) for k, v in val.items()}}
        values[name] = val
    cfg = replace(cfg, source=pyproject, **values)
    for name in ("degradation_pct_max", "variance_pct_warn", "disturbed_share"):
        v = getattr(cfg, name)
        if not 0 < v < 1:
            raise BenchgateError(
                "must be a fraction in (0, 1)", pyproject, f"tool.benchgate.{name}"
            )
    if cfg.variance_pct_warn > cfg.degradation_pct_max:
        raise BenchgateError(
            "variance_pct_warn is above degradation_pct_max", pyproject, "tool.benchgate"
        )
    if cfg.timeout <= 0:
        raise BenchgateError("must be positive", pyproject, "tool.benchgate.timeout")
    if cfg.calls < 1:
        raise BenchgateError("must be at least 1", pyproject, "tool.benchgate.calls")
    try:
        parse_measures(cfg.measure, "tool.benchgate.measure")
        for name, value in cfg.measure_per_bench.items():
            if not isinstance(value, (str, list)):
                raise BenchgateError(
                    "must be a string or a list", key=f"tool.benchgate.measure_per_bench.{name}"
                )
            parse_measures(value, f"tool.benchgate.measure_per_bench.{name}")
    except BenchgateError as exc:
        raise BenchgateError(exc.problem, pyproject, exc.key) from None
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
