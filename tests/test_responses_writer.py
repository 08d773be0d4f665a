"""The one writer of responses: natural keys make writing idempotent; answers, free text and the
derived per-response facts (scale scores, safety answers) land with the response."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analytics.instruments import lookup
from analytics.practice.access import Actor
from analytics.practice.responses import write
from analytics.store.db import Database
from tests import factories

pytestmark = pytest.mark.both_backends

WHEN = dt.datetime(2026, 3, 2, 19, 0, 5)


def _write(
    db: Database, sheets: pd.DataFrame, answers: pd.DataFrame, texts: pd.DataFrame
) -> pd.DataFrame:
    with db.transaction() as cur:
        return write(
            cur,
            instrument_id=lookup.version_id(db, "checkin"),
            instrument_code="checkin",
            sheets=sheets,
            answers=answers,
            texts=texts,
        )


def test_writes_everything_once_and_skips_what_is_stored(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    a, b = factories.partner_id(db, cid, "A"), factories.partner_id(db, cid, "B")
    sheets = pd.DataFrame(
        {
            "partner_id": [a, b, a],
            "completed_at": [WHEN, WHEN, WHEN + dt.timedelta(milliseconds=300)],
        }
    )
    answers = pd.DataFrame(
        {"SAT1": [4.0, 5.0, 1.0], "SAT2": [4.0, None, 1.0], "SAF1": [0.0, 1.0, 0.0]}
    )
    texts = pd.DataFrame({"TXT1": ["Our weekends.", "  ", None]}, dtype="string")
    stored = _write(db, sheets, answers, texts)
    # The third sheet is the first one again (same partner, same second): stored once.
    assert len(stored) == 2 and stored.index.tolist() == [0, 1]
    assert stored["natural_key"].tolist() == [
        f"{a}:checkin:2026-03-02T19:00:05",
        f"{b}:checkin:2026-03-02T19:00:05",
    ]
    assert db.query_value("SELECT count(*) FROM answers") == 5  # the blank SAT2 is not stored
    assert db.query_rows("SELECT text FROM text_answers") == [("Our weekends.",)]  # blank skipped
    assert db.query_value("SELECT count(*) FROM response_safety") == 8  # 4 items x 2, asked or not
    assert db.query_value("SELECT count(*) FROM response_safety WHERE positive") == 1
    again = _write(db, sheets, answers, texts)
    assert again.empty and db.query_value("SELECT count(*) FROM responses") == 2


def test_stored_facts_equal_their_sql_definition(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    for week in range(3):
        factories.checkin(
            db, cid, "A", WHEN + dt.timedelta(weeks=week), 2 + week, skip=("SAT1",), safety=week % 2
        )
    stored = db.query_df("SELECT * FROM response_scores ORDER BY response_id, scale_code")
    defined = db.query_df(
        "SELECT * FROM scale_scores_from_answers ORDER BY response_id, scale_code"
    )
    pd.testing.assert_frame_equal(stored, defined)
    stored = db.query_df("SELECT * FROM response_safety ORDER BY response_id, item_id")
    defined = db.query_df("SELECT * FROM safety_items_from_answers ORDER BY response_id, item_id")
    pd.testing.assert_frame_equal(stored, defined)


def test_every_response_records_the_version_it_answered(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    factories.checkin(db, cid, "A", WHEN, 3)
    version = db.query_value(
        "SELECT s.version FROM responses r JOIN instruments s ON s.id = r.instrument_id"
    )
    assert version == "2.0"


def test_the_survey_tools_id_is_part_of_the_key(db: Database, therapist: Actor) -> None:
    cid = factories.couple(db, therapist, "C-1")
    a = factories.partner_id(db, cid, "A")
    soon = WHEN + dt.timedelta(milliseconds=300)
    sheets = pd.DataFrame(
        {
            "partner_id": [a, a, a, a],
            "completed_at": [WHEN, soon, soon, WHEN + dt.timedelta(hours=1)],
            "source_response_id": ["R_1", " R_2 ", "R_2", "  "],
        }
    )
    answers = pd.DataFrame({"SAT1": [4.0, 5.0, 5.0, 1.0]})
    with db.transaction() as cur:
        stored = write(
            cur,
            instrument_id=lookup.version_id(db, "checkin"),
            instrument_code="checkin",
            sheets=sheets,
            answers=answers,
            source="qualtrics",
        )
    # Two sheets in one second, told apart by their ids; a blank id is no id.
    assert stored["natural_key"].tolist() == [
        f"{a}:checkin:2026-03-02T19:00:05#qualtrics:R_1",
        f"{a}:checkin:2026-03-02T19:00:05#qualtrics:R_2",
        f"{a}:checkin:2026-03-02T20:00:05",
    ]
    assert db.query_rows("SELECT source_response_id FROM responses ORDER BY id") == [
        ("R_1",),
        ("R_2",),
        (None,),
    ]
