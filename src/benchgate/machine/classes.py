"""Machine classes: kinds of runner that keep their own baselines.

A project that measures on several kinds of machine (x86 and ARM runners, a small and a
large instance) declares them in ``[tool.benchgate.machines]``::

    [tool.benchgate.machines]
    x86 = { arch = "x86_64" }
    arm = { arch = "aarch64" }
    epyc = { cpu_model = "AMD EPYC*" }
    large = {}                      # only by label: `benchgate run --machine large`

Each key of a class table is a glob matched against the run's recorded environment
(``arch``, ``cpu_model``, ``os``, ``hostname``; ``logical_cores`` is a number); a class
matches when all its keys do, and the first class that matches wins. A class with no keys
is picked only by its label (``--machine NAME``). Each class keeps its baselines in
``baselines.<name>.json`` and the methodology of its last refresh in ``report.<name>.md``,
beside the configured ``baselines`` and ``report`` (or where its ``baselines`` and
``report`` keys say). With no classes declared nothing changes: one baselines.json.
"""

from __future__ import annotations

import fnmatch
import os
import platform
import re
import socket
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.gitutil import (
    changed_files,
    default_branch,
    merge_base,
    relpath,
    resolve_rev,
    toplevel,
)
from benchgate.machine.environment import capture_environment, fingerprint
from benchgate.machine.sysinfo import cpu_model
from benchgate.model import RunRecord

# The environment fields a class may name, and how each is matched.
GLOB_KEYS = ("arch", "cpu_model", "os", "hostname")
NUMBER_KEYS = ("logical_cores",)
PATH_KEYS = ("baselines", "report")
_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
# Architecture names platform.platform() carries, for records made before "arch" was kept.
_ARCH_IN_OS = re.compile(
    r"(x86_64|amd64|aarch64|arm64|armv\d+l?|i[3-6]86|ppc64le|ppc64|s390x|riscv64)",
    re.IGNORECASE,
)
# Where the class is written in a run's environment record.
RECORD_KEY = "machine_class"


@dataclass(frozen=True)
class MachineClass:
    """One declared class: its name, what identifies it, and its files."""

    name: str
    match: dict[str, Any] = field(default_factory=dict)
    baselines: str = ""
    report: str = ""

    def matches(self, identity: dict[str, Any]) -> bool:
        """True when every key of the class matches ``identity`` (never for a label class)."""
        if not self.match:
            return False
        for key, want in self.match.items():
            have = identity.get(key)
            if have is None:
                return False
            if key in NUMBER_KEYS:
                if have != want:
                    return False
            elif not fnmatch.fnmatchcase(str(have).lower(), str(want).lower()):
                return False
        return True

    def describe(self) -> str:
        """``arch=x86_64, cpu_model=AMD*`` or ``label only``."""
        if not self.match:
            return "label only (--machine)"
        return ", ".join(f"{k}={v}" for k, v in self.match.items())


def _sibling(path: str, name: str) -> str:
    """``tests/bench/baselines.json`` + ``arm`` -> ``tests/bench/baselines.arm.json``."""
    p = PurePosixPath(path.replace("\\", "/"))
    return str(p.with_name(f"{p.stem}.{name}{p.suffix}"))


def machine_classes(config: Config) -> list[MachineClass]:
    """The classes of ``[tool.benchgate.machines]``, validated, in declaration order."""
    where = config.source or "pyproject.toml"
    out: list[MachineClass] = []
    for name, spec in (config.machines or {}).items():
        key = f"tool.benchgate.machines.{name}"
        if not _NAME.match(str(name)):
            raise BenchgateError(
                "a machine class name must be letters, digits, '_' or '-'", where, key
            )
        if not isinstance(spec, dict):
            raise BenchgateError(
                'must be a table, e.g. { arch = "x86_64" } (or {} for a label)', where, key
            )
        match: dict[str, Any] = {}
        paths: dict[str, str] = {}
        for k, v in spec.items():
            if k in GLOB_KEYS and isinstance(v, str) and v:
                match[k] = v
            elif k in NUMBER_KEYS and isinstance(v, int) and not isinstance(v, bool):
                match[k] = v
            elif k in PATH_KEYS and isinstance(v, str) and v:
                paths[k] = v
            else:
                known = ", ".join((*GLOB_KEYS, *NUMBER_KEYS, *PATH_KEYS))
                raise BenchgateError(
                    f"unknown key or bad value {k!r} = {v!r} (keys: {known}; "
                    "logical_cores a number, the others strings)",
                    where,
                    key,
                )
        out.append(
            MachineClass(
                name=str(name),
                match=match,
                baselines=paths.get("baselines", _sibling(config.baselines, str(name))),
                report=paths.get("report", _sibling(config.report, str(name))),
            )
        )
    return out


def class_named(classes: list[MachineClass], name: str, key: str = "--machine") -> MachineClass:
    """The declared class called ``name``; BenchgateError listing the declared ones."""
    for c in classes:
        if c.name == name:
            return c
    if not classes:
        raise BenchgateError(
            f"no machine classes are declared ([tool.benchgate.machines]), so {name!r} names none",
            key=key,
        )
    names = ", ".join(c.name for c in classes)
    raise BenchgateError(f"unknown machine class {name!r} (declared: {names})", key=key)


def arch_of(env: dict[str, Any]) -> str | None:
    """The CPU architecture of a recorded environment (from ``os`` for older records)."""
    arch = env.get("arch")
    if arch:
        return str(arch)
    m = _ARCH_IN_OS.search(str(env.get("os") or ""))
    return m.group(1) if m else None


def identity_of(env: dict[str, Any]) -> dict[str, Any]:
    """What classes match against, from a recorded environment."""
    return {
        "arch": arch_of(env),
        "cpu_model": env.get("cpu_model"),
        "os": env.get("os"),
        "hostname": env.get("hostname"),
        "logical_cores": env.get("logical_cores"),
    }


def this_machine() -> dict[str, Any]:
    """The identity of the machine we run on (cheap: no subprocess, a few file reads)."""
    return {
        "arch": platform.machine() or None,
        "cpu_model": cpu_model(),
        "os": platform.platform(),
        "hostname": socket.gethostname(),
        "logical_cores": os.cpu_count(),
    }


def describe_identity(identity: dict[str, Any], fingerprint: str | None = None) -> str:
    """``fingerprint 1a2b3c4d5e6f: arch x86_64, cpu_model 'AMD EPYC 7763', ...`` for errors."""
    parts = [f"{k} {identity[k]!r}" for k in (*GLOB_KEYS, *NUMBER_KEYS) if identity.get(k)]
    head = f"fingerprint {fingerprint}: " if fingerprint else ""
    return head + (", ".join(parts) or "nothing recorded")


def classify(identity: dict[str, Any], classes: list[MachineClass]) -> MachineClass | None:
    """The first class ``identity`` matches, or None."""
    return next((c for c in classes if c.matches(identity)), None)


def recorded_by_fingerprint(runs: list[RunRecord], classes: list[MachineClass]) -> dict[str, str]:
    """Environment fingerprint -> the declared class runs of that environment recorded.

    A run that recorded no class (made by a step that does not record one, e.g. the extra
    runs of ``--confirm``) in the environment of runs that did is of their class: the same
    fingerprint is the same kind of machine.
    """
    names = {c.name for c in classes}
    out: dict[str, str] = {}
    for r in runs:
        recorded, fp = r.env.get(RECORD_KEY), r.env.get("fingerprint")
        if recorded in names and fp:
            out.setdefault(str(fp), str(recorded))
    return out


def class_of_run(
    run: RunRecord, classes: list[MachineClass], inherited: dict[str, str] | None = None
) -> MachineClass | None:
    """A run's class: the one it recorded (if still declared), else the first that matches,
    else the one runs of its environment recorded (``inherited``, see above)."""
    recorded = run.env.get(RECORD_KEY)
    if recorded:
        named = next((c for c in classes if c.name == recorded), None)
        if named is not None:
            return named
    found = classify(identity_of(run.env), classes)
    if found is None and inherited:
        name = inherited.get(str(run.env.get("fingerprint")))
        found = next((c for c in classes if c.name == name), None)
    return found


def for_class(config: Config, cls: MachineClass | None) -> Config:
    """``config`` with the class's baselines and report (unchanged for None)."""
    if cls is None:
        return config
    return config.with_overrides(baselines=cls.baselines, report=cls.report)


@dataclass
class ClassChoice:
    """Which class a command works with, and the config pointing at its files."""

    config: Config
    cls: MachineClass | None
    runs: dict[str, list[RunRecord]] | None = None  # the runs of that class (None: all)

    def line(self) -> str | None:
        """``machine class arm: baselines tests/bench/baselines.arm.json`` (None: no classes)."""
        if self.cls is None:
            return None
        return f"machine class {self.cls.name}: baselines {self.config.baselines}"


def choose_for_machine(config: Config, label: str | None) -> ClassChoice:
    """The class of this machine (``ab``, ``run``, ``check``): ``label`` or the first match.

    BenchgateError when classes are declared and this machine matches none, with its
    identity and fingerprint printed, so the fix (a class for it) is one edit away.
    """
    classes = machine_classes(config)
    if label is not None:
        cls = class_named(classes, label)
        return ClassChoice(for_class(config, cls), cls)
    if not classes:
        return ClassChoice(config, None)
    identity = this_machine()
    found = classify(identity, classes)
    if found is None:
        # The error path only: the full record (a few hundred ms) for the fingerprint.
        used = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        fp = fingerprint(capture_environment(config.root, used, dict(config.env)))
        raise _unmatched(config, identity, fp)
    return ClassChoice(for_class(config, found), found)


def _unmatched(config: Config, identity: dict[str, Any], fp: str | None) -> BenchgateError:
    names = ", ".join(f"{c.name} ({c.describe()})" for c in machine_classes(config))
    return BenchgateError(
        f"this machine matches no declared machine class ({describe_identity(identity, fp)}); "
        f"declared: {names}; add a class for it or pass --machine NAME",
        config.source or "pyproject.toml",
        "tool.benchgate.machines",
    )


def choose_for_runs(
    config: Config, runs: dict[str, list[RunRecord]], label: str | None
) -> ClassChoice:
    """The class the runs of an out-dir were made on (``compare``, ``refresh``).

    With ``label`` (``--machine NAME``): that class, and only the runs of it (runs that
    recorded or match another declared class are left out; runs of no class are counted as
    made on it). Without: the class every run recorded or matches; BenchgateError when a
    run matches none (its fingerprint printed) or the runs span classes (pass --machine).
    """
    classes = machine_classes(config)
    if label is not None:
        cls = class_named(classes, label)
        inherited = recorded_by_fingerprint([r for rs in runs.values() for r in rs], classes)
        kept: dict[str, list[RunRecord]] = {}
        for bench, rs in runs.items():
            mine = [r for r in rs if class_of_run(r, classes, inherited) in (cls, None)]
            if mine:
                kept[bench] = mine
        if not kept:
            raise BenchgateError(f"no runs of machine class {cls.name!r} in the out-dir")
        return ClassChoice(for_class(config, cls), cls, kept)
    if not classes:
        return ClassChoice(config, None)
    found: dict[str, MachineClass] = {}
    inherited = recorded_by_fingerprint([r for rs in runs.values() for r in rs], classes)
    for rs in runs.values():
        for r in rs:
            if not r.env:
                continue  # nothing recorded (could not start): it follows the others
            of_run = class_of_run(r, classes, inherited)
            if of_run is None:
                who = describe_identity(identity_of(r.env), r.env.get("fingerprint"))
                raise BenchgateError(
                    f"run {r.run_id} of {r.bench} was made on a machine that matches no "
                    f"declared machine class ({who}); "
                    "add a class for it to [tool.benchgate.machines] or pass --machine NAME",
                    config.source or "pyproject.toml",
                    "tool.benchgate.machines",
                )
            found.setdefault(of_run.name, of_run)
    if len(found) > 1:
        raise BenchgateError(
            f"the runs come from {len(found)} machine classes ({', '.join(sorted(found))}): "
            "pass --machine NAME to judge one class against its baselines",
            key="--machine",
        )
    if not found:
        return ClassChoice(config, None)
    only = next(iter(found.values()))
    return ClassChoice(for_class(config, only), only)


def choose_for_change(config: Config, base: str | None, head: str) -> ClassChoice | None:
    """The class whose baselines or report a change (merge-base of ``base``..``head``) edits.

    For ``check`` on a refresh PR of one class, whatever machine reviews it. None when no
    class's files changed (or no classes are declared); BenchgateError when several did (a
    refresh PR changes one class's files: pass --machine NAME).
    """
    classes = machine_classes(config)
    if not classes:
        return None
    top = toplevel(config.root)
    head_sha = resolve_rev(top, head, "--head")
    base_sha = resolve_rev(top, base if base is not None else default_branch(top), "--base")
    changed = set(changed_files(top, merge_base(top, base_sha, head_sha), head_sha))
    hits = [
        c
        for c in classes
        if {relpath(top, config.path(c.baselines)), relpath(top, config.path(c.report))} & changed
    ]
    if len(hits) > 1:
        names = ", ".join(c.name for c in hits)
        raise BenchgateError(
            f"the change edits the baselines of {len(hits)} machine classes ({names}): a "
            "refresh PR changes one class's files; pass --machine NAME to check one",
            key="--machine",
        )
    return ClassChoice(for_class(config, hits[0]), hits[0]) if hits else None
