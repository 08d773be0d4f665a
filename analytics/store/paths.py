"""Where the practice's files live: the database file and the folder of therapist-defined
instruments. Explicit values win, then environment variables, then defaults under data/.

The synthetic demo practice lives in a file of its own (data/demo.duckdb), never in the
practice's; the dashboard serves the practice's file when it exists and the demo otherwise."""

from __future__ import annotations

import os
from pathlib import Path

from analytics.store.postgres import ENV_VAR as POSTGRES_ENV_VAR

ENV_VAR = "CASELOAD_DB"
DEFAULT_PATH = Path("data") / "caseload.duckdb"
DEMO_PATH = Path("data") / "demo.duckdb"
INSTRUMENTS_ENV_VAR = "CASELOAD_INSTRUMENTS"
DEFAULT_INSTRUMENTS = Path("data") / "instruments"


def resolve_path(explicit: str | Path | None = None) -> Path:
    """The database path: an explicit value (CLI option, secrets), then $CASELOAD_DB, then the
    default under data/."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_PATH


def serve_path(explicit: str | Path | None = None) -> Path:
    """The database the dashboard serves: as `resolve_path`, except that without an explicit
    value or $CASELOAD_DB it is the demo (data/demo.duckdb) until data/caseload.duckdb exists.
    Only the dashboard falls back: a command that writes never goes to the demo unasked."""
    if explicit or os.environ.get(ENV_VAR):
        return resolve_path(explicit)
    return DEFAULT_PATH if DEFAULT_PATH.exists() else DEMO_PATH


def resolve_postgres(explicit: str | None = None) -> str | None:
    """The PostgreSQL connection string of a practice kept there: an explicit value (secrets),
    then $CASELOAD_POSTGRES; None for a practice in a DuckDB file."""
    return explicit or os.environ.get(POSTGRES_ENV_VAR) or None


def resolve_instruments_folder(explicit: str | Path | None = None) -> Path:
    """The folder of therapist-defined instrument files: an explicit value, then
    $CASELOAD_INSTRUMENTS, then data/instruments/."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(INSTRUMENTS_ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_INSTRUMENTS
