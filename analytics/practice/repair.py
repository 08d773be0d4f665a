"""Repair after betrayal: repair cases and the history of their four milestones (migration 005).

A case names the hurt partner (the other is the involved partner), a confidential description
and a start date; a couple may have several over time, at most one open. Each milestone change is
a new row, never an update: a milestone can move back (trust is lost faster than it is built).
Every write checks access and is audited in the same transaction with who, what and field
names, never the text of a description, evidence, amends or pace. Opening a case marks the couple
as working on repair (couples.repair_focus, hurt_partner); closing the last open case clears it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from analytics.errors import CaseloadError
from analytics.practice import access, audit
from analytics.practice.access import Actor
from analytics.practice.couples import get_couple
from analytics.store.db import Database
from analytics.store.ids import next_id

# The four milestones, in order (the SQL macro repair_milestone_label says the same).
MILESTONES = ("Acknowledgment", "Apology and repair", "Rebuilding time", "Consistent reliability")
STATUSES = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "reached": "Reached",
    "revisited": "Revisited",
}
PARTNERS = ("A", "B")
TEXT_LIMIT = 2000
DESCRIPTION_LIMIT = 500


class RepairCaseError(CaseloadError):
    """A repair case cannot be opened, closed or changed as asked (one already open, none open,
    the case is closed, not in the caseload)."""


class MilestoneDateError(CaseloadError):
    """A change's effective date is missing, in the future, before the case began, or before
    the milestone's previous change."""


class MilestoneFieldError(CaseloadError):
    """A change lacks what it needs (amends to mark apology and repair reached, the pace of
    rebuilding time) or has a field that does not belong to its milestone."""


@dataclass(frozen=True)
class RepairCase:
    id: int
    couple_id: int
    hurt_partner: str | None  # None only for a case carried over without one (migration 005)
    description: str
    started_on: dt.date
    closed_on: dt.date | None
    created_by: str | None
    created_at: dt.datetime

    @property
    def is_open(self) -> bool:
        """Whether the case has not been closed."""
        return self.closed_on is None

    @property
    def involved_partner(self) -> str | None:
        """The partner who is not the hurt one (None while the hurt partner is not recorded)."""
        if self.hurt_partner is None:
            return None
        return "B" if self.hurt_partner == "A" else "A"


def milestone_label(milestone: int) -> str:
    """The milestone's name: 1 -> "Acknowledgment"."""
    return MILESTONES[milestone - 1]


def _day(day: dt.date) -> str:
    """A date in words: 1 Mar 2026."""
    return f"{day.day} {day:%b %Y}"


def _text(value: str | None, what: str, limit: int = TEXT_LIMIT) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise MilestoneFieldError(f"The {what} is longer than {limit} characters.")
    return text


_CASE_SQL = (
    "SELECT k.id, k.couple_id, k.hurt_partner, k.description, k.started_on, k.closed_on,"
    " t.name, k.created_at FROM repair_cases k"
    " JOIN visible_couples(?, ?) v ON v.couple_id = k.couple_id"
    " LEFT JOIN therapists t ON t.id = k.created_by"
)


def _case_of(row: tuple[Any, ...]) -> RepairCase:
    return RepairCase(
        int(row[0]),
        int(row[1]),
        None if row[2] is None else str(row[2]),
        str(row[3] or ""),
        row[4],
        row[5],
        None if row[6] is None else str(row[6]),
        row[7],
    )


def _case(cur: duckdb.DuckDBPyConnection, actor: Actor, case_id: int) -> RepairCase:
    """A case the actor may see; the same refusal for an unknown case as for another
    therapist's, so neither is revealed."""
    row = cur.execute(f"{_CASE_SQL} WHERE k.id = ?", [*access.params(actor), case_id]).fetchone()
    if row is None:
        raise RepairCaseError("That repair case is not in your caseload.")
    return _case_of(row)


def get_case(db: Database, actor: Actor, case_id: int) -> RepairCase:
    """One repair case; refuses cases outside the actor's caseload."""
    with db.cursor() as cur:
        return _case(cur, actor, case_id)


def cases(db: Database, actor: Actor, couple_id: int) -> list[RepairCase]:
    """Every repair case of a couple, the newest first (an open one before any closed)."""
    get_couple(db, actor, couple_id)  # access check, with the couple's own refusal
    rows = db.query_rows(
        f"{_CASE_SQL} WHERE k.couple_id = ? ORDER BY k.closed_on IS NULL DESC, k.started_on DESC,"
        " k.id DESC",
        [*access.params(actor), couple_id],
    )
    return [_case_of(r) for r in rows]


def open_case_of(db: Database, actor: Actor, couple_id: int) -> RepairCase | None:
    """The couple's open repair case, if any."""
    found = [c for c in cases(db, actor, couple_id) if c.is_open]
    return found[0] if found else None


def open_case(
    db: Database,
    actor: Actor,
    couple_id: int,
    *,
    hurt_partner: str,
    description: str,
    started_on: dt.date | None,
    today: dt.date,
) -> int:
    """Open a repair case (none may be open for the couple); marks the couple as working on
    repair with this hurt partner. Returns the case id."""
    couple = get_couple(db, actor, couple_id)
    if hurt_partner not in PARTNERS:
        raise RepairCaseError("Choose the hurt partner: A or B.")
    text = _text(description, "description", DESCRIPTION_LIMIT)
    if started_on is None:
        raise MilestoneDateError("A repair case needs the date it started.")
    if started_on > today:
        raise MilestoneDateError("A repair case cannot start in the future.")
    with db.transaction() as cur:
        earlier = cur.execute(
            "SELECT count(*) FILTER (WHERE closed_on IS NULL), max(closed_on)"
            " FROM repair_cases WHERE couple_id = ?",
            [couple_id],
        ).fetchone()
        assert earlier is not None
        if earlier[0]:
            raise RepairCaseError(
                "This couple already has an open repair case.",
                hint="Close it before opening another.",
            )
        if earlier[1] is not None and started_on < earlier[1]:
            raise MilestoneDateError(
                f"A new repair case cannot start before the previous one closed"
                f" ({_day(earlier[1])})."
            )
        case_id = next_id(cur, "repair_cases")
        cur.execute(
            "INSERT INTO repair_cases (id, couple_id, hurt_partner, description, started_on,"
            " created_by) VALUES (?, ?, ?, ?, ?, ?)",
            [case_id, couple_id, hurt_partner, text, started_on, actor.id],
        )
        # The couple's own marker follows its open case, in the same transaction (and the
        # UPDATE makes two simultaneous openings conflict instead of both succeeding).
        cur.execute(
            "UPDATE couples SET repair_focus = TRUE, hurt_partner = ?,"
            " updated_at = current_timestamp WHERE id = ?",
            [hurt_partner, couple.id],
        )
        audit.record(
            cur,
            actor_id=actor.id,
            action="create",
            entity="repair_case",
            entity_id=case_id,
            couple_id=couple_id,
            detail={"fields": ["hurt_partner", "description", "started_on"]},
        )
    return case_id


def _last_change(cur: duckdb.DuckDBPyConnection, case_id: int) -> dt.date | None:
    row = cur.execute(
        "SELECT max(effective_on) FROM repair_events WHERE case_id = ?", [case_id]
    ).fetchone()
    return None if row is None else row[0]


def close_case(
    db: Database, actor: Actor, case_id: int, *, closed_on: dt.date | None, today: dt.date
) -> None:
    """Close an open repair case (not before its start or its last change, not in the
    future); with no other case open, the couple is no longer marked as working on repair."""
    if closed_on is None:
        raise MilestoneDateError("Closing a repair case needs the date it closed.")
    if closed_on > today:
        raise MilestoneDateError("A repair case cannot be closed in the future.")
    with db.transaction() as cur:
        case = _case(cur, actor, case_id)
        if not case.is_open:
            raise RepairCaseError("This repair case is already closed.")
        last = _last_change(cur, case_id)
        floor = max(d for d in (case.started_on, last) if d is not None)
        if closed_on < floor:
            raise MilestoneDateError(
                f"A repair case cannot close before {_day(floor)}"
                " (its start or its latest milestone change)."
            )
        cur.execute("UPDATE repair_cases SET closed_on = ? WHERE id = ?", [closed_on, case_id])
        row = cur.execute(
            "SELECT count(*) FROM repair_cases WHERE couple_id = ? AND closed_on IS NULL",
            [case.couple_id],
        ).fetchone()
        if row is not None and not row[0]:
            cur.execute(
                "UPDATE couples SET repair_focus = FALSE, updated_at = current_timestamp"
                " WHERE id = ?",
                [case.couple_id],
            )
        audit.record(
            cur,
            actor_id=actor.id,
            action="close",
            entity="repair_case",
            entity_id=case_id,
            couple_id=case.couple_id,
            detail={"fields": ["closed_on"]},
        )


def set_hurt_partner(db: Database, actor: Actor, case_id: int, hurt_partner: str) -> None:
    """Record the hurt partner of a case (for cases carried over without one); an open case
    also updates the couple's marker."""
    if hurt_partner not in PARTNERS:
        raise RepairCaseError("Choose the hurt partner: A or B.")
    with db.transaction() as cur:
        case = _case(cur, actor, case_id)
        if case.hurt_partner == hurt_partner:
            return
        cur.execute(
            "UPDATE repair_cases SET hurt_partner = ? WHERE id = ?", [hurt_partner, case_id]
        )
        if case.is_open:
            cur.execute(
                "UPDATE couples SET hurt_partner = ?, updated_at = current_timestamp WHERE id = ?",
                [hurt_partner, case.couple_id],
            )
        audit.record(
            cur,
            actor_id=actor.id,
            action="update",
            entity="repair_case",
            entity_id=case_id,
            couple_id=case.couple_id,
            detail={"fields": ["hurt_partner"]},
        )


def record_change(
    db: Database,
    actor: Actor,
    case_id: int,
    *,
    milestone: int,
    status: str,
    effective_on: dt.date | None,
    today: dt.date,
    evidence: str = "",
    amends: str = "",
    pace: str = "",
) -> int:
    """Record one change of one milestone of an open case, as a new row; returns its id.

    The effective date may be earlier than today, never later, never before the case started
    or before the milestone's previous change. Marking apology and repair reached needs the
    amends agreed; rebuilding time in progress (or revisited) needs the pace the hurt partner
    has set, which counts as reviewed on the effective date. Only a milestone reached before
    can be revisited.
    """
    if milestone not in (1, 2, 3, 4):
        raise MilestoneFieldError("A milestone is 1 to 4.")
    if status not in STATUSES:
        raise MilestoneFieldError("A status is not started, in progress, reached or revisited.")
    name = milestone_label(milestone)
    if effective_on is None:
        if status == "reached":
            raise MilestoneDateError(f"{name} cannot be marked reached without the date it was.")
        raise MilestoneDateError("A change needs the date it took effect.")
    if effective_on > today:
        raise MilestoneDateError("A change cannot take effect in the future.")
    evidence = _text(evidence, "evidence")
    amends = _text(amends, "amends")
    pace = _text(pace, "pace")
    if amends and milestone != 2:
        raise MilestoneFieldError("Amends are recorded with apology and repair (milestone 2).")
    if pace and milestone != 3:
        raise MilestoneFieldError("The pace is recorded with rebuilding time (milestone 3).")
    if milestone == 2 and status == "reached" and not amends:
        raise MilestoneFieldError(
            "Apology and repair cannot be marked reached without the amends agreed."
        )
    if milestone == 3 and status in ("in_progress", "revisited") and not pace:
        raise MilestoneFieldError(
            "Rebuilding time in progress needs the pace the hurt partner has set."
        )
    with db.transaction() as cur:
        case = _case(cur, actor, case_id)
        if not case.is_open:
            raise RepairCaseError("This repair case is closed: its milestones cannot change.")
        if effective_on < case.started_on:
            raise MilestoneDateError(
                f"A change cannot take effect before the case started ({_day(case.started_on)})."
            )
        row = cur.execute(
            "SELECT arg_max(status, (effective_on, entered_at, id)), max(effective_on),"
            " count(*) FILTER (WHERE status = 'reached')"
            " FROM repair_events WHERE case_id = ? AND milestone = ?",
            [case_id, milestone],
        ).fetchone()
        assert row is not None
        old, previous, reached_before = row[0] or "not_started", row[1], int(row[2])
        if previous is not None and effective_on < previous:
            raise MilestoneDateError(
                f"{name} last changed on {_day(previous)}: a later change cannot take effect"
                " before that."
            )
        if status == "revisited" and not reached_before:
            raise MilestoneFieldError(f"Only a milestone reached before can be revisited: {name}.")
        event_id = next_id(cur, "repair_events")
        cur.execute(
            "INSERT INTO repair_events (id, case_id, milestone, status, effective_on,"
            " entered_by, evidence, amends, pace, pace_reviewed_on)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                event_id,
                case_id,
                milestone,
                status,
                effective_on,
                actor.id,
                evidence or None,
                amends or None,
                pace or None,
                effective_on if pace else None,
            ],
        )
        fields = ["status", "effective_on"]
        fields += [f for f, v in (("evidence", evidence), ("amends", amends), ("pace", pace)) if v]
        # Ids, the milestone, statuses and field names only: never the free text.
        audit.record(
            cur,
            actor_id=actor.id,
            action="update",
            entity="repair_milestone",
            entity_id=event_id,
            couple_id=case.couple_id,
            detail={
                "case_id": case_id,
                "milestone": milestone,
                "from": old,
                "to": status,
                "fields": fields,
            },
        )
    return event_id


def history(db: Database, actor: Actor, case_id: int) -> pd.DataFrame:
    """Every milestone change of a case, the latest first: effective_on, milestone,
    milestone_label, status, evidence, amends, pace, entered_at, entered_by (a name), id."""
    get_case(db, actor, case_id)
    return db.query_df(
        "SELECT e.effective_on, e.milestone, repair_milestone_label(e.milestone) AS"
        " milestone_label, e.status, e.evidence, e.amends, e.pace, e.entered_at,"
        " t.name AS entered_by, e.id FROM repair_events e"
        " LEFT JOIN therapists t ON t.id = e.entered_by WHERE e.case_id = ?"
        " ORDER BY e.effective_on DESC, e.entered_at DESC, e.id DESC",
        [case_id],
    )


def milestone_changes(db: Database, actor: Actor, couple_id: int) -> pd.DataFrame:
    """Every milestone change of every repair case of a couple, in the order they took effect:
    effective_on, milestone, milestone_label, status (for annotating a time axis)."""
    get_couple(db, actor, couple_id)
    return db.query_df(
        "SELECT e.effective_on, e.milestone, repair_milestone_label(e.milestone) AS"
        " milestone_label, e.status FROM repair_events e"
        " JOIN repair_cases k ON k.id = e.case_id"
        " JOIN visible_couples(?, ?) v ON v.couple_id = k.couple_id"
        " WHERE k.couple_id = ? ORDER BY e.effective_on, e.entered_at, e.id",
        [*access.params(actor), couple_id],
    )


def milestone_state(db: Database, actor: Actor, case_id: int, *, as_of: dt.date) -> pd.DataFrame:
    """The four milestones of a case as of a date (macro repair_milestone_state): milestone,
    milestone_label, status, status_since, days_in_status, changed_on, n_changes, begun_on,
    amends, pace, pace_reviewed_on."""
    case = get_case(db, actor, case_id)
    return db.query_df(
        "SELECT * FROM repair_milestone_state(?, ?, ?, ?) WHERE case_id = ? ORDER BY milestone",
        [*access.params(actor), [case.couple_id], as_of, case_id],
    )
