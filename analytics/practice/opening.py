"""Open a practice: the database file migrated to the current schema, with the instrument files
(built-in and the therapist's folder) synced into it. The one way the app, the command line and
the tests get a ready `Database`, encrypted with the key analytics.store.keys finds (or makes,
for a new practice)."""

from __future__ import annotations

from pathlib import Path

from analytics.errors import CaseloadError
from analytics.instruments import catalog
from analytics.instruments.sync import SyncOutcome, sync
from analytics.store.db import ENCRYPT_HINT, Database, PostgresDatabase
from analytics.store.keys import resolve_key
from analytics.store.migrate import apply_migrations
from analytics.store.paths import resolve_instruments_folder, resolve_path, resolve_postgres


def open_practice(
    path: str | Path | None = None,
    *,
    key: str | None = None,
    instruments_folder: str | Path | None = None,
    postgres: str | None = None,
) -> Database:
    """Open (creating if needed) and migrate the database, then sync the instrument files.

    A PostgreSQL connection string (`postgres`, else $CASELOAD_POSTGRES) opens the practice
    kept there, unless a file `path` is named; otherwise the practice is the DuckDB file."""
    dsn = None if path else resolve_postgres(postgres)
    db = (
        PostgresDatabase(dsn)
        if dsn is not None
        else Database(resolve_path(path), key=practice_key(path, key))
    )
    try:
        apply_migrations(db)
        sync_instruments(db, instruments_folder)
    except BaseException:
        db.close()
        raise
    return db


def sync_instruments(db: Database, folder: str | Path | None = None) -> SyncOutcome:
    """Read the built-in and folder instrument files and sync the valid ones."""
    return sync(db, catalog.load_all(resolve_instruments_folder(folder)))


def practice_key(path: str | Path | None = None, key: str | None = None) -> str:
    """The key that opens the practice's database (see analytics.store.keys); a new practice
    gets a key file. Refused when the file exists and no key is configured."""
    db_path = resolve_path(path)
    found = resolve_key(db_path, key)
    if found is not None:
        return found.value
    # A file and no key: a plain file from before encryption, or an encrypted one whose key is
    # missing. Only opening it without a key tells which; either way nothing is opened here.
    probe = Database(db_path, read_only=True)
    try:
        probe.query_value("SELECT 1")
    finally:
        probe.close()
    raise CaseloadError("The database file is not encrypted.", hint=ENCRYPT_HINT)
