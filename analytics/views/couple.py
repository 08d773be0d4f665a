"""Everything the couple page shows, assembled in one call: safety first (positive answers, then
safety screens left unanswered), then the flags, each partner's change per scale, the gaps
between them, the headline chart, free-text answers and sessions. Every number comes from the
clinical SQL; this module only arranges it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.progress import TimeMark, score_chart, wrapped
from analytics.charts.text import plain
from analytics.clinical import change
from analytics.clinical.change import CATEGORIES, CUTOFF_METHODS, RC_METHODS, category_label
from analytics.clinical.flags import flag_label
from analytics.practice import access, safety
from analytics.practice.access import Actor
from analytics.practice.couples import Couple
from analytics.practice.repair import STATUSES
from analytics.practice.sessions import ATTENDANCE
from analytics.store.db import Database
from analytics.views.couple_facts import CoupleFacts, couple_facts
from analytics.views.focus import about_couple


@dataclass(frozen=True)
class CoupleOverview:
    couple: Couple
    safety: pd.DataFrame  # positive safety answers, newest first (acknowledged or not)
    # check-ins with safety questions left unanswered, newest first (acknowledged or not)
    unanswered: pd.DataFrame
    assessments: pd.DataFrame  # recorded safety assessments
    flags: pd.DataFrame  # label, severity, reason; safety first
    progress: pd.DataFrame  # per partner: headline latest, change, category (two rows)
    scales: pd.DataFrame  # per scale: both partners' baseline, latest, change, noise, category
    methods: pd.DataFrame  # per scale: how reliable change and the cutoff were worked out
    texts: pd.DataFrame  # free-text answers with their dates, newest first
    sessions: pd.DataFrame
    headline: str  # the headline scale's label ("" before the first check-in)
    # The progress chart's instrument (that of the latest check-in; "" before the first) and its
    # scored scales, code -> label in questionnaire order; the chart opens on the headline scale.
    chart_instrument: str = ""
    chart_scales: dict[str, str] = field(default_factory=dict)
    headline_code: str = ""

    @property
    def unacknowledged_safety(self) -> pd.DataFrame:
        """Positive safety answers no assessment covers yet."""
        return self.safety[~self.safety["acknowledged"].astype(bool)]

    @property
    def unacknowledged_unanswered(self) -> pd.DataFrame:
        """Check-ins with safety questions left unanswered that no assessment covers yet, for
        display: when, partner, how many of the safety questions were left blank, and which."""
        waiting = self.unanswered[~self.unanswered["acknowledged"].astype(bool)]
        return pd.DataFrame(
            {
                "completed_at": waiting["completed_at"],
                "partner": waiting["partner"],
                "left_blank": [
                    f"{int(n)} of {int(total)}"
                    for n, total in zip(waiting["n_unanswered"], waiting["n_items"], strict=True)
                ],
                "questions": [", ".join(names) for names in waiting["item_names"]],
            }
        ).reset_index(drop=True)

    @property
    def safety_waiting(self) -> bool:
        """Whether anything on the safety screen waits for an assessment."""
        return not (self.unacknowledged_safety.empty and self.unacknowledged_unanswered.empty)


def _number(value: Any, fmt: str = "{:.1f}") -> str:
    return "—" if value is None or pd.isna(value) else fmt.format(float(value))


def _scale_table(rows: pd.DataFrame, gap_rows: pd.DataFrame) -> pd.DataFrame:
    """One row per scale of the couple's instruments: both partners side by side, as text."""
    # Plain dict lookups: filtering the frames once per scale and partner cost ~0.1 s a page.
    by_partner = {
        (str(r["instrument_code"]), str(r["scale_code"]), str(r["partner"])): r
        for r in rows.to_dict("records")
    }
    by_scale = {
        (str(r["instrument_code"]), str(r["scale_code"])): r for r in gap_rows.to_dict("records")
    }
    out = []
    keys = rows[["instrument_code", "scale_code", "scale_label", "position"]].drop_duplicates()
    keys = keys.sort_values(["instrument_code", "position"])
    for code, scale, scale_label in zip(
        keys["instrument_code"], keys["scale_code"], keys["scale_label"], strict=True
    ):
        row: dict[str, object] = {"scale": scale_label}
        for label in ("A", "B"):
            x = by_partner.get((str(code), str(scale), label))
            prefix = label.lower()
            row[f"{prefix}_baseline"] = _number(None if x is None else x["baseline"])
            row[f"{prefix}_latest"] = _number(None if x is None else x["latest"])
            row[f"{prefix}_change"] = _number(
                None if x is None or x["n_scores"] < 2 else x["change"], "{:+.1f}"
            )
            unmeasured = x is None or x["category"] in (
                "not_enough_data",
                "no_reliable_change_figure",
            )
            row[f"{prefix}_beyond_noise"] = (
                "—" if unmeasured else ("Yes" if bool(x["reliable"]) else "No")  # type: ignore[index]
            )
            row[f"{prefix}_category"] = (
                "No check-ins" if x is None else category_label(str(x["category"]))
            )
        g = by_scale.get((str(code), str(scale)))
        if g is not None:
            row["gap"] = f"{abs(float(g['latest_gap'])):.1f}" + (
                " (beyond noise)" if bool(g["exceeds_noise"]) else ""
            )
        else:
            row["gap"] = "—"
        out.append(row)
    return pd.DataFrame(out)


def _methods(rows: pd.DataFrame) -> pd.DataFrame:
    """Per scale: the smallest reliable change and the cutoff, each with how and from where."""
    keys = rows.drop_duplicates(["instrument_code", "scale_code"]).sort_values(
        ["instrument_code", "position"]
    )
    return pd.DataFrame(
        {
            "scale": keys["scale_label"],
            "smallest_reliable_change": [_number(v, "{:.2f}") for v in keys["rc_points"]],
            "reliable_change_from": [
                RC_METHODS.get(str(m), "no figure in the instrument file")
                for m in keys["rc_method"]
            ],
            "cutoff": [_number(v, "{:.2f}") for v in keys["cutoff_used"]],
            "cutoff_from": [
                CUTOFF_METHODS.get(str(m), "no cutoff in the instrument file")
                for m in keys["cutoff_method"]
            ],
            "source": [
                " / ".join(sorted({str(s) for s in (a, b) if isinstance(s, str) and s})) or "—"
                for a, b in zip(keys["rc_source"], keys["cutoff_from"], strict=True)
            ],
        }
    ).reset_index(drop=True)


def _texts(db: Database, actor: Actor, couple_id: int) -> pd.DataFrame:
    return db.query_df(
        "SELECT r.completed_at, p.label AS partner, coalesce(i.label, i.code) AS question,"
        " t.text AS answer FROM text_answers t JOIN responses r ON r.id = t.response_id"
        " JOIN partners p ON p.id = r.partner_id JOIN items i ON i.id = t.item_id"
        " JOIN visible_couples(?, ?) v ON v.couple_id = p.couple_id"
        " WHERE p.couple_id = ? ORDER BY r.completed_at DESC, p.label, i.position",
        [*access.params(actor), couple_id],
    )


def couple_overview(
    db: Database,
    actor: Actor,
    couple_id: int,
    *,
    as_of: dt.date,
    facts: CoupleFacts | None = None,
) -> CoupleOverview:
    """The couple page's content (from `facts` when given, read for this couple and date).
    Refuses couples outside the actor's caseload."""
    facts = facts or couple_facts(db, actor, couple_id, as_of=as_of)
    couple, raised, changes = facts.couple, facts.flags, facts.changes
    latest, chart_instrument, chart_scales = _chart_scales(db, changes)
    headline = "" if latest is None else str(latest["scale_label"])
    progress = pd.DataFrame(
        [
            {
                "partner": p.label,
                "name": p.name,
                "latest": x["latest"] if x is not None else None,
                "change": x["change"] if x is not None and x["n_scores"] >= 2 else None,
                "checkins": int(x["n_scores"]) if x is not None else 0,
                "category": CATEGORIES[str(x["category"])][0] if x is not None else "",
                "band": x["latest_band"] if x is not None else None,
            }
            for p in couple.partners
            for x in [_headline_row(changes, latest, p.label)]
        ]
    )
    return CoupleOverview(
        couple=couple,
        safety=facts.safety,
        unanswered=facts.unanswered,
        assessments=safety.assessments(db, actor, couple_id),
        flags=pd.DataFrame(
            {
                "flag": [flag_label(k) for k in raised["kind"]],
                "severity": raised["severity"],
                "reason": raised["reason"],
            }
        ),
        progress=progress,
        scales=_scale_table(changes, facts.gaps),
        methods=_methods(changes) if len(changes) else pd.DataFrame(),
        texts=_texts(db, actor, couple_id),
        sessions=facts.sessions,
        headline=headline,
        chart_instrument=chart_instrument,
        chart_scales=chart_scales,
        headline_code="" if latest is None else str(latest["scale_code"]),
    )


def _chart_scales(
    db: Database, changes: pd.DataFrame
) -> tuple[pd.Series | None, str, dict[str, str]]:
    """The headline row of the instrument of the couple's latest check-in (None before the
    first), that instrument's code, and its scored scales (code -> label, questionnaire order)."""
    if changes.empty:
        return None, "", {}
    newest = changes.sort_values("latest_at").iloc[-1]
    code = str(newest["instrument_code"])
    mine = changes[changes["instrument_code"] == code].sort_values(["position", "partner"])
    scales = dict(zip(mine["scale_code"].astype(str), mine["scale_label"].astype(str), strict=True))
    # The headline of the newest version answered (criteria come from it too).
    headline = db.query_value(
        "SELECT headline FROM instruments WHERE id = ?", [int(mine["instrument_id"].max())]
    )
    picked = mine[mine["scale_code"] == headline]
    if picked.empty:  # a headline nobody has a score on yet: the first scored scale stands in
        picked = mine
    return picked.iloc[0], code, scales


@dataclass(frozen=True)
class ProgressChart:
    figure: go.Figure | None  # None when nobody has a score on the scale
    # What the chart cannot show yet, in our own words (scale labels come from instrument
    # files: show these as plain text).
    notes: list[str] = field(default_factory=list)


def _session_marks(sessions: pd.DataFrame) -> list[TimeMark]:
    """A dotted line per session; the hover names it and shows its note (free text, escaped)."""
    marks = []
    for number, when, attendance, notes in zip(
        sessions["session_number"],
        sessions["session_date"],
        sessions["attendance"],
        sessions["notes"],
        strict=True,
    ):
        day = pd.Timestamp(when)
        hover = f"Session {int(number)} ({day:%d %b %Y}), {ATTENDANCE.get(str(attendance), '')}"
        if isinstance(notes, str) and notes.strip():
            hover += "<br>Note: " + wrapped(notes)
        marks.append(TimeMark("session", day, hover))
    return marks


def _safety_marks(answers: pd.DataFrame, unanswered: pd.DataFrame) -> list[TimeMark]:
    """A red line per check-in with a positive safety answer or safety questions left blank
    (a blank is never read as "no"); the hover says which (item names come from files)."""
    found: dict[tuple[pd.Timestamp, str], list[str]] = {}
    for when, partner, item, answer in zip(
        answers["completed_at"],
        answers["partner"],
        answers["item_name"],
        answers["answer"],
        strict=True,
    ):
        found.setdefault((pd.Timestamp(when), str(partner)), []).append(
            f"safety answer: “{plain(answer)}” to “{plain(item)}”"
        )
    for when, partner, n, total in zip(
        unanswered["completed_at"],
        unanswered["partner"],
        unanswered["n_unanswered"],
        unanswered["n_items"],
        strict=True,
    ):
        found.setdefault((pd.Timestamp(when), str(partner)), []).append(
            f"safety questions left blank: {int(n)} of {int(total)}"
        )
    return [
        TimeMark("safety", when, f"Partner {partner}, {when:%d %b %Y}<br>" + "<br>".join(lines))
        for (when, partner), lines in sorted(found.items())
    ]


def _milestone_marks(milestones: pd.DataFrame) -> list[TimeMark]:
    """A line per day a repair milestone changed (its effective date); the hover lists each
    change that day. The "not started" rows a case opens with mark nothing."""
    days: dict[pd.Timestamp, list[str]] = {}
    for when, label, status in zip(
        milestones["effective_on"], milestones["milestone_label"], milestones["status"], strict=True
    ):
        if status == "not_started":
            continue
        words = STATUSES.get(str(status), str(status)).lower()
        days.setdefault(pd.Timestamp(when), []).append(f"{plain(label)}: {words}")
    return [
        TimeMark("repair", day, f"Repair, {day:%d %b %Y}<br>" + "<br>".join(lines))
        for day, lines in sorted(days.items())
    ]


@about_couple
def progress_chart(
    db: Database,
    actor: Actor,
    couple_id: int,
    instrument_code: str,
    scale_code: str,
    *,
    as_of: dt.date,
    facts: CoupleFacts | None = None,
) -> ProgressChart:
    """Both partners on one scale over time, with the distressed range, reliable changes,
    sessions, safety answers and repair milestones, and what thin data cannot show yet (from
    `facts` when given). Refuses couples outside the actor's caseload."""
    facts = facts or couple_facts(db, actor, couple_id, as_of=as_of)
    couple = facts.couple
    on_scale = facts.scores[
        (facts.scores["instrument_code"] == instrument_code)
        & (facts.scores["scale_code"] == scale_code)
    ]
    scored = on_scale[["partner", "completed_at", "score", "band", "band_meaning"]]
    scored = scored.sort_values(["partner", "completed_at"]).reset_index(drop=True)
    # Per partner: the change since the first check-in and the scale's criteria (newest version
    # answered), from the one clinical definition.
    changes = facts.changes[
        (facts.changes["instrument_code"] == instrument_code)
        & (facts.changes["scale_code"] == scale_code)
    ].sort_values("partner")
    if scored.empty or changes.empty:
        return ProgressChart(None, ["No check-in has a score on this scale yet."])
    first = changes.iloc[0]
    label = str(first["scale_label"])
    cutoff = None if pd.isna(first["cutoff_used"]) else float(first["cutoff_used"])
    names = {p.label: f"{p.name} ({p.label})" for p in couple.partners}
    notes = []
    answered = set(scored["partner"])
    for partner in ("A", "B"):
        if partner not in answered:
            other = "B" if partner == "A" else "A"
            notes.append(
                f"Partner {partner} has no check-ins on this scale yet: only partner {other}"
                " is shown."
            )
    if int(changes["n_scores"].max()) < 2:
        notes.append(
            "One check-in so far: change since the first check-in, and whether it is beyond"
            " measurement noise, needs a second check-in."
        )
    if cutoff is None:
        notes.append(
            "This scale has no published cutoff (nor the norms to work one out): no distressed"
            " range is shaded."
        )
    figure = score_chart(
        scored,
        names,
        scale_label=label,
        score_range=(float(first["score_min"]), float(first["score_max"])),
        title=f"{label} over time",
        direction=str(first["direction"]),
        cutoff=cutoff,
        steps=change.checkin_change(db, actor, couple_id, instrument_code, scale_code),
        marks=[
            *_session_marks(facts.sessions),
            *_safety_marks(facts.safety, facts.unanswered),
            *_milestone_marks(facts.milestones),
        ],
    )
    return ProgressChart(figure, notes)


def _headline_row(changes: pd.DataFrame, latest: pd.Series | None, label: str) -> pd.Series | None:
    """A partner's change row on the headline scale of the couple's latest instrument."""
    if latest is None:
        return None
    part = changes[
        (changes["instrument_code"] == latest["instrument_code"])
        & (changes["scale_code"] == latest["scale_code"])
        & (changes["partner"] == label)
    ]
    return part.iloc[0] if len(part) else None


# Shown under "How these numbers are worked out" on the couple page. Our own words only.
METHOD_NOTES = """
**Scores.** Each scale is the mean (or, for some published questionnaires, the sum) of its
questions, after turning round the questions worded the other way. A scale is scored only when
enough of its questions were answered (for most check-in scales, 80%); the missing ones are
filled in pro rata.

**A change larger than measurement noise.** Every questionnaire score wobbles a little from week
to week even when nothing has changed. Following Jacobson and Truax (1991), the wobble is worked
out from how spread out scores are (their SD) and how consistent the scale is (its reliability):
the smallest change that is larger than measurement noise is 1.96 × √2 × SD × √(1 − reliability).
Where a questionnaire publishes its own figure, that figure is used instead.

**Result.** *Improved* or *worse* means a change larger than measurement noise in that
direction. *Recovered* means improved, and moved from the distressed side of the cutoff to the
other side. The cutoff is the one the questionnaire publishes, or else the point between the
typical scores of couples in therapy and couples not in therapy (Jacobson and Truax's *c*).

**Gap.** The difference between the partners' scores in the latest week both checked in. It is
flagged when it is larger than the same measurement noise.

The built-in check-in's figures are provisional planning figures, not validated norms; the table
below names the source of every figure used.
"""
