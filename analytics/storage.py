"""Open a database ready for use: path resolution, migrations, instrument sync."""

from __future__ import annotations

import os
from pathlib import Path

from analytics import instruments
from analytics.db import Database
from analytics.migrate import apply_migrations

ENV_VAR = "CASELOAD_DB"
DEFAULT_PATH = Path("data") / "caseload.duckdb"


def resolve_path(explicit: str | Path | None = None) -> Path:
    """The database path: an explicit value (CLI option, secrets), then $CASELOAD_DB, then the
    default under data/."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_PATH


def open_database(path: str | Path | None = None) -> Database:
    """Open (creating if needed) and migrate the database, and sync the instrument files."""
    db = Database(resolve_path(path))
    apply_migrations(db)
    instruments.sync(db)
    return db
