"""Dependencies: the installed distributions and the project's lock and requirements files.

Names and versions are read the standard way with ``packaging``: names normalised
(PEP 503), versions compared as PEP 440 versions (``1.0`` equals ``1.0.0``), and a
requirement's environment marker evaluated, so a pin for another platform or Python is
not expected here.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# Installer tooling: its version says nothing about the speed of the code under test.
TOOLING = {"pip", "setuptools", "wheel"}


def normalize_name(name: str) -> str:
    """A distribution name in PEP 503 form: ``Foo_Bar.baz`` -> ``foo-bar-baz``."""
    return str(canonicalize_name(name.strip()))


def same_version(a: str, b: str) -> bool:
    """Whether two version strings name the same PEP 440 version (``1.0`` == ``v1.0.0``).

    Strings that are not PEP 440 versions are compared as written.
    """
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a.strip() == b.strip()


def installed_distributions(names: set[str] | None = None) -> dict[str, str]:
    """Installed distributions (normalised name -> version), only ``names`` when given.

    Versions come from the ``.dist-info`` folder name where it carries one, which avoids
    parsing every METADATA file (the slow part with hundreds of packages installed).
    """
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


@dataclass
class LockFile:
    """The pins of one lock or requirements file."""

    path: Path
    label: str  # the path relative to the project, as shown to people
    pins: dict[str, set[str]] = field(default_factory=dict)  # name -> versions (empty: unpinned)
    error: str | None = None


def requirement_pin(spec: str) -> tuple[str, str | None] | None:
    """``(name, pinned version or None)`` of one requirement, or None when it is not one.

    None also for a requirement whose environment marker is false here (another platform
    or Python). A pin is a single ``==`` or ``===`` without a wildcard; a URL or a range
    names the package without pinning it.
    """
    try:
        req = Requirement(spec)
    except InvalidRequirement:
        return None  # a path or URL without a name, or not a requirement at all
    if req.marker is not None and not req.marker.evaluate():
        return None
    name = normalize_name(req.name)
    specs = list(req.specifier)
    if req.url is None and len(specs) == 1 and specs[0].operator in ("==", "==="):
        version = specs[0].version
        if "*" not in version:
            return name, version
    return name, None


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
        line = re.split(r"(?:^|\s+)#", raw.strip())[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            m = re.match(r"^(-r|-c|--requirement|--constraint)[\s=]+(\S+)", line)
            if m:
                _parse_requirements(path.parent / m.group(2), pins, seen)
            continue
        # Per-requirement options (--hash=...) follow the requirement and its marker.
        found = requirement_pin(re.split(r"\s+--", line)[0].strip())
        if found is None:
            continue
        name, version = found
        versions = pins.setdefault(name, set())
        if version:
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


def project_name(project_root: Path) -> str | None:
    """The project's own distribution name from pyproject.toml (None when not found)."""
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


def locked_requirements(locks: list[LockFile], own: str | None) -> dict[str, str | None]:
    """Packages the lock/requirements files name -> pinned version (None: unpinned).

    The most authoritative file that pins a package wins (``locks`` in the order of
    :func:`lock_files`); a package locked in several versions (per platform or Python)
    maps to None. The project itself (``own``) is left out.
    """
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
    own = project_name(project_root)
    locks = lock_files(project_root)
    wanted = {n for lock in locks for n in lock.pins}
    installed = installed_distributions(wanted)
    lines: list[str] = []
    for lock in locks:
        for name, versions in sorted(lock.pins.items()):
            have = installed.get(name)
            if name == own or not versions or have is None:
                continue
            if not any(same_version(have, v) for v in versions):
                pinned = " or ".join(sorted(versions))
                lines.append(f"{name} {pinned} in {lock.label}, {have} installed")
    return lines
