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
        return one_line(": ".join(parts))


def one_line(text: str) -> str:
    """``text`` with line breaks, control characters and lone surrogates escaped.

    An error message quotes what the user gave (a key, a path, a revision): this keeps it
    one printable line whatever that held, so it can neither break the "one line on
    stderr" contract nor forge a line a CI system would execute.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
