"""Sharding: the split (balanced, deterministic, complete), --shard on run and ab, `shards`."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from benchgate.errors import BenchgateError
from benchgate.run.results import load_runs, write_bench_runs
from benchgate.run.shard import parse_shard, plan_shards, recorded_durations
from conftest import const_bench, make_runs

NAMES = st.lists(
    st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), min_size=0, max_size=60, unique=True
)


def _check_complete(benches: list[str], n: int, shards: list[list[str]]) -> None:
    assert len(shards) == n
    flat = [b for s in shards for b in s]
    assert sorted(flat) == sorted(set(benches))  # every bench exactly once
    assert len(flat) == len(set(flat))


@settings(max_examples=150, deadline=None)
@given(
    names=NAMES,
    n=st.integers(min_value=1, max_value=12),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    known=st.floats(min_value=0.0, max_value=1.0),
)
def test_split_is_complete_and_deterministic(
    names: list[str], n: int, seed: int, known: float
) -> None:
    rng = random.Random(seed)
    durations = {b: rng.lognormvariate(0, 1.5) for b in names if rng.random() < known}
    plan = plan_shards(names, n, durations)
    _check_complete(names, n, [s.benches for s in plan.shards])
    # The same answer from a shuffled input and a fresh call (no order or hash dependence).
    shuffled = list(names)
    rng.shuffle(shuffled)
    again = plan_shards(shuffled, n, dict(reversed(list(durations.items()))))
    assert [s.benches for s in again.shards] == [s.benches for s in plan.shards]
    assert again.digest == plan.digest
    # Never worse than the first-fit bound of LPT: longest <= ideal + the longest bench.
    if names:
        assert plan.longest <= plan.ideal + max(plan.durations.values()) + 1e-9


def test_split_is_stable_across_processes() -> None:
    """Another interpreter with another hash seed computes the same split."""
    code = (
        "import random, json\n"
        "from benchgate.run.shard import plan_shards\n"
        "rng = random.Random(7)\n"
        "d = {f'b{i}': rng.paretovariate(1.5) for i in range(120)}\n"
        "print(json.dumps([s.benches for s in plan_shards(list(d), 7, d).shards]))\n"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout
        for seed in ("1", "2", "random")
    }
    assert len(outs) == 1


def test_skewed_suite_is_balanced_near_the_ideal() -> None:
    rng = random.Random(20261204)
    durations = {f"bench_{i:03d}": rng.lognormvariate(2.0, 1.0) for i in range(300)}
    plan = plan_shards(list(durations), 8, durations)
    assert plan.by == "duration"
    assert plan.longest <= plan.ideal * 1.10
    # Better than LPT alone would need: a local search improved or kept it.
    assert plan.longest >= plan.ideal - 1e-9


def test_one_giant_bench_is_its_own_shard() -> None:
    durations = {"giant": 100.0, **{f"s{i}": 1.0 for i in range(10)}}
    plan = plan_shards(list(durations), 3, durations)
    giant = next(s for s in plan.shards if "giant" in s.benches)
    assert giant.benches == ["giant"]
    assert plan.longest == plan.bound == 100.0


def test_by_count_without_durations_and_more_shards_than_benches() -> None:
    plan = plan_shards(["a", "b", "c", "d", "e"], 2)
    assert plan.by == "count"
    assert sorted(len(s.benches) for s in plan.shards) == [2, 3]
    wide = plan_shards(["a", "b"], 4)
    assert [len(s.benches) for s in wide.shards] == [1, 1, 0, 0]


def test_unrecorded_bench_counts_as_the_median() -> None:
    plan = plan_shards(["a", "b", "c", "new"], 2, {"a": 1.0, "b": 3.0, "c": 5.0})
    assert plan.estimated == ["new"]
    assert plan.durations["new"] == 3.0


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "", "-1/2"])
def test_bad_shard_spec(text: str) -> None:
    with pytest.raises(BenchgateError, match="--shard"):
        parse_shard(text)


def test_good_shard_spec() -> None:
    assert str(parse_shard(" 3/8 ")) == "3/8"


def test_durations_from_out_dir_and_file(tmp_path: Path) -> None:
    runs = make_runs("a", {"x": [1.0, 2.0, 3.0]})
    for r, d in zip(runs, [2.0, 4.0, 9.0], strict=True):
        r.duration_s = d
    write_bench_runs(tmp_path / "out", "a", runs)
    assert recorded_durations(tmp_path / "out") == {"a": 4.0}
    assert recorded_durations(tmp_path / "nothing-here") == {}
    f = tmp_path / "d.json"
    f.write_text(json.dumps({"durations": {"a": 2.5, "b": 0}}))
    assert recorded_durations(f) == {"a": 2.5}
    f.write_text('{"a": "slow"}')
    with pytest.raises(BenchgateError, match="d.json: a: must be a number"):
        recorded_durations(f)


# --- through the CLI -------------------------------------------------------------------


@pytest.fixture
def five_benches(write_bench: Callable[[str, str], Path]) -> list[str]:
    names = ["alpha", "beta", "gamma", "delta", "epsilon"]
    for i, name in enumerate(names):
        write_bench(name, const_bench({"ops": (100.0 + i, "ops/sec")}))
    return names


def test_run_shards_cover_the_suite_once(
    project: Path, cli: Callable[..., Result], five_benches: list[str]
) -> None:
    seen: list[str] = []
    for k in (1, 2, 3):
        out = project / f"o{k}"
        r = cli("run", "--shard", f"{k}/3", "--out-dir", str(out))
        assert r.exit_code == 0, r.output
        runs = load_runs(out)
        seen.extend(runs)
        for rs in runs.values():
            assert rs[0].command["shard"]["k"] == k and rs[0].command["shard"]["n"] == 3
    assert sorted(seen) == sorted(five_benches)


def test_run_shard_validation_is_one_line_exit_2(
    cli: Callable[..., Result], five_benches: list[str]
) -> None:
    for bad in ("0/3", "4/3", "x"):
        r = cli("run", "--shard", bad)
        assert r.exit_code == 2
        assert r.output.strip().count("\n") == 0 and "--shard" in r.output
    r = cli("run", "--durations", "d.json")
    assert r.exit_code == 2 and "only with --shard" in r.output


def test_empty_shard_runs_nothing(
    project: Path, cli: Callable[..., Result], five_benches: list[str]
) -> None:
    r = cli("run", "--shard", "7/7", "--out-dir", str(project / "o"))
    assert r.exit_code == 0
    assert "empty" in r.output
    assert not (project / "o").exists()


def test_shards_command_text_and_json(
    project: Path, cli: Callable[..., Result], five_benches: list[str]
) -> None:
    out = project / "tests" / "reports" / "bench"
    for i, name in enumerate(five_benches):
        runs = make_runs(name, {"ops": [1.0]})
        runs[0].duration_s = float(i + 1)
        write_bench_runs(out, name, runs)
    r = cli("shards", "--n", "2", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["by"] == "duration"
    # 1+2+...+5 = 15 s: the best split is 8 + 7.
    assert sorted(s["seconds"] for s in data["shards"]) == [7.0, 8.0]
    # The JSON is a durations file: fed back, the same split.
    f = project / "durations.json"
    f.write_text(r.output)
    again = json.loads(cli("shards", "--n", "2", "--format", "json", "--durations", str(f)).output)
    assert again["digest"] == data["digest"]
    text = cli("shards", "--n", "2", "--repeat", "5").output
    assert "shard 1/2:" in text and "shard 2/2:" in text and "ideal" in text


def test_ab_shard_measures_only_its_part(
    project: Path, cli: Callable[..., Result], five_benches: list[str]
) -> None:
    from conftest import git

    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    plan = plan_shards(five_benches, 2)
    r = cli("ab", "--base", "HEAD", "--repeat", "1", "--shard", "2/2", "--format", "json")
    assert r.exit_code in (0, 1), r.output
    data = json.loads(r.output[r.output.index("{") :])
    measured = {m["key"].split(".")[0] for m in data["metrics"]}
    assert measured == set(plan.shard(2).benches)


def test_ab_uses_the_machine_class_and_refuses_an_unmatched_machine(
    project: Path, cli: Callable[..., Result], five_benches: list[str]
) -> None:
    from conftest import git

    with (project / "pyproject.toml").open("a") as fh:
        fh.write('\n[tool.benchgate.machines]\nnowhere = { arch = "no-such-arch" }\nlarge = {}\n')
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    r = cli("ab", "--base", "HEAD", "--repeat", "1")
    assert r.exit_code == 2
    assert "this machine matches no declared machine class (fingerprint " in r.output
    assert r.output.strip().count("\n") == 0
    r = cli("ab", "--base", "HEAD", "--repeat", "1", "-k", "alpha", "--machine", "large")
    assert r.exit_code in (0, 1), r.output
    assert "\nmachine class large: baselines tests/bench/baselines.large.json\n" in r.output
