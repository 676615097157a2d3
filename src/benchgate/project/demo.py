"""``benchgate demo``: what benchgate is for, on the demo project shipped inside the package.

The story (docs/explain.md): copy the suite into a fresh git repository, measure it, make a
known change to one bench's helper (``leaf_node`` of ``da_nmt_build`` does about a third
more work), let ``ab --confirm`` catch exactly that bench, and ``explain`` name the helper.
"""

from __future__ import annotations

import shutil
import tempfile
from importlib import resources
from pathlib import Path

from benchgate.errors import BenchgateError
from benchgate.fsutil import atomic_write_text
from benchgate.gitutil import git, last_line

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


# --- the story: a known change, caught by the gate, explained ----------------------------

# The fast benches of the demo suite (about a second each): the story runs on these.
DEMO_BENCHES = ("da_nmt_build", "mempool_select", "vm_counter_runtime")
SLOW_BENCH = "da_nmt_build"
SLOW_KEY = "da_nmt_build.leaves_per_sec"
SLOW_HELPER = "leaf_node"
SLOW_FILE = "tests/bench/da_nmt_build.py"
# The known change: leaf_node also computes a checksum over the first 14 bytes of each
# leaf, in Python: about a third more work for the tree build (1.33x its instructions).
_HELPER_LINE = "    return ns + ns + sha256(LEAF_PREFIX + ns + data).digest()\n"
_SLOWER_HELPER = (
    "    check = 0\n"
    "    for byte in data[:14]:  # the change: a per-leaf checksum, in Python\n"
    "        check = (check * 31 + byte) & 0xFFFF\n" + _HELPER_LINE
)
_DEMO_AUTHOR = ["-c", "user.name=benchgate demo", "-c", "user.email=demo@benchgate.invalid"]


def commit_demo(root: Path) -> str:
    """Make ``root`` a git repository with everything committed; the commit's hash.

    ``ab`` and ``explain`` compare the working tree with a revision: this commit is the
    base of the demo's change.
    """
    steps = (
        ["init", "-q"],
        ["add", "-A"],
        [*_DEMO_AUTHOR, "commit", "-q", "--no-gpg-sign", "-m", "demo: the suite as shipped"],
    )
    for args in steps:
        r = git(args, root)
        if r.returncode != 0:
            raise BenchgateError(f"git {args[-1]} failed: {last_line(r.stderr)}", root)
    r = git(["rev-parse", "HEAD"], root)
    return r.stdout.strip()


def inject_slowdown(
    root: Path, helper_line: str = _HELPER_LINE, slower: str = _SLOWER_HELPER
) -> Path:
    """Make the demo's known change in ``root``'s copy: ``leaf_node`` does more work.

    Returns the changed file. BenchgateError when the helper is not as shipped.
    """
    path = root / SLOW_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BenchgateError(f"cannot read: {exc.strerror or exc}", path) from None
    if slower in text or text.count(helper_line) != 1:
        raise BenchgateError(f"{SLOW_HELPER} is not as shipped: cannot make the change", path)
    atomic_write_text(path, text.replace(helper_line, slower))
    return path


def change_lines() -> list[str]:
    """The known change as diff lines, for the demo to show."""
    return [f"+{ln}" for ln in _SLOWER_HELPER.splitlines()[:-1]] + [f" {_HELPER_LINE.rstrip()}"]
