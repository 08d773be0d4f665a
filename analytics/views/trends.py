"""More detail on the couple page, drawn on demand: every scale over time (small multiples), and
one scale's items answer by answer. Scores come from the clinical SQL (scale_scores); item
answers from the answers and items tables, through the access rule. Both show the instrument the
profile shows (of those the couple answered, the one with the most scales), and say in words what
thin data cannot show yet. Answers are health data: they are never put in a message."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.profile import concern_order
from analytics.charts.trends import item_chart, small_multiples
from analytics.clinical import scores
from analytics.clinical.scope import scope
from analytics.practice.access import Actor
from analytics.practice.couples import get_couple
from analytics.store.db import Database
from analytics.views.focus import about_couple
from analytics.views.profile import charted_instrument, instrument_scales

NO_CHECKINS = "No check-ins yet: these charts appear after the first check-in."


@dataclass(frozen=True)
class ScaleTrends:
    instrument: str  # the instrument's name ("" before the first check-in)
    figure: go.Figure | None  # None before the first check-in
    # What the chart cannot show yet, in our own words (scale labels come from instrument
    # files: show these as plain text).
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ItemTrends:
    instrument: str  # the instrument's name ("" before the first check-in)
    scales: dict[str, str]  # scale code -> label, questionnaire order (what can be chosen)
    scale_code: str | None  # the scale shown: the one asked for, else the most concerning
    figure: go.Figure | None  # None before the first check-in
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Scored:
    names: dict[str, str]
    scored: pd.DataFrame  # the instrument's scale scores, all versions
    instrument_id: int  # the newest version answered (its items and scales are shown)
    code: str
    instrument: str
    scales: pd.DataFrame  # scale_criteria rows of that version, questionnaire order


def _scored(db: Database, actor: Actor, couple_id: int) -> _Scored | None:
    """The couple's instrument and its scores; None before the first check-in. Refuses couples
    outside the actor's caseload."""
    couple = get_couple(db, actor, couple_id)
    rows = scores.scale_scores(db, actor, [couple_id])
    if rows.empty:
        return None
    instrument_id = charted_instrument(rows)
    scales = instrument_scales(db, instrument_id)
    code = str(rows.loc[rows["instrument_id"] == instrument_id, "instrument_code"].iloc[0])
    instrument = str(scales["instrument"].iloc[0]) if len(scales) else code
    return _Scored(
        names={p.label: f"{p.name} ({p.label})" for p in couple.partners},
        scored=rows[rows["instrument_code"] == code],
        instrument_id=instrument_id,
        code=code,
        instrument=instrument,
        scales=scales.drop(columns="instrument"),
    )


def _partner_notes(answered: set[str], instrument: str) -> list[str]:
    """One partner only: say who is missing and what that leaves out."""
    return [
        f"Partner {label} has no check-ins yet on the {instrument}: only partner"
        f" {'B' if label == 'A' else 'A'} is shown, so the two cannot be compared yet."
        for label in ("A", "B")
        if label not in answered
    ]


@about_couple
def scale_trends(db: Database, actor: Actor, couple_id: int) -> ScaleTrends:
    """Every scale of the couple's instrument over time, both partners in each mini-chart."""
    found = _scored(db, actor, couple_id)
    if found is None:
        return ScaleTrends(instrument="", figure=None, notes=[NO_CHECKINS])
    mine, scales = found.scored, found.scales
    notes = _partner_notes(set(mine["partner"]), found.instrument)
    if int(mine.groupby("partner")["completed_at"].nunique().max()) < 2:
        notes.append(
            "One check-in so far: each mini-chart shows a single point; how the scores move"
            " shows from the second check-in on."
        )
    scored_codes = set(mine["scale_code"])
    unscored = scales[~scales["scale_code"].isin(scored_codes)]
    if len(unscored):
        notes.append(
            "Not scored yet (too many of their questions left blank), so not drawn: "
            + ", ".join(unscored["scale_label"].astype(str))
            + "."
        )
    shown = scales[scales["scale_code"].isin(scored_codes)]
    no_cutoff = shown[shown["cutoff"].isna()]
    if len(no_cutoff) == len(shown):
        notes.append(
            "None of these scales has a cutoff in its instrument file (or the norms to work one"
            " out): no dotted line marks a distressed range."
        )
    elif len(no_cutoff):
        notes.append(
            "The dotted line marks each scale's cutoff; these scales have none in their"
            " instrument file: " + ", ".join(no_cutoff["scale_label"].astype(str)) + "."
        )
    figure = small_multiples(
        shown,
        mine,
        found.names,
        title=f"{found.instrument}: every scale, check-in by check-in",
    )
    return ScaleTrends(instrument=found.instrument, figure=figure, notes=notes)


def _items(db: Database, instrument_id: int, scale_code: str) -> pd.DataFrame:
    """The items of one scale of one instrument version, questionnaire order."""
    items = db.query_df(
        "SELECT i.code AS item_code, coalesce(i.text, i.label, '') AS item_name, i.reverse,"
        " i.min_value, i.max_value, i.labels FROM scale_items si JOIN items i ON i.id = si.item_id"
        " WHERE si.instrument_id = ? AND si.scale_code = ? ORDER BY i.position",
        [instrument_id, scale_code],
    )
    # DuckDB hands lists back as arrays, and a missing list as NA: lists of words, or None.
    words: list[list[str] | None] = [
        [str(w) for w in v] if hasattr(v, "__iter__") and not isinstance(v, str) else None
        for v in items["labels"]
    ]
    return items.assign(labels=pd.Series(words, index=items.index, dtype="object"))


def _answers(
    db: Database, actor: Actor, couple_id: int, instrument_code: str, scale_code: str
) -> pd.DataFrame:
    """Every answer (NaN when left blank) to one scale's items, per partner and check-in, over
    every version of the instrument (items matched by code)."""
    return db.query_df(
        "SELECT CAST(r.completed_at AS TIMESTAMP) AS completed_at, p.label AS partner,"
        " i.code AS item_code, a.value"
        " FROM responses r JOIN partners p ON p.id = r.partner_id"
        " JOIN instruments v ON v.id = r.instrument_id"
        " JOIN scale_items si ON si.instrument_id = r.instrument_id AND si.scale_code = ?"
        " JOIN items i ON i.id = si.item_id"
        " LEFT JOIN answers a ON a.response_id = r.id AND a.item_id = i.id"
        " WHERE p.couple_id IN (SELECT couple_id FROM couples_in_scope(?, ?, ?))"
        " AND v.code = ? ORDER BY i.position, p.label, r.completed_at",
        [scale_code, *scope(actor, [couple_id]), instrument_code],
    )


@about_couple
def item_trends(
    db: Database, actor: Actor, couple_id: int, scale_code: str | None = None
) -> ItemTrends:
    """Every item of one scale over time, per partner, in the instrument's own response labels.
    `scale_code` None (or not a scale of the couple's instrument): the most concerning scale."""
    found = _scored(db, actor, couple_id)
    if found is None:
        return ItemTrends(
            instrument="", scales={}, scale_code=None, figure=None, notes=[NO_CHECKINS]
        )
    mine, scales = found.scored, found.scales
    choices = {
        str(c): str(label)
        for c, label in zip(scales["scale_code"], scales["scale_label"], strict=True)
    }
    if scale_code not in choices:
        latest = mine.sort_values("completed_at").groupby(["scale_code", "partner"]).tail(1)
        scale_code = concern_order(scales, latest.rename(columns={"score": "latest"}))[0]
    assert scale_code is not None
    items = _items(db, found.instrument_id, scale_code)
    answers = _answers(db, actor, couple_id, found.code, scale_code)
    given = answers[answers["value"].notna()]
    notes = _partner_notes(set(given["partner"]), found.instrument)
    if int(answers.groupby("partner")["completed_at"].nunique().max()) < 2:
        notes.append(
            "One check-in so far: each row shows a single answer; which statement moved shows"
            " from the second check-in on."
        )
    blank = answers[answers["value"].isna()]
    never = [c for c in items["item_code"] if c not in set(given["item_code"])]
    if never:
        notes.append("Not answered at any check-in yet: " + ", ".join(never) + ".")
    skipped = blank[~blank["item_code"].isin(never)]
    if len(skipped):
        counts = skipped.groupby(["item_code", "partner"], sort=False).size().reset_index()
        notes.append(
            "Left blank at some check-ins (a gap in the line): "
            + "; ".join(
                f"{item} by partner {partner} ({n} time{'s' if n > 1 else ''})"
                for item, partner, n in zip(
                    counts["item_code"], counts["partner"], counts[0], strict=True
                )
            )
            + "."
        )
    if items["reverse"].any():
        notes.append(
            "Statements worded the other way are marked: for them a higher answer lowers the"
            " scale's score."
        )
    figure = item_chart(
        items,
        answers,
        found.names,
        title=f"{choices[scale_code]}: each statement, check-in by check-in",
    )
    return ItemTrends(
        instrument=found.instrument,
        scales=choices,
        scale_code=scale_code,
        figure=figure,
        notes=notes,
    )
