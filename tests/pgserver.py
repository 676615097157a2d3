"""A throwaway PostgreSQL server for the tests and benchmarks: initdb in a temp dir, pg_ctl.

The cluster lives in a temporary folder, listens on a free local port and on a unix
socket inside that folder, and is stopped and removed afterwards. PostgreSQL refuses to
run as root, so as root the cluster belongs to the ``postgres`` user and every server
command runs through ``runuser -u postgres``. Binaries are found with ``pg_config
--bindir``, else in /usr/lib/postgresql/*/bin.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INSTALL_HINT = (
    "PostgreSQL server binaries not found: install them (Debian/Ubuntu: "
    "sudo apt-get install postgresql) and psycopg (pip install 'psycopg[binary]')"
)


class PgUnavailable(Exception):
    """The server cannot be started here (binaries, user or driver missing)."""


def pg_bindir() -> Path | None:
    """Where initdb and pg_ctl are: ``pg_config --bindir``, else the newest Debian version."""
    found = shutil.which("pg_config")
    if found:
        try:
            out = subprocess.run([found, "--bindir"], capture_output=True, text=True, timeout=10)
            d = Path(out.stdout.strip())
            if out.returncode == 0 and (d / "initdb").exists() and (d / "pg_ctl").exists():
                return d
        except (OSError, subprocess.SubprocessError):
            pass
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2] or 0)
    )
    for c in reversed(candidates):
        if (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def temporary_cluster(fsync: bool = False) -> Iterator[str]:
    """Start a fresh cluster and yield its URL (database ``postgres``, user ``postgres``).

    ``fsync=False`` (the tests) trades crash safety of the throwaway cluster for speed;
    the benchmarks keep PostgreSQL's default (on), as a real server runs.
    """
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise PgUnavailable("psycopg is not installed: pip install 'psycopg[binary]'") from None
    bindir = pg_bindir()
    if bindir is None:
        raise PgUnavailable(INSTALL_HINT)
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    if as_root:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise PgUnavailable("running as root and there is no postgres user") from None
        prefix = ["runuser", "-u", "postgres", "--"]
    tmp = Path(tempfile.mkdtemp(prefix="benchgate-pg-"))
    data = tmp / "data"
    if as_root:
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    port = _free_port()
    log = tmp / "server.log"

    def run(*args: str) -> None:
        r = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
            raise PgUnavailable(f"{Path(args[0]).name} failed: {' | '.join(tail)}")

    started = False
    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        opts = (
            f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 "
            f"-c fsync={'on' if fsync else 'off'} -c max_connections=50 -c shared_buffers=32MB"
        )
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "start")
        started = True
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(tmp, ignore_errors=True)
