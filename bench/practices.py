"""The practices the benchmarks share: each size built once into a DuckDB file in a throwaway
folder, then copied once into a throwaway PostgreSQL server (tests/pg_server.py, Debian's
binaries), so both backends time the same couples. Everything is removed when the bench exits.

BENCH_FULL=1 adds the 5,000-couple practice to the sizes the growth rows use.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analytics.demo.build import SUPERVISOR, build_demo
from analytics.practice import sign_ins
from analytics.practice.access import PRACTICE
from analytics.practice.accounts import get_account
from analytics.practice.opening import open_practice
from analytics.store.db import Database
from analytics.store.keys import find_key, key_file_path
from analytics.store.paths import ENV_VAR, INSTRUMENTS_ENV_VAR
from analytics.store.postgres import ENV_VAR as POSTGRES_ENV_VAR
from analytics.store.transfer import to_postgres
from analytics.views.repair import repair_caseload

COUPLES = 1000  # the default practice
SMALL = 100
FULL = 5000
WEEKS = 52
AS_OF = dt.date.today()  # the app reads today; the practice is built up to it
BACKENDS = ("duckdb", "postgres")


def full() -> bool:
    """True when BENCH_FULL=1 asks for the 5,000-couple practice too."""
    return os.environ.get("BENCH_FULL", "") == "1"


def sizes() -> list[int]:
    """The practice sizes the growth rows compare."""
    return [SMALL, COUPLES, FULL] if full() else [SMALL, COUPLES]


def wanted(backend: str) -> bool:
    """False when BENCH_BACKENDS (comma-separated) leaves this backend out."""
    chosen = os.environ.get("BENCH_BACKENDS", "")
    return not chosen or backend in chosen.split(",")


@dataclass(frozen=True)
class Practice:
    """One built practice: the file, its PostgreSQL copy and the couples the pages open."""

    couples: int
    path: Path
    key: str | None
    instruments: Path
    dsn: str | None  # None when the copy into PostgreSQL failed
    pg_error: str  # why, then
    busiest: int  # a couple with a full year from both partners
    busiest_code: str
    repair_couple: int | None  # a couple with an open repair case
    build_seconds: float
    transfer_seconds: float


_state: dict[str, Any] = {}
_built: dict[int, Practice] = {}


def _folder() -> Path:
    if "folder" not in _state:
        folder = Path(tempfile.mkdtemp(prefix="bench-practices-"))
        _state["folder"] = folder
        atexit.register(shutil.rmtree, folder, True)
    return Path(_state["folder"])


def pg_server() -> Any:
    """The bench's throwaway PostgreSQL server (started once; stopped when the bench exits)."""
    if "pg" not in _state:
        from tests import pg_server as server

        if not server.available():
            raise RuntimeError(server.MISSING)
        _state["pg"] = server.start()
        atexit.register(_state["pg"].stop)
    return _state["pg"]


def new_pg_database(prefix: str = "bench") -> str:
    """The connection string of a new, empty database on the bench's server."""
    server = pg_server()
    return str(server.dsn(server.create_database(prefix=prefix)))


def practice(couples: int) -> Practice:
    """The demo practice of `couples` couples (52 weeks), built once per run."""
    if couples in _built:
        return _built[couples]
    folder = _folder() / f"p{couples}"
    instruments = folder / "instruments"
    instruments.mkdir(parents=True)
    path = folder / "practice.duckdb"
    db = open_practice(path, instruments_folder=instruments)
    try:
        started = time.perf_counter()
        build_demo(db, couples=couples, weeks=WEEKS, as_of=AS_OF)
        build_s = time.perf_counter() - started
        busiest, code = db.query_rows(
            "SELECT c.id, c.case_code FROM responses r JOIN partners p ON p.id = r.partner_id"
            " JOIN couples c ON c.id = p.couple_id GROUP BY c.id, c.case_code"
            " ORDER BY count(*) DESC, c.id LIMIT 1"
        )[0]
        repairs = repair_caseload(db, PRACTICE, as_of=AS_OF)
        repair_couple = int(repairs["couple_id"].iloc[0]) if len(repairs) else None
    finally:
        db.close()
    found = find_key(path)
    key = found.value if found else None
    dsn, error, transfer_s = None, "", float("nan")
    if wanted("postgres"):
        try:
            target = new_pg_database(f"p{couples}")
            started = time.perf_counter()
            to_postgres(path, key, target)
            transfer_s = time.perf_counter() - started
            dsn = target
        except Exception as exc:  # a PostgreSQL failure is a row, not the end of the bench
            error = " ".join(str(exc).split())[:90] or type(exc).__name__
    built = Practice(
        couples, path, key, instruments, dsn, error, int(busiest), str(code),
        repair_couple, build_s, transfer_s,
    )  # fmt: skip
    _built[couples] = built
    return built


def open_db(p: Practice, backend: str) -> Database:
    """Open the practice on one backend; raises when its PostgreSQL copy is missing."""
    if backend == "postgres":
        if p.dsn is None:
            raise RuntimeError(f"no PostgreSQL copy: {p.pg_error}")
        return open_practice(postgres=p.dsn, instruments_folder=p.instruments)
    return open_practice(p.path, key=p.key, instruments_folder=p.instruments)


def copy_file(p: Practice, folder: Path) -> Path:
    """A copy of the practice file (and its key file) in `folder`, for benches that change it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "practice.duckdb"
    shutil.copyfile(p.path, path)
    if key_file_path(p.path).exists():
        shutil.copyfile(key_file_path(p.path), key_file_path(path))
    return path


def supervisor_sign_in(db: Database) -> int:
    """A fresh sign-in of the demo's supervisor (its id, what the app keeps in the session)."""
    therapist = db.query_value("SELECT id FROM therapists WHERE name = ?", [SUPERVISOR])
    account = db.query_value("SELECT id FROM accounts WHERE therapist_id = ?", [therapist])
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return sign_ins.start(db, get_account(db, int(account)), now=now).id


def server_env(p: Practice, backend: str) -> dict[str, str]:
    """The environment that points the app at the practice on one backend."""
    env = {ENV_VAR: str(p.path), INSTRUMENTS_ENV_VAR: str(p.instruments)}
    if backend == "postgres":
        if p.dsn is None:
            raise RuntimeError(f"no PostgreSQL copy: {p.pg_error}")
        env[POSTGRES_ENV_VAR] = p.dsn
    return env


@contextlib.contextmanager
def app_env(p: Practice, backend: str) -> Iterator[None]:
    """Point this process's app (AppTest) at the practice on one backend, then restore."""
    env = server_env(p, backend)
    keys = {ENV_VAR, INSTRUMENTS_ENV_VAR, POSTGRES_ENV_VAR}
    saved = {k: os.environ.get(k) for k in keys}
    for k in keys:
        os.environ.pop(k, None)
    os.environ.update(env)
    try:
        yield
    finally:
        for k, value in saved.items():
            if value is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = value
