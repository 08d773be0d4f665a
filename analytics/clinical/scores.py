"""Scale scores per response (macro `scale_scores`): score, items answered, prorated, band."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analytics.clinical.scope import scope
from analytics.practice.access import Actor
from analytics.store.db import Database


def scale_scores(
    db: Database, actor: Actor, couple_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """One row per scored response and scale, oldest first: response_id, couple_id, partner,
    instrument_code, scale_code, completed_at, score, n_answered, n_items, prorated, band."""
    return db.query_df(
        "SELECT s.*, k.label AS scale_label, k.position FROM scale_scores(?, ?, ?) s"
        " JOIN scales k ON k.instrument_id = s.instrument_id AND k.code = s.scale_code"
        " ORDER BY s.couple_id, s.partner, s.completed_at, k.position",
        scope(actor, couple_ids),
    )


def headline_scores(db: Database, actor: Actor, couple_id: int) -> pd.DataFrame:
    """The couple's headline scores (each instrument's headline scale), oldest first."""
    return db.query_df(
        "SELECT s.*, k.label AS scale_label, k.score_min, k.score_max"
        " FROM scale_scores(?, ?, ?) s"
        " JOIN instruments v ON v.id = s.instrument_id AND v.headline = s.scale_code"
        " JOIN scale_criteria k ON k.instrument_id = s.instrument_id AND k.code = s.scale_code"
        " ORDER BY s.instrument_code, s.partner, s.completed_at",
        scope(actor, [couple_id]),
    )


def item_answers(db: Database, actor: Actor, couple_id: int) -> pd.DataFrame:
    """Every numeric answer of a couple, with the item's own label for it: partner,
    completed_at, instrument_code, item, item_name, kind, value, answer."""
    return db.query_df(
        "SELECT p.label AS partner, r.completed_at, v.code AS instrument_code, i.code AS item,"
        " coalesce(i.label, i.text, i.code) AS item_name, i.kind, a.value,"
        " coalesce(i.labels[CAST(a.value - i.min_value AS INTEGER) + 1],"
        "          CAST(a.value AS VARCHAR)) AS answer"
        " FROM answers a JOIN responses r ON r.id = a.response_id"
        " JOIN partners p ON p.id = r.partner_id JOIN items i ON i.id = a.item_id"
        " JOIN instruments v ON v.id = r.instrument_id"
        " WHERE p.couple_id IN (SELECT couple_id FROM couples_in_scope(?, ?, ?))"
        " ORDER BY r.completed_at, p.label, i.position",
        scope(actor, [couple_id]),
    )
