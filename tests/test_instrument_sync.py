"""Instrument files in the database: every response records the version it answered; a version's
definition cannot change once it has responses; a therapist's folder is read at start."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from analytics.instruments import catalog, lookup
from analytics.instruments.sync import refusals
from analytics.practice.access import Actor
from analytics.practice.opening import sync_instruments
from analytics.store.db import Database
from tests import factories
from tests.test_instrument_files import VALID

WHEN = dt.datetime(2026, 3, 2, 19, 0)


def _write(folder: Path, text: str, name: str = "mini.toml") -> None:
    (folder / name).write_text(text, "utf-8")


def test_a_folder_instrument_becomes_current(db: Database, instruments_dir: Path) -> None:
    _write(instruments_dir, VALID)
    outcome = sync_instruments(db)
    assert outcome.added == ["mini 1.0"] and outcome.refused == {}
    ins = lookup.get(db, "mini")
    assert [s.code for s in ins.scales] == ["close"]
    stored = db.query_rows(
        "SELECT i.code, i.kind, i.min_value, i.max_value, i.labels, i.reverse, i.threshold"
        " FROM items i JOIN instruments s ON s.id = i.instrument_id WHERE s.code = 'mini'"
        " ORDER BY i.position"
    )
    assert stored[1] == (
        "C2",
        "scored",
        0.0,
        4.0,
        ["Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree"],
        True,
        None,
    )
    assert stored[2][:2] == ("S1", "safety") and stored[2][6] == 1.0
    assert stored[3] == ("T1", "text", None, None, None, False, None)
    bands = db.query_rows(
        "SELECT label, lower, upper FROM scale_bands b JOIN instruments s ON s.id = b.instrument_id"
        " WHERE s.code = 'mini' ORDER BY position"
    )
    assert bands == [("Low", 0.0, 2.0), ("High", 2.0, None)]


def test_syncing_unchanged_files_changes_nothing(db: Database) -> None:
    before = db.query_rows("SELECT id, code, version, checksum FROM instruments ORDER BY id")
    assert sync_instruments(db).added == []
    assert (
        db.query_rows("SELECT id, code, version, checksum FROM instruments ORDER BY id") == before
    )


def test_a_version_without_responses_may_still_change(db: Database, instruments_dir: Path) -> None:
    _write(instruments_dir, VALID)
    sync_instruments(db)
    _write(instruments_dir, VALID.replace('name = "Mini scale"', 'name = "Mini scale, renamed"'))
    assert sync_instruments(db).refused == {}
    assert lookup.get(db, "mini").name == "Mini scale, renamed"
    assert db.query_value("SELECT count(*) FROM instruments WHERE code = 'mini'") == 1


def test_a_changed_version_with_responses_is_refused_until_bumped(
    db: Database, therapist: Actor, instruments_dir: Path
) -> None:
    _write(instruments_dir, VALID)
    sync_instruments(db)
    couple_id = factories.couple(db, therapist, "C-1")
    first = factories.answers(
        db, couple_id, "A", WHEN, {"C1": 3, "C2": 1, "S1": 0}, instrument="mini"
    )
    v1 = lookup.version_id(db, "mini")

    # Reverse-keying C2 would rescore every stored answer: refused, the stored one stays in use.
    changed = VALID.replace(
        'text = "Apart."\nformat = "agree"\nreverse = true', 'text = "Apart."\nformat = "agree"'
    )
    _write(instruments_dir, changed)
    files = catalog.load_all(instruments_dir)
    expected = (
        "mini.toml: version 1.0 of mini already has 1 response and its definition has changed;"
        " give the file a new version to change it. The stored definition stays in use."
    )
    assert refusals(db, files) == {"mini.toml": expected}
    assert sync_instruments(db).refused == {"mini.toml": expected}
    assert lookup.get(db, "mini").item("C2").reverse
    assert lookup.version_id(db, "mini") == v1

    # With a new version the change is taken; the old response keeps the version it answered.
    _write(instruments_dir, changed.replace('version = "1.0"', 'version = "1.1"'))
    assert sync_instruments(db).added == ["mini 1.1"]
    v2 = lookup.version_id(db, "mini")
    assert v2 != v1 and not lookup.get(db, "mini").item("C2").reverse
    second = factories.answers(
        db,
        couple_id,
        "A",
        WHEN + dt.timedelta(days=7),
        {"C1": 3, "C2": 1, "S1": 0},
        instrument="mini",
    )
    versions = dict(db.query_rows("SELECT id, instrument_id FROM responses"))
    assert (versions[first], versions[second]) == (v1, v2)
    # Each scored under its own version's keys: (3 + (4 - 1)) / 2 = 3, then (3 + 1) / 2 = 2.
    scores = dict(db.query_rows("SELECT response_id, score FROM response_scores"))
    assert (scores[first], scores[second]) == (3.0, 2.0)


def test_an_invalid_file_keeps_the_last_good_version_in_use(
    db: Database, instruments_dir: Path
) -> None:
    _write(instruments_dir, VALID)
    sync_instruments(db)
    _write(instruments_dir, VALID.replace("clinical_sd = 0.8", "clinical_mena = 0.8"))
    sync_instruments(db)
    assert lookup.get(db, "mini").scale("close").clinical_sd == 0.8


def test_a_removed_file_stops_being_current_but_its_versions_stay(
    db: Database, instruments_dir: Path
) -> None:
    _write(instruments_dir, VALID)
    sync_instruments(db)
    (instruments_dir / "mini.toml").unlink()
    sync_instruments(db)
    assert db.query_rows("SELECT is_current FROM instruments WHERE code = 'mini'") == [(False,)]
    assert "mini" not in {i.code for i in lookup.current(db)}


def test_builtin_instruments_are_current_after_opening(db: Database) -> None:
    rows = db.query_rows("SELECT code, version, origin, is_current FROM instruments ORDER BY code")
    assert rows == [
        ("checkin", "2.0", "builtin", True),
        ("csi16", "1.0", "builtin", True),
        ("csi4", "1.0", "builtin", True),
    ]
