"""The append-only audit trail. Only `record` touches the table, and only with INSERT."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd

from analytics.db import Database


def record(
    cur: duckdb.DuckDBPyConnection,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None = None,
    couple_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry inside the caller's transaction, so it lands with the change or not at all.

    `detail` holds ids, counts and field names only: never answers, notes or other health data.
    """
    cur.execute(
        "INSERT INTO audit_log (therapist_id, action, entity, entity_id, couple_id, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [actor_id, action, entity, entity_id, couple_id, json.dumps(detail or {}, sort_keys=True)],
    )


def entries(db: Database, *, couple_id: int | None = None, limit: int = 500) -> pd.DataFrame:
    """The newest audit entries, optionally for one couple."""
    return db.query_df(
        "SELECT a.logged_at, t.name AS therapist, a.action, a.entity, a.entity_id, a.couple_id,"
        " a.detail FROM audit_log a LEFT JOIN therapists t ON t.id = a.therapist_id"
        " WHERE (? IS NULL OR a.couple_id = ?) ORDER BY a.id DESC LIMIT ?",
        [couple_id, couple_id, limit],
    )
