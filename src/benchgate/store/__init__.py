"""The results store: every run over commits (SQLite by default, PostgreSQL for a fleet).

``open_store`` is the entry point of the stages that read it (``trend``, ``dashboard``).
"""

from __future__ import annotations

from pathlib import Path

from benchgate.config import Config, load_config
from benchgate.errors import BenchgateError
from benchgate.store.history import ProjectStore
from benchgate.store.record import reading_url
from benchgate.store.store import Store


def open_store(target: str | Config) -> ProjectStore:
    """Open the store for reading: a store URL, or a project's config (its ``store``).

    A URL's relative SQLite path and the project whose baselines.json history is shown
    beside the series are those of the project found from the current folder. A store
    that does not exist yet is created empty. BenchgateError (one line) for a bad URL,
    an unreachable server, a newer schema or a corrupted file.
    """
    if isinstance(target, Config):
        config = target
        url = reading_url(config, None)
    else:
        try:
            config = load_config()
        except BenchgateError:
            config = Config(root=Path.cwd())
        url = reading_url(config, target)
    return ProjectStore(Store.open(url), config)
