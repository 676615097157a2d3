"""hyperfine JSON: ``hyperfine --export-json FILE 'cmd' ...``.

One metric per command (named by ``--command-name`` when given, else the command line):
the wall-clock time of one run in seconds, lower is better. The samples are the times of
every run (``times``); the value is hyperfine's own headline, the ``mean``
(``Time (mean ± σ)``). A command with a failing run (hyperfine ``-i``) is an ERROR with
the exit codes.
"""

from __future__ import annotations

from typing import Any

from benchgate.importers.base import (
    ImportedBench,
    Source,
    add_metric,
    arr,
    finite_list,
    load_json,
    looks_like,
    need,
    obj,
    origin_of,
    stem_name,
    wrong_format,
)
from benchgate.model import RunStatus

NAME = "hyperfine"


def read(source: Source, *, origin: str | None = None) -> list[ImportedBench]:
    """The commands of one hyperfine JSON export as one bench."""
    where = origin_of(source, origin)
    data = load_json(source, origin, "a hyperfine JSON export")
    if looks_like(data) not in (None, "hyperfine"):
        wrong_format(data, "hyperfine", where, "", "not hyperfine output")
    need(
        isinstance(data, dict) and "results" in data,
        where,
        "results",
        "missing: not a hyperfine JSON export (made by --export-json)",
    )
    out = ImportedBench(stem_name(source, origin, NAME), extra={"tool": NAME})
    for i, raw in enumerate(arr(data["results"], where, "results")):
        key = f"results[{i}]"
        r = obj(raw, where, key)
        command: Any = r.get("command")
        need(isinstance(command, str) and bool(command.strip()), where, key, "has no command")
        times = finite_list(r.get("times"))
        need(times is not None, where, f"{key}.times", "must be a list of numbers")
        need("mean" in r, where, f"{key}.mean", "missing")
        codes = r.get("exit_codes")
        failed = [c for c in codes if c != 0] if isinstance(codes, list) else []
        if failed:
            out.failed[command] = (RunStatus.ERROR, f"exit codes {sorted(set(map(str, failed)))}")
            continue
        add_metric(out, command, r["mean"], "s", False, times)
    return [out]
