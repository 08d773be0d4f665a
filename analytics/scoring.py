"""Construct scores per response, computed in SQL from the stored raw answers.

A construct score is the mean of its answered items on the instrument scale, after flipping
reverse-keyed items (min + max - value). A score needs the construct's `min_items` answers;
otherwise it is missing rather than guessed. Safety items are never averaged into anything:
`safety_answers` reports each positive answer on its own.
"""

from __future__ import annotations

import pandas as pd

from analytics.db import Database
from analytics.instruments import default, get

_SCORES_SQL = """
SELECT r.id AS response_id, r.partner_id, p.couple_id, p.label, r.completed_at,
       i.construct,
       avg(CASE WHEN i.reverse THEN i.min_value + i.max_value - a.value ELSE a.value END) AS score,
       count(*) AS n_items
FROM responses r
JOIN partners p ON p.id = r.partner_id
JOIN instruments s ON s.id = r.instrument_id
JOIN answers a ON a.response_id = r.id
JOIN items i ON i.id = a.item_id
JOIN constructs k ON k.instrument_id = s.id AND k.code = i.construct
WHERE s.code = ? AND k.family <> 'safety'
  AND (?::INTEGER[] IS NULL OR list_contains(?::INTEGER[], p.couple_id))
  AND (?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], i.construct))
GROUP BY ALL
HAVING count(*) >= any_value(k.min_items)
ORDER BY p.couple_id, p.label, r.completed_at, i.construct
"""


def construct_scores(
    db: Database,
    *,
    couple_ids: list[int] | None = None,
    constructs: list[str] | None = None,
    instrument: str | None = None,
) -> pd.DataFrame:
    """One row per response and construct: response_id, partner_id, couple_id, label (A/B),
    completed_at, construct, score, n_items. Filters are optional; None means all."""
    code = instrument or default().code
    return db.query_df(_SCORES_SQL, [code, couple_ids, couple_ids, constructs, constructs])


def global_scores(
    db: Database, *, couple_ids: list[int] | None = None, instrument: str | None = None
) -> pd.DataFrame:
    """The headline (global satisfaction) score of every response, oldest first."""
    construct = (get(instrument) if instrument else default()).global_construct
    frame = construct_scores(
        db, couple_ids=couple_ids, constructs=[construct], instrument=instrument
    )
    return frame.drop(columns=["construct"])


def safety_answers(db: Database, *, couple_ids: list[int] | None = None) -> pd.DataFrame:
    """Every positive safety answer (value at or above the construct's flag_at), newest first:
    couple_id, label, response_id, completed_at, item code, item wording, value."""
    return db.query_df(
        "SELECT p.couple_id, p.label, r.id AS response_id, r.completed_at, i.code AS item,"
        " i.text AS item_text, a.value FROM answers a"
        " JOIN items i ON i.id = a.item_id"
        " JOIN constructs k ON k.instrument_id = i.instrument_id AND k.code = i.construct"
        " JOIN responses r ON r.id = a.response_id"
        " JOIN partners p ON p.id = r.partner_id"
        " WHERE i.is_safety AND a.value >= k.flag_at"
        " AND (?::INTEGER[] IS NULL OR list_contains(?::INTEGER[], p.couple_id))"
        " ORDER BY r.completed_at DESC",
        [couple_ids, couple_ids],
    )
