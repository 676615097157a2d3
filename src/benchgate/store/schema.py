"""The store's schema, one text for SQLite and PostgreSQL, and its versioned migrations.

``{id}`` is the only dialect difference (``INTEGER PRIMARY KEY`` in SQLite,
``BIGSERIAL PRIMARY KEY`` in PostgreSQL); ``DOUBLE PRECISION`` is a real 8-byte float in
both. Times are TEXT in one fixed UTC form (``2026-11-26T10:00:00.000000+00:00``) so they
sort as times. A new version appends ``(N, [statements])`` to MIGRATIONS; a store is
migrated in order, each step in its own transaction, and ``schema_version`` says where
it stands (docs/store.md).
"""

from __future__ import annotations

SCHEMA_VERSION = 1

_V1 = [
    # One row per distinct recorded environment: runs of one job share it.
    """CREATE TABLE environments (
        id {id},
        env_key TEXT NOT NULL UNIQUE,
        fingerprint TEXT NOT NULL,
        machine TEXT NOT NULL,
        env TEXT NOT NULL
    )""",
    # One row per run of a bench. run_key is the run's identity (bench, run id, start time
    # and values hashed), so importing the same run twice stores it once.
    """CREATE TABLE runs (
        id {id},
        run_key TEXT NOT NULL UNIQUE,
        run_id TEXT NOT NULL,
        bench TEXT NOT NULL,
        started TEXT NOT NULL,
        status TEXT NOT NULL,
        commit_sha TEXT NOT NULL,
        dirty INTEGER NOT NULL,
        branch TEXT NOT NULL,
        machine TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        source TEXT NOT NULL,
        recorded TEXT NOT NULL,
        environment BIGINT REFERENCES environments(id),
        record TEXT NOT NULL
    )""",
    "CREATE INDEX runs_commit ON runs (commit_sha)",
    "CREATE INDEX runs_started ON runs (started)",
    # One row per metric of a run, with its samples (a JSON list) and how to read it.
    """CREATE TABLE metrics (
        run BIGINT NOT NULL REFERENCES runs(id),
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        pos INTEGER NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        unit TEXT NOT NULL,
        higher_is_better INTEGER NOT NULL,
        inferred INTEGER NOT NULL,
        samples TEXT,
        PRIMARY KEY (run, name)
    )""",
    # What `history KEY` reads: every value of one key with its run, from the index alone.
    "CREATE INDEX metrics_key ON metrics (key, run, value)",
    # Every metric key ever recorded, with its unit and direction (the newest wins).
    """CREATE TABLE metric_keys (
        key TEXT PRIMARY KEY,
        bench TEXT NOT NULL,
        unit TEXT NOT NULL,
        higher_is_better INTEGER NOT NULL,
        last_seen TEXT NOT NULL
    )""",
    # One row per judgement (a `compare` or `ab` call) and one per verdict it gave.
    """CREATE TABLE judgements (
        id {id},
        judgement_key TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        recorded TEXT NOT NULL,
        commit_sha TEXT NOT NULL,
        branch TEXT NOT NULL,
        machine TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        summary TEXT NOT NULL
    )""",
    """CREATE TABLE verdicts (
        judgement BIGINT NOT NULL REFERENCES judgements(id),
        key TEXT NOT NULL,
        status TEXT NOT NULL,
        baseline DOUBLE PRECISION,
        current DOUBLE PRECISION,
        unit TEXT,
        delta_pct DOUBLE PRECISION,
        degradation_pct_max DOUBLE PRECISION,
        variance_pct_warn DOUBLE PRECISION,
        detail TEXT NOT NULL,
        PRIMARY KEY (judgement, key)
    )""",
    "CREATE INDEX verdicts_key ON verdicts (key)",
]

# (version, statements): applied in order to a store below that version.
MIGRATIONS: list[tuple[int, list[str]]] = [(1, _V1)]
