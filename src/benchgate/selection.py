"""Which metrics of a bench are gated, what they are called, which are only informational.

``[tool.benchgate.metrics.<bench>]`` in pyproject.toml (``"*"`` for every bench without
its own table)::

    [tool.benchgate.metrics.sim]
    include = ["steps_*", "match.*"]      # only these are metrics (default: all)
    exclude = ["*_last_run"]              # never these
    rename = {steps_per_s = "steps_per_sec"}   # reported name -> gated name (an alias)
    info = ["elapsed_s", "final_*"]       # recorded and shown as INFO, never gate

Patterns are shell globs (``fnmatch``, case-sensitive) matched against the name the bench
reports (nested result objects as dotted names, ``match.jobs_per_sec``) and against its
renamed form. ``info`` wins over ``include``/``exclude``; ``exclude`` wins over ``include``.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from benchgate.validate import name_problem

RULE_KEYS = ("include", "exclude", "rename", "info")
ALL_BENCHES = "*"
_BENCH_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


class RuleError(ValueError):
    """A problem in ``[tool.benchgate.metrics]``; ``key`` is the dotted key below it."""

    def __init__(self, problem: str, key: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.key = key


@dataclass(frozen=True)
class MetricRules:
    """The metric rules of one bench (empty: every metric gated under its own name)."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    rename: dict[str, str] = field(default_factory=dict)
    info: tuple[str, ...] = ()

    def __hash__(self) -> int:  # frozen with a dict field: hash what identifies the rules
        return hash((self.include, self.exclude, tuple(self.rename.items()), self.info))

    def classify(self, name: str) -> tuple[str, str]:
        """``(kind, gated_name)``: kind is ``"metric"``, ``"info"`` or ``"dropped"``."""
        new = self.rename.get(name, name)

        def hit(patterns: tuple[str, ...]) -> bool:
            return any(
                fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(new, p) for p in patterns
            )

        if hit(self.info):
            return "info", new
        if self.include and not hit(self.include):
            return "dropped", new
        if hit(self.exclude):
            return "dropped", new
        return "metric", new

    @property
    def empty(self) -> bool:
        return not (self.include or self.exclude or self.rename or self.info)


NO_RULES = MetricRules()


def rules_for(rules: dict[str, MetricRules], bench: str) -> MetricRules:
    """The rules of ``bench``: its own table, else the ``"*"`` table, else none."""
    return rules.get(bench) or rules.get(ALL_BENCHES) or NO_RULES


def _patterns(v: Any, key: str) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise RuleError("must be an array of glob patterns (strings)", key)
    for i, p in enumerate(v):
        if not isinstance(p, str) or not p.strip():
            raise RuleError(f"item {i + 1} must be a non-empty string", key)
        problem = name_problem(p, "pattern")
        if problem:
            raise RuleError(f"item {i + 1}: {problem}", key)
    return tuple(v)


def _rename(v: Any, key: str) -> dict[str, str]:
    if not isinstance(v, dict):
        raise RuleError('must be a table of reported_name = "gated_name"', key)
    out: dict[str, str] = {}
    for old, new in v.items():
        if not isinstance(new, str):
            raise RuleError("must be a string (the gated name)", f"{key}.{old}")
        for what, name in (("reported name", old), ("gated name", new)):
            problem = name_problem(name, what)
            if problem:
                raise RuleError(problem, f"{key}.{old}")
        if new in out.values():
            first = next(k for k, x in out.items() if x == new)
            raise RuleError(f"{first!r} and {old!r} are both renamed to {new!r}", key)
        out[old] = new
    chained = set(out) & set(out.values())
    if chained:
        name = sorted(chained)[0]
        raise RuleError(f"{name!r} is both renamed and a rename target (no chains)", key)
    return out


def parse_metric_rules(value: Any) -> dict[str, MetricRules]:
    """Check ``[tool.benchgate.metrics]`` (RuleError naming the key below it)."""
    if not isinstance(value, dict):
        raise RuleError("must be a table of bench names, e.g. [tool.benchgate.metrics.sim]", "")
    out: dict[str, MetricRules] = {}
    for bench, table in value.items():
        if bench != ALL_BENCHES and not _BENCH_NAME.match(bench):
            raise RuleError("a bench name must be letters, digits, '_', '-' or '.'", bench)
        if not isinstance(table, dict):
            raise RuleError(f"must be a table with keys {', '.join(RULE_KEYS)}", bench)
        parts: dict[str, Any] = {}
        for k, v in table.items():
            key = f"{bench}.{k}"
            if k not in RULE_KEYS:
                near = difflib.get_close_matches(k, RULE_KEYS, n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise RuleError(f"unknown key{hint}; known: {', '.join(RULE_KEYS)}", key)
            parts[k] = _rename(v, key) if k == "rename" else _patterns(v, key)
        out[bench] = MetricRules(**parts)
    return out


def alias_config(bench: str, reported: str, gated: str) -> tuple[str, str]:
    """The two pyproject.toml lines (table header, key) making ``reported`` count as
    ``gated`` for ``bench``."""
    return (
        f"[tool.benchgate.metrics.{_toml_key(bench)}]",
        f'rename = {{{_toml_key(reported)} = "{gated}"}}',
    )


def _toml_key(name: str) -> str:
    return name if re.match(r"^[A-Za-z0-9_\-]+$", name) else f'"{name}"'
