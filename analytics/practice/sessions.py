"""Therapy sessions: date, who attended, a short note."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics.errors import CaseloadError
from analytics.practice import audit
from analytics.practice.access import Actor
from analytics.practice.couples import get_couple
from analytics.store.db import Database

ATTENDANCE = {
    "both": "Both partners",
    "A": "Partner A only",
    "B": "Partner B only",
    "neither": "Neither (missed)",
}
NOTE_LIMIT = 2000


def add_session(
    db: Database,
    actor: Actor,
    couple_id: int,
    session_date: dt.date,
    attendance: str,
    notes: str = "",
    *,
    today: dt.date,
) -> int:
    """Record a session (not after `today`); its number is the next one for the couple.
    Returns the session id."""
    get_couple(db, actor, couple_id)  # access check
    if attendance not in ATTENDANCE:
        raise CaseloadError("Attendance must be both, A, B or neither.")
    if session_date > today:
        raise CaseloadError("A session date cannot be in the future.")
    notes = (notes or "").strip()
    if len(notes) > NOTE_LIMIT:
        raise CaseloadError(f"The note is longer than {NOTE_LIMIT} characters.")
    with db.transaction() as cur:
        row = cur.execute(
            "SELECT coalesce(max(session_number), 0) + 1 FROM sessions WHERE couple_id = ?",
            [couple_id],
        ).fetchone()
        assert row is not None
        new = cur.execute(
            "INSERT INTO sessions (couple_id, session_date, session_number, attendance, notes,"
            " created_by) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            [couple_id, session_date, row[0], attendance, notes or None, actor.id],
        ).fetchone()
        assert new is not None
        audit.record(
            cur,
            actor_id=actor.id,
            action="create",
            entity="session",
            entity_id=new[0],
            couple_id=couple_id,
        )
    return int(new[0])


def list_sessions(db: Database, actor: Actor, couple_id: int) -> pd.DataFrame:
    """A couple's sessions, newest first."""
    get_couple(db, actor, couple_id)
    return db.query_df(
        "SELECT session_number, session_date, attendance, notes FROM sessions"
        " WHERE couple_id = ? ORDER BY session_number DESC",
        [couple_id],
    )
