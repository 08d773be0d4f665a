"""Saved session agendas: a couple's agenda for a session date, its items in order, and items
marked done during or after the session. Every save is a new version (the history per couple is
kept); scoped to the actor and audited like sessions. The audit holds counts only: an item's
text is the therapist's and may quote the couple, so it never enters the audit or a message."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from analytics.errors import CaseloadError
from analytics.practice import access, audit
from analytics.practice.access import Actor
from analytics.practice.couples import get_couple
from analytics.store.db import Database
from analytics.store.ids import next_id

STATUSES = ("open", "done", "dropped")
SOURCES = ("data", "therapist")
TEXT_LIMIT = 1000
WHY_LIMIT = 300
ITEM_LIMIT = 40
# How far ahead an agenda may be saved: the next sessions, not a plan for next year.
AHEAD_DAYS = 366


@dataclass(frozen=True)
class AgendaItem:
    """One item of an agenda (a draft's or a saved one's)."""

    kind: str  # safety, deterioration, gap, barrier_rise, repair, topics, improvement, own...
    text: str  # what the therapist will raise: editable
    why: str = ""  # one line: why this item is here
    numbers: dict[str, Any] = field(default_factory=dict)  # scale, partner, values, dates
    suggestion: str | None = None  # from the practice library
    status: str = "open"
    source: str = "data"
    carried_from: int | None = None  # the saved item this one carries over
    id: int | None = None  # set once saved


@dataclass(frozen=True)
class SavedAgenda:
    id: int
    couple_id: int
    session_date: dt.date
    version: int
    saved_by: str | None
    saved_at: dt.datetime
    items: list[AgendaItem]

    @property
    def unfinished(self) -> list[AgendaItem]:
        """The items still open (not done, not dropped)."""
        return [i for i in self.items if i.status == "open"]


def _clean(item: AgendaItem) -> AgendaItem:
    """Check one item's fields; returns it with text and why stripped."""
    text = item.text.strip()
    if not text:
        raise CaseloadError("An agenda item has no text: write what to raise, or drop it.")
    if len(text) > TEXT_LIMIT:
        raise CaseloadError(f"An agenda item is longer than {TEXT_LIMIT} characters.")
    why = (item.why or "").strip()
    if len(why) > WHY_LIMIT:
        raise CaseloadError(f"An item's reason is longer than {WHY_LIMIT} characters.")
    if item.status not in STATUSES:
        raise CaseloadError("An item's status must be open, done or dropped.")
    if item.source not in SOURCES:
        raise CaseloadError("An item comes from the data or from the therapist.")
    if not item.kind.strip():
        raise CaseloadError("An agenda item needs a kind.")
    return AgendaItem(
        kind=item.kind.strip(),
        text=text,
        why=why,
        numbers=dict(item.numbers),
        suggestion=(item.suggestion or "").strip() or None,
        status=item.status,
        source=item.source,
        carried_from=item.carried_from,
    )


def save_agenda(
    db: Database,
    actor: Actor,
    couple_id: int,
    session_date: dt.date,
    items: Sequence[AgendaItem],
    *,
    today: dt.date,
) -> int:
    """Save the agenda for a session date as a new version, items in the order given (a
    reordered, edited, shortened or extended list is simply saved again). Returns its id."""
    get_couple(db, actor, couple_id)  # access check
    if session_date > today + dt.timedelta(days=AHEAD_DAYS):
        raise CaseloadError("An agenda can be saved for a session up to a year ahead.")
    if len(items) > ITEM_LIMIT:
        raise CaseloadError(f"An agenda holds at most {ITEM_LIMIT} items.")
    cleaned = [_clean(i) for i in items]
    with db.transaction() as cur:
        row = cur.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM agendas"
            " WHERE couple_id = ? AND session_date = ?",
            [couple_id, session_date],
        ).fetchone()
        assert row is not None
        version = int(row[0])
        agenda_id = next_id(cur, "agendas")
        cur.execute(
            "INSERT INTO agendas (id, couple_id, session_date, version, saved_by)"
            " VALUES (?, ?, ?, ?, ?)",
            [agenda_id, couple_id, session_date, version, actor.id],
        )
        for position, item in enumerate(cleaned, start=1):
            cur.execute(
                "INSERT INTO agenda_items (agenda_id, position, kind, text, why, numbers,"
                " suggestion, status, source, carried_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    agenda_id,
                    position,
                    item.kind,
                    item.text,
                    item.why,
                    json.dumps(item.numbers, default=str, sort_keys=True),
                    item.suggestion,
                    item.status,
                    item.source,
                    item.carried_from,
                ],
            )
        # Counts only: the items' words are the therapist's (and may quote the couple).
        audit.record(
            cur,
            actor_id=actor.id,
            action="create",
            entity="agenda",
            entity_id=agenda_id,
            couple_id=couple_id,
            detail={
                "version": version,
                "items": len(cleaned),
                **{s: sum(i.status == s for i in cleaned) for s in STATUSES},
                "added_by_therapist": sum(i.source == "therapist" for i in cleaned),
                "carried_over": sum(i.carried_from is not None for i in cleaned),
            },
        )
    return agenda_id


def _item_couple(cur: duckdb.DuckDBPyConnection, actor: Actor, item_id: int) -> tuple[int, str]:
    """(couple id, status) of an item the actor may see; one refusal for unknown and forbidden."""
    row = cur.execute(
        "SELECT a.couple_id, i.status FROM agenda_items i JOIN agendas a ON a.id = i.agenda_id"
        " JOIN visible_couples(?, ?) v ON v.couple_id = a.couple_id WHERE i.id = ?",
        [*access.params(actor), item_id],
    ).fetchone()
    if row is None:
        raise CaseloadError("That agenda item is not in your caseload.")
    return int(row[0]), str(row[1])


def mark_items(db: Database, actor: Actor, item_ids: Sequence[int], *, done: bool = True) -> int:
    """Mark saved items done (or open again); returns how many changed. Dropped items stay
    dropped."""
    want, other = ("done", "open") if done else ("open", "done")
    changed = 0
    with db.transaction() as cur:
        for item_id in item_ids:
            couple_id, status = _item_couple(cur, actor, int(item_id))
            if status != other:
                continue
            cur.execute("UPDATE agenda_items SET status = ? WHERE id = ?", [want, int(item_id)])
            audit.record(
                cur,
                actor_id=actor.id,
                action="update",
                entity="agenda_item",
                entity_id=int(item_id),
                couple_id=couple_id,
                detail={"status": want},
            )
            changed += 1
    return changed


def _items(db: Database, agenda_id: int) -> list[AgendaItem]:
    rows = db.query_rows(
        "SELECT kind, text, why, numbers, suggestion, status, source, carried_from, id"
        " FROM agenda_items WHERE agenda_id = ? ORDER BY position",
        [agenda_id],
    )
    return [
        AgendaItem(
            kind=str(kind),
            text=str(text),
            why=str(why or ""),
            numbers=json.loads(numbers) if numbers else {},
            suggestion=None if suggestion is None else str(suggestion),
            status=str(status),
            source=str(source),
            carried_from=None if carried is None else int(carried),
            id=int(item_id),
        )
        for kind, text, why, numbers, suggestion, status, source, carried, item_id in rows
    ]


_HEAD = (
    "SELECT a.id, a.couple_id, a.session_date, a.version, t.name, a.saved_at FROM agendas a"
    " JOIN visible_couples(?, ?) v ON v.couple_id = a.couple_id"
    " LEFT JOIN therapists t ON t.id = a.saved_by"
)


def _agenda(db: Database, row: tuple[Any, ...]) -> SavedAgenda:
    agenda_id, couple_id, day, version, by, at = row
    return SavedAgenda(
        id=int(agenda_id),
        couple_id=int(couple_id),
        session_date=pd.Timestamp(day).date(),
        version=int(version),
        saved_by=None if by is None else str(by),
        saved_at=pd.Timestamp(at).to_pydatetime(),
        items=_items(db, int(agenda_id)),
    )


def get_agenda(db: Database, actor: Actor, agenda_id: int) -> SavedAgenda:
    """One saved agenda (any version) the actor may see."""
    rows = db.query_rows(_HEAD + " WHERE a.id = ?", [*access.params(actor), agenda_id])
    if not rows:
        raise CaseloadError("That agenda is not in your caseload.")
    return _agenda(db, rows[0])


def last_agenda(
    db: Database, actor: Actor, couple_id: int, *, before: dt.date | None = None
) -> SavedAgenda | None:
    """The latest version of the couple's latest saved agenda (only session dates before
    `before` when given); None when there is none."""
    get_couple(db, actor, couple_id)
    rows = db.query_rows(
        _HEAD + " WHERE a.couple_id = ? AND (CAST(? AS DATE) IS NULL OR a.session_date < ?)"
        " ORDER BY a.session_date DESC, a.version DESC LIMIT 1",
        [*access.params(actor), couple_id, before, before],
    )
    return _agenda(db, rows[0]) if rows else None


def agenda_for(
    db: Database, actor: Actor, couple_id: int, session_date: dt.date
) -> SavedAgenda | None:
    """The latest saved version of the couple's agenda for a session date, if any."""
    get_couple(db, actor, couple_id)
    rows = db.query_rows(
        _HEAD + " WHERE a.couple_id = ? AND a.session_date = ? ORDER BY a.version DESC LIMIT 1",
        [*access.params(actor), couple_id, session_date],
    )
    return _agenda(db, rows[0]) if rows else None


def history(db: Database, actor: Actor, couple_id: int) -> pd.DataFrame:
    """Every saved agenda version of a couple, newest session first: agenda_id, session_date,
    version, saved_at, saved_by, items, open, done, dropped, latest (the version in use)."""
    get_couple(db, actor, couple_id)
    return db.query_df(
        "SELECT a.id AS agenda_id, a.session_date, a.version, a.saved_at, t.name AS saved_by,"
        " count(i.id) AS items, count(i.id) FILTER (WHERE i.status = 'open') AS open,"
        " count(i.id) FILTER (WHERE i.status = 'done') AS done,"
        " count(i.id) FILTER (WHERE i.status = 'dropped') AS dropped,"
        " a.version = max(a.version) OVER (PARTITION BY a.session_date) AS latest"
        " FROM agendas a JOIN visible_couples(?, ?) v ON v.couple_id = a.couple_id"
        " LEFT JOIN therapists t ON t.id = a.saved_by"
        " LEFT JOIN agenda_items i ON i.agenda_id = a.id WHERE a.couple_id = ?"
        " GROUP BY a.id, a.session_date, a.version, a.saved_at, t.name"
        " ORDER BY a.session_date DESC, a.version DESC",
        [*access.params(actor), couple_id],
    )
