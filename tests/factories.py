"""Small builders for test data that bypass the importer (tests of the importer use files)."""

from __future__ import annotations

import datetime as dt

from analytics import instruments
from analytics.couples import PartnerInput, add_couple
from analytics.db import Database
from analytics.responses import natural_key
from analytics.therapists import Actor


def couple(db: Database, actor: Actor, code: str, **kwargs: object) -> int:
    """A couple whose partners have emails derived from the case code."""
    slug = code.lower().replace("-", "")
    return add_couple(
        db,
        actor,
        code,
        PartnerInput(f"{code} Alpha", f"{slug}.a@example.org"),
        PartnerInput(f"{code} Beta", f"{slug}.b@example.org"),
        **kwargs,  # type: ignore[arg-type]
    )


def checkin(
    db: Database,
    couple_id: int,
    label: str,
    when: dt.datetime,
    level: int,
    *,
    safety: int = 0,
    skip: tuple[str, ...] = (),
) -> int:
    """Store one check-in whose every non-safety construct scores `level` (raw answers are
    reverse-keyed where the item is), safety items all `safety`. Returns the response id."""
    ins = instruments.default()
    ids = instruments.item_ids(db, ins.code)
    with db.transaction() as cur:
        row = cur.execute(
            "SELECT id FROM partners WHERE couple_id = ? AND label = ?", [couple_id, label]
        ).fetchone()
        assert row is not None
        partner_id = int(row[0])
        new = cur.execute(
            "INSERT INTO responses (partner_id, instrument_id, completed_at, natural_key)"
            " VALUES (?, ?, ?, ?) RETURNING id",
            [
                partner_id,
                instruments.instrument_id(db, ins.code),
                when,
                natural_key(partner_id, ins.code, when),
            ],
        ).fetchone()
        assert new is not None
        for item in ins.items:
            if item.code in skip:
                continue
            if item.is_safety:
                value = safety
            elif item.reverse:
                value = int(ins.scale_min + ins.scale_max) - level
            else:
                value = level
            cur.execute("INSERT INTO answers VALUES (?, ?, ?)", [new[0], ids[item.code], value])
    return int(new[0])
