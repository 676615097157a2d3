"""Store URLs: where the results store lives, parsed and checked before anything connects.

Forms (docs/store.md):

* ``sqlite`` or ``on``: the default file ``.benchgate/history.db`` under the project root;
* ``sqlite:///abs/path.db``: an absolute path; ``sqlite:rel/path.db``: relative to the
  project root; a plain path (``/abs/history.db``, ``rel/history.db``) is the same;
* ``postgresql://user:pass@host:port/dbname?opt=v`` (or ``postgres://``): a PostgreSQL
  server, through psycopg 3 (``pip install 'benchgate[postgres]'``);
* ``off``: do not record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from benchgate.errors import BenchgateError

DEFAULT_SQLITE = ".benchgate/history.db"

# What a PostgreSQL host may look like: a name, an IPv4 address or a bracketed IPv6 one.
_HOST_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._%-]*)$")


@dataclass(frozen=True)
class StoreURL:
    """A parsed store URL: ``kind`` is sqlite, postgresql or off."""

    kind: str
    url: str  # as written (with any password masked in ``display``)
    path: Path | None = None  # sqlite: the database file

    @property
    def display(self) -> str:
        """The URL for messages: a PostgreSQL password is replaced by ``***``."""
        if self.kind == "sqlite" and self.path is not None:
            return f"sqlite:///{self.path.as_posix().lstrip('/')}"
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", self.url)


def parse_store_url(url: str, root: Path, key: str = "--store") -> StoreURL:
    """Parse ``url`` (relative SQLite paths against ``root``); BenchgateError naming ``key``."""
    text = url.strip()
    if not text:
        raise BenchgateError(
            "empty store URL (use sqlite, sqlite:///PATH, postgresql://... or off)", key=key
        )
    low = text.lower()
    if low == "off":
        return StoreURL("off", "off")
    if low in ("sqlite", "on", "sqlite:"):
        return StoreURL("sqlite", text, (root / DEFAULT_SQLITE).resolve())
    if ":" not in text and ("/" in text or low.endswith((".db", ".sqlite", ".sqlite3"))):
        # A plain file path: a SQLite store (relative to the project root).
        return StoreURL("sqlite", text, _sqlite_path(text, root, text, key))
    scheme, sep, rest = text.partition(":")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        raise BenchgateError(
            f"not a store URL: {text!r} (use sqlite, sqlite:///PATH, postgresql://... or off)",
            key=key,
        )
    scheme = scheme.lower()
    if scheme == "sqlite":
        return StoreURL("sqlite", text, _sqlite_path(rest, root, text, key))
    if scheme in ("postgresql", "postgres"):
        _check_postgres(text, key)
        return StoreURL("postgresql", text)
    raise BenchgateError(
        f"unknown store scheme {scheme!r} in {text!r} (known: sqlite, postgresql, off)", key=key
    )


def _sqlite_path(rest: str, root: Path, text: str, key: str) -> Path:
    if "?" in rest or "#" in rest:
        raise BenchgateError(f"a sqlite URL takes no query or fragment: {text!r}", key=key)
    if rest.startswith("//"):
        # sqlite:///abs/path (empty authority) or sqlite://localhost/abs/path.
        host, _, path = rest[2:].partition("/")
        if host not in ("", "localhost"):
            raise BenchgateError(
                f"a sqlite URL names a local file, not host {host!r}: {text!r} "
                "(absolute: sqlite:///abs/path.db, relative: sqlite:rel/path.db)",
                key=key,
            )
        if not path:
            raise BenchgateError(f"no file in sqlite URL {text!r}", key=key)
        p = Path("/" + path)
    else:
        if not rest:
            raise BenchgateError(f"no file in sqlite URL {text!r}", key=key)
        p = Path(rest)
        p = p if p.is_absolute() else root / p
    if p.exists() and p.is_dir():
        raise BenchgateError(f"is a folder, not a database file (from {text!r})", p)
    try:
        return p.resolve()
    except ValueError as exc:  # a NUL or an unencodable character: no file can have it
        raise BenchgateError(f"not a usable file path in {text!r}: {exc}", key=key) from None


def _check_postgres(text: str, key: str) -> None:
    """Reject what libpq would refuse or misread, before any connection is tried."""
    masked = _mask(text)
    if not text.split(":", 1)[1].startswith("//"):
        raise BenchgateError(
            f"malformed PostgreSQL URL {masked!r} (expected postgresql://[user@]host[:port]/dbname)",
            key=key,
        )
    if any(c.isspace() for c in text):
        raise BenchgateError(f"malformed PostgreSQL URL {masked!r}: contains a space", key=key)
    try:
        parts = urlsplit(text)
        if "," not in parts.netloc:
            parts.port  # noqa: B018 - ValueError for a port that is not a number in range
    except ValueError as exc:
        raise BenchgateError(f"malformed PostgreSQL URL {masked!r}: {exc}", key=key) from None
    hostport = parts.netloc.rsplit("@", 1)[-1]
    # libpq accepts several comma-separated hosts, each with an optional port.
    for h in hostport.split(","):
        h = re.sub(r":\d*$", "", h)
        if not _HOST_RE.match(h):
            raise BenchgateError(f"malformed PostgreSQL URL {masked!r}: bad host {h!r}", key=key)


def _mask(text: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", text)
