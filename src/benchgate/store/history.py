"""``benchgate history KEY``: one metric over commits, read from the store.

Per commit: the value (median of that commit's runs), its spread (min-max and stdev),
n, the baseline in force then and the change against it; a sparkline of the values in
the terminal; the baseline refreshes from baselines.json's git history beside them.
"""

from __future__ import annotations

from typing import Any

from benchgate.baselines.file import load_baselines
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.model import Baseline
from benchgate.store.refreshes import GitBaselines
from benchgate.store.series import Series
from benchgate.store.store import Store


class ProjectStore:
    """A store read for one project: series carry its baselines from git and its thresholds.

    What ``history``, ``trend`` and ``dashboard`` read: ``series`` is
    :meth:`Store.series` plus the baseline in force at each commit (baselines.json at
    that commit, from git), the key's refreshes, and its thresholds from baselines.json
    (else config). baselines.json and its history are read once, for every key. Every
    other attribute is the underlying :class:`Store`'s.
    """

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.git = GitBaselines(config)
        self._baselines: dict[str, Baseline] | None = None

    def thresholds(self, key: str) -> tuple[float, float]:
        """The key's thresholds from baselines.json when readable, else config's."""
        if self._baselines is None:
            try:
                self._baselines = load_baselines(
                    self.config.baselines_path,
                    self.config.degradation_pct_max,
                    self.config.variance_pct_warn,
                )
            except BenchgateError:
                self._baselines = {}
        b = self._baselines.get(key)
        if b is not None:
            return b.degradation_pct_max, b.variance_pct_warn
        return self.config.degradation_pct_max, self.config.variance_pct_warn

    def keys(self) -> list[str]:
        """Every metric key recorded, sorted."""
        return self.store.keys()

    def series(
        self,
        key: str,
        branch: str | None = None,
        machine: str | None = None,
        last: int | None = None,
    ) -> Series:
        """``key`` over commits with the project's baselines (see the class)."""
        deg, warn = self.thresholds(key)
        return self.store.series(
            key,
            branch=branch,
            machine=machine,
            last=last,
            refreshes=self.git.refreshes().get(key, []),
            degradation_pct_max=deg,
            variance_pct_warn=warn,
            baselines_at=lambda commits: self.git.at(key, commits),
        )

    def close(self) -> None:
        """Close the underlying store."""
        self.store.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def project_series(
    store: Store,
    config: Config,
    key: str,
    branch: str | None = None,
    machine: str | None = None,
    last: int | None = None,
) -> Series:
    """``store.series`` with the project's baselines from git and its thresholds.

    The baseline in force at a commit without a recorded verdict is what baselines.json
    held at that commit; refreshes are the commits that changed the key's value.
    """
    return ProjectStore(store, config).series(key, branch, machine, last)
