"""Where numbers come from: the environment recorded with every run, and its fingerprint.

``capture_environment`` runs once per ``benchgate run``, so it stays cheap (a few file
reads, two ``git`` calls, the installed versions of the locked packages, the doctor's
checks without their load sample). ``fingerprint``
hashes only what must match for two sets of numbers to be comparable; ``diff_environments``
says in words what differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgate.gitutil import head_state
from benchgate.machine.cpus import (
    CPU_DIR,
    SYS_ROOT,
    format_cpus,
    online_cpus,
    physical_cores,
    read_sys,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# Env vars that legitimately differ between otherwise comparable runs (A/B sides each put
# their own tree first on PYTHONPATH), so they are not reported as a difference.
_IGNORED_ENV_VARS = {"PYTHONPATH"}
# Installer tooling: its version says nothing about the speed of the code under test.
_TOOLING = {"pip", "setuptools", "wheel"}
_MAX_DEP_LINES = 8


# --------------------------------------------------------------------------- versions


def normalize_name(name: str) -> str:
    """A distribution name in PEP 503 form: ``Foo_Bar.baz`` -> ``foo-bar-baz``."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def _norm_version(version: str) -> str:
    """A light PEP 440 normalisation so ``1.0`` matches ``1.0.0`` and ``V2.0`` matches ``2.0``."""
    v = version.strip().lower().lstrip("v").replace("_", ".").replace("-", ".")
    m = re.match(r"^(\d+(?:\.\d+)*)(.*)$", v)
    if not m:
        return v
    release = m.group(1).split(".")
    while len(release) > 1 and release[-1] == "0":
        release.pop()
    return ".".join(str(int(p)) for p in release) + m.group(2)


def installed_distributions(names: set[str] | None = None) -> dict[str, str]:
    """Installed distributions (normalised name -> version), only ``names`` when given.

    Versions come from the ``.dist-info`` folder name where it carries one, which avoids
    parsing every METADATA file (the slow part with hundreds of packages installed).
    """
    from importlib import metadata

    out: dict[str, str] = {}
    for dist in metadata.distributions():
        path = getattr(dist, "_path", None)
        stem = Path(str(path)).name if path is not None else ""
        name = version = None
        base = stem[: -len(".dist-info")] if stem.endswith(".dist-info") else ""
        if base.count("-") == 1:  # name-version (".dist-info" has a hyphen of its own)
            name, version = base.split("-")
        if not name:
            try:
                name = dist.metadata["Name"]
            except Exception:  # a broken install must not break the run
                continue
            if not name:
                continue
        key = normalize_name(name)
        if key in out or (names is not None and key not in names):
            continue  # the first one on sys.path is the one imported
        if version is None:
            try:
                version = dist.version
            except Exception:
                continue
        if version:
            out[key] = version
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- lock files


@dataclass
class LockFile:
    """The pins of one lock or requirements file."""

    path: Path
    label: str  # the path relative to the project, as shown to people
    pins: dict[str, set[str]] = field(default_factory=dict)  # name -> versions (empty: unpinned)
    error: str | None = None


_REQ_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
_REQ_OPS = ("===", "==", ">=", "<=", "~=", "!=", "<", ">", "@")


def _parse_requirements(path: Path, pins: dict[str, set[str]], seen: set[Path]) -> None:
    """Pins of a requirements file (pip format), following ``-r``/``-c`` includes."""
    try:
        real = path.resolve()
        if real in seen:
            return
        seen.add(real)
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = re.split(r"\s+#", line)[0].strip()
        if line.startswith("-"):
            m = re.match(r"^(-r|-c|--requirement|--constraint)[\s=]+(\S+)", line)
            if m:
                _parse_requirements(path.parent / m.group(2), pins, seen)
            continue
        spec = line.split(";")[0].split(" --")[0].strip()
        m = _REQ_LINE.match(spec)
        if not m:
            continue
        rest = m.group(3).strip()
        if rest and not rest.startswith(_REQ_OPS):
            continue  # a path or URL, not a named requirement
        name = normalize_name(m.group(1))
        versions = pins.setdefault(name, set())
        op = "===" if rest.startswith("===") else "==" if rest.startswith("==") else None
        if op:
            version = rest[len(op) :].strip()
            if version and not any(ch in version for ch in ",*<>!~ "):
                versions.add(version)


def _parse_toml_lock(path: Path, pins: dict[str, set[str]], key: str) -> None:
    """Pins of a TOML lock: uv.lock / poetry.lock (``[[package]]``), pylock (``[[packages]]``)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for pkg in data.get(key) or []:
        if not isinstance(pkg, dict) or not isinstance(pkg.get("name"), str):
            continue
        source = pkg.get("source")
        if isinstance(source, dict) and ({"editable", "virtual"} & set(source)):
            continue  # local code (usually the project itself), not a pinned dependency
        versions = pins.setdefault(normalize_name(pkg["name"]), set())
        if isinstance(pkg.get("version"), str):
            versions.add(pkg["version"])


def _parse_pipfile_lock(path: Path, pins: dict[str, set[str]]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    for section in ("default", "develop"):
        for name, info in (data.get(section) or {}).items():
            versions = pins.setdefault(normalize_name(name), set())
            version = info.get("version") if isinstance(info, dict) else None
            if isinstance(version, str) and version.startswith("=="):
                versions.add(version.lstrip("="))


def lock_files(project_root: Path) -> list[LockFile]:
    """The project's lock and requirements files, most authoritative first, with their pins.

    A file that cannot be parsed is kept with ``error`` set and no pins.
    """
    root = Path(project_root)
    candidates: list[tuple[Path, str]] = []
    for name, kind in (("uv.lock", "uv"), ("pylock.toml", "pylock")):
        candidates.append((root / name, kind))
    candidates += [(p, "pylock") for p in sorted(root.glob("pylock.*.toml"))]
    candidates += [(root / "poetry.lock", "poetry"), (root / "Pipfile.lock", "pipfile")]
    for pattern in ("requirements*.txt", "requirements*.lock", "requirements/*.txt"):
        candidates += [(p, "requirements") for p in sorted(root.glob(pattern))]
    out: list[LockFile] = []
    for path, kind in candidates:
        if not path.is_file():
            continue
        lock = LockFile(path, path.relative_to(root).as_posix())
        try:
            if kind == "requirements":
                _parse_requirements(path, lock.pins, set())
            elif kind == "pipfile":
                _parse_pipfile_lock(path, lock.pins)
            else:
                _parse_toml_lock(path, lock.pins, "packages" if kind == "pylock" else "package")
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            # tomllib.TOMLDecodeError and json.JSONDecodeError are ValueErrors.
            lock.pins = {}
            lock.error = f"not parseable: {str(exc).splitlines()[0] if str(exc) else exc}"
        out.append(lock)
    return out


def _project_name(project_root: Path) -> str | None:
    try:
        data = tomllib.loads((Path(project_root) / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    # Any of these tables may be something else in a broken file: never a traceback here.
    project, tool = data.get("project"), data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    name = project.get("name") if isinstance(project, dict) else None
    if not name and isinstance(poetry, dict):
        name = poetry.get("name")
    return normalize_name(name) if isinstance(name, str) else None


def lockfile_requirements(project_root: Path) -> dict[str, str | None]:
    """Packages the project's lock/requirements files name -> pinned version (None: unpinned).

    The most authoritative file that pins a package wins (uv.lock, pylock, poetry.lock,
    Pipfile.lock, then requirements files); a package locked in several versions (per
    platform or Python) maps to None. The project itself is left out.
    """
    return _requirements(lock_files(project_root), _project_name(project_root))


def _requirements(locks: list[LockFile], own: str | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for lock in locks:
        for name, versions in lock.pins.items():
            if name == own:
                continue
            if out.get(name) is None:
                out[name] = next(iter(versions)) if len(versions) == 1 else None
    return dict(sorted(out.items()))


def dependency_parity(project_root: Path) -> list[str]:
    """One line per installed package whose version differs from its lock/requirements pin.

    For example ``"msgspec 0.18.6 in uv.lock, 0.22.0 installed"``. Packages locked but not
    installed (other platforms, groups not synced) are not mismatches.
    """
    own = _project_name(project_root)
    locks = lock_files(project_root)
    wanted = {n for lock in locks for n in lock.pins}
    installed = installed_distributions(wanted)
    lines: list[str] = []
    for lock in locks:
        for name, versions in sorted(lock.pins.items()):
            have = installed.get(name)
            if name == own or not versions or have is None:
                continue
            if _norm_version(have) not in {_norm_version(v) for v in versions}:
                pinned = " or ".join(sorted(versions))
                lines.append(f"{name} {pinned} in {lock.label}, {have} installed")
    return lines


# --------------------------------------------------------------------------- the machine


_MODEL_KEYS = ("model name", "Processor", "cpu model", "Hardware", "cpu", "uarch")


def cpu_model(root: Path = SYS_ROOT) -> str | None:
    """The CPU's model name from /proc/cpuinfo (platform.processor() on other systems)."""
    text = read_sys(root, "proc/cpuinfo")
    if text:
        found: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if sep and value and key in _MODEL_KEYS and key not in found:
                found[key] = value
        for key in _MODEL_KEYS:
            if key in found and not (key == "Processor" and found[key].isdigit()):
                return re.sub(r"\s+", " ", found[key])
    if root == SYS_ROOT:
        if sys.platform == "darwin":
            try:
                out = subprocess.run(
                    ["sysctl", "-n", "machdep.cpu.brand_string"],
                    capture_output=True,
                    text=True,
                    timeout=2,
                )
                if out.returncode == 0 and out.stdout.strip():
                    return out.stdout.strip()
            except (OSError, subprocess.SubprocessError):
                pass
        return platform.processor() or platform.machine() or None
    return None


def cpu_flags(root: Path = SYS_ROOT) -> set[str]:
    """The CPU feature flags of /proc/cpuinfo (empty when not readable)."""
    text = read_sys(root, "proc/cpuinfo") or ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def hypervisor(root: Path = SYS_ROOT) -> str | None:
    """The hypervisor we run under ("kvm", "xen", ...; "unknown" when only the CPU flag says so).

    None when no sign of one is readable (bare metal, or simply not known).
    """
    kind = read_sys(root, "sys/hypervisor/type")
    if kind:
        return kind
    vendor = " ".join(
        read_sys(root, f"sys/class/dmi/id/{f}") or "" for f in ("sys_vendor", "product_name")
    ).lower()
    for needle, name in (
        ("kvm", "kvm"),
        ("qemu", "qemu"),
        ("vmware", "vmware"),
        ("virtualbox", "virtualbox"),
        ("xen", "xen"),
        ("amazon ec2", "amazon"),
        ("google compute engine", "google"),
        ("virtual machine", "microsoft"),
    ):
        if needle in vendor:
            return name
    if "hypervisor" in cpu_flags(root):
        return "unknown"
    return None


def governors(cpus: list[int] | None, root: Path = SYS_ROOT) -> dict[str, str] | None:
    """The cpufreq scaling governor of each CPU (all online CPUs when ``cpus`` is None)."""
    out: dict[str, str] = {}
    for cpu in cpus if cpus is not None else online_cpus(root):
        gov = read_sys(root, f"{CPU_DIR}/cpu{cpu}/cpufreq/scaling_governor")
        if gov:
            out[str(cpu)] = gov
    return out or None


def git_state(project_root: Path) -> dict[str, Any] | None:
    """The checkout's commit and whether tracked files have uncommitted changes."""
    commit, dirty = head_state(project_root)
    return None if commit is None else {"commit": commit, "dirty": dirty}


# --------------------------------------------------------------------------- capture


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
    own = _project_name(project_root)
    locks = lock_files(project_root)
    wanted = set(_requirements(locks, own))
    dists = installed_distributions(wanted or None)
    dists = {k: v for k, v in dists.items() if k != own and k not in _TOOLING}
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
    from benchgate.machine.doctor import record_summary, run_doctor

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


def _cpus_text(cpus: Any) -> str:
    if isinstance(cpus, list):
        try:
            return format_cpus(int(c) for c in cpus) or "none"
        except (TypeError, ValueError):
            return str(cpus)
    return str(cpus or "all")


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
        a_c, b_c = _cpus_text(here.get("cpus")), _cpus_text(there.get("cpus"))
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
