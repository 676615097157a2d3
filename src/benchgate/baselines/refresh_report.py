"""The bench dir's report.md (how the baselines were measured) and the refresh PR's text.

report.md is shared with people: benchgate only rewrites the blocks it owns, delimited by
``<!-- benchgate:begin NAME -->`` ... ``<!-- benchgate:end NAME -->``; everything outside
them (hand-written notes, upcoming work) survives every refresh.

Two blocks are written:

- ``refresh``: the methodology of the last refresh for humans (machine, CPU, cores used,
  Python and dependency versions, exact commands, runs and aggregation, each key
  old -> new with its spread, the reason, the caveats);
- ``environment``: the environment the baselines were measured in, as JSON, which
  ``benchgate compare`` reads (:func:`read_baseline_environment`) to warn when the
  current environment differs. It lives in report.md, not in a file of its own, because
  the method's dedicated refresh PR may change only baselines.json, report.md and docs.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from benchgate.baselines.refresh import REASON_TEXT, RefreshPlan
from benchgate.config import Config
from benchgate.judge.stats import noise
from benchgate.model import RunRecord
from benchgate.render import fmt
from benchgate.render.report import environment_rows
from benchgate.render.report import environment_table as _md_table

REPORT_TITLE = "# Benchmark methodology"
REFRESH_SECTION = "refresh"
ENV_SECTION = "environment"
# Past this many distributions the dependency list is folded into a <details> element.
FOLD_DEPS = 12


def _begin(name: str) -> str:
    return f"<!-- benchgate:begin {name} -->"


def _end(name: str) -> str:
    return f"<!-- benchgate:end {name} -->"


def _block_re(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(_begin(name)) + r"\n?(.*?)" + re.escape(_end(name)), re.S)


def read_section(text: str, name: str) -> str | None:
    """The content of block ``name`` in ``text``, or None when there is no such block."""
    m = _block_re(name).search(text)
    return m.group(1) if m else None


def replace_section(text: str, name: str, content: str) -> str:
    """``text`` with block ``name`` set to ``content`` (appended at the end if absent).

    Everything outside the block is kept byte for byte.
    """
    block = f"{_begin(name)}\n{content.rstrip(chr(10))}\n{_end(name)}"
    m = _block_re(name).search(text)
    if m:
        return text[: m.start()] + block + text[m.end() :]
    if not text.strip():
        return f"{REPORT_TITLE}\n\n{block}\n"
    sep = "" if text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    return f"{text}{sep}{block}\n"


def compact_json(data: Any) -> str:
    """JSON indented by 2, with lists of plain values kept on one line (short evidence)."""
    flat: dict[str, str] = {}

    def walk(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            if all(not isinstance(v, (dict, list)) for v in x):
                token = f"\x00{len(flat)}\x00"
                flat[json.dumps(token)] = json.dumps(x, ensure_ascii=False)
                return token
            return [walk(v) for v in x]
        return x

    text = json.dumps(walk(data), indent=2, ensure_ascii=False)
    for token, inline in flat.items():
        text = text.replace(token, inline, 1)
    return text


def environment_block(env: dict[str, Any]) -> str:
    """The machine-readable block: the environment as JSON inside a folded element."""
    # Sorted at every level, so the block's diff between refreshes shows only what changed.
    body = compact_json(json.loads(json.dumps(env, sort_keys=True, default=str)))
    # "<" only occurs inside JSON strings: as \u003c it can neither open HTML nor end the
    # block early (a value holding "<!-- benchgate:end environment -->"); json reads it back.
    body = body.replace("<", "\\u003c")
    return (
        "<details><summary>Baseline environment (machine-readable; "
        "<code>benchgate compare</code> warns when the current one differs)</summary>\n\n"
        + "\n".join(fmt.fence(body, "json"))
        + "\n\n</details>"
    )


def read_baseline_environment(report_path: Path) -> dict[str, Any] | None:
    """The environment the baselines were measured in, as the last refresh recorded it.

    None when report.md is absent, has no environment block, or the block is not JSON.
    """
    try:
        text = Path(report_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return parse_baseline_environment(text)


def parse_baseline_environment(text: str) -> dict[str, Any] | None:
    """The environment block of a report.md text (None if absent or not a JSON object)."""
    section = read_section(text, ENV_SECTION)
    if section is None:
        return None
    m = re.search(r"(`{3,})json\n(.*?)\n\1", section, re.S)
    if not m:
        return None
    try:
        data = json.loads(m.group(2))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


# --- pieces shared by report.md and the PR body ---------------------------------------


def _machine(env: dict[str, Any]) -> str:
    bits = [str(x) for x in (env.get("machine"), env.get("hostname")) if x]
    text = " / ".join(bits) if bits else "not recorded"
    if env.get("hypervisor"):
        text += f" (virtual machine: {env.get('hypervisor_type') or 'yes'})"
    return text


def environment_table(env: dict[str, Any], disturbed: int = 0, runs: int = 0) -> list[str]:
    """Machine, CPU, cores used, Python and the rest as a markdown table.

    ``disturbed`` of ``runs`` runs used were disturbed: the Doctor row says so.
    """
    if not env:
        return ["_The runs record no environment._"]
    return _md_table([("Machine", _machine(env)), *environment_rows(env, disturbed, runs)])


def dependency_lines(env: dict[str, Any]) -> list[str]:
    """The dependency versions recorded with the runs (folded when there are many)."""
    dists = env.get("distributions")
    if not isinstance(dists, dict) or not dists:
        return ["Dependency versions: not recorded."]
    items = [
        f"{fmt.md_code(k, table=False)} {fmt.md_text(v)}"
        for k, v in sorted(dists.items(), key=lambda kv: str(kv[0]).lower())
    ]
    if len(items) <= FOLD_DEPS:
        return ["Dependency versions: " + ", ".join(items) + "."]
    return [
        f"<details><summary>Dependency versions ({len(items)})</summary>",
        "",
        ", ".join(items),
        "",
        "</details>",
    ]


def commands(runs: list[RunRecord]) -> list[dict[str, Any]]:
    """The distinct commands the runs were made with, in order: argv, CPUs, env vars, count."""
    out: dict[str, dict[str, Any]] = {}
    for r in runs:
        cmd = r.command or {}
        argv = cmd.get("argv") or []
        key = json.dumps([argv, cmd.get("cpus"), cmd.get("env")], sort_keys=True, default=str)
        entry = out.setdefault(
            key,
            {
                "argv": [str(a) for a in argv],
                "cpus": cmd.get("cpus"),
                "env": dict(cmd.get("env") or {}),
                "runs": 0,
                "invocations": set(),
                "bench_argv": {},
            },
        )
        entry["runs"] += 1
        entry["invocations"].add(r.invocation)
        if cmd.get("bench_argv"):
            entry["bench_argv"][r.bench] = [str(a) for a in cmd["bench_argv"]]
    return list(out.values())


def command_lines(runs: list[RunRecord]) -> list[str]:
    """The exact commands as a fenced block, with pinning and env vars, then bench commands."""
    cmds = commands(runs)
    if not cmds or not any(c["argv"] for c in cmds):
        return ["_The runs record no command line._"]
    block: list[str] = []
    bench_argv: dict[str, list[str]] = {}
    for c in cmds:
        calls = len(c["invocations"])
        pin = f"pinned to CPUs {fmt.cpus(c['cpus'])}" if c["cpus"] else "not pinned"
        if c["cpus"] and pins_every_cpu(c["cpus"], runs[-1].env):
            pin += " (every CPU of the machine: nothing isolated)"
        env = " ".join(f"{k}={v}" for k, v in c["env"].items()) or "none"
        block.append(
            f"# {c['runs']} runs in {calls} call{'s' if calls != 1 else ''}; {pin}; "
            f"benchmark env vars: {fmt.plain(env)}"
        )
        block.append(shlex.join(c["argv"]) if c["argv"] else "# (command line not recorded)")
        bench_argv.update(c["bench_argv"])
    lines = fmt.fence("\n".join(block), "bash")
    if bench_argv:
        lines += ["", "Each bench ran in a fresh subprocess as:", ""]
        lines += [
            f"- {fmt.md_code(name, table=False)}: {fmt.md_code(shlex.join(a), table=False)}"
            for name, a in sorted(bench_argv.items())
        ]
    return lines


def runs_summary(plan: RefreshPlan) -> str:
    """Number of runs and the aggregation method, in one sentence."""
    ns = sorted({c.metric.spread.n for c in plan.changes})
    if not ns:
        per = "no metric"
    elif len(ns) == 1:
        per = f"{ns[0]} runs per metric"
    else:
        per = f"{ns[0]} to {ns[-1]} runs per metric"
    calls = len({r.invocation for r in plan.runs_used})
    dropped = " (disturbed runs left out)" if plan.options.drop_disturbed else ""
    return (
        f"{per} ({len(plan.runs_used)} runs in {calls} `benchgate run` call"
        f"{'s' if calls != 1 else ''}{dropped}), aggregated by **{plan.options.method}**. "
        "Spread is the interquartile range across runs relative to the median (IQR/median), "
        "the measure that decides whether a metric is noisy."
    )


def changes_table(plan: RefreshPlan) -> list[str]:
    """Each refreshed key: old -> new, change, runs, spread, what was accepted."""
    lines = [
        "| key | old | new | unit | change | runs | min | max | IQR/median | note |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for c in plan.changes:
        s = c.metric.spread
        note = []
        if c.is_new:
            note.append("new metric")
        if c.noisy_allowed:
            note.append("noisy, allowed")
        if c.regression_accepted:
            note.append("regression accepted")
        lines.append(
            f"| {fmt.md_code(c.key)} | {fmt.num(c.old)} | {fmt.num(c.new)} | {fmt.md_cell(c.unit)} "
            f"| {fmt.pct(c.delta_pct)} | {s.n} | {fmt.num(s.min)} | {fmt.num(s.max)} "
            f"| {fmt.share(noise(s))} | {', '.join(note)} |"
        )
    return lines


def _reason_line(plan: RefreshPlan) -> str:
    reason = (plan.options.reason or "").lower()
    label = REASON_TEXT.get(reason, reason)
    why = fmt.md_text(plan.options.why or "")
    return f"**Reason:** {fmt.md_text(reason)} ({fmt.md_text(label)}) — {why}"


def refresh_section(plan: RefreshPlan) -> str:
    """The ``refresh`` block of report.md."""
    lines = [
        f"## Last baseline refresh ({plan.date}, reason: {plan.options.reason})",
        "",
        "_Written by `benchgate refresh`; text outside the benchgate blocks is kept._",
        "",
        _reason_line(plan),
        "",
        "### Environment",
        "",
        *environment_table(plan.env, *_disturbed(plan)),
        "",
        *dependency_lines(plan.env),
        "",
        "### Commands",
        "",
        *command_lines(plan.runs_used),
        "",
        "### Runs and aggregation",
        "",
        runs_summary(plan),
        "",
        "### Refreshed keys",
        "",
        *changes_table(plan),
        "",
        "### Caveats",
        "",
    ]
    lines += [f"- {fmt.md_text(c)}" for c in plan.caveats] or ["None recorded."]
    return "\n".join(lines)


def render_report(plan: RefreshPlan, existing: str | None) -> str:
    """report.md after the refresh: its benchgate blocks regenerated, the rest kept."""
    text = existing or ""
    text = replace_section(text, REFRESH_SECTION, refresh_section(plan))
    # Always rewritten, even empty: a stale block would make `compare` judge the current
    # environment against one these baselines were not measured in.
    return replace_section(text, ENV_SECTION, environment_block(plan.env))


# --- the pull request --------------------------------------------------------------------

TITLE_WHY_MAX = 50


def pr_title(reason: str, why: str | None = None) -> str:
    """``bench: refresh baselines (reason: deps — msgspec 0.18 -> 0.19)``, kept short."""
    short = reason
    w = " ".join((why or "").split())
    if w:
        if len(w) > TITLE_WHY_MAX:
            w = w[: TITLE_WHY_MAX - 1].rstrip() + "…"
        short = f"{reason} — {w}"
    return f"bench: refresh baselines (reason: {short})"


def evidence_snippet(plan: RefreshPlan) -> str:
    """The refreshed keys' reduced results as JSON (what the out-dir's files hold)."""
    data: dict[str, Any] = {}
    for c in plan.changes:
        m = c.metric.to_dict()
        for k in ("key", "bench", "metric"):
            m.pop(k, None)
        if not m.get("inferred"):
            m.pop("inferred", None)
        data[c.key] = m
    return compact_json(data)


def _disturbed(plan: RefreshPlan) -> tuple[int, int]:
    """How many of the runs a refresh used were disturbed, and how many it used."""
    return sum(1 for r in plan.runs_used if r.disturbed), len(plan.runs_used)


def pins_every_cpu(cpus: Any, env: dict[str, Any]) -> bool:
    """True when the CPUs a run was pinned to are all the machine's logical CPUs."""
    logical = env.get("logical_cores")
    if not isinstance(cpus, list) or not isinstance(logical, int) or logical <= 0:
        return False
    return len(set(cpus)) >= logical


def _box(done: bool, text: str) -> str:
    return f"- [{'x' if done else ' '}] {text}"


def checklist(plan: RefreshPlan, config: Config, report_written: bool = True) -> list[str]:
    """The refresh PR checklist, with what benchgate can verify ticked; sign-off left open."""
    env = plan.env
    reason = plan.options.reason or ""
    env_ok = bool(env.get("cpu_model") and env.get("python"))
    cmds = commands(plan.runs_used)
    recorded = bool(cmds) and all(c["argv"] for c in cmds)
    pinned = recorded and all(c["cpus"] for c in cmds)
    # Pinned to every CPU of the machine (`--cpus auto` on a small runner) isolates nothing.
    everything = pinned and any(pins_every_cpu(c["cpus"], env) for c in cmds)
    ns = [c.metric.spread.n for c in plan.changes]
    reps_ok = bool(ns) and min(ns) >= 5
    n_text = f"{min(ns)}" if ns and min(ns) == max(ns) else (f"{min(ns)}-{max(ns)}" if ns else "0")
    if everything:
        pin_text = (
            f"pinned to every CPU of the machine ({env.get('logical_cores')} of "
            f"{env.get('logical_cores')}): **nothing was isolated** from other processes"
        )
    elif pinned:
        pin_text = "pinned"
    else:
        pin_text = "recorded, **not pinned** (`benchgate run --cpus`)"
    rows = [
        _box(True, f"Reason for refresh (algo change / deps / hardware / CI image): {reason}"),
        _box(
            env_ok,
            "Environment details (CPU, Python, deps)"
            + ("" if env_ok else ": **incomplete** in the runs' records"),
        ),
        _box(
            pinned and not everything,
            "Commands used (with pinning)" + (f": {pin_text}" if recorded else ": not recorded"),
        ),
        _box(
            reps_ok,
            f"Repetitions (≥5) and aggregation method: {n_text} runs, {plan.options.method}",
        ),
        _box(
            True,
            f"Updated {config.baselines} minimal scope: {len(plan.changes)} key(s), others "
            "byte-identical (`benchgate check` verifies the PR's files)",
        ),
        _box(report_written, f"Updated {config.report} with summary"),
        _box(bool(plan.changes), "Evidence attached (JSON snippets / CI artifacts): below"),
        _box(False, "Reviewer sign-off"),
    ]
    return rows


def pr_body(plan: RefreshPlan, config: Config, report_written: bool = True) -> str:
    """The refresh PR's description: reason, environment, commands, runs, evidence, checklist."""
    lines = [
        _reason_line(plan),
        "",
        f"_{fmt.md_text(plan.decision)}_",
        "",
        "### Environment",
        "",
        *environment_table(plan.env, *_disturbed(plan)),
        "",
        *dependency_lines(plan.env),
        "",
        "### Commands",
        "",
        *command_lines(plan.runs_used),
        "",
        "### Repetitions and aggregation",
        "",
        runs_summary(plan),
        "",
        "### Changes",
        "",
        *changes_table(plan),
        "",
    ]
    if plan.caveats:
        lines += ["### Caveats", "", *[f"- {fmt.md_text(c)}" for c in plan.caveats], ""]
    lines += [
        "### Evidence",
        "",
        "Reduced results of the refreshed keys (per-run values, spread, run ids):",
        "",
        *fmt.fence(evidence_snippet(plan), "json"),
        "",
        "### Checklist",
        "",
        *checklist(plan, config, report_written),
        "",
        "Reviewer: `benchgate check --base <base branch>` runs the reviewer checklist on this "
        "PR (scope, units and thresholds, notes, report, blanket shifts, regressions, rapid "
        "edits).",
    ]
    return "\n".join(lines) + "\n"
