"""Open a practice: the database file migrated to the current schema, with the instrument files
(built-in and the therapist's folder) synced into it. The one way the app, the command line and
the tests get a ready `Database`."""

from __future__ import annotations

from pathlib import Path

from analytics.instruments import catalog
from analytics.instruments.sync import SyncOutcome, sync
from analytics.store.db import Database
from analytics.store.migrate import apply_migrations
from analytics.store.paths import resolve_instruments_folder, resolve_path


def open_practice(
    path: str | Path | None = None, *, instruments_folder: str | Path | None = None
) -> Database:
    """Open (creating if needed) and migrate the database, then sync the instrument files."""
    db = Database(resolve_path(path))
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
