"""Fresh ids for new rows, the same way on both backends.

Callers draw ids first and INSERT them explicitly: PostgreSQL tables attached through DuckDB
take no `RETURNING`, and DuckDB sequences cannot be read there. In a DuckDB file the ids come
from the table's sequence; in PostgreSQL from the identity column's own sequence, through
`postgres_query` on the transaction's own connection (so a rollback wastes ids, nothing more).
"""

from __future__ import annotations

import duckdb

from analytics.errors import CaseloadError

PG_ALIAS = "pg"  # the name a PostgreSQL practice is attached under

# Table -> its DuckDB sequence (migrations 001-009). In PostgreSQL each is an identity column.
SEQUENCES = {
    "therapists": "seq_therapists",
    "couples": "seq_couples",
    "partners": "seq_partners",
    "sessions": "seq_sessions",
    "instruments": "seq_instruments",
    "items": "seq_items",
    "import_profiles": "seq_import_profiles",
    "import_batches": "seq_import_batches",
    "responses": "seq_responses",
    "unmatched_responses": "seq_unmatched",
    "repair_events": "seq_repair",
    "agendas": "seq_agendas",
    "agenda_items": "seq_agenda_items",
    "audit_log": "seq_audit",
    "safety_reviews": "seq_safety_reviews",
    "repair_cases": "seq_repair_cases",
    "accounts": "seq_accounts",
    "sign_ins": "seq_sign_ins",
}


def on_postgres(cur: duckdb.DuckDBPyConnection) -> bool:
    """True when the cursor works on a PostgreSQL practice (its default catalog is `pg`)."""
    row = cur.execute("SELECT current_database()").fetchone()
    return row is not None and row[0] == PG_ALIAS


def next_ids(cur: duckdb.DuckDBPyConnection, table: str, count: int) -> list[int]:
    """`count` fresh ids for new rows of `table`, ascending (not necessarily consecutive:
    transactions drawing at the same moment interleave)."""
    if table not in SEQUENCES:
        raise CaseloadError(f"No id sequence is known for the table {table!r}.")
    if count <= 0:
        return []
    if on_postgres(cur):
        # Fixed names and an integer only: postgres_query takes no parameters of its own.
        query = (
            f"SELECT nextval(pg_get_serial_sequence('public.{table}', 'id')) AS id"  # noqa: S608 (fixed names)
            f" FROM generate_series(1, {int(count)})"
        )
        rows = cur.execute(
            f"SELECT id FROM postgres_query('{PG_ALIAS}', ?)",  # noqa: S608 (fixed name)
            [query],
        ).fetchall()
    else:
        rows = cur.execute(
            "SELECT nextval(?) AS id FROM range(?)", [SEQUENCES[table], count]
        ).fetchall()
    return sorted(int(row[0]) for row in rows)


def next_id(cur: duckdb.DuckDBPyConnection, table: str) -> int:
    """One fresh id for a new row of `table`."""
    return next_ids(cur, table, 1)[0]
