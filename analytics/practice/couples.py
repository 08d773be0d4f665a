"""Couples and their two partners: add, edit, close and reopen, always scoped to the actor."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.errors import CaseloadError
from analytics.practice import access, audit
from analytics.practice.access import Actor
from analytics.store.db import Database
from analytics.store.ids import next_id

STATUSES = ("active", "paused", "closed")
CASE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,31}$")
# Deliberately simple: one @, a dot in the domain, no spaces. Real validation is the survey reply.
EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[A-Za-z]{2,}$")
PERSON = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>]+)>\s*$")


@dataclass(frozen=True)
class PartnerInput:
    """What a therapist types for one partner."""

    name: str
    email: str | None = None
    client_code: str | None = None


@dataclass(frozen=True)
class Partner:
    id: int
    label: str
    name: str
    email: str | None
    client_code: str


@dataclass(frozen=True)
class Couple:
    id: int
    case_code: str
    therapist_id: int
    therapist: str
    status: str
    start_date: dt.date
    repair_focus: bool
    hurt_partner: str | None
    closed_at: dt.date | None
    partners: tuple[Partner, Partner]

    def partner(self, label: str) -> Partner:
        """Partner A or B."""
        return self.partners[0] if label == "A" else self.partners[1]


def parse_person(text: str) -> PartnerInput:
    """Parse the CLI form "Name <email>" (the email part may be left out)."""
    match = PERSON.match(text)
    if match:
        return PartnerInput(match.group("name"), match.group("email"))
    if "<" in text or ">" in text:
        raise CaseloadError('Write a partner as "Name <email>".')
    return PartnerInput(text)


def _clean_partner(p: PartnerInput, label: str) -> PartnerInput:
    name = " ".join((p.name or "").split())
    if not name:
        raise CaseloadError(f"Partner {label} needs a name.")
    if len(name) > 100:
        raise CaseloadError(f"Partner {label}'s name is longer than 100 characters.")
    email = (p.email or "").strip().lower() or None
    if email is not None and not EMAIL.match(email):
        raise CaseloadError(f"Partner {label}'s email address does not look like an address.")
    code = (p.client_code or "").strip().upper() or None
    if code is not None and not CASE_CODE.match(code):
        raise CaseloadError(
            f"Partner {label}'s client code may use letters, digits, '.', '_' and '-' only."
        )
    return PartnerInput(name, email, code)


def _clean_case_code(case_code: str) -> str:
    code = case_code.strip().upper()
    if not CASE_CODE.match(code):
        raise CaseloadError(
            "A case code is 2 to 32 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return code


def _check_unique(
    cur: duckdb.DuckDBPyConnection,
    case_code: str,
    partners: list[PartnerInput],
    couple_id: int | None,
) -> None:
    """Refuse duplicates with a message naming the field, not the other client."""
    other = -1 if couple_id is None else couple_id
    if cur.execute(
        "SELECT 1 FROM couples WHERE upper(case_code) = ? AND id <> ?", [case_code, other]
    ).fetchone():
        raise CaseloadError("That case code is already used by another couple.")
    emails = [p.email for p in partners if p.email]
    codes = [p.client_code for p in partners if p.client_code]
    if len(set(emails)) != len(emails):
        raise CaseloadError("The two partners need different email addresses.")
    if len(set(codes)) != len(codes):
        raise CaseloadError("The two partners need different client codes.")
    for email in emails:
        if cur.execute(
            "SELECT 1 FROM partners WHERE email = ? AND couple_id <> ?", [email, other]
        ).fetchone():
            raise CaseloadError("An email address is already used by a partner in another case.")
    for code in codes:
        if cur.execute(
            "SELECT 1 FROM partners WHERE upper(client_code) = ? AND couple_id <> ?", [code, other]
        ).fetchone():
            raise CaseloadError("A client code is already used by a partner in another case.")


def _check_therapist(cur: duckdb.DuckDBPyConnection, actor: Actor, therapist_id: int) -> None:
    if not cur.execute("SELECT 1 FROM therapists WHERE id = ?", [therapist_id]).fetchone():
        raise CaseloadError("The assigned therapist does not exist.")
    if not actor.is_supervisor and therapist_id != actor.id:
        raise CaseloadError("Only a supervisor can assign a couple to another therapist.")


def add_couple(
    db: Database,
    actor: Actor,
    case_code: str,
    partner_a: PartnerInput,
    partner_b: PartnerInput,
    *,
    start_date: dt.date,
    therapist_id: int | None = None,
    repair_focus: bool = False,
    hurt_partner: str | None = None,
) -> int:
    """Create a couple with both partners in one transaction; returns the couple id."""
    code = _clean_case_code(case_code)
    partners = [_clean_partner(partner_a, "A"), _clean_partner(partner_b, "B")]
    partners = [
        PartnerInput(p.name, p.email, p.client_code or f"{code}{label}")
        for p, label in zip(partners, "AB", strict=True)
    ]
    if hurt_partner not in (None, "A", "B"):
        raise CaseloadError("The hurt partner must be A or B.")
    assigned = actor.id if therapist_id is None else therapist_id
    if assigned is None:
        raise CaseloadError("Name the therapist the couple is assigned to.")
    with db.transaction() as cur:
        _check_therapist(cur, actor, assigned)
        _check_unique(cur, code, partners, None)
        couple_id = next_id(cur, "couples")
        cur.execute(
            "INSERT INTO couples (id, case_code, therapist_id, start_date, repair_focus,"
            " hurt_partner) VALUES (?, ?, ?, ?, ?, ?)",
            [couple_id, code, assigned, start_date, repair_focus, hurt_partner],
        )
        for label, p in zip("AB", partners, strict=True):
            cur.execute(
                "INSERT INTO partners (couple_id, label, display_name, email, client_code)"
                " VALUES (?, ?, ?, ?, ?)",
                [couple_id, label, p.name, p.email, p.client_code],
            )
        audit.record(
            cur,
            actor_id=actor.id,
            action="create",
            entity="couple",
            entity_id=couple_id,
            couple_id=couple_id,
        )
    return couple_id


def update_couple(
    db: Database,
    actor: Actor,
    couple_id: int,
    *,
    case_code: str,
    partner_a: PartnerInput,
    partner_b: PartnerInput,
    therapist_id: int,
    start_date: dt.date,
) -> None:
    """Replace a couple's editable details; refuses the whole edit on any bad field. (Repair
    after a betrayal, and with it the hurt partner, is kept by practice.repair's cases.)"""
    current = get_couple(db, actor, couple_id)
    code = _clean_case_code(case_code)
    partners = [_clean_partner(partner_a, "A"), _clean_partner(partner_b, "B")]
    partners = [
        PartnerInput(p.name, p.email, p.client_code or current.partner(label).client_code)
        for p, label in zip(partners, "AB", strict=True)
    ]
    with db.transaction() as cur:
        if therapist_id != current.therapist_id:
            _check_therapist(cur, actor, therapist_id)
        _check_unique(cur, code, partners, couple_id)
        cur.execute(
            "UPDATE couples SET case_code = ?, therapist_id = ?, start_date = ?,"
            " updated_at = current_timestamp WHERE id = ?",
            [code, therapist_id, start_date, couple_id],
        )
        for label, p in zip("AB", partners, strict=True):
            cur.execute(
                "UPDATE partners SET display_name = ?, email = ?, client_code = ?"
                " WHERE couple_id = ? AND label = ?",
                [p.name, p.email, p.client_code, couple_id, label],
            )
        audit.record(
            cur,
            actor_id=actor.id,
            action="update",
            entity="couple",
            entity_id=couple_id,
            couple_id=couple_id,
        )


def set_status(db: Database, actor: Actor, couple_id: int, status: str, *, today: dt.date) -> None:
    """Close, pause or reopen a case (closing on `today`). Closing keeps every record; the
    couple only leaves the caseload."""
    if status not in STATUSES:
        raise CaseloadError(f"The status must be one of: {', '.join(STATUSES)}.")
    current = get_couple(db, actor, couple_id)
    if current.status == status:
        return
    with db.transaction() as cur:
        cur.execute(
            "UPDATE couples SET status = ?, closed_at = ?, updated_at = current_timestamp"
            " WHERE id = ?",
            [status, today if status == "closed" else None, couple_id],
        )
        audit.record(
            cur,
            actor_id=actor.id,
            action=f"status:{status}",
            entity="couple",
            entity_id=couple_id,
            couple_id=couple_id,
        )


def get_couple(db: Database, actor: Actor, couple_id: int) -> Couple:
    """One couple with both partners; refuses couples outside the actor's caseload."""
    rows = db.query_rows(
        "SELECT c.id, c.case_code, c.therapist_id, t.name, c.status, c.start_date,"
        " c.repair_focus, c.hurt_partner, c.closed_at"
        " FROM couples c JOIN therapists t ON t.id = c.therapist_id"
        " JOIN visible_couples(?, ?) v ON v.couple_id = c.id WHERE c.id = ?",
        [*access.params(actor), couple_id],
    )
    if not rows:
        raise CaseloadError("That couple is not in your caseload.")
    partner_rows = db.query_rows(
        "SELECT id, label, display_name, email, client_code FROM partners"
        " WHERE couple_id = ? ORDER BY label",
        [couple_id],
    )
    if len(partner_rows) != 2:
        raise CaseloadError("This couple's record is incomplete (it needs two partners).")
    partners = tuple(Partner(int(r[0]), r[1], r[2], r[3], r[4]) for r in partner_rows)
    r = rows[0]
    return Couple(
        int(r[0]),
        r[1],
        int(r[2]),
        r[3],
        r[4],
        r[5],
        bool(r[6]),
        r[7],
        r[8],
        (partners[0], partners[1]),
    )


def find_couple_id(db: Database, actor: Actor, case_code: str) -> int:
    """The id of a couple in the actor's caseload, by case code."""
    value = db.query_value(
        "SELECT c.id FROM couples c JOIN visible_couples(?, ?) v ON v.couple_id = c.id"
        " WHERE upper(c.case_code) = ?",
        [*access.params(actor), case_code.strip().upper()],
    )
    if value is None:
        raise CaseloadError("There is no couple with that case code in your caseload.")
    return int(value)


def list_couples(db: Database, actor: Actor, *, include_closed: bool = True) -> pd.DataFrame:
    """Couples the actor may see, one row each, with both partners' names, emails and codes."""
    return db.query_df(
        "SELECT c.id, c.case_code, t.name AS therapist, c.status, c.start_date,"
        " c.repair_focus, c.hurt_partner,"
        " max(p.display_name) FILTER (WHERE p.label = 'A') AS partner_a,"
        " max(p.email) FILTER (WHERE p.label = 'A') AS email_a,"
        " max(p.client_code) FILTER (WHERE p.label = 'A') AS client_code_a,"
        " max(p.display_name) FILTER (WHERE p.label = 'B') AS partner_b,"
        " max(p.email) FILTER (WHERE p.label = 'B') AS email_b,"
        " max(p.client_code) FILTER (WHERE p.label = 'B') AS client_code_b"
        " FROM couples c JOIN therapists t ON t.id = c.therapist_id"
        " JOIN visible_couples(?, ?) v ON v.couple_id = c.id"
        " LEFT JOIN partners p ON p.couple_id = c.id"
        " WHERE (? OR c.status <> 'closed')"
        " GROUP BY ALL ORDER BY c.case_code",
        [*access.params(actor), include_closed],
    )
