"""The store through the real CLI: run/compare/ab --store, store import/export, history."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from benchgate.cli import main
from benchgate.run.results import load_runs
from benchgate.store import open_store
from benchgate.store.record import BRANCH_VARS, branch_of_rev
from benchgate.store.store import Store, StoredRun
from benchgate.store.url import parse_store_url
from conftest import const_bench, git, make_env, make_runs, write_baselines

KEY = "enc.MBps"


@pytest.fixture(autouse=True)
def _no_ci_branch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The branch comes from the test's own checkout, not from the CI running the tests."""
    for name in BRANCH_VARS:
        monkeypatch.delenv(name, raising=False)


def _commit(project: Path, msg: str, date: str) -> str:
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", msg, date=date)
    return git(project, "rev-parse", "HEAD")


@pytest.fixture
def repo(project: Path, write_bench: Callable[[str, str], Path]) -> Path:
    """A git project on branch main with one bench and a baseline for it."""
    git(project, "init", "-q", "-b", "main")
    write_bench("enc", const_bench({"MBps": (100.0, "MB/sec")}))
    write_baselines(project, {KEY: {"value": 95.0, "unit": "MB/sec"}})
    _commit(project, "add enc", "2026-11-01T10:00:00+00:00")
    return project


def _store(project: Path) -> Store:
    return Store.open(parse_store_url("sqlite", project), create=False)


def test_run_and_compare_record_into_the_store(
    repo: Path, cli: Callable[..., Result], write_bench: Callable[[str, str], Path]
) -> None:
    first = git(repo, "rev-parse", "HEAD")
    r = cli("run", "--repeat", "3", "--store", "sqlite")
    assert r.exit_code == 0, r.output
    assert "store: 3 new runs (3 metric values)" in r.stderr
    r = cli("compare", "--store", "sqlite")
    assert r.exit_code == 0, r.output
    assert "store: 0 new runs (0 metric values), 3 already stored, 1 verdicts" in r.stderr

    # A slower commit, and a refresh of the baseline with its reason.
    write_bench("enc", const_bench({"MBps": (80.0, "MB/sec")}))
    second = _commit(repo, "slower encoder", "2026-11-02T10:00:00+00:00")
    assert cli("run", "--repeat", "2", "--store", "sqlite").exit_code == 0
    write_baselines(
        repo, {KEY: {"value": 80.0, "unit": "MB/sec", "notes": "reason: deps - zlib 2"}}
    )
    third = _commit(repo, "bench: refresh baselines", "2026-11-03T10:00:00+00:00")
    assert cli("run", "--repeat", "1", "--store", "sqlite").exit_code == 0

    with _store(repo) as st:
        s = st.series(KEY, branch="main")
    assert [p.commit for p in s.points] == [first, second, third]
    assert [p.n for p in s.points] == [3, 2, 1]

    r = cli("history", KEY, "--branch", "main")
    assert r.exit_code == 0, r.output
    out = r.output
    assert out.startswith(f"{KEY} (MB/sec, higher is better), branch main: 3 commits")
    assert "█▁▁" in out  # 100, 80, 80: the sparkline, oldest first
    assert first[:12] in out and third[:12] in out
    assert "95.00" in out and "+5.3%" in out  # baseline from the verdict compare recorded
    assert "baseline refreshes (baselines.json in git):" in out
    assert "-> 80.00 MB/sec (deps - zlib 2)" in out

    data = json.loads(cli("history", KEY, "--format", "json", "--last", "2").output)
    assert [p["commit"] for p in data["points"]] == [second, third]
    assert [p["value"] for p in data["points"]] == [80.0, 80.0]
    # The baseline in force: 95 until the refresh commit, 80 from it on.
    assert [p["baseline"] for p in data["points"]] == [95.0, 80.0]
    assert [r["value"] for r in data["refreshes"]] == [95.0, 80.0]

    md = cli("history", KEY, "--format", "markdown").output
    assert md.startswith(f"### {KEY}")
    assert "| commit | time (UTC) | value |" in md
    assert md.count(f"| {first[:12]} |") == 1

    assert "0 commits" in cli("history", KEY, "--branch", "elsewhere").output
    r = cli("history", "enc.nope")
    assert r.exit_code == 2 and "no metric 'enc.nope'" in r.stderr


def test_store_in_config_records_and_off_stops_it(repo: Path, cli: Callable[..., Result]) -> None:
    pyproject = repo / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.benchgate]\nstore = "sqlite"\n')
    r = cli("run", "--repeat", "2")
    assert r.exit_code == 0 and "store: 2 new runs" in r.stderr
    assert (repo / ".benchgate" / "history.db").is_file()
    r = cli("run", "--repeat", "1", "--store", "off")
    assert r.exit_code == 0 and "store:" not in r.stderr
    with _store(repo) as st:
        assert st.info().runs == 2
        assert st.info().branches == ["main"]


def test_store_off_by_default(repo: Path, cli: Callable[..., Result]) -> None:
    r = cli("run", "--repeat", "1")
    assert r.exit_code == 0 and "store:" not in r.stderr
    assert not (repo / ".benchgate").exists()


def test_import_is_idempotent_and_export_gives_the_files_back(
    repo: Path, cli: Callable[..., Result], tmp_path: Path
) -> None:
    art = tmp_path / "artifact"
    assert cli("run", "--repeat", "3", "--out-dir", str(art)).exit_code == 0
    url = f"sqlite:///{tmp_path}/h.db"
    r = cli("store", "import", str(art), "--branch", "main", "--store", url)
    assert r.exit_code == 0 and "store: 3 new runs (3 metric values)" in r.output
    r = cli("store", "import", str(art), str(art / "enc.json"), "--store", url)
    assert r.exit_code == 0 and "store: 0 new runs (0 metric values), 6 already stored" in r.output
    back = tmp_path / "back"
    r = cli("store", "export", "--out-dir", str(back), "--store", url, "--branch", "main")
    assert r.exit_code == 0 and "wrote 3 runs in 1 files" in r.output
    assert [x.to_dict() for x in load_runs(back)["enc"]] == [
        x.to_dict() for x in load_runs(art)["enc"]
    ]
    # What export wrote is an out-dir like any other: compare reads it.
    assert cli("compare", "--out-dir", str(back)).exit_code == 0
    # A bad file among the inputs stores nothing (one transaction).
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.json").write_text("{nope")
    r = cli("store", "import", str(art), str(bad), "--store", url)
    assert r.exit_code == 2 and "corrupt result file" in r.stderr
    r = cli("store", "import", str(tmp_path / "missing"), "--store", url)
    assert r.exit_code == 2 and "no such out-dir" in r.stderr


def test_ab_records_both_sides_and_its_verdicts(
    repo: Path, cli: Callable[..., Result], tmp_path: Path
) -> None:
    head = git(repo, "rev-parse", "HEAD")
    url = f"sqlite:///{tmp_path}/h.db"
    r = cli("ab", "--base", "main", "--repeat", "2", "--store", url)
    assert r.exit_code == 0, r.output
    assert "store: 4 new runs" in r.stderr and "1 verdicts" in r.stderr
    with Store.open(parse_store_url(url, repo)) as st:
        sources = st.db.query("SELECT source, branch, commit_sha FROM runs ORDER BY source")
        assert sorted(set(sources)) == [("ab-base", "main", head), ("ab-head", "main", head)]
        row = st.db.one("SELECT source, commit_sha FROM judgements")
        assert row == ("ab", head)


def test_branch_names() -> None:
    assert branch_of_rev("origin/main") == "main"
    assert branch_of_rev("refs/heads/dev") == "dev"
    assert branch_of_rev("a1b2c3d4e5") == ""
    assert branch_of_rev("HEAD~1") == ""


def test_history_via_python_m(repo: Path, tmp_path: Path) -> None:
    """The real entry point, in a fresh interpreter: one line and exit 2 on a bad store."""
    r = subprocess.run(
        [sys.executable, "-m", "benchgate", "-C", str(repo), "history", KEY, "--store", "x:y"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "benchgate: error: --store: unknown store scheme 'x' in 'x:y' (known: sqlite, postgresql, off)"
    ]


def test_trend_and_dashboard_read_the_real_store(project: Path, tmp_path: Path) -> None:
    """`trend` finds a step recorded in the store; `dashboard` draws every stored metric."""

    url = f"sqlite:///{tmp_path}/h.db"
    stored = []
    for c in range(40):
        level = 1000.0 if c < 30 else 800.0  # a 20% regression at commit 30
        env = make_env(git={"commit": f"{c:040x}", "dirty": False})
        values = [level * (1 + 0.002 * ((c * 7 + i) % 5 - 2)) for i in range(3)]
        for r in make_runs(
            "enc",
            {"MBps": values, "ops": [5.0, 5.0, 5.0]},
            env=env,
            day=f"2026-{1 + c // 28:02d}-{1 + c % 28:02d}",
            prefix=f"c{c}-",
        ):
            stored.append(StoredRun(r, "run", "main"))
    with open_store(url) as st:
        assert st.store.record(stored).runs_new == 120
        assert [len(st.series(k).points) for k in st.keys()] == [40, 40]
    r = CliRunner().invoke(main, ["-C", str(project), "trend", "--store", url, "--branch", "main"])
    assert r.exit_code == 1, r.output
    assert "enc.MBps" in r.output and "REGRESSION" in r.output
    site = tmp_path / "site"
    r = CliRunner().invoke(
        main, ["-C", str(project), "dashboard", "--store", url, "--out", str(site)]
    )
    assert r.exit_code == 0, r.output
    index = (site / "index.html").read_text()
    assert "enc.MBps" in index and "enc.ops" in index
