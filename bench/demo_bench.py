"""How long the demo generator takes for a large practice (1000 couples, up to 52 weeks), and
the copy of that file into PostgreSQL (analytics.store.transfer.to_postgres). The practice is
the one every later bench uses (bench/practices.py): built once per run."""

from __future__ import annotations

from bench import Row, ratio
from bench.practices import COUPLES, WEEKS, open_db, practice, wanted


def run() -> list[Row]:
    """Build the shared practice (timed) and copy it into PostgreSQL (timed)."""
    p = practice(COUPLES)
    db = open_db(p, "duckdb")
    try:
        responses = int(db.query_value("SELECT count(*) FROM responses"))
        answers = int(db.query_value("SELECT count(*) FROM answers"))
    finally:
        db.close()
    rows = [
        Row(
            f"demo build ({COUPLES} couples x {WEEKS} weeks)",
            p.build_seconds,
            "s",
            "< 60 s",
            f"{responses:,} responses, {answers:,} answers",
            "duckdb",
        )
    ]
    if wanted("postgres"):
        note = "to_postgres: every table, checked" if p.dsn else f"failed: {p.pg_error}"
        rows.append(
            Row(
                "demo copied file -> PostgreSQL",
                p.transfer_seconds,
                "s",
                "",
                note,
                "postgres",
                ratio(p.transfer_seconds, p.build_seconds),
                "demo build",
            )
        )
    return rows
