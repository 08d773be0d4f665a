"""The supervisor's Audit page: the audit trail filtered by person, couple, action and dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from analytics.errors import CaseloadError
from analytics.practice.access import Actor
from analytics.store.db import Database
from analytics.views.exports import neutralise, table_bytes

# The person filter's value for entries made by the command line (no therapist).
COMMAND_LINE = -1
# Accounts without a clinical role (administrators) are offered as -(ACCOUNT_BASE + id).
ACCOUNT_BASE = 1_000_000
COLUMNS = {
    "id": "Entry",
    "logged_at": "Logged at (UTC)",
    "person": "Person",
    "case_code": "Couple",
    "action": "Action",
    "entity": "Entity",
    "entity_id": "Entity id",
    "detail": "Detail",
}

# Who made an entry: the therapist it names; else, for an account's own events (sign-in,
# sign-out, password) or an administrator's change ("by" in the detail), that account.
_ENTRIES = """
WITH entries AS (
    SELECT a.*,
           coalesce(TRY_CAST(a.detail ->> 'by' AS INTEGER),
                    CASE WHEN a.entity = 'account' AND a.therapist_id IS NULL
                              AND a.action IN ('sign in', 'sign out', 'sign-in failed', 'lock',
                                               'change password')
                         THEN a.entity_id END) AS account_id
    FROM audit_log a
)
SELECT a.id, a.logged_at,
       CASE WHEN a.therapist_id IS NOT NULL THEN coalesce(t.name, '?')
            WHEN ac.id IS NOT NULL THEN 'account ' || ac.username
            WHEN a.action = 'sign-in failed' THEN 'unknown username'
            ELSE 'command line' END AS person,
       c.case_code, a.action, a.entity, a.entity_id, a.detail::VARCHAR AS detail
FROM entries a
LEFT JOIN therapists t ON t.id = a.therapist_id
LEFT JOIN accounts ac ON ac.id = a.account_id
LEFT JOIN couples c ON c.id = a.couple_id
WHERE ($person IS NULL
       OR ($person = -1 AND a.therapist_id IS NULL AND a.account_id IS NULL)
       OR a.therapist_id = $person
       OR (a.therapist_id IS NULL AND -a.account_id - $base = $person))
  AND ($code IS NULL OR upper(c.case_code) = upper(trim($code)))
  AND ($action IS NULL OR a.action = $action)
  AND ($start IS NULL OR a.logged_at >= $start::TIMESTAMP)
  AND ($end IS NULL OR a.logged_at < $end::TIMESTAMP + INTERVAL 1 DAY)
ORDER BY a.id DESC
LIMIT $limit
"""


@dataclass(frozen=True)
class AuditFilter:
    """What the Audit page narrows the trail to; None means any."""

    person: int | None = None
    case_code: str | None = None
    action: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None


def _supervisor(actor: Actor) -> None:
    if not actor.sees_every_couple:
        raise CaseloadError("Only a supervisor can read the audit trail.")


def audit_people(db: Database, actor: Actor) -> dict[int, str]:
    """The people the person filter offers: every therapist, every account without a clinical
    role (administrators), and the command line."""
    _supervisor(actor)
    rows = db.query_rows("SELECT id, name FROM therapists ORDER BY name, id")
    admins = db.query_rows(
        "SELECT id, username FROM accounts WHERE therapist_id IS NULL ORDER BY username"
    )
    return {
        COMMAND_LINE: "command line",
        **{int(i): str(n) for i, n in rows},
        **{-int(i) - ACCOUNT_BASE: f"account {u}" for i, u in admins},
    }


def audit_actions(db: Database, actor: Actor) -> list[str]:
    """Every action the trail holds, for the action filter."""
    _supervisor(actor)
    return [str(r[0]) for r in db.query_rows("SELECT DISTINCT action FROM audit_log ORDER BY 1")]


def audit_entries(
    db: Database, actor: Actor, chosen: AuditFilter, *, limit: int = 5000
) -> pd.DataFrame:
    """The entries that match `chosen`, newest first, with display column names. Detail is shown
    as stored: ids, counts and field names, never health data."""
    _supervisor(actor)
    frame = db.query_df(
        _ENTRIES,
        {
            "person": chosen.person,
            "code": chosen.case_code.strip() if chosen.case_code else None,
            "action": chosen.action,
            "start": chosen.start,
            "end": chosen.end,
            "limit": limit,
            "base": ACCOUNT_BASE,
        },
    )
    return frame.rename(columns=COLUMNS)[list(COLUMNS.values())]


def audit_csv(frame: pd.DataFrame) -> bytes:
    """The Audit page's table as CSV, each text cell neutralised against spreadsheet formulas."""
    return table_bytes(frame.map(neutralise), "csv")
