"""Therapy sessions: date, who attended, a short note. Recorded, corrected and deleted here only,
always scoped to the actor and audited (the audit names changed fields, never the note)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from analytics.errors import CaseloadError
from analytics.practice import access, audit
from analytics.practice.access import Actor
from analytics.practice.couples import get_couple
from analytics.store.db import Database
from analytics.store.ids import next_id

ATTENDANCE = {
    "both": "Both partners",
    "A": "Partner A only",
    "B": "Partner B only",
    "neither": "Neither (missed)",
}
NOTE_LIMIT = 2000


class SameDaySession(CaseloadError):
    """The couple already has a session on that date: recording another needs a confirmation
    (`allow_same_day=True`), since it is more often a double entry than a second session."""


def _clean(session_date: dt.date, attendance: str, notes: str | None, today: dt.date) -> str:
    """Check a session's fields; returns the note stripped."""
    if attendance not in ATTENDANCE:
        raise CaseloadError("Attendance must be both, A, B or neither.")
    if session_date > today:
        raise CaseloadError("A session date cannot be in the future.")
    text = (notes or "").strip()
    if len(text) > NOTE_LIMIT:
        raise CaseloadError(f"The note is longer than {NOTE_LIMIT} characters.")
    return text


def _check_same_day(
    cur: duckdb.DuckDBPyConnection,
    couple_id: int,
    session_date: dt.date,
    *,
    other_than: int | None,
    allow_same_day: bool,
) -> None:
    """Refuse a second session on one date for one couple unless it was confirmed."""
    if allow_same_day:
        return
    row = cur.execute(
        "SELECT count(*) FROM sessions WHERE couple_id = ? AND session_date = ?"
        " AND (? IS NULL OR id <> ?)",
        [couple_id, session_date, other_than, other_than],
    ).fetchone()
    if row is not None and row[0]:
        raise SameDaySession(
            f"This couple already has a session on {session_date:%d %b %Y}.",
            hint="Confirm that this is a second session on the same day, not a double entry.",
        )


def add_session(
    db: Database,
    actor: Actor,
    couple_id: int,
    session_date: dt.date,
    attendance: str,
    notes: str = "",
    *,
    today: dt.date,
    allow_same_day: bool = False,
) -> int:
    """Record a session (not after `today`); its number is the next one for the couple.
    Returns the session id."""
    get_couple(db, actor, couple_id)  # access check
    notes = _clean(session_date, attendance, notes, today)
    with db.transaction() as cur:
        _check_same_day(
            cur, couple_id, session_date, other_than=None, allow_same_day=allow_same_day
        )
        row = cur.execute(
            "SELECT coalesce(max(session_number), 0) + 1 FROM sessions WHERE couple_id = ?",
            [couple_id],
        ).fetchone()
        assert row is not None
        session_id = next_id(cur, "sessions")
        cur.execute(
            "INSERT INTO sessions (id, couple_id, session_date, session_number, attendance,"
            " notes, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [session_id, couple_id, session_date, row[0], attendance, notes or None, actor.id],
        )
        audit.record(
            cur,
            actor_id=actor.id,
            action="create",
            entity="session",
            entity_id=session_id,
            couple_id=couple_id,
        )
    return session_id


def _session(
    cur: duckdb.DuckDBPyConnection, actor: Actor, session_id: int
) -> tuple[int, int, dt.date, str, str | None]:
    """(couple id, number, date, attendance, note) of a session the actor may see; the same
    refusal for an unknown session as for another therapist's, so neither is revealed."""
    row = cur.execute(
        "SELECT s.couple_id, s.session_number, s.session_date, s.attendance, s.notes"
        " FROM sessions s JOIN visible_couples(?, ?) v ON v.couple_id = s.couple_id"
        " WHERE s.id = ?",
        [*access.params(actor), session_id],
    ).fetchone()
    if row is None:
        raise CaseloadError("That session is not in your caseload.")
    return int(row[0]), int(row[1]), row[2], str(row[3]), row[4]


def update_session(
    db: Database,
    actor: Actor,
    session_id: int,
    *,
    session_date: dt.date,
    attendance: str,
    notes: str,
    today: dt.date,
    allow_same_day: bool = False,
) -> list[str]:
    """Correct a session's date, attendance or note (date not after `today`); returns the names
    of the fields that changed (none: nothing written, nothing audited)."""
    text = _clean(session_date, attendance, notes, today)
    with db.transaction() as cur:
        couple_id, _, old_date, old_attendance, old_notes = _session(cur, actor, session_id)
        changed = [
            field
            for field, old, new in (
                ("session_date", old_date, session_date),
                ("attendance", old_attendance, attendance),
                ("notes", old_notes or "", text),
            )
            if old != new
        ]
        if not changed:
            return []
        if "session_date" in changed:
            _check_same_day(
                cur,
                couple_id,
                session_date,
                other_than=session_id,
                allow_same_day=allow_same_day,
            )
        cur.execute(
            "UPDATE sessions SET session_date = ?, attendance = ?, notes = ? WHERE id = ?",
            [session_date, attendance, text or None, session_id],
        )
        # Field names only: the note itself (free text, health data) never enters the audit.
        audit.record(
            cur,
            actor_id=actor.id,
            action="update",
            entity="session",
            entity_id=session_id,
            couple_id=couple_id,
            detail={"fields": changed},
        )
    return changed


def delete_session(db: Database, actor: Actor, session_id: int) -> None:
    """Delete a session; later sessions of the couple move up one number so the count stays
    unbroken."""
    with db.transaction() as cur:
        couple_id, number, _, _, _ = _session(cur, actor, session_id)
        cur.execute("DELETE FROM sessions WHERE id = ?", [session_id])
        cur.execute(
            "UPDATE sessions SET session_number = session_number - 1"
            " WHERE couple_id = ? AND session_number > ?",
            [couple_id, number],
        )
        audit.record(
            cur,
            actor_id=actor.id,
            action="delete",
            entity="session",
            entity_id=session_id,
            couple_id=couple_id,
            detail={"session_number": number},
        )


def list_sessions(db: Database, actor: Actor, couple_id: int) -> pd.DataFrame:
    """A couple's sessions, newest first, with their ids (for corrections)."""
    get_couple(db, actor, couple_id)
    return db.query_df(
        "SELECT session_number, session_date, attendance, notes, id FROM sessions"
        " WHERE couple_id = ? ORDER BY session_number DESC",
        [couple_id],
    )
