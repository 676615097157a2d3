"""``benchgate trend`` and ``benchgate dashboard`` through the real CLI.

Most tests hand the commands an in-memory store (the ``Store.keys``/``Store.series``
interface) so they test this stage alone; one runs on the real results store when this
build has it.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

import benchgate.store
from benchgate.ci import ci_template
from benchgate.cli import main
from benchgate.errors import BenchgateError
from benchgate.store.series import Refresh, Series
from benchgate.trend.analyze import analyze, is_date, parse_time
from benchgate.trend.dashboard import build_site, page_data, script_json, slug
from test_trend import make_series, noise, steps

# The module, not the command of the same name that benchgate.cli exports.
trend_cli = importlib.import_module("benchgate.cli.trend")

EVIL = "x</script><script>alert(1)</script><!--&\"'"


class MemoryStore:
    """What ``trend`` and ``dashboard`` need of a store, in memory."""

    def __init__(self, series: list[Series]) -> None:
        self.by_key = {s.key: s for s in series}
        self.calls: list[tuple[str, Any, Any, Any]] = []
        self.closed = False

    def keys(self) -> list[str]:
        return list(self.by_key)

    def series(
        self,
        key: str,
        branch: str | None = None,
        machine: str | None = None,
        last: int | None = None,
    ) -> Series:
        self.calls.append((key, branch, machine, last))
        s = self.by_key[key]
        return s if last is None else Series(**{**s.__dict__, "points": s.points[-last:]})

    def close(self) -> None:
        self.closed = True


def sample_series() -> list[Series]:
    reg = make_series(steps([(90, 1000.0), (10, 870.0)], seed=1), key="codec.encode_MBps")
    reg = Series(
        **{
            **reg.__dict__,
            "refreshes": (Refresh(reg.points[30].commit, reg.points[30].time, 1000.0, "deps"),),
        }
    )
    stable = make_series(noise(60, 2, level=5.0), key="codec.latency_ms", higher_is_better=False)
    evil = make_series(noise(40, 3), key=EVIL)
    return [reg, stable, evil]


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> MemoryStore:
    mem = MemoryStore(sample_series())
    opened: list[Any] = []

    def fake_open(arg: Any) -> MemoryStore:
        opened.append(arg)
        return mem

    monkeypatch.setattr(trend_cli, "_open_store", fake_open)
    mem.opened = opened  # type: ignore[attr-defined]
    return mem


def run(project: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["-C", str(project), *args], catch_exceptions=False)


def test_trend_text_exit_1_on_regression(project: Path, store: MemoryStore) -> None:
    r = run(project, "trend", "--branch", "main", "--store", "sqlite:///x.db")
    assert r.exit_code == 1, r.output
    assert r.output.startswith("benchgate trend: FAIL: 3 metrics, 1 REGRESSION")
    assert "codec.encode_MBps" in r.output and "-13." in r.output
    assert store.opened == ["sqlite:///x.db"]  # type: ignore[attr-defined]
    assert {c[1] for c in store.calls} == {"main"} and store.closed


def test_trend_passes_on_stable_history(project: Path, store: MemoryStore) -> None:
    # Without the newest 10 commits the regression is not there yet.
    del store.by_key["codec.encode_MBps"]
    r = run(project, "trend", "--format", "markdown")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("### benchgate trend: PASS")
    # Without --store the project's config names the store.
    assert store.opened[0].root == project.resolve()  # type: ignore[attr-defined]


def test_trend_json_and_last(project: Path, store: MemoryStore) -> None:
    r = run(project, "trend", "--format", "json", "--last", "50", "--recent", "5")
    doc = json.loads(r.output)
    assert {c[3] for c in store.calls} == {50}
    enc = next(m for m in doc["metrics"] if m["key"] == "codec.encode_MBps")
    assert enc["commits"] == 50 and enc["status"] == "STABLE"  # the change is 10 commits ago
    assert enc["change_points"][0]["index"] == 40 and r.exit_code == 0


def test_trend_since_commit_and_date(project: Path, store: MemoryStore) -> None:
    s = store.by_key["codec.encode_MBps"]
    r = run(project, "trend", "--format", "json", "--since", s.points[80].commit[:10])
    enc = next(m for m in json.loads(r.output)["metrics"] if m["key"] == s.key)
    assert enc["commits"] == 20
    r = run(project, "trend", "--format", "json", "--since", "2026-01-01T12:00:00Z")
    enc = next(m for m in json.loads(r.output)["metrics"] if m["key"] == s.key)
    assert enc["commits"] == 100 - 12  # one commit an hour from midnight


def test_trend_since_unknown_revision(project: Path, store: MemoryStore) -> None:
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    r = run(project, "trend", "--since", "no-such-branch")
    assert r.exit_code == 2
    assert "--since: unknown revision 'no-such-branch'" in r.output


def test_trend_csv_for_otava(project: Path, store: MemoryStore) -> None:
    r = run(project, "trend", "--format", "csv")
    header = r.output.splitlines()[0]
    assert header.startswith("time,commit,codec.encode_MBps,codec.latency_ms,")


def test_commands_without_a_store(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trend_cli, "_open_store", None)
    for cmd in (["trend"], ["dashboard", "--out", str(project / "site")]):
        r = run(project, *cmd)
        assert r.exit_code == 2
        assert "no results store" in r.output
    assert not (project / "site").exists()


def test_dashboard_writes_the_site(project: Path, store: MemoryStore, tmp_path: Path) -> None:
    out = tmp_path / "site"
    r = run(project, "dashboard", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "3 metrics" in r.output
    index = (out / "index.html").read_text()
    for key in ("codec.encode_MBps", "codec.latency_ms"):
        assert f'href="metrics/{slug(key)}.html"' in index
        assert (out / "metrics" / f"{slug(key)}.html").is_file()
    assert (out / "static" / "uPlot.iife.min.js").stat().st_size > 40_000
    assert "MIT" in (out / "static" / "uPlot.LICENSE.txt").read_text()
    assert index.count('<svg class="spark"') == 3
    assert "REGRESSION" in index


def test_untrusted_key_cannot_inject(tmp_path: Path) -> None:
    t = analyze(sample_series()[2])
    build_site([t], tmp_path)
    page = (tmp_path / "metrics" / f"{slug(EVIL)}.html").read_text()
    index = (tmp_path / "index.html").read_text()
    # The only script elements are ours; the key appears escaped.
    for text in (page, index):
        assert "<script>alert" not in text
        assert len(re.findall(r"<script", text)) == (3 if text is page else 1)
    data = re.search(
        r'<script type="application/json" id="benchgate-data">(.*?)</script>', page, re.S
    )
    assert data is not None and json.loads(data.group(1))["key"] == EVIL
    assert "<" not in script_json({"k": "</script>"}) and "&" not in script_json("&amp;")
    assert slug(EVIL).replace("-", "").replace("_", "").replace(".", "").isalnum()


def test_page_data_lines_and_markers() -> None:
    s = sample_series()[0]
    data = page_data(analyze(s))
    pts = data["points"]
    assert len(pts["value"]) == 100
    assert pts["baseline"][0] == 1000.0 and pts["commit"][0] == s.points[0].commit[:12]
    assert data["variance_pct_warn"] == 0.05 and data["degradation_pct_max"] == 0.15
    assert [c["index"] for c in data["change_points"]] == [90]
    assert data["change_points"][0]["worse"] is True
    assert data["refreshes"] == [
        {
            "index": 30,
            "commit": s.points[30].commit,
            "time": s.points[30].time,
            "value": 1000.0,
            "reason": "deps",
        }
    ]
    assert page_data(analyze(sample_series()[1]))["higher_is_better"] is False


def test_dashboard_out_is_a_file(project: Path, store: MemoryStore, tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    r = run(project, "dashboard", "--out", str(f))
    assert r.exit_code == 2 and "is a file" in r.output
    with pytest.raises(BenchgateError, match="not a folder"):
        build_site([], f)


def test_dashboard_never_replaces_a_foreign_folder(
    project: Path, store: MemoryStore, tmp_path: Path
) -> None:
    d = tmp_path / "out" / "docs"
    d.mkdir(parents=True)
    (d / "keep.md").write_text("mine")
    r = run(project, "dashboard", "--out", str(d))
    assert r.exit_code == 2 and "holds no earlier dashboard" in r.output
    assert [p.name for p in d.iterdir()] == ["keep.md"]
    assert [p.name for p in d.parent.iterdir()] == ["docs"]  # no temp folder left behind


def test_dashboard_rebuild_replaces_the_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    build_site([analyze(s) for s in sample_series()], out)
    build_site([analyze(sample_series()[1])], out)
    assert len(list((out / "metrics").iterdir())) == 1  # the old pages went with the old site
    assert (out / ".benchgate-dashboard").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


@pytest.mark.skipif(
    not hasattr(benchgate.store, "open_store"),
    reason="the results store (benchgate.store.open_store) is not in this build",
)
def test_trend_on_the_real_store(project: Path) -> None:  # pragma: no cover - needs the store
    r = run(project, "trend", "--store", str(project / "history.db"))
    assert r.exit_code == 0, r.output
    assert r.output.startswith("benchgate trend: PASS: 0 metrics")


def test_ci_templates_publish_the_dashboard() -> None:
    gh = yaml.safe_load(ci_template("github")[1])
    guard = gh["jobs"]["guardrail"]
    assert guard["env"]["BENCH_STORE"] == "${{ secrets.BENCH_STORE_URL }}"
    step = next(s for s in guard["steps"] if s.get("id") == "dashboard")
    assert "github.event.repository.default_branch" in step["if"]
    assert 'benchgate dashboard --store "$BENCH_STORE" --out site' in step["run"]
    assert 'benchgate trend --store "$BENCH_STORE" --format markdown' in step["run"]
    upload = guard["steps"][-1]
    assert upload["uses"].startswith("actions/upload-pages-artifact@")
    assert upload["with"]["path"] == "site/"
    deploy = gh["jobs"]["dashboard"]
    assert deploy["needs"] == "guardrail" and "vars.BENCH_PAGES == '1'" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")
    gl = yaml.safe_load(ci_template("gitlab")[1])
    pages = gl["pages"]
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in pages["rules"][0]["if"]
    assert 'benchgate dashboard --store "$BENCH_STORE" --out public' in pages["script"]
    assert pages["artifacts"]["paths"] == ["public/"]


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_untrusted_text_properties(text: str) -> None:
    # Keys: the file name is safe and the page data round-trips without a raw '<'.
    name = slug(text)
    assert re.fullmatch(r"[A-Za-z0-9._-]+-[0-9a-f]{10}", name) and not name.startswith(".")
    encoded = script_json({"key": text})
    assert "<" not in encoded and ">" not in encoded and "&" not in encoded
    assert json.loads(encoded) == {"key": text}
    # --since: a date, or a clean error, never a traceback.
    if is_date(text):
        try:
            parse_time(text)
        except BenchgateError:
            pass
