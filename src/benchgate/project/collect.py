"""``benchgate collect``: gather the CI artifacts in the layout of gates.md.

::

    outputs/
      index.txt                what was collected (paths, sizes) and what was absent
      bench/baselines.json     the reviewed baselines the gate compared with
      bench/report.md          the methodology report of the last refresh
      bench/results/*.json     every run (<bench>.json) and reduced.json
      bench/results/*.md       the out-dir's report.md (and any comparison.md)
      bench/results/*.xml      JUnit written by `compare --junit` into the out-dir

Every piece is optional: an absent one is listed in index.txt and in the result, never an
error, because collect runs after a gate that may have failed half-way. ``bench/`` mirrors
the sources, so a stale copy left by an earlier collect is removed.

Only regular files are copied, and no symbolic link is followed: artifacts are published,
and a link planted in the out-dir (to ``/proc/self/environ``, to a key file) would publish
the job's secrets. Links, FIFOs, devices and sockets are skipped and listed as skipped.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.fsutil import atomic_write_bytes, atomic_write_text
from benchgate.run.results import REDUCED_FILE, REPORT_FILE

INDEX_FILE = "index.txt"
RESULT_SUFFIXES = (".json", ".md", ".xml")


@dataclass
class Collected:
    """One file copied: where it went (relative to the artifact dir) and where from."""

    dest: str
    source: Path
    size: int


@dataclass
class Absent:
    """An expected piece that was not there, and why that matters."""

    dest: str
    source: Path
    why: str


@dataclass
class Skipped:
    """A file left out on purpose (a symbolic link, a special file), and why."""

    dest: str
    source: Path
    why: str


class _NotRegular(Exception):
    """The source is not a regular file reached without following a link."""


def read_regular(path: Path) -> bytes:
    """The bytes of ``path`` if it is a regular file, never following a symbolic link.

    _NotRegular for a link, a FIFO, a device or a socket; OSError when it cannot be read.
    The check is on the opened descriptor, so the file cannot be swapped in between.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if path.is_symlink():
            raise _NotRegular("a symbolic link (not followed)") from None
        raise exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _NotRegular("not a regular file (a FIFO, device, socket or folder)")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)


@dataclass
class CollectResult:
    """What one collect did; ``index`` is the index.txt written."""

    out_dir: Path
    index: Path
    collected: list[Collected] = field(default_factory=list)
    absent: list[Absent] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(c.size for c in self.collected)


def _shown(path: Path, root: Path) -> str:
    """``path`` relative to the project root when it lies inside it (shorter, portable)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def _result_sources(results_dir: Path) -> list[Path]:
    """The out-dir's top-level artifacts (temp files of an interrupted write excluded).

    Links and special files with an artifact's name are listed too: :func:`collect`
    skips them and says so.
    """
    if not results_dir.is_dir():
        return []
    return sorted(
        p
        for p in results_dir.iterdir()
        if p.suffix in RESULT_SUFFIXES
        and not p.name.startswith(".")
        and (p.is_symlink() or not p.is_dir())
    )


def collect(
    config: Config,
    out_dir: Path,
    results_dir: Path | None = None,
    now: datetime | None = None,
) -> CollectResult:
    """Copy the gates.md artifacts into ``out_dir`` and write ``out_dir/index.txt``.

    ``results_dir`` defaults to the config's out-dir (tests/reports/bench). Nothing absent
    is an error; BenchgateError only when ``out_dir`` would copy the results onto
    themselves or cannot be written.
    """
    results_dir = results_dir if results_dir is not None else config.out_path
    bench_dest = out_dir / "bench"
    results_dest = bench_dest / "results"
    if results_dest.resolve() == results_dir.resolve():
        raise BenchgateError(
            "the artifact folder's bench/results is the results folder itself", out_dir
        )
    for d in (out_dir, bench_dest, results_dest):
        # Writing through a planted link would put the artifacts (and index.txt) anywhere.
        if d.is_symlink():
            raise BenchgateError("is a symbolic link: collect does not write through links", d)
    result = CollectResult(out_dir=out_dir, index=out_dir / INDEX_FILE)
    root = config.root

    def copy(src: Path, dest: str) -> bool:
        try:
            data = read_regular(src)
        except _NotRegular as exc:
            # Named by the link itself, not by where it points.
            shown = f"{_shown(src.parent, root)}/{src.name}"
            result.skipped.append(Skipped(dest, src, f"{shown}: {exc}"))
            return False
        except OSError as exc:
            result.absent.append(Absent(dest, src, f"cannot be read: {exc.strerror or exc}"))
            return False
        try:
            atomic_write_bytes(out_dir / dest, data)
        except OSError as exc:
            raise BenchgateError(f"cannot write {dest}: {exc}", out_dir) from None
        result.collected.append(Collected(dest, src, len(data)))
        return True

    def single(src: Path, dest: str, why: str) -> None:
        present = src.is_file() or src.is_symlink()
        if present and copy(src, dest):
            return
        if not present:
            result.absent.append(Absent(dest, src, f"{_shown(src, root)} {why}"))
        stale = out_dir / dest
        if stale.is_file():
            stale.unlink()
            result.removed.append(dest)

    single(
        config.baselines_path,
        "bench/baselines.json",
        "does not exist (`benchgate init` creates it; `benchgate refresh` fills it)",
    )
    single(
        config.report_path,
        "bench/report.md",
        "does not exist (`benchgate refresh` writes the methodology there)",
    )

    shown_results = _shown(results_dir, root)
    linked = results_dir.is_symlink()
    if linked:
        # A results folder that is itself a link could point at any folder of *.json files
        # (credentials included): it is not followed either.
        shown = f"{_shown(results_dir.parent, root)}/{results_dir.name}"
        result.skipped.append(
            Skipped("bench/results/", results_dir, f"{shown}: a symbolic link (not followed)")
        )
    sources = [] if linked else _result_sources(results_dir)
    copied: set[str] = set()
    for src in sources:
        if copy(src, f"bench/results/{src.name}"):
            copied.add(src.name)
    if not linked and not results_dir.is_dir():
        result.absent.append(
            Absent(
                "bench/results/",
                results_dir,
                f"{shown_results} does not exist (run `benchgate run` first)",
            )
        )
    elif not linked:
        runs = [p for p in sources if p.suffix == ".json" and p.name != REDUCED_FILE]
        if not runs:
            result.absent.append(
                Absent(
                    "bench/results/<bench>.json",
                    results_dir,
                    f"no result files in {shown_results} (run `benchgate run` first)",
                )
            )
        expected = {
            REDUCED_FILE: "run `benchgate reduce --method median`",
            REPORT_FILE: "written by `benchgate run` and `benchgate reduce`",
        }
        for name, hint in expected.items():
            if not (results_dir / name).is_file():
                result.absent.append(
                    Absent(
                        f"bench/results/{name}",
                        results_dir / name,
                        f"{shown_results}/{name} does not exist ({hint})",
                    )
                )
    # bench/results/ mirrors the out-dir: drop what an earlier collect left behind.
    if results_dest.is_dir():
        for old in sorted(results_dest.iterdir()):
            if (
                (old.is_file() or old.is_symlink())
                and old.suffix in RESULT_SUFFIXES
                and old.name not in copied
            ):
                old.unlink()
                result.removed.append(f"bench/results/{old.name}")

    created = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        atomic_write_text(result.index, render_index(result, config, results_dir, created))
    except OSError as exc:
        raise BenchgateError(f"cannot write {INDEX_FILE}: {exc}", out_dir) from None
    return result


def render_index(result: CollectResult, config: Config, results_dir: Path, created: str) -> str:
    """The text of index.txt: collected files with sizes, absent pieces, removed copies."""
    lines = [
        "benchgate collect: CI artifacts in the gates.md layout",
        f"created: {created}",
        f"project: {config.root}",
        f"results from: {_shown(results_dir, config.root)}",
        "",
        f"collected: {_files(len(result.collected))}, {result.total_bytes} bytes "
        "(path in this folder, size in bytes, source)",
    ]
    width = max((len(c.dest) for c in result.collected), default=0)
    size_w = max((len(str(c.size)) for c in result.collected), default=0)
    for c in result.collected:
        lines.append(f"  {c.dest:<{width}}  {c.size:>{size_w}}  {_shown(c.source, config.root)}")
    lines += ["", f"absent: {len(result.absent)}"]
    for a in result.absent:
        lines.append(f"  {a.dest}: {a.why}")
    if result.skipped:
        lines += [
            "",
            f"skipped (only regular files are copied, no link followed): {len(result.skipped)}",
        ]
        lines += [f"  {s.dest}: {s.why}" for s in result.skipped]
    if result.removed:
        lines += ["", f"removed (stale copies of an earlier collect): {len(result.removed)}"]
        lines += [f"  {r}" for r in result.removed]
    return "\n".join(lines) + "\n"
