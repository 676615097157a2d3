"""``benchgate explain``: per-function profile diffs, base revision vs working tree.

The arithmetic is checked on synthetic profiles with known answers; a real base/head pair
in a temporary git repository checks that the function whose work grew comes first.
"""

from __future__ import annotations

import json
import marshal
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from benchgate.errors import BenchgateError
from benchgate.explain.diff import diff_profiles
from benchgate.explain.profiles import (
    Func,
    Profile,
    load_pstats,
    min_profile,
    parse_callgrind,
    split_exact,
)
from benchgate.explain.render import ab_block_markdown, render_markdown
from benchgate.explain.run import Explanation, key_dir_name, split_key


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def prof(costs: dict[str, float], unit: str = "s") -> Profile:
    funcs = {k: Func(k, k.split(":")[-1], k.split(":")[0], 1, v, v, 1) for k, v in costs.items()}
    return Profile(unit, "operation", 10, funcs)


# --- arithmetic -----------------------------------------------------------------------------


def test_diff_arithmetic_known_answer() -> None:
    base = prof({"a.py:helper": 10.0, "a.py:main": 5.0, "a.py:gone": 2.0})
    head = prof({"a.py:helper": 16.0, "a.py:main": 4.0, "a.py:new": 1.0})
    d = diff_profiles(base, head)
    assert d.base_total == 17.0 and d.head_total == 21.0 and d.total_change == 4.0
    # The changes sum exactly to the change of the total.
    assert sum(r.change for r in d.rows) == pytest.approx(d.total_change)
    assert [(r.name, r.change, r.share) for r in d.grown(5)] == [
        ("helper", 6.0, 1.5),
        ("new", 1.0, 0.25),
    ]
    assert [(r.name, r.change, r.share) for r in d.shrunk(5)] == [
        ("gone", -2.0, -0.5),
        ("main", -1.0, -0.25),
    ]
    assert sum(r.share or 0 for r in d.rows) == pytest.approx(1.0)
    assert d.grown(1)[0].ratio == pytest.approx(1.6) and d.ratio == pytest.approx(21 / 17)


def test_diff_no_change_and_unit_mismatch() -> None:
    same = prof({"a.py:f": 3.0})
    d = diff_profiles(same, prof({"a.py:f": 3.0}))
    assert d.total_change == 0 and d.grown(3) == [] and d.rows[0].share is None
    with pytest.raises(ValueError, match="instructions"):
        diff_profiles(same, prof({"a.py:f": 3.0}, unit="instructions"))


def test_scaled_profile_keeps_shares() -> None:
    p = prof({"a.py:f": 1.0, "a.py:g": 3.0}).scaled(1000.0, "instructions")
    assert p.unit == "instructions" and p.total == pytest.approx(1000.0)
    assert p.functions["a.py:g"].self_cost == pytest.approx(750.0)


def test_pstats_builtins_fold_into_their_caller(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    f = str(root / "m.py")
    helper, main, sha = (f, 3, "helper"), (f, 9, "main"), ("~", 0, "<built-in method sha256>")
    loop = ("/x/benchgate/bench/api.py", 1, "_profile_loop")
    stats = {
        loop: (1, 1, 0.001, 10.0, {}),
        main: (10, 10, 1.0, 10.0, {loop: (10, 10, 1.0, 10.0)}),
        helper: (20, 20, 2.0, 9.0, {main: (20, 20, 2.0, 9.0)}),
        # sha256: 7 s from helper, 1 s from main
        sha: (30, 30, 8.0, 8.0, {helper: (20, 20, 7.0, 7.0), main: (10, 10, 1.0, 1.0)}),
    }
    path = tmp_path / "p.pstats"
    path.write_bytes(marshal.dumps(stats))
    p = load_pstats(path, [root], calls=10, scope="operation")
    assert set(p.functions) == {
        "m.py:helper",
        "m.py:main",
        "/x/benchgate/bench/api.py:_profile_loop",
    }
    assert p.functions["m.py:helper"].self_cost == pytest.approx(0.9)  # (2 + 7) / 10
    assert p.functions["m.py:main"].self_cost == pytest.approx(0.2)  # (1 + 1) / 10
    assert p.functions["m.py:helper"].calls == 2 and p.functions["m.py:helper"].where == "m.py:3"
    assert p.total == pytest.approx(1.1001)  # nothing lost, nothing counted twice
    assert p.edges[("m.py:main", "m.py:helper")] == pytest.approx(0.9)
    bad = tmp_path / "bad.pstats"
    bad.write_bytes(b"not marshal")
    with pytest.raises(ValueError, match="not a cProfile statistics file"):
        load_pstats(bad, [root], 1, "operation")


CALLGRIND = """\
# callgrind format
version: 1
positions: line
events: Ir
summary: 1000

fl=(1) /src/a.c
fn=(1) main
0 100
cfl=(1)
cfn=(2) work
calls=3 0
0 850
0 10
fn=(2)
0 800
cfn=(3) leaf'2
calls=1 0
0 50
fl=(2) /src/b.c
fn=(3)
0 40
"""


def test_parse_callgrind_known_answer() -> None:
    funcs, total = parse_callgrind(CALLGRIND)
    assert total == 1000
    assert funcs["/src/a.c:main"].self_cost == 110 and funcs["/src/a.c:main"].total_cost == 960
    assert funcs["/src/a.c:work"].self_cost == 800 and funcs["/src/a.c:work"].total_cost == 850
    # The recursion suffix is dropped; the function is keyed by its own file.
    assert funcs["/src/b.c:leaf"].self_cost == 40
    assert sum(f.self_cost for f in funcs.values()) == 950
    with pytest.raises(ValueError, match="not callgrind output"):
        parse_callgrind("hello\n")
    with pytest.raises(ValueError, match="used before"):
        parse_callgrind("events: Ir\nfn=(7)\n0 1\n")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_parse_callgrind_untrusted_text_only_valueerror(text: str) -> None:
    try:
        funcs, total = parse_callgrind("events: Ir\n" + text)
    except ValueError:
        return
    assert all(isinstance(f.self_cost, float | int) for f in funcs.values())
    assert isinstance(total, int)


def test_key_helpers() -> None:
    assert split_key("da.encode[n=1]") == ("da", "encode[n=1]")
    with pytest.raises(BenchgateError, match="unknown key"):
        split_key("nodot")
    assert key_dir_name("a.b[n=1]") == "a.b_n=1_"
    assert key_dir_name("../..") == "_"
    assert "/" not in key_dir_name("x/../../etc")


# --- rendering ------------------------------------------------------------------------------


def _explanation(tmp_path: Path, name: str) -> Explanation:
    d = diff_profiles(prof({f"a.py:{name}": 1e-3}), prof({f"a.py:{name}": 3e-3}))
    return Explanation(
        key="b.m",
        bench="b",
        case="m",
        base_rev="main",
        base_commit="0" * 40,
        measure="time",
        calls=50,
        scope="operation",
        diff=d,
        native=None,
        out_dir=tmp_path / "x",
        seconds=1.0,
    )


def test_markdown_block_is_escaped(tmp_path: Path) -> None:
    e = _explanation(tmp_path, "<script>|x_*y`")
    block = ab_block_markdown([("FAIL", e, None), ("WARN", None, "c.k: skipped")])
    assert "<script>" not in block and "&lt;script>" in block
    assert "\\|x_*y`" in block
    assert "| function | file:line | base | head | change | share |" in block
    assert "+2 ms" in block and "+100.0%" in block
    assert "flame graph and profiles" in block and "c.k: skipped" in block
    assert "<script>" not in render_markdown(e)


# --- a real base/head pair ------------------------------------------------------------------

LIB = """\
def helper(n):
    total = 0
    for i in range({work}):
        total += i * n
    return total


def other(n):
    return sum(range(n))


def work():
    return helper(3) + other(20000)
"""

BENCH = """\
import json
import os

import mylib
from benchgate import bench


@bench.metric("steps_per_sec", ops_per_call=1, min_time=0.01, samples=3)
def op():
    mylib.work()


@bench.metric("plain")
def plain():
    pass


if __name__ == "__main__":
    if os.environ.get("BENCHGATE_PROFILE"):
        bench.main()
    else:  # deterministic numbers for ab's verdict: the speed the library declares
        print(json.dumps({"metrics": {"steps_per_sec": {"value": mylib.SPEED, "unit": "steps/sec"}}}))
"""


@pytest.fixture
def repo(project: Path) -> Path:
    (project / "src" / "mylib").mkdir(parents=True)
    (project / "src" / "mylib" / "__init__.py").write_text(
        "SPEED = 1000\n" + LIB.format(work=20000)
    )
    (project / "tests" / "bench" / "vm.py").write_text(BENCH)
    (project / "tests" / "bench" / "skipper.py").write_text(
        "from benchgate import bench\nbench.skip('no GPU here')\n"
    )
    (project / "tests" / "bench" / "plainscript.py").write_text(
        "import json\ndef slow():\n    return sum(range(100000))\nslow()\n"
        "print(json.dumps({'metrics': {'ops_per_sec': 5.0}}))\n"
    )
    top = project.parent
    git(top, "init", "-q")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "base")
    return project


def slow_down(project: Path, speed: int = 400) -> None:
    """The uncommitted change: helper does three times the work."""
    (project / "src" / "mylib" / "__init__.py").write_text(
        f"SPEED = {speed}\n" + LIB.format(work=60000)
    )


def test_explain_names_the_helper_that_grew(repo: Path, cli: Callable[..., Result]) -> None:
    slow_down(repo)
    r = cli("explain", "vm.steps_per_sec", "--base", "HEAD", "--calls", "10", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["scope"] == "operation" and doc["calls"] == 10
    first = doc["functions"]["grown"][0]
    assert first["function"] == "helper" and first["where"] == "src/mylib/__init__.py:2"
    assert first["share"] > 0.7 and first["head"] > 2 * first["base"]
    out = repo / "tests" / "reports" / "bench" / "explain" / "vm.steps_per_sec"
    for name in ("base.pstats", "head.pstats", "explain.json", "flame.html", "speedscope.json"):
        assert (out / name).is_file(), name
    scope = json.loads((out / "speedscope.json").read_text())
    assert [p["name"] for p in scope["profiles"]] == ["base", "head"]
    head_prof = scope["profiles"][1]
    assert len(head_prof["samples"]) == len(head_prof["weights"]) > 0
    names = [f["name"] for f in scope["shared"]["frames"]]
    assert "helper" in names and all(i < len(names) for s in head_prof["samples"] for i in s)
    page = (out / "flame.html").read_text()
    assert "helper" in page and "<script" not in page
    assert json.loads((out / "explain.json").read_text())["key"] == "vm.steps_per_sec"
    text = cli("explain", "vm.steps_per_sec", "--base", "HEAD", "--calls", "5", "--top", "3")
    assert text.exit_code == 0 and "Python functions that grew most" in text.output
    assert "5 calls of the measured operation (setup excluded)" in text.output


def test_plain_script_is_profiled_as_a_whole_process(
    repo: Path, cli: Callable[..., Result]
) -> None:
    r = cli("explain", "plainscript.ops_per_sec", "--base", "HEAD", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["scope"] == "process" and "whole process" in doc["notes"][0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobench.x"], "unknown key: no bench named 'nobench'"),
        (["vm.nosuchmetric"], "unknown key: the bench has no metric 'nosuchmetric'"),
        (["plainscript.nosuch"], "unknown key"),
        (["skipper.x"], "skipped on the head side (no GPU here)"),
        (["vm.steps_per_sec", "--base", "no-such-rev"], "unknown revision 'no-such-rev'"),
    ],
)
def test_errors_are_one_line_exit_2(
    repo: Path, cli: Callable[..., Result], args: list[str], message: str
) -> None:
    if "--base" not in args:
        args = [*args, "--base", "HEAD"]
    r = cli("explain", *args)
    assert r.exit_code == 2, r.output
    err = r.output.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (repo / "tests" / "reports" / "bench" / "explain" / "nobench.x").exists()


def test_ab_explain_puts_the_helper_below_the_verdict_table(
    repo: Path, cli: Callable[..., Result]
) -> None:
    slow_down(repo)
    r = cli(
        "ab", "--base", "HEAD", "--repeat", "2", "-k", "vm", "--explain", "--format", "markdown"
    )
    assert r.exit_code == 1, r.output
    table_at = r.output.index("| status |")
    block_at = r.output.index("#### Why it got slower")
    assert table_at < block_at
    block = r.output[block_at:]
    assert "**FAIL** `vm.steps_per_sec`" in block
    first_row = [ln for ln in block.splitlines() if ln.startswith("| ")][2]
    assert first_row.startswith("| helper |")
    assert "`tests/reports/bench/explain/vm.steps_per_sec/flame.html`" in block
    assert "(in the CI artifact: `bench/results/explain/vm.steps_per_sec/flame.html`)" in block


# --- instruction counts (valgrind) ----------------------------------------------------------


def _need_valgrind() -> None:
    if shutil.which("valgrind") is None:
        what = "valgrind is not installed: apt-get install valgrind"
        if os.environ.get("CI"):
            pytest.fail(f"{what} (CI is set: CI must install it)")
        pytest.skip(what)


def test_instructions_mode_is_exact_and_names_the_helper(
    repo: Path, cli: Callable[..., Result]
) -> None:
    _need_valgrind()
    slow_down(repo)
    r = cli(
        "explain",
        "vm.steps_per_sec",
        "--base",
        "HEAD",
        "--measure",
        "instructions",
        "--calls",
        "2",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    fn, native = doc["functions"], doc["native"]
    assert fn["unit"] == "instructions" and fn["grown"][0]["function"] == "helper"
    assert fn["grown"][0]["share"] >= 0.8
    # The Python split and the exact C-level counts describe the same total change.
    assert fn["total_change"] == pytest.approx(native["total_change"], rel=1e-9)
    assert native["ratio"] > 1.5
    out = repo / "tests" / "reports" / "bench" / "explain" / "vm.steps_per_sec"
    assert list(out.glob("base.*.callgrind")) and list(out.glob("head.*.callgrind"))


def test_split_exact_gives_the_change_to_the_functions_that_moved() -> None:
    base_t = prof({"a.py:helper": 1.0, "a.py:other": 3.0})
    # helper's time doubled; other's moved against the total (noise): it gets nothing.
    head_t = prof({"a.py:helper": 2.0, "a.py:other": 2.9})
    b, h = split_exact(base_t, head_t, 4000.0, 5000.0, "instructions")
    assert b.total == pytest.approx(4000.0) and h.total == pytest.approx(5000.0)
    d = diff_profiles(b, h)
    assert d.grown(1)[0].name == "helper" and d.grown(1)[0].share == pytest.approx(1.0)
    assert d.total_change == pytest.approx(1000.0)
    # No function moved with the total: each side split by its own shares.
    b2, h2 = split_exact(base_t, prof({"a.py:helper": 0.5, "a.py:other": 2.0}), 4000, 5000, "i")
    assert h2.functions["a.py:other"].self_cost == pytest.approx(4000.0)


def test_a_bench_or_metric_new_in_the_working_tree_has_nothing_to_compare_with(
    repo: Path, cli: Callable[..., Result]
) -> None:
    bench_dir = repo / "tests" / "bench"
    (bench_dir / "fresh.py").write_text(
        "from benchgate import bench\n\n@bench.metric('ops')\ndef op():\n    pass\n\n"
        "if __name__ == '__main__':\n    bench.main()\n"
    )
    r = cli("explain", "fresh.ops", "--base", "HEAD", "--calls", "2")
    assert r.exit_code == 2 and "does not exist at the base revision" in r.output
    vm = bench_dir / "vm.py"
    vm.write_text(vm.read_text().replace('@bench.metric("plain")', '@bench.metric("plain2")'))
    r = cli("explain", "vm.plain2", "--base", "HEAD", "--calls", "2")
    assert r.exit_code == 2 and "no metric 'plain2' at the base revision" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_split_exact_discounts_run_to_run_noise() -> None:
    base_t = prof({"a.py:helper": 1.0, "a.py:other": 3.0})
    head_t = prof({"a.py:helper": 2.0, "a.py:other": 3.3})
    # other moved by 0.3 but varies by 0.2 per side from run to run: only 0 of it counts.
    for p in (base_t, head_t):
        p.functions["a.py:other"].noise = 0.2
    b, h = split_exact(base_t, head_t, 4000.0, 5000.0, "instructions")
    d = diff_profiles(b, h)
    assert d.grown(1)[0].name == "helper" and d.grown(1)[0].share == pytest.approx(1.0)
    assert h.total == pytest.approx(5000.0)


def test_min_profile_takes_the_least_and_records_the_noise() -> None:
    runs = [prof({"a.py:f": v}) for v in (3.0, 1.0, 2.0, 5.0, 1.5)]
    m = min_profile(runs)
    assert m.functions["a.py:f"].self_cost == 1.0
    assert m.functions["a.py:f"].noise == pytest.approx(1.0)  # median 2.0 - least 1.0
