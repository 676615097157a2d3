"""No drift between docs and code: every command line in the README and docs parses.

Each ``benchgate ...`` line in a fenced shell block (and each ``python tests/bench/runner.py``
line, through the scaffolded runner's own translation) is parsed by the real CLI.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from benchgate.cli import main
from benchgate.project.scaffold import RUNNER_TEMPLATE

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def _runner_translate() -> object:
    ns: dict[str, object] = {"__file__": "/x/tests/bench/runner.py"}
    code = RUNNER_TEMPLATE.format(bench_dir="tests/bench", out_dir="tests/reports/bench", depth=2)
    exec(compile(code.split('if __name__ == "__main__":')[0], "runner.py", "exec"), ns)
    return ns["translate"]


def command_lines(text: str) -> list[str]:
    """Shell lines invoking benchgate or the runner, from fenced bash/sh/console blocks."""
    lines: list[str] = []
    for block in re.findall(r"```(?:bash|sh|shell|console)\n(.*?)```", text, re.S):
        joined = block.replace("\\\n", " ")
        for raw in joined.splitlines():
            for part in re.split(r"&&|;|\|\|", raw.split(" #")[0]):
                part = part.strip().removeprefix("$ ").strip()
                part = re.sub(r"^(taskset -c \S+ )", "", part)
                part = re.split(r"\s\d?>>?\s", part)[0]  # `> file`: a redirect, not an argument
                if part.startswith(("benchgate ", "python tests/bench/runner.py")):
                    lines.append(part)
    return lines


def parse(args: list[str]) -> None:
    """Parse ``args`` with the real CLI down to the leaf command, without running it."""
    group: click.Group = main
    ctx = group.make_context("benchgate", list(args))
    rest = [*ctx._protected_args, *ctx.args]
    while True:
        name, cmd, rest = group.resolve_command(ctx, rest)
        assert cmd is not None, f"unknown command {name!r}"
        sub = cmd.make_context(name or "", list(rest), parent=ctx)
        if isinstance(cmd, click.Group):
            group, ctx = cmd, sub
            rest = [*sub._protected_args, *sub.args]
            continue
        return


CASES = [(doc.name, line) for doc in DOCS for line in command_lines(doc.read_text())]


def test_docs_have_command_lines() -> None:
    assert len([c for c in CASES if c[0] == "README.md"]) >= 10


@pytest.mark.parametrize("doc, line", CASES, ids=[f"{d}:{i}" for i, (d, _) in enumerate(CASES)])
def test_command_line_parses(doc: str, line: str) -> None:
    words = shlex.split(line.replace("$GITHUB_STEP_SUMMARY", "x"))
    if words[0] == "python":
        translate = _runner_translate()
        args = translate(words[2:])  # type: ignore[operator]
    else:
        args = words[1:]
    parse(args)
