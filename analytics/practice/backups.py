"""Backups of the practice, audited: a supervisor's "Back up now", the `backup` command.

The copy itself (consistent, checked, encrypted with the database's key, 0600, with a .sha256
file beside it) is analytics.store.backup's; this layer checks who asks and records each backup
in the audit trail (no file names: they are chosen by people and could say anything).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from analytics.errors import CaseloadError
from analytics.practice import audit
from analytics.practice.access import Actor
from analytics.store import backup
from analytics.store.db import Database

FOLDER = "backups"
POSTGRES_HINT = (
    "The server's own backups (pg_dump, or your IT's) cover it; for an encrypted file copy run"
    " `python -m analytics migrate-to-duckdb --to FILE`."
)


def backup_folder(db: Database) -> Path:
    """Where "Back up now" writes: a `backups` folder beside the database file."""
    return db.path.resolve().parent / FOLDER


def backup_name(now: dt.datetime) -> str:
    """A backup's file name for the (naive UTC) moment it is made."""
    return f"caseload-{now:%Y%m%dT%H%M%SZ}.duckdb"


def back_up(db: Database, actor: Actor, out: str | Path) -> backup.Copy:
    """Copy the practice to the new file `out` (and `out`.sha256), then audit it."""
    if not actor.is_supervisor:
        raise CaseloadError("Only a supervisor can back up the practice.")
    if db.backend == "postgres":
        raise CaseloadError("This practice is kept in PostgreSQL.", hint=POSTGRES_HINT)
    copy = backup.back_up(db, Path(out))

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        audit.record(
            cur,
            actor_id=actor.id,
            action="backup",
            entity="database",
            detail={"tables": len(copy.tables)},
        )

    db.atomic(work)
    return copy


def back_up_now(db: Database, actor: Actor, now: dt.datetime) -> backup.Copy:
    """A backup into the backups folder beside the database, named for `now` (naive UTC)."""
    return back_up(db, actor, backup_folder(db) / backup_name(now))
