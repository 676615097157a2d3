"""One connection to the results store, SQLite or PostgreSQL, with their differences hidden.

Both speak the same schema (``benchgate.store.schema``); SQL is written once with ``?``
placeholders and translated for psycopg. Every write runs in one transaction through
:meth:`Database.write`, which retries the whole transaction when another writer holds
the lock (SQLite) or a deadlock/serialization failure aborted it (PostgreSQL), so
concurrent writers lose nothing. psycopg is imported only when a PostgreSQL URL is
opened: the core never pays for it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from benchgate.errors import BenchgateError
from benchgate.store.schema import MIGRATIONS, SCHEMA_VERSION
from benchgate.store.url import StoreURL

T = TypeVar("T")

# How long a writer waits for another one before its transaction is retried, and how often.
SQLITE_BUSY_TIMEOUT_S = 30.0
WRITE_ATTEMPTS = 8
PG_CONNECT_TIMEOUT_S = 10

# Serialises migrations across processes on PostgreSQL (any constant shared by all writers).
_PG_MIGRATION_LOCK = 0x62656E6368  # "bench"


class Database:
    """An open store: run queries, run write transactions, know the dialect."""

    def __init__(self, url: StoreURL, conn: Any, kind: str) -> None:
        self.url = url
        self.conn = conn
        self.kind = kind  # "sqlite" or "postgresql"

    # --- SQL -------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.kind == "postgresql" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns the cursor."""
        with self._errors():
            return self.conn.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters."""
        rows = list(rows)
        if not rows:
            return
        with self._errors():
            if self.kind == "postgresql":
                with self.conn.cursor() as cur:
                    cur.executemany(self._sql(sql), rows)
            else:
                self.conn.executemany(sql, rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of a query."""
        with self._errors():
            return list(self.conn.execute(self._sql(sql), tuple(params)).fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, or None."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    # --- transactions ----------------------------------------------------------------

    def write(self, fn: Callable[[Database], T]) -> T:
        """Run ``fn(self)`` in one transaction; all of it is stored or none of it.

        When another writer holds the lock past the busy timeout (SQLite) or the server
        aborted the transaction for a deadlock or serialization failure (PostgreSQL), the
        transaction is rolled back and ``fn`` runs again, up to WRITE_ATTEMPTS times.
        """
        for attempt in range(WRITE_ATTEMPTS):
            try:
                return self._transaction(fn)
            except _Retry:
                time.sleep(min(0.05 * 2**attempt, 2.0))
        raise BenchgateError(
            f"gave up after {WRITE_ATTEMPTS} attempts: the store stayed locked by other writers",
            self.url.display,
        )

    def _transaction(self, fn: Callable[[Database], T]) -> T:
        if self.kind == "postgresql":
            return self._pg_transaction(fn)
        try:
            # IMMEDIATE takes the write lock up front: two writers never deadlock upgrading
            # a read lock, the second one waits (busy timeout) and then proceeds.
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _sqlite_busy(exc):
                raise _Retry from None
            raise self._error(exc) from None
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        try:
            result = fn(self)
            self.conn.execute("COMMIT")
            return result
        except BaseException as exc:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            if isinstance(exc, sqlite3.OperationalError) and _sqlite_busy(exc):
                raise _Retry from None
            raise

    def _pg_transaction(self, fn: Callable[[Database], T]) -> T:
        import psycopg  # only here: a PostgreSQL store is open, so psycopg is installed

        try:
            with self.conn.transaction():
                return fn(self)
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
            # _ErrorGuard lets these through; the transaction was rolled back above.
            raise _Retry from None
        except psycopg.Error as exc:
            raise self._error(exc) from None

    # --- errors ----------------------------------------------------------------------

    def _errors(self) -> _ErrorGuard:
        return _ErrorGuard(self)

    def _error(self, exc: BaseException) -> BenchgateError:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if self.kind == "sqlite" and isinstance(exc, sqlite3.DatabaseError):
            if "not a database" in first or "malformed" in first or "corrupt" in first:
                return BenchgateError(
                    f"not a SQLite database or corrupted ({first}); nothing was changed",
                    self.url.path,
                )
        return BenchgateError(f"store error: {first}", self.url.display)

    def close(self) -> None:
        """Close the connection (never raises)."""
        try:
            self.conn.close()
        except Exception:  # closing a broken connection must not hide the real error
            pass

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Retry(Exception):
    """The transaction lost a race with another writer: roll back and run it again."""


class _ErrorGuard:
    """Turns a driver error inside a statement into BenchgateError (or _Retry when busy)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is None or isinstance(exc, (BenchgateError, _Retry)):
            return None
        if isinstance(exc, sqlite3.OperationalError) and _sqlite_busy(exc):
            raise _Retry from None
        if isinstance(exc, sqlite3.Error):
            raise self.db._error(exc) from None
        if self.db.kind == "postgresql" and type(exc).__module__.startswith("psycopg"):
            if type(exc).__name__ in ("DeadlockDetected", "SerializationFailure"):
                # Let the transaction wrapper see it and retry the whole transaction.
                return None
            raise self.db._error(exc) from None
        return None


def _sqlite_busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


# --- opening ---------------------------------------------------------------------------


def connect(url: StoreURL, create: bool = True) -> Database:
    """Open the store at ``url`` and bring its schema up to date (migrating older ones).

    ``create=False`` (the reading commands): a missing SQLite file is an error instead of
    a new empty store. BenchgateError (one line) for an unreachable server, a missing
    driver, a corrupted file, a database of a newer schema or one that is not a store.
    """
    if url.kind == "sqlite":
        db = _connect_sqlite(url, create)
    elif url.kind == "postgresql":
        db = _connect_postgres(url)
    else:
        raise BenchgateError("the store is off (set store in [tool.benchgate] or pass --store)")
    try:
        for attempt in range(WRITE_ATTEMPTS):
            try:
                migrate(db)
                break
            except _Retry:
                # Another process is creating or migrating the store right now.
                time.sleep(min(0.05 * 2**attempt, 2.0))
        else:
            raise BenchgateError("the store stayed locked by other writers", url.display)
    except BaseException:
        db.close()
        raise
    return db


def _connect_sqlite(url: StoreURL, create: bool) -> Database:
    path = url.path
    assert path is not None
    if not path.exists():
        if not create:
            raise BenchgateError(
                "no store here yet (record with --store, or `benchgate store import OUT_DIR`)",
                path,
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BenchgateError(f"cannot create the store's folder: {exc}", path) from None
    try:
        conn = sqlite3.connect(
            str(path), timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise BenchgateError(f"cannot open the store: {exc}", path) from None
    db = Database(url, conn, "sqlite")
    try:
        # WAL: readers never block the writer and a killed writer leaves only an
        # uncommitted tail in the log, which the next open discards. NORMAL sync is
        # durable across a killed process (only a power cut may lose the last commits).
        mode = db.one("PRAGMA journal_mode=WAL")
        if mode is None:
            raise BenchgateError("cannot set the journal mode", path)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
    except _Retry:
        # Another writer is switching the file to WAL at this very moment: it will be WAL.
        pass
    except BaseException:
        db.close()
        raise
    return db


def _connect_postgres(url: StoreURL) -> Database:
    try:
        # Imported only for a PostgreSQL URL: the driver is an optional extra and heavy.
        import psycopg
    except ImportError:
        raise BenchgateError(
            "a PostgreSQL store needs psycopg 3: pip install 'benchgate[postgres]'",
            url.display,
        ) from None
    try:
        conn = psycopg.connect(
            url.url,
            autocommit=True,
            connect_timeout=PG_CONNECT_TIMEOUT_S,
            application_name="benchgate",
        )
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or ["unknown error"])[0]
        raise BenchgateError(f"cannot connect to the store: {first}", url.display) from None
    return Database(url, conn, "postgresql")


def read_version(db: Database) -> int | None:
    """The schema version recorded in the store, or None when it has no schema yet.

    BenchgateError when the database holds other tables but no schema_version: it is not a
    benchgate store and is left alone.
    """
    if db.kind == "sqlite":
        tables = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    else:
        tables = {
            r[0]
            for r in db.query(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        }
    if "schema_version" not in tables:
        if tables - {"sqlite_sequence"} and "runs" in tables:
            raise BenchgateError(
                "has tables but no schema_version: not a benchgate store, left untouched",
                db.url.display,
            )
        return None
    row = db.one("SELECT MAX(version) FROM schema_version")
    return int(row[0]) if row and row[0] is not None else None


def _check_newer(db: Database, version: int | None) -> None:
    if version is not None and version > SCHEMA_VERSION:
        raise BenchgateError(
            f"store schema version {version} is newer than this benchgate knows "
            f"({SCHEMA_VERSION}): upgrade benchgate to use it",
            db.url.display,
        )


def migrate(db: Database) -> int:
    """Bring the schema up to SCHEMA_VERSION, one migration per transaction; returns it.

    A store at the current version costs one query (no write lock), so reading commands
    stay fast. A newer version is an error: this benchgate would misread it.
    """
    version = read_version(db)
    _check_newer(db, version)
    if version == SCHEMA_VERSION:
        return version
    for target, statements in MIGRATIONS:

        def step(d: Database, target: int = target, statements: list[str] = statements) -> bool:
            if d.kind == "postgresql":
                # Concurrent first writers would race to create the tables: one at a time.
                d.execute("SELECT pg_advisory_xact_lock(?)", (_PG_MIGRATION_LOCK,))
            d.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = read_version(d)
            _check_newer(d, current)
            if current is not None and current >= target:
                return False
            for stmt in statements:
                d.execute(_dialect(stmt, d.kind))
            d.execute("DELETE FROM schema_version")
            d.execute("INSERT INTO schema_version (version) VALUES (?)", (target,))
            return True

        db.write(step)
    return SCHEMA_VERSION


def _dialect(stmt: str, kind: str) -> str:
    """The schema's one DDL text for a dialect: only the id column type differs."""
    if kind == "postgresql":
        return stmt.replace("{id}", "BIGSERIAL PRIMARY KEY")
    return stmt.replace("{id}", "INTEGER PRIMARY KEY")
