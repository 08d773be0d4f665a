"""The instruments a practice uses, read back from the database (where sync put them).

Only versions defined in today's files format are turned into `Instrument` objects; versions
kept from older releases are scored and shown from their rows alone.
"""

from __future__ import annotations

import json
from functools import lru_cache

import pandas as pd

from analytics.errors import CaseloadError
from analytics.instruments.model import Instrument
from analytics.instruments.schema import parse
from analytics.store.db import Database


@lru_cache(maxsize=64)
def _parsed(checksum: str, definition: str, origin: str) -> Instrument:
    # Keyed on the checksum too: the same version re-synced with new content parses anew.
    return parse(json.loads(definition), origin)


def _instrument(row: tuple[object, ...]) -> Instrument:
    code, version, checksum, definition = (str(v) for v in row)
    return _parsed(checksum, definition, f"{code} {version} (stored)")


def get(db: Database, code: str) -> Instrument:
    """The current version of an instrument."""
    rows = db.query_rows(
        "SELECT code, version, checksum, definition FROM instruments"
        " WHERE code = ? AND is_current AND origin <> 'legacy'",
        [code],
    )
    if not rows:
        raise CaseloadError(f"There is no instrument with the code {code!r}.")
    return _instrument(rows[0])


def by_id(db: Database, instrument_id: int) -> Instrument:
    """The stored version with this id (the one a response or queued row was given under)."""
    rows = db.query_rows(
        "SELECT code, version, checksum, definition FROM instruments"
        " WHERE id = ? AND origin <> 'legacy'",
        [instrument_id],
    )
    if not rows:
        raise CaseloadError("That questionnaire version is from an earlier release; import again.")
    return _instrument(rows[0])


def current(db: Database) -> list[Instrument]:
    """Every current instrument, sorted by code."""
    rows = db.query_rows(
        "SELECT code, version, checksum, definition FROM instruments"
        " WHERE is_current AND origin <> 'legacy' ORDER BY code"
    )
    return [_instrument(row) for row in rows]


def version_id(db: Database, code: str) -> int:
    """The database id of an instrument's current version (what new responses point at)."""
    value = db.query_value(
        "SELECT id FROM instruments WHERE code = ? AND is_current AND origin <> 'legacy'", [code]
    )
    if value is None:
        raise CaseloadError(f"The instrument {code!r} is not in the database.")
    return int(value)


def overview(db: Database) -> pd.DataFrame:
    """Every stored version, newest first per code, with how many responses use it."""
    return db.query_df(
        "SELECT s.code, s.version, s.name, s.origin, s.file_name, s.is_current,"
        " (SELECT count(*) FROM items i WHERE i.instrument_id = s.id) AS items,"
        " (SELECT count(*) FROM scales k WHERE k.instrument_id = s.id) AS scales,"
        " (SELECT count(*) FROM responses r WHERE r.instrument_id = s.id) AS responses"
        " FROM instruments s ORDER BY s.code, s.is_current DESC, s.synced_at DESC"
    )


def scales_of(db: Database, code: str) -> pd.DataFrame:
    """The scales of an instrument's current version with their figures and derived criteria
    (smallest reliable change, cutoff used) from the SQL view `scale_criteria`."""
    return db.query_df(
        "SELECT k.* FROM scale_criteria k JOIN instruments s ON s.id = k.instrument_id"
        " WHERE s.code = ? AND s.is_current ORDER BY k.position",
        [code],
    )
