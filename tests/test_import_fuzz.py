"""Property tests: whatever bytes arrive, read_export returns a valid ParsedFile or refuses
with CaseloadError; no other exception ever escapes; every answer cell decodes through its own
item's format into exactly one outcome; and through the whole pipeline a malformed file changes
the database only by exactly what its preview promised, never quoting a cell in a reason."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.demo.build import build_demo
from analytics.errors import CaseloadError
from analytics.importing import parsed, service
from analytics.importing.mapping import Mapping, convert_answers
from analytics.importing.parsed import ParsedFile
from analytics.importing.readers import read_export
from analytics.instruments import catalog
from analytics.practice.access import PRACTICE
from analytics.practice.opening import open_practice
from analytics.store.db import Database

NOW = dt.datetime(2026, 11, 20, 12, 0)  # naive UTC; the sample exports are all before it
CHECKIN, CSI4 = catalog.builtin("checkin"), catalog.builtin("csi4")

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SAMPLE_BYTES = {p.name: p.read_bytes() for p in sorted(SAMPLES.glob("*.csv"))} | {
    p.name: p.read_bytes() for p in sorted(SAMPLES.glob("*.xlsx"))
}
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Headers the detectors look for, so random grids reach every reader, not only the refusal.
KNOWN_HEADERS = [
    "Timestamp", "Email Address", "email", "client_code", "respondent", "completed_at", "date",
    "item", "value", "record_id", "redcap_event_name", "checkin_complete", "checkin_timestamp",
    "StartDate", "EndDate", "Status", "Finished", "RecordedDate", "ResponseId", "IPAddress",
    "ExternalReference", "Id", "Start time", "Completion time", "Name", "#", "Submit Date (UTC)",
    "Network ID", "Response Type", "CON1", "", "Unnamed: 3", "_row",
]  # fmt: skip
CELLS = st.one_of(
    st.sampled_from(
        [
            "", "4", "4,0", "Strongly agree", "2026/11/02 7:41:12 PM GMT+1", "02/11/2026 19:41",
            "46329.82", "a@b.org", "D-001A", "False", "Survey Preview", "Spam", "8", "partial",
            '{"ImportId":"QID1"}', "=HYPERLINK(\"x\")", "+cmd", "@SUM(A1)", "<b>x</b>", "\"",
            "2026-11-02T19:41:12+05:30", "11/14/2026 1:00 AM XYZ", "[not completed]", "\n",
            "Never", "Once", "More than once", "once ", "2", "3", "6", "Agree", "Zebra-Quartz",
        ]
    ),
    st.text(max_size=12),
)  # fmt: skip


def check(name: str, data: bytes) -> None:
    """The property: a valid ParsedFile, or a CaseloadError; nothing else."""
    try:
        result = read_export(name, data)
    except CaseloadError as error:
        assert error.message
        return
    assert_valid(result)


def assert_valid(result: ParsedFile) -> None:
    frame = result.frame
    assert isinstance(frame, pd.DataFrame)
    assert result.source in parsed.SOURCES
    assert list(frame.columns[: len(parsed.RESERVED)]) == list(parsed.RESERVED)
    assert list(frame.columns[len(parsed.RESERVED) :]) == result.question_columns
    assert frame.columns.is_unique
    assert frame[parsed.ROW].dtype == "int64"
    assert (frame[parsed.ROW] >= 1).all()
    assert str(frame[parsed.COMPLETED].dtype).startswith("datetime64")
    assert all(isinstance(issue.row, int) and issue.reason for issue in result.skipped)
    for column in result.question_columns:
        assert all(isinstance(value, str) for value in frame[column].dropna())


@FUZZ
@given(st.binary(max_size=3000))
def test_arbitrary_bytes(data: bytes) -> None:
    check("random.bin", data)


@FUZZ
@given(
    st.sampled_from(sorted(SAMPLE_BYTES)),
    st.lists(
        st.tuples(st.sampled_from(["cut", "flip", "insert", "delete"]), st.integers(0, 10**6),
                  st.binary(min_size=1, max_size=8)),
        min_size=1,
        max_size=4,
    ),
)  # fmt: skip
def test_mutated_samples(name: str, edits: list[tuple[str, int, bytes]]) -> None:
    check(name, mutate(SAMPLE_BYTES[name], edits))


def mutate(original: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    """Apply cut / flip / insert / delete edits at positions wrapped to the file's length."""
    data = bytearray(original)
    for kind, position, chunk in edits:
        at = position % (len(data) + 1)
        if kind == "cut":
            del data[at:]
        elif kind == "flip" and at < len(data):
            data[at] ^= chunk[0] or 0xFF
        elif kind == "insert":
            data[at:at] = chunk
        elif kind == "delete":
            del data[at : at + len(chunk) * 50]
    return bytes(data)


@st.composite
def csv_grids(draw: st.DrawFn) -> bytes:
    width = draw(st.integers(1, 8))
    headers = draw(
        st.lists(st.one_of(st.sampled_from(KNOWN_HEADERS), st.text(max_size=10)),
                 min_size=width, max_size=width)
    )  # fmt: skip
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=width + 2), max_size=12))
    separator = draw(st.sampled_from([",", ";", "\t"]))

    def line(cells: list[str]) -> str:
        return separator.join('"' + c.replace('"', '""') + '"' for c in cells)

    text = "\r\n".join(line(r) for r in [headers, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    return text.encode(encoding, errors="replace")


@FUZZ
@given(csv_grids())
def test_random_csv_grids(data: bytes) -> None:
    check("grid.csv", data)


@FUZZ
@given(st.lists(st.lists(CELLS, max_size=6), max_size=8), st.sampled_from(sorted(SAMPLE_BYTES)))
def test_sample_headers_with_random_rows(rows: list[list[str]], name: str) -> None:
    """Real headers (so the right reader runs) over random rows."""
    if name.endswith(".xlsx"):
        return
    lines = SAMPLE_BYTES[name].decode("utf-8-sig").split("\r\n")
    headers = 3 if name == "qualtrics.csv" else 1
    body = [",".join('"' + c.replace('"', '""') + '"' for c in row) for row in rows]
    check(name, "\r\n".join(lines[:headers] + body).encode())


# --- Through the whole pipeline: malformed files never change the database by accident ------

_PIPELINE = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_TABLES = (
    "responses",
    "answers",
    "text_answers",
    "unmatched_responses",
    "import_batches",
    "audit_log",
)
# Every sentence a rejected row's reason may hold: fixed wording, item codes and counts only,
# never a cell of the file (readers' own reasons for rows they set aside included).
_SENTENCE = (
    r"The email address and the client code belong to different clients\."
    r"|The completion date is (?:missing|not a date that can be read|in the future)\."
    r"|The completion date has a two-digit year; export dates with four-digit years\."
    r"|The completion date's year is before 1900\."
    r"|The completion time's offset from UTC (?:is beyond ±14 hours|has more than 59 minutes)\."
    r"|Answers (?:that are not on the scale|outside the scale) \([A-Z0-9_]+(?:, [A-Z0-9_]+)*\)\."
    r"|Too few [A-Za-z ()-]+ questions answered \(\d+ of \d+; at least \d+ are needed\)\."
    r"|row has [\d,]+ cells, the header has [\d,]+"
    r"|row has a value in column [\d,]+, the header has [\d,]+ columns"
)
_REASON = re.compile(rf"(?:{_SENTENCE})(?: (?:{_SENTENCE}))*")
_SET_ASIDE = {
    "blank row",
    "no item named on this row",
    "survey preview",
    "survey test response",
    "marked as spam",
    "unfinished response",
    "form not used at this event",
    "form not filled in",
}
# Answers stored outside their item's own range, or free text stored blank or under a non-text
# item: both must stay empty whatever the file held.
_BAD_ANSWERS = (
    "SELECT count(*) FROM answers a JOIN items i ON i.id = a.item_id"
    " WHERE i.kind = 'text' OR a.value < i.min_value OR a.value > i.max_value"
    " OR a.value <> round(a.value)"
)
_BAD_TEXTS = (
    "SELECT count(*) FROM text_answers t JOIN items i ON i.id = t.item_id"
    " WHERE i.kind <> 'text' OR trim(t.text) = ''"
)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = open_practice(tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb")
    build_demo(db, as_of=NOW.date())
    yield db
    db.close()


def _counts(db: Database) -> dict[str, int]:
    return {t: int(db.query_value(f"SELECT count(*) FROM {t}")) for t in _TABLES}


@_PIPELINE
@given(
    st.sampled_from(sorted(SAMPLE_BYTES)),
    st.lists(
        st.tuples(st.sampled_from(["cut", "flip", "insert"]), st.integers(0, 10**6),
                  st.binary(min_size=1, max_size=6)),
        min_size=1,
        max_size=3,
    ),
)  # fmt: skip
def test_malformed_files_through_the_pipeline(
    demo_db: Database, name: str, edits: list[tuple[str, int, bytes]]
) -> None:
    data = mutate(SAMPLE_BYTES[name], edits)
    before = _counts(demo_db)
    try:
        preview = service.prepare(demo_db, PRACTICE, name, data, now=NOW)
    except CaseloadError:
        assert _counts(demo_db) == before
        return
    assert _counts(demo_db) == before  # a preview never writes
    for issue in preview.rejected:
        assert issue.reason in _SET_ASIDE or _REASON.fullmatch(issue.reason), issue.reason
    if not preview.importable:
        return
    try:
        result = service.commit_import(demo_db, PRACTICE, preview)
    except CaseloadError:
        assert _counts(demo_db) == before
        return
    after = _counts(demo_db)
    assert after["responses"] - before["responses"] == result.accepted
    assert after["unmatched_responses"] - before["unmatched_responses"] == result.unmatched
    assert preview.validation is not None
    if result.accepted == len(preview.validation.matched):  # nothing else stored meanwhile
        texts = int(preview.validation.matched_texts.notna().sum().sum())
        assert after["text_answers"] - before["text_answers"] == texts
    assert demo_db.query_value(_BAD_ANSWERS) == 0
    assert demo_db.query_value(_BAD_TEXTS) == 0


# --- Per-item formats: each cell decodes through its own item's labels and range ------------

_ITEMS = [(CHECKIN, "SAF2"), (CHECKIN, "SAT1"), (CSI4, "CSI4_1"), (CSI4, "CSI4_3")]
_ANSWER_CELLS = st.one_of(
    st.sampled_from(
        ["Never", "once", " More  than once ", "Strongly agree", "agree", "Neither agree nor "
         "disagree", "0", "1", "2", "3", "5", "6", "7", "-1", "2.5", "4,0", "", " ", "1e3",
         "0." + "0" * 400 + "1", "1" + "0" * 400, "-0", "2.000"]
    ),
    st.integers(-3, 9).map(str),
    st.text(max_size=8),
)  # fmt: skip


@FUZZ
@given(st.sampled_from(_ITEMS), st.lists(st.one_of(st.none(), _ANSWER_CELLS), max_size=12))
def test_every_cell_has_exactly_one_outcome(
    target: tuple[object, str], cells: list[str | None]
) -> None:
    """A cell is blank, invalid (a word that is not one of the item's labels), out of the
    item's range, or a value within it: never two of these, and labels decode to their place."""
    instrument, code = target
    assert instrument is CHECKIN or instrument is CSI4
    item = instrument.item(code)
    assert item.format is not None
    frame = pd.DataFrame({"col": pd.Series(cells, dtype="str")})
    got = convert_answers(frame, Mapping(instrument.code, {"col": code}), instrument)
    for cell, value, invalid, outside in zip(
        cells, got.values[code], got.invalid[code], got.out_of_range[code], strict=True
    ):
        text = " ".join((cell or "").split()).lower()
        labels = [" ".join(label.split()).lower() for label in item.format.labels]
        number = re.fullmatch(r"[+-]?\d+(?:[.,]\d+)?", text)
        # Whole steps only, judged on the text: "0.000…01" is not 0 (floats would round it).
        whole = re.fullmatch(r"[+-]?\d{1,9}(?:[.,]0+)?", text)
        blank = not text
        assert int(blank) + int(invalid) + int(outside) + int(not math.isnan(value)) == 1, cell
        if number and not whole:
            assert invalid  # every format is whole steps
        elif number:
            parsed_number = float(text.replace(",", "."))
            assert outside == (not item.min <= parsed_number <= item.max)
            assert math.isnan(value) or value == parsed_number
        elif text in labels:
            assert value == item.min + labels.index(text)
        elif not blank:
            assert invalid
