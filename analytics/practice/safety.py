"""Recording that a couple's safety was assessed. The record acknowledges every positive safety
answer and every unanswered safety question stored so far; one stored later raises its flag
again (the rule is the macro `safety_covered`, migration 004)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics.errors import CaseloadError
from analytics.practice import access, audit
from analytics.practice.access import Actor
from analytics.store.db import Database
from analytics.store.ids import next_id

NOTE_LIMIT = 1000


def record_assessment(
    db: Database,
    actor: Actor,
    couple_id: int,
    *,
    note: str,
    assessed_on: dt.date,
    today: dt.date,
) -> int:
    """Record that safety was assessed on `assessed_on` (not after `today`); returns its id.

    Refused when the couple has neither a positive safety answer nor an unanswered safety
    question waiting: there is nothing to acknowledge, and an empty record would hide nothing
    but confuse the history.
    """
    note = " ".join((note or "").split())
    if not note:
        raise CaseloadError("Write a short note on how safety was assessed.")
    if len(note) > NOTE_LIMIT:
        raise CaseloadError(f"The note is longer than {NOTE_LIMIT} characters.")
    if assessed_on > today:
        raise CaseloadError("The assessment date cannot be in the future.")
    with db.transaction() as cur:
        visible = cur.execute(
            "SELECT 1 FROM visible_couples(?, ?) WHERE couple_id = ?",
            [*access.params(actor), couple_id],
        ).fetchone()
        if not visible:
            raise CaseloadError("That couple is not in your caseload.")
        # Waiting: a positive answer, or a safety question left unanswered (never a "no").
        row = cur.execute(
            "SELECT max(s.response_id) FROM response_safety s WHERE s.couple_id = ?"
            " AND (s.positive OR s.value IS NULL) AND s.response_id > coalesce((SELECT covers"
            " FROM safety_covered() WHERE couple_id = ?), 0)",
            [couple_id, couple_id],
        ).fetchone()
        if row is None or row[0] is None:
            raise CaseloadError(
                "This couple has no safety answer waiting for an assessment, and no safety"
                " question left unanswered."
            )
        review_id = next_id(cur, "safety_reviews")
        cur.execute(
            "INSERT INTO safety_reviews (id, couple_id, assessed_on, assessed_by, note,"
            " covers_response_id) VALUES (?, ?, ?, ?, ?, ?)",
            [review_id, couple_id, assessed_on, actor.id, note, int(row[0])],
        )
        audit.record(
            cur,
            actor_id=actor.id,
            action="safety_assessed",
            entity="safety_review",
            entity_id=review_id,
            couple_id=couple_id,
        )
    return review_id


def assessments(db: Database, actor: Actor, couple_id: int) -> pd.DataFrame:
    """A couple's safety assessments, newest first: date, by whom, note."""
    return db.query_df(
        "SELECT r.assessed_on, t.name AS assessed_by, r.note FROM safety_reviews r"
        " JOIN visible_couples(?, ?) v ON v.couple_id = r.couple_id"
        " LEFT JOIN therapists t ON t.id = r.assessed_by"
        " WHERE r.couple_id = ? ORDER BY r.assessed_on DESC, r.id DESC",
        [*access.params(actor), couple_id],
    )
