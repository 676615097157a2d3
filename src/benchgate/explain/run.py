"""Profile the bench behind a key at the base revision and at the working tree, and diff.

How each side is profiled (docs/explain.md has the why and the figures):

* ``time``: cProfile over a fixed number of calls of the measured operation. A
  ``benchgate.bench`` script profiles itself when ``BENCHGATE_PROFILE=cprofile`` is set
  (setup and one first call excluded; :meth:`benchgate.bench.api.Suite.profile_case`); a
  plain Python script or a declared ``python ...`` command runs whole under
  ``python -m cProfile`` (start-up and setup included, and the result says so).
* ``instructions``: the same process under ``valgrind --tool=callgrind`` with
  ``PYTHONHASHSEED=0``; a ``benchgate.bench`` script is counted only while it runs the
  profiled calls (``--toggle-collect`` on the C function of ``sys.call_tracing``, through
  which the script runs them). Callgrind sees the interpreter's C functions, exactly; the
  Python functions get the exact total split by their cProfile self-time shares (the
  time run), so their changes still sum to the exact change of the total.

The base revision is checked out in a temporary git worktree (the same code as ``ab``),
each side imports its own source (``PYTHONPATH``), and nothing is written into the
project except ``<out-dir>/explain/<key>/``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgate.ab.build import side_env
from benchgate.ab.run import ABResult, base_worktree, rerooted
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.explain.diff import Diff, diff_profiles
from benchgate.explain.flame import flame_html, speedscope
from benchgate.explain.profiles import (
    INSTRUCTIONS_UNIT,
    OPERATION,
    PROCESS,
    Profile,
    load_callgrind,
    load_pstats,
    min_profile,
    split_exact,
)
from benchgate.fsutil import atomic_write_bytes, atomic_write_json, atomic_write_text
from benchgate.gitutil import resolve_rev, toplevel
from benchgate.model import Status
from benchgate.run.discovery import Bench, discover
from benchgate.run.measure import require_valgrind
from benchgate.run.protocol import last_json_object, parse_output
from benchgate.run.runner import capture_output, child_env

TIME = "time"
INSTRUCTIONS = "instructions"
MEASURES = (TIME, INSTRUCTIONS)
EXPLAIN_DIR = "explain"
EXPLAIN_FILE = "explain.json"
SPEEDSCOPE_FILE = "speedscope.json"
EXPLAIN_SCHEMA = "benchgate.explain/1"
# Calls of the operation profiled per side, by default: enough for stable cProfile shares
# of a millisecond operation; under callgrind (about 50x slower) fewer suffice, since the
# count is exact.
DEFAULT_CALLS = {TIME: 50, INSTRUCTIONS: 5}
SKIP_EXIT_CODE = 77
# cProfile runs per side, alternating; each function's cost is its least over them.
PROFILE_ROUNDS = 5

ENV_PROFILE = "BENCHGATE_PROFILE"
ENV_PROFILE_CASE = "BENCHGATE_PROFILE_CASE"
ENV_PROFILE_CALLS = "BENCHGATE_PROFILE_CALLS"
ENV_PROFILE_OUT = "BENCHGATE_PROFILE_OUT"
# The C function benchgate.bench runs the profiled calls through (sys.call_tracing).
TOGGLE_SYMBOL = "_PyEval_CallTracing"

_API_IMPORT = re.compile(r"^\s*(from\s+benchgate(\.bench)?\s+import|import\s+benchgate)", re.M)


@dataclass
class Side:
    """What one side (base or head) gave: its profiles and the files they came from."""

    name: str
    python: Profile  # Python functions (seconds, or instructions split by time shares)
    native: Profile | None = None  # callgrind's C functions (instructions mode)
    files: list[Path] = field(default_factory=list)


@dataclass
class Explanation:
    """The answer of ``benchgate explain KEY``."""

    key: str
    bench: str
    case: str
    base_rev: str
    base_commit: str
    measure: str
    calls: int
    scope: str  # "operation" (benchgate.bench) or "process" (a plain script or command)
    diff: Diff  # Python functions
    native: Diff | None  # C functions, exact (instructions mode)
    out_dir: Path
    seconds: float
    notes: list[str] = field(default_factory=list)
    shown_dir: str = ""  # out_dir relative to the project root when inside it

    @property
    def artifact_dir(self) -> str:
        """Where ``benchgate collect`` puts this folder in the CI artifact."""
        return f"bench/results/{EXPLAIN_DIR}/{self.out_dir.name}/"

    @property
    def flame_path(self) -> Path:
        """The differential flame graph (an HTML page)."""
        return self.out_dir / "flame.html"

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """JSON form (``top``: at most this many grown and shrunk functions each)."""
        return {
            "schema": EXPLAIN_SCHEMA,
            "key": self.key,
            "bench": self.bench,
            "case": self.case,
            "base_rev": self.base_rev,
            "base_commit": self.base_commit,
            "measure": self.measure,
            "calls": self.calls,
            "scope": self.scope,
            "seconds": round(self.seconds, 3),
            "notes": self.notes,
            "functions": self.diff.to_dict(top),
            "native": self.native.to_dict(top) if self.native is not None else None,
            "files": {
                "dir": str(self.out_dir),
                "flame": str(self.flame_path),
                "speedscope": str(self.out_dir / SPEEDSCOPE_FILE),
            },
        }


def _shown(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix() + "/"
    except ValueError:
        return str(path) + "/"


def split_key(key: str) -> tuple[str, str]:
    """``bench.metric[params]`` -> (bench, metric[params]); BenchgateError if malformed."""
    bench, dot, metric = key.partition(".")
    if not dot or not bench or not metric:
        raise BenchgateError(f"unknown key {key!r}: a key is <bench>.<metric>", key="KEY")
    return bench, metric


def key_dir_name(key: str) -> str:
    """A folder name for ``key`` (safe characters only, never '.' or '..')."""
    safe = re.sub(r"[^A-Za-z0-9._=,-]+", "_", key).strip(".")
    return safe[:150] or "metric"


def uses_bench_api(bench: Bench) -> bool:
    """True for a script written with ``benchgate.bench`` (it can profile one case itself)."""
    if bench.path is None:
        return False
    try:
        return bool(_API_IMPORT.search(bench.path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return False


def _is_python(argv0: str) -> bool:
    name = Path(argv0).name.lower()
    return argv0 == sys.executable or bool(re.fullmatch(r"python[0-9.]*(\.exe)?|pypy[0-9.]*", name))


def _cprofile_argv(bench: Bench, out: Path) -> list[str]:
    """A plain Python bench's command with ``-m cProfile -o out`` after the interpreter."""
    argv = list(bench.argv)
    if not argv or not _is_python(argv[0]) or len(argv) < 2 or argv[1].startswith("-c"):
        raise BenchgateError(
            f"bench {bench.name!r} is not a Python script (`{' '.join(argv)}`): cProfile cannot "
            "profile it; use --measure instructions",
            key="--measure",
        )
    return [argv[0], "-m", "cProfile", "-o", str(out), *argv[1:]]


def _run(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float, key: str, side: str
) -> str:
    """Run one profiling process; its stdout. BenchgateError when it skipped or failed."""
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=child_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise BenchgateError(f"could not start {argv[0]!r}: {exc.strerror or exc}") from None
    try:
        captured = capture_output(proc, timeout)
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait()
        raise
    rc = proc.wait()
    out, err = captured.stdout.text(), captured.stderr.text()
    if captured.timed_out:
        raise BenchgateError(f"the {side} side's profile run timed out after {timeout:g}s", key=key)
    doc = last_json_object(out)
    if rc == SKIP_EXIT_CODE or (isinstance(doc, dict) and "skip" in doc and rc == 0):
        why = doc.get("skip") if isinstance(doc, dict) else None
        raise BenchgateError(
            f"the bench was skipped on the {side} side ({why or f'exit {rc}'}): nothing to explain",
            key=key,
        )
    if rc != 0:
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        last = lines[-1].strip() if lines else f"exit code {rc}"
        if last.startswith("error: no case named"):
            metric = key.split(".", 1)[1]
            if side == "base":
                raise BenchgateError(
                    f"the bench has no metric {metric!r} at the base revision: nothing to "
                    "compare with",
                    key=key,
                )
            raise BenchgateError(f"unknown key: the bench has no metric {metric!r}", key=key)
        raise BenchgateError(f"the {side} side's profile run failed: {last}", key=key)
    return out


def profile_side(
    name: str,
    bench: Bench,
    tree: Path,
    case: str,
    measure: str,
    calls: int,
    env: dict[str, str],
    timeout: float,
    work: Path,
    key: str,
    round_no: int = 1,
) -> tuple[Profile, Path]:
    """One cProfile run of ``bench`` (in ``tree``) on one side; its file lands in ``work``."""
    api = uses_bench_api(bench)
    scope = OPERATION if api else PROCESS
    roots = [tree]
    pstats_path = work / (f"{name}.pstats" if round_no == 1 else f"{name}.{round_no}.pstats")
    time_calls = calls if measure == TIME else DEFAULT_CALLS[TIME]
    run_env = dict(env)
    if api:
        run_env.update(
            {
                ENV_PROFILE: "cprofile",
                ENV_PROFILE_CASE: case,
                ENV_PROFILE_CALLS: str(time_calls),
                ENV_PROFILE_OUT: str(pstats_path),
            }
        )
        argv = list(bench.argv)
    else:
        argv = _cprofile_argv(bench, pstats_path)
    stdout = _run(argv, tree, run_env, timeout, key, name)
    if not api and name == "head" and round_no == 1:
        # A plain script reports its metrics as it always does: the key must be one of them.
        reported = parse_output(stdout).metrics
        if case not in reported:
            have = ", ".join(sorted(reported)) or "none"
            raise BenchgateError(f"unknown key: the bench reports {have}", key=key)
    if not pstats_path.is_file():
        raise BenchgateError(f"the {name} side's profile run wrote no statistics", key=key)
    return load_pstats(pstats_path, roots, time_calls if api else 1, scope), pstats_path


def count_side(
    side: Side,
    bench: Bench,
    tree: Path,
    case: str,
    calls: int,
    env: dict[str, str],
    timeout: float,
    work: Path,
    key: str,
) -> None:
    """Count ``side``'s instructions under callgrind; the exact total replaces its split."""
    name, python = side.name, side.python
    api = python.scope == OPERATION
    scope = python.scope
    valgrind = require_valgrind()
    cg_dir = work / f"{name}-callgrind"
    cg_dir.mkdir()
    count_env = dict(env)
    # A random hash seed reorders sets and dicts of strings, and the count with them.
    if not count_env.get("PYTHONHASHSEED", "").strip().isdigit():
        count_env["PYTHONHASHSEED"] = "0"
    prefix = [
        valgrind,
        "--tool=callgrind",
        f"--callgrind-out-file={cg_dir / 'callgrind.out.%p'}",
        "--compress-strings=no",
        "--compress-pos=no",
        "--dump-line=no",
        "--quiet",
    ]
    if api:
        prefix += ["--collect-atstart=no", f"--toggle-collect={TOGGLE_SYMBOL}"]
        count_env.update(
            {ENV_PROFILE: "count", ENV_PROFILE_CASE: case, ENV_PROFILE_CALLS: str(calls)}
        )
    else:
        prefix.append("--trace-children=yes")  # wrappers exec the real program: follow them
    _run([*prefix, *bench.argv], tree, count_env, timeout, key, name)
    outs = sorted(cg_dir.glob("callgrind.out.*"))
    if not outs:
        raise BenchgateError(f"the {name} side's callgrind run wrote no output", key=key)
    native = load_callgrind(outs, calls if api else 1, scope)
    if api and native.total <= 0:
        raise BenchgateError(
            f"callgrind counted nothing on the {name} side: this Python does not export "
            f"{TOGGLE_SYMBOL}; use --measure time",
            key=key,
        )
    side.native = native
    side.files += outs


def _find_bench(benches: list[Bench], name: str, key: str, where: str) -> Bench:
    for b in benches:
        if b.name == name:
            return b
    if where == "head":
        names = ", ".join(b.name for b in benches) or "none found"
        raise BenchgateError(f"unknown key: no bench named {name!r} (benches: {names})", key=key)
    raise BenchgateError(
        f"bench {name!r} does not exist at the base revision: nothing to compare with", key=key
    )


def explain(
    config: Config,
    key: str,
    base_rev: str,
    measure: str = TIME,
    calls: int | None = None,
    out_dir: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Explanation:
    """Profile KEY's bench at ``base_rev`` and at the working tree; the per-function diff.

    Writes ``<out_dir>/explain/<key>/``: ``base.pstats``, ``head.pstats`` (cProfile),
    callgrind output (instructions mode), ``explain.json`` and ``flame.html``.
    BenchgateError (exit 2) for an unknown key, a skipped bench, an unknown revision.
    """
    if measure not in MEASURES:
        raise BenchgateError(f"unknown measure {measure!r} (time or instructions)", key="--measure")
    n = calls if calls is not None else DEFAULT_CALLS[measure]
    if n < 1:
        raise BenchgateError("must be at least 1", key="--calls")
    t0 = time.perf_counter()
    bench_name, case = split_key(key)
    root = config.root.resolve()
    top = toplevel(root)
    commit = resolve_rev(top, base_rev, "--base")
    head_bench = _find_bench(discover(config), bench_name, key, "head")
    out = (out_dir if out_dir is not None else config.out_path) / EXPLAIN_DIR / key_dir_name(key)
    if measure == INSTRUCTIONS:
        require_valgrind()
    bench_env = dict(config.env)
    bench_env.update(env or {})
    limit = timeout if timeout is not None else config.timeout
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="benchgate-explain-") as tmp:
        work = Path(tmp)
        with base_worktree(top, commit) as wt:
            base_root = wt / root.relative_to(top)
            try:
                found = discover(rerooted(config, base_root), python=sys.executable)
            except BenchgateError:
                found = []
            base_bench = _find_bench(found, bench_name, key, "base")
            # Head first: an unknown key is found before the base is profiled. Then the
            # sides alternate, round by round, so a drift of the machine hits both alike.
            sides = [("head", head_bench, root), ("base", base_bench, base_root)]
            runs: dict[str, list[tuple[Profile, Path]]] = {"head": [], "base": []}
            for rnd in range(1, PROFILE_ROUNDS + 1):
                for name, b, tree in sides if rnd % 2 else sides[::-1]:
                    runs[name].append(
                        profile_side(
                            name,
                            b,
                            tree,
                            case,
                            measure,
                            n,
                            side_env(bench_env, tree),
                            limit,
                            work,
                            key,
                            rnd,
                        )
                    )
            head, base = (
                Side(
                    name,
                    min_profile([p for p, _ in runs[name]]),
                    files=[f for _, f in runs[name]],
                )
                for name in ("head", "base")
            )
            if measure == INSTRUCTIONS:
                # The two counted processes run side by side: valgrind is slow, and its
                # count does not depend on what else the machine is doing.
                with ThreadPoolExecutor(max_workers=2) as pool:
                    jobs = [
                        pool.submit(
                            count_side,
                            s,
                            b,
                            tree,
                            case,
                            n,
                            side_env(bench_env, tree),
                            limit,
                            work,
                            key,
                        )
                        for s, (_, b, tree) in zip((head, base), sides, strict=True)
                    ]
                    for job in jobs:
                        job.result()
                assert base.native is not None and head.native is not None
                base.python, head.python = split_exact(
                    base.python,
                    head.python,
                    base.native.total,
                    head.native.total,
                    INSTRUCTIONS_UNIT,
                )
        scope = head.python.scope
        if scope == PROCESS:
            notes.append(
                f"{bench_name} is not written with benchgate.bench: the whole process was "
                "profiled (start-up, imports and setup included), not one operation"
            )
        if measure == INSTRUCTIONS:
            notes.append(
                "instructions: the totals and the C functions are exact callgrind counts; "
                "the exact change is split among the Python functions whose cProfile time "
                "moved the same way, in proportion to how much (built-ins folded into "
                "their callers)"
            )
        diff = diff_profiles(base.python, head.python)
        native = (
            diff_profiles(base.native, head.native)
            if base.native is not None and head.native is not None
            else None
        )
        result = Explanation(
            key=key,
            bench=bench_name,
            case=case,
            base_rev=base_rev,
            base_commit=commit,
            measure=measure,
            calls=n if scope == OPERATION else 1,
            scope=scope,
            diff=diff,
            native=native,
            out_dir=out,
            seconds=0.0,
            notes=notes,
            shown_dir=_shown(out, root),
        )
        out.mkdir(parents=True, exist_ok=True)
        # The folder holds one explanation: the files of an earlier one are replaced.
        for old in out.iterdir():
            if old.is_file() and old.suffix in (".pstats", ".callgrind", ".json", ".html"):
                old.unlink()
        for side in (base, head):
            for f in side.files:
                dest = (
                    f.name if f.parent == work else f"{side.name}.{f.name.split('.')[-1]}.callgrind"
                )
                atomic_write_bytes(out / dest, f.read_bytes())
        title = f"{key}: {measure}, base {base_rev} ({commit[:12]}) vs working tree"
        atomic_write_text(result.flame_path, flame_html(title, diff, head.python, notes))
        atomic_write_json(
            out / SPEEDSCOPE_FILE,
            speedscope({"base": base.python, "head": head.python}, title),
        )
        result.seconds = time.perf_counter() - t0
        atomic_write_json(out / EXPLAIN_FILE, result.to_dict())
    return result


def explain_verdicts(
    config: Config, result: ABResult, base_rev: str, out_dir: Path, warn: bool = False
) -> list[tuple[str, Explanation | None, str | None]]:
    """``ab --explain``: explain every FAIL (and WARN with ``warn``) of an A/B result.

    One (status, explanation, None) per metric, or (status, None, error) when that metric
    could not be explained (its bench skipped, a crash): the A/B verdicts stand either way.
    """
    wanted = {Status.FAIL, Status.WARN} if warn else {Status.FAIL}
    out: list[tuple[str, Explanation | None, str | None]] = []
    for m in result.metrics:
        if m.status not in wanted:
            continue
        try:
            out.append((m.status.label, explain(config, m.key, base_rev, out_dir=out_dir), None))
        except BenchgateError as exc:
            out.append((m.status.label, None, f"{m.key}: {exc}"))
    return out
