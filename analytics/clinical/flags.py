"""Flags that put a couple on the therapist's list (macro `couple_flags`), safety always first,
the positive safety answers behind the safety flag (macro `safety_answers`) and the safety
screens left unanswered behind the "safety screen not answered" flag (macro
`safety_unanswered`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from analytics.clinical.scope import scope
from analytics.practice.access import Actor
from analytics.store.db import Database

# kind -> (icon, words), in the order the flags rank (migrations 004 and 005). Icons are emoji:
# nothing is loaded from a font host.
KINDS = {
    "safety": ("⚠️", "Safety answer"),
    "safety_unanswered": ("❓", "Safety screen not answered"),
    "deterioration": ("📉", "Worse beyond noise"),
    "gap": ("↔️", "Partners far apart"),
    "no_improvement": ("⏸️", "No reliable improvement"),
    "overdue": ("⏰", "Check-in overdue"),
    "repair_stall": ("🧩", "Repair stalled"),
}
SEVERITIES = ("urgent", "high", "medium", "low")


def flag_label(kind: str) -> str:
    """Icon and words for a flag kind, e.g. "⚠️ Safety answer"."""
    icon, words = KINDS[kind]
    return f"{icon} {words}"


def couple_flags(
    db: Database, actor: Actor, *, as_of: dt.date, couple_ids: Sequence[int] | None = None
) -> pd.DataFrame:
    """Every raised flag: couple_id, kind, severity, rank, reason (plain words), details (the
    numbers behind it, JSON). Ordered by couple, then safety first."""
    return db.query_df(
        "SELECT * FROM couple_flags(?, ?, ?, ?) ORDER BY couple_id, rank",
        [*scope(actor, couple_ids), as_of],
    )


def safety_answers(db: Database, actor: Actor, couple_id: int) -> pd.DataFrame:
    """Every positive safety answer of a couple, newest first: partner, completed_at, item,
    item_name, answer, acknowledged (covered by a recorded safety assessment)."""
    return db.query_df(
        "SELECT * FROM safety_answers(?, ?, ?) ORDER BY completed_at DESC, item",
        scope(actor, [couple_id]),
    )


def safety_unanswered(db: Database, actor: Actor, couple_id: int) -> pd.DataFrame:
    """Every check-in of a couple with safety questions left unanswered, newest first: partner,
    completed_at, instrument_code, n_items, n_unanswered, items and item_names (those left
    blank), acknowledged (covered by a recorded safety assessment)."""
    return db.query_df(
        "SELECT * FROM safety_unanswered(?, ?, ?) ORDER BY completed_at DESC, partner",
        scope(actor, [couple_id]),
    )
