"""The generated CI workflow, fitted to what the project has (``init --ci``).

Inferred, each with where it came from (``init`` prints it):

* **Python version**: ``.python-version`` (an exact pin), else the ``python-version`` of
  the project's existing GitHub workflows (what its CI uses today), else the lowest
  minor version ``requires-python`` allows, else the template's default.
* **Install step**: an installable project (``pyproject.toml`` with ``[project]`` or
  ``[build-system]``, or ``setup.py``/``setup.cfg``) is ``pip install -e .``; a
  ``requirements.txt`` (or, without one, the first ``requirements*.txt``) is
  ``pip install -r``; both when both exist.
* **pip cache**: ``actions/setup-python`` caches pip keyed on those same files.
* **Timeout**: from the run durations recorded in the out-dir, when there are any: one
  round is the sum over benches of their median run time; a job gets twice the rounds it
  makes (guardrail: BENCH_REPEAT=5; pull request: 3 + A/B 2 x 5) plus
  ``SETUP_MINUTES`` for checkout and install, within [10, 360] minutes. Without recorded
  runs the template's 60 (pull request) and 90 (guardrail) minutes stay.
"""

from __future__ import annotations

import math
import re
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.run.results import load_runs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_PYTHON = "3.12"  # the templates' own
KNOWN_PYTHONS = [f"3.{m}" for m in range(8, 15)]
SETUP_MINUTES = 10
SAFETY = 2.0
GUARDRAIL_ROUNDS = 5  # BENCH_REPEAT
PR_ROUNDS = 3 + 2 * 5  # BENCH_PR_REPEAT + both sides of BENCH_PR_AB_REPEAT
MIN_MINUTES, MAX_MINUTES = 10, 360  # GitHub's job limit is 6 hours
TEMPLATE_MINUTES = {"pr-check": 60, "guardrail": 90}
_TEMPLATE_INSTALL = (
    "# The project itself: adapt to your install (extras, lock file, build step).\n"
    "{indent}pip install -e ."
)


@dataclass
class CiInference:
    """What the workflow is fitted with, each value with where it came from."""

    python: str = DEFAULT_PYTHON
    python_from: str = "default (nothing in the project says)"
    install: list[str] = field(default_factory=list)
    install_from: str = "nothing installable found: add your install step"
    cache_files: list[str] = field(default_factory=list)
    minutes: dict[str, int] = field(default_factory=lambda: dict(TEMPLATE_MINUTES))
    minutes_from: str = "default (no recorded runs in the out-dir)"

    def lines(self) -> list[str]:
        """One line per inferred setting, for ``init`` to print."""
        timeouts = ", ".join(f"{job} {m} min" for job, m in self.minutes.items()) or "unchanged"
        cache = ", ".join(self.cache_files) or "none (no dependency file to key it on)"
        return [
            f"Python {self.python}: {self.python_from}",
            f"install: {'; '.join(self.install) or '-'} ({self.install_from})",
            f"pip cache keyed on: {cache}",
            f"timeout: {timeouts} ({self.minutes_from})",
        ]


def read_pyproject(root: Path) -> dict[str, object]:
    """``root``'s pyproject.toml as data ({} when absent or unreadable: nothing inferred)."""
    try:
        return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _minor(version: str) -> str | None:
    m = re.match(r"^\s*(?:python-?|cpython-?)?(3\.\d+)", version)
    return m.group(1) if m else None


def infer_python(root: Path, data: dict[str, object]) -> tuple[str, str]:
    """(version, where it came from)."""
    pv = root / ".python-version"
    if pv.is_file():
        for line in pv.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip() and not line.startswith("#"):
                v = _minor(line)
                if v:
                    return v, f".python-version ({line.strip()})"
                break
    wf = root / ".github" / "workflows"
    if wf.is_dir():
        for path in sorted([*wf.glob("*.yml"), *wf.glob("*.yaml")]):
            if path.name == "bench.yml":
                continue  # ours, from an earlier init
            text = path.read_text(encoding="utf-8", errors="replace")
            m = re.search(r"python-version:\s*[\"']?(3\.\d+)", text)
            if m:
                return m.group(1), f"existing workflow .github/workflows/{path.name}"
    project = data.get("project")
    req = project.get("requires-python") if isinstance(project, dict) else None
    if isinstance(req, str):
        try:
            spec = SpecifierSet(req)
        except InvalidSpecifier:
            return DEFAULT_PYTHON, f"default (requires-python {req!r} is not a valid specifier)"
        ok = [v for v in KNOWN_PYTHONS if spec.contains(f"{v}.0", prereleases=True)]
        if ok:
            return ok[0], f"the lowest version requires-python {req!r} allows"
    return DEFAULT_PYTHON, "default (nothing in the project says)"


def infer_install(root: Path, data: dict[str, object]) -> tuple[list[str], str, list[str]]:
    """(install commands, why, files the pip cache is keyed on)."""
    commands: list[str] = []
    why: list[str] = []
    cache: list[str] = []
    installable = "project" in data or "build-system" in data
    if installable or (root / "setup.py").is_file() or (root / "setup.cfg").is_file():
        commands.append("pip install -e .")
        src = "pyproject.toml" if installable else "setup.py/setup.cfg"
        why.append(f"an installable package ({src})")
        cache.append("pyproject.toml" if installable else "setup.*")
    reqs = sorted(p.name for p in root.glob("requirements*.txt") if p.is_file())
    if reqs:
        chosen = "requirements.txt" if "requirements.txt" in reqs else reqs[0]
        commands.insert(0, f"pip install -r {chosen}")
        why.append(chosen)
        cache.insert(0, chosen)
    if not commands:
        return [], "nothing installable found: add your install step", []
    return commands, " + ".join(why), cache


def infer_minutes(config: Config) -> tuple[dict[str, int], str]:
    """Job timeouts from the recorded run durations: (minutes per job, why)."""
    try:
        runs = load_runs(config.out_path)
    except BenchgateError as exc:
        return dict(TEMPLATE_MINUTES), f"default (the out-dir cannot be read: {exc.problem})"
    per_bench = [statistics.median(r.duration_s for r in rs) for rs in runs.values() if rs]
    round_s = sum(per_bench)
    if not per_bench or round_s <= 0:
        return dict(TEMPLATE_MINUTES), "default (no recorded runs in the out-dir)"

    def minutes(rounds: int) -> int:
        m = math.ceil(SAFETY * rounds * round_s / 60) + SETUP_MINUTES
        return max(MIN_MINUTES, min(MAX_MINUTES, m))

    why = (
        f"one round of {len(per_bench)} benches takes {round_s / 60:.1f} min in the out-dir's "
        f"runs; {SAFETY:g} x the rounds of each job + {SETUP_MINUTES} min setup"
    )
    return {"pr-check": minutes(PR_ROUNDS), "guardrail": minutes(GUARDRAIL_ROUNDS)}, why


def infer_ci(config: Config) -> CiInference:
    """Everything the workflow is fitted with, read from the project (never writes)."""
    root = config.root
    data = read_pyproject(root)
    out = CiInference()
    out.python, out.python_from = infer_python(root, data)
    out.install, out.install_from, out.cache_files = infer_install(root, data)
    out.minutes, out.minutes_from = infer_minutes(config)
    return out


# The template's install lines: a comment, then `pip install -e .` (a list item in GitLab).
_INSTALL = re.compile(
    r"^(?P<c> *)# The project itself: adapt[^\n]*\n(?P<i> *(?:- )?)pip install -e \.$", re.M
)


def adapt_workflow(text: str, kind: str, inferred: CiInference) -> str:
    """The template ``text`` of ``kind`` (github, gitlab) with the inferred settings."""
    if kind == "github":
        with_cache = f'python-version: "{inferred.python}"'
        if inferred.cache_files:
            with_cache += "\n          cache: pip\n          cache-dependency-path: |" + "".join(
                f"\n            {f}" for f in inferred.cache_files
            )
        text = text.replace(f'python-version: "{DEFAULT_PYTHON}"', with_cache)
        for job, minutes in inferred.minutes.items():
            text = re.sub(
                rf"(\n  {re.escape(job)}:\n(?:    .*\n)*?    timeout-minutes: )\d+",
                rf"\g<1>{minutes}",
                text,
            )
    else:
        text = text.replace(f"image: python:{DEFAULT_PYTHON}", f"image: python:{inferred.python}")

    def install(m: re.Match[str]) -> str:
        lines = [f"{m['c']}# The project itself ({inferred.install_from}; by `benchgate init`)."]
        commands = inferred.install or ["true  # nothing installable found: your install step"]
        lines += [f"{m['i']}{c}" for c in commands]
        return "\n".join(lines)

    return _INSTALL.sub(install, text)
