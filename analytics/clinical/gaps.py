"""The gap between partners per scale: week by week (macro `couple_weekly_gaps`) and its
latest value and trend against measurement noise (macro `couple_scale_gaps`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analytics.clinical.scope import scope
from analytics.practice.access import Actor
from analytics.store.db import Database


def weekly_gaps(db: Database, actor: Actor, couple_id: int) -> pd.DataFrame:
    """Both partners' score and the gap (A minus B) per scale, in each week both checked in."""
    return db.query_df(
        "SELECT * FROM couple_weekly_gaps(?, ?, ?) ORDER BY instrument_code, scale_code, week",
        scope(actor, [couple_id]),
    )


def scale_gaps(db: Database, actor: Actor, couple_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Per couple and scale: paired weeks, first and latest gap, trend per week, and whether the
    latest gap is wider than the smallest reliable change (`exceeds_noise`)."""
    return db.query_df(
        "SELECT * FROM couple_scale_gaps(?, ?, ?) ORDER BY couple_id, instrument_code, position",
        scope(actor, couple_ids),
    )
