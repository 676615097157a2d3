"""Per-function profiles of one side (base or head) and the loaders that build them.

A :class:`Profile` holds, for each function, its *self* cost (what it spent itself) and its
*inclusive* cost (itself and everything it called), both per call of the measured
operation, in one unit (seconds or instructions), plus the caller -> callee edges with
their inclusive cost, which the flame graph is drawn from.

Two sources:

* cProfile statistics (:func:`load_pstats`). Built-in functions (``sha256``, ``len``,
  ``dict.get`` ...) are folded into the Python function that called them: their time is
  added to that caller's self cost, so a helper that hashes twice as much data grows
  itself, rather than a ``sha256`` shared by every helper of the module.
* callgrind output (:func:`parse_callgrind`): the interpreter's C functions, exact
  instruction counts. Written by ``--compress-strings=no --compress-pos=no`` (full names on
  every line); compressed files are read too.

Functions are identified across revisions by file (relative to the tree the side ran in,
so the base worktree and the working tree match) and name, not line: a function that
moved within its file is still the same function.
"""

from __future__ import annotations

import marshal
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIME_UNIT = "s"
INSTRUCTIONS_UNIT = "instructions"
OPERATION = "operation"  # only the calls of the measured operation were profiled
PROCESS = "process"  # the whole process (a plain script or a declared command)

# The frame benchgate.bench runs the profiled calls in; kept as the flame graph's root.
LOOP_NAME = "_profile_loop"
# cProfile's own bookkeeping, never part of what the bench does.
_PROFILER_NOISE = ("<method 'disable' of '_lsprof.Profiler' objects>",)


@dataclass
class Func:
    """One function's costs per call of the operation (or per process run)."""

    key: str  # identity across revisions: "<file>:<name>"
    name: str
    file: str  # relative to the tree when inside it; "~" for a built-in
    line: int
    self_cost: float
    total_cost: float
    calls: float  # how many times it ran per call of the operation
    # How much self cost moved from run to run (median minus least over the runs): what a
    # change must exceed to be more than noise. 0 for a single run or an exact count.
    noise: float = 0.0

    @property
    def where(self) -> str:
        """``file:line`` (or the file alone when the line is unknown)."""
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name,
            "file": self.file,
            "line": self.line,
            "self": self.self_cost,
            "inclusive": self.total_cost,
            "calls": self.calls,
        }


@dataclass
class Profile:
    """Every function of one side, costs per call of the operation."""

    unit: str
    scope: str
    calls: int  # calls of the operation profiled (1 for a whole process)
    functions: dict[str, Func] = field(default_factory=dict)
    # (caller key, callee key) -> inclusive cost of the callee from that caller, per call
    edges: dict[tuple[str, str], float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """The sum of self costs: everything profiled, per call of the operation."""
        return sum(f.self_cost for f in self.functions.values())

    def scaled(self, total: float, unit: str) -> Profile:
        """This profile with its costs split so that they sum to ``total`` in ``unit``."""
        own = self.total
        k = total / own if own > 0 else 0.0
        funcs = {
            key: Func(f.key, f.name, f.file, f.line, f.self_cost * k, f.total_cost * k, f.calls)
            for key, f in self.functions.items()
        }
        edges = {e: v * k for e, v in self.edges.items()}
        return Profile(unit, self.scope, self.calls, funcs, edges)


def _relative(file: str, roots: Iterable[Path]) -> str:
    if file == "~" or file.startswith("<"):
        return file
    p = Path(file)
    for root in roots:
        try:
            return p.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            continue
    return file


def _label(name: str) -> str:
    # cProfile names a built-in "<built-in method _hashlib.openssl_sha256>": keep the name.
    m = re.fullmatch(r"<built-in method (.+)>", name)
    return m.group(1) if m else name


def load_pstats(path: Path, roots: Iterable[Path], calls: int, scope: str) -> Profile:
    """The cProfile statistics file ``path`` as a :class:`Profile` (seconds per call).

    ``roots``: the folders whose files are named relative to them (the side's tree).
    Built-in functions are folded into their Python callers (see the module docstring).
    ValueError for a file that is not cProfile statistics.
    """
    try:
        raw = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"{path.name}: not a cProfile statistics file ({exc})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path.name}: not a cProfile statistics file")
    roots = list(roots)
    n = max(calls, 1)

    def ident(fn: Any) -> tuple[str, str, int, bool]:
        if not (isinstance(fn, tuple) and len(fn) == 3):
            raise ValueError(f"{path.name}: not a cProfile statistics file")
        file, line, name = fn
        builtin = file == "~"
        rel = _relative(str(file), roots)
        label = _label(str(name))
        return f"{rel}:{label}", label, int(line or 0), builtin

    prof = Profile(TIME_UNIT, scope, calls)
    builtins: dict[str, Any] = {}
    for fn, entry in raw.items():
        key, label, line, builtin = ident(fn)
        if label in _PROFILER_NOISE:
            continue
        cc, nc, tt, ct, callers = entry
        if builtin:
            builtins[key] = (label, nc, tt, ct, callers)
            continue
        f = prof.functions.get(key)
        if f is None:
            f = prof.functions[key] = Func(key, label, _relative(fn[0], roots), line, 0.0, 0.0, 0)
        f.self_cost += tt / n
        f.total_cost += ct / n
        f.calls += nc / n
        for caller, stat in callers.items():
            ck = ident(caller)[0]
            prof.edges[(ck, key)] = prof.edges.get((ck, key), 0.0) + stat[3] / n
    for key, (label, _nc, _tt, _ct, callers) in builtins.items():
        for caller, stat in callers.items():
            ck = ident(caller)[0]
            target = prof.functions.get(ck)
            if target is None:
                # Called from a built-in (map, sorted's key ...) or from outside the
                # profiled calls: it stays a function of its own.
                target = prof.functions.get(key)
                if target is None:
                    target = prof.functions[key] = Func(key, label, "~", 0, 0.0, 0.0, 0)
                target.self_cost += stat[2] / n
                target.total_cost += stat[3] / n
                target.calls += stat[1] / n
                continue
            # The built-in's own time from this caller becomes the caller's self time.
            target.self_cost += stat[2] / n
    return prof


def min_profile(profiles: list[Profile]) -> Profile:
    """One profile from several runs of the same side: each cost is its minimum over them.

    Noise on a shared machine (other processes, a descheduled CPU, cold caches) only adds
    time, so the least a function took over the runs is the best estimate of its cost, as
    for timing samples. A function absent from a run counts 0 there. Call counts are
    deterministic: their median is taken.
    """
    if len(profiles) == 1:
        return profiles[0]
    first = profiles[0]
    out = Profile(first.unit, first.scope, first.calls)
    keys = sorted({k for p in profiles for k in p.functions})
    for key in keys:
        have = [p.functions[key] for p in profiles if key in p.functions]
        some = have[0]

        def least(get: Any, key: str = key) -> float:
            return min(get(p.functions[key]) if key in p.functions else 0.0 for p in profiles)

        selfs = [p.functions[key].self_cost if key in p.functions else 0.0 for p in profiles]
        out.functions[key] = Func(
            key,
            some.name,
            some.file,
            some.line,
            min(selfs),
            least(lambda f: f.total_cost),
            statistics.median(
                p.functions[key].calls if key in p.functions else 0 for p in profiles
            ),
            statistics.median(selfs) - min(selfs),
        )
    for edge in sorted({e for p in profiles for e in p.edges}):
        out.edges[edge] = min(p.edges.get(edge, 0.0) for p in profiles)
    return out


def split_exact(
    base: Profile, head: Profile, base_total: float, head_total: float, unit: str
) -> tuple[Profile, Profile]:
    """Python functions costed in ``unit`` from time profiles and exact totals per side.

    The base is split by its functions' shares of the base time. The exact change of the
    total (``di = head_total - base_total``) is split among the functions whose time moved
    in the same direction as ``di``, in proportion to how much it moved (head minus base
    time) beyond its run-to-run noise (:attr:`Func.noise` of both sides; the raw moves
    when no function moved beyond its noise): a function whose time did not change, or
    moved against the total (noise, as the count says), gets none of it, whatever its
    share. When no function's time moved
    that way, the head is split by its own shares. Either way each side's costs sum
    exactly to its total, so the per-function changes sum to the exact change.
    Inclusive costs and edges (the flame graph's widths) follow each side's shares.
    """
    b = base.scaled(base_total, unit)
    h = head.scaled(head_total, unit)
    di = head_total - base_total
    sign = 1.0 if di >= 0 else -1.0
    keys = sorted(set(b.functions) | set(h.functions))
    moved, beyond = {}, {}
    for key in keys:
        bf, hf = base.functions.get(key), head.functions.get(key)
        bt = bf.self_cost if bf is not None else 0.0
        ht = hf.self_cost if hf is not None else 0.0
        noise = (bf.noise if bf is not None else 0.0) + (hf.noise if hf is not None else 0.0)
        moved[key] = max(sign * (ht - bt), 0.0)
        # The part of the move beyond the function's run-to-run noise on both sides.
        beyond[key] = max(moved[key] - noise, 0.0)
    if sum(beyond.values()) > 0:
        moved = beyond
    weight = sum(moved.values())
    if di == 0 or weight <= 0:
        return b, h
    for key in keys:
        bi = b.functions[key].self_cost if key in b.functions else 0.0
        f = h.functions.get(key)
        if f is None:
            some = b.functions[key]
            f = h.functions[key] = Func(key, some.name, some.file, some.line, 0.0, 0.0, 0)
        f.self_cost = bi + di * moved[key] / weight
    return b, h


def root_function(prof: Profile) -> str | None:
    """The key of the profiled loop (benchgate.bench's), or of the outermost function."""
    for key, f in prof.functions.items():
        if f.name == LOOP_NAME:
            return key
    callees = {b for _, b in prof.edges}
    tops = [f for k, f in prof.functions.items() if k not in callees]
    if not tops:
        return None
    return max(tops, key=lambda f: f.total_cost).key


# --- callgrind ----------------------------------------------------------------------------

_NAME_REF = re.compile(r"^\((\d+)\)(?:\s(.*))?$")


def parse_callgrind(text: str, name: str = "callgrind.out") -> tuple[dict[str, Func], int]:
    """Per-function self and inclusive instructions of one callgrind output file.

    Returns the functions (keyed ``<file>:<name>``) and the file's ``summary``/``totals``
    instruction count. The self costs sum to the total exactly. ValueError for a file that
    is not callgrind output.
    """
    lines = text.splitlines()
    if not lines or not any(ln.startswith("events:") for ln in lines[:60]):
        raise ValueError(f"{name}: not callgrind output (no events line)")
    events: list[str] = []
    npos = 1
    names: dict[str, dict[str, str]] = {"fl": {}, "fn": {}}
    funcs: dict[str, Func] = {}
    fl = "???"
    current: Func | None = None
    pending_call = False  # the next cost line is a call's inclusive cost
    summary: int | None = None

    def resolve(kind: str, value: str) -> str:
        m = _NAME_REF.match(value)
        if not m:
            return value
        ident, label = m.group(1), m.group(2)
        if label is not None:
            names[kind][ident] = label
            return label
        if ident not in names[kind]:
            raise ValueError(f"{name}: name ({ident}) used before it is defined")
        return names[kind][ident]

    ir = 0
    for lineno, ln in enumerate(lines, 1):
        if not ln or ln.startswith("#"):
            continue
        head, sep, value = ln.partition("=")
        if ln[0].isdigit() or ln[0] in "+-*":
            parts = ln.split()
            if current is None or len(parts) < npos:
                raise ValueError(f"{name}:{lineno}: a cost line outside a function")
            try:
                costs = [int(x) for x in parts[npos:]]
            except ValueError:
                raise ValueError(f"{name}:{lineno}: a cost that is not a number") from None
            cost = costs[ir] if ir < len(costs) else 0
            if pending_call:
                current.total_cost += cost
                pending_call = False
            else:
                current.self_cost += cost
                current.total_cost += cost
            continue
        if ln.startswith("events:"):
            events = ln.split()[1:]
            if "Ir" not in events:
                raise ValueError(f"{name}: no Ir (instructions) event")
            ir = events.index("Ir")
        elif ln.startswith("positions:"):
            npos = len(ln.split()[1:]) or 1
        elif ln.startswith(("summary:", "totals:")):
            try:
                summary = int(ln.split()[1 + ir])
            except (IndexError, ValueError):
                raise ValueError(f"{name}:{lineno}: a summary that is not a number") from None
        elif sep and head in ("fl", "fi", "fe"):
            label = resolve("fl", value)
            if head == "fl":
                fl = label
        elif sep and head == "fn":
            # callgrind names deeper recursion levels "f'2", "f'3": one function for us.
            fname = re.sub(r"'\d+$", "", resolve("fn", value))
            key = f"{fl}:{fname}"
            current = funcs.get(key)
            if current is None:
                current = funcs[key] = Func(key, fname, fl, 0, 0.0, 0.0, 0)
        elif sep and head in ("cfl", "cfi"):
            resolve("fl", value)
        elif sep and head == "cfn":
            resolve("fn", value)
        elif sep and head == "calls":
            if current is None:
                raise ValueError(f"{name}:{lineno}: a call outside a function")
            pending_call = True
    if not events:
        raise ValueError(f"{name}: not callgrind output (no events line)")
    own = int(sum(f.self_cost for f in funcs.values()))
    return funcs, summary if summary is not None else own


def load_callgrind(paths: Iterable[Path], calls: int, scope: str) -> Profile:
    """Callgrind output files of one side (one per process) as a Profile per call."""
    prof = Profile(INSTRUCTIONS_UNIT, scope, calls)
    n = max(calls, 1)
    for path in paths:
        funcs, _ = parse_callgrind(path.read_text(encoding="utf-8", errors="replace"), path.name)
        for key, f in funcs.items():
            g = prof.functions.setdefault(key, Func(key, f.name, f.file, 0, 0.0, 0.0, 0))
            g.self_cost += f.self_cost / n
            g.total_cost += f.total_cost / n
    prof.functions = {k: f for k, f in prof.functions.items() if f.self_cost or f.total_cost}
    return prof
