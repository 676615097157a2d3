"""`benchgate merge` (and its refusals) and machine classes (per-class baselines)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from benchgate.config import load_config
from benchgate.errors import BenchgateError
from benchgate.machine.classes import choose_for_runs, machine_classes
from benchgate.run.results import load_runs, write_bench_runs
from conftest import make_env, make_runs, write_baselines

X86 = make_env(os="Linux-6.1-x86_64-with-glibc2.36", cpu_model="AMD EPYC 7763")
X86_OTHER = make_env(os="Linux-6.1-x86_64-with-glibc2.36", cpu_model="Intel Xeon 8370C")
ARM = make_env(os="Linux-6.1-aarch64-with-glibc2.36", cpu_model="Neoverse-N1", arch="aarch64")
CLASSES = '\n[tool.benchgate.machines]\nx86 = { arch = "x86_64" }\narm = { arch = "aarch64" }\n'


def _shard_dir(project: Path, name: str, benches: dict[str, list[float]], env: dict) -> Path:
    out = project / "shards" / name
    for bench, values in benches.items():
        write_bench_runs(out, bench, make_runs(bench, {"ops": values}, env=env, prefix=f"{name}-"))
    return out


def _declare_classes(project: Path) -> None:
    with (project / "pyproject.toml").open("a") as fh:
        fh.write(CLASSES)


def _one_line_error(r: Result, *words: str) -> None:
    assert r.exit_code == 2, r.output
    assert r.output.strip().count("\n") == 0, r.output
    for w in words:
        assert w in r.output, r.output


# --- merge ----------------------------------------------------------------------------------


def test_merge_keeps_every_run_and_compare_works(project: Path, cli: Callable[..., Result]) -> None:
    a = _shard_dir(project, "s1", {"a": [100.0] * 5, "b": [200.0] * 5}, X86)
    b = _shard_dir(project, "s2", {"c": [300.0] * 5}, X86)
    write_baselines(
        project,
        {
            k: {"value": v, "unit": "ops/sec"}
            for k, v in (("a.ops", 100), ("b.ops", 200), ("c.ops", 300))
        },
    )
    merged = project / "merged"
    r = cli("merge", str(a), str(b), "--out-dir", str(merged))
    assert r.exit_code == 0, r.output
    assert "merged 15 runs of 3 benches from 2 out-dirs" in r.output
    runs = load_runs(merged)
    assert sorted(runs) == ["a", "b", "c"] and all(len(rs) == 5 for rs in runs.values())
    assert cli("reduce", "--out-dir", str(merged)).exit_code == 0
    cmp = cli("compare", "--out-dir", str(merged), "--format", "json")
    assert cmp.exit_code == 0, cmp.output
    assert json.loads(cmp.output)["summary"]["pass"] == 3
    assert cli("collect", "--out-dir", str(project / "outputs")).exit_code == 0


def test_merge_same_bench_from_two_jobs_keeps_both(
    project: Path, cli: Callable[..., Result]
) -> None:
    a = _shard_dir(project, "s1", {"a": [1.0, 2.0]}, X86)
    b = _shard_dir(project, "s2", {"a": [3.0]}, X86)
    r = cli("merge", str(a), str(b), "--out-dir", str(project / "m"))
    assert r.exit_code == 0, r.output
    # Oldest first; runs started at the same instant keep the order the out-dirs were given.
    assert [x.metrics["ops"].value for x in load_runs(project / "m")["a"]] == [1.0, 3.0, 2.0]


def test_merge_refuses_different_environments(project: Path, cli: Callable[..., Result]) -> None:
    a = _shard_dir(project, "s1", {"a": [1.0]}, X86)
    b = _shard_dir(project, "s2", {"b": [1.0]}, X86_OTHER)
    r = cli("merge", str(a), str(b), "--out-dir", str(project / "m"))
    _one_line_error(r, "different environments", "CPU model", "machine classes")
    assert not (project / "m").exists()


def test_merge_accepts_declared_classes_and_refuses_an_unmatched_machine(
    project: Path, cli: Callable[..., Result]
) -> None:
    _declare_classes(project)
    a = _shard_dir(project, "s1", {"a": [1.0]}, X86)
    b = _shard_dir(project, "s2", {"b": [1.0]}, X86_OTHER)
    c = _shard_dir(project, "s3", {"c": [1.0]}, ARM)
    r = cli("merge", str(a), str(b), str(c), "--out-dir", str(project / "m"))
    assert r.exit_code == 0, r.output
    assert "machine classes: x86, arm" in r.output
    odd = _shard_dir(project, "s4", {"d": [1.0]}, make_env(os="Linux-riscv64", cpu_model="U74"))
    r = cli("merge", str(a), str(odd), "--out-dir", str(project / "m2"))
    _one_line_error(r, "matches no declared machine class", "fingerprint", "riscv64")
    assert not (project / "m2").exists()


def test_merge_refuses_duplicated_run_ids(project: Path, cli: Callable[..., Result]) -> None:
    a = _shard_dir(project, "s1", {"a": [1.0, 2.0]}, X86)
    copy = project / "copy"
    write_bench_runs(copy, "a", load_runs(a)["a"])
    r = cli("merge", str(a), str(copy), "--out-dir", str(project / "m"))
    _one_line_error(r, "run id s1-a-0", "copy")
    r = cli("merge", str(a), str(a), "--out-dir", str(project / "m"))
    _one_line_error(r, "given twice")
    assert not (project / "m").exists()


def test_merge_refuses_bad_dirs_and_keeps_destination(
    project: Path, cli: Callable[..., Result]
) -> None:
    a = _shard_dir(project, "s1", {"a": [1.0]}, X86)
    _one_line_error(cli("merge", str(project / "nope"), "--out-dir", "m"), "no such out-dir")
    empty = project / "empty"
    empty.mkdir()
    _one_line_error(cli("merge", str(a), str(empty), "--out-dir", "m"), "no result files")
    f = project / "file.json"
    f.write_text("{}")
    _one_line_error(cli("merge", str(a), str(f), "--out-dir", "m"), "not a folder")
    bad = project / "bad"
    bad.mkdir()
    (bad / "x.json").write_text("{not json")
    _one_line_error(cli("merge", str(a), str(bad), "--out-dir", "m"), "x.json", "not valid JSON")
    # An existing, non-empty destination is kept unless --force; with it, replaced whole.
    dest = project / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    _one_line_error(cli("merge", str(a), "--out-dir", str(dest)), "not empty", "--force")
    assert (dest / "keep.txt").read_text() == "mine"
    _one_line_error(cli("merge", str(a), "--out-dir", str(a / "sub")), "destination")
    r = cli("merge", str(a), "--out-dir", str(dest), "--force")
    assert r.exit_code == 0, r.output
    assert not (dest / "keep.txt").exists() and sorted(load_runs(dest)) == ["a"]
    assert not [p for p in project.iterdir() if p.name.startswith(".dest")]


def test_merge_refuses_shards_split_differently(project: Path, cli: Callable[..., Result]) -> None:
    a = _shard_dir(project, "s1", {"a": [1.0]}, X86)
    b = _shard_dir(project, "s2", {"b": [1.0]}, X86)
    for out, plan in ((a, "aaaaaaaaaaaa"), (b, "bbbbbbbbbbbb")):
        for bench, runs in load_runs(out).items():
            for r in runs:
                r.command["shard"] = {"k": 1, "n": 2, "plan": plan}
            write_bench_runs(out, bench, runs)
    r = cli("merge", str(a), str(b), "--out-dir", str(project / "m"))
    _one_line_error(r, "split the suite differently", "--durations")


# --- machine classes --------------------------------------------------------------------------


def _out(project: Path, env: dict, value: float = 100.0, bench: str = "a") -> Path:
    out = project / "tests" / "reports" / "bench"
    write_bench_runs(out, bench, make_runs(bench, {"ops": [value] * 5}, env=env, prefix=bench))
    return out


def test_compare_picks_the_class_baselines_and_says_so(
    project: Path, cli: Callable[..., Result]
) -> None:
    _declare_classes(project)
    write_baselines(project, {"a.ops": {"value": 1000.0, "unit": "ops/sec"}})  # the default
    (project / "tests/bench/baselines.x86.json").write_text(
        json.dumps({"a.ops": {"value": 100.0, "unit": "ops/sec"}})
    )
    (project / "tests/bench/baselines.arm.json").write_text(
        json.dumps({"a.ops": {"value": 50.0, "unit": "ops/sec"}})
    )
    _out(project, X86)
    r = cli("compare")
    assert r.exit_code == 0, r.output
    assert "machine class x86: baselines tests/bench/baselines.x86.json" in r.output
    assert "PASS" in r.output
    md = cli("compare", "--format", "markdown")
    assert "_machine class x86: baselines tests/bench/baselines.x86.json_" in md.output
    # The ARM runs against the ARM file (twice its baseline: IMPROVED).
    _out(project, ARM)
    r = cli("compare", "--format", "json")
    assert r.exit_code == 0
    assert json.loads(r.output[r.output.index("{") :])["summary"]["improved"] == 1


def test_compare_errors_on_unmatched_machine_with_fingerprint(
    project: Path, cli: Callable[..., Result]
) -> None:
    _declare_classes(project)
    odd = make_env(os="Linux-6.1-riscv64", cpu_model="SiFive U74")
    _out(project, odd)
    r = cli("compare")
    _one_line_error(r, "matches no declared machine class", odd["fingerprint"], "riscv64")


def test_mixed_classes_need_machine_and_it_filters(
    project: Path, cli: Callable[..., Result]
) -> None:
    _declare_classes(project)
    (project / "tests/bench/baselines.x86.json").write_text(
        json.dumps({"a.ops": {"value": 100.0, "unit": "ops/sec"}})
    )
    (project / "tests/bench/baselines.arm.json").write_text(
        json.dumps({"b.ops": {"value": 10.0, "unit": "ops/sec"}})
    )
    _out(project, X86, 100.0, "a")
    _out(project, ARM, 10.0, "b")
    _one_line_error(cli("compare"), "2 machine classes", "--machine")
    r = cli("compare", "--machine", "arm", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output[r.output.index("{") :])
    assert [m["key"] for m in data["metrics"]] == ["b.ops"]
    _one_line_error(cli("compare", "--machine", "sparc"), "unknown machine class", "x86, arm")


def test_flat_case_unchanged_without_classes(project: Path, cli: Callable[..., Result]) -> None:
    write_baselines(project, {"a.ops": {"value": 100.0, "unit": "ops/sec"}})
    _out(project, X86)
    r = cli("compare")
    assert r.exit_code == 0 and "machine class" not in r.output
    _one_line_error(cli("compare", "--machine", "x86"), "no machine classes are declared")


def test_refresh_writes_the_class_files(project: Path, cli: Callable[..., Result]) -> None:
    _declare_classes(project)
    write_baselines(project, {"a.ops": {"value": 1000.0, "unit": "ops/sec"}})
    (project / "tests/bench/baselines.arm.json").write_text(
        json.dumps({"a.ops": {"value": 90.0, "unit": "ops/sec"}}, indent=2) + "\n"
    )
    _out(project, ARM, 100.0)
    r = cli("refresh", "--reason", "hardware", "--why", "new ARM runners", "--pr-body", "pr.md")
    assert r.exit_code == 0, r.output
    assert "machine class arm" in r.output
    assert json.loads((project / "tests/bench/baselines.arm.json").read_text())["a.ops"][
        "value"
    ] == pytest.approx(100.0)
    assert (
        json.loads((project / "tests/bench/baselines.json").read_text())["a.ops"]["value"] == 1000
    )
    assert (project / "tests/bench/report.arm.md").exists()
    assert not (project / "tests/bench/report.md").exists()
    # collect gathers the class's baselines as the ones compared with.
    assert cli("collect", "--out-dir", str(project / "outputs")).exit_code == 0
    collected = json.loads((project / "outputs/bench/baselines.json").read_text())
    assert collected["a.ops"]["value"] == pytest.approx(100.0)


def test_label_class_recorded_by_run(
    project: Path, cli: Callable[..., Result], write_bench: Callable[[str, str], Path]
) -> None:
    from conftest import const_bench

    with (project / "pyproject.toml").open("a") as fh:
        fh.write("\n[tool.benchgate.machines]\nlarge = {}\n")
    write_bench("a", const_bench({"ops": (5.0, "ops/sec")}))
    (project / "tests/bench/baselines.large.json").write_text(
        json.dumps({"a.ops": {"value": 5.0, "unit": "ops/sec"}})
    )
    assert cli("run", "--machine", "large").exit_code == 0
    runs = load_runs(project / "tests" / "reports" / "bench")
    assert runs["a"][0].env["machine_class"] == "large"
    r = cli("compare")
    assert r.exit_code == 0, r.output
    assert "machine class large: baselines tests/bench/baselines.large.json" in r.output
    _one_line_error(cli("run", "--machine", "small"), "unknown machine class 'small'")


@pytest.mark.parametrize(
    "table, problem",
    [
        ('x = "x86_64"', "must be a table"),
        ("x = { arch = 3 }", "unknown key or bad value"),
        ('x = { gpu = "a100" }', "unknown key or bad value"),
        ('"a b" = { arch = "x" }', "letters, digits"),
    ],
)
def test_bad_machines_table(project: Path, table: str, problem: str) -> None:
    with (project / "pyproject.toml").open("a") as fh:
        fh.write(f"\n[tool.benchgate.machines]\n{table}\n")
    with pytest.raises(BenchgateError, match=problem) as info:
        machine_classes(load_config(project))
    assert "pyproject.toml" in str(info.value)


def test_class_paths_and_first_match_wins(project: Path) -> None:
    with (project / "pyproject.toml").open("a") as fh:
        fh.write(
            "\n[tool.benchgate.machines]\n"
            'epyc = { cpu_model = "amd epyc*", report = "perf/epyc.md" }\n'
            'x86 = { arch = "x86_64", baselines = "perf/x86.json" }\n'
        )
    config = load_config(project)
    epyc, x86 = machine_classes(config)
    assert (epyc.baselines, epyc.report) == ("tests/bench/baselines.epyc.json", "perf/epyc.md")
    assert (x86.baselines, x86.report) == ("perf/x86.json", "tests/bench/report.x86.md")
    runs = {"a": make_runs("a", {"ops": [1.0]}, env=X86)}
    assert choose_for_runs(config, runs, None).cls == epyc  # case-insensitive glob, first wins
    runs = {"a": make_runs("a", {"ops": [1.0]}, env=X86_OTHER)}
    assert choose_for_runs(config, runs, None).cls == x86


def test_check_reviews_the_class_the_change_edits(tmp_path: Path) -> None:
    from test_check import BASE, Repo, dump, refreshed

    repo = Repo(tmp_path / "repo")
    repo.write(
        "pyproject.toml",
        '[project]\nname = "proj"\nversion = "0"\n' + CLASSES.replace("x86_64", "no-such-arch*"),
    )
    repo.write("tests/bench/baselines.arm.json", dump(BASE))
    repo.write("tests/bench/report.arm.md", "# Methodology\n\nARM v1.\n")
    repo.commit("classes", "2026-01-01T12:00:00+00:00")
    repo.branch()
    repo.write("tests/bench/baselines.arm.json", dump(refreshed("b.ops", 2100.0)))
    repo.write("tests/bench/report.arm.md", "# Methodology\n\nARM v2, 5 runs, median.\n")
    repo.commit("bench: refresh baselines (reason: deps)")
    # Reviewed on a machine of no class: the class whose files the change edits is checked.
    r = repo.cli("check", "--base", "main")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("machine class arm: baselines tests/bench/baselines.arm.json")
    assert "b.ops: 2,000 -> 2,100" in r.output
    # The default file was not changed: checking x86 explicitly finds nothing to review.
    r = repo.cli("check", "--base", "main", "--machine", "x86")
    assert "machine class x86" in r.output and "b.ops" not in r.output.split("\n", 2)[2]


def test_unrecorded_run_inherits_the_class_of_its_environment(
    project: Path, cli: Callable[..., Result]
) -> None:
    """A label class: runs of `run --machine large` recorded it; a later run in the same
    environment that recorded none (e.g. --confirm's) is of the same class."""
    with (project / "pyproject.toml").open("a") as fh:
        fh.write("\n[tool.benchgate.machines]\nlarge = {}\n")
    (project / "tests/bench/baselines.large.json").write_text(
        json.dumps({"a.ops": {"value": 100.0, "unit": "ops/sec"}})
    )
    labelled = {**X86, "machine_class": "large"}
    runs = make_runs("a", {"ops": [100.0] * 4}, env=labelled)
    runs += make_runs("a", {"ops": [100.0]}, env=X86, prefix="confirm-")
    write_bench_runs(project / "tests" / "reports" / "bench", "a", runs)
    r = cli("compare")
    assert r.exit_code == 0, r.output
    assert "machine class large" in r.output
    other = make_env(os="Linux-riscv64", cpu_model="U74")
    write_bench_runs(
        project / "tests" / "reports" / "bench",
        "a",
        runs + make_runs("a", {"ops": [1.0]}, env=other, prefix="odd-"),
    )
    _one_line_error(cli("compare"), "matches no declared machine class", other["fingerprint"])
