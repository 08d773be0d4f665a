"""Practice settings: the thresholds flags and imports use, stored in the database (migrations
002, 003 and 005 hold the defaults), and the practice's time zone; changed only by a supervisor,
each change audited."""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
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
    Setting(
        "start_grace_days",
        "Grace before the start of therapy",
        "An imported answer sheet dated more than this many days before its couple started "
        "therapy is rejected (an intake questionnaire may come a little before the first session).",
        0,
        365,
        "days",
    ),
    Setting(
        "repair_stall_days",
        "Repair milestone stalled after",
        "A couple working on repair after a betrayal is flagged when a milestone has been in "
        "progress (or revisited) for longer than this.",
        7,
        365,
        "days",
    ),
    Setting(
        "pace_review_days",
        "Review the rebuilding pace every",
        "A couple in or past rebuilding time is flagged when the pace the hurt partner set has "
        "not been reviewed for longer than this.",
        7,
        180,
        "days",
    ),
    Setting(
        "idle_logoff_minutes",
        "Sign out after inactivity of",
        "A signed-in person who has done nothing for this long is signed out, and must sign in"
        " again (an unattended screen shows no client data).",
        5,
        240,
        "minutes",
    ),
)
_BY_KEY = {s.key: s for s in SETTINGS}
TIME_ZONE = "time_zone"
_ZONEINFO = "zoneinfo/"


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


# --- the practice's time zone ------------------------------------------------------------------


@cache
def time_zones() -> tuple[str, ...]:
    """Every IANA zone name known here, sorted (the choices on the Settings page)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def _known_zone(name: str | None) -> str | None:
    name = (name or "").strip().lstrip(":")
    return name if name in time_zones() else None


def server_time_zone() -> str:
    """The zone this server runs in: $TZ when it names an IANA zone, else the zone
    /etc/localtime links to, else UTC. (A zone, not the clock: reading it is allowed here.)"""
    from_env = _known_zone(os.environ.get("TZ"))
    if from_env:
        return from_env
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        target = ""
    if _ZONEINFO in target:
        linked = _known_zone(target.rsplit(_ZONEINFO, 1)[1])
        if linked:
            return linked
    return "UTC"


@dataclass(frozen=True)
class ZoneSetting:
    """The practice's time zone, whether it is the default (the server's) and its last change."""

    zone: str
    is_default: bool
    updated_by: str | None
    updated_at: dt.datetime | None


def time_zone_setting(db: Database) -> ZoneSetting:
    """The practice's time zone: the one a supervisor chose, else the server's."""
    rows = db.query_rows(
        "SELECT s.value, t.name, s.updated_at FROM practice_text_settings s"
        " LEFT JOIN therapists t ON t.id = s.updated_by WHERE s.key = ?",
        [TIME_ZONE],
    )
    chosen = _known_zone(str(rows[0][0])) if rows else None
    if chosen is None:  # never chosen, or a zone this install no longer knows
        return ZoneSetting(server_time_zone(), True, None, None)
    return ZoneSetting(chosen, False, rows[0][1], rows[0][2])


def time_zone(db: Database) -> str:
    """The IANA zone in which times written without one are read."""
    return time_zone_setting(db).zone


def update_time_zone(db: Database, actor: Actor, zone: str) -> None:
    """Choose the practice's time zone; supervisors only, an IANA zone name."""
    if not actor.is_supervisor:
        raise CaseloadError("Only a supervisor can change practice settings.")
    if _known_zone(zone) != zone:
        raise CaseloadError("Choose a time zone from the list (for example Europe/Berlin).")
    old = time_zone(db)

    def work(cur: duckdb.DuckDBPyConnection) -> None:
        # Update, else insert (no upsert clause: attached PostgreSQL tables take no DuckDB
        # upsert). Two first choices at once: one fails at COMMIT on the key and is retried,
        # then updating the row the other stored.
        cur.execute(
            "UPDATE practice_text_settings SET value = ?, updated_by = ?,"
            " updated_at = CAST(now() AS TIMESTAMP) WHERE key = ?",
            [zone, actor.id, TIME_ZONE],
        )
        cur.execute(
            "INSERT INTO practice_text_settings (key, value, updated_by) SELECT ?, ?, ?"
            " WHERE NOT EXISTS (SELECT 1 FROM practice_text_settings WHERE key = ?)",
            [TIME_ZONE, zone, actor.id, TIME_ZONE],
        )
        audit.record(
            cur,
            actor_id=actor.id,
            action="update",
            entity="setting",
            detail={"key": TIME_ZONE, "from": old, "to": zone},
        )

    db.atomic(work)
