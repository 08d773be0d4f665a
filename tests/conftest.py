"""Shared fixtures: every test gets its own temporary database and instruments folder; the real
ones under data/ are never opened."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from analytics.practice.access import Actor
from analytics.practice.couples import PartnerInput, add_couple
from analytics.practice.opening import open_practice
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from analytics.store.keys import KEY_ENV_VAR, KEY_FILE_ENV_VAR
from analytics.store.paths import ENV_VAR, INSTRUMENTS_ENV_VAR
from analytics.store.postgres import ENV_VAR as POSTGRES_ENV_VAR
from tests import pg_server

START = dt.date(2026, 1, 5)


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """argon2 at its smallest cost: the rules and the flow are tested, not the hash's strength
    (the product keeps argon2-cffi's defaults; tests/test_accounts.py checks that)."""
    from argon2 import PasswordHasher

    from analytics.practice import passwords

    previous = passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    passwords.use_hasher(previous)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the developer's own database, key, instrument files and settings out of every test.

    Every test database is encrypted the default way: its key file is made beside it."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "default-should-not-be-used.duckdb"))
    monkeypatch.delenv(POSTGRES_ENV_VAR, raising=False)
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV_VAR, raising=False)
    folder = tmp_path / "instruments"
    folder.mkdir()
    monkeypatch.setenv(INSTRUMENTS_ENV_VAR, str(folder))


@pytest.fixture
def instruments_dir(tmp_path: Path) -> Path:
    """The test's own (initially empty) instruments folder."""
    return tmp_path / "instruments"


BACKENDS = ("duckdb", "postgres")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "both_backends: run the test's practice on a DuckDB file and on PostgreSQL (the `db`,"
        " `practice_dsn` and `app_env` fixtures follow the `backend` parameter)",
    )
    config.addinivalue_line(
        "markers", "duckdb_only: what only a DuckDB file does (its lock, its encryption)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_backends` run once per backend; every other test on a DuckDB file."""
    marked = metafunc.definition.get_closest_marker
    if "backend" in metafunc.fixturenames and marked("both_backends") and not marked("duckdb_only"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Where the test's practice is kept: "duckdb" (a file) or "postgres"."""
    return str(getattr(request, "param", "duckdb"))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pg_server.PgServer]:
    """A throwaway PostgreSQL server for the whole run (skipped, saying why, without binaries)."""
    if not pg_server.available():
        pytest.skip(pg_server.MISSING)
    server = pg_server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_cluster: pg_server.PgServer) -> str:
    """A migrated PostgreSQL practice (built-in instruments synced) that tests copy."""
    name = pg_cluster.create_database(prefix="template")
    database = open_practice(postgres=pg_cluster.dsn(name), instruments_folder=_EMPTY_FOLDER)
    database.close()
    return name


_EMPTY_FOLDER = Path(__file__).parent / "no-instruments"  # never created: built-in files only


@pytest.fixture
def pg_dsn(pg_cluster: pg_server.PgServer, pg_template: str) -> Iterator[str]:
    """A fresh migrated PostgreSQL practice of the test's own, dropped afterwards."""
    name = pg_cluster.create_database(template=pg_template)
    yield pg_cluster.dsn(name)
    pg_cluster.drop_database(name)


@pytest.fixture
def pg_url(pg_cluster: pg_server.PgServer) -> Iterator[str]:
    """A new, empty PostgreSQL database of the test's own (no tables), dropped afterwards."""
    name = pg_cluster.create_database(prefix="empty")
    yield pg_cluster.dsn(name)
    pg_cluster.drop_database(name)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture
def practice_dsn(backend: str, request: pytest.FixtureRequest) -> str | None:
    """The PostgreSQL connection string of the test's practice, None on a DuckDB file."""
    if backend == "postgres":
        return str(request.getfixturevalue("pg_dsn"))
    return None


@pytest.fixture
def practice_path(
    db_path: Path, practice_dsn: str | None, monkeypatch: pytest.MonkeyPatch
) -> Path | None:
    """The test practice's file for commands (`--db`); None on PostgreSQL, which
    $CASELOAD_POSTGRES then names (for commands, and for `open_practice()` with no path)."""
    if practice_dsn is None:
        return db_path
    monkeypatch.setenv(POSTGRES_ENV_VAR, practice_dsn)
    return None


@pytest.fixture
def cli_db(practice_path: Path | None) -> list[str]:
    """The command-line options that name the test's practice."""
    return [] if practice_path is None else ["--db", str(practice_path)]


@pytest.fixture
def reopen(practice_path: Path | None) -> Callable[[], Database]:
    """Another handle on the test's practice, as another program (or server) holds one."""
    from tests import factories

    def handle() -> Database:
        if practice_path is None:
            return open_practice()
        return factories.database(practice_path)

    return handle


@pytest.fixture
def db(db_path: Path, practice_dsn: str | None) -> Iterator[Database]:
    database = (
        open_practice(db_path) if practice_dsn is None else open_practice(postgres=practice_dsn)
    )
    yield database
    database.close()


@pytest.fixture
def therapist(db: Database) -> Actor:
    return add_therapist(db, "Test Therapist")


@pytest.fixture
def supervisor(db: Database) -> Actor:
    return add_therapist(db, "Test Supervisor", role="supervisor")


@pytest.fixture
def couple(db: Database, therapist: Actor) -> int:
    """Case D-001 with the demo practice's partner emails (the sample exports match them)."""
    return add_couple(
        db,
        therapist,
        "D-001",
        PartnerInput("Ann", "d001.a@example.org"),
        PartnerInput("Bo", "d001.b@example.org"),
        start_date=START,
    )


@pytest.fixture
def app_env(
    db_path: Path, practice_dsn: str | None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """For AppTest: the app opens the test database, with Streamlit's process-wide caches empty."""
    import streamlit as st

    monkeypatch.setenv(ENV_VAR, str(db_path))
    if practice_dsn is not None:
        monkeypatch.setenv(POSTGRES_ENV_VAR, practice_dsn)
    st.cache_data.clear()
    st.cache_resource.clear()
    # AppTest leaves app.py as the process's __main__ module: a process spawned later (the
    # hostile corpus's workers) would then run the app - on the default database under data/.
    main_module = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main_module
    st.cache_data.clear()
    st.cache_resource.clear()
