"""The couple's barrier and trust profile and its heatmap, with what thin data cannot show yet.
Every number comes from the clinical SQL (scale_scores, partner_scale_change, couple_scale_gaps,
scale_criteria); this module only picks the couple's instrument and arranges the rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.profile import concern_order, heatmap_chart, profile_chart
from analytics.practice.access import Actor
from analytics.store.db import Database
from analytics.views.couple_facts import CoupleFacts, couple_facts

SCALE_COLUMNS = ["scale_code", "scale_label", "position", "direction", "score_min", "score_max"]


@dataclass(frozen=True)
class CoupleProfile:
    instrument: str  # the instrument's name ("" before the first check-in)
    profile: go.Figure | None  # None before the first check-in
    heatmap: go.Figure | None
    # What the charts cannot show yet, in our own words (scale labels come from instrument
    # files: show these as plain text).
    notes: list[str] = field(default_factory=list)


def charted_instrument(scored: pd.DataFrame) -> int:
    """The version id of the instrument the profile shows: of those the couple answered, the one
    with the most scales (the check-in, not a one-scale satisfaction screen), then the newest."""
    per = scored.groupby("instrument_code").agg(
        scales=("scale_code", "nunique"),
        last=("completed_at", "max"),
        version=("instrument_id", "max"),
    )
    best = per.sort_values(["scales", "last"], ascending=False).iloc[0]
    return int(best["version"])


def instrument_scales(db: Database, instrument_id: int) -> pd.DataFrame:
    """Every scale of one instrument version with its range, direction and cutoff (if any)."""
    return db.query_df(
        "SELECT k.code AS scale_code, k.label AS scale_label, k.position, k.direction,"
        " k.score_min, k.score_max, k.cutoff_used AS cutoff, v.name AS instrument"
        " FROM scale_criteria k JOIN instruments v ON v.id = k.instrument_id"
        " WHERE k.instrument_id = ? ORDER BY k.position",
        [instrument_id],
    )


def couple_profile(
    db: Database,
    actor: Actor,
    couple_id: int,
    *,
    as_of: dt.date,
    facts: CoupleFacts | None = None,
) -> CoupleProfile:
    """Profile and heatmap of the couple's instrument (from `facts` when given). Refuses
    couples outside the caseload."""
    facts = facts or couple_facts(db, actor, couple_id, as_of=as_of)
    couple, scored = facts.couple, facts.scores
    if scored.empty:
        return CoupleProfile(
            instrument="",
            profile=None,
            heatmap=None,
            notes=["No check-ins yet: the profile appears after the first check-in."],
        )
    instrument_id = charted_instrument(scored)
    scales = instrument_scales(db, instrument_id)
    code = str(scored.loc[scored["instrument_id"] == instrument_id, "instrument_code"].iloc[0])
    instrument = str(scales["instrument"].iloc[0]) if len(scales) else code
    scales = scales.drop(columns="instrument")
    mine = scored[scored["instrument_code"] == code]
    changes = facts.changes[facts.changes["instrument_code"] == code]
    gap_rows = facts.gaps[facts.gaps["instrument_code"] == code]
    names = {p.label: f"{p.name} ({p.label})" for p in couple.partners}

    notes = []
    answered = set(mine["partner"])
    for label in ("A", "B"):
        if label not in answered:
            notes.append(
                f"Partner {label} has no check-ins yet on the {instrument}: only partner"
                f" {'B' if label == 'A' else 'A'} is shown, and no gap between them can be drawn."
            )
    if len(answered) == 2 and gap_rows.empty:
        notes.append(
            "The partners have not yet checked in in the same week: no gap between them can be"
            " worked out yet (the lines join each partner's latest score)."
        )
    if int(changes["n_scores"].max()) < 2:
        notes.append(
            "One check-in so far: change since the first check-in, and whether it is beyond"
            " measurement noise, needs a second check-in."
        )
    unscored = scales[~scales["scale_code"].isin(set(mine["scale_code"]))]
    if len(unscored):
        notes.append(
            "Not scored yet (too many of their questions left blank): "
            + ", ".join(unscored["scale_label"].astype(str))
            + "."
        )
    if scales["cutoff"].isna().any():
        notes.append(
            "The line marks a cutoff only for scales whose instrument file gives one (or the"
            " norms to work one out); the other scales have no distressed range to show."
        )
    scored_scales = scales[scales["scale_code"].isin(set(mine["scale_code"]))]
    profile = profile_chart(
        scored_scales,
        changes,
        gap_rows,
        names,
        title=f"{instrument}: latest check-in, most concerning first",
    )
    # The heatmap's rows follow the profile's order; scales nobody scored come last.
    order = concern_order(scales, changes)
    heatmap = heatmap_chart(
        scales.set_index("scale_code").loc[order].reset_index(),
        mine,
        names,
        title=f"{instrument}: every check-in, scale by scale",
    )
    return CoupleProfile(instrument=instrument, profile=profile, heatmap=heatmap, notes=notes)
