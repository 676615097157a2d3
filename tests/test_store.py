"""The results store: URLs, round trip, idempotence, concurrency, crashes, bad stores.

Each store test runs on SQLite and on PostgreSQL (a throwaway server, tests/pgserver.py;
skipped outside CI when PostgreSQL is not installed, failing in CI).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from benchgate.cli import main
from benchgate.errors import BenchgateError
from benchgate.model import RunStatus
from benchgate.run.results import load_runs, write_bench_runs
from benchgate.store.store import Store, StoredRun, judgement_of
from benchgate.store.url import parse_store_url
from conftest import make_env, make_runs

ROOT = Path("/proj")


def invoke(project: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["-C", str(project), *args], catch_exceptions=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store URL of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/h.db"
    return str(request.getfixturevalue("pg_url"))


def _open(url: str) -> Store:
    return Store.open(parse_store_url(url, ROOT))


# --- URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, kind, path",
    [
        ("sqlite", "sqlite", "/proj/.benchgate/history.db"),
        ("on", "sqlite", "/proj/.benchgate/history.db"),
        ("sqlite:///var/h.db", "sqlite", "/var/h.db"),
        ("sqlite:data/h.db", "sqlite", "/proj/data/h.db"),
        ("/var/h.db", "sqlite", "/var/h.db"),
        ("data/h.sqlite", "sqlite", "/proj/data/h.sqlite"),
        ("off", "off", None),
        ("postgresql://u:secret@db.example:5432/bench", "postgresql", None),
        ("postgres:///bench?host=/run/pg", "postgresql", None),
    ],
)
def test_store_urls(url: str, kind: str, path: str | None) -> None:
    parsed = parse_store_url(url, ROOT)
    assert parsed.kind == kind
    assert (str(parsed.path) if parsed.path else None) == path
    assert "secret" not in parsed.display


@pytest.mark.parametrize(
    "url, problem",
    [
        ("", "empty store URL"),
        ("mysql://x/y", "unknown store scheme 'mysql'"),
        ("redis:x", "unknown store scheme"),
        ("just words", "not a store URL"),
        ("sqlite://otherhost/x.db", "names a local file"),
        ("sqlite:///", "no file"),
        ("sqlite:x.db?mode=ro", "no query"),
        ("postgresql:bench", "malformed PostgreSQL URL"),
        ("postgresql://h:notaport/db", "malformed PostgreSQL URL"),
        ("postgresql://h:70000/db", "malformed PostgreSQL URL"),
        ("postgresql://u:pw@ho st/db", "contains a space"),
        ("postgresql://h$x/db", "bad host"),
    ],
)
def test_bad_store_urls(url: str, problem: str) -> None:
    with pytest.raises(BenchgateError) as err:
        parse_store_url(url, ROOT)
    assert problem in str(err.value)
    assert "\n" not in str(err.value)
    assert "pw@" not in str(err.value)


# --- writing and reading back ----------------------------------------------------------------


def _runs(commit: str, values: list[float], bench: str = "enc", day: str = "2026-11-26"):
    env = make_env(git={"commit": commit, "dirty": False})
    runs = make_runs(bench, {"MBps": values, "ops": [v * 10 for v in values]}, env=env, day=day)
    for r, v in zip(runs, values, strict=True):
        r.run_id = f"{commit[:4]}-{r.run_id}"
        r.metrics["MBps"].samples = [v * 0.99, v, v * 1.01]
    return runs


def test_round_trip_through_the_store(store_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    runs = _runs("a" * 40, [100.0, 101.5, 99.25])
    err = make_runs("crashy", {"x": [1.0]})
    err[0].status, err[0].metrics, err[0].reason = RunStatus.ERROR, {}, "exit code 1"
    write_bench_runs(out, "enc", runs)
    write_bench_runs(out, "crashy", err)
    write_bench_runs(out / "ab" / "head", "enc", _runs("b" * 40, [50.0]))
    with _open(store_url) as st:
        from benchgate.store.store import out_dir_runs

        first = st.record(out_dir_runs(out, branch="main"))
        assert (first.runs_new, first.runs_known, first.metrics_new) == (5, 0, 8)
        back = tmp_path / "back"
        result = st.export(back)
    assert result.runs == 5
    original = load_runs(out)
    exported = load_runs(back)
    assert {b: [r.to_dict() for r in rs] for b, rs in exported.items()} == {
        b: [r.to_dict() for r in rs] for b, rs in original.items()
    }
    ab_back = load_runs(back / "ab" / "head")
    assert [r.to_dict() for r in ab_back["enc"]] == [
        r.to_dict() for r in load_runs(out / "ab" / "head")["enc"]
    ]


def test_export_refuses_a_folder_with_run_files(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/h.db"
    out = tmp_path / "out"
    write_bench_runs(out, "enc", _runs("a" * 40, [1.0]))
    with _open(url) as st:
        st.record([StoredRun(r) for r in load_runs(out)["enc"]])
        with pytest.raises(BenchgateError, match="already holds run files"):
            st.export(out)
        with pytest.raises(BenchgateError, match="no stored runs match"):
            st.export(tmp_path / "x", commit="ffff")
        with pytest.raises(BenchgateError, match="not a commit hash"):
            st.export(tmp_path / "x", commit="main")
        assert st.export(tmp_path / "y", commit="AAAA").runs == 1


def test_series_one_point_per_commit(store_url: str) -> None:
    a, b, c = "a" * 40, "b" * 40, "c" * 40
    runs = (
        _runs(a, [100.0, 104.0, 96.0], day="2026-11-01")
        + _runs(b, [90.0, 91.0], day="2026-11-02")
        + _runs(c, [120.0], day="2026-11-03")
    )
    dirty = _runs("d" * 40, [5.0], day="2026-11-04")
    dirty[0].env = make_env(git={"commit": "d" * 40, "dirty": True})
    other = _runs("e" * 40, [7.0], day="2026-11-05")
    with _open(store_url) as st:
        st.record([StoredRun(r, "run", "main") for r in runs + dirty])
        st.record([StoredRun(r, "run", "feature") for r in other])
        verdicts = [
            {
                "key": "enc.MBps",
                "status": "pass",
                "baseline": 98.0,
                "current": 100.0,
                "degradation_pct_max": 0.1,
                "variance_pct_warn": 0.03,
            }
        ]
        stored = [StoredRun(r, "run", "main") for r in runs[:3]]
        st.record(stored, judgement_of("compare", verdicts, stored, "main"))
        s = st.series("enc.MBps", branch="main")
        assert [p.commit for p in s.points] == [a, b, c]  # dirty run left out
        assert [p.value for p in s.points] == [100.0, 90.5, 120.0]
        assert [p.n for p in s.points] == [3, 2, 1]
        assert (s.points[0].lo, s.points[0].hi, s.points[0].stdev) == (96.0, 104.0, 4.0)
        assert s.points[0].baseline == 98.0 and s.points[1].baseline is None
        assert (s.degradation_pct_max, s.variance_pct_warn) == (0.1, 0.03)
        assert s.unit == "ops/sec" and s.higher_is_better
        assert [p.commit for p in st.series("enc.MBps", last=2).points] == [c, "e" * 40]
        assert len(st.series("enc.MBps", machine="bench1").points) == 4
        assert st.series("enc.MBps", machine="nowhere").points == ()
        assert st.keys() == ["enc.MBps", "enc.ops"]
        with pytest.raises(BenchgateError, match="no metric 'enc.nope'"):
            st.series("enc.nope")
        info = st.info()
        assert (info.runs, info.commits, info.branches, info.judgements) == (
            8,
            5,
            ["feature", "main"],
            1,
        )


def test_same_judgement_twice_is_stored_once(tmp_path: Path) -> None:
    runs = [StoredRun(r) for r in _runs("a" * 40, [1.0, 2.0])]
    verdicts = [{"key": "enc.MBps", "status": "pass", "baseline": 1.5}]
    with _open(f"sqlite:///{tmp_path}/h.db") as st:
        first = st.record(runs, judgement_of("compare", verdicts, runs, "main"))
        again = st.record(runs, judgement_of("compare", verdicts, runs, "main"))
        assert (first.verdicts_new, again.verdicts_new, again.judgement_known) == (1, 0, True)
        assert st.info().judgements == 1


# --- concurrency and crashes -----------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path
    from benchgate.model import Measurement, RunRecord, RunStatus
    from benchgate.store.store import Store, StoredRun, _prepare, _record
    from benchgate.store.url import parse_store_url

    url, worker, n_runs, n_metrics = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    env = {"git": {"commit": "%040x" % worker, "dirty": False}, "hostname": f"w{worker}",
           "fingerprint": "f"}

    def run(i, who):
        return RunRecord(
            run_id=f"{who}-{i}", bench=f"b{i % 3}", invocation="x",
            started=f"2026-11-26T10:{i // 60 % 60:02d}:{i % 60:02d}+00:00", duration_s=1.0,
            status=RunStatus.OK,
            metrics={f"m{k}": Measurement(float(i + k), "ops/sec", True, [1.0, 2.0])
                     for k in range(n_metrics)},
            env=env,
        )

    shared = [run(i, "shared") for i in range(5)]  # the same runs from every worker
    mine = [run(i, f"w{worker}") for i in range(n_runs)]
    print("begin", flush=True)
    if sys.argv[5:] == ["stuck"]:
        # Everything in one transaction, then wait inside it to be killed.
        def stuck(db):
            _record(db, [(_prepare(StoredRun(r)), StoredRun(r)) for r in mine], None)
            print("written", flush=True)
            time.sleep(600)

        with Store.open(parse_store_url(url, Path("."))) as st:
            st.db.write(stuck)
    with Store.open(parse_store_url(url, Path("."))) as st:
        for chunk in range(0, n_runs, 10):  # several transactions per worker
            part = mine[chunk:chunk + 10] + (shared if chunk == 0 else [])
            st.record([StoredRun(r) for r in part])
    print("done", flush=True)
    """
)


def _start_worker(
    tmp_path: Path, url: str, worker: int, runs: int, metrics: int
) -> subprocess.Popen[str]:
    script = tmp_path / "worker.py"
    if not script.exists():
        script.write_text(WORKER)
    return subprocess.Popen(
        [sys.executable, str(script), url, str(worker), str(runs), str(metrics)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_eight_concurrent_writers_lose_nothing(store_url: str, tmp_path: Path) -> None:
    procs = [_start_worker(tmp_path, store_url, w, 40, 5) for w in range(8)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "done" in out
    with _open(store_url) as st:
        info = st.info()
        assert info.runs == 8 * 40 + 5  # the shared runs once
        assert info.metric_values == (8 * 40 + 5) * 5
        assert len(info.machines) == 8
        dup = st.db.one(
            "SELECT COUNT(*) FROM (SELECT run_key FROM runs GROUP BY run_key HAVING COUNT(*) > 1) d"
        )
        assert dup is not None and dup[0] == 0


def _sigkill_mid_write(url: str, tmp_path: Path) -> None:
    """Kill a writer inside one big transaction; the store keeps everything else intact."""
    with _open(url) as st:
        st.record([StoredRun(r) for r in _runs("a" * 40, [1.0, 2.0, 3.0])])
        before = st.info()
    # The writer stores 3,000 runs x 40 metrics inside one transaction (far more than
    # SQLite's page cache, so uncommitted pages reach the WAL file), says so, and waits
    # inside the transaction to be killed: the kill lands mid-write every time.
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    p = subprocess.Popen(
        [sys.executable, str(script), url, "9", "3000", "40", "stuck"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "begin"
    assert p.stdout.readline().strip() == "written", p.stderr.read() if p.stderr else ""
    if url.startswith("sqlite"):
        wal = Path(url.removeprefix("sqlite://") + "-wal")
        assert wal.stat().st_size > 1_000_000  # the uncommitted rows did reach the disk
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    with _open(url) as st:
        after = st.info()
        assert (after.runs, after.metric_values) == (before.runs, before.metric_values)
        if st.db.kind == "sqlite":
            assert st.db.one("PRAGMA integrity_check") == ("ok",)
        # ... and the store still takes writes.
        assert st.record([StoredRun(r) for r in _runs("b" * 40, [4.0])]).runs_new == 1


def test_sigkill_mid_write_leaves_the_store_consistent(store_url: str, tmp_path: Path) -> None:
    _sigkill_mid_write(store_url, tmp_path)


# --- bad stores --------------------------------------------------------------------------------


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corrupted_sqlite_file_is_one_line_and_left_alone(project: Path) -> None:
    db = project / "h.db"
    db.write_bytes(b"this is not a database\n" * 200)
    digest = _digest(db)
    out = project / "out"
    write_bench_runs(out, "enc", _runs("a" * 40, [1.0]))
    for args in (["store", "info"], ["history", "x.y"], ["store", "import", str(out)]):
        r = invoke(project, *args, "--store", f"sqlite:///{db}")
        assert r.exit_code == 2, r.output
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "not a SQLite database or corrupted" in lines[0], r.stderr
    assert _digest(db) == digest
    assert not Path(str(db) + "-wal").exists() or Path(str(db) + "-wal").stat().st_size == 0


def test_truncated_sqlite_store_is_refused(tmp_path: Path, project: Path) -> None:
    db = tmp_path / "h.db"
    with _open(f"sqlite:///{db}") as st:
        st.record([StoredRun(r) for r in _runs("a" * 40, [1.0] * 50)])
    data = db.read_bytes()
    db.write_bytes(data[:100] + b"\xff" * 3000 + data[3100:])
    r = invoke(project, "history", "enc.MBps", "--store", f"sqlite:///{db}")
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1


def test_newer_schema_is_refused(store_url: str, project: Path) -> None:
    with _open(store_url) as st:
        st.record([StoredRun(r) for r in _runs("a" * 40, [1.0])])
        st.db.write(lambda d: d.execute("UPDATE schema_version SET version = 99"))
    r = invoke(project, "store", "info", "--store", store_url)
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1
    assert "schema version 99 is newer than this benchgate knows (1)" in r.stderr
    r = invoke(project, "store", "import", "--store", store_url, str(project))
    assert r.exit_code == 2
    with pytest.raises(BenchgateError, match="newer"):
        _open(store_url)


def test_older_schema_is_migrated(tmp_path: Path) -> None:
    """A store created before versioning existed (schema_version but no version) migrates."""
    db = tmp_path / "h.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.commit()
    conn.close()
    with _open(f"sqlite:///{db}") as st:
        assert st.db.one("SELECT version FROM schema_version") == (1,)
        assert st.info().runs == 0


def test_a_database_that_is_not_a_store_is_left_alone(tmp_path: Path, project: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE runs (x TEXT)")
    conn.execute("INSERT INTO runs VALUES ('precious')")
    conn.commit()
    conn.close()
    r = invoke(project, "store", "info", "--store", f"sqlite:///{db}")
    assert r.exit_code == 2 and "not a benchgate store" in r.stderr
    assert sqlite3.connect(db).execute("SELECT x FROM runs").fetchall() == [("precious",)]


def test_unreachable_server_is_one_line(project: Path) -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("psycopg is required in CI")
        pytest.skip("psycopg is not installed: pip install 'psycopg[binary]'")
    r = invoke(project, "store", "info", "--store", "postgresql://nobody@127.0.0.1:1/none")
    assert r.exit_code == 2
    assert r.stderr.count("\n") == 1
    assert "cannot connect to the store" in r.stderr


@pytest.mark.parametrize(
    "url", ["mysql://x/y", "postgresql://h:bad/db", "sqlite://elsewhere/h.db", ""]
)
def test_bad_store_url_on_the_cli(project: Path, url: str) -> None:
    for args in (["store", "info"], ["compare"], ["run"], ["history", "a.b"]):
        r = invoke(project, *args, "--store", url)
        assert r.exit_code == 2, (args, r.output)
        assert r.stderr.count("\n") == 1 and "--store" in r.stderr


def test_store_in_config_is_checked(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.benchgate]\nstore = "ftp://x"\n')
    r = invoke(project, "store", "info")
    assert r.exit_code == 2
    assert "pyproject.toml: tool.benchgate.store" in r.stderr
    (project / "pyproject.toml").write_text("[tool.benchgate]\nstore = 3\n")
    assert invoke(project, "store", "info").exit_code == 2


def test_reading_a_missing_store_is_an_error(project: Path) -> None:
    r = invoke(project, "store", "info")
    assert r.exit_code == 2
    assert "no store here yet" in r.stderr
    assert not (project / ".benchgate").exists()


def test_store_info_json(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_bench_runs(out, "enc", _runs("a" * 40, [1.0, 2.0]))
    url = f"sqlite:///{tmp_path}/h.db"
    assert invoke(project, "store", "import", str(out), "--store", url).exit_code == 0
    r = invoke(project, "store", "info", "--store", url, "--format", "json")
    data = json.loads(r.output)
    assert data["runs"] == 2 and data["metric_keys"] == ["enc.MBps", "enc.ops"]


def test_sparkline_and_shown_commits() -> None:
    from benchgate.render.history import render_history, sparkline
    from benchgate.store.series import Point, Series

    assert sparkline([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]) == "▁▂▃▄▅▆▇█"
    assert sparkline([2.0, 2.0]) == "▄▄"
    assert sparkline([]) == ""
    points = tuple(
        Point(f"{i:03d}" + "f" * 37, f"2026-11-{1 + i % 28:02d}T10:00:00", float(i), 1, i, i, 0.0)
        for i in range(50)
    )
    s = Series("b.m", "ops/sec", True, points)
    text = render_history(s, "text", None, None)
    assert "50 commits (newest 40 shown; --last N for more)" in text
    assert "010fffffffff" in text and "009fffffffff" not in text
    assert len(json.loads(render_history(s, "json", None, None))["points"]) == 50
    md = render_history(s, "markdown", "main", None, shown=None)
    assert md.count("fffffffff |") == 50


def test_big_postgresql_import_refreshes_planner_statistics(pg_url: str) -> None:
    from benchgate.store.store import ANALYZE_AFTER_RUNS

    runs = make_runs("big", {"m": [float(i) for i in range(ANALYZE_AFTER_RUNS)]})
    with _open(pg_url) as st:
        assert st.record([StoredRun(r) for r in runs]).runs_new == ANALYZE_AFTER_RUNS
        row = st.db.one(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'metrics'"
        )
        assert row == (True,)
