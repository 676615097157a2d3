"""Malformed input, table-driven: config, baselines.json, command-line arguments, revisions.

Every case runs the real CLI on a copy of one small git project and must end with exit
code 2, exactly one line on stderr (``benchgate: error: ...``), no traceback, and nothing
changed on disk (the whole tree, .git included, hashed before and after). Then the
property tests: whatever text the baselines.json parser or the config loader gets, the
answer is a value or a one-line BenchgateError, never another exception.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchgate.baselines.file import MAX_DEPTH, parse_baselines_text
from benchgate.cli import main
from benchgate.config import Config, load_config
from benchgate.errors import BenchgateError
from benchgate.gitutil import check_rev, show_file, toplevel
from conftest import const_bench, git

PYPROJECT = '[project]\nname = "proj"\nversion = "0"\n'
GOOD = {"a.ops": {"value": 1000.0, "unit": "ops/sec"}}
BASELINES = "tests/bench/baselines.json"
# Where an injected `--output=FILE` would make git write: must never appear.
INJECTED = "injected-by-git-output"


def _commit(top: Path, msg: str) -> None:
    git(top, "add", "-A")
    git(top, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-q", "-m", msg)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git project: `nofile` (no baselines.json yet), then `main` with a bench measured."""
    root = tmp_path_factory.mktemp("tpl") / "proj"
    (root / "tests" / "bench").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / ".gitignore").write_text("tests/reports/\n")
    git(root, "init", "-q", "-b", "main")
    _commit(root, "project")
    git(root, "tag", "nofile")
    (root / "tests" / "bench" / "a.py").write_text(const_bench({"ops": (1000.0, "ops/sec")}))
    (root / BASELINES).write_text(json.dumps(GOOD, indent=2) + "\n")
    _commit(root, "bench and baselines")
    r = CliRunner().invoke(main, ["-C", str(root), "run", "--repeat", "1"])
    assert r.exit_code == 0, r.output
    return root


@pytest.fixture
def proj(template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "proj"
    shutil.copytree(template, dest, symlinks=True)
    return dest


def tree_hash(root: Path) -> str:
    """One hash over every path, file mode and file content under ``root``."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames) + [d + "/" for d in dirnames]:
            p = Path(dirpath) / name.rstrip("/")
            st_ = p.lstat()
            h.update(f"{p.relative_to(root)}\0{st_.st_mode}\0".encode("utf-8", "surrogateescape"))
            if p.is_file() and not p.is_symlink():
                h.update(p.read_bytes())
    return h.hexdigest()


def invoke(root: Path, args: list[str]) -> Result:
    # catch_exceptions=False: anything but a clean exit (a traceback) fails the test.
    return CliRunner().invoke(main, ["-C", str(root), *args], catch_exceptions=False)


# --- setups: each turns the copied project into the malformed state -------------------


def pyproject(section: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        (root / "pyproject.toml").write_text(PYPROJECT + section + "\n")

    return setup


def top_level(line: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        (root / "pyproject.toml").write_text(line + "\n" + PYPROJECT)

    return setup


def tbg(body: str) -> Callable[[Path], None]:
    return pyproject("[tool.benchgate]\n" + body)


def baselines_text(text: str | bytes) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        (root / BASELINES).write_bytes(data)

    return setup


def entry(**fields: Any) -> str:
    e: dict[str, Any] = {"value": 1000.0, "unit": "ops/sec", **fields}
    return json.dumps({"a.ops": e})


def broken_base(root: Path) -> None:
    """A base branch whose baselines.json does not parse, and a PR that fixes it."""
    git(root, "checkout", "-q", "-b", "broken")
    (root / BASELINES).write_text('{"a.ops": {"value": 1000.0, "unit": ')
    _commit(root, "break it")
    git(root, "checkout", "-q", "-b", "pr")
    (root / BASELINES).write_text(json.dumps(GOOD) + "\n")
    _commit(root, "fix it")


def nothing(root: Path) -> None:
    pass


@dataclass
class Case:
    id: str
    setup: Callable[[Path], None]
    args: list[str]
    fragment: str  # must appear in the one error line


HUGE = "1" + "0" * 400
DEEP = "[" * 5000 + "]" * 5000

CONFIG_CASES = [
    Case("patterns-int", tbg("patterns = [1]"), ["compare"], "tool.benchgate.patterns"),
    Case("patterns-str", tbg('patterns = "*.py"'), ["compare"], "tool.benchgate.patterns"),
    Case("patterns-absolute", tbg('patterns = ["/etc/*"]'), ["run"], "relative to bench_dir"),
    Case("patterns-empty", tbg('patterns = [""]'), ["run"], "non-empty string"),
    Case("timeout-nan", tbg("timeout = nan"), ["compare"], "tool.benchgate.timeout"),
    Case("timeout-inf", tbg("timeout = inf"), ["compare"], "tool.benchgate.timeout"),
    Case("timeout-neg", tbg("timeout = -1"), ["compare"], "tool.benchgate.timeout"),
    Case("timeout-huge", tbg(f"timeout = {HUGE}"), ["compare"], "tool.benchgate.timeout"),
    Case("timeout-bool", tbg("timeout = true"), ["compare"], "tool.benchgate.timeout"),
    Case("tool-int", top_level("tool = 5"), ["compare"], "[tool] must be a table"),
    Case("section-int", pyproject("[tool]\nbenchgate = 5"), ["compare"], "tool.benchgate"),
    Case(
        "command-unclosed-quote",
        tbg('commands = {x = "python -c \\"print(1)"}'),
        ["compare"],
        "tool.benchgate.commands.x: cannot be split",
    ),
    Case("command-int", tbg("commands = {x = 5}"), ["compare"], "tool.benchgate.commands.x"),
    Case("command-empty", tbg('commands = {x = ""}'), ["compare"], "empty command"),
    Case("command-bad-name", tbg('commands = {"a b" = "x"}'), ["compare"], "bench name"),
    Case("env-list", tbg("env = {A = [1, 2]}"), ["compare"], "tool.benchgate.env.A"),
    Case("env-table", tbg("env = {A = {b = 1}}"), ["compare"], "tool.benchgate.env.A"),
    Case("env-bad-name", tbg('env = {"A=B" = "x"}'), ["compare"], "environment variable name"),
    Case("env-not-table", tbg('env = "A=1"'), ["compare"], "tool.benchgate.env"),
    Case("min-runs-neg", tbg("min_runs = -3"), ["compare"], "tool.benchgate.min_runs"),
    Case("min-runs-float", tbg("min_runs = 2.5"), ["compare"], "tool.benchgate.min_runs"),
    Case("rapid-neg", tbg("rapid_edit_days = -1"), ["compare"], "tool.benchgate.rapid_edit_days"),
    Case("deg-nan", tbg("degradation_pct_max = nan"), ["compare"], "degradation_pct_max"),
    Case("deg-one", tbg("degradation_pct_max = 1.5"), ["compare"], "degradation_pct_max"),
    Case("warn-inf", tbg("variance_pct_warn = inf"), ["compare"], "variance_pct_warn"),
    Case("share-zero", tbg("disturbed_share = 0"), ["compare"], "disturbed_share"),
    Case(
        "warn-above-deg",
        tbg("degradation_pct_max = 0.1\nvariance_pct_warn = 0.2"),
        ["compare"],
        "variance_pct_warn (0.2) is above",
    ),
    Case("unknown-key", tbg('paterns = ["*.py"]'), ["compare"], "did you mean 'patterns'?"),
    Case("unknown-key-far", tbg("zzz = 1"), ["compare"], "unknown setting 'zzz'"),
    Case("path-empty", tbg('out_dir = ""'), ["compare"], "tool.benchgate.out_dir"),
    Case("path-nul", tbg('baselines = "a\\u0000b"'), ["compare"], "NUL"),
    Case("cpus-int", tbg("cpus = 3"), ["compare"], "tool.benchgate.cpus"),
    Case("machines-int", tbg("machines = 5"), ["compare"], "tool.benchgate.machines"),
    Case("machines-class-int", tbg("machines = {ci = 1}"), ["compare"], "machines.ci"),
    Case("toml-broken", pyproject("[tool.benchgate\nx = 1"), ["compare"], "not valid TOML"),
    Case("toml-surrogate", tbg('out_dir = "\\ud800"'), ["compare"], "not valid TOML"),
    # Any command loads the config, not only compare.
    Case("run-loads-config", tbg("timeout = nan"), ["run", "--repeat", "1"], "timeout"),
    Case("doctor-loads-config", tbg("min_runs = 0"), ["doctor"], "min_runs"),
]

BASELINES_CASES = [
    Case("huge-int", baselines_text(entry().replace("1000.0", HUGE)), ["compare"], "digits"),
    Case(
        "huge-int-5000",
        baselines_text(entry().replace("1000.0", "1" * 5000)),
        ["compare"],
        "digits",
    ),
    Case("huge-float", baselines_text(entry().replace("1000.0", "1e400")), ["compare"], "range"),
    Case("deep", baselines_text(DEEP), ["compare"], f"nested deeper than {MAX_DEPTH}"),
    Case(
        "deep-in-entry",
        baselines_text(entry(x=[[[[]]]]).replace("[[[[]]]]", DEEP)),
        ["compare"],
        "nested",
    ),
    Case("nan", baselines_text(entry().replace("1000.0", "NaN")), ["compare"], "NaN"),
    Case("inf", baselines_text(entry().replace("1000.0", "Infinity")), ["compare"], "Infinity"),
    Case(
        "neg-inf", baselines_text(entry().replace("1000.0", "-Infinity")), ["compare"], "Infinity"
    ),
    Case("negative", baselines_text(entry(value=-5)), ["compare"], "positive finite"),
    Case("zero", baselines_text(entry(value=0)), ["compare"], "positive finite"),
    Case("string-value", baselines_text(entry(value="1000")), ["compare"], "positive finite"),
    Case(
        "surrogate-key",
        baselines_text('{"a.\\ud800": {"value": 1, "unit": "ops/sec"}}'),
        ["compare"],
        "lone surrogate",
    ),
    Case(
        "surrogate-unit",
        baselines_text('{"a.ops": {"value": 1, "unit": "\\udc00"}}'),
        ["compare"],
        "lone surrogate",
    ),
    Case(
        "raw-surrogate-bytes",
        baselines_text(b'{"a.\xed\xa0\x80": 1}'),
        ["compare"],
        "cannot be read",
    ),
    Case("not-utf8", baselines_text(b'{"a.ops": "\xff"}'), ["compare"], "cannot be read"),
    Case(
        "duplicate",
        baselines_text('{"a.ops": {"value": 1, "unit": "s"}, "a.ops": {}}'),
        ["compare"],
        "duplicate key",
    ),
    Case("list", baselines_text("[]"), ["compare"], "must be a JSON object"),
    Case("truncated", baselines_text('{"a.ops": {"value": 1'), ["compare"], "not valid JSON"),
    Case(
        "deg-nan",
        baselines_text(entry().replace("}", ', "degradation_pct_max": NaN}', 1)),
        ["compare"],
        "NaN",
    ),
    Case(
        "deg-big", baselines_text(entry(degradation_pct_max=2)), ["compare"], "degradation_pct_max"
    ),
    Case("warn-zero", baselines_text(entry(variance_pct_warn=0)), ["compare"], "variance_pct_warn"),
    Case(
        "key-no-dot",
        baselines_text(json.dumps({"aops": GOOD["a.ops"]})),
        ["compare"],
        "<bench>.<metric>",
    ),
    Case("notes-int", baselines_text(entry(notes=5)), ["compare"], "notes"),
    Case("hib-str", baselines_text(entry(higher_is_better="yes")), ["compare"], "higher_is_better"),
    # Every reader of the file validates it the same way.
    Case(
        "log-huge", baselines_text(entry().replace("1000.0", HUGE)), ["baselines", "log"], "digits"
    ),
    Case("log-nan", baselines_text(entry().replace("1000.0", "NaN")), ["baselines", "log"], "NaN"),
    Case("log-negative", baselines_text(entry(value=-1)), ["baselines", "log"], "positive"),
    Case(
        "refresh-deep",
        baselines_text(DEEP),
        ["refresh", "--reason", "deps", "--why", "x"],
        "nested",
    ),
    Case(
        "refresh-surrogate",
        baselines_text('{"a.\\ud800": {"value": 1, "unit": "ops/sec"}}'),
        ["refresh", "--reason", "deps", "--why", "x"],
        "lone surrogate",
    ),
]

INJECT = f"--output={INJECTED}"
REV_CASES = [
    Case("rev-unknown", nothing, ["compare", "--baselines-rev", "no-such-rev"], "unknown revision"),
    Case("rev-option", nothing, ["compare", f"--baselines-rev={INJECT}"], "not a revision"),
    Case("rev-empty", nothing, ["compare", "--baselines-rev="], "not a revision"),
    Case(
        "rev-newline", nothing, ["compare", "--baselines-rev", "HEAD\n--output=x"], "not a revision"
    ),
    Case("rev-space", nothing, ["compare", "--baselines-rev", "HEAD --output=x"], "not a revision"),
    Case(
        "rev-no-file", nothing, ["compare", "--baselines-rev", "nofile"], "does not exist at nofile"
    ),
    Case(
        "rev-path-syntax",
        nothing,
        ["compare", "--baselines-rev", "HEAD:pyproject.toml"],
        "unknown revision",
    ),
    Case("check-base-option", nothing, ["check", f"--base={INJECT}"], "not a revision"),
    Case(
        "check-head-option",
        nothing,
        ["check", "--base", "main", f"--head={INJECT}"],
        "not a revision",
    ),
    Case("check-base-unknown", nothing, ["check", "--base", "no-such-rev"], "unknown revision"),
    Case("check-base-broken", broken_base, ["check", "--base", "broken"], "not valid JSON"),
    Case("revert-option", nothing, ["baselines", "revert", "--", INJECT], "not a revision"),
    Case("revert-unknown", nothing, ["baselines", "revert", "no-such-rev"], "unknown revision"),
    Case("revert-no-file", nothing, ["baselines", "revert", "nofile"], "does not exist"),
    Case("ab-base-option", nothing, ["ab", f"--base={INJECT}"], "not a revision"),
    Case("ab-base-unknown", nothing, ["ab", "--base", "no-such-rev"], "unknown revision"),
]

ALL = CONFIG_CASES + BASELINES_CASES + REV_CASES


@pytest.mark.parametrize("case", ALL, ids=[c.id for c in ALL])
def test_malformed_input_is_one_line_exit_2_and_changes_nothing(proj: Path, case: Case) -> None:
    case.setup(proj)
    before = tree_hash(proj)
    r = invoke(proj, case.args)
    assert r.exit_code == 2, (r.exit_code, r.output)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("benchgate: error: "), r.stderr
    assert case.fragment in lines[0], lines[0]
    assert "Traceback" not in r.output
    assert tree_hash(proj) == before
    assert not (proj / INJECTED).exists()


def test_git_option_injection_through_the_real_process(proj: Path) -> None:
    """`--baselines-rev=--output=FILE` would make `git show` write FILE: nothing is written."""
    target = proj.parent / "x"
    before = tree_hash(proj)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchgate",
            "-C",
            str(proj),
            "compare",
            f"--baselines-rev=--output={target}",
        ],
        capture_output=True,
        text=True,
        cwd=proj,
    )
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.splitlines()) == 1 and "not a revision" in r.stderr
    assert not target.exists()
    assert tree_hash(proj) == before


def test_no_module_but_gitutil_runs_git() -> None:
    """gitutil is the one place git is called: revisions are checked there, once."""
    src = Path(__file__).resolve().parents[1] / "src" / "benchgate"
    offenders = [
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if p.name != "gitutil.py"
        and any(s in p.read_text(encoding="utf-8") for s in ('["git"', "['git'", '"git",'))
    ]
    assert offenders == []


# --- the explicit answers: a base without the file is said, never silently {} ----------


def test_base_without_baselines_needs_the_flag_and_says_so(proj: Path) -> None:
    r = invoke(proj, ["compare", "--baselines-rev", "nofile", "--baselines-missing-ok"])
    # Every metric is NEW; a.ops has a value in this change's file, so it is proposed.
    assert r.exit_code == 0, r.output
    assert "does not exist at nofile" in r.stdout and "every metric is NEW" in r.stdout
    assert re.search(r"PR proposes 1,?000", r.stdout), r.stdout


def test_flag_changes_nothing_when_the_file_exists(proj: Path) -> None:
    """A 50% regression against the base's file still fails with the flag given."""
    (proj / BASELINES).write_text(json.dumps({"a.ops": {"value": 2000.0, "unit": "ops/sec"}}))
    _commit(proj, "a higher baseline")
    r = invoke(proj, ["compare", "--baselines-rev", "HEAD", "--baselines-missing-ok"])
    assert r.exit_code == 1, r.output
    assert "FAIL" in r.stdout


def test_regression_is_caught_against_the_base_revision(proj: Path) -> None:
    """The bypass of the issue: a -50% regression never passes for want of a baseline."""
    (proj / BASELINES).write_text(json.dumps({"a.ops": {"value": 2000.0, "unit": "ops/sec"}}))
    _commit(proj, "base at 2000")
    git(proj, "tag", "base")
    for rev in ("base", "no-such", "nofile"):
        r = invoke(proj, ["compare", "--baselines-rev", rev])
        assert r.exit_code != 0, (rev, r.output)


def test_check_states_a_base_without_the_file(proj: Path) -> None:
    git(proj, "checkout", "-q", "-b", "feature", "nofile")
    (proj / BASELINES).parent.mkdir(parents=True, exist_ok=True)
    (proj / BASELINES).write_text(json.dumps(GOOD) + "\n")
    _commit(proj, "add baselines")
    r = invoke(proj, ["check", "--base", "nofile"])
    assert r.exit_code == 0, r.output
    assert "does not exist at" in r.stdout and "every key is added" in r.stdout


def test_baselines_log_marks_the_commit_that_broke_the_file(proj: Path) -> None:
    (proj / BASELINES).write_text(entry(value=-1))
    _commit(proj, "negative value")
    r = invoke(proj, ["baselines", "log"])
    assert r.exit_code == 2
    assert "invalid at this commit: a.ops: 'value' must be a positive" in r.stdout
    assert len(r.stderr.splitlines()) == 1 and "positive finite" in r.stderr


# --- properties: any input gives a value or a one-line BenchgateError -------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
entries = st.fixed_dictionaries(
    {},
    optional={
        "value": json_values,
        "unit": st.sampled_from(["ops/sec", "", "ms"]) | json_values,
        "degradation_pct_max": json_values | st.floats(0, 1),
        "variance_pct_warn": json_values | st.floats(0, 1),
        "higher_is_better": json_values,
        "notes": json_values,
        "values": json_values,
    },
)
baselines_docs = st.dictionaries(
    st.text(max_size=10) | st.sampled_from(["a.ops", "b.ms"]), entries, max_size=4
)
# Raw tokens that json.dumps never produces but a hand-edited or hostile file may hold.
nasty = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e999",
        HUGE,
        '"\\ud800"',
        "[" * 100,
        "{",
        '"a":1,"a":2',
        "\x00",
    ]
)


def _one_line_or_value(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except BenchgateError as exc:
        msg = str(exc)
        assert "\n" not in msg and "\r" not in msg and msg.isprintable(), msg
        return None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200) | baselines_docs.map(json.dumps))
def test_baselines_parser_any_text(text: str) -> None:
    got = _one_line_or_value(lambda: parse_baselines_text(text, "b.json"))
    if got is not None:
        for b in got.values():
            assert math.isfinite(b.value) and b.value > 0
            assert 0 < b.variance_pct_warn <= b.degradation_pct_max < 1


@settings(max_examples=150, deadline=None)
@given(baselines_docs.map(json.dumps), nasty, st.integers(0, 10_000))
def test_baselines_parser_with_nasty_tokens(doc: str, token: str, where: int) -> None:
    i = where % (len(doc) + 1)
    _one_line_or_value(lambda: parse_baselines_text(doc[:i] + token + doc[i:], "b.json"))


def toml_value(v: Any) -> str:
    """``v`` as a TOML literal (nan and inf included; strings JSON-escaped, as TOML accepts)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


toml_scalars = (
    st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=12)
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
setting_names = st.sampled_from(
    [
        "bench_dir",
        "patterns",
        "exclude",
        "commands",
        "baselines",
        "report",
        "gates_md",
        "out_dir",
        "degradation_pct_max",
        "variance_pct_warn",
        "env",
        "cpus",
        "timeout",
        "disturbed_share",
        "rapid_edit_days",
        "min_runs",
        "rapid-edit-days",
        "nope",
    ]
)


def _load(text: str) -> Config | None:
    with tempfile.TemporaryDirectory() as d:
        Path(d, "pyproject.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
        return _one_line_or_value(lambda: load_config(Path(d)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(setting_names, toml_values, max_size=5))
def test_config_loader_any_settings(section: dict[str, Any]) -> None:
    body = "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in section.items())
    cfg = _load(f"[tool.benchgate]\n{body}\n")
    if cfg is not None:
        assert math.isfinite(cfg.timeout) and cfg.timeout > 0
        assert cfg.min_runs >= 1 and cfg.rapid_edit_days >= 0
        assert all(isinstance(p, str) and p for p in cfg.patterns + cfg.exclude)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in cfg.env.items())
        assert 0 < cfg.variance_pct_warn <= cfg.degradation_pct_max < 1


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_config_loader_any_text(text: str) -> None:
    _load(text)


# --- the one reader of a file at a revision ----------------------------------------------


def test_show_file_distinguishes_absent_from_unreadable(proj: Path) -> None:
    top = toplevel(proj)
    (proj / "crlf.txt").write_bytes(b"a\r\nb\r\n")
    (proj / "link").symlink_to("crlf.txt")
    _commit(proj, "crlf and a link")
    assert show_file(top, "HEAD", "crlf.txt") == "a\r\nb\r\n"  # byte for byte
    assert show_file(top, "HEAD", "nope.json") is None  # absent: None, said by the caller
    assert show_file(top, "nofile", BASELINES) is None
    with pytest.raises(BenchgateError, match="unknown revision"):
        show_file(top, "no-such-rev", BASELINES, "--baselines-rev")
    with pytest.raises(BenchgateError, match="not a revision"):
        show_file(top, "--output=x", BASELINES)
    with pytest.raises(BenchgateError, match="is a tree at"):
        show_file(top, "HEAD", "tests/bench")
    with pytest.raises(BenchgateError, match="is a symbolic link at"):
        show_file(top, "HEAD", "link")


@pytest.mark.parametrize("rev", ["", "-x", "--output=/tmp/x", "a b", "a\nb", "a\x00b", "\x1b[1m"])
def test_check_rev_refuses_what_git_could_read_as_an_option(rev: str) -> None:
    with pytest.raises(BenchgateError) as err:
        check_rev(rev, "--base")
    assert "\n" not in str(err.value) and str(err.value).startswith("--base: not a revision")


@pytest.mark.parametrize(
    "rev", ["HEAD", "HEAD~1", "origin/main", "v1.0^{commit}", "@{u}", "abc123"]
)
def test_check_rev_accepts_revisions(rev: str) -> None:
    assert check_rev(rev) == rev


def test_show_file_with_an_unknown_full_hash_is_an_error(proj: Path) -> None:
    with pytest.raises(BenchgateError, match="git cannot list"):
        show_file(toplevel(proj), "0" * 40, BASELINES)


@pytest.mark.parametrize("planted", ["fifo", "folder"])
@pytest.mark.parametrize(
    ("target", "args"),
    [
        ("tests/bench/baselines.json", ["compare"]),
        ("pyproject.toml", ["compare"]),
        ("tests/reports/bench/b.json", ["reduce"]),
    ],
)
def test_a_fifo_or_folder_where_a_file_is_read_is_one_line(
    proj: Path, planted: str, target: str, args: list[str]
) -> None:
    # A FIFO in place of a file benchgate reads used to block the read forever.
    path = proj / target
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    if planted == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    t0 = time.monotonic()
    r = invoke(proj, args)
    assert time.monotonic() - t0 < 30
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert "Traceback" not in r.output
