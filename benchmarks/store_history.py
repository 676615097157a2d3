"""benchgate measuring itself: recording runs into the results store, and `history KEY`.

Synthetic runs as ``benchgate run`` records them (every metric with 5 samples, an
environment record), 5 runs per commit, one bench per 100 metrics.

As a bench (``benchgate run`` in this repository; setup untimed, a SQLite store in a temp
folder holding 10,000 runs x 10 metrics):

* ``record_values_per_sec``: recording one job's worth, 50 runs x 100 metrics (5,000
  metric values with their samples), in one transaction into the growing store;
* ``history_ms``: ``history KEY`` as the command computes it (the series of one key over
  the 10,000 runs = 2,000 commits, baselines from git, the text table) -- lower is better.

``python benchmarks/store_history.py --full`` instead records the full 10,000 runs x 100
metrics (1,000,000 metric values) in jobs of 50 runs, on SQLite and, when a PostgreSQL
server can be started here (tests/pgserver.py), on PostgreSQL, then times ``history KEY``
over the 10,000 runs in-process and as a whole ``python -m benchgate history`` call. The
figures in docs/store.md come from that mode.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchgate import bench
from benchgate.config import Config
from benchgate.model import Measurement, RunRecord, RunStatus
from benchgate.store.history import project_series, render_history
from benchgate.store.store import Store, StoredRun
from benchgate.store.url import parse_store_url

RUNS = 10_000
RUNS_PER_COMMIT = 5
JOB_RUNS = 50  # runs recorded per transaction (one CI job's worth)
SAMPLES = 5
SEED = 20261204
KEY = "bench_0.metric_0"
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def make_runs(start: int, count: int, metrics: int, rng: random.Random) -> list[StoredRun]:
    """Runs ``start`` .. ``start + count`` of the synthetic history (5 per commit)."""
    out = []
    for i in range(start, start + count):
        commit = f"{i // RUNS_PER_COMMIT:040x}"
        env: dict[str, Any] = {
            "git": {"commit": commit, "dirty": False},
            "hostname": "ci-runner-1",
            "fingerprint": "0123456789ab",
            "python": "3.11.7",
            "cpu_model": "synthetic CPU",
            "cpus": [0, 1],
            "distributions": {"click": "8.1.7", "rich": "13.7.1"},
        }
        values = {}
        for k in range(metrics):
            truth = 1000.0 * (k + 1) * (0.9 if i > RUNS // 2 else 1.0)
            samples = [truth * rng.gauss(1.0, 0.03) for _ in range(SAMPLES)]
            values[f"metric_{k}"] = Measurement(
                sorted(samples)[SAMPLES // 2], "ops/sec", True, samples
            )
        # One bench per commit slot carries all metrics: the key is in every run.
        out.append(
            StoredRun(
                RunRecord(
                    run_id=f"{i:08d}",
                    bench="bench_0",
                    invocation=f"inv{i // RUNS_PER_COMMIT}",
                    started=(EPOCH + timedelta(minutes=i)).isoformat(),
                    duration_s=1.0,
                    status=RunStatus.OK,
                    metrics=values,
                    env=env,
                    command={"argv": ["benchgate", "run"]},
                ),
                "run",
                "main",
            )
        )
    return out


def fill(store: Store, runs: int, metrics: int, rng: random.Random) -> float:
    """Record ``runs`` runs in jobs of JOB_RUNS; returns the seconds it took."""
    t0 = time.perf_counter()
    for start in range(0, runs, JOB_RUNS):
        store.record(make_runs(start, min(JOB_RUNS, runs - start), metrics, rng))
    return time.perf_counter() - t0


def history_once(store: Store, config: Config) -> str:
    """What `benchgate history KEY` computes and prints."""
    series = project_series(store, config, KEY, branch="main")
    return render_history(series, "text", "main", None)


@contextmanager
def sqlite_store(folder: Path) -> Iterator[tuple[str, Store]]:
    url = f"sqlite:///{folder}/history.db"
    with Store.open(parse_store_url(url, folder)) as st:
        yield url, st


def _median_ms(fn: Any, n: int, clock: Any = time.perf_counter) -> float:
    times = []
    for _ in range(n):
        t0 = clock()
        fn()
        times.append((clock() - t0) * 1000)
    return statistics.median(times)


def full_report(url: str, store: Store, folder: Path, label: str) -> None:
    """The --full figures for one store: recording 10,000 x 100, history in and out of process."""
    rng = random.Random(SEED)
    seconds = fill(store, RUNS, 100, rng)
    values = RUNS * 100
    print(
        f"{label}: recorded {RUNS:,} runs x 100 metrics ({values:,} values, 5 samples each) "
        f"in jobs of {JOB_RUNS} runs: {seconds:.1f} s, {values / seconds:,.0f} values/sec"
    )
    config = Config(root=folder)
    if store.db.kind == "postgresql":
        # Steady state: autovacuum refreshes the statistics after such growth; do it now
        # rather than time the planner's guesses about tables it has never sampled.
        store.db.execute("ANALYZE")
    history_once(store, config)
    ms = _median_ms(lambda: history_once(store, config), 20)
    # CPU time too: on a shared machine the wall time includes waiting for a core.
    cpu = _median_ms(lambda: history_once(store, config), 20, time.process_time)
    print(
        f"{label}: history {KEY} over {RUNS:,} runs ({RUNS // RUNS_PER_COMMIT:,} commits), "
        f"in process: {ms:.1f} ms wall, {cpu:.1f} ms CPU of this process (medians of 20)"
    )
    cmd = [
        sys.executable,
        "-m",
        "benchgate",
        "-C",
        str(folder),
        "history",
        KEY,
        "--store",
        url,
        "--branch",
        "main",
        "--last",
        "30",
    ]
    wall = _median_ms(lambda: subprocess.run(cmd, capture_output=True, check=True), 5)
    ver = [sys.executable, "-m", "benchgate", "--version"]
    base = _median_ms(lambda: subprocess.run(ver, capture_output=True, check=True), 5)
    print(
        f"{label}: `benchgate history {KEY} --last 30` whole command: {wall:.0f} ms "
        f"(of which interpreter + benchgate start-up, `benchgate --version`: {base:.0f} ms)"
    )


def main_full() -> None:
    """One-off figures at full scale (prints a report, not bench JSON)."""
    with tempfile.TemporaryDirectory(prefix="benchgate-store-") as tmp:
        with sqlite_store(Path(tmp)) as (url, st):
            full_report(url, st, Path(tmp), "SQLite")
            size = sum(p.stat().st_size for p in Path(tmp).glob("history.db*"))
            print(f"SQLite: file size {size / 1e6:.0f} MB")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    try:
        from pgserver import PgUnavailable, temporary_cluster
    except ImportError:
        print("PostgreSQL: tests/pgserver.py not found, skipped")
        return
    try:
        with temporary_cluster(fsync=True) as pg, tempfile.TemporaryDirectory() as tmp:
            with Store.open(parse_store_url(pg, Path(tmp))) as st:
                full_report(pg, st, Path(tmp), "PostgreSQL")
    except PgUnavailable as exc:
        print(f"PostgreSQL: skipped ({exc})")


def main() -> None:
    """As a bench: record one job into a growing store; history over 10,000 runs."""
    with tempfile.TemporaryDirectory(prefix="benchgate-store-") as tmp:
        folder = Path(tmp)
        with sqlite_store(folder) as (_url, st):
            rng = random.Random(SEED)
            fill(st, RUNS, 10, rng)
            config = Config(root=folder)
            counter = [RUNS]

            def record_job() -> None:
                st.record(make_runs(counter[0], JOB_RUNS, 100, rng))
                counter[0] += JOB_RUNS

            common: dict[str, Any] = {"disable_gc": False, "min_time": 0.05}
            # Registered first so it runs first, on exactly the 10,000 runs.
            bench.metric("history_ms", unit="ms", samples=5, args=(st, config), **common)(
                history_once
            )
            bench.metric(
                "record_values_per_sec",
                items_per_call=JOB_RUNS * 100,
                unit="values/sec",
                samples=5,
                **common,
            )(record_job)
            bench.main()


if __name__ == "__main__":
    if "--full" in sys.argv[1:]:
        main_full()
    else:
        main()
