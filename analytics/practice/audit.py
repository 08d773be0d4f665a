"""The append-only audit trail. Only `record` touches the table, and only with INSERT."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import duckdb
import pandas as pd

from analytics.store.db import Database


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
        "INSERT INTO audit_log (therapist_id, action, entity, entity_id, couple_id, detail,"
        " logged_at) VALUES (?, ?, ?, ?, ?, ?, coalesce(?, current_timestamp))",
        [
            actor_id,
            action,
            entity,
            entity_id,
            couple_id,
            json.dumps(detail or {}, sort_keys=True),
            logged_at,
        ],
    )


def entries(db: Database, *, couple_id: int | None = None, limit: int = 500) -> pd.DataFrame:
    """The newest audit entries, optionally for one couple."""
    return db.query_df(
        "SELECT a.logged_at, t.name AS therapist, a.action, a.entity, a.entity_id, a.couple_id,"
        " a.detail FROM audit_log a LEFT JOIN therapists t ON t.id = a.therapist_id"
        " WHERE (? IS NULL OR a.couple_id = ?) ORDER BY a.id DESC LIMIT ?",
        [couple_id, couple_id, limit],
    )
