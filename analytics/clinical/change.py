"""Change per partner, instrument and scale (macro `partner_scale_change`): baseline, latest,
change, reliable change index, category, and the criteria used with their sources."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analytics.clinical.scope import scope
from analytics.practice.access import Actor
from analytics.store.db import Database

# Category -> (short label for tables, plain-language meaning).
CATEGORIES = {
    "recovered": (
        "Recovered",
        "Better by more than measurement noise, and moved out of the distressed range.",
    ),
    "improved": ("Improved", "Better by more than measurement noise."),
    "unchanged": ("No reliable change", "Any change is within measurement noise."),
    "deteriorated": ("Worse", "Worse by more than measurement noise."),
    "not_enough_data": ("Too few check-ins", "Change needs at least two scored check-ins."),
    "no_reliable_change_figure": (
        "Cannot tell",
        "The instrument file gives no SD and reliability (or published figure) for this scale.",
    ),
}
CATEGORY_ICONS = {
    "recovered": "🌟",
    "improved": "🟢",
    "unchanged": "⚪",
    "deteriorated": "🔴",
    "not_enough_data": "⏳",
    "no_reliable_change_figure": "❔",
}
RC_METHODS = {
    "published": "the instrument's published reliable-change figure",
    "jacobson_truax": "Jacobson & Truax (1991), from the scale's SD and reliability",
}
CUTOFF_METHODS = {
    "declared": "the cutoff given in the instrument file",
    "jacobson_truax_c": "Jacobson & Truax cutoff c, between the clinical and functional norms",
    "jacobson_truax_a": "Jacobson & Truax cutoff a, two SDs beyond the clinical mean",
    "jacobson_truax_b": "Jacobson & Truax cutoff b, two SDs within the functional mean",
}


def category_label(category: str) -> str:
    """The short plain-language label of a change category, with its icon."""
    return f"{CATEGORY_ICONS[category]} {CATEGORIES[category][0]}"


def partner_change(
    db: Database, actor: Actor, couple_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """One row per partner, instrument and scale, in questionnaire order."""
    return db.query_df(
        "SELECT * FROM partner_scale_change(?, ?, ?)"
        " ORDER BY couple_id, instrument_code, position, partner",
        scope(actor, couple_ids),
    )


def checkin_change(
    db: Database, actor: Actor, couple_id: int, instrument_code: str, scale_code: str
) -> pd.DataFrame:
    """Each partner's change from their first check-in to every check-in on one scale (macro
    `checkin_change`), oldest first: partner, completed_at, baseline, score, change,
    improvement_index, category and previous_category (the category one check-in before)."""
    return db.query_df(
        "SELECT partner, completed_at, response_id, baseline, score, change, improvement_index,"
        " category, previous_category FROM checkin_change(?, ?, ?, scales := ?)"
        " WHERE instrument_code = ? ORDER BY partner, completed_at, response_id",
        [*scope(actor, [couple_id]), [scale_code], instrument_code],
    )
