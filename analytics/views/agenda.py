"""A couple's next-session agenda drafted from the data, by rules a therapist can read. Every
number comes from the clinical SQL (CoupleFacts), the repair macros and the last saved agenda;
`draft_agenda` only picks rows and words them, in this order of priority:

1. Safety: positive safety answers and unanswered safety screens no assessment covers yet. The
   item names the safety question, never the answer given: "assess safety first".
2. Reliable deteriorations (first check-in to latest, the SQL's category).
3. The widest partner gaps beyond measurement noise (at most two), widest relative to the
   scale's smallest reliable change.
4. Barriers that rose since the last session: the latest score after the last session's date
   against the last score on or before it, beyond the scale's smallest reliable change (a
   barrier already named as a deterioration is not named twice). None before a first session.
5. Repair: the milestone in progress (or revisited), a pace review due, a stall.
6. Topics the partners asked about: their free-text answers since the last session, one item
   per partner (the answers are the therapist's to read here; never logged or audited).
7. Reliable improvements worth naming with the couple.
8. Unfinished items of the last saved agenda, unless a fresh item above says the same thing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.clinical.scope import scope
from analytics.practice import access, agendas
from analytics.practice.access import Actor
from analytics.practice.agendas import AgendaItem, SavedAgenda
from analytics.practice.library import Library, load_library
from analytics.practice.repair import STATUSES, open_case_of
from analytics.store.db import Database
from analytics.views.couple_facts import CoupleFacts, couple_facts
from analytics.views.focus import about_couple

GAPS_NAMED = 2
TOPIC_CHARS = 600  # the most of a partner's own words carried into one item
IMPROVED = ("improved", "recovered")
KIND_WORDS = {
    "safety": "Safety",
    "safety_unanswered": "Safety",
    "deterioration": "Worse beyond noise",
    "gap": "Partners far apart",
    "barrier_rise": "Barrier rose",
    "repair": "Repair",
    "repair_pace": "Repair: pace review",
    "repair_stall": "Repair stalled",
    "topics": "Their topics",
    "improvement": "Improvement",
    "own": "Therapist's item",
}


@dataclass(frozen=True)
class AgendaInputs:
    facts: CoupleFacts
    repair_now: pd.DataFrame  # repair_current of the open case: milestone, status, days...
    stalls: pd.DataFrame  # repair_stalls of the open case: rule, milestone, reason, ...
    texts: pd.DataFrame  # free-text answers: completed_at, partner, question, answer
    last: SavedAgenda | None  # the latest saved agenda before the session drafted for
    library: Library


def _f(value: Any) -> float:
    return float(value)


def _i(value: Any) -> int:
    return int(value)


def _na(value: Any) -> bool:
    return bool(pd.isna(value))


def _day(value: Any) -> dt.date:
    return pd.Timestamp(value).date()


def _d(value: Any) -> str:
    return f"{_day(value):%d %b %Y}"


def _n(value: Any) -> str:
    return f"{float(value):.1f}"


def _iso(value: Any) -> str:
    return _day(value).isoformat()


def last_session(facts: CoupleFacts) -> dt.date | None:
    """The latest recorded session's date (None before the first)."""
    if facts.sessions.empty:
        return None
    return _day(facts.sessions["session_date"].max())


def _safety(facts: CoupleFacts) -> list[AgendaItem]:
    """Unassessed positive answers and blank screens: item names and dates, never answers."""
    out = []
    answers = facts.safety[~facts.safety["acknowledged"].astype(bool)]
    for partner, rows in answers.groupby("partner", sort=True):
        names = sorted({str(n) for n in rows["item_name"]})
        dates = sorted({_iso(at) for at in rows["completed_at"]})
        out.append(
            AgendaItem(
                kind="safety",
                text=f"Assess safety first with partner {partner}, alone: {', '.join(names)}.",
                why=f"Positive safety screen not assessed yet (check-in of {_d(max(dates))}).",
                numbers={"partner": str(partner), "items": names, "dates": dates},
            )
        )
    blank = facts.unanswered[~facts.unanswered["acknowledged"].astype(bool)]
    for partner, rows in blank.groupby("partner", sort=True):
        latest = rows.sort_values("completed_at").iloc[-1]
        dates = sorted({_iso(at) for at in rows["completed_at"]})
        out.append(
            AgendaItem(
                kind="safety_unanswered",
                text=f"Assess safety first with partner {partner}, alone: the safety questions"
                " were left unanswered.",
                why=f"{int(latest['n_unanswered'])} of {int(latest['n_items'])} safety"
                f" questions blank (check-in of {_d(latest['completed_at'])}).",
                numbers={"partner": str(partner), "dates": dates},
            )
        )
    return out


def _change_numbers(x: Any) -> dict[str, Any]:
    return {
        "instrument": str(x.instrument_code),
        "scale": str(x.scale_code),
        "scale_label": str(x.scale_label),
        "partner": str(x.partner),
        "values": [_f(x.baseline), _f(x.latest)],
        "dates": [_iso(x.baseline_at), _iso(x.latest_at)],
        "rc_points": None if _na(x.rc_points) else round(_f(x.rc_points), 2),
    }


def _changes(facts: CoupleFacts, library: Library, categories: tuple[str, ...]) -> pd.DataFrame:
    rows = facts.changes[facts.changes["category"].isin(list(categories))]
    return rows.assign(_size=rows["improvement_index"].abs()).sort_values(
        ["_size", "position", "partner"], ascending=[False, True, True]
    )


def _deteriorations(facts: CoupleFacts, library: Library) -> list[AgendaItem]:
    return [
        AgendaItem(
            kind="deterioration",
            text=f"Partner {x.partner}'s {x.scale_label} is worse: {_n(x.baseline)} →"
            f" {_n(x.latest)}.",
            why=f"Reliable deterioration since the first check-in ({_d(x.baseline_at)} to"
            f" {_d(x.latest_at)}; noise {_f(x.rc_points):.2f}).",
            numbers=_change_numbers(x),
            suggestion=library.for_scale(str(x.scale_code)),
        )
        for x in _changes(facts, library, ("deteriorated",)).itertuples()
    ]


def _gaps(facts: CoupleFacts, library: Library) -> list[AgendaItem]:
    rows = facts.gaps[facts.gaps["exceeds_noise"].fillna(False).astype(bool)]
    rows = rows.assign(_relative=rows["latest_gap_size"] / rows["rc_points"]).sort_values(
        ["_relative", "latest_gap_size", "position"], ascending=[False, False, True]
    )
    return [
        AgendaItem(
            kind="gap",
            text=f"The partners see {x.scale_label} differently: A {_n(x.latest_a)},"
            f" B {_n(x.latest_b)}.",
            why=f"{_n(x.latest_gap_size)} apart in the week of {_d(x.latest_week)}, wider than"
            f" noise ({_f(x.rc_points):.2f}).",
            numbers={
                "instrument": str(x.instrument_code),
                "scale": str(x.scale_code),
                "scale_label": str(x.scale_label),
                "values": {"A": _f(x.latest_a), "B": _f(x.latest_b)},
                "dates": [_iso(x.latest_week)],
                "rc_points": round(_f(x.rc_points), 2),
            },
            suggestion=library.for_scale(str(x.scale_code)),
        )
        for x in rows.head(GAPS_NAMED).itertuples()
    ]


def _barrier_rises(
    facts: CoupleFacts, library: Library, since: dt.date | None, named: set[tuple[str, str]]
) -> list[AgendaItem]:
    """Barriers whose latest score after the session rose beyond noise over the last score on
    or before it (per partner); `named`: (partner, scale) already raised as deteriorations."""
    if since is None or facts.scores.empty:
        return []
    barriers = facts.changes[facts.changes["family"] == "barrier"]
    out = []
    for x in barriers.sort_values(["position", "partner"]).itertuples():
        if (str(x.partner), str(x.scale_code)) in named or _na(x.rc_points):
            continue
        mine = facts.scores[
            (facts.scores["partner"] == x.partner)
            & (facts.scores["instrument_code"] == x.instrument_code)
            & (facts.scores["scale_code"] == x.scale_code)
        ].sort_values("completed_at")
        days = [_day(at) for at in mine["completed_at"]]
        before = mine[[d <= since for d in days]]
        after = mine[[d > since for d in days]]
        if before.empty or after.empty:
            continue
        b, a = before.iloc[-1], after.iloc[-1]
        if _f(a["score"]) - _f(b["score"]) <= _f(x.rc_points):
            continue
        out.append(
            AgendaItem(
                kind="barrier_rise",
                text=f"Partner {x.partner}'s {x.scale_label} rose since the last session:"
                f" {_n(b['score'])} → {_n(a['score'])}.",
                why=f"Up by more than noise ({_f(x.rc_points):.2f}) since the session of"
                f" {since:%d %b %Y}.",
                numbers={
                    "instrument": str(x.instrument_code),
                    "scale": str(x.scale_code),
                    "scale_label": str(x.scale_label),
                    "partner": str(x.partner),
                    "values": [_f(b["score"]), _f(a["score"])],
                    "dates": [_iso(b["completed_at"]), _iso(a["completed_at"])],
                    "rc_points": round(_f(x.rc_points), 2),
                },
                suggestion=library.for_scale(str(x.scale_code)),
            )
        )
    return out


def _repair(inputs: AgendaInputs) -> list[AgendaItem]:
    out = []
    for x in inputs.repair_now.itertuples():
        if str(x.status) not in ("in_progress", "revisited"):
            continue
        out.append(
            AgendaItem(
                kind="repair",
                text=f"Repair: work on {x.milestone_label} ({STATUSES[str(x.status)].lower()}).",
                why=f"The milestone the repair is on now, {_i(x.days_in_status)} days in it"
                f" (since {_d(x.status_since)}).",
                numbers={
                    "milestone": _i(x.milestone),
                    "status": str(x.status),
                    "days": _i(x.days_in_status),
                    "dates": [_iso(x.status_since)],
                },
                suggestion=inputs.library.for_milestone(_i(x.milestone)),
            )
        )
    for x in inputs.stalls.sort_values(["rule_rank", "milestone"]).itertuples():
        pace = str(x.rule) == "pace"
        out.append(
            AgendaItem(
                kind="repair_pace" if pace else "repair_stall",
                text="Repair: review the pace the hurt partner set for rebuilding time."
                if pace
                else "Repair looks stalled: talk about what is in the way.",
                why=str(x.reason),
                numbers={
                    "milestone": _i(x.milestone),
                    "rule": str(x.rule),
                    "days": None if _na(x.days) else _i(x.days),
                    "limit_days": None if _na(x.limit_days) else _i(x.limit_days),
                },
                suggestion=inputs.library.for_milestone(_i(x.milestone)),
            )
        )
    return out


def _topics(texts: pd.DataFrame, since: dt.date | None) -> list[AgendaItem]:
    """One item per partner with free-text answers after the session (all before one)."""
    if texts.empty:
        return []
    rows = texts[[since is None or _day(at) > since for at in texts["completed_at"]]]
    out = []
    for partner, mine in rows.sort_values("completed_at").groupby("partner", sort=True):
        words = " / ".join(
            f"{q}: “{a}”" for q, a in zip(mine["question"], mine["answer"], strict=True)
        )
        if len(words) > TOPIC_CHARS:
            words = words[: TOPIC_CHARS - 1] + "…"
        n = len(mine)
        out.append(
            AgendaItem(
                kind="topics",
                text=f"Partner {partner} asked to talk about: {words}",
                why=f"{n} free-text answer{'s' if n != 1 else ''} from partner {partner}"
                + ("" if since is None else f" since the session of {since:%d %b %Y}")
                + ".",
                numbers={
                    "partner": str(partner),
                    "answers": n,
                    "dates": sorted({_iso(at) for at in mine["completed_at"]}),
                },
            )
        )
    return out


def _improvements(facts: CoupleFacts, library: Library) -> list[AgendaItem]:
    return [
        AgendaItem(
            kind="improvement",
            text=f"Name with the couple: partner {x.partner}'s {x.scale_label} {x.category},"
            f" {_n(x.baseline)} → {_n(x.latest)}.",
            why=f"Reliable improvement since the first check-in ({_d(x.baseline_at)} to"
            f" {_d(x.latest_at)}).",
            numbers=_change_numbers(x),
        )
        for x in _changes(facts, library, IMPROVED).itertuples()
    ]


def _key(item: AgendaItem) -> tuple[Any, ...]:
    """What makes two data items say the same thing (a therapist's item is always its own)."""
    if item.source == "therapist":
        return ("therapist", item.text)
    kind = "safety" if item.kind.startswith("safety") else item.kind
    n = item.numbers
    return (kind, n.get("scale"), n.get("partner"), n.get("milestone"), n.get("rule"))


def _carried(last: SavedAgenda | None, fresh: list[AgendaItem]) -> list[AgendaItem]:
    if last is None:
        return []
    taken = {_key(i) for i in fresh}
    return [
        AgendaItem(
            kind=i.kind,
            text=i.text,
            why=f"Carried over from the agenda of {last.session_date:%d %b %Y} (not done).",
            numbers=i.numbers,
            suggestion=i.suggestion,
            source=i.source,
            carried_from=i.id,
        )
        for i in last.unfinished
        if _key(i) not in taken
    ]


def draft_agenda(inputs: AgendaInputs) -> list[AgendaItem]:
    """The draft agenda, safety first (the module docstring gives the rules and their order)."""
    facts, library = inputs.facts, inputs.library
    since = last_session(facts)
    worse = _deteriorations(facts, library)
    named = {(str(i.numbers["partner"]), str(i.numbers["scale"])) for i in worse}
    fresh = [
        *_safety(facts),
        *worse,
        *_gaps(facts, library),
        *_barrier_rises(facts, library, since, named),
        *_repair(inputs),
        *_topics(inputs.texts, since),
        *_improvements(facts, library),
    ]
    return fresh + _carried(inputs.last, fresh)


def _texts(db: Database, actor: Actor, couple_id: int) -> pd.DataFrame:
    return db.query_df(
        "SELECT r.completed_at, p.label AS partner, coalesce(i.label, i.code) AS question,"
        " t.text AS answer FROM text_answers t JOIN responses r ON r.id = t.response_id"
        " JOIN partners p ON p.id = r.partner_id JOIN items i ON i.id = t.item_id"
        " JOIN visible_couples(?, ?) v ON v.couple_id = p.couple_id"
        " WHERE p.couple_id = ? ORDER BY r.completed_at, p.label, i.position",
        [*access.params(actor), couple_id],
    )


def agenda_inputs(
    db: Database,
    actor: Actor,
    couple_id: int,
    *,
    as_of: dt.date,
    session_date: dt.date,
    library_folder: Path | None,
) -> AgendaInputs:
    """Everything a draft reads, for the session on `session_date` (access checked first)."""
    facts = couple_facts(db, actor, couple_id, as_of=as_of)
    case = open_case_of(db, actor, couple_id)
    ids = [couple_id]
    if case is None:
        repair_now = pd.DataFrame(
            columns=["milestone", "milestone_label", "status", "status_since", "days_in_status"]
        )
        stalls = pd.DataFrame(
            columns=["rule", "rule_rank", "milestone", "reason", "days", "limit_days"]
        )
    else:
        repair_now = db.query_df(
            "SELECT * FROM repair_current(?, ?, ?, ?) WHERE case_id = ?",
            [*scope(actor, ids), as_of, case.id],
        )
        stalls = db.query_df(
            "SELECT * FROM repair_stalls(?, ?, ?, ?) WHERE case_id = ?",
            [*scope(actor, ids), as_of, case.id],
        )
    return AgendaInputs(
        facts=facts,
        repair_now=repair_now,
        stalls=stalls,
        texts=_texts(db, actor, couple_id),
        last=agendas.last_agenda(db, actor, couple_id, before=session_date),
        library=load_library(library_folder),
    )


@dataclass(frozen=True)
class AgendaView:
    case_code: str
    session_date: dt.date
    saved: SavedAgenda | None  # the saved agenda for the date, if any (shown instead of a draft)
    items: list[AgendaItem]  # the saved items, else the draft
    safety_waiting: int  # unassessed safety answers or blank screens
    since: dt.date | None  # the last recorded session


@about_couple
def agenda_view(
    db: Database,
    actor: Actor,
    couple_id: int,
    *,
    as_of: dt.date,
    session_date: dt.date,
    library_folder: Path | None,
) -> AgendaView:
    """What the Agenda page shows for one couple and session date: the saved agenda for the
    date when there is one, else the draft."""
    inputs = agenda_inputs(
        db,
        actor,
        couple_id,
        as_of=as_of,
        session_date=session_date,
        library_folder=library_folder,
    )
    saved = agendas.agenda_for(db, actor, couple_id, session_date)
    facts = inputs.facts
    waiting = int((~facts.safety["acknowledged"].astype(bool)).sum()) + int(
        (~facts.unanswered["acknowledged"].astype(bool)).sum()
    )
    return AgendaView(
        case_code=facts.couple.case_code,
        session_date=session_date,
        saved=saved,
        items=saved.items if saved is not None else draft_agenda(inputs),
        safety_waiting=waiting,
        since=last_session(facts),
    )


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def _md(text: str) -> str:
    """Text shown literally by a Markdown viewer."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def agenda_markdown(case_code: str, session_date: dt.date, items: list[AgendaItem]) -> str:
    """The agenda as Markdown for the therapist's notes (every supplied text escaped)."""
    lines = [f"# Session agenda: {_md(case_code)}, {session_date:%d %b %Y}", ""]
    shown = [i for i in items if i.status != "dropped"]
    if not shown:
        lines.append("No items.")
    for n, item in enumerate(shown, start=1):
        box = "[x]" if item.status == "done" else "[ ]"
        lines.append(
            f"{n}. {box} **{_md(KIND_WORDS.get(item.kind, item.kind))}**: {_md(item.text)}"
        )
        if item.why:
            lines.append(f"   - Why: {_md(item.why)}")
        if item.suggestion:
            lines.append(f"   - Try: {_md(item.suggestion)}")
    return "\n".join(lines) + "\n"
