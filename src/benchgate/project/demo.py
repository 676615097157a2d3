"""``benchgate demo``: the main job on the demo project shipped inside the package."""

from __future__ import annotations

import shutil
import tempfile
from importlib import resources
from pathlib import Path

from benchgate.errors import BenchgateError

DEMO_PACKAGE_DIR = "demo_project"

# Left behind in the bundled copy by tools run on a source checkout, and the out-dir:
# none belongs in a fresh demo.
DEMO_IGNORE = (
    "__pycache__",
    "*.pyc",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "reports",
)


def demo_source() -> Path:
    """Where the bundled demo project lives inside the installed package."""
    src = Path(str(resources.files("benchgate.project").joinpath(DEMO_PACKAGE_DIR)))
    if not (src / "tests" / "bench").is_dir():
        raise BenchgateError("the bundled demo project is missing from the install", src)
    return src


def copy_demo(dest: Path | None = None) -> Path:
    """Copy the demo project to ``dest`` (a fresh temp dir when None) and return it."""
    src = demo_source()
    if dest is None:
        dest = Path(tempfile.mkdtemp(prefix="benchgate-demo-"))
    elif dest.exists() and any(dest.iterdir()):
        raise BenchgateError("exists and is not empty: choose a new folder for the demo", dest)
    shutil.copytree(
        src,
        dest,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(*DEMO_IGNORE),
    )
    return dest
