"""Where numbers come from: the environment recorded with every run, and its fingerprint.

``capture_environment`` runs once per ``benchgate run``, so it stays cheap (a few file
reads, two ``git`` calls, the installed versions of the locked packages, the doctor's
checks without their load sample). It gathers from :mod:`~benchgate.machine.sysinfo`
(hardware probes), :mod:`~benchgate.machine.deps` (installed versions and lock files),
:mod:`~benchgate.gitutil` (the commit) and :mod:`~benchgate.machine.doctor`.
``fingerprint`` hashes only what must match for two sets of numbers to be comparable;
``diff_environments`` says in words what differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import sys
from pathlib import Path
from typing import Any

from benchgate.gitutil import head_state
from benchgate.machine.cpus import SYS_ROOT, online_cpus, physical_cores
from benchgate.machine.deps import (
    TOOLING,
    installed_distributions,
    lock_files,
    locked_requirements,
    project_name,
)
from benchgate.machine.doctor import record_summary, run_doctor
from benchgate.machine.sysinfo import cpu_model, governors, hypervisor
from benchgate.render import fmt

# Env vars that legitimately differ between otherwise comparable runs (A/B sides each put
# their own tree first on PYTHONPATH), so they are not reported as a difference.
_IGNORED_ENV_VARS = {"PYTHONPATH"}
_MAX_DEP_LINES = 8


def git_state(project_root: Path) -> dict[str, Any] | None:
    """The checkout's commit and whether tracked files have uncommitted changes (or None)."""
    commit, dirty = head_state(project_root)
    return None if commit is None else {"commit": commit, "dirty": dirty}


def capture_environment(
    project_root: Path,
    cpus: list[int] | None,
    env_vars: dict[str, str],
    root: Path = SYS_ROOT,
) -> dict[str, Any]:
    """Everything recorded about where a run's numbers came from, as a JSON-able dict.

    ``cpus`` are the CPUs the benches may run on (None: all). Installed versions are
    recorded for the packages named in the project's lock/requirements files when there
    are any, else for everything installed. ``doctor`` holds the doctor's findings
    (see ``benchgate.machine.doctor.record_summary``); it is context, not part of the fingerprint.
    """
    logical = len(online_cpus(root)) or None
    if logical is None and root == SYS_ROOT:
        logical = os.cpu_count()
    own = project_name(project_root)
    locks = lock_files(project_root)
    wanted = set(locked_requirements(locks, own))
    dists = installed_distributions(wanted or None)
    dists = {k: v for k, v in dists.items() if k != own and k not in TOOLING}
    labels = [lock.label for lock in locks if lock.pins] if wanted else []
    hyper = hypervisor(root)
    env: dict[str, Any] = {
        "git": git_state(project_root),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "os": platform.platform(),
        "arch": platform.machine() or None,  # what machine classes match on
        "cpu_model": cpu_model(root),
        "logical_cores": logical,
        "physical_cores": physical_cores(root),
        "cpus": sorted(cpus) if cpus is not None else "all",
        "governor": governors(cpus, root),
        "distributions": dists,
        "distributions_from": ", ".join(labels) if labels else "installed",
        "env_vars": dict(env_vars),
        "hostname": socket.gethostname(),
        "hypervisor": hyper is not None,
        "hypervisor_type": hyper,
        "doctor": _doctor_block(project_root, cpus, env_vars, root),
    }
    env["fingerprint"] = fingerprint(env)
    return env


def _doctor_block(
    project_root: Path, cpus: list[int] | None, env_vars: dict[str, str], root: Path
) -> dict[str, Any] | None:
    """``benchgate doctor`` without its load sample (a few milliseconds), in short form."""
    try:
        checks = run_doctor(
            cpus=cpus, env=env_vars, project_root=project_root, sample_s=0, root=root
        )
    except Exception:  # a context note must never stop a measurement
        return None
    return record_summary(checks)


def _comparable(env: dict[str, Any]) -> dict[str, Any]:
    cpus = env.get("cpus")
    return {
        "python": env.get("python"),
        "python_implementation": env.get("python_implementation"),
        "distributions": dict(sorted((env.get("distributions") or {}).items())),
        "cpu_model": env.get("cpu_model"),
        "cpus": sorted(cpus) if isinstance(cpus, list) else (cpus or "all"),
    }


def fingerprint(env: dict[str, Any]) -> str:
    """12 hex digits over what must match for numbers to be comparable.

    That is the Python version and implementation, the dependency versions, the CPU model
    and the CPUs used; not the host name, commit, governor or time.
    """
    blob = json.dumps(_comparable(env), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def diff_environments(
    here: dict[str, Any],
    there: dict[str, Any],
    here_label: str = "here",
    there_label: str = "in the baseline",
) -> list[str]:
    """What differs between two recorded environments, one human line each.

    For example ``"Python 3.11.7 here, 3.12.3 in the baseline"``. Only what both record is
    compared (an older record may lack a field); an empty list means comparable.
    """
    lines: list[str] = []

    def both(key: str) -> bool:
        return here.get(key) is not None and there.get(key) is not None

    if both("python") or both("python_implementation"):
        a = (str(here.get("python", "?")), str(here.get("python_implementation") or ""))
        b = (str(there.get("python", "?")), str(there.get("python_implementation") or ""))
        version_differs = both("python") and a[0] != b[0]
        impl_differs = both("python_implementation") and a[1] != b[1]
        if impl_differs:
            lines.append(f"Python {a[0]} ({a[1]}) {here_label}, {b[0]} ({b[1]}) {there_label}")
        elif version_differs:
            lines.append(f"Python {a[0]} {here_label}, {b[0]} {there_label}")
    if isinstance(here.get("distributions"), dict) and isinstance(there.get("distributions"), dict):
        mine, theirs = here["distributions"], there["distributions"]
        dep_lines = []
        for name in sorted(set(mine) | set(theirs)):
            a_v, b_v = mine.get(name), theirs.get(name)
            if a_v == b_v:
                continue
            a_s = a_v if a_v is not None else "absent"
            b_s = b_v if b_v is not None else "absent"
            dep_lines.append(f"{name} {a_s} {here_label}, {b_s} {there_label}")
        lines += dep_lines[:_MAX_DEP_LINES]
        if len(dep_lines) > _MAX_DEP_LINES:
            lines.append(f"and {len(dep_lines) - _MAX_DEP_LINES} more dependency differences")
    if both("cpu_model") and here["cpu_model"] != there["cpu_model"]:
        lines.append(
            f"CPU model {here['cpu_model']} {here_label}, {there['cpu_model']} {there_label}"
        )
    if "cpus" in here and "cpus" in there:
        a_c, b_c = fmt.cpus(here.get("cpus")), fmt.cpus(there.get("cpus"))
        if a_c != b_c:
            lines.append(f"CPUs {a_c} {here_label}, {b_c} {there_label}")
    if isinstance(here.get("env_vars"), dict) and isinstance(there.get("env_vars"), dict):
        mine, theirs = here["env_vars"], there["env_vars"]
        for name in sorted((set(mine) | set(theirs)) - _IGNORED_ENV_VARS):
            a_e, b_e = mine.get(name), theirs.get(name)
            if a_e != b_e:
                a_s = "unset" if a_e is None else repr(a_e) if a_e == "" else a_e
                b_s = "unset" if b_e is None else repr(b_e) if b_e == "" else b_e
                lines.append(f"{name} {a_s} {here_label}, {b_s} {there_label}")
    return lines
