"""The results store: record runs and verdicts, read a metric's history, import and export.

A :class:`Store` wraps one open database (``benchgate.store.db``). Writes are idempotent
(a run's identity is a hash of its bench, run id, start time and values; a judgement's
a hash of its source, the runs it judged and its verdicts), so recording an out-dir
again, or importing an artifact twice, stores nothing new. Every write is one
transaction.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchgate.errors import BenchgateError
from benchgate.model import Measurement, RunRecord, RunStatus
from benchgate.run.results import read_result_file, result_files, write_bench_runs
from benchgate.store.db import Database, connect
from benchgate.store.schema import SCHEMA_VERSION
from benchgate.store.series import Point, Refresh, Series
from benchgate.store.url import StoreURL

# Where `benchgate ab` keeps each side's runs inside an out-dir (benchgate.ab.run layout).
AB_SIDES = {"ab-base": Path("ab") / "base", "ab-head": Path("ab") / "head"}

# Runs recorded at once into PostgreSQL after which the planner's statistics are refreshed.
ANALYZE_AFTER_RUNS = 1000

# The fields of a run file's run kept in runs.record (metrics and env have their tables).
_RECORD_FIELDS = (
    "run_id",
    "bench",
    "invocation",
    "started",
    "duration_s",
    "status",
    "exit_code",
    "reason",
    "stderr_tail",
    "command",
    "disturbance",
    "extra",
)


def utc_text(stamp: str) -> str:
    """``stamp`` (ISO 8601) as the store's sortable UTC text; unparseable text as is."""
    try:
        dt = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return str(stamp)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds")


def now_text() -> str:
    """The current time as the store's UTC text."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _hash(data: Any) -> str:
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def run_key(run: RunRecord) -> str:
    """A run's identity: the same run, recorded or imported again, has the same key."""
    values = sorted((k, m.value) for k, m in run.metrics.items())
    return _hash([run.bench, run.run_id, run.started, run.status.value, values])[:32]


def machine_of(env: dict[str, Any]) -> str:
    """The machine a run ran on, as recorded (host name)."""
    return str(env.get("hostname") or "")


def commit_of(env: dict[str, Any]) -> tuple[str, bool]:
    """The commit a run measured and whether the checkout had uncommitted changes."""
    g = env.get("git")
    if isinstance(g, dict):
        return str(g.get("commit") or ""), bool(g.get("dirty"))
    return "", False


@dataclass
class StoredRun:
    """A run on its way into the store, with what the run file does not say."""

    run: RunRecord
    source: str = "run"  # run, ab-base, ab-head, import
    branch: str = ""


@dataclass
class Judgement:
    """The verdicts of one ``compare`` or ``ab`` call, with the runs they judged."""

    source: str  # compare or ab
    verdicts: list[dict[str, Any]]  # Verdict.to_dict() / ABMetric.to_dict() rows
    run_keys: list[str]
    commit: str = ""
    branch: str = ""
    machine: str = ""
    fingerprint: str = ""
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The judgement's identity: recording the same call twice stores it once."""
        return _hash([self.source, sorted(self.run_keys), self.verdicts])[:32]


@dataclass
class RecordResult:
    """What one write stored: new rows and rows already there."""

    runs_new: int = 0
    runs_known: int = 0
    metrics_new: int = 0
    verdicts_new: int = 0
    judgement_known: bool = False

    def line(self, where: str) -> str:
        """One line for the terminal."""
        text = f"store: {self.runs_new} new runs ({self.metrics_new} metric values)"
        if self.runs_known:
            text += f", {self.runs_known} already stored"
        if self.verdicts_new:
            text += f", {self.verdicts_new} verdicts"
        return f"{text} in {where}"


@dataclass
class StoreInfo:
    """What ``benchgate store info`` shows."""

    location: str
    kind: str
    schema_version: int
    runs: int
    metric_values: int
    keys: int
    commits: int
    branches: list[str]
    machines: list[str]
    judgements: int
    first: str | None
    last: str | None
    size_bytes: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ExportResult:
    """What ``benchgate store export`` wrote."""

    out_dir: Path
    files: list[Path]
    runs: int


class Store:
    """An open results store. Use as a context manager, or call :meth:`close`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, url: StoreURL, create: bool = True) -> Store:
        """Connect to ``url`` and migrate its schema (see :func:`benchgate.store.db.connect`)."""
        return cls(connect(url, create=create))

    @property
    def location(self) -> str:
        """The store's URL for messages (no password)."""
        return self.db.url.display

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------

    def record(self, runs: Sequence[StoredRun], judgement: Judgement | None = None) -> RecordResult:
        """Store ``runs`` (and ``judgement``) in one transaction; known runs are skipped."""
        prepared = [(_prepare(s), s) for s in runs]
        result = self.db.write(lambda db: _record(db, prepared, judgement))
        if self.db.kind == "postgresql" and result.runs_new >= ANALYZE_AFTER_RUNS:
            # A big import changes the tables' statistics at once; without fresh ones the
            # planner joins runs and metrics with a nested loop and `history` slows 5x
            # until autovacuum gets to it. ANALYZE samples, so it stays well under a second.
            self.db.execute("ANALYZE runs")
            self.db.execute("ANALYZE metrics")
        return result

    # --- reading ---------------------------------------------------------------------

    def keys(self) -> list[str]:
        """Every metric key recorded, sorted."""
        return [r[0] for r in self.db.query("SELECT key FROM metric_keys ORDER BY key")]

    def series(
        self,
        key: str,
        branch: str | None = None,
        machine: str | None = None,
        last: int | None = None,
        refreshes: Sequence[Refresh] = (),
        degradation_pct_max: float = 0.15,
        variance_pct_warn: float = 0.05,
        baselines_at: Callable[[list[str]], Mapping[str, float]] | None = None,
    ) -> Series:
        """``key`` over commits, oldest first: one Point per commit (median of its runs).

        Runs are filtered by ``branch`` and by ``machine`` (host name or environment
        fingerprint); runs on a dirty checkout or without a commit are left out (their
        numbers do not belong to a commit). Commits are ordered by their first run;
        ``last`` keeps the newest N. A point's baseline is the one a recorded verdict used
        at that commit, else what ``baselines_at(commits)`` says baselines.json held there
        (from git), else the newest of ``refreshes`` dated at or before the point.
        Thresholds come from the newest recorded verdict of the key, else the arguments.
        BenchgateError for a key never recorded.
        """
        meta = self.db.one("SELECT unit, higher_is_better FROM metric_keys WHERE key = ?", (key,))
        if meta is None:
            raise BenchgateError(
                f"no metric {key!r} in the store (`benchgate store info` lists what is there)",
                self.location,
            )
        sql = (
            "SELECT r.commit_sha, r.started, m.value, r.branch, r.machine FROM metrics m "
            "JOIN runs r ON r.id = m.run WHERE m.key = ? AND r.dirty = 0 AND r.commit_sha <> ''"
        )
        params: list[Any] = [key]
        if branch is not None:
            sql += " AND r.branch = ?"
            params.append(branch)
        if machine is not None:
            sql += " AND (r.machine = ? OR r.fingerprint = ?)"
            params += [machine, machine]
        sql += " ORDER BY r.started, r.id"
        # One pass over the rows (10,000 for 10,000 runs): per commit its values and its
        # newest run's time, branch and machine. Plain lists: this loop is history's cost.
        values_of: dict[str, list[float]] = {}
        newest: dict[str, tuple[str, str, str]] = {}
        for sha, started, value, br, mach in self.db.query(sql, params):
            vs = values_of.get(sha)
            if vs is None:
                values_of[sha] = [value]
            else:
                vs.append(value)
            newest[sha] = (started, br, mach)
        commits = list(values_of)
        if last is not None:
            commits = commits[-last:] if last > 0 else []
        baselines, thresholds = self._verdict_baselines(key)
        if thresholds is not None:
            degradation_pct_max, variance_pct_warn = thresholds
        refs = sorted(refreshes, key=lambda r: r.time)
        at_commit: Mapping[str, float] = {}
        if baselines_at is not None:
            at_commit = baselines_at([sha for sha in commits if sha not in baselines])
        points = []
        for sha in commits:
            values = sorted(float(v) for v in values_of[sha])
            n = len(values)
            started, br, mach = newest[sha]
            baseline = baselines.get(sha, at_commit.get(sha))
            if baseline is None:
                baseline = _baseline_at(refs, started)
            mid = n // 2
            points.append(
                Point(
                    commit=sha,
                    time=started,
                    value=values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2,
                    n=n,
                    lo=values[0],
                    hi=values[-1],
                    stdev=_stdev(values),
                    branch=br,
                    machine=mach,
                    baseline=baseline,
                )
            )
        return Series(
            key=key,
            unit=str(meta[0]),
            higher_is_better=bool(meta[1]),
            points=tuple(points),
            degradation_pct_max=float(degradation_pct_max),
            variance_pct_warn=float(variance_pct_warn),
            refreshes=tuple(refs),
        )

    def _verdict_baselines(self, key: str) -> tuple[dict[str, float], tuple[float, float] | None]:
        """Per commit the baseline a recorded verdict used; the newest thresholds."""
        rows = self.db.query(
            "SELECT j.commit_sha, v.baseline, v.degradation_pct_max, v.variance_pct_warn "
            "FROM verdicts v JOIN judgements j ON j.id = v.judgement "
            "WHERE v.key = ? ORDER BY j.recorded, j.id",
            (key,),
        )
        out: dict[str, float] = {}
        thresholds: tuple[float, float] | None = None
        for sha, baseline, deg, warn in rows:
            if baseline is not None and sha:
                out[sha] = float(baseline)
            if deg is not None and warn is not None:
                thresholds = (float(deg), float(warn))
        return out, thresholds

    def info(self) -> StoreInfo:
        """Counts and extent of what the store holds."""

        def count(sql: str) -> int:
            row = self.db.one(sql)
            return int(row[0]) if row and row[0] is not None else 0

        span = self.db.one("SELECT MIN(started), MAX(started) FROM runs")
        size = None
        path = self.db.url.path
        if self.db.kind == "sqlite" and path is not None:
            size = sum(p.stat().st_size for p in (path, Path(str(path) + "-wal")) if p.exists())
        return StoreInfo(
            location=self.location,
            kind=self.db.kind,
            schema_version=SCHEMA_VERSION,
            runs=count("SELECT COUNT(*) FROM runs"),
            metric_values=count("SELECT COUNT(*) FROM metrics"),
            keys=count("SELECT COUNT(*) FROM metric_keys"),
            commits=count("SELECT COUNT(DISTINCT commit_sha) FROM runs WHERE commit_sha <> ''"),
            branches=[
                r[0]
                for r in self.db.query(
                    "SELECT DISTINCT branch FROM runs WHERE branch <> '' ORDER BY branch"
                )
            ],
            machines=[
                r[0]
                for r in self.db.query(
                    "SELECT DISTINCT machine FROM runs WHERE machine <> '' ORDER BY machine"
                )
            ],
            judgements=count("SELECT COUNT(*) FROM judgements"),
            first=span[0] if span else None,
            last=span[1] if span else None,
            size_bytes=size,
        )

    def runs(
        self,
        commit: str | None = None,
        branch: str | None = None,
        machine: str | None = None,
    ) -> list[StoredRun]:
        """The stored runs (oldest first) as the run files held them, optionally filtered.

        ``commit`` matches a full sha or a prefix of at least 4 hex digits.
        """
        sql = (
            "SELECT r.id, r.record, r.source, r.branch, e.env FROM runs r "
            "LEFT JOIN environments e ON e.id = r.environment WHERE 1 = 1"
        )
        params: list[Any] = []
        if commit is not None:
            if not re.fullmatch(r"[0-9a-fA-F]{4,40}", commit):
                raise BenchgateError(
                    f"not a commit hash or prefix (4 to 40 hex digits): {commit!r}", key="--commit"
                )
            sql += " AND r.commit_sha LIKE ?"
            params.append(commit.lower() + "%")
        if branch is not None:
            sql += " AND r.branch = ?"
            params.append(branch)
        if machine is not None:
            sql += " AND (r.machine = ? OR r.fingerprint = ?)"
            params += [machine, machine]
        sql += " ORDER BY r.started, r.id"
        rows = self.db.query(sql, params)
        metrics: dict[int, dict[str, Measurement]] = {}
        ids = [int(r[0]) for r in rows]
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            marks = ",".join("?" * len(part))
            for run, name, value, unit, hib, inferred, samples in self.db.query(
                "SELECT run, name, value, unit, higher_is_better, inferred, samples "
                f"FROM metrics WHERE run IN ({marks}) ORDER BY run, pos",
                part,
            ):
                metrics.setdefault(int(run), {})[name] = Measurement(
                    value=float(value),
                    unit=unit,
                    higher_is_better=bool(hib),
                    samples=json.loads(samples) if samples is not None else None,
                    inferred=bool(inferred),
                )
        out = []
        for rid, record, source, br, env in rows:
            d = json.loads(record)
            d["env"] = json.loads(env) if env else {}
            d["metrics"] = {}
            run = RunRecord.from_dict(d)
            run.metrics = metrics.get(int(rid), {})
            out.append(StoredRun(run, source, br))
        return out

    def export(
        self,
        out_dir: Path,
        commit: str | None = None,
        branch: str | None = None,
        machine: str | None = None,
    ) -> ExportResult:
        """Write the stored runs back as out-dir run files (``ab`` sides under ab/).

        Refuses a folder that already holds run files: an export never mixes with, or
        replaces, measurements already on disk.
        """
        stored = self.runs(commit, branch, machine)
        if not stored:
            raise BenchgateError("no stored runs match (see `benchgate store info`)", self.location)
        targets: dict[Path, dict[str, list[RunRecord]]] = {}
        for s in stored:
            d = out_dir / AB_SIDES[s.source] if s.source in AB_SIDES else out_dir
            targets.setdefault(d, {}).setdefault(s.run.bench, []).append(s.run)
        for d in targets:
            if result_files(d):
                raise BenchgateError("already holds run files: export into an empty folder", d)
        files = []
        for d, benches in targets.items():
            for bench, bench_runs in sorted(benches.items()):
                files.append(write_bench_runs(d, bench, bench_runs))
        return ExportResult(out_dir, files, len(stored))


# --- writing, inside the transaction -------------------------------------------------------


@dataclass
class _Prepared:
    key: str
    env_key: str | None
    env_json: str | None
    fingerprint: str
    machine: str
    commit: str
    dirty: bool
    started: str
    record: str


def _prepare(s: StoredRun) -> _Prepared:
    run = s.run
    env = run.env or {}
    env_json = json.dumps(env, sort_keys=True, separators=(",", ":"), default=str) if env else None
    commit, dirty = commit_of(env)
    d = run.to_dict()
    return _Prepared(
        key=run_key(run),
        env_key=hashlib.sha256(env_json.encode("utf-8")).hexdigest()[:32] if env_json else None,
        env_json=env_json,
        fingerprint=str(env.get("fingerprint") or ""),
        machine=machine_of(env),
        commit=commit,
        dirty=dirty,
        started=utc_text(run.started),
        record=json.dumps({k: d[k] for k in _RECORD_FIELDS}, separators=(",", ":"), default=str),
    )


def _record(
    db: Database, prepared: list[tuple[_Prepared, StoredRun]], judgement: Judgement | None
) -> RecordResult:
    result = RecordResult()
    recorded = now_text()
    env_ids: dict[str, int] = {}
    envs = {p.env_key: p for p, _ in prepared if p.env_key is not None}
    for env_key in sorted(envs):  # sorted: concurrent writers lock rows in one order
        p = envs[env_key]
        db.execute(
            "INSERT INTO environments (env_key, fingerprint, machine, env) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (env_key) DO NOTHING",
            (env_key, p.fingerprint, p.machine, p.env_json),
        )
        row = db.one("SELECT id FROM environments WHERE env_key = ?", (env_key,))
        assert row is not None
        env_ids[env_key] = int(row[0])
    metric_rows: list[tuple[Any, ...]] = []
    keys: dict[str, tuple[str, str, int, str]] = {}
    for p, s in prepared:
        run = s.run
        row = db.one(
            "INSERT INTO runs (run_key, run_id, bench, started, status, commit_sha, dirty, "
            "branch, machine, fingerprint, source, recorded, environment, record) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (run_key) DO NOTHING RETURNING id",
            (
                p.key,
                run.run_id,
                run.bench,
                p.started,
                run.status.value,
                p.commit,
                int(p.dirty),
                s.branch,
                p.machine,
                p.fingerprint,
                s.source,
                recorded,
                env_ids.get(p.env_key) if p.env_key else None,
                p.record,
            ),
        )
        if row is None:
            result.runs_known += 1
            continue
        result.runs_new += 1
        rid = int(row[0])
        for pos, (name, m) in enumerate(run.metrics.items()):
            key = f"{run.bench}.{name}"
            metric_rows.append(
                (
                    rid,
                    name,
                    key,
                    pos,
                    float(m.value),
                    m.unit,
                    int(m.higher_is_better),
                    int(m.inferred),
                    json.dumps(m.samples) if m.samples is not None else None,
                )
            )
            if run.status is RunStatus.OK:
                old = keys.get(key)
                if old is None or p.started >= old[3]:
                    keys[key] = (run.bench, m.unit, int(m.higher_is_better), p.started)
    db.executemany(
        "INSERT INTO metrics (run, name, key, pos, value, unit, higher_is_better, inferred, "
        "samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        metric_rows,
    )
    result.metrics_new = len(metric_rows)
    # The newest run's unit and direction win; sorted so concurrent writers never deadlock.
    db.executemany(
        "INSERT INTO metric_keys (key, bench, unit, higher_is_better, last_seen) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET bench = excluded.bench, "
        "unit = excluded.unit, higher_is_better = excluded.higher_is_better, "
        "last_seen = excluded.last_seen WHERE excluded.last_seen >= metric_keys.last_seen",
        [(k, *v) for k, v in sorted(keys.items())],
    )
    if judgement is not None:
        _record_judgement(db, judgement, recorded, result)
    return result


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _record_judgement(db: Database, j: Judgement, recorded: str, result: RecordResult) -> None:
    row = db.one(
        "INSERT INTO judgements (judgement_key, source, recorded, commit_sha, branch, machine, "
        "fingerprint, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (judgement_key) DO NOTHING RETURNING id",
        (
            j.key,
            j.source,
            recorded,
            j.commit,
            j.branch,
            j.machine,
            j.fingerprint,
            json.dumps(j.summary, default=str),
        ),
    )
    if row is None:
        result.judgement_known = True
        return
    jid = int(row[0])
    rows = []
    seen: set[str] = set()
    for v in j.verdicts:
        key = str(v.get("key"))
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            (
                jid,
                key,
                str(v.get("status")),
                _num(v.get("baseline")),
                _num(v.get("current")),
                v.get("unit"),
                _num(v.get("delta_pct")),
                _num(v.get("degradation_pct_max")),
                _num(v.get("variance_pct_warn")),
                json.dumps(v, default=str),
            )
        )
    db.executemany(
        "INSERT INTO verdicts (judgement, key, status, baseline, current, unit, delta_pct, "
        "degradation_pct_max, variance_pct_warn, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    result.verdicts_new = len(rows)


def _stdev(values: list[float]) -> float:
    """Sample standard deviation in plain floats (statistics.stdev's exact fractions are
    ~100x slower, and history computes one per commit)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(max(sum((v - mean) ** 2 for v in values) / (n - 1), 0.0))


def _baseline_at(refreshes: Sequence[Refresh], when: str) -> float | None:
    """The value of the newest refresh dated at or before ``when`` (both UTC text)."""
    value = None
    for r in refreshes:
        if r.time <= when:
            value = r.value
        else:
            break
    return value


# --- reading out-dirs -----------------------------------------------------------------------


def out_dir_runs(path: Path, branch: str = "", source: str = "import") -> list[StoredRun]:
    """The runs of an out-dir (its run files, and ab/base, ab/head when present).

    ``path`` may also be one run file. BenchgateError when it holds no run files.
    """
    if path.is_file():
        return [StoredRun(r, source, branch) for r in read_result_file(path)]
    if not path.is_dir():
        raise BenchgateError("no such out-dir or run file", path)
    found: list[StoredRun] = []
    for f in result_files(path):
        found += [StoredRun(r, source, branch) for r in read_result_file(f)]
    for side, rel in AB_SIDES.items():
        for f in result_files(path / rel):
            found += [StoredRun(r, side, branch) for r in read_result_file(f)]
    if not found and not result_files(path):
        raise BenchgateError("holds no run files (<bench>.json)", path)
    return found


def stored_runs(
    runs_by_bench: dict[str, list[RunRecord]], source: str, branch: str
) -> list[StoredRun]:
    """Runs of an out-dir (as ``load_runs`` returns them) ready to record."""
    return [StoredRun(r, source, branch) for rs in runs_by_bench.values() for r in rs]


def judgement_of(
    source: str,
    verdicts: Iterable[dict[str, Any]],
    runs: Sequence[StoredRun],
    branch: str,
    summary: dict[str, Any] | None = None,
) -> Judgement:
    """A judgement over ``runs``: commit, machine and fingerprint of the newest run."""
    newest = max(
        (s.run for s in runs if s.source in ("run", "import", "ab-head")),
        key=lambda r: r.started,
        default=None,
    )
    env = newest.env if newest is not None else {}
    return Judgement(
        source=source,
        verdicts=list(verdicts),
        run_keys=[run_key(s.run) for s in runs],
        commit=commit_of(env)[0],
        branch=branch,
        machine=machine_of(env),
        fingerprint=str(env.get("fingerprint") or ""),
        summary=summary or {},
    )
