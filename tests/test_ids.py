"""store.ids: fresh ids drawn up front, before the INSERT, on a DuckDB file."""

from __future__ import annotations

import pytest

from analytics.errors import CaseloadError
from analytics.practice import audit
from analytics.practice.access import Actor
from analytics.practice.sessions import add_session
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from analytics.store.ids import SEQUENCES, next_id, next_ids, on_postgres
from tests import factories
from tests.factories import START


def test_every_known_table_draws_ascending_distinct_ids_above_its_rows(
    db: Database, couple: int
) -> None:
    """Every table in the map has its sequence in a migrated practice, ahead of its rows."""
    with db.transaction() as cur:
        assert not on_postgres(cur)
        for table in SEQUENCES:
            ids = next_ids(cur, table, 3)
            assert len(ids) == 3 and len(set(ids)) == 3, table
            assert ids == sorted(ids), table
            # A table name from the map, never text from outside.
            top = cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()
            assert top is not None and ids[0] > int(top[0]), table


def test_count_zero_draws_nothing(db: Database) -> None:
    with db.transaction() as cur:
        before = next_id(cur, "couples")
        assert next_ids(cur, "couples", 0) == []
        assert next_ids(cur, "couples", -1) == []
        assert next_id(cur, "couples") == before + 1


@pytest.mark.parametrize("table", ["nonsense", "schema_migrations", "couples; DROP TABLE x", ""])
def test_an_unknown_table_is_refused(db: Database, table: str) -> None:
    with db.transaction() as cur, pytest.raises(CaseloadError, match="No id sequence"):
        next_ids(cur, table, 1)
    with db.transaction() as cur, pytest.raises(CaseloadError, match="No id sequence"):
        next_id(cur, table)


def test_drawn_ids_never_collide_with_rows_product_code_inserts_afterwards(
    db: Database, therapist: Actor, couple: int
) -> None:
    """Ids drawn (and used, or wasted) stay taken: later inserts, whether they draw their id
    or take the column's default (partners, audit entries), get other ones."""
    with db.transaction() as cur:
        used = next_id(cur, "therapists")
        cur.execute(
            "INSERT INTO therapists (id, name, role) VALUES (?, 'Drawn Therapist', 'therapist')",
            [used],
        )
        wasted = {
            table: set(next_ids(cur, table, 5))
            for table in ("therapists", "couples", "partners", "sessions", "audit_log")
        }
    other = add_therapist(db, "Later Therapist")
    assert other.id != used and other.id not in wasted["therapists"]
    later = factories.couple(db, therapist, "D-002")
    assert later not in wasted["couples"]
    partners = {factories.partner_id(db, later, label) for label in "AB"}
    assert not partners & wasted["partners"]
    session = add_session(db, therapist, couple, START, "both", "", today=START)
    assert session not in wasted["sessions"]
    logged = {int(r[0]) for r in db.query_rows("SELECT id FROM audit_log")}
    assert not logged & wasted["audit_log"]
    assert audit.verify(db).intact
