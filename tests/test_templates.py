"""The CI templates: valid YAML, the triggers of the method, and command lines that parse.

Every ``benchgate ...`` command line in the GitHub workflow and the GitLab include is
extracted from its shell script and parsed by the real ``benchgate.cli.main`` group, with
the variables the template defines substituted. A command the CLI does not have (yet)
makes its case fail: the templates must never call what does not exist.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import Result

from benchgate.ci import TEMPLATE_BASELINES, TEMPLATE_OUT_DIR, ci_template
from benchgate.cli import main
from benchgate.config import Config
from conftest import const_bench, git, write_baselines

TEMPLATES = {kind: yaml.safe_load(ci_template(kind)[1]) for kind in ("github", "gitlab")}
TEXT = {kind: ci_template(kind)[1] for kind in ("github", "gitlab")}
BASELINES = "tests/bench/baselines.json"
POST_MERGE = (
    "numbers fall outside the thresholds right after a refresh: the measuring environment "
    "is likely unstable — run \\`benchgate doctor\\`, investigate promptly"
)

# Leading shell words that are not part of the command they introduce.
_SHELL_PREFIX = re.compile(r"^(?:(?:if|then|else|elif|do|while|until|!|time)\s+)+")
_REDIRECT = re.compile(r"^(?:\d?>>?|&>|\d?<)(.*)$")


def _scripts(kind: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(job name, script text, variables visible to it) for every script of a template."""
    doc = TEMPLATES[kind]
    if kind == "github":
        top = {k: str(v) for k, v in (doc.get("env") or {}).items()}
        for name, job in doc["jobs"].items():
            job_env = {**top, **{k: str(v) for k, v in (job.get("env") or {}).items()}}
            for step in job["steps"]:
                if "run" in step:
                    env = {**job_env, **{k: str(v) for k, v in (step.get("env") or {}).items()}}
                    yield name, step["run"], env
        return
    base = doc.get(".benchgate", {})
    for name, job in doc.items():
        # Hidden jobs (.benchgate) are templates: their scripts are checked in the jobs.
        if name.startswith(".") or not isinstance(job, dict) or "script" not in job:
            continue
        env = {
            k: str(v)
            for k, v in {**(base.get("variables") or {}), **(job.get("variables") or {})}.items()
        }
        for section in ("before_script", "script", "after_script"):
            for text in job.get(section) or base.get(section) or []:
                yield name, text, env


def _substitute(text: str, env: dict[str, str]) -> str:
    """Shell variables replaced by the template's values (others by a placeholder)."""

    def one(m: re.Match[str]) -> str:
        value = env.get(m.group(1), "PLACEHOLDER")
        return "PLACEHOLDER" if "${{" in value else value  # set by GitHub at run time

    text = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}", one, text)
    return re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", one, text)


def command_lines(kind: str) -> list[tuple[str, str, list[str]]]:
    """(job, raw segment, argv after ``benchgate``) for every benchgate call in a template."""
    out = []
    for job, script, env in _scripts(kind):
        for raw in script.replace("\\\n", " ").splitlines():
            if raw.strip().startswith("#"):
                continue
            for seg in re.split(r"&&|\|\||;|\|", raw):
                seg = _SHELL_PREFIX.sub("", seg.strip())
                if not seg.startswith("benchgate "):
                    continue
                words = shlex.split(_substitute(seg, env), comments=True)
                args: list[str] = []
                skip_next = False
                for w in words[1:]:
                    if skip_next:
                        skip_next = False
                        continue
                    m = _REDIRECT.match(w)
                    if m:
                        skip_next = not m.group(1)  # `> file` takes the next word
                        continue
                    args.append(w)
                out.append((job, seg, args))
    return out


def parse(args: list[str]) -> click.Command:
    """Parse ``args`` with the real CLI down to the leaf command, without running it."""
    group: click.Group = main
    ctx = group.make_context("benchgate", list(args), resilient_parsing=False)
    rest = [*ctx._protected_args, *ctx.args]
    while True:
        name, cmd, rest = group.resolve_command(ctx, rest)
        assert cmd is not None, f"unknown command {name!r}"
        sub = cmd.make_context(name or "", list(rest), parent=ctx, resilient_parsing=False)
        if isinstance(cmd, click.Group):
            group, ctx = cmd, sub
            rest = [*sub._protected_args, *sub.args]
            continue
        return cmd


CASES = [(kind, job, seg, args) for kind in TEMPLATES for job, seg, args in command_lines(kind)]


def test_every_expected_command_is_extracted() -> None:
    """The extraction is not vacuous: each template calls each step of the method."""
    for kind in TEMPLATES:
        used = {args[0] for k, _, _, args in CASES if k == kind}
        assert {"run", "reduce", "compare", "collect", "ab", "check", "doctor"} <= used, kind
    assert len(CASES) >= 20


@pytest.mark.parametrize(
    "kind, job, segment, args",
    CASES,
    ids=[f"{k}:{j}:{a[0]}:{i}" for i, (k, j, _, a) in enumerate(CASES)],
)
def test_command_line_parses(kind: str, job: str, segment: str, args: list[str]) -> None:
    # `benchgate check --help` probes whether the command exists: parse it without --help,
    # since the probe must name a real command too.
    args = [a for a in args if a != "--help"]
    try:
        parse(args)
    except click.UsageError as exc:
        pytest.fail(f"{kind} template, job {job}: `{segment}` does not parse: {exc}")


# --- GitHub ------------------------------------------------------------------------------


def _gh_steps(job: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = TEMPLATES["github"]["jobs"][job]["steps"]
    return steps


def _gh_runs(job: str) -> str:
    return "\n".join(s["run"] for s in _gh_steps(job) if "run" in s)


def test_github_triggers() -> None:
    wf = TEMPLATES["github"]
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in on
    assert on["push"]["branches"]
    assert on["schedule"][0]["cron"]
    assert "workflow_dispatch" in on
    jobs = wf["jobs"]
    assert jobs["pr-check"]["if"] == "github.event_name == 'pull_request'"
    assert jobs["guardrail"]["if"] == "github.event_name != 'pull_request'"
    assert wf["permissions"] == {"contents": "read"}


def test_github_pr_check() -> None:
    wf = TEMPLATES["github"]
    env = wf["env"]
    assert env["BENCH_PR_FILTER"] == "" and env["BENCH_PR_REPEAT"] == "3"
    job = wf["jobs"]["pr-check"]
    assert job["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    checkout = _gh_steps("pr-check")[0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    runs = _gh_runs("pr-check")
    assert 'benchgate run --repeat "$BENCH_PR_REPEAT" -k "$BENCH_PR_FILTER"' in runs
    assert (
        'benchgate ab --base "$BASE_SHA" --repeat "$BENCH_PR_AB_REPEAT" --confirm -k "$BENCH_PR_FILTER"'
        in runs
    )
    # `compare --github` appends the verdict table to the step summary itself: the
    # workflow must not append it a second time.
    assert (
        'benchgate compare --baselines-rev "$BASELINES_REV" --allow "$BENCH_PR_ALLOW" --github'
        in runs
    )
    assert not re.search(r'benchgate compare [^\n]*>> "\$GITHUB_STEP_SUMMARY"', runs)
    assert 'echo "BASELINES_REV=$BASE_SHA" >> "$GITHUB_ENV"' in runs
    # A base without baselines.json (the PR adds it) is said explicitly, never read as {}.
    assert 'git cat-file -e "$BASE_SHA:$BENCH_BASELINES"' in runs
    assert 'echo "BENCHGATE_BASELINES_MISSING_OK=1" >> "$GITHUB_ENV"' in runs
    # The checklist only when the PR changes baselines.json, and only if `check` exists.
    check = next(s for s in _gh_steps("pr-check") if "benchgate check" in s.get("run", ""))
    assert 'git diff --quiet "$BASE_SHA" HEAD -- "$BENCH_BASELINES"' in check["run"]
    assert "benchgate check --help >/dev/null 2>&1" in check["run"]
    assert 'benchgate check --base "$BASE_SHA" --format markdown' in check["run"]
    assert env["BENCH_BASELINES"] == BASELINES


def test_github_guardrail() -> None:
    runs = _gh_runs("guardrail")
    for line in (
        'benchgate run --repeat "$BENCH_REPEAT"',
        "benchgate reduce --method median",
        'benchgate compare --github --junit "$BENCH_OUT/junit.xml"',
        "benchgate collect --out-dir outputs",
    ):
        assert line in runs
    assert TEMPLATES["github"]["env"]["BENCH_REPEAT"] == "5"
    assert (
        runs.index("benchgate run")
        < runs.index("benchgate reduce")
        < runs.index("benchgate compare")
        < runs.index("benchgate collect")
    )
    for job in ("pr-check", "guardrail"):
        steps = _gh_steps(job)
        upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
        assert upload["if"] == "always()" and upload["with"]["path"] == "outputs/"
        collect = next(s for s in steps if "benchgate collect" in s.get("run", ""))
        assert collect["if"] == "always()"
        install = next(s for s in steps if "pip install benchgate" in s.get("run", ""))
        assert "Pin benchgate" in install["run"] and "pip install -e ." in install["run"]


def test_github_post_merge_validation() -> None:
    steps = _gh_steps("guardrail")
    detect = next(s for s in steps if "BENCH_POST_MERGE=1" in s.get("run", ""))
    assert detect["if"] == "github.event_name == 'push'"
    assert detect["env"]["BEFORE"] == "${{ github.event.before }}"
    assert '! git diff --quiet "$BEFORE" HEAD -- "$BENCH_BASELINES"' in detect["run"]
    gate = next(s for s in steps if "benchgate compare --github" in s.get("run", ""))
    assert POST_MERGE in gate["run"]
    assert '"${BENCH_POST_MERGE:-0}" = "1"' in gate["run"]
    assert gate["run"].rstrip().endswith('exit "$rc"')


def test_github_no_expressions_inside_scripts() -> None:
    """`${{ }}` in a run script is an injection risk: values come in through env:."""
    for job in TEMPLATES["github"]["jobs"]:
        assert "${{" not in _gh_runs(job), job


# --- GitLab ------------------------------------------------------------------------------


def _rules(job: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = TEMPLATES["gitlab"][job]["rules"]
    return rules


def _script(job: str) -> str:
    return "\n".join(TEMPLATES["gitlab"][job]["script"])


def test_gitlab_is_an_include() -> None:
    head = TEXT["gitlab"].split("\n\n")[0]
    assert "include:" in head and "- local: .gitlab-ci.bench.yml" in head
    doc = TEMPLATES["gitlab"]
    assert "stages" not in doc and "workflow" not in doc  # an include must not override these
    for job in ("bench-mr", "bench-baselines-review", "bench-guardrail"):
        assert doc[job]["extends"] == ".benchgate"


def test_gitlab_rules() -> None:
    assert _rules("bench-mr") == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    review = _rules("bench-baselines-review")
    assert review[0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert review[0]["changes"] == [BASELINES]
    guard = _rules("bench-guardrail")
    default_push = '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH'
    assert guard[0] == {
        "if": default_push,
        "changes": [BASELINES],
        "variables": {"BENCH_POST_MERGE": "1"},
    }
    assert guard[1] == {"if": default_push}
    assert {"if": '$CI_PIPELINE_SOURCE == "schedule"'} in guard


def test_gitlab_jobs() -> None:
    base = TEMPLATES["gitlab"][".benchgate"]
    assert base["variables"]["GIT_DEPTH"] == "0"
    assert base["artifacts"]["when"] == "always"
    assert base["artifacts"]["paths"] == ["outputs/"]
    assert base["artifacts"]["reports"]["junit"] == "outputs/bench/results/junit.xml"
    assert base["after_script"] == ["benchgate collect --out-dir outputs"]
    assert "pip install benchgate" in base["before_script"]
    assert "pip install -e ." in base["before_script"]
    mr = TEMPLATES["gitlab"]["bench-mr"]
    assert mr["variables"]["BENCH_PR_FILTER"] == "" and mr["variables"]["BENCH_PR_REPEAT"] == "3"
    script = _script("bench-mr")
    assert 'BASE_SHA="$CI_MERGE_REQUEST_DIFF_BASE_SHA"' in script
    assert (
        'benchgate ab --base "$BASE_SHA" --repeat "$BENCH_PR_AB_REPEAT" --confirm -k "$BENCH_PR_FILTER"'
        in script
    )
    assert 'benchgate compare --baselines-rev "$BASELINES_REV"' in script
    assert '--junit "$BENCH_OUT/junit.xml"' in script
    review = _script("bench-baselines-review")
    assert "benchgate check --help >/dev/null 2>&1" in review
    assert 'benchgate check --base "$CI_MERGE_REQUEST_DIFF_BASE_SHA" --format markdown' in review
    guard = _script("bench-guardrail")
    assert TEMPLATES["gitlab"]["bench-guardrail"]["variables"]["BENCH_REPEAT"] == "5"
    assert "benchgate reduce --method median" in guard
    assert 'benchgate compare --junit "$BENCH_OUT/junit.xml" || rc=$?' in guard
    assert POST_MERGE in guard
    assert guard.rstrip().endswith('exit "$rc"')


# --- generation ---------------------------------------------------------------------------


def test_templates_with_project_paths_stay_valid(tmp_path: Path) -> None:
    cfg = Config(root=tmp_path, baselines="benchmarks/baselines.json", out_dir="benchmarks/out")
    gh = yaml.safe_load(ci_template("github", cfg)[1])
    assert gh["env"]["BENCH_BASELINES"] == "benchmarks/baselines.json"
    assert gh["env"]["BENCH_OUT"] == "benchmarks/out"
    gl = yaml.safe_load(ci_template("gitlab", cfg)[1])
    assert gl["bench-guardrail"]["rules"][0]["changes"] == ["benchmarks/baselines.json"]
    assert gl[".benchgate"]["variables"]["BENCH_OUT"] == "benchmarks/out"


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_init_writes_the_template(kind: str, project: Path, cli: Callable[..., Result]) -> None:
    r = cli("init", "--ci", kind)
    assert r.exit_code == 0, r.output
    dest, _ = ci_template(kind)
    assert dest in r.output
    assert yaml.safe_load((project / dest).read_text())


CUSTOM_PATHS = {
    "bench_dir": "perf",
    "out_dir": "build/perf-out",
    "baselines": "perf/baselines.json",
    "report": "perf/report.md",
    "gates_md": "docs/GATES.md",
}


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_init_ci_uses_the_projects_paths(
    kind: str, project: Path, cli: Callable[..., Result]
) -> None:
    """`init --ci` passes the project's config: the workflow names its real paths."""
    settings = "".join(f'{k} = "{v}"\n' for k, v in CUSTOM_PATHS.items())
    with (project / "pyproject.toml").open("a") as f:
        f.write(f"\n[tool.benchgate]\n{settings}")
    r = cli("init", "--ci", kind)
    assert r.exit_code == 0, r.output
    dest, _ = ci_template(kind)
    text = (project / dest).read_text()
    for value in CUSTOM_PATHS.values():
        assert value in text, value
    for default in ("tests/bench", "tests/reports", "tests/GATES.md"):
        assert default not in text, default
    doc = yaml.safe_load(text)
    variables = doc["env"] if kind == "github" else doc[".benchgate"]["variables"]
    assert variables["BENCH_OUT"] == "build/perf-out"
    assert variables["BENCH_BASELINES"] == "perf/baselines.json"


def test_template_paths_are_swapped_in_one_pass(tmp_path: Path) -> None:
    """A custom bench dir leaves the default baselines path (under tests/bench) whole."""
    _, text = ci_template("github", Config(root=tmp_path, bench_dir="perf"))
    assert f"BENCH_BASELINES: {TEMPLATE_BASELINES}" in text
    assert "benches\n# in perf," in text
    # A project value that contains another default is not rewritten again.
    cfg = Config(root=tmp_path, out_dir="tests/bench/out", baselines="tests/reports/bench.json")
    doc = yaml.safe_load(ci_template("github", cfg)[1])
    assert doc["env"]["BENCH_OUT"] == "tests/bench/out"
    assert doc["env"]["BENCH_BASELINES"] == "tests/reports/bench.json"


def test_absolute_project_paths_are_written_relative(tmp_path: Path) -> None:
    cfg = Config(root=tmp_path, out_dir=str(tmp_path / "out"), baselines="b.json")
    doc = yaml.safe_load(ci_template("gitlab", cfg)[1])
    assert doc[".benchgate"]["variables"]["BENCH_OUT"] == "out"
    assert TEMPLATE_OUT_DIR not in ci_template("gitlab", cfg)[1]


def test_pr_check_passes_a_metric_the_pr_adds_with_its_baseline(
    project: Path, cli: Callable[..., Result], write_bench: Callable[[str, str], Path]
) -> None:
    """What the templates' BENCH_PR_ALLOW comment says: with `--baselines-rev` a metric the
    PR adds together with its baseline (as the method asks) is NEW, shows the value
    proposed and does not fail; one added without a baseline fails unless allowed."""
    git(project, "init", "-q", "-b", "main")
    write_bench("a", const_bench({"ops": (1000.0, "ops/sec")}))
    write_baselines(project, {"a.ops": {"value": 1000.0, "unit": "ops/sec"}})
    git(project, "add", "-A")
    git(project, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-q", "-m", "base")
    git(project, "checkout", "-q", "-b", "pr")
    write_bench("b", const_bench({"ops": (500.0, "ops/sec")}))
    write_baselines(
        project,
        {
            "a.ops": {"value": 1000.0, "unit": "ops/sec"},
            "b.ops": {"value": 500.0, "unit": "ops/sec", "notes": "added with b"},
        },
    )
    git(project, "add", "-A")
    git(project, "-c", "user.name=T", "-c", "user.email=t@e", "commit", "-q", "-m", "add b")
    assert cli("run", "--repeat", "1").exit_code == 0
    r = cli("compare", "--baselines-rev", "main", "--allow", "missing", "--no-github")
    assert r.exit_code == 0, r.output
    new = next(line for line in r.output.splitlines() if line.startswith("NEW"))
    assert "b.ops" in new and "PR proposes 500" in new and "baseline added by this change" in new
    assert cli("compare", "--allow", "missing", "--no-github").exit_code == 0  # HEAD's own

    # A metric added without a baseline is NEW and fails the check, unless allowed.
    write_bench("c", const_bench({"ops": (70.0, "ops/sec")}))
    assert cli("run", "--repeat", "1").exit_code == 0
    r = cli("compare", "--baselines-rev", "main", "--allow", "missing", "--no-github")
    assert r.exit_code == 1, r.output
    r = cli("compare", "--baselines-rev", "main", "--allow", "missing,new", "--no-github")
    assert r.exit_code == 0, r.output


def test_pr_filter_applies_to_ab() -> None:
    """`benchgate ab` takes -k like `run`: the A/B of a PR measures the same subset."""
    for kind in TEMPLATES:
        ab_cases = [args for k, _, _, args in CASES if k == kind and args[0] == "ab"]
        assert ab_cases and all("-k" in args for args in ab_cases), kind
