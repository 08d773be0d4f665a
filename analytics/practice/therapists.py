"""Therapists: add, list, and look up the acting one."""

from __future__ import annotations

import pandas as pd

from analytics.errors import CaseloadError
from analytics.practice import audit
from analytics.practice.access import ROLES, Actor
from analytics.store.db import Database
from analytics.store.ids import next_id

__all__ = ["Actor", "add_therapist", "get_actor", "list_therapists"]


def add_therapist(db: Database, name: str, *, role: str = "therapist") -> Actor:
    """Create a therapist; names are unique."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise CaseloadError("A therapist needs a name of 1 to 100 characters.")
    if role not in ROLES:
        raise CaseloadError(f"The role must be one of: {', '.join(ROLES)}.")
    with db.transaction() as cur:
        exists = cur.execute("SELECT 1 FROM therapists WHERE lower(name) = lower(?)", [name])
        if exists.fetchone():
            raise CaseloadError("A therapist with that name already exists.")
        therapist_id = next_id(cur, "therapists")
        cur.execute(
            "INSERT INTO therapists (id, name, role) VALUES (?, ?, ?)", [therapist_id, name, role]
        )
        audit.record(
            cur, actor_id=None, action="create", entity="therapist", entity_id=therapist_id
        )
    return Actor(therapist_id, name, role)


def list_therapists(db: Database) -> pd.DataFrame:
    """Every active therapist with the number of active couples assigned."""
    return db.query_df(
        "SELECT t.id, t.name, t.role,"
        " count(c.id) FILTER (WHERE c.status <> 'closed') AS active_couples"
        " FROM therapists t LEFT JOIN couples c ON c.therapist_id = t.id"
        " WHERE t.active GROUP BY ALL ORDER BY t.name"
    )


def get_actor(db: Database, who: int | str) -> Actor:
    """Look a therapist up by id or by (case-insensitive) name."""
    if isinstance(who, int):
        rows = db.query_rows("SELECT id, name, role FROM therapists WHERE id = ?", [who])
    else:
        rows = db.query_rows(
            "SELECT id, name, role FROM therapists WHERE lower(name) = lower(?)", [who.strip()]
        )
    if not rows:
        raise CaseloadError("There is no therapist by that name.")
    tid, name, role = rows[0]
    return Actor(int(tid), str(name), str(role))
