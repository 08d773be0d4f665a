"""Small builders for test data that bypass the importer (tests of the importer use files).
Responses go through the one writer (analytics.practice.responses.write), like every other
stored response."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from analytics.instruments import lookup
from analytics.practice.access import Actor
from analytics.practice.couples import PartnerInput, add_couple
from analytics.practice.opening import practice_key
from analytics.practice.responses import write
from analytics.store.db import Database

START = dt.date(2026, 1, 5)


def database(path: str | Path, *, read_only: bool = False) -> Database:
    """Another handle on a test practice's (encrypted) file, opened with its key."""
    return Database(path, key=practice_key(path), read_only=read_only)


def couple(db: Database, actor: Actor, code: str, **kwargs: object) -> int:
    """A couple whose partners have emails derived from the case code."""
    slug = code.lower().replace("-", "")
    kwargs.setdefault("start_date", START)
    return add_couple(
        db,
        actor,
        code,
        PartnerInput(f"{code} Alpha", f"{slug}.a@example.org"),
        PartnerInput(f"{code} Beta", f"{slug}.b@example.org"),
        **kwargs,  # type: ignore[arg-type]
    )


def partner_id(db: Database, couple_id: int, label: str) -> int:
    """The id of partner A or B of a couple."""
    value = db.query_value(
        "SELECT id FROM partners WHERE couple_id = ? AND label = ?", [couple_id, label]
    )
    assert value is not None
    return int(value)


def answers(
    db: Database,
    couple_id: int,
    label: str,
    when: dt.datetime,
    values: dict[str, float],
    *,
    instrument: str = "checkin",
    texts: dict[str, str] | None = None,
) -> int:
    """Store one answer sheet with exactly these answers (item code -> value); returns the
    response id."""
    version = lookup.version_id(db, instrument)
    with db.transaction() as cur:
        stored = write(
            cur,
            instrument_id=version,
            instrument_code=instrument,
            sheets=pd.DataFrame(
                {"partner_id": [partner_id(db, couple_id, label)], "completed_at": [when]}
            ),
            answers=pd.DataFrame([values], columns=list(values), dtype="float64"),
            texts=pd.DataFrame([texts or {}], dtype="string"),
        )
    assert len(stored) == 1, "that partner already has a response at that time"
    return int(stored["response_id"].iloc[0])


def checkin(
    db: Database,
    couple_id: int,
    label: str,
    when: dt.datetime,
    level: int,
    *,
    safety: int | None = 0,
    skip: tuple[str, ...] = (),
    texts: dict[str, str] | None = None,
    barriers: int | None = None,
) -> int:
    """Store one check-in whose every scale scores `level` (raw answers are reverse-keyed where
    the item is) - or, for the barrier scales, `barriers` when given - and every safety item
    answered `safety` (0 "Never", 1 "Once", 2 "More than once"; None: left blank, as an export's
    empty cell). Returns the response id."""
    ins = lookup.get(db, "checkin")
    barrier_items = {
        code for scale in ins.scales if scale.family == "barrier" for code in scale.items
    }
    values: dict[str, float] = {}
    for item in ins.answer_items:
        if item.code in skip:
            continue
        want = barriers if barriers is not None and item.code in barrier_items else level
        if item.kind == "safety":
            values[item.code] = float("nan") if safety is None else safety
        elif item.reverse:
            values[item.code] = item.min + item.max - want
        else:
            values[item.code] = want
    return answers(db, couple_id, label, when, values, texts=texts)
