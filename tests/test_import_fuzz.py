"""Property tests: whatever bytes arrive, read_export returns a valid ParsedFile or refuses
with CaseloadError; no other exception ever escapes; and through the whole pipeline a malformed
file changes the database only by exactly what its preview promised."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.cli.import_cmd import PRACTICE
from analytics.demo.build import build_demo
from analytics.errors import CaseloadError
from analytics.importing import parsed, service
from analytics.importing.parsed import ParsedFile
from analytics.importing.readers import read_export
from analytics.practice.opening import open_database
from analytics.store.db import Database

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
_TABLES = ("responses", "answers", "unmatched_responses", "import_batches", "audit_log")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = open_database(tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb")
    build_demo(db)
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
        preview = service.prepare(demo_db, PRACTICE, name, data)
    except CaseloadError:
        assert _counts(demo_db) == before
        return
    assert _counts(demo_db) == before  # a preview never writes
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
