"""Migrations: a new file gets every migration, once; a release-1 database upgrades through 002
with its answers, scores and safety answers intact; an older database upgrades through 004 and
flags its unanswered safety screens; instrument files sync into versions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from analytics.clinical import change, flags
from analytics.instruments import catalog, lookup
from analytics.instruments.sync import refusals
from analytics.practice import audit
from analytics.practice.access import PRACTICE
from analytics.practice.opening import open_practice, sync_instruments
from analytics.practice.safety import record_assessment
from analytics.practice.therapists import add_therapist
from analytics.store import migrate
from analytics.store.db import Database
from analytics.store.ids import next_id
from tests import factories
from tests.test_audit_chain import before_008

AS_OF = dt.date(2026, 3, 2)
VERSIONS = [m.version for m in migrate.available()]


def _table(db: Database, table: str) -> list[tuple[object, ...]]:
    return db.query_rows(f"SELECT * FROM {table} ORDER BY ALL")


# --- a new file --------------------------------------------------------------------------------


def test_the_shipped_migrations_are_numbered_from_one() -> None:
    shipped = [(m.version, m.name) for m in migrate.available()]
    assert [version for version, _ in shipped] == list(range(1, len(shipped) + 1))
    assert shipped[:2] == [(1, "initial"), (2, "clinical_core")]
    assert (4, "safety_unanswered") in shipped


def test_a_new_file_gets_every_migration_once(db_path: Path) -> None:
    db = factories.database(db_path)
    try:
        assert migrate.schema_version(db) == 0
        assert migrate.apply_migrations(db) == VERSIONS
        assert migrate.schema_version(db) == VERSIONS[-1]
        recorded = _table(db, "schema_migrations")
        assert [(v, n) for v, n, _ in recorded] == [
            (m.version, m.name) for m in migrate.available()
        ]
        tables = {r[0] for r in db.query_rows("SELECT table_name FROM information_schema.tables")}
        snapshot = {t: _table(db, t) for t in tables}
        # Migrations create the schema and the default settings; instruments come from sync.
        assert db.query_value("SELECT count(*) FROM instruments") == 0
        assert dict(db.query_rows("SELECT key, value FROM practice_settings")) == {
            "overdue_days": 14,
            "no_improvement_checkins": 6,
            "start_grace_days": 30,  # migration 003
            "repair_stall_days": 56,  # migration 005
            "pace_review_days": 28,
            "idle_logoff_minutes": 15,
        }

        assert migrate.apply_migrations(db) == []
        assert {t: _table(db, t) for t in tables} == snapshot
    finally:
        db.close()
    reopened = factories.database(db_path)
    try:
        assert migrate.apply_migrations(reopened) == []
        assert _table(reopened, "schema_migrations") == recorded
    finally:
        reopened.close()


def test_a_failing_migration_leaves_the_database_as_it_was(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = migrate.available()
    broken = migrate.Migration(
        VERSIONS[-1] + 1, "broken", "CREATE TABLE later (x INTEGER); SELECT nonsense;"
    )
    db = factories.database(db_path)
    try:
        monkeypatch.setattr(migrate, "available", lambda: [*shipped, broken])
        with pytest.raises(Exception, match="refused"):
            migrate.apply_migrations(db)
        assert migrate.schema_version(db) == VERSIONS[-1]  # the others went in, each on its own
        tables = {r[0] for r in db.query_rows("SELECT table_name FROM information_schema.tables")}
        assert "later" not in tables
    finally:
        db.close()


# --- a release-1 database ----------------------------------------------------------------------

# Release 1's check-in, as release 1 stored it: the JSON of its `Instrument` dataclass (one
# 0-6 agreement scale for every item, constructs with `min_items`, safety items flagged from
# `flag_at`), cut down to four constructs.
AGREEMENT = [
    "Strongly disagree",
    "Disagree",
    "Somewhat disagree",
    "Neither agree nor disagree",
    "Somewhat agree",
    "Agree",
    "Strongly agree",
]
PROVISIONAL = (
    "Written for this project (our own wording). Provisional figures, not validated norms."
)


def _construct(code: str, family: str, label: str, direction: str, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "code": code,
        "family": family,
        "label": label,
        "direction": direction,
        "min_items": 2,
        "description": f"{label} (release 1).",
        "sd": None,
        "reliability": None,
        "clinical_mean": None,
        "clinical_sd": None,
        "functional_mean": None,
        "functional_sd": None,
        "flag_at": None,
    }
    return {**fields, **extra}


R1_CONSTRUCTS = [
    _construct("consistency", "trust", "Consistency", "higher_better", sd=1.4, reliability=0.78),
    _construct("past_hurt", "barrier", "Unresolved past hurt", "higher_worse", sd=1.6),
    _construct(
        "global",
        "global",
        "Global satisfaction",
        "higher_better",
        sd=1.3,
        reliability=0.88,
        clinical_mean=3.0,
        clinical_sd=1.3,
        functional_mean=4.8,
        functional_sd=0.9,
    ),
    _construct("safety", "safety", "Safety screen", "higher_worse", min_items=1, flag_at=1),
]
# code, construct, reverse
R1_ITEMS = [
    ("CON1", "consistency", False),
    ("CON2", "consistency", True),
    ("CON3", "consistency", False),
    ("BPH1", "past_hurt", False),
    ("BPH2", "past_hurt", False),
    ("SAT1", "global", False),
    ("SAT2", "global", False),
    ("SAT3", "global", True),
    ("SAF1", "safety", False),
    ("SAF2", "safety", False),
]
R1_DEFINITION = {
    "code": "checkin",
    "name": "Relationship check-in",
    "version": "1.0",
    "scale_min": 0.0,
    "scale_max": 6.0,
    "labels": AGREEMENT,
    "constructs": R1_CONSTRUCTS,
    "items": [
        {
            "code": code,
            "construct": construct,
            "text": f"Statement {code}.",
            "position": position,
            "reverse": reverse,
            "min_value": 0.0,
            "max_value": 6.0,
            "is_safety": construct == "safety",
        }
        for position, (code, construct, reverse) in enumerate(R1_ITEMS, start=1)
    ],
    "min_fraction_answered": 0.8,
    "required_constructs": ["global"],
    "global_construct": "global",
    "source": PROVISIONAL,
    "period": "the past week",
    "extra": {},
}
# Answer sheets: (partner label, completed_at, {item: value}). Partner A's second sheet leaves
# SAT2 blank (global scored from two of three items) and all of consistency but one (no score).
R1_SHEETS = [
    (
        "A",
        dt.datetime(2026, 1, 12, 19),
        {
            "CON1": 2, "CON2": 5, "CON3": 1, "BPH1": 5, "BPH2": 4,
            "SAT1": 2, "SAT2": 1, "SAT3": 5, "SAF1": 0, "SAF2": 0,
        },
    ),
    (
        "B",
        dt.datetime(2026, 1, 12, 20),
        {
            "CON1": 3, "CON2": 3, "CON3": 3, "BPH1": 2, "BPH2": 2,
            "SAT1": 3, "SAT2": 3, "SAT3": 3, "SAF1": 0, "SAF2": 1,  # "Disagree"
        },
    ),
    (
        "A",
        dt.datetime(2026, 1, 19, 19),
        {"CON1": 4, "BPH1": 2, "BPH2": 1, "SAT1": 5, "SAT3": 0, "SAF1": 0, "SAF2": 0},
    ),
]  # fmt: skip


def _release_one(path: Path) -> Database:
    """A database as release 1 left it: migration 001 only, its rows in release 1's format."""
    db = factories.database(path)
    migrate.schema_version(db)  # creates schema_migrations, as release 1 did
    initial = migrate.available()[0]
    assert initial.version == 1
    with db.transaction() as cur:
        cur.execute(initial.sql)
        cur.execute("INSERT INTO schema_migrations (version, name) VALUES (1, 'initial')")
        instrument_id = next_id(cur, "instruments")
        cur.execute(
            "INSERT INTO instruments (id, code, name, version, scale_min, scale_max, definition)"
            " VALUES (?, 'checkin', 'Relationship check-in', '1.0', 0, 6, ?)",
            [instrument_id, json.dumps(R1_DEFINITION, sort_keys=True)],
        )
        for c in R1_CONSTRUCTS:
            cur.execute(
                "INSERT INTO constructs (instrument_id, code, family, label, direction,"
                " min_items, flag_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    instrument_id,
                    c["code"],
                    c["family"],
                    c["label"],
                    c["direction"],
                    c["min_items"],
                    c["flag_at"],
                ],
            )
        for item in R1_DEFINITION["items"]:
            cur.execute(
                "INSERT INTO items (instrument_id, code, position, construct, text, reverse,"
                " min_value, max_value, is_safety) VALUES (?, ?, ?, ?, ?, ?, 0, 6, ?)",
                [
                    instrument_id,
                    item["code"],
                    item["position"],
                    item["construct"],
                    item["text"],
                    item["reverse"],
                    item["is_safety"],
                ],
            )
        cur.execute("INSERT INTO therapists (name) VALUES ('Release One')")
        cur.execute(
            "INSERT INTO couples (case_code, therapist_id, start_date) VALUES ('R-1', 1, ?)",
            [dt.date(2026, 1, 5)],
        )
        for label in "AB":
            cur.execute(
                "INSERT INTO partners (couple_id, label, display_name, client_code)"
                " VALUES (1, ?, ?, ?)",
                [label, f"Partner {label}", f"R-1{label}"],
            )
        for label, when, values in R1_SHEETS:
            partner = 1 if label == "A" else 2
            response_id = next_id(cur, "responses")
            cur.execute(
                "INSERT INTO responses (id, partner_id, instrument_id, completed_at, natural_key)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    response_id,
                    partner,
                    instrument_id,
                    when,
                    f"{partner}:checkin:{when:%Y-%m-%dT%H:%M:%S}",
                ],
            )
            for code, value in values.items():
                cur.execute(
                    "INSERT INTO answers (response_id, item_id, value) SELECT ?, id, ?"
                    " FROM items WHERE instrument_id = ? AND code = ?",
                    [response_id, value, instrument_id, code],
                )
    return db


@pytest.fixture
def release_one(db_path: Path) -> Path:
    _release_one(db_path).close()
    return db_path


def _keyed(code: str, value: float) -> float:
    reverse = {c: r for c, _, r in R1_ITEMS}
    return 6 - value if reverse[code] else value


def test_release_one_upgrades_through_002(release_one: Path) -> None:
    db = factories.database(release_one)
    try:
        items_before = db.query_rows("SELECT id, code FROM items ORDER BY id")
        answers_before = _table(db, "answers")
        assert migrate.apply_migrations(db) == VERSIONS[1:]

        # The old version is kept, marked as coming from release 1.
        (row,) = db.query_rows(
            "SELECT code, version, headline, period, origin, is_current FROM instruments"
        )
        assert row == ("checkin", "1.0", "global", "the past week", "legacy", True)
        # Item ids stay (answers point at them); their kind and format come from release 1.
        assert db.query_rows("SELECT id, code FROM items ORDER BY id") == items_before
        assert _table(db, "answers") == answers_before
        kinds = db.query_rows(
            "SELECT code, kind, format_type, min_value, max_value, labels, threshold"
            " FROM items ORDER BY position"
        )
        for code, kind, fmt, low, high, labels, threshold in kinds:
            safety = code.startswith("SAF")
            assert kind == ("safety" if safety else "scored"), code
            assert (fmt, low, high, labels) == ("agreement", 0, 6, AGREEMENT), code
            # Release 1's threshold: anything above "Strongly disagree" is positive.
            assert threshold == (1 if safety else None), code

        # Constructs become scales (the safety screen is not a scale), items stay in them.
        scales = {
            r[0]: r[1:]
            for r in db.query_rows(
                "SELECT code, label, family, method, direction, min_answered, prorate, sd,"
                " reliability, clinical_mean, clinical_sd, functional_mean, functional_sd"
                " FROM scales"
            )
        }
        assert set(scales) == {"consistency", "past_hurt", "global"}
        assert scales["global"] == (
            "Global satisfaction",
            "global",
            "mean",
            "higher_better",
            pytest.approx(2 / 3),
            True,
            1.3,
            0.88,
            3.0,
            1.3,
            4.8,
            0.9,
        )
        assert scales["past_hurt"][3:7] == ("higher_worse", 1.0, True, 1.6)
        members = db.query_rows(
            "SELECT si.scale_code, list(i.code ORDER BY i.code) FROM scale_items si"
            " JOIN items i ON i.id = si.item_id GROUP BY ALL ORDER BY ALL"
        )
        assert members == [
            ("consistency", ["CON1", "CON2", "CON3"]),
            ("global", ["SAT1", "SAT2", "SAT3"]),
            ("past_hurt", ["BPH1", "BPH2"]),
        ]

        # Every old response has the scores the one SQL definition gives, worked out here too.
        stored = _table(db, "response_scores")
        assert stored == db.query_rows("SELECT * FROM scale_scores_from_answers ORDER BY ALL")
        scored = {
            (r[0], r[6]): (r[10], r[11]) for r in stored
        }  # (response, scale) -> (prorated, score)
        for response_id, (_, _, values) in enumerate(R1_SHEETS, start=1):
            for scale, codes in (
                ("consistency", ("CON1", "CON2", "CON3")),
                ("past_hurt", ("BPH1", "BPH2")),
                ("global", ("SAT1", "SAT2", "SAT3")),
            ):
                given = [_keyed(c, values[c]) for c in codes if c in values]
                if len(given) < 2:  # release 1's min_items
                    assert (response_id, scale) not in scored
                    continue
                prorated, score = scored[(response_id, scale)]
                assert score == pytest.approx(sum(given) / len(given))
                assert prorated == (len(given) < len(codes))
        assert scored[(3, "global")] == (True, pytest.approx((5 + 6) / 2))
        assert (3, "consistency") not in scored

        # Safety answers: B's "Disagree" stays a positive answer after the upgrade.
        safety = db.query_rows(
            "SELECT s.response_id, i.code, s.value, s.positive FROM response_safety s"
            " JOIN items i ON i.id = s.item_id ORDER BY ALL"
        )
        assert safety == [
            (1, "SAF1", 0.0, False),
            (1, "SAF2", 0.0, False),
            (2, "SAF1", 0.0, False),
            (2, "SAF2", 1.0, True),
            (3, "SAF1", 0.0, False),
            (3, "SAF2", 0.0, False),
        ]
        assert migrate.apply_migrations(db) == []
    finally:
        db.close()


def test_release_one_safety_threshold_is_any_answer_above_strongly_disagree(
    release_one: Path,
) -> None:
    db = factories.database(release_one)
    try:
        # Every agreement answer on a release-1 safety item, as a new row would be scored.
        migrate.apply_migrations(db)
        rows = db.query_rows(
            "SELECT v, v >= i.threshold FROM items i, range(0, 7) t(v)"
            " WHERE i.code = 'SAF1' ORDER BY v"
        )
        assert rows == [(0, False)] + [(v, True) for v in range(1, 7)]
    finally:
        db.close()


def test_after_opening_the_new_check_in_is_current_and_old_answers_stay(
    release_one: Path,
) -> None:
    db = open_practice(release_one)
    try:
        versions = db.query_rows(
            "SELECT version, origin, is_current,"
            " (SELECT count(*) FROM responses r WHERE r.instrument_id = s.id)"
            " FROM instruments s WHERE code = 'checkin' ORDER BY version"
        )
        assert versions == [("1.0", "legacy", False, 3), ("2.0", "builtin", True, 0)]
        assert lookup.get(db, "checkin").version == "2.0"
        legacy_id = db.query_value("SELECT id FROM instruments WHERE version = '1.0'")
        assert lookup.version_id(db, "checkin") != legacy_id
        assert (
            db.query_value("SELECT count(*) FROM scales WHERE instrument_id = ?", [legacy_id]) == 3
        )

        # The release-1 disclosure raises the safety flag, with release 1's wording of it.
        (answer,) = flags.safety_answers(db, PRACTICE, 1).to_dict("records")
        assert (answer["partner"], answer["item"], answer["answer"]) == ("B", "SAF2", "Disagree")
        raised = flags.couple_flags(db, PRACTICE, as_of=AS_OF, couple_ids=[1])
        assert raised["kind"].iloc[0] == "safety"
        assert "“Disagree”" in raised["reason"].iloc[0]

        # New check-ins go under 2.0; change runs across both versions of the instrument.
        factories.checkin(db, 1, "A", dt.datetime(2026, 2, 23, 19), 6)
        new_version = db.query_value("SELECT instrument_id FROM responses WHERE id = 4")
        assert new_version == lookup.version_id(db, "checkin")
        rows = change.partner_change(db, PRACTICE, [1])
        (a_global,) = rows[(rows.partner == "A") & (rows.scale_code == "global")].to_dict("records")
        first = (2 + 1 + (6 - 5)) / 3
        assert (a_global["n_scores"], a_global["latest"]) == (3, 6.0)
        assert a_global["baseline"] == pytest.approx(first)
    finally:
        db.close()


# --- 004: a safety screen left unanswered --------------------------------------------------------


@pytest.mark.parametrize("at_version", [2, 3])
def test_an_older_database_upgrades_through_004_and_flags_its_blank_screens(
    db_path: Path, instruments_dir: Path, monkeypatch: pytest.MonkeyPatch, at_version: int
) -> None:
    shipped = migrate.available()
    older = [m for m in shipped if m.version <= at_version]
    monkeypatch.setattr(migrate, "available", lambda: older)
    # Before 008 the audit trail had no hash chain: write it as the release of the time did.
    restore_audit = before_008(monkeypatch)
    db = factories.database(db_path)
    try:
        migrate.apply_migrations(db)
        sync_instruments(db, instruments_dir)
        therapist = add_therapist(db, "Before 004")
        cid = factories.couple(db, therapist, "U-1", start_date=dt.date(2026, 2, 1))
        factories.checkin(db, cid, "A", dt.datetime(2026, 2, 23, 19), 4)
        factories.checkin(db, cid, "B", dt.datetime(2026, 2, 23, 20), 4, skip=("SAF2",))
        # Before 004 the blank answer was stored as unknown, yet nothing showed it.
        assert flags.couple_flags(db, PRACTICE, as_of=AS_OF, couple_ids=[cid]).empty

        monkeypatch.setattr(migrate, "available", lambda: shipped)
        restore_audit()
        assert migrate.apply_migrations(db) == [v for v in VERSIONS if v > at_version]
        # 008 sealed the entries written before it into the chain.
        assert audit.verify(db).intact and audit.verify(db).entries >= 2
        raised = flags.couple_flags(db, PRACTICE, as_of=AS_OF, couple_ids=[cid])
        assert raised[["kind", "severity", "rank", "reason"]].values.tolist() == [
            [
                "safety_unanswered",
                "high",
                2,
                "Partner B left 1 of the 4 safety questions unanswered on 23 Feb 2026.",
            ]
        ]
        assert flags.safety_unanswered(db, PRACTICE, cid)["items"].map(list).tolist() == [["SAF2"]]
        record_assessment(db, PRACTICE, cid, note="Asked.", assessed_on=AS_OF, today=AS_OF)
        assert flags.couple_flags(db, PRACTICE, as_of=AS_OF, couple_ids=[cid]).empty
        assert migrate.apply_migrations(db) == []
    finally:
        db.close()


# --- instrument files in the practice's folder ---------------------------------------------------


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_folder_file_is_synced_and_an_invalid_one_ignored(
    db_path: Path, instruments_dir: Path
) -> None:
    template = catalog.template_text()
    _write(instruments_dir, "mine.toml", template)
    broken = template.replace('code = "my_scale"', 'code = "broken_scale"').replace(
        'direction = "higher_better"', 'direction = "upwards"'
    )
    _write(instruments_dir, "broken.toml", broken)
    db = open_practice(db_path, instruments_folder=instruments_dir)
    try:
        current = db.query_rows(
            "SELECT code, version, origin, file_name FROM instruments WHERE is_current"
            " ORDER BY code"
        )
        assert ("my_scale", "1.0", "folder", "mine.toml") in current
        assert [c for c, *_ in current] == ["checkin", "csi16", "csi4", "my_scale"]
        assert lookup.get(db, "my_scale").scale("closeness").items == ("CLO1", "CLO2", "CLO3")
        assert db.query_value("SELECT count(*) FROM instruments WHERE code = 'broken_scale'") == 0
    finally:
        db.close()


def test_a_changed_file_under_a_version_with_responses_is_refused(
    db_path: Path, instruments_dir: Path
) -> None:
    template = catalog.template_text()
    path = _write(instruments_dir, "mine.toml", template)
    db = open_practice(db_path, instruments_folder=instruments_dir)
    try:
        # Without responses a version may still be corrected in place.
        _write(instruments_dir, "mine.toml", template.replace("Closeness", "Feeling close"))
        assert sync_instruments(db, instruments_dir).refused == {}
        assert lookup.get(db, "my_scale").scale("closeness").label == "Feeling close"

        actor = add_therapist(db, "Dr Example")
        couple = factories.couple(db, actor, "C-1")
        factories.answers(
            db,
            couple,
            "A",
            dt.datetime(2026, 1, 12, 19),
            {"CLO1": 4, "CLO2": 2, "CLO3": 4, "SAFE1": 0},
            instrument="my_scale",
        )
        stored = db.query_rows(
            "SELECT id, checksum, definition FROM instruments WHERE code = 'my_scale'"
        )

        _write(instruments_dir, "mine.toml", template.replace("Closeness", "Nearness"))
        files = catalog.load_all(instruments_dir)
        (reason,) = refusals(db, files).values()
        assert reason.startswith("mine.toml: version 1.0 of my_scale already has 1 response")
        assert "give the file a new version" in reason
        outcome = sync_instruments(db, instruments_dir)
        assert outcome.refused == {"mine.toml": reason}
        # The stored definition stays in force, unchanged.
        assert (
            db.query_rows(
                "SELECT id, checksum, definition FROM instruments WHERE code = 'my_scale'"
            )
            == stored
        )
        assert lookup.get(db, "my_scale").scale("closeness").label == "Feeling close"
    finally:
        db.close()

    # A new version is taken; the old one stays for its response.
    path.write_text(
        template.replace("Closeness", "Nearness").replace('version = "1.0"', 'version = "1.1"'),
        encoding="utf-8",
    )
    db = open_practice(db_path, instruments_folder=instruments_dir)
    try:
        versions = db.query_rows(
            "SELECT version, is_current, (SELECT count(*) FROM responses r"
            " WHERE r.instrument_id = s.id) FROM instruments s WHERE code = 'my_scale'"
            " ORDER BY version"
        )
        assert versions == [("1.0", False, 1), ("1.1", True, 0)]
        assert lookup.get(db, "my_scale").scale("closeness").label == "Nearness"
        assert refusals(db, catalog.load_all(instruments_dir)) == {}
    finally:
        db.close()


def test_an_invalid_file_keeps_the_version_it_had(db_path: Path, instruments_dir: Path) -> None:
    template = catalog.template_text()
    path = _write(instruments_dir, "mine.toml", template)
    open_practice(db_path, instruments_folder=instruments_dir).close()
    path.write_text(template.replace('method = "mean"', 'method = "avg"'), encoding="utf-8")
    db = open_practice(db_path, instruments_folder=instruments_dir)
    try:
        assert lookup.get(db, "my_scale").version == "1.0"
    finally:
        db.close()
    path.unlink()  # a file taken away: its code stops being current, its version stays
    db = open_practice(db_path, instruments_folder=instruments_dir)
    try:
        assert db.query_rows(
            "SELECT version, is_current FROM instruments WHERE code = 'my_scale'"
        ) == [("1.0", False)]
    finally:
        db.close()
