"""How each side of ``benchgate ab`` is made importable: its tree on PYTHONPATH, or built.

``pythonpath`` (the default): each side's benches run with the running interpreter and
``<tree>/src`` and ``<tree>`` first on PYTHONPATH (see ab.run).

``venv``: each side gets its own virtual environment, installed the way the project
installs itself (project.infer: ``requirements*.txt`` with ``pip install -r``, an
installable package with ``pip install <tree>``, both when both exist). The package is
installed as a copy, not editable: the base worktree is removed after the A/B, and a
compiled extension is built for each side. A project that is not an installable package
keeps its code on PYTHONPATH, with its dependencies from the venv.

Environments are cached in ``cache_dir`` (``$BENCHGATE_CACHE_DIR``, else
``~/.cache/benchgate``) under ``ab-venvs/<key>``; the key hashes the install files
(pyproject.toml, setup.*, requirements*.txt), the install commands and the interpreter
and, when the package itself is installed, the commit (plus the uncommitted diff for the
working tree). A rerun on the same commits reuses both environments. A venv is built
under a temporary name and renamed into place, so an interrupted build is never reused.
Venvs are made without pip and installed into by this interpreter's pip (``--python``):
seeding pip into each one cost most of a small build.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import benchgate
from benchgate.errors import BenchgateError
from benchgate.gitutil import git
from benchgate.project.infer import infer_install, read_pyproject

BUILD_MODES = ("pythonpath", "venv")
VENV_DIR = "ab-venvs"
MARKER = ".benchgate-build.json"
PIP_TIMEOUT_S = 1800.0  # one install; a build that hangs must not hang the job forever
_LOG_TAIL = 300


@dataclass
class SideBuild:
    """One side's interpreter and import environment, and how it was made."""

    side: str
    mode: str
    python: str  # the interpreter its script benches run with
    env: dict[str, str]  # variables added to the benchmark env vars of this side
    how: str  # one line for the output: what was installed, where, cached or built
    seconds: float = 0.0  # time spent building (0 when cached or pythonpath)
    cached: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "python": self.python,
            "how": self.how,
            "seconds": round(self.seconds, 3),
            "cached": self.cached,
        }


def cache_root() -> Path:
    """Where built environments are kept between runs."""
    env = os.environ.get("BENCHGATE_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "benchgate"


def import_path(tree: Path) -> list[str]:
    """What a side puts first on PYTHONPATH: ``<tree>/src`` if it exists, then ``<tree>``."""
    paths = []
    if (tree / "src").is_dir():
        paths.append(str(tree / "src"))
    paths.append(str(tree))
    return paths


def side_env(env: dict[str, str], tree: Path) -> dict[str, str]:
    """The benchmark env vars of one side, with its own tree first on PYTHONPATH."""
    out = dict(env)
    rest = out.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    out["PYTHONPATH"] = os.pathsep.join([*import_path(tree), *([rest] if rest else [])])
    return out


def pythonpath_build(side: str, tree: Path, env: dict[str, str]) -> SideBuild:
    """Today's behaviour: the running interpreter, the side's tree first on PYTHONPATH."""
    return SideBuild(
        side,
        "pythonpath",
        sys.executable,
        side_env(env, tree),
        f"{side}: not built; {Path(sys.executable).name} with {tree.name}/ first on PYTHONPATH",
    )


def install_steps(tree: Path) -> tuple[list[str], list[list[str]], bool, list[str]]:
    """(install commands as the project writes them, pip argument lists, whether the
    package itself is installed, install files the cache is keyed on)."""
    commands, _, files = infer_install(tree, read_pyproject(tree))
    steps: list[list[str]] = []
    installs_package = False
    for c in commands:
        args = c.split()[2:]  # after "pip install"
        if args == ["-e", "."]:
            args, installs_package = [str(tree)], True  # a copy: the base tree goes away
        elif args[:1] == ["-r"]:
            args = ["-r", str(tree / args[1])]
        steps.append(args)
    keyed = sorted({str(p.relative_to(tree)) for f in files for p in tree.glob(f) if p.is_file()})
    return commands, steps, installs_package, keyed


def build_key(tree: Path, commit: str | None, dirty: bool) -> tuple[str, list[list[str]], bool]:
    """(cache key, install steps, package installed) of a side's environment."""
    commands, steps, installs_package, files = install_steps(tree)
    h = hashlib.sha256()
    h.update(f"{sys.executable}\n{sys.version}\n".encode())
    h.update(json.dumps(commands).encode())  # relative: the same for both trees
    for name in files:
        h.update(name.encode() + b"\0" + (tree / name).read_bytes() + b"\0")
    if installs_package:
        # The package is copied into the venv: its code is part of the environment.
        h.update(f"commit {commit}\n".encode())
        if dirty or commit is None:
            diff = git(["diff", "HEAD", "--binary"], tree)
            h.update(diff.stdout.encode("utf-8", "replace"))
    return h.hexdigest()[:16], steps, installs_package


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def _link_benchgate(cache: Path, python: Path) -> None:
    """Make ``benchgate.bench`` importable in the venv (it is stdlib-only) without
    installing benchgate there: a .pth naming a folder that holds only a link to it."""
    pkg = Path(benchgate.__file__).resolve().parent
    link_dir = cache / f"benchgate-{hashlib.sha256(str(pkg).encode()).hexdigest()[:10]}"
    link = link_dir / "benchgate"
    if not link.exists():
        link_dir.mkdir(parents=True, exist_ok=True)
        tmp = link_dir / f".benchgate.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(pkg, target_is_directory=True)
        os.replace(tmp, link)
    (_site_packages(python) / "_benchgate_ab.pth").write_text(f"{link_dir}\n")


def _run(cmd: list[str], what: str, cwd: Path) -> None:
    try:
        p = subprocess.run(
            cmd,
            cwd=cwd,
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            timeout=PIP_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise BenchgateError(
            f"{what}: timed out after {PIP_TIMEOUT_S:g} s", key="--build"
        ) from None
    if p.returncode != 0:
        tail = " ".join((p.stderr or p.stdout).strip().splitlines()[-2:])[-_LOG_TAIL:]
        raise BenchgateError(f"{what} failed (exit {p.returncode}): {tail}", key="--build")


def _host_pip_can_target() -> bool:
    """True when this interpreter's pip can install into another one (``--python``, 22.3+)."""
    try:
        version = importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        return False
    parts = version.split(".")
    try:
        return (int(parts[0]), int(parts[1]) if len(parts) > 1 else 0) >= (22, 3)
    except ValueError:
        return False


def _pip_for(venv: Path, tree: Path, side: str) -> list[str]:
    """Create ``venv`` and return the command that runs pip for it.

    Without pip inside (``--without-pip``, under a second) and this interpreter's pip
    pointed at it when it can (``pip --python``): seeding pip into every venv
    (``ensurepip``) took 18 s of the 20 a small build needs here. Else the venv gets its own.
    """
    if _host_pip_can_target():
        _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], f"{side}: venv", tree)
        return [sys.executable, "-m", "pip", "--python", str(_venv_python(venv))]
    _run([sys.executable, "-m", "venv", str(venv)], f"{side}: creating a venv", tree)
    return [str(_venv_python(venv)), "-m", "pip"]


def venv_build(
    side: str,
    tree: Path,
    commit: str | None,
    dirty: bool,
    env: dict[str, str],
    cache: Path | None = None,
) -> SideBuild:
    """``side``'s own virtual environment, from the cache or built now (BenchgateError
    naming the failing step when an install fails)."""
    cache = cache or cache_root()
    key, steps, installs_package = build_key(tree, commit, dirty)
    venv = cache / VENV_DIR / key
    python = _venv_python(venv)
    installed = " + ".join(
        "requirements " + Path(s[1]).name if s[:1] == ["-r"] else "the package" for s in steps
    )
    installed = installed or "nothing to install"
    t0 = time.perf_counter()
    cached = (venv / MARKER).is_file() and python.exists()
    if not cached:
        tmp = venv.with_name(f"{key}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        try:
            pip = _pip_for(tmp, tree, side)
            for args in steps:
                _run([*pip, "install", "-q", *args], f"{side}: pip install {' '.join(args)}", tree)
            (tmp / MARKER).write_text(json.dumps({"key": key, "steps": steps}) + "\n")
            shutil.rmtree(venv, ignore_errors=True)
            os.replace(tmp, venv)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    _link_benchgate(cache, python)
    seconds = time.perf_counter() - t0
    out_env = dict(env)
    bin_dir = str(python.parent)
    out_env["PATH"] = os.pathsep.join([bin_dir, out_env.get("PATH", os.environ.get("PATH", ""))])
    out_env["VIRTUAL_ENV"] = str(venv)
    code = "package installed"
    if not installs_package:
        out_env = side_env(out_env, tree)
        code = f"code from {tree.name}/ on PYTHONPATH"
    state = "cached" if cached else f"built in {seconds:.1f} s"
    how = f"{side}: venv {venv} ({installed}; {code}; {state})"
    return SideBuild(side, "venv", str(python), out_env, how, seconds, cached)
