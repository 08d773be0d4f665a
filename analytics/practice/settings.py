"""Practice settings: the thresholds flags use, stored in the database (migration 002 holds the
defaults) and changed only by a supervisor, each change audited."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analytics.errors import CaseloadError
from analytics.practice import audit
from analytics.practice.access import Actor
from analytics.store.db import Database


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    help: str
    low: int
    high: int
    unit: str


SETTINGS = (
    Setting(
        "overdue_days",
        "Check-in overdue after",
        "An active couple is flagged when a partner has not checked in for longer than this "
        "(counted from the start of therapy until the first check-in).",
        1,
        120,
        "days",
    ),
    Setting(
        "no_improvement_checkins",
        "No reliable improvement after",
        "A partner still in the distressed range whose headline score has not improved beyond "
        "measurement noise after this many check-ins is flagged.",
        2,
        52,
        "check-ins",
    ),
)
_BY_KEY = {s.key: s for s in SETTINGS}


def current(db: Database) -> dict[str, int]:
    """Every setting's value."""
    rows = db.query_rows("SELECT key, value FROM practice_settings")
    return {str(k): int(v) for k, v in rows if k in _BY_KEY}


def listing(db: Database) -> pd.DataFrame:
    """Settings with their labels, values, units and last change, for the Settings page."""
    stored = {
        str(row["key"]): row
        for row in db.query_df(
            "SELECT s.key, s.value, t.name AS updated_by, s.updated_at FROM practice_settings s"
            " LEFT JOIN therapists t ON t.id = s.updated_by"
        ).to_dict("records")
    }
    return pd.DataFrame(
        [
            {
                "key": s.key,
                "setting": s.label,
                "value": int(stored[s.key]["value"]),
                "unit": s.unit,
                "low": s.low,
                "high": s.high,
                "help": s.help,
                "updated_by": stored[s.key]["updated_by"],
                "updated_at": stored[s.key]["updated_at"],
            }
            for s in SETTINGS
        ]
    )


def update(db: Database, actor: Actor, key: str, value: int) -> None:
    """Change one setting; supervisors only, within its bounds."""
    if not actor.is_supervisor:
        raise CaseloadError("Only a supervisor can change practice settings.")
    setting = _BY_KEY.get(key)
    if setting is None:
        raise CaseloadError("There is no such setting.")
    if int(value) != value or not setting.low <= value <= setting.high:
        raise CaseloadError(
            f"{setting.label} must be a whole number from {setting.low} to {setting.high}."
        )
    with db.transaction() as cur:
        old = cur.execute("SELECT value FROM practice_settings WHERE key = ?", [key]).fetchone()
        cur.execute(
            "UPDATE practice_settings SET value = ?, updated_by = ?, updated_at = current_timestamp"
            " WHERE key = ?",
            [int(value), actor.id, key],
        )
        audit.record(
            cur,
            actor_id=actor.id,
            action="update",
            entity="setting",
            detail={"key": key, "from": None if old is None else int(old[0]), "to": int(value)},
        )
