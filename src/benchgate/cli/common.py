"""Helpers shared by the CLI commands: config loading, lists, shared options, error exit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from benchgate.config import Config, load_config
from benchgate.errors import BenchgateError
from benchgate.render import fmt


def get_config(ctx: click.Context) -> Config:
    """The project's config, loaded once per invocation from the root given by ``-C``."""
    root_ctx = ctx.find_root()
    obj: dict[str, Any] = root_ctx.ensure_object(dict)
    if "config" not in obj:
        root = obj.get("root")
        obj["config"] = load_config(Path(root) if root else None)
    cfg: Config = obj["config"]
    return cfg


def split_list(value: str | None) -> list[str]:
    """``"a,b, c"`` -> ``["a", "b", "c"]``; None or empty -> ``[]``."""
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


class GuardedGroup(click.Group):
    """A group that turns BenchgateError into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BenchgateError as exc:
            # One line whatever the message holds (a key or a path from outside).
            click.echo(f"benchgate: error: {fmt.plain(str(exc))}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("benchgate: interrupted", err=True)
            ctx.exit(130)
