"""The import pipeline after the readers: mapping, validation, commit, profiles, unmatched queue.

Files are built as `ParsedFile` objects here, so these tests do not depend on the readers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pytest

from analytics.clinical.scores import scale_scores
from analytics.errors import CaseloadError
from analytics.importing import commit as commit_module
from analytics.importing import readers, service, unmatched
from analytics.importing.context import ReadContext
from analytics.importing.mapping import Mapping, auto_map, convert_answers, normalise_text
from analytics.importing.parsed import (
    CLIENT_CODE,
    COMPLETED,
    COMPLETED_PROBLEM,
    COMPLETED_RAW,
    EMAIL,
    RESERVED,
    RESPONSE_ID,
    ROW,
    ParsedFile,
    RowIssue,
)
from analytics.instruments import catalog, lookup
from analytics.practice import audit, responses, settings
from analytics.practice.access import Actor
from analytics.practice.couples import PartnerInput, add_couple
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database

pytestmark = pytest.mark.both_backends

INS = catalog.builtin("checkin")
CODES = [item.code for item in INS.answer_items]  # 30 scored + 4 safety, answered with numbers
TEXT_CODES = [item.code for item in INS.text_items]  # TXT1, TXT2
START = dt.date(2026, 1, 5)  # when the test couples start therapy
WHEN = dt.datetime(2026, 1, 5, 18, 30)
NOW = dt.datetime(2026, 11, 20, 12, 0)  # the clock, naive UTC
TABLES = (
    "import_batches",
    "import_profiles",
    "responses",
    "answers",
    "text_answers",
    "unmatched_responses",
    "audit_log",
)
# Stands for a client's confidential free text: it must reach text_answers and nothing else.
SECRET = "Zebra-Quartz confidential 4471"


def answers(level: str = "3", /, **overrides: str | None) -> dict[str, str | None]:
    """Answers for every numeric item: `level` for scored items, "0" for safety, with
    overrides (free-text items only when given as overrides)."""
    base: dict[str, str | None] = {
        item.code: ("0" if item.kind == "safety" else level) for item in INS.answer_items
    }
    base.update(overrides)
    return base


def parsed_file(
    rows: Sequence[dict[str, Any]],
    *,
    columns: Sequence[str] = CODES,
    skipped: Sequence[RowIssue] = (),
    file_name: str = "export.csv",
) -> ParsedFile:
    """A ParsedFile as a reader would return it. Each row: email, code, when (datetime or None),
    raw (completed text), id, and answers keyed by item code (renamed to `columns`)."""
    rename = dict(zip(CODES, columns, strict=False))
    records = []
    for number, row in enumerate(rows, start=2):
        when = row.get("when", WHEN)
        record: dict[str, Any] = {
            ROW: row.get("row", number),
            EMAIL: row.get("email"),
            CLIENT_CODE: row.get("code"),
            COMPLETED: pd.NaT if when is None else pd.Timestamp(when),
            COMPLETED_RAW: row.get("raw", None if when is None else str(when)),
            RESPONSE_ID: row.get("id"),
        }
        for code, value in row.get("answers", answers()).items():
            record[rename.get(code, code)] = value
        records.append(record)
    frame = pd.DataFrame(records, columns=[*RESERVED, *columns])
    frame[COMPLETED] = pd.to_datetime(frame[COMPLETED])
    for column in (EMAIL, CLIENT_CODE, COMPLETED_RAW, RESPONSE_ID, *columns):
        frame[column] = frame[column].astype("str")
    signature = hashlib.sha256("\x1f".join(columns).encode()).hexdigest()
    data = frame.to_csv().encode()
    return ParsedFile(
        "generic_wide",
        frame,
        list(columns),
        signature,
        file_name,
        hashlib.sha256(data).hexdigest(),
        list(skipped),
    )


def counts(db: Database) -> dict[str, int]:
    return {t: int(db.query_value(f"SELECT count(*) FROM {t}")) for t in TABLES}


def review(db: Database, actor: Actor, parsed: ParsedFile, **kwargs: Any) -> service.ImportPreview:
    """Map and check a file against the fixed clock NOW."""
    return service.review(db, actor, parsed, now=NOW, **kwargs)


def run(db: Database, actor: Actor, parsed: ParsedFile, **kwargs: Any) -> service.ImportResult:
    preview = review(db, actor, parsed)
    assert not preview.problems
    return service.commit_import(db, actor, preview, **kwargs)


# --- mapping ---------------------------------------------------------------------------------


def test_columns_map_by_item_code_in_any_spelling() -> None:
    headers = [
        "SAT1",
        "sat2",
        "Q_SAT3",
        "checkin_con1",
        "CON2 - steady",
        "saf4",
        "checkin_txt2",
        "Comments",
    ]
    parsed = parsed_file([{"answers": {}}], columns=headers)
    mapping = auto_map(parsed, [INS])
    assert mapping.instrument_code == "checkin"
    assert mapping.columns == {
        "SAT1": "SAT1",
        "sat2": "SAT2",
        "Q_SAT3": "SAT3",
        "checkin_con1": "CON1",
        "CON2 - steady": "CON2",
        "saf4": "SAF4",
        "checkin_txt2": "TXT2",
    }
    assert mapping.ignored == ("Comments",)


def test_licensed_item_codes_map_by_code_token(db: Database) -> None:
    """CSI-4 has codes only (no wording): its columns are found by the code token, "_" and all,
    among every current instrument."""
    headers = ["CSI4_1", "csi4_2", "Q_CSI4_3", "CSI4_4 (0-5)", "SAT1"]
    mapping = auto_map(parsed_file([{"answers": {}}], columns=headers), lookup.current(db))
    assert mapping.instrument_code == "csi4"
    assert mapping.columns == {
        "CSI4_1": "CSI4_1",
        "csi4_2": "CSI4_2",
        "Q_CSI4_3": "CSI4_3",
        "CSI4_4 (0-5)": "CSI4_4",
    }
    assert mapping.ignored == ("SAT1",)


def test_columns_map_by_normalised_question_text() -> None:
    texts = {item.code: item.text or "" for item in INS.items}
    headers = [
        "1. " + texts["CON1"],
        "Q3 - " + texts["CON2"].upper(),
        "3) " + texts["CON3"].replace(",", "").replace(".", ""),
        "  " + texts["TRA1"].replace(" ", "   ") + "  ",
        "Question 12: " + texts["SAT1"].replace(",", " ,"),
        "How much do you agree? [" + texts["SAT2"] + "]",
        "I had \u201cthoughts\u201d of harming myself",
        "35. " + texts["TXT1"],
        texts["TXT2"].lower().rstrip("?"),
    ]
    mapping = auto_map(parsed_file([{"answers": {}}], columns=headers), [INS])
    assert list(mapping.columns.values()) == [
        "CON1",
        "CON2",
        "CON3",
        "TRA1",
        "SAT1",
        "SAT2",
        "SAF4",
        "TXT1",
        "TXT2",
    ]
    assert normalise_text("Q3 \u2013 It\u2019s fine!") == "it s fine"


def test_second_column_for_the_same_item_is_ignored_with_a_note() -> None:
    mapping = auto_map(parsed_file([{"answers": {}}], columns=["SAT1", "sat1 (again)"]), [INS])
    assert mapping.columns == {"SAT1": "SAT1"}
    assert mapping.ignored == ("sat1 (again)",)
    assert mapping.notes


def test_labels_and_numbers_become_scale_values() -> None:
    raw = [
        "Strongly agree",
        "  strongly   AGREE ",
        "5",
        "5.0",
        "5,0",
        "0",
        None,
        "",
        "Neither agree nor disagree",
        "maybe",
        "7",
        "-1",
    ]
    frame = pd.DataFrame({"SAT1": pd.Series(raw, dtype="str")})
    got = convert_answers(frame, Mapping("checkin", {"SAT1": "SAT1"}), INS)
    values = got.values["SAT1"].tolist()
    assert values[:6] == [6.0, 6.0, 5.0, 5.0, 5.0, 0.0]
    assert pd.isna(values[6]) and pd.isna(values[7])
    assert values[8] == 3.0
    assert got.invalid["SAT1"].tolist() == [False] * 9 + [True, False, False]
    assert got.out_of_range["SAT1"].tolist() == [False] * 10 + [True, True]


def test_a_tiny_fraction_is_not_rounded_to_a_safety_answer_of_never() -> None:
    """ "0.000…01" became 0.0 in floating point and passed as the whole answer 0 ("Never")."""
    raw = ["0." + "0" * 400 + "1", "1" + "0" * 400, "1.000", "-0", "0.5"]
    frame = pd.DataFrame({"SAF4": pd.Series(raw, dtype="str")})
    got = convert_answers(frame, Mapping("checkin", {"SAF4": "SAF4"}), INS)
    assert got.invalid["SAF4"].tolist() == [True, True, False, False, True]
    assert got.values["SAF4"].tolist()[2:4] == [1.0, 0.0]


def test_each_item_decodes_through_its_own_format() -> None:
    """Safety items answer "Never" / "Once" / "More than once" (0-2), scored items agree (0-6):
    a label or number of the other format is refused, never silently taken."""
    frame = pd.DataFrame(
        {
            "SAF2": pd.Series(
                ["Once", " never ", "MORE THAN ONCE", "2", "3", "Agree", "0.5", None], dtype="str"
            ),
            "SAT1": pd.Series(
                ["Strongly agree", "Disagree", "6", "0", "7", "Once", "4,5", None], dtype="str"
            ),
        }
    )
    mapping = Mapping("checkin", {"SAF2": "SAF2", "SAT1": "SAT1"})
    got = convert_answers(frame, mapping, INS)
    assert got.values["SAF2"].fillna(-1).tolist() == [1.0, 0.0, 2.0, 2.0, -1, -1, -1, -1]
    assert got.values["SAT1"].fillna(-1).tolist() == [6.0, 1.0, 6.0, 0.0, -1, -1, -1, -1]
    # A label of the other format, or a number between two steps, is not an answer.
    assert got.invalid["SAF2"].tolist() == [False] * 5 + [True, True, False]
    assert got.invalid["SAT1"].tolist() == [False] * 5 + [True, True, False]
    assert got.out_of_range["SAF2"].tolist() == [False] * 4 + [True, False, False, False]
    assert got.out_of_range["SAT1"].tolist() == [False] * 4 + [True, False, False, False]
    assert list(got.texts.columns) == []


def test_free_text_is_kept_as_written_never_decoded() -> None:
    frame = pd.DataFrame(
        {
            "Topics": pd.Series(
                ["  Money;Family time ", "", "   ", None, "5", "Once"], dtype="str"
            ),
        }
    )
    got = convert_answers(frame, Mapping("checkin", {"Topics": "TXT1"}), INS)
    assert got.texts["TXT1"].fillna("<blank>").tolist() == [
        "Money;Family time",
        "<blank>",
        "<blank>",
        "<blank>",
        "5",
        "Once",
    ]
    assert list(got.values.columns) == [] and list(got.invalid.columns) == []


def test_missing_required_items_block_the_file(db: Database, therapist: Actor) -> None:
    """Every safety question and enough of the headline scale (global satisfaction: 2 of 3)
    must be in the file; the other scales are scored where a row answers enough of them."""

    def problems(columns: list[str]) -> list[str]:
        return review(db, therapist, parsed_file([{}], columns=columns)).problems

    no_safety = [c for c in CODES if not c.startswith("SAF")]
    preview = review(db, therapist, parsed_file([{}], columns=no_safety))
    assert not preview.importable and preview.validation is None
    assert preview.problems == ["The safety questions SAF1, SAF2, SAF3, SAF4 are not in the file."]
    assert problems([c for c in CODES if c != "SAF3"]) == [
        "The safety questions SAF3 are not in the file."
    ]
    assert problems(["SAT1", *CODES[-4:]]) == [
        "The Global satisfaction questions SAT2, SAT3 are not in the file."
    ]
    no_global = [c for c in CODES if c not in ("SAT1", "SAT2")]
    assert problems(no_global) == [
        "The Global satisfaction questions SAT1, SAT2 are not in the file."
    ]
    assert problems([c for c in no_global if c != "SAF1"]) == [
        "The safety questions SAF1 are not in the file.",
        "The Global satisfaction questions SAT1, SAT2 are not in the file.",
    ]
    # Two of three headline items are enough; so are the safety items and nothing else scored.
    assert problems([c for c in CODES if c != "SAT3"]) == []
    assert problems(["SAT1", "SAT2", *CODES[-4:]]) == []
    # A mapping chosen by hand (or a saved profile) is held to the same rule.
    everything = parsed_file([{}])
    by_hand = Mapping("checkin", {c: c for c in CODES if c not in ("SAF2", "SAT2", "SAT3")})
    assert review(db, therapist, everything, mapping=by_hand).problems == [
        "The safety questions SAF2 are not in the file.",
        "The Global satisfaction questions SAT2, SAT3 are not in the file.",
    ]
    with pytest.raises(CaseloadError):
        service.commit_import(db, therapist, preview)


def test_profile_is_saved_and_reused_by_header_signature(
    db: Database, therapist: Actor, couple: int
) -> None:
    opaque = [f"Column {i}" for i in range(1, len(CODES) + 1)]
    first = parsed_file([{"email": "d001.a@example.org"}], columns=opaque)
    assert review(db, therapist, first).problems  # nothing matches automatically
    mapping = Mapping("checkin", dict(zip(opaque, CODES, strict=True)))
    preview = review(db, therapist, first, mapping=mapping)
    result = service.commit_import(db, therapist, preview, save_profile_as="Weekly form")
    assert result.accepted == 1 and result.profile_id is not None
    batch_profile = db.query_value("SELECT profile_id FROM import_batches")
    assert batch_profile == result.profile_id

    next_week = parsed_file(
        [{"email": "d001.a@example.org", "when": WHEN + dt.timedelta(7)}], columns=opaque
    )
    again = review(db, therapist, next_week)
    assert again.profile_id == result.profile_id and again.profile_name == "Weekly form"
    assert again.mapping.columns == mapping.columns and again.accepted == 1
    by_name = review(db, therapist, next_week, profile="weekly FORM")
    assert by_name.profile_id == result.profile_id
    with pytest.raises(CaseloadError, match="no import profile"):
        review(db, therapist, next_week, profile="Nope")


# --- validation ------------------------------------------------------------------------------


def test_every_rejection_reason_is_in_plain_words(
    db: Database, therapist: Actor, couple: int
) -> None:
    add_couple(
        db,
        therapist,
        "D-002",
        PartnerInput("Cy", "d002.a@example.org"),
        PartnerInput("Di", "d002.b@example.org"),
        start_date=START,
    )
    a = "d001.a@example.org"
    blank_scored: dict[str, str | None] = {c: None for c in CODES[:8]}  # CON1 .. BND2
    rows: list[dict[str, Any]] = [
        {"email": a},  # 2 accepted
        {"email": a, "code": "D-002B", "when": WHEN + dt.timedelta(1)},  # 3 two partners
        {"email": a, "when": None, "raw": None},  # 4 no date
        {"email": a, "when": None, "raw": "31/02/2026"},  # 5 unreadable date
        {"email": a, "when": dt.datetime(2099, 1, 1)},  # 6 future
        {"email": a, "when": WHEN + dt.timedelta(2), "answers": answers(SAT1="banana")},  # 7
        {"email": a, "when": WHEN + dt.timedelta(3), "answers": answers(SAT2="9")},  # 8
        {"email": a, "when": WHEN + dt.timedelta(4), "answers": answers(**blank_scored)},  # 9
        {
            "email": a,
            "when": WHEN + dt.timedelta(5),
            "answers": answers(SAT1=None, SAT2=None),
        },  # 10 headline scale unscorable
        {
            "email": a,
            "when": WHEN + dt.timedelta(6),
            "answers": answers(SAT1=None, SAT2=None, SAT3=None),
        },  # 11
        {"email": a, "when": WHEN + dt.timedelta(7), "answers": answers(SAF3="3")},  # 12
        {"email": a, "when": WHEN + dt.timedelta(8), "answers": answers(SAF1="Agree")},  # 13
        {"email": a, "when": WHEN + dt.timedelta(9), "answers": answers(SAT2="Once")},  # 14
    ]
    preview = review(
        db,
        therapist,
        parsed_file(rows, skipped=[RowIssue(15, "A test response from the survey tool.")]),
    )
    reasons = {issue.row: issue.reason for issue in preview.rejected}
    assert reasons == {
        3: "The email address and client code on this row do not identify one and the same client.",
        4: "The completion date is missing.",
        5: "The completion date is not a date that can be read.",
        6: "The completion date is in the future.",
        7: "Answers that are not on the scale (SAT1).",
        8: "Answers outside the scale (SAT2).",
        10: "Too few Global satisfaction questions answered (1 of 3; at least 2 are needed).",
        11: "Too few Global satisfaction questions answered (0 of 3; at least 2 are needed).",
        12: "Answers outside the scale (SAF3).",
        13: "Answers that are not on the scale (SAF1).",
        14: "Answers that are not on the scale (SAT2).",
        15: "A test response from the survey tool.",
    }
    # Blank answers outside the headline scale do not reject a row (row 9): the scales they
    # belong to are simply not scored for that response.
    assert preview.accepted == 2
    assert preview.accepted_table()[["row", "answered"]].to_dict("records") == [
        {"row": 2, "answered": len(CODES)},
        {"row": 9, "answered": len(CODES) - 8},
    ]
    assert "banana" not in json.dumps(reasons) and "31/02" not in json.dumps(reasons)
    table = preview.rejected_table()
    assert list(table.columns) == ["row", "reason"] and len(table) == 12


def test_row_with_several_problems_lists_each(db: Database, therapist: Actor, couple: int) -> None:
    row = {
        "email": "d001.a@example.org",
        "when": dt.datetime(2099, 1, 1),
        "answers": answers(SAT1="x", CON3="y", SAF1="8"),
    }
    [issue] = review(db, therapist, parsed_file([row])).rejected
    assert issue.reason == (
        "The completion date is in the future. Answers that are not on the "
        "scale (CON3, SAT1). Answers outside the scale (SAF1)."
    )


def test_client_code_alone_identifies_the_partner(
    db: Database, therapist: Actor, couple: int
) -> None:
    result = run(db, therapist, parsed_file([{"code": "d-001b"}]))
    assert result.accepted == 1 and result.couples == [(couple, "D-001")]
    label = db.query_value("SELECT p.label FROM responses r JOIN partners p ON p.id = r.partner_id")
    assert label == "B"


def test_a_known_and_an_unknown_identifier_reject_the_row(
    db: Database, therapist: Actor, couple: int
) -> None:
    """One known identifier and one unknown: neither the partner nor the queue gets the row."""
    rows = [
        {"email": "d001.a@example.org", "code": "ZZ-9"},
        {"email": "nobody@example.org", "code": "D-001A", "when": WHEN + dt.timedelta(1)},
    ]
    preview = review(db, therapist, parsed_file(rows))
    assert (preview.accepted, preview.unmatched) == (0, 0)
    assert [issue.row for issue in preview.rejected] == [2, 3]
    assert {issue.reason for issue in preview.rejected} == {
        "The email address and client code on this row do not identify one and the same client."
    }


def test_answers_long_before_the_couples_start_are_rejected(
    db: Database, therapist: Actor, supervisor: Actor, couple: int
) -> None:
    """The couple starts on 5 Jan 2026; the default grace is 30 days (from 6 Dec 2025)."""
    other = add_therapist(db, "Other Therapist")
    add_couple(
        db,
        other,
        "D-777",
        PartnerInput("Ed", "d777.a@example.org"),
        PartnerInput("Flo", "d777.b@example.org"),
        start_date=dt.date(2026, 6, 1),
    )
    a = "d001.a@example.org"
    rows: list[dict[str, Any]] = [
        {"email": a, "when": dt.datetime(2025, 12, 6, 0, 0)},  # 2 the first day of grace
        {"email": a, "when": dt.datetime(2025, 12, 5, 23, 59)},  # 3 a minute too early
        {"email": a, "when": dt.datetime(1996, 1, 5, 18, 0)},  # 4 decades before
        {"email": "d777.b@example.org", "when": WHEN},  # 5 another caseload's couple
        {"email": "nobody@example.org", "when": dt.datetime(1996, 1, 5)},  # 6 no couple: queued
    ]
    early = "The completion date is before this couple started therapy (more than 30 days before)."
    preview = review(db, therapist, parsed_file(rows))
    assert [(r.row, r.reason) for r in preview.rejected] == [(3, early), (4, early), (5, early)]
    assert (preview.accepted, preview.unmatched) == (1, 1)
    assert "D-777" not in early and "2026" not in early

    settings.update(db, supervisor, "start_grace_days", 0)
    preview = review(db, therapist, parsed_file(rows))
    assert preview.rejected[0] == RowIssue(
        2, "The completion date is before this couple started therapy."
    )
    settings.update(db, supervisor, "start_grace_days", 365)
    assert [r.row for r in review(db, therapist, parsed_file(rows)).rejected] == [4]


def test_a_date_the_reader_refused_keeps_the_readers_reason(
    db: Database, therapist: Actor, couple: int
) -> None:
    rows: list[dict[str, Any]] = [
        {"email": "d001.a@example.org", "when": None, "raw": "5/1/26 18:00"},
        {"email": "d001.a@example.org", "when": None, "raw": "31/02/2026"},
    ]
    parsed = parsed_file(rows)
    why = "The year 26 is written with two digits; it is not guessed."
    parsed.frame[COMPLETED_PROBLEM] = pd.Series([why, None], dtype="str")
    reasons = [(r.row, r.reason) for r in review(db, therapist, parsed).rejected]
    assert reasons == [(2, why), (3, "The completion date is not a date that can be read.")]


def test_the_practice_zone_and_known_codes_reach_the_reader(
    db: Database, supervisor: Actor, couple: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.update_time_zone(db, supervisor, "America/New_York")
    seen: list[ReadContext] = []
    real = readers.read_export

    def spy(file_name: str, data: bytes, *, context: ReadContext | None = None) -> ParsedFile:
        assert context is not None
        seen.append(context)
        return real(file_name, data, context=context)

    monkeypatch.setattr(readers, "read_export", spy)
    data = ",".join(["Email", "Completed", *CODES]) + "\n"
    data += ",".join(["d001.a@example.org", "2026-01-05 18:00", *("0" for _ in CODES)]) + "\n"
    preview = service.prepare(db, supervisor, "weekly.csv", data.encode(), now=NOW, max_bytes=999)
    [context] = seen
    assert context.time_zone == "America/New_York"
    assert context.known_codes == frozenset({"D-001A", "D-001B"})
    assert context.limits.max_bytes == 999
    assert any("America/New_York" in note for note in preview.parsed.notes)


# --- commit, duplicates, atomicity -----------------------------------------------------------


def test_commit_stores_everything_and_reimport_adds_nothing(
    db: Database, therapist: Actor, couple: int
) -> None:
    rows: list[dict[str, Any]] = [
        {"email": "d001.a@example.org", "id": "R1", "answers": answers("Agree")},
        {"email": "d001.b@example.org", "id": "R2"},
        {"email": "d001.b@example.org", "id": "R2"},  # repeated within the file
        {"email": "stranger@example.org"},
    ]
    parsed = parsed_file(rows)
    steps: list[float] = []
    result = run(db, therapist, parsed, progress=steps.append)
    assert (result.accepted, result.duplicates, result.unmatched, result.rejected) == (2, 1, 1, 0)
    assert steps[-1] == 1.0 and steps == sorted(steps)
    assert counts(db)["answers"] == 2 * len(CODES)
    assert (
        db.query_value(
            "SELECT value FROM answers a JOIN items i ON i.id = a.item_id"
            " WHERE i.code = 'SAT1' ORDER BY response_id LIMIT 1"
        )
        == 5.0
    )
    assert db.query_rows("SELECT source_response_id FROM responses ORDER BY id") == [
        ("R1",),
        ("R2",),
    ]
    batch = db.query_rows(
        "SELECT rows_total, accepted, rejected, duplicates, unmatched,"
        " imported_by FROM import_batches"
    )
    assert batch == [(4, 2, 0, 1, 1, therapist.id)]
    entry = audit.entries(db).iloc[0]
    assert entry["action"] == "import"
    assert json.loads(entry["detail"]) == {
        "accepted": 2,
        "duplicates": 1,
        "rejected": 0,
        "rows": 4,
        "source": "generic_wide",
        "unmatched": 1,
        "outside_caseload": 0,
    }

    before = counts(db)
    again = run(db, therapist, parsed)
    assert (again.accepted, again.duplicates, again.unmatched) == (0, 4, 0)
    after = counts(db)
    for table in ("responses", "answers", "unmatched_responses"):
        assert after[table] == before[table]


def test_overlapping_export_adds_only_new_responses(
    db: Database, therapist: Actor, couple: int
) -> None:
    a = "d001.a@example.org"
    week = [{"email": a, "when": WHEN + dt.timedelta(days=d)} for d in range(3)]
    run(db, therapist, parsed_file(week))
    later = [{"email": a, "when": WHEN + dt.timedelta(days=d)} for d in range(1, 5)]
    preview = review(db, therapist, parsed_file(later))
    assert (preview.accepted, preview.duplicates) == (2, 2)
    assert service.commit_import(db, therapist, preview).accepted == 2
    assert counts(db)["responses"] == 5


def test_rows_stored_between_preview_and_commit_count_as_duplicates(
    db: Database, therapist: Actor, couple: int
) -> None:
    parsed = parsed_file([{"email": "d001.a@example.org"}])
    first, second = review(db, therapist, parsed), review(db, therapist, parsed)
    service.commit_import(db, therapist, first)
    late = service.commit_import(db, therapist, second)
    assert (late.accepted, late.duplicates) == (0, 1)
    assert counts(db)["responses"] == 1


@pytest.mark.parametrize("target", ["texts", "unmatched", "audit"])
def test_failure_mid_commit_stores_nothing(
    db: Database, therapist: Actor, couple: int, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    words = answers(TXT1="Planning the holidays", TXT2="Nothing else.")
    rows = [
        {"email": "d001.a@example.org", "answers": words},
        {"email": "nobody@example.org", "answers": words},
    ]
    preview = review(db, therapist, parsed_file(rows, columns=[*CODES, *TEXT_CODES]))
    before = counts(db)

    def boom(*_args: object, **_kwargs: object) -> None:
        raise CaseloadError("injected failure")

    if target == "texts":  # the writer fails on its last table, after responses and answers
        insert = responses._insert

        def fail_on_texts(cur: Any, name: str, *args: Any) -> None:
            if name == "writer_texts":
                boom()
            insert(cur, name, *args)

        monkeypatch.setattr(responses, "_insert", fail_on_texts)
    elif target == "unmatched":
        monkeypatch.setattr(commit_module, "_insert_unmatched", boom)
    else:
        monkeypatch.setattr(audit, "record", boom)
    with pytest.raises(CaseloadError, match="injected"):
        service.commit_import(db, therapist, preview, save_profile_as="Form")
    assert counts(db) == before
    monkeypatch.undo()
    result = service.commit_import(db, therapist, preview)
    assert (result.accepted, result.unmatched) == (1, 1)
    assert counts(db)["text_answers"] == 2


# --- unmatched queue -------------------------------------------------------------------------


def test_unmatched_rows_can_be_assigned_or_discarded(
    db: Database, therapist: Actor, couple: int
) -> None:
    rows = [
        {"email": "new.client@example.org", "when": WHEN},
        {
            "email": "new.client@example.org",
            "when": WHEN + dt.timedelta(days=1),
            "answers": answers("Strongly agree"),
        },
        {"code": "X-77", "when": WHEN},
        {"email": "other@example.org", "when": WHEN + dt.timedelta(days=2)},
    ]
    parsed = parsed_file(rows)
    assert run(db, therapist, parsed).unmatched == 4
    pending = unmatched.list_pending(db, therapist)
    assert list(pending["respondent"]) == [
        "new.client@example.org",
        "X-77",
        "new.client@example.org",
        "other@example.org",
    ]
    assert set(pending["answers"]) == {len(CODES)}
    assert run(db, therapist, parsed).unmatched == 0  # re-import does not queue them again
    first, third, second, fourth = (int(i) for i in pending["id"])

    partners = unmatched.assignable_partners(db, therapist)
    partner_b = int(partners.loc[partners["label"] == "B", "partner_id"].iloc[0])
    response_id = service.assign(db, therapist, second, partner_b)
    assert db.query_value(
        "SELECT count(*) FROM answers WHERE response_id = ?", [response_id]
    ) == len(CODES)
    assert (
        db.query_value(
            "SELECT value FROM answers a JOIN items i ON i.id = a.item_id"
            " WHERE response_id = ? AND i.code = 'SAT1'",
            [response_id],
        )
        == 6.0
    )
    service.assign(db, therapist, first, partner_b)
    with pytest.raises(CaseloadError, match="already has a response"):
        service.assign(db, therapist, third, partner_b)  # same partner, same time
    with pytest.raises(CaseloadError, match="not waiting"):
        service.assign(db, therapist, first, partner_b)  # already filed
    service.discard(db, therapist, third, reason="test")
    with pytest.raises(CaseloadError, match="not waiting"):
        service.discard(db, therapist, third, reason="test")
    assert list(unmatched.list_pending(db, therapist)["id"]) == [fourth]
    actions = audit.entries(db)
    assigned = actions[actions["action"] == "assign"]
    assert sorted(assigned["entity_id"]) == [first, second]
    assert set(assigned["couple_id"]) == {couple}
    assert (actions["action"] == "discard").sum() == 1
    assert db.query_rows("SELECT status, partner_id FROM unmatched_responses ORDER BY id") == [
        ("assigned", partner_b),
        ("assigned", partner_b),
        ("discarded", None),
        ("pending", None),
    ]
    assert counts(db)["responses"] == 2

    # Nothing comes back when the same file is imported again.
    again = run(db, therapist, parsed)
    assert (again.accepted, again.unmatched, again.duplicates) == (0, 0, 4)


def test_assign_is_refused_outside_the_caseload(db: Database, therapist: Actor) -> None:
    other = add_therapist(db, "Other Therapist")
    theirs = add_couple(
        db,
        other,
        "D-009",
        PartnerInput("X", "d009.a@example.org"),
        PartnerInput("Y", "d009.b@example.org"),
        start_date=START,
    )
    run(db, therapist, parsed_file([{"email": "who@example.org"}]))
    [pending_id] = unmatched.list_pending(db, therapist)["id"]
    foreign = int(db.query_value("SELECT id FROM partners WHERE couple_id = ? LIMIT 1", [theirs]))
    with pytest.raises(CaseloadError, match="not in your caseload"):
        service.assign(db, therapist, int(pending_id), foreign)
    assert unmatched.list_pending(db, other).empty  # not their import
    own = add_couple(
        db,
        therapist,
        "D-010",
        PartnerInput("P", "d010.a@example.org"),
        PartnerInput("Q", "d010.b@example.org"),
        start_date=START,
    )
    mine = int(db.query_value("SELECT id FROM partners WHERE couple_id = ? LIMIT 1", [own]))
    service.assign(db, therapist, int(pending_id), mine)
    with pytest.raises(CaseloadError, match="not waiting"):
        service.discard(db, other, int(pending_id), reason="other")


# --- caseload isolation ----------------------------------------------------------------------


def test_other_therapists_clients_go_to_their_couple_unseen(
    db: Database, therapist: Actor, supervisor: Actor, couple: int
) -> None:
    other = add_therapist(db, "Other Therapist")
    parsed = parsed_file([{"email": "d001.a@example.org"}, {"code": "D-001B"}])
    preview = review(db, other, parsed)
    assert (preview.accepted, preview.outside_caseload, preview.unmatched) == (2, 2, 0)
    assert preview.rejected == [] and preview.accepted_table().empty
    boss = review(db, supervisor, parsed)
    assert (boss.accepted, boss.outside_caseload) == (2, 0)
    assert list(boss.accepted_table()["case"]) == ["D-001", "D-001"]


def test_skipped_rows_alone_make_the_file_unimportable(db: Database, therapist: Actor) -> None:
    parsed = parsed_file([], skipped=[RowIssue(2, "A blank row.")])
    preview = review(db, therapist, parsed)
    assert not preview.importable
    assert preview.rejected == [RowIssue(2, "A blank row.")]


def test_assign_applies_the_import_rules_again(db: Database, therapist: Actor, couple: int) -> None:
    row = {"email": "late@example.org", "answers": answers(TXT2=SECRET)}
    run(db, therapist, parsed_file([row], columns=[*CODES, *TEXT_CODES]))
    [pending_id] = unmatched.list_pending(db, therapist)["id"]
    db.execute(  # a queue row whose answers no longer satisfy the rules
        "UPDATE unmatched_responses SET answers = ? WHERE id = ?",
        [json.dumps({"SAT1": 9.0, "SAT2": 3.0}), int(pending_id)],
    )
    partner = int(unmatched.assignable_partners(db, therapist)["partner_id"].iloc[0])
    with pytest.raises(CaseloadError, match="cannot be filed") as exc:
        service.assign(db, therapist, int(pending_id), partner)
    assert str(exc.value) == (
        "This response cannot be filed: Answers outside the scale (SAT1). Too few Global"
        " satisfaction questions answered (1 of 3; at least 2 are needed)."
    )
    assert "9" not in str(exc.value).replace("SAT1", "") and SECRET not in str(exc.value)
    assert counts(db)["responses"] == 0 and counts(db)["text_answers"] == 0


# --- free text -------------------------------------------------------------------------------


def stored_texts(db: Database) -> list[tuple[int, str, str]]:
    """(response id, item code, text) of every stored free-text answer."""
    return [
        (int(r), str(c), str(t))
        for r, c, t in db.query_rows(
            "SELECT t.response_id, i.code, t.text FROM text_answers t"
            " JOIN items i ON i.id = t.item_id ORDER BY t.response_id, i.code"
        )
    ]


def everything_but_texts(db: Database) -> str:
    """Every table a message, the audit trail or the queue listing could draw on, as text."""
    tables = ("audit_log", "import_batches", "import_profiles", "responses", "answers")
    return json.dumps(
        {t: [list(map(str, row)) for row in db.query_rows(f"SELECT * FROM {t}")] for t in tables}
    )


def test_free_text_is_stored_with_accepted_rows_and_never_shown(
    db: Database, therapist: Actor, couple: int
) -> None:
    topics = f"35. {INS.item('TXT1').text}"  # found by its wording
    extra = "checkin_txt2"  # found by its code
    columns = [*CODES, topics, extra]
    a, b = "d001.a@example.org", "d001.b@example.org"
    rows: list[dict[str, Any]] = [
        {"email": a, "answers": answers(**{topics: SECRET, extra: "  Second note\n "})},  # 2
        {"email": b, "answers": answers(**{topics: "", extra: "   "})},  # 3 blank: nothing
        {"email": a, "when": dt.datetime(2099, 1, 1), "answers": answers(**{topics: SECRET})},
        {
            "email": a,
            "when": WHEN + dt.timedelta(1),
            "answers": answers(SAT1=SECRET, **{extra: SECRET}),
        },  # 5 the secret in a scored column too
        {
            "email": "new@example.org",
            "when": WHEN + dt.timedelta(2),
            "answers": answers(**{topics: SECRET + " queued"}),
        },  # 6
        {
            "email": "other@example.org",
            "when": WHEN + dt.timedelta(3),
            "answers": answers(**{topics: " ", extra: None}),
        },  # 7
    ]
    preview = review(db, therapist, parsed_file(rows, columns=columns))
    assert preview.mapping.columns[topics] == "TXT1" and preview.mapping.columns[extra] == "TXT2"
    assert (preview.accepted, preview.unmatched) == (2, 2)
    assert {r.row: r.reason for r in preview.rejected} == {
        4: "The completion date is in the future.",
        5: "Answers that are not on the scale (SAT1).",
    }
    assert preview.accepted_table()[["row", "free text"]].to_dict("records") == [
        {"row": 2, "free text": 2},
        {"row": 3, "free text": 0},
    ]
    shown = [preview.accepted_table(), preview.rejected_table()]
    assert not any(SECRET in frame.to_csv() for frame in shown)

    result = service.commit_import(db, therapist, preview)
    assert (result.accepted, result.unmatched, result.rejected) == (2, 2, 2)
    first = int(db.query_value("SELECT min(id) FROM responses"))
    assert stored_texts(db) == [(first, "TXT1", SECRET), (first, "TXT2", "Second note")]
    queued = db.query_rows("SELECT respondent, texts FROM unmatched_responses ORDER BY id")
    assert [(who, json.loads(str(t))) for who, t in queued] == [
        ("new@example.org", {"TXT1": SECRET + " queued"}),
        ("other@example.org", {}),
    ]
    pending = unmatched.list_pending(db, therapist)
    assert SECRET not in pending.to_csv()

    # Filed under a partner, a queued row's free text is stored through the same writer.
    partner_b = int(db.query_value("SELECT id FROM partners WHERE email = ?", [b]))
    new_id, other_id = (int(i) for i in pending["id"])
    response = service.assign(db, therapist, new_id, partner_b)
    assert stored_texts(db)[-1] == (response, "TXT1", SECRET + " queued")
    other = service.assign(
        db, therapist, other_id, int(db.query_value("SELECT id FROM partners WHERE email = ?", [a]))
    )
    assert [t for t in stored_texts(db) if t[0] == other] == []  # blank text stores nothing
    assert len(stored_texts(db)) == 3
    assert SECRET not in everything_but_texts(db)
    assert SECRET not in audit.entries(db).to_csv()


def test_text_answers_are_stored_once(db: Database, therapist: Actor, couple: int) -> None:
    row = {"email": "d001.a@example.org", "answers": answers(TXT1="Planning the holidays")}
    parsed = parsed_file([row], columns=[*CODES, *TEXT_CODES])
    assert run(db, therapist, parsed).accepted == 1
    again = run(db, therapist, parsed)
    assert (again.accepted, again.duplicates) == (0, 1)
    assert [t[1:] for t in stored_texts(db)] == [("TXT1", "Planning the holidays")]


# --- licensed instruments: CSI-4 by codes only ----------------------------------------------


def test_csi4_file_imports_and_scores_per_item_ranges(
    db: Database, therapist: Actor, couple: int
) -> None:
    """CSI-4: item 1 is answered 0-6, items 2-4 0-5; the total (0-21) needs all four."""
    data = (
        b"email,completed_at,CSI4_1,csi4_2,Q_CSI4_3,CSI4_4 (0-5)\n"
        b"d001.a@example.org,2026-01-05 18:30:01,5,4,3,2\n"
        b"d001.b@example.org,2026-01-05 19:30:03,6,5,5,5\n"
        b"d001.a@example.org,2026-01-12 18:30:05,6,6,0,0\n"
        b"d001.b@example.org,2026-01-12 19:30:07,4,,3,2\n"
    )
    preview = service.prepare(db, therapist, "csi4.csv", data, now=NOW)
    assert preview.instrument.code == "csi4" and preview.problems == []
    assert sorted(preview.mapping.columns.values()) == ["CSI4_1", "CSI4_2", "CSI4_3", "CSI4_4"]
    assert {r.row: r.reason for r in preview.rejected} == {
        # An answer outside its item's range is not used, so that total cannot be scored either.
        4: "Answers outside the scale (CSI4_2). Too few Relationship satisfaction (CSI-4)"
        " questions answered (3 of 4; at least 4 are needed).",
        5: "Too few Relationship satisfaction (CSI-4) questions answered"
        " (3 of 4; at least 4 are needed).",
    }
    assert service.commit_import(db, therapist, preview).accepted == 2

    scores = scale_scores(db, therapist, [couple])
    total = scores[(scores["instrument_code"] == "csi4") & (scores["scale_code"] == "total")]
    # By hand: 5 + 4 + 3 + 2 = 14 (at or above the 13.5 cutoff); 6 + 5 + 5 + 5 = 21, the top.
    assert total[["partner", "score", "band"]].to_dict("records") == [
        {"partner": "A", "score": 14.0, "band": "Non-distressed range"},
        {"partner": "B", "score": 21.0, "band": "Non-distressed range"},
    ]

    short = (
        b"email,completed_at,CSI4_1,CSI4_2,CSI4_4\nd001.a@example.org,2026-01-19 18:30:09,1,1,1\n"
    )
    refused = service.prepare(db, therapist, "short.csv", short, now=NOW)
    assert refused.problems == [
        "The Relationship satisfaction (CSI-4) questions CSI4_3 are not in the file."
    ]
