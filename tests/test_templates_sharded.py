"""The sharded CI layouts (`init --ci github|gitlab --shards N`): valid YAML, a matrix of N
shard jobs and one gate job, and every benchgate command line parsing with the real CLI."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import Result

from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.project.scaffold import sharded_ci_template
from benchgate.run.shard import parse_shard
from test_templates import _REDIRECT, _SHELL_PREFIX, _substitute, parse

N = 8


def _doc(kind: str, n: int = N) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(sharded_ci_template(kind, n)[1])
    return data


def _scripts(kind: str, doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, str]]]:
    if kind == "github":
        top = {k: str(v) for k, v in (doc.get("env") or {}).items()}
        for name, job in doc["jobs"].items():
            job_env = {**top, **{k: str(v) for k, v in (job.get("env") or {}).items()}}
            for step in job["steps"]:
                if "run" in step:
                    yield name, step["run"], {**job_env, **(step.get("env") or {})}
        return
    base = doc[".benchgate"]
    for name, job in doc.items():
        if name.startswith(".") or not isinstance(job, dict):
            continue
        env = {k: str(v) for k, v in {**base["variables"], **(job.get("variables") or {})}.items()}
        for section in ("before_script", "script", "after_script"):
            for text in job.get(section) or base.get(section) or []:
                yield name, text, env


def _commands(kind: str, doc: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    out = []
    for job, script, env in _scripts(kind, doc):
        for raw in script.replace("\\\n", " ").splitlines():
            if raw.strip().startswith("#"):
                continue
            # A plain shell assignment (`repeat="$BENCH_REPEAT"`): its first value is used.
            m = re.match(r'^\s*([A-Za-z_]\w*)=("[^"]*"|\S*)\s*$', raw)
            if m and m.group(1) not in env:
                env[m.group(1)] = _substitute(m.group(2).strip('"'), env)
                continue
            for seg in raw.replace("&&", ";").replace("||", ";").replace("|", ";").split(";"):
                seg = _SHELL_PREFIX.sub("", seg.strip())
                if not seg.startswith("benchgate "):
                    continue
                words = shlex.split(_substitute(seg, env), comments=True)
                args: list[str] = []
                skip = False
                for w in words[1:]:
                    if skip:
                        skip = False
                        continue
                    m = _REDIRECT.match(w)
                    if m:
                        skip = not m.group(1)
                        continue
                    args.append(w)
                out.append((job, seg, args))
    return out


CASES = [(kind, *c) for kind in ("github", "gitlab") for c in _commands(kind, _doc(kind))]


def test_commands_are_extracted() -> None:
    for kind in ("github", "gitlab"):
        used = {args[0] for k, _, _, args in CASES if k == kind}
        assert {"run", "merge", "reduce", "compare", "check", "collect", "shards"} <= used, kind
    assert any(args[0] == "ab" for k, _, _, args in CASES if k == "github")


@pytest.mark.parametrize(
    "kind, job, segment, args",
    CASES,
    ids=[f"{c[0]}:{c[1]}:{c[3][0]}:{i}" for i, c in enumerate(CASES)],
)
def test_command_line_parses(kind: str, job: str, segment: str, args: list[str]) -> None:
    try:
        parse(args)
    except click.UsageError as exc:
        pytest.fail(f"{kind} sharded template, job {job}: `{segment}` does not parse: {exc}")


def _shard_arg(args: list[str]) -> str:
    return args[args.index("--shard") + 1]


def test_github_matrix_and_gate() -> None:
    doc = _doc("github")
    shard, gate = doc["jobs"]["shard"], doc["jobs"]["gate"]
    matrix = shard["strategy"]["matrix"]["shard"]
    assert matrix == list(range(1, N + 1))
    assert shard["strategy"]["fail-fast"] is False
    assert doc["env"]["BENCH_SHARDS"] == str(N)
    # Every matrix entry gives a valid --shard K/N, covering 1..N.
    runs = [a for k, j, _, a in CASES if k == "github" and j == "shard" and a[0] in ("run", "ab")]
    assert {a[0] for a in runs} == {"run", "ab"}
    for args in runs:
        spec = _shard_arg(args).replace("PLACEHOLDER", "{k}")
        assert spec == "{k}/" + str(N)
        assert {parse_shard(spec.format(k=k)).k for k in matrix} == set(range(1, N + 1))
    upload = next(s for s in shard["steps"] if s.get("uses", "").startswith("actions/upload"))
    assert upload["with"]["path"] == "${{ env.BENCH_OUT }}/"
    assert upload["with"]["name"].startswith("bench-shard-${{ matrix.shard }}")
    assert gate["needs"] == "shard" and gate["if"] == "${{ !cancelled() }}"
    download = next(s for s in gate["steps"] if s.get("uses", "").startswith("actions/download"))
    assert download["with"]["pattern"].startswith("bench-shard-")
    assert download["with"]["path"] == "shards"
    text = "\n".join(s.get("run", "") for s in gate["steps"])
    order = [
        text.index(w) for w in ("benchgate merge shards/*", "benchgate reduce", "benchgate compare")
    ]
    assert order == sorted(order)
    assert "--github" in text and "--junit" in text and "$GITHUB_STEP_SUMMARY" in text
    store = next(s for s in gate["steps"] if "store" in s.get("name", "").lower())
    assert "BENCHGATE_STORE" in store["if"]


def test_gitlab_parallel_and_gate() -> None:
    doc = _doc("gitlab")
    shard, gate = doc["bench-shard"], doc["bench-gate"]
    assert shard["parallel"] == N
    assert shard["artifacts"]["paths"] == ["shards/"]
    run = next(a for k, j, _, a in CASES if k == "gitlab" and j == "bench-shard" and a[0] == "run")
    assert _shard_arg(run) == "PLACEHOLDER/PLACEHOLDER"  # $CI_NODE_INDEX/$CI_NODE_TOTAL
    assert run[run.index("--out-dir") + 1] == "shards/PLACEHOLDER"
    assert gate["needs"] == [{"job": "bench-shard", "artifacts": True}]
    assert gate["variables"]["BENCH_SHARDS"] == str(N)
    script = "\n".join(gate["script"])
    assert 'benchgate merge shards/* --out-dir "$BENCH_OUT"' in script
    assert "BENCHGATE_STORE" in script
    assert gate["artifacts"]["reports"]["junit"] == "outputs/bench/results/junit.xml"


def test_shards_bounds_and_project_paths(tmp_path: Path) -> None:
    with pytest.raises(BenchgateError, match="--shards"):
        sharded_ci_template("github", 0)
    with pytest.raises(BenchgateError, match="--ci"):
        sharded_ci_template("jenkins", 2)
    assert _doc("github", 1)["jobs"]["shard"]["strategy"]["matrix"]["shard"] == [1]
    cfg = Config(root=tmp_path, out_dir="perf/out", baselines="perf/base.json")
    _, text = sharded_ci_template("gitlab", 3, cfg)
    assert "BENCH_OUT: perf/out" in text and "BENCH_BASELINES: perf/base.json" in text


def test_init_writes_the_sharded_layout(project: Path, cli: Any) -> None:
    r: Result = cli("init", "--ci", "github", "--shards", "4")
    assert r.exit_code == 0, r.output
    wf = yaml.safe_load((project / ".github/workflows/bench.yml").read_text())
    assert wf["jobs"]["shard"]["strategy"]["matrix"]["shard"] == [1, 2, 3, 4]
    r = cli("init", "--shards", "4")
    assert r.exit_code == 2 and "only with --ci" in r.output
