"""``compare --confirm`` against the stored baseline's own commit, interleaved as ``ab`` does.

A stored-baseline verdict compares runs made today with runs made on the refresh day, and
more runs of today's side cannot remove the machine's drift between the two days. When the
baseline records the commit it measured (``measured_commit``, written by ``refresh``) and
that commit is in this repository, an unsure verdict is settled the way ``benchgate ab``
settles one: the commit is checked out in a temporary worktree and its benches run
interleaved with the working tree's (:func:`benchgate.ab.run.run_ab`, with its
``--confirm`` rounds: the one confirm loop, :func:`benchgate.judge.confirm.confirm_loop`).
The verdict is then judged on the pairs: a paired verdict with its ratio, as ``ab`` gives.

When the commit is not recorded or not reachable (a shallow clone, a commit rebased away,
no git checkout), nothing here runs: the caller falls back to re-measuring the current
side (:func:`benchgate.judge.confirm.confirm_unsure`) and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from benchgate.ab.run import ABResult, run_ab
from benchgate.config import Config
from benchgate.errors import BenchgateError
from benchgate.gitutil import git, toplevel
from benchgate.judge.confirm import worth_confirming
from benchgate.judge.gate import Gate
from benchgate.model import Baseline, Verdict
from benchgate.run.runner import Progress

# Where the interleaved runs go: <out-dir>/confirm-baseline/<commit[:12]>/ab/{base,head}.
CONFIRM_DIR = "confirm-baseline"
# Interleaved rounds before the confirm loop decides whether more are worth it (as `ab`).
DEFAULT_PAIRS = 5


def recorded_commit(b: Baseline | None) -> str | None:
    """The commit a baselines.json entry's values were measured at, if it records one."""
    c = b.raw.get("measured_commit") if b is not None else None
    return c if isinstance(c, str) and c else None


def reachable(root: Path, commit: str) -> tuple[str | None, str]:
    """(the full commit id, "") when ``commit`` is in the repository holding ``root``.

    Else (None, why): no git checkout, or a commit this clone does not have.
    """
    try:
        top = toplevel(root)
    except BenchgateError:
        return None, f"{root} is not in a git checkout"
    r = git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{commit}^{{commit}}"], top)
    if r.returncode != 0 or not r.stdout.strip():
        return None, (
            f"commit {commit[:12]} is not in this repository (a shallow clone? "
            "`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout)"
        )
    return r.stdout.strip(), ""


def confirm_targets(gate: Gate) -> list[Verdict]:
    """The verdicts ``--confirm`` would measure again (the one rule, ``worth_confirming``)."""
    return [v for v in gate.comparison.verdicts if worth_confirming(v)]


@dataclass
class Split:
    """Which confirmation targets can be paired against their baseline's commit."""

    by_commit: dict[str, list[str]] = field(default_factory=dict)  # full commit -> keys
    fallback: dict[str, str] = field(default_factory=dict)  # key -> why not paired


def split_targets(config: Config, gate: Gate) -> Split:
    """Sort the targets of ``--confirm`` by whether their baseline's commit is reachable."""
    out = Split()
    known: dict[str, tuple[str | None, str]] = {}
    for v in confirm_targets(gate):
        commit = recorded_commit(gate.baselines.get(v.key))
        if commit is None:
            out.fallback[v.key] = (
                "its baseline records no measured_commit (`benchgate refresh` writes one)"
            )
            continue
        if commit not in known:
            known[commit] = reachable(config.root, commit)
        full, why = known[commit]
        if full is None:
            out.fallback[v.key] = why
        else:
            out.by_commit.setdefault(full, []).append(v.key)
    return out


def paired(m: Verdict, commit: str) -> Verdict:
    """An ``ab`` metric (a paired verdict, with its ratio) as the comparison's verdict.

    Its ``baseline`` is the commit's median measured now, ``current`` the working tree's,
    ``n`` the number of pairs; the reason names the commit. Extra pairs ``ab --confirm``
    made are not "more runs" of the stored comparison: ``confirmed_runs`` is left at 0.
    """
    why = f"judged on {m.n} pairs interleaved with the baseline's commit {commit[:12]}"
    return replace(
        m,
        reason=why + (f" ({m.reason})" if m.reason else ""),
        confirmed_runs=0,
        before=None,
    )


@dataclass
class BaselineConfirm:
    """What pairing against the baselines' commits did."""

    gate: Gate
    before: dict[str, Verdict]  # key -> the stored-baseline verdict it replaces
    commits: dict[str, list[str]]  # full commit -> keys judged on pairs against it
    results: list[ABResult] = field(default_factory=list)
    paired: set[str] = field(default_factory=set)  # keys whose verdict is now the paired one

    def lines(self) -> list[str]:
        """One line per key: the stored-baseline verdict -> the paired one."""
        out = []
        now = {v.key: v for v in self.gate.comparison.verdicts}
        for commit, keys in self.commits.items():
            for key in keys:
                old, new = self.before[key], now.get(key)
                label = f"{old.status.label}{' (unsure)' if old.unsure else ''}"
                if new is None or key not in self.paired:
                    why = new.reason if new is not None else "not measured"
                    out.append(f"confirm: {key}: {label}, not paired against {commit[:12]}: {why}")
                    continue
                ratio = new.ratio if new.ratio is not None else 1 + (new.delta_pct or 0) / 100
                out.append(
                    f"confirm: {key}: {label} -> {new.status.label}"
                    f"{' (unsure)' if new.unsure else ''} on {new.n} pairs against the "
                    f"baseline's commit {commit[:12]} (ratio {ratio:.3f})"
                )
        return out


def confirm_against_commits(
    config: Config,
    out_dir: Path,
    gate: Gate,
    by_commit: dict[str, list[str]],
    budget_rounds: int,
    time_limit_s: float | None = None,
    progress: Callable[[Progress], None] | None = None,
    argv: list[str] | None = None,
    pairs: int = DEFAULT_PAIRS,
) -> BaselineConfirm:
    """Judge each key of ``by_commit`` on pairs interleaved with its baseline's commit.

    Per commit, its keys' benches run ``pairs`` interleaved rounds against a worktree of
    the commit, then ``ab --confirm`` rounds while unsure where it matters (up to
    ``budget_rounds`` more, ``time_limit_s`` for all commits together). Each key's verdict
    in the returned gate is replaced by its paired verdict; a key that got no pair keeps
    its stored-baseline verdict. The runs stay in ``<out_dir>/confirm-baseline/<commit>``.
    """
    comparison = replace(
        gate.comparison,
        verdicts=list(gate.comparison.verdicts),
        warnings=list(gate.comparison.warnings),
    )
    index = {v.key: i for i, v in enumerate(comparison.verdicts)}
    before = {k: comparison.verdicts[index[k]] for keys in by_commit.values() for k in keys}
    result = BaselineConfirm(
        gate=replace(gate, comparison=comparison), before=before, commits=by_commit
    )
    spent = 0.0
    for commit, keys in by_commit.items():
        left = None if time_limit_s is None else max(0.0, time_limit_s - spent)
        names = sorted({k.split(".", 1)[0] for k in keys})
        ab = run_ab(
            config,
            commit,
            repeat=pairs,
            out_dir=out_dir / CONFIRM_DIR / commit[:12],
            progress=progress,
            argv=argv,
            confirm_rounds=budget_rounds,
            confirm_time=left,
            names=names,
            baselines=gate.baselines,
        )
        spent += ab.elapsed_s
        result.results.append(ab)
        got = {m.key: m for m in ab.metrics}
        for key in keys:
            m = got.get(key)
            if m is not None and m.n > 0 and m.ratio is not None:
                comparison.verdicts[index[key]] = paired(m, commit)
                result.paired.add(key)
            else:
                old = comparison.verdicts[index[key]]
                why = m.reason if m is not None else "the bench did not report it"
                comparison.verdicts[index[key]] = replace(old, reason=why)
    for commit, keys in by_commit.items():
        done = [k for k in keys if k in result.paired]
        if done:
            shown = ", ".join(done[:8]) + (f" and {len(done) - 8} more" if len(done) > 8 else "")
            comparison.warnings.append(
                f"Judged on pairs interleaved with the baseline's commit {commit[:12]} "
                f"(compare --confirm): {shown}; their BASELINE is that commit measured now, "
                "DELTA and interval the paired ratio's"
            )
    return result
