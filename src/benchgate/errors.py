"""The one error type the library raises for bad input; the CLI turns it into exit 2."""

from __future__ import annotations

from pathlib import Path


class BenchgateError(Exception):
    """Bad input or usage: one line naming the file, the key and the problem."""

    def __init__(self, problem: str, path: str | Path | None = None, key: str | None = None):
        self.problem = problem
        self.path = str(path) if path is not None else None
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.path, self.key) if p]
        parts.append(self.problem)
        return ": ".join(parts)
