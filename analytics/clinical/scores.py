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
