"""What the Repair page shows: the couples working on repair after a betrayal (current milestone,
its status and days in it, stalls, safety first), and one couple's repair case in detail
(milestones now, history, timeline, the hurt partner's trust evidence). Every number comes from
the SQL macros of migrations 002 and 005; this module only arranges it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.repair import repair_timeline
from analytics.clinical.change import category_label
from analytics.clinical.flags import KINDS
from analytics.clinical.scope import scope
from analytics.practice import repair
from analytics.practice.access import Actor
from analytics.practice.couples import Couple, get_couple
from analytics.practice.repair import STATUSES, RepairCase
from analytics.store.db import Database
from analytics.views.focus import about_caseload, about_couple

# The check-in's trust scales the repair evidence follows: consistency and transparency, the
# two foundations of trust "consistent reliability" is about (and what the stall rule reads).
TRUST_INSTRUMENT = "checkin"
TRUST_SCALES = ("consistency", "transparency")
SAFETY_WORDS = "⚠️ Assess safety first"


def _safety_couples(db: Database, actor: Actor, couple_ids: list[int]) -> set[int]:
    """The couples with a positive or unanswered safety screen no assessment covers yet."""
    if not couple_ids:
        return set()
    rows = db.query_rows(
        "SELECT couple_id FROM safety_answers(?, ?, ?) WHERE NOT acknowledged"
        " UNION SELECT couple_id FROM safety_unanswered(?, ?, ?) WHERE NOT acknowledged",
        [*scope(actor, couple_ids), *scope(actor, couple_ids)],
    )
    return {int(r[0]) for r in rows}


def _stall_text(
    db: Database, actor: Actor, as_of: dt.date, couple_ids: list[int] | None
) -> dict[int, str]:
    """Couple id -> the reasons its repair is stalled, in plain words."""
    rows = db.query_rows(
        "SELECT couple_id, string_agg(reason, ' ' ORDER BY rule_rank, milestone)"
        " FROM repair_stalls(?, ?, ?, ?) GROUP BY couple_id",
        [*scope(actor, couple_ids), as_of],
    )
    return {int(c): str(r) for c, r in rows}


@about_caseload
def repair_caseload(db: Database, actor: Actor, *, as_of: dt.date) -> pd.DataFrame:
    """One row per couple with an open repair case (couples not closed): case_code, safety
    (words when a safety screen waits for an assessment), milestone, status, days_in_status,
    since, reached ("1 of 4"), stalled (the reasons), hurt_partner, therapist and couple_id.
    Safety first, then stalled couples, then by case code."""
    rows = db.query_df(
        "SELECT r.couple_id, c.case_code, t.name AS therapist, r.hurt_partner, r.milestone,"
        " r.milestone_label, r.status, r.status_since, r.days_in_status, r.n_reached"
        " FROM repair_current(?, ?, ?, ?) r JOIN couples c ON c.id = r.couple_id"
        " JOIN therapists t ON t.id = c.therapist_id"
        " WHERE r.is_open AND c.status <> 'closed' ORDER BY c.case_code",
        [*scope(actor), as_of],
    )
    ids = [int(i) for i in rows["couple_id"]]
    safety = _safety_couples(db, actor, ids)
    stalls = _stall_text(db, actor, as_of, ids) if ids else {}
    icon = KINDS["repair_stall"][0]
    table = pd.DataFrame(
        {
            "case_code": rows["case_code"].astype(str),
            "safety": [SAFETY_WORDS if i in safety else "" for i in ids],
            "milestone": [
                f"{int(m)}. {label}"
                for m, label in zip(rows["milestone"], rows["milestone_label"], strict=True)
            ],
            "status": [STATUSES[str(s)] for s in rows["status"]],
            "days_in_status": [int(d) for d in rows["days_in_status"]],
            "since": [pd.Timestamp(d).date() for d in rows["status_since"]],
            "reached": [f"{int(n)} of 4" for n in rows["n_reached"]],
            "stalled": [f"{icon} {stalls[i]}" if i in stalls else "" for i in ids],
            "hurt_partner": [
                "not recorded" if pd.isna(h) else f"Partner {h}" for h in rows["hurt_partner"]
            ],
            "therapist": rows["therapist"].astype(str),
            "couple_id": ids,
        }
    )
    order = table.assign(
        _safety=table["safety"] == "", _stalled=table["stalled"] == ""
    ).sort_values(["_safety", "_stalled", "case_code"], kind="mergesort")
    return order.drop(columns=["_safety", "_stalled"]).reset_index(drop=True)


@dataclass(frozen=True)
class RepairDetail:
    couple: Couple
    cases: list[RepairCase]  # every case of the couple, the open one first
    case: RepairCase | None  # the case shown: the one asked for, else the open, else the newest
    safety_waiting: int  # safety answers or blank screens not assessed yet
    milestones: pd.DataFrame  # the four milestones now, for display
    history: pd.DataFrame  # every change of the case shown, the latest first, for display
    stalls: list[str]  # the reasons the repair is stalled, in plain words
    evidence: pd.DataFrame  # the hurt partner's consistency and transparency: start, now, change
    figure: go.Figure | None  # the timeline (None without a case)
    # What thin data cannot show yet, in our own words (show as plain text).
    notes: list[str] = field(default_factory=list)

    @property
    def hurt_name(self) -> str:
        """ "Name (B)" of the hurt partner of the case shown, or "" when not recorded."""
        if self.case is None or self.case.hurt_partner is None:
            return ""
        p = self.couple.partner(self.case.hurt_partner)
        return f"{p.name} ({p.label})"

    @property
    def involved_name(self) -> str:
        """ "Name (A)" of the involved partner of the case shown, or "" when not recorded."""
        if self.case is None or self.case.involved_partner is None:
            return ""
        p = self.couple.partner(self.case.involved_partner)
        return f"{p.name} ({p.label})"


def _number(value: Any, fmt: str = "{:.1f}") -> str:
    return "—" if value is None or pd.isna(value) else fmt.format(float(value))


def _milestone_table(state: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "milestone": [
                f"{int(m)}. {lab}"
                for m, lab in zip(state["milestone"], state["milestone_label"], strict=True)
            ],
            "status": [STATUSES[str(s)] for s in state["status"]],
            "since": [pd.Timestamp(d).date() for d in state["status_since"]],
            "days": [int(d) for d in state["days_in_status"]],
            "changes": [int(n) for n in state["n_changes"]],
            "amends": ["" if pd.isna(a) else str(a) for a in state["amends"]],
            "pace": ["" if pd.isna(p) else str(p) for p in state["pace"]],
            "pace_reviewed_on": [
                "" if pd.isna(d) else f"{pd.Timestamp(d):%d %b %Y}"
                for d in state["pace_reviewed_on"]
            ],
        }
    )


def _history_table(events: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "effective_on": [pd.Timestamp(d).date() for d in events["effective_on"]],
            "milestone": [
                f"{int(m)}. {lab}"
                for m, lab in zip(events["milestone"], events["milestone_label"], strict=True)
            ],
            "status": [STATUSES[str(s)] for s in events["status"]],
            "evidence": ["" if pd.isna(v) else str(v) for v in events["evidence"]],
            "amends": ["" if pd.isna(v) else str(v) for v in events["amends"]],
            "pace": ["" if pd.isna(v) else str(v) for v in events["pace"]],
            "entered_by": ["" if pd.isna(v) else str(v) for v in events["entered_by"]],
            "entered_at": events["entered_at"],
        }
    )


def _trust(
    db: Database, actor: Actor, couple_id: int, partner: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The hurt partner's scores on the trust scales, and their change per scale."""
    scores = db.query_df(
        "SELECT scale_code, completed_at, score FROM scale_scores(?, ?, ?)"
        " WHERE partner = ? AND instrument_code = ? AND list_contains(?, scale_code)"
        " ORDER BY scale_code, completed_at",
        [*scope(actor, [couple_id]), partner, TRUST_INSTRUMENT, list(TRUST_SCALES)],
    )
    changes = db.query_df(
        "SELECT scale_code, scale_label, position, n_scores, baseline, latest, latest_at, change,"
        " category, rc_points, score_min, score_max FROM scale_change(?, ?, ?, scales := ?)"
        " WHERE partner = ? AND instrument_code = ? ORDER BY position",
        [*scope(actor, [couple_id]), list(TRUST_SCALES), partner, TRUST_INSTRUMENT],
    )
    labels = dict(zip(changes["scale_code"], changes["scale_label"], strict=True))
    scores["scale_label"] = [labels.get(c, c) for c in scores["scale_code"]]
    order = {code: k for k, code in enumerate(changes["scale_code"])}
    scores = scores.sort_values(
        ["scale_code", "completed_at"], key=lambda s: s.map(order) if s.name == "scale_code" else s
    )
    return scores, changes


def _evidence_table(changes: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scale": changes["scale_label"].astype(str),
            "checkins": [int(n) for n in changes["n_scores"]],
            "first": [_number(v) for v in changes["baseline"]],
            "now": [_number(v) for v in changes["latest"]],
            "change": [
                _number(c, "{:+.1f}") if int(n) >= 2 else "—"
                for c, n in zip(changes["change"], changes["n_scores"], strict=True)
            ],
            "beyond_noise": [category_label(str(c)) for c in changes["category"]],
        }
    )


@about_couple
def repair_detail(
    db: Database, actor: Actor, couple_id: int, *, as_of: dt.date, case_id: int | None = None
) -> RepairDetail:
    """One couple's repair work as of a date; refuses couples outside the actor's caseload."""
    couple = get_couple(db, actor, couple_id)
    all_cases = repair.cases(db, actor, couple_id)
    waiting = int(
        db.query_value(
            "SELECT (SELECT count(*) FROM safety_answers(?, ?, ?) WHERE NOT acknowledged)"
            " + (SELECT count(*) FROM safety_unanswered(?, ?, ?) WHERE NOT acknowledged)",
            [*scope(actor, [couple_id]), *scope(actor, [couple_id])],
        )
        or 0
    )
    chosen = [c for c in all_cases if c.id == case_id] or all_cases[:1]
    case = chosen[0] if chosen else None
    notes: list[str] = []
    if case is None:
        return RepairDetail(
            couple,
            all_cases,
            None,
            waiting,
            pd.DataFrame(),
            pd.DataFrame(),
            [],
            pd.DataFrame(),
            None,
            [
                "This couple has no repair case yet: open one below when repair after a betrayal"
                " becomes part of the work."
            ],
        )
    state = repair.milestone_state(db, actor, case.id, as_of=as_of)
    events = repair.history(db, actor, case.id)
    stalls = (
        [
            str(r)
            for (r,) in db.query_rows(
                "SELECT reason FROM repair_stalls(?, ?, ?, ?) WHERE case_id = ?"
                " ORDER BY rule_rank, milestone",
                [*scope(actor, [couple_id]), as_of, case.id],
            )
        ]
        if case.is_open
        else []
    )
    trust = pd.DataFrame()
    changes = pd.DataFrame()
    if case.hurt_partner is None:
        notes.append(
            "The hurt partner of this case is not recorded (it was carried over from an earlier"
            " version): record it below to see their trust ratings."
        )
    else:
        trust, changes = _trust(db, actor, couple_id, case.hurt_partner)
        if trust.empty:
            notes.append(
                f"Partner {case.hurt_partner} (the hurt partner) has no check-ins with trust"
                " ratings yet: the timeline shows the milestones only."
            )
        elif int(changes["n_scores"].max()) < 2:
            notes.append(
                "One check-in with trust ratings so far: whether trust changed beyond measurement"
                " noise needs a second."
            )
    if events.empty:
        notes.append("No milestone has changed yet: all four are not started.")
    ends_on = case.closed_on or as_of
    score_range = (0.0, 6.0)
    if not changes.empty:
        score_range = (float(changes["score_min"].min()), float(changes["score_max"].max()))
    figure = repair_timeline(
        events.iloc[::-1].reset_index(drop=True),  # oldest first, in the order entered
        started_on=case.started_on,
        ends_on=ends_on,
        title=f"Repair milestones of {couple.case_code}"
        + (" and the hurt partner's trust" if not trust.empty else ""),
        trust=trust if not trust.empty else None,
        trust_changes=changes if not changes.empty else None,
        partner=case.hurt_partner or "A",
        partner_name=(
            couple.partner(case.hurt_partner).name if case.hurt_partner is not None else ""
        ),
        score_range=score_range,
    )
    return RepairDetail(
        couple=couple,
        cases=all_cases,
        case=case,
        safety_waiting=waiting,
        milestones=_milestone_table(state),
        history=_history_table(events),
        stalls=stalls,
        evidence=_evidence_table(changes) if not changes.empty else pd.DataFrame(),
        figure=figure,
        notes=notes,
    )
