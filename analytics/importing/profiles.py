"""Saved import profiles: a reviewed mapping, found again by the file's header signature so
that next week's export of the same form imports without questions."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from analytics.errors import CaseloadError
from analytics.importing.mapping import Mapping
from analytics.practice import audit
from analytics.practice.access import Actor
from analytics.store.db import Database
from analytics.store.ids import next_id


@dataclass(frozen=True)
class Profile:
    id: int
    name: str
    header_signature: str
    source: str
    mapping: Mapping


_COLUMNS = "id, name, header_signature, source, mapping"


def _profile(row: tuple[object, ...] | None) -> Profile | None:
    if row is None:
        return None
    pid, name, signature, source, mapping = row
    return Profile(
        int(str(pid)), str(name), str(signature), str(source), Mapping.from_json(str(mapping))
    )


def find_by_signature(db: Database, header_signature: str) -> Profile | None:
    """The profile saved for files with exactly these headers, if any."""
    rows = db.query_rows(
        f"SELECT {_COLUMNS} FROM import_profiles WHERE header_signature = ?",  # noqa: S608
        [header_signature],
    )
    return _profile(rows[0] if rows else None)


def get_by_name(db: Database, name: str) -> Profile:
    """A profile by its (case-insensitive) name."""
    rows = db.query_rows(
        f"SELECT {_COLUMNS} FROM import_profiles WHERE lower(name) = lower(?)",  # noqa: S608
        [name.strip()],
    )
    found = _profile(rows[0] if rows else None)
    if found is None:
        raise CaseloadError("There is no import profile with that name.")
    return found


def list_profiles(db: Database) -> pd.DataFrame:
    """Every saved profile (names and sources only)."""
    return db.query_df(
        "SELECT id, name, source, instrument_code, updated_at FROM import_profiles ORDER BY name"
    )


def save(
    cur: duckdb.DuckDBPyConnection,
    actor: Actor,
    name: str,
    *,
    header_signature: str,
    source: str,
    mapping: Mapping,
) -> int:
    """Create or replace (by header signature) a profile inside the caller's transaction."""
    clean = " ".join(name.split())
    if not clean or len(clean) > 100:
        raise CaseloadError("A profile name is 1 to 100 characters.")
    taken = cur.execute(
        "SELECT 1 FROM import_profiles WHERE lower(name) = lower(?) AND header_signature <> ?",
        [clean, header_signature],
    ).fetchone()
    if taken:
        raise CaseloadError("Another import profile already has that name.")
    row = cur.execute(
        "SELECT id FROM import_profiles WHERE header_signature = ?", [header_signature]
    ).fetchone()
    if row is None:
        profile_id = next_id(cur, "import_profiles")
        cur.execute(
            "INSERT INTO import_profiles (id, name, header_signature, source, instrument_code,"
            " mapping, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                profile_id,
                clean,
                header_signature,
                source,
                mapping.instrument_code,
                mapping.to_json(),
                actor.id,
            ],
        )
        action = "create"
    else:
        cur.execute(
            "UPDATE import_profiles SET name = ?, source = ?, instrument_code = ?, mapping = ?,"
            " updated_at = current_timestamp WHERE id = ?",
            [clean, source, mapping.instrument_code, mapping.to_json(), row[0]],
        )
        profile_id = int(row[0])
        action = "update"
    audit.record(
        cur, actor_id=actor.id, action=action, entity="import_profile", entity_id=profile_id
    )
    return profile_id
