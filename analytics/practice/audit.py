"""The append-only audit trail. Only `record` touches the table, and only with INSERT.

Each entry carries the hash of the entry before it and its own hash (migration 008 defines the
canonical text hashed, `audit_entry_hash`), so `verify` finds an entry edited or deleted outside
the app."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from analytics.practice.access import Actor
from analytics.store.db import Database
from analytics.store.ids import next_id

# The one statement that appends: it reads the last entry's hash and computes the new hash in
# the same statement, inside the caller's transaction. A concurrent writer that read the same
# last entry fails at COMMIT on the UNIQUE prev_hash, so the chain never forks. The id is drawn
# just before, inside the same transaction (after its snapshot): every entry it can see was
# committed before that snapshot, so its id was drawn earlier and is smaller, and ORDER BY id
# still finds the chain's end.
_APPEND = """
INSERT INTO audit_log (id, logged_at, therapist_id, action, entity, entity_id, couple_id, detail,
                       prev_hash, hash)
SELECT e.*, audit_entry_hash(e.id, e.logged_at, e.therapist_id, e.action, e.entity, e.entity_id,
                             e.couple_id, e.detail, e.prev_hash)
FROM (
    SELECT ?::BIGINT AS id,
           coalesce(?::TIMESTAMP, current_timestamp::TIMESTAMP) AS logged_at,
           ?::INTEGER AS therapist_id, ?::VARCHAR AS action, ?::VARCHAR AS entity,
           ?::BIGINT AS entity_id, ?::INTEGER AS couple_id, ?::JSON AS detail,
           coalesce((SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), audit_genesis())
               AS prev_hash
) e
"""


def record(
    cur: duckdb.DuckDBPyConnection,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None = None,
    couple_id: int | None = None,
    detail: dict[str, Any] | None = None,
    logged_at: dt.datetime | None = None,
) -> None:
    """Append one entry inside the caller's transaction, so it lands with the change or not at all.

    `detail` holds ids, counts and field names only: never answers, notes or other health data.
    `logged_at` defaults to now; the demo generator passes its fixed date to stay reproducible.
    """
    cur.execute(
        _APPEND,
        [
            next_id(cur, "audit_log"),
            logged_at,
            actor_id,
            action,
            entity,
            entity_id,
            couple_id,
            json.dumps(detail or {}, sort_keys=True),
        ],
    )


VIEW_PAGES = ("couple", "repair", "agenda", "cli")


def record_view(db: Database, actor: Actor, couple_id: int, page: str) -> None:
    """Audit one read of a couple's data (action 'view'): who, which couple, from which page.

    The caller has already shown (or is about to show) the couple, so access was checked there;
    this is one INSERT, retried when another writer appended at the same moment."""
    if page not in VIEW_PAGES:
        raise ValueError(f"unknown page {page!r}")

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        record(
            cur,
            actor_id=actor.id,
            action="view",
            entity="couple",
            entity_id=couple_id,
            couple_id=couple_id,
            detail={"page": page},
        )

    db.atomic(work)


@dataclass(frozen=True)
class ChainCheck:
    """The result of `verify`: how many entries, and the first broken one (None: intact)."""

    entries: int
    broken_id: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        """True when every entry's hash and link to the one before hold."""
        return self.broken_id is None


def verify(db: Database) -> ChainCheck:
    """Recompute the hash chain in id order; name the first entry that was edited, or that
    follows a gap (an entry deleted before it)."""
    rows = db.query_rows(
        "SELECT id, prev_hash, hash, audit_entry_hash(id, logged_at, therapist_id, action,"
        " entity, entity_id, couple_id, detail, prev_hash), audit_genesis()"
        " FROM audit_log ORDER BY id"
    )
    before: str | None = None
    for entry_id, prev_hash, stored, expected, genesis in rows:
        link = genesis if before is None else before
        if prev_hash != link:
            where = "the start of the log" if before is None else "the entry before it"
            return ChainCheck(
                len(rows),
                int(entry_id),
                f"its link does not match {where}: an entry was deleted (or altered) before it",
            )
        if stored != expected:
            return ChainCheck(
                len(rows), int(entry_id), "its hash does not match its content: it was edited"
            )
        before = stored
    return ChainCheck(len(rows))


def entries(db: Database, *, couple_id: int | None = None, limit: int = 500) -> pd.DataFrame:
    """The newest audit entries, optionally for one couple."""
    return db.query_df(
        "SELECT a.logged_at, t.name AS therapist, a.action, a.entity, a.entity_id, a.couple_id,"
        " a.detail FROM audit_log a LEFT JOIN therapists t ON t.id = a.therapist_id"
        " WHERE (? IS NULL OR a.couple_id = ?) ORDER BY a.id DESC LIMIT ?",
        [couple_id, couple_id, limit],
    )
