"""A throwaway PostgreSQL server for the tests, from Debian's binaries (never a download).

`initdb` into a private temporary folder and `pg_ctl start` on a free loopback port (as the
`postgres` user when the tests run as root: the server refuses root), trust authentication,
no fsync. Every test gets its own database, copied from a migrated template.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
PG_BIN = Path(os.environ.get("PG_BIN", str(_BINARIES[-1].parent if _BINARIES else "/nonexistent")))
MISSING = (
    f"PostgreSQL server binaries not found ({PG_BIN}/initdb): apt-get install postgresql"
    " (.ci/run installs it, so CI never skips these tests)"
)


def available() -> bool:
    """True when the server binaries are installed."""
    return (PG_BIN / "initdb").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A running throwaway cluster."""

    folder: Path
    port: int
    user: str | None
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def dsn(self, dbname: str) -> str:
        """The libpq connection string of one of its databases."""
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user=postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        return subprocess.run(prefix + list(args), check=True, capture_output=True, text=True)

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run SQL as the superuser and return psql's unaligned output."""
        done = self._run(
            str(PG_BIN / "psql"), "-X", "-qAt", "-v", "ON_ERROR_STOP=1",
            "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", dbname, "-c", sql,
        )  # fmt: skip
        return done.stdout

    def create_database(self, template: str | None = None, prefix: str = "t") -> str:
        """A new database (a copy of `template` when given); returns its name."""
        name = f"{prefix}_{next(self._names)}"
        clause = f" TEMPLATE {template}" if template else ""
        self.psql(f"CREATE DATABASE {name}{clause}")
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, ending whatever connections are left on it."""
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        subprocess.run(
            (["runuser", "-u", self.user, "--"] if self.user else [])
            + [str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w"]
            + ["stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> PgServer:
    """Start a throwaway cluster (about a second); the caller stops it."""
    # Not under pytest's tmp_path: its parents are private to this user, and the server may
    # have to run as `postgres`, which must reach its folder.
    folder = Path(tempfile.mkdtemp(prefix="caseload-pg-"))
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = PgServer(folder, _free_port(), user)
    data = folder / "data"
    options = (
        f"-c listen_addresses=127.0.0.1 -p {server.port} -k {folder} -c fsync=off"
        " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    try:
        server._run(
            str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        server._run(
            str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"),
            "-o", options, "start",
        )  # fmt: skip
    except BaseException:
        server.stop()
        raise
    return server
