"""What kind of practice a database holds: the synthetic demo (marked by the demo builder in
`practice_kind`, migration 010) or a real practice; and whether it holds any records at all."""

from __future__ import annotations

import datetime as dt

import duckdb

from analytics.store.db import Database

DEMO = "demo"


def is_demo(db: Database) -> bool:
    """True when the database holds the synthetic demo practice."""
    with db.cursor() as cur:
        return demo_in(cur)


def is_empty(db: Database) -> bool:
    """True when the database holds no therapist, couple, response or account."""
    with db.cursor() as cur:
        return record_count(cur) == 0


def demo_in(cur: duckdb.DuckDBPyConnection) -> bool:
    """`is_demo` inside a caller's transaction."""
    row = cur.execute("SELECT count(*) FROM practice_kind WHERE kind = ?", [DEMO]).fetchone()
    return row is not None and int(row[0]) > 0


def record_count(cur: duckdb.DuckDBPyConnection) -> int:
    """Therapists, couples, responses and accounts together: what makes a practice's records."""
    row = cur.execute(
        "SELECT (SELECT count(*) FROM therapists) + (SELECT count(*) FROM couples)"
        " + (SELECT count(*) FROM responses) + (SELECT count(*) FROM accounts)"
    ).fetchone()
    return 0 if row is None else int(row[0])


def mark_demo(cur: duckdb.DuckDBPyConnection, at: dt.datetime) -> None:
    """Mark the database as the demo practice, inside the demo builder's transaction."""
    # No upsert clause: attached PostgreSQL tables take no DuckDB upsert. A mark made meanwhile
    # by another transaction fails this one at COMMIT on the key, nothing is stored twice.
    cur.execute(
        "INSERT INTO practice_kind (kind, marked_at) SELECT ?, ?"
        " WHERE NOT EXISTS (SELECT 1 FROM practice_kind WHERE kind = ?)",
        [DEMO, at, DEMO],
    )
