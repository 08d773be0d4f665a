"""The caseload: one row per couple the acting therapist may see, with what needs attention."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics.couples import list_couples
from analytics.db import Database
from analytics.scoring import global_scores, safety_answers
from analytics.therapists import Actor

# A weekly check-in missing for longer than this is overdue.
OVERDUE_DAYS = 14

COLUMNS = [
    "couple_id",
    "case_code",
    "attention",
    "safety",
    "therapist",
    "status",
    "partner_a",
    "partner_b",
    "a_latest",
    "a_change",
    "a_trend",
    "b_latest",
    "b_change",
    "b_trend",
    "weeks_in_therapy",
    "last_checkin",
    "days_since_checkin",
    "overdue",
    "repair_focus",
]


def _partner_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per couple and partner: first and latest score, trend list, last check-in time."""
    if scores.empty:
        return pd.DataFrame(columns=["couple_id", "label", "first", "latest", "trend", "last_at"])
    ordered = scores.sort_values(["couple_id", "label", "completed_at"])
    grouped = ordered.groupby(["couple_id", "label"], sort=False)
    summary = grouped.agg(
        first=("score", "first"), latest=("score", "last"), last_at=("completed_at", "max")
    ).reset_index()
    trends = {key: [round(float(v), 2) for v in part] for key, part in grouped["score"]}
    summary["trend"] = [
        trends[(c, lab)] for c, lab in zip(summary["couple_id"], summary["label"], strict=True)
    ]
    return summary


def _attention(row: pd.Series) -> str:
    """Plain words for what needs attention, most urgent first."""
    notes = []
    if row["safety"]:
        notes.append("⚠️ Safety answer")
    if pd.isna(row["last_checkin"]):
        notes.append("No check-ins yet")
    elif row["overdue"]:
        notes.append(f"⏰ No check-in for {int(row['days_since_checkin']) // 7} weeks")
    return " · ".join(notes)


def caseload_table(
    db: Database,
    actor: Actor,
    *,
    as_of: dt.date | None = None,
    statuses: tuple[str, ...] = ("active", "paused"),
    search: str = "",
) -> pd.DataFrame:
    """The actor's couples with both partners' latest global score, change since their first
    check-in, trend, weeks in therapy, last check-in and attention flags.

    Safety flags sort first, then overdue couples, then by case code.
    """
    today = as_of or dt.date.today()
    couples = list_couples(db, actor, include_closed=True)
    couples = couples[couples["status"].isin(statuses)]
    if search.strip():
        couples = couples[
            couples["case_code"].str.contains(search.strip(), case=False, regex=False)
        ]
    if couples.empty:
        return pd.DataFrame(columns=COLUMNS)
    ids = [int(i) for i in couples["id"]]
    summary = _partner_summary(global_scores(db, couple_ids=ids))
    flagged = set(safety_answers(db, couple_ids=ids)["couple_id"].astype(int))

    table = couples.rename(columns={"id": "couple_id"})
    for label in ("A", "B"):
        part = summary[summary["label"] == label].drop(columns="label")
        part = part.rename(
            columns={
                "first": f"{label.lower()}_first",
                "latest": f"{label.lower()}_latest",
                "trend": f"{label.lower()}_trend",
                "last_at": f"{label.lower()}_last",
            }
        )
        table = table.merge(part, on="couple_id", how="left")
    table["a_change"] = table["a_latest"] - table["a_first"]
    table["b_change"] = table["b_latest"] - table["b_first"]
    table["last_checkin"] = pd.to_datetime(
        pd.concat([table["a_last"], table["b_last"]], axis=1).max(axis=1)
    )
    start = pd.to_datetime(table["start_date"])
    table["weeks_in_therapy"] = ((pd.Timestamp(today) - start).dt.days // 7).clip(lower=0)
    last_day = table["last_checkin"].dt.normalize()
    table["days_since_checkin"] = (pd.Timestamp(today) - last_day).dt.days
    table["overdue"] = (table["days_since_checkin"] > OVERDUE_DAYS) | table["last_checkin"].isna()
    table["overdue"] &= table["status"] == "active"
    table["safety"] = table["couple_id"].isin(flagged)
    for col in ("a_trend", "b_trend"):
        table[col] = table[col].apply(lambda v: v if isinstance(v, list) else [])
    table["attention"] = table.apply(_attention, axis=1) if len(table) else ""
    table = table.sort_values(["safety", "overdue", "case_code"], ascending=[False, False, True])
    return table[COLUMNS].reset_index(drop=True)
