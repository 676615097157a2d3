"""Adopting an existing project: init's inspection, --force backups, --migrate, the CI
workflow fitted to the project, ab --build venv, and the origin-shaped project end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from tests.conftest import git

from benchgate.ab.build import build_key, install_steps, pythonpath_build
from benchgate.config import load_config
from benchgate.errors import BenchgateError
from benchgate.model import RunRecord, RunStatus
from benchgate.project.ci_workflow import ci_template
from benchgate.project.infer import adapt_workflow, infer_ci, infer_install, infer_python
from benchgate.project.migrate import detect_layout, migrate_baselines
from benchgate.run.results import write_bench_runs

ORIGIN_BASELINES = {
    "meta": {"schema_version": 1, "note": "Canonical baseline metrics for CI comparison."},
    "cases": {
        "aicf.matcher(n=10)": {
            "script": "tests/bench/aicf_matcher.py",
            "params": {"n": 10},
            "metric": "match.jobs_per_sec",
            "value": 5000.0,
            "higher_is_better": True,
            "result": {"match": {"jobs_per_sec": 5000.0}},
        },
        "retarget.update()": {
            "script": "tests/bench/retarget_update.py",
            "params": {},
            "metric": "steps_per_sec",
            "value": 1000.0,
            "higher_is_better": True,
            "result": {"steps_per_sec": 1000.0, "median_s": 0.001},
        },
        "mining.hash_loop(theta=20)": {
            "script": "mining/bench/cpu_hashrate.py",
            "params": {"theta": 20},
            "metric": "hashes_per_sec",
            "value": 250000.0,
            "higher_is_better": True,
            "degradation_pct_max": 0.2,
            "result": {"hashes_per_sec": 250000.0, "p90_s": 0.0048},
        },
    },
}


# --- layouts and migration ----------------------------------------------------------------


@pytest.mark.parametrize(
    "data, layout",
    [
        ({}, "empty"),
        ({"a.b": {"value": 1, "unit": "s"}}, "benchgate"),
        (ORIGIN_BASELINES, "meta-cases"),
        ({"sim": {"steps_per_sec": 3, "t_s": {"value": 2}}}, "nested"),
        ({"version": 1, "data": [1]}, "unknown"),
        ([1, 2], "unknown"),
    ],
)
def test_detect_layout(data: object, layout: str) -> None:
    assert detect_layout(data) == layout


def test_migrate_meta_cases(tmp_path: Path) -> None:
    path = tmp_path / "baselines.json"
    path.write_text(json.dumps(ORIGIN_BASELINES, indent=2))
    m = migrate_baselines(
        path, ["aicf_matcher", "retarget_update", "miner_hash_loop"], "tests/bench"
    )
    assert m.layout == "meta-cases" and m.changed
    assert set(m.data) == {
        "aicf_matcher.match.jobs_per_sec",
        "retarget_update.steps_per_sec",
        "mining_hash_loop.hashes_per_sec",  # from the case name: no such bench here
    }
    assert m.data["retarget_update.steps_per_sec"]["unit"] == "steps/sec"
    assert m.data["mining_hash_loop.hashes_per_sec"]["degradation_pct_max"] == 0.2
    assert any("no bench 'mining_hash_loop'" in n and "miner_hash_loop" in n for n in m.notes)
    assert m.notes[-1].endswith("never gated: median_s, p90_s")
    diff = m.diff()
    assert diff.startswith("--- a/baselines.json") and '-  "cases": {' in diff
    assert path.read_text() == json.dumps(ORIGIN_BASELINES, indent=2)  # nothing written


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("{not json", "cannot be read as JSON"),
        ('{"version": 1, "data": []}', "cannot migrate"),
        ('{"meta": {}, "cases": {"x": {"metric": "m", "value": 0}}}', "no entry could be"),
        ('{"a.b": {"value": -1, "unit": "s"}}', "positive finite"),
    ],
)
def test_migrate_refuses_what_it_cannot_convert(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "baselines.json"
    path.write_text(text)
    with pytest.raises(BenchgateError) as err:
        migrate_baselines(path, [], "tests/bench")
    assert fragment in str(err.value) and str(path) in str(err.value)


# --- init on an existing project ----------------------------------------------------------


def _origin_files(project: Path) -> None:
    bench = project / "tests" / "bench"
    (bench / "runner.py").write_text("# the project's own runner\nimport argparse\n")
    (bench / "baselines.json").write_text(json.dumps(ORIGIN_BASELINES, indent=2) + "\n")
    (project / "tests" / "GATES.md").write_text("# CI Gates\nour rules\n")


def test_init_says_what_is_incompatible_and_keeps_everything(
    project: Path, cli: Callable[..., Result]
) -> None:
    _origin_files(project)
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    r = cli("init")
    assert r.exit_code == 1, r.output
    assert "kept  tests/bench/runner.py: INCOMPATIBLE: the project's own runner" in r.output
    assert 'INCOMPATIBLE: layout {"meta", "cases"} with 3 cases' in r.output
    assert "benchgate init --migrate" in r.output
    assert "kept  tests/GATES.md: the project's own rules page" in r.output
    for p, data in before.items():
        assert p.read_bytes() == data


def test_init_force_backs_up_and_never_replaces_baselines(
    project: Path, cli: Callable[..., Result]
) -> None:
    _origin_files(project)
    baselines = (project / "tests" / "bench" / "baselines.json").read_text()
    (project / "tests" / "bench" / "runner.py.bak").write_text("an older backup\n")
    r = cli("init", "--force")
    assert "backed up tests/bench/runner.py to tests/bench/runner.py.bak.1" in r.output
    assert "backed up tests/GATES.md to tests/GATES.md.bak" in r.output
    assert (project / "tests" / "bench" / "runner.py.bak").read_text() == "an older backup\n"
    assert (
        "the project's own runner" in (project / "tests" / "bench" / "runner.py.bak.1").read_text()
    )
    assert (project / "tests" / "bench" / "baselines.json").read_text() == baselines
    assert "--force never replaces baselines" in r.output
    assert r.exit_code == 1  # the baselines still need --migrate


def test_init_migrate_converts_with_diff_and_backup(
    project: Path, cli: Callable[..., Result]
) -> None:
    _origin_files(project)
    original = (project / "tests" / "bench" / "baselines.json").read_text()
    r = cli("init", "--migrate")
    assert "migrated tests/bench/baselines.json (meta-cases -> benchgate):" in r.output
    assert "+++ b/tests/bench/baselines.json" in r.output
    assert "backed up tests/bench/baselines.json to tests/bench/baselines.json.bak" in r.output
    assert (project / "tests" / "bench" / "baselines.json.bak").read_text() == original
    data = json.loads((project / "tests" / "bench" / "baselines.json").read_text())
    assert "retarget_update.steps_per_sec" in data
    assert not list((project / "tests" / "bench").glob("*.tmp*"))
    r = cli("init", "--migrate")  # a second time: nothing to do, nothing overwritten
    assert "already benchgate's layout" in r.output
    assert not (project / "tests" / "bench" / "baselines.json.bak.1").exists()


def test_init_migrate_unknown_layout_is_exit_2(project: Path, cli: Callable[..., Result]) -> None:
    (project / "tests" / "bench" / "baselines.json").write_text('{"version": 2, "rows": []}')
    r = cli("init", "--migrate")
    assert r.exit_code == 2
    assert "baselines.json: an unknown layout" in r.output and "cannot migrate" in r.output


# --- the CI workflow fitted to the project ------------------------------------------------


@pytest.mark.parametrize(
    "files, version, source",
    [
        ({".python-version": "3.11.4\n"}, "3.11", ".python-version"),
        (
            {".github/workflows/test.yml": "      with:\n        python-version: '3.10'\n"},
            "3.10",
            "existing workflow",
        ),
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.11"\n'}, "3.11", "requires-python"),
        ({"pyproject.toml": '[project]\nrequires-python = ">=3.9,<3.10"\n'}, "3.9", "lowest"),
        ({}, "3.12", "default"),
    ],
)
def test_infer_python(tmp_path: Path, files: dict[str, str], version: str, source: str) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    data = load_pyproject_data(tmp_path)
    got, why = infer_python(tmp_path, data)
    assert got == version and source in why


def load_pyproject_data(root: Path) -> dict[str, object]:
    from benchgate.project.infer import read_pyproject

    return read_pyproject(root)


@pytest.mark.parametrize(
    "files, commands",
    [
        ({"pyproject.toml": "[project]\nname='x'\n"}, ["pip install -e ."]),
        ({"requirements.txt": "flask\n"}, ["pip install -r requirements.txt"]),
        (
            {"pyproject.toml": "[build-system]\n", "requirements.txt": ""},
            ["pip install -r requirements.txt", "pip install -e ."],
        ),
        ({"requirements-bench.txt": ""}, ["pip install -r requirements-bench.txt"]),
        ({"setup.py": ""}, ["pip install -e ."]),
        ({"pyproject.toml": "[tool.x]\n"}, []),
    ],
)
def test_infer_install(tmp_path: Path, files: dict[str, str], commands: list[str]) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    got, _, _ = infer_install(tmp_path, load_pyproject_data(tmp_path))
    assert got == commands


def test_timeout_from_recorded_runs(project: Path) -> None:
    cfg = load_config(project)
    assert infer_ci(cfg).minutes == {"pr-check": 60, "guardrail": 90}
    for bench, seconds in (("a", 90.0), ("b", 120.0)):  # one round: 3.5 min
        runs = [
            RunRecord(f"{bench}{i}", bench, "inv", "2026", seconds, RunStatus.OK) for i in range(3)
        ]
        write_bench_runs(cfg.out_path, bench, runs)
    inferred = infer_ci(cfg)
    # guardrail: 2 x 5 rounds x 3.5 min + 10 = 45; pull request: 2 x 13 x 3.5 + 10 = 101
    assert inferred.minutes == {"pr-check": 101, "guardrail": 45}
    assert "3.5 min" in inferred.minutes_from


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_adapted_workflow_is_valid_and_says_what_it_inferred(
    kind: str, project: Path, cli: Callable[..., Result]
) -> None:
    (project / "requirements.txt").write_text("packaging\n")
    (project / ".python-version").write_text("3.11\n")
    r = cli("init", "--ci", kind)
    assert r.exit_code == 0, r.output
    assert "inferred Python 3.11: .python-version (3.11)" in r.output
    assert "inferred install: pip install -r requirements.txt; pip install -e ." in r.output
    dest, _ = ci_template(kind)
    doc = yaml.safe_load((project / dest).read_text())
    if kind == "github":
        for job in ("pr-check", "guardrail"):
            steps = doc["jobs"][job]["steps"]
            setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
            assert setup["with"]["python-version"] == "3.11"
            assert setup["with"]["cache"] == "pip"
            assert setup["with"]["cache-dependency-path"].split() == [
                "requirements.txt",
                "pyproject.toml",
            ]
            install = next(s for s in steps if s.get("name", "").startswith("Install"))
            assert "pip install -r requirements.txt\npip install -e ." in install["run"]
    else:
        assert doc[".benchgate"]["image"] == "python:3.11"
        assert doc[".benchgate"]["before_script"][-2:] == [
            "pip install -r requirements.txt",
            "pip install -e .",
        ]


def test_adapt_without_installable_project_keeps_a_valid_step() -> None:
    from benchgate.project.infer import CiInference

    _, text = ci_template("github")
    doc = yaml.safe_load(adapt_workflow(text, "github", CiInference()))
    install = next(s for s in doc["jobs"]["guardrail"]["steps"] if "Install" in s.get("name", ""))
    assert "true  # nothing installable found" in install["run"]


# --- ab --build venv ----------------------------------------------------------------------


def test_build_key_follows_install_files_and_code(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("packaging\n")
    k1, _, pkg = build_key(tmp_path, "c1", False)
    assert not pkg
    assert build_key(tmp_path, "c2", False)[0] == k1  # code on PYTHONPATH: commit irrelevant
    (tmp_path / "requirements.txt").write_text("packaging==24.0\n")
    assert build_key(tmp_path, "c1", False)[0] != k1
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    k2, steps, pkg = build_key(tmp_path, "c1", False)
    assert pkg and steps[-1] == [str(tmp_path)]  # installed as a copy, not editable
    assert build_key(tmp_path, "c2", False)[0] != k2
    assert install_steps(tmp_path)[0] == ["pip install -r requirements.txt", "pip install -e ."]


def test_pythonpath_build_is_todays_behaviour(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    b = pythonpath_build("base", tmp_path, {"X": "1"})
    assert b.python == sys.executable and b.env["X"] == "1"
    assert b.env["PYTHONPATH"].split(":")[:2] == [str(tmp_path / "src"), str(tmp_path)]
    assert "not built" in b.how


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_ab_build_venv_builds_once_and_says_how(
    tmp_path: Path, project: Path, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real venv per side (requirements only: the code stays on PYTHONPATH); the second
    call reuses it. The bench reports which interpreter ran it."""
    monkeypatch.setenv("BENCHGATE_CACHE_DIR", str(tmp_path / "cache"))
    (project / "pyproject.toml").write_text("[tool.benchgate]\n")  # not an installable package
    (project / "requirements.txt").write_text("# no dependencies\n")
    (project / "mylib.py").write_text("RATE = 100.0\n")
    (project / "tests" / "bench" / "b.py").write_text(
        "import json, sys, mylib\n"
        "print(json.dumps({'result': {'x_per_s': mylib.RATE, 'exe': sys.executable}}))\n"
    )
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one")
    r = cli("ab", "--base", "HEAD", "--repeat", "1", "--build", "venv", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output[r.output.index("{") :])
    builds = doc["builds"]
    assert builds["base"]["mode"] == "venv" and "built in" in builds["base"]["how"]
    assert builds["head"]["cached"] is True  # same commit, same install files: one venv
    assert "code from" in builds["base"]["how"] and "on PYTHONPATH" in builds["base"]["how"]
    run = json.loads((project / "tests/reports/bench/ab/base/b.json").read_text())
    argv = run["runs"][0]["command"]["bench_argv"]
    assert argv[0] == builds["base"]["python"] != sys.executable
    r = cli("ab", "--base", "HEAD", "--repeat", "1", "--build", "venv")
    assert r.exit_code == 0, r.output
    assert r.output.count("cached)") == 2 and "build base: venv" in r.output


# --- the origin-shaped project, end to end through the CLI --------------------------------

AICF = """
import json
print("matching...")
print(json.dumps({"case": "aicf.matcher_and_sla", "params": {"n": 10},
    "result": {"match": {"jobs_per_sec": 5000.0, "assigned": 10},
               "sla": {"violations": 0, "p99_ms": 2.0}}}))
"""
RETARGET = """
import json
theta = int("9" * 75)
print(json.dumps({"case": "retarget.update", "result": {"steps_per_s": 1000.0,
    "median_s": 0.001, "final_theta": theta, "accepted_last_run": 3, "elapsed_s": 0.5}}))
"""
MINER = """
import json
shares = 0
rate = (1.0 / shares) if shares else float("inf")  # the origin's fallback
print(json.dumps({"case": "mining.hash_loop", "result": {"hashes_per_sec": 250000.0,
    "shares_found": shares, "share_rate_per_s": rate, "share_prob": 0.01}}))
"""


def test_origin_shaped_project_goes_green_on_its_real_metrics(
    project: Path, write_bench: Callable[[str, str], Path], cli: Callable[..., Result]
) -> None:
    write_bench("aicf_matcher", AICF)
    write_bench("retarget_update", RETARGET)
    write_bench("miner_hash_loop", MINER)
    _origin_files(project)
    bench = project / "tests" / "bench"
    cases = dict(ORIGIN_BASELINES["cases"])  # type: ignore[call-overload]
    cases["mining.hash_loop(theta=20)"] = {
        **cases["mining.hash_loop(theta=20)"],
        "script": "tests/bench/miner_hash_loop.py",
    }
    (bench / "baselines.json").write_text(json.dumps({"meta": {}, "cases": cases}, indent=2))

    assert cli("init").exit_code == 1  # says what is incompatible
    r = cli("init", "--migrate")
    assert r.exit_code == 0, r.output
    assert '+  "retarget_update.steps_per_sec": {' in r.output

    assert cli("run", "--repeat", "3").exit_code == 0
    r = cli("compare")
    assert r.exit_code == 1
    # Nested results read, the bad fields are their own ERRORs, the rest measured.
    assert "PASS" in r.output and "aicf_matcher.match.jobs_per_sec" in r.output
    assert "miner_hash_loop.shares_found" in r.output
    assert "miner_hash_loop.share_rate_per_s" in r.output
    assert "did you mean 'steps_per_s'?" in r.output
    assert 'rename = {steps_per_s = "steps_per_sec"}' in r.output
    assert "9" * 30 not in r.output  # the 75-digit number does not stretch the table

    with (project / "pyproject.toml").open("a") as f:
        f.write(
            "\n[tool.benchgate.metrics.retarget_update]\n"
            'rename = {steps_per_s = "steps_per_sec"}\n'
            'include = ["steps_per_sec"]\n'
            'info = ["final_theta", "elapsed_s"]\n'
            "[tool.benchgate.metrics.miner_hash_loop]\n"
            'include = ["hashes_per_sec"]\n'
            'info = ["shares_found", "share_rate_per_s"]\n'
            "[tool.benchgate.metrics.aicf_matcher]\n"
            'include = ["match.jobs_per_sec"]\n'
            'info = ["sla.*"]\n'
        )
    assert cli("run", "--repeat", "3").exit_code == 0
    r = cli("compare")
    assert r.exit_code == 0, r.output
    assert "3 PASS" in r.output and "6 INFO" in r.output and "gate passed" in r.output
    assert "inf" in r.output  # informational: shown as is
    report = (project / "tests" / "reports" / "bench" / "report.md").read_text()
    assert "## Informational metrics" in report and "1.000e+75" in report
    r = cli("reduce")
    assert r.exit_code == 0, r.output
    r = cli("compare", "--format", "json")
    doc = json.loads(r.output)
    assert doc["summary"]["info"] == 6 and doc["summary"]["gate"] == "pass"
    subprocess.run(["true"], check=True)  # (the gate above ran through the real CLI)
