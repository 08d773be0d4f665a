"""Numbered SQL migrations, applied in order at start.

A DuckDB file takes analytics/store/migrations/NNN_name.sql as they are. A PostgreSQL practice
takes its tables from analytics/store/pg_migrations/NNN_name.sql, in PostgreSQL's own dialect
(identity columns, real foreign keys), where NNN is the DuckDB migration whose schema it brings
it to; the macros and views of the DuckDB migrations are then created in this process's DuckDB
(`memory.main`), where they run over the attached tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import duckdb

from analytics.errors import CaseloadError
from analytics.store import postgres
from analytics.store.db import Database

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available(package: str = "analytics.store.migrations") -> list[Migration]:
    """Every migration shipped with the package, in version order."""
    found = []
    for entry in resources.files(package).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise CaseloadError("Two database migrations share a number; the install is broken.")
    return found


def schema_version(db: Database) -> int:
    """The highest applied migration, 0 for a new database."""
    if db.backend == "postgres":
        return _pg_schema_version(db)
    with db.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
            " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
        )
        row = cur.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def apply_migrations(db: Database) -> list[int]:
    """Apply every migration newer than the database, each in its own transaction.

    Returns the versions applied (empty when already current). Idempotent.
    """
    if db.backend == "postgres":
        return _apply_postgres(db)
    current = schema_version(db)
    applied = []
    for migration in available():
        if migration.version <= current:
            continue
        with db.transaction() as cur:
            cur.execute(migration.sql)
            cur.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                [migration.version, migration.name],
            )
        applied.append(migration.version)
    return applied


PG_PACKAGE = "analytics.store.pg_migrations"
_PG_LEDGER = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
    " name text NOT NULL, applied_at timestamp NOT NULL DEFAULT localtimestamp)"
)
# Two servers starting at once must not both migrate: PostgreSQL's transaction-level advisory
# lock (an arbitrary constant of ours) makes the second wait, then find the work done.
_APPLIED = "SELECT version FROM schema_migrations WHERE version = {version}"
_PG_LOCK = "SELECT pg_advisory_xact_lock(7261530918)"
_OBJECT = re.compile(r"(?is)^\s*(?:--[^\n]*\n\s*)*CREATE\s+OR\s+REPLACE\s+(?:MACRO|VIEW)\b")
_NAMED = re.compile(r"(?i)(CREATE\s+OR\s+REPLACE\s+(?:MACRO|VIEW))\s+(\w+)")


def _pg_schema_version(db: Database) -> int:
    with db.transaction() as cur:
        postgres.execute_native(cur, _PG_LEDGER)
    with db.cursor() as cur:
        cur.execute("CALL pg_clear_cache()")
        row = cur.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def _apply_postgres(db: Database) -> list[int]:
    """Bring the PostgreSQL tables up to date, then create the macros and views here."""
    current = _pg_schema_version(db)
    applied = []
    for migration in available(PG_PACKAGE):
        if migration.version <= current:
            continue
        with db.transaction() as cur:
            postgres.execute_native(cur, _PG_LOCK)
            done = cur.execute(
                "SELECT count(*) FROM postgres_query('pg', ?)",
                [_APPLIED.format(version=int(migration.version))],
            ).fetchone()
            if done and done[0]:
                continue  # another server applied it while this one waited for the lock
            postgres.execute_native(
                cur,
                migration.sql + f"\nINSERT INTO schema_migrations (version, name) VALUES"
                f" ({int(migration.version)}, '{migration.name}');",
            )
        applied.append(migration.version)
    with db.cursor() as cur:
        # DuckDB caches PostgreSQL's catalog: what another server (or this one) changed is
        # read again.
        cur.execute("CALL pg_clear_cache()")
    install_objects(db)
    return applied


def object_statements() -> list[str]:
    """The macros and views of the DuckDB migrations, in order (a later one replaces an earlier
    one of the same name)."""
    found = []
    for migration in available():
        for statement in duckdb.extract_statements(migration.sql):
            if _OBJECT.match(statement.query):
                found.append(statement.query)
    return found


def install_objects(db: Database) -> None:
    """Create the macros and views in this process's DuckDB (`memory.main`), where every cursor
    of a PostgreSQL practice finds them; tables in their bodies are found at call time."""
    with db.cursor() as cur:
        for sql in object_statements():
            cur.execute(_NAMED.sub(r"\1 memory.main.\2", sql, count=1))
