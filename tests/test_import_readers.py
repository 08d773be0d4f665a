"""Readers: each sample export, each file quirk, and each kind of bad input."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from analytics.errors import CaseloadError
from analytics.importing import parsed
from analytics.importing.parsed import ParsedFile, RowIssue
from analytics.importing.readers import read_export

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SECRET = "Secret-Health-Detail"  # stands for cell content that must never reach a message


def read_sample(name: str) -> ParsedFile:
    return read_export(name, (SAMPLES / name).read_bytes())


def read_text(text: str, *, encoding: str = "utf-8", name: str = "upload.csv") -> ParsedFile:
    return read_export(name, text.encode(encoding))


def assert_contract(result: ParsedFile) -> None:
    frame = result.frame
    assert list(frame.columns[: len(parsed.RESERVED)]) == list(parsed.RESERVED)
    assert list(frame.columns[len(parsed.RESERVED) :]) == result.question_columns
    assert frame[parsed.ROW].dtype == "int64"
    assert str(frame[parsed.COMPLETED].dtype).startswith("datetime64")
    assert result.source in parsed.SOURCES
    assert len(result.checksum) == 64 and len(result.header_signature) == 64


def at(frame: pd.DataFrame, row: int, column: str) -> object:
    return frame.loc[frame[parsed.ROW] == row, column].iloc[0]


# --- samples ----------------------------------------------------------------------------------

EXPECTED = {
    "google_forms.csv": ("google_forms", 9, []),
    "microsoft_forms.xlsx": ("microsoft_forms", 6, []),
    "qualtrics.csv": (
        "qualtrics",
        6,
        [
            RowIssue(6, "survey preview"),
            RowIssue(9, "marked as spam"),
            RowIssue(10, "unfinished response"),
        ],
    ),
    "redcap.csv": (
        "redcap",
        5,
        [RowIssue(row, "form not used at this event") for row in (2, 5, 8, 10)],
    ),
    "typeform.csv": ("typeform", 6, []),
    "generic_wide.csv": ("generic_wide", 8, []),
    "generic_long.csv": ("generic_long", 4, []),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_files(name: str) -> None:
    source, rows, skipped = EXPECTED[name]
    result = read_sample(name)
    assert_contract(result)
    assert result.source == source
    assert result.source_label == parsed.SOURCES[source]
    assert len(result.frame) == rows
    assert result.skipped == skipped
    assert result.file_name == name
    frame = result.frame
    assert frame[parsed.COMPLETED].notna().all()
    assert (frame[parsed.EMAIL].notna() | frame[parsed.CLIENT_CODE].notna()).all()
    first = frame[parsed.COMPLETED].min()
    assert pd.Timestamp("2026-10-01") <= first <= pd.Timestamp("2026-11-19")
    assert frame[parsed.COMPLETED].dt.second.mod(2).eq(1).all()
    # 30 scored and 4 safety questions in every file; the two free-text ones where the form
    # asks them (all but Typeform).
    assert len(result.question_columns) >= (34 if source == "typeform" else 36)


def test_google_forms_zone_suffixes_become_utc() -> None:
    frame = read_sample("google_forms.csv").frame
    assert at(frame, 2, parsed.COMPLETED) == pd.Timestamp("2026-10-08 18:15:27")  # GMT+2
    assert at(frame, 6, parsed.COMPLETED) == pd.Timestamp("2026-11-02 18:41:11")  # GMT+1
    assert at(frame, 7, parsed.COMPLETED) == pd.Timestamp("2026-11-02 18:30:55")  # EET
    assert at(frame, 2, parsed.COMPLETED_RAW) == "2026/10/08 8:15:27 PM GMT+2"
    assert at(frame, 2, parsed.EMAIL) == "d001.a@example.org"
    assert "stranger@example.org" in set(frame[parsed.EMAIL])


def test_google_forms_text_cells_come_through_as_written() -> None:
    result = read_sample("google_forms.csv")
    frame = result.frame
    topics = "35. What would you like to talk about in your next session?"
    extra = "36. Is there anything else your therapist should know?"
    assert result.question_columns[-2:] == [topics, extra]
    assert at(frame, 2, topics) == "Money;Family time"  # a checkbox question's choices
    assert at(frame, 4, extra) == "We argued less, mostly.\nThanks!"  # quoted newline
    assert at(frame, 7, extra) == '=HYPERLINK("x")'  # a formula is only text
    assert frame.loc[frame[parsed.ROW] == 2, extra].isna().all()  # blank cells are NA, not ""
    first_item = "1. My partner responded to me in a steady, predictable way."
    assert result.question_columns[0] == first_item
    assert set(frame[first_item]) <= {
        "Strongly disagree",
        "Disagree",
        "Somewhat disagree",
        "Neither agree nor disagree",
        "Somewhat agree",
        "Agree",
        "Strongly agree",
    }
    # Safety questions are answered on their own frequency format.
    fear = "32. There were moments when I was afraid of my partner."
    assert set(frame[fear]) == {"Never"}


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("qualtrics.csv", "Q31 - My partner hurt me physically, or threatened to."),
        ("redcap.csv", "saf1"),
        ("typeform.csv", "there were moments when i was afraid of my partner"),
        ("generic_wide.csv", "SAF3"),
    ],
)
def test_numeric_tools_write_safety_answers_as_0_to_2(name: str, column: str) -> None:
    values = set(read_sample(name).frame[column])
    expected = {"0", "1"} if name == "typeform.csv" else {"0"}  # the samples' one "Once"
    # The European plain CSV writes some as "0,0", which the reader turns into "0.0".
    assert expected <= values <= expected | {v + ".0" for v in expected}


def test_microsoft_forms_excel_and_text_dates() -> None:
    frame = read_sample("microsoft_forms.xlsx").frame
    assert at(frame, 2, parsed.COMPLETED) == pd.Timestamp("2026-10-14 19:03:17")
    assert at(frame, 7, parsed.COMPLETED) == pd.Timestamp("2026-11-03 10:15:27")  # text cell
    assert list(frame[parsed.RESPONSE_ID]) == ["1", "2", "3", "4", "5", "6"]
    assert "Name" not in frame.columns and "Start time" not in frame.columns


def test_qualtrics_rows_times_and_respondents() -> None:
    result = read_sample("qualtrics.csv")
    frame = result.frame
    assert frame[parsed.ROW].iloc[0] == 4
    # RecordedDate is Europe/Berlin wall time (named in the ImportId row): CEST, then CET.
    assert at(frame, 4, parsed.COMPLETED) == pd.Timestamp("2026-10-20 18:15:11")
    assert at(frame, 7, parsed.COMPLETED) == pd.Timestamp("2026-11-03 19:15:11")
    assert at(frame, 5, parsed.CLIENT_CODE) == "D-006B"  # from ExternalReference
    assert at(frame, 4, parsed.RESPONSE_ID) == "R_001DemoResp1"
    assert "Status" not in frame.columns and "IPAddress" not in frame.columns
    assert any("Europe/Berlin" in note for note in result.notes)


def test_redcap_codes_carried_from_enrolment_event() -> None:
    result = read_sample("redcap.csv")
    frame = result.frame
    assert list(frame[parsed.CLIENT_CODE]) == ["D-008A", "D-008A", "D-008B", "D-008B", "D-009A"]
    assert at(frame, 3, parsed.RESPONSE_ID) == "1/week_1_arm_1"
    assert "con1" in result.question_columns and "checkin_complete" not in frame.columns


def test_generic_wide_day_first_and_decimal_commas() -> None:
    result = read_sample("generic_wide.csv")
    frame = result.frame
    assert at(frame, 2, parsed.COMPLETED) == pd.Timestamp("2026-10-09 19:41:13")
    values = set(frame["CON1"].dropna())
    assert values and not any("," in v for v in values)
    assert any("day/month/year" in note for note in result.notes)


def test_generic_long_pivots_to_one_row_per_response() -> None:
    result = read_sample("generic_long.csv")
    frame = result.frame
    # 34 answer rows per response, plus one row per free-text answer given (first and last).
    assert list(frame[parsed.ROW]) == [2, 37, 71, 105]
    assert result.question_columns[:2] == ["CON1", "CON2"]
    assert result.question_columns[-2:] == ["TXT1", "TXT2"]
    assert frame[result.question_columns[:-2]].notna().all().all()
    assert set(frame["SAF1"]) == {"Never"}
    assert frame["TXT1"].notna().tolist() == [True, False, False, False]
    assert frame["TXT2"].notna().tolist() == [False, False, False, True]


def test_header_signature_ignores_order_case_and_punctuation() -> None:
    a = read_text("client_code,date,My question?,Other one\nD-001A,2026-11-02,1,2\n")
    b = read_text("client_code,date,other ONE,my question\nD-001A,2026-11-03,2,1\n")
    c = read_text("client_code,date,Another question\nD-001A,2026-11-02,1\n")
    assert a.header_signature == b.header_signature != c.header_signature


# --- quirks -----------------------------------------------------------------------------------

GOOGLE = (
    "Timestamp,Email Address,How close did you feel?\n"
    "2026/11/02 7:41:13 PM GMT+1,D001.A@Example.org ,Agree\n"
)


def test_utf8_bom() -> None:
    result = read_export("g.csv", codecs.BOM_UTF8 + GOOGLE.encode())
    assert result.source == "google_forms"
    assert at(result.frame, 2, parsed.EMAIL) == "d001.a@example.org"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_tab_separated(encoding: str) -> None:
    text = GOOGLE.replace(",", "\t").replace("\n", "\r\n")
    result = read_text(text, encoding=encoding)
    assert result.source == "google_forms"
    assert at(result.frame, 2, "How close did you feel?") == "Agree"


def test_cp1252_from_excel() -> None:
    text = "client_code;completed_at;I don’t feel heard\nD-001a;02/11/2026 19:41:13;Don’t know\n"
    result = read_text(text, encoding="cp1252")
    assert result.question_columns == ["I don’t feel heard"]
    assert at(result.frame, 2, "I don’t feel heard") == "Don’t know"
    assert at(result.frame, 2, parsed.CLIENT_CODE) == "D-001A"


def test_semicolon_separator_and_decimal_comma() -> None:
    text = 'client code;date;CON1;Note\nD-001A;2026-11-02 19:41:13;4,0;"a; b"\n'
    frame = read_text(text).frame
    assert at(frame, 2, "CON1") == "4.0"
    assert at(frame, 2, "Note") == "a; b"


def test_thousands_are_not_decimal_commas() -> None:
    frame = read_text('email,date,CON1\na@b.org,2026-11-02,"1,000"\n').frame
    assert at(frame, 2, "CON1") == "1,000"


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        (["02/11/2026 19:41", "14/11/2026 08:00"], "2026-11-02 19:41:00"),  # a day > 12 settles it
        (["02/11/2026 19:41", "11/14/2026 08:00"], "2026-02-11 19:41:00"),  # month/day file
        (["2026-11-02 19:41", "2026-11-14 08:00"], "2026-11-02 19:41:00"),
        (["46328.82", "46329.5"], "2026-11-02 19:40:48"),  # Excel serial numbers
    ],
)
def test_excel_resaved_dates(stamps: list[str], expected: str) -> None:
    text = "email,completed_at,CON1\n" + "".join(f"a@b.org,{s},1\n" for s in stamps)
    result = read_text(text)
    assert at(result.frame, 2, parsed.COMPLETED) == pd.Timestamp(expected)


def test_ambiguous_dates_follow_the_tool_and_say_so() -> None:
    google = read_text("Timestamp,Email Address,Q\n02/11/2026 19:41:13,a@b.org,1\n")
    plain = read_text("email,date,Q\na@b.org,02/11/2026 19:41:13,1\n")
    assert at(google.frame, 2, parsed.COMPLETED) == pd.Timestamp("2026-02-11 19:41:13")
    assert at(plain.frame, 2, parsed.COMPLETED) == pd.Timestamp("2026-11-02 19:41:13")
    assert any("either way" in note for note in google.notes + plain.notes)


def test_trailing_empty_rows_and_columns() -> None:
    text = "email,date,CON1,,Unnamed: 4\na@b.org,2026-11-02,3,,\n,,,,\n,,,,\n\n"
    result = read_text(text)
    assert result.question_columns == ["CON1"]
    assert len(result.frame) == 1 and result.skipped == []


def test_interior_blank_row_is_skipped_with_its_row_number() -> None:
    result = read_text("email,date,CON1\na@b.org,2026-11-02,3\n,,\nc@d.org,2026-11-03,4\n")
    assert result.skipped == [RowIssue(3, "blank row")]
    assert list(result.frame[parsed.ROW]) == [2, 4]


def test_duplicated_headers_are_made_unique() -> None:
    result = read_text("email,date,Q,Q,Q\na@b.org,2026-11-02,1,2,3\n")
    assert result.question_columns == ["Q", "Q (2)", "Q (3)"]
    assert at(result.frame, 2, "Q (3)") == "3"


def test_quoted_newline_keeps_row_numbers_as_records() -> None:
    text = 'email,date,Note\na@b.org,2026-11-02,"one\ntwo"\nc@d.org,2026-11-03,x\n'
    frame = read_text(text).frame
    assert at(frame, 2, "Note") == "one\ntwo"
    assert list(frame[parsed.ROW]) == [2, 3]


def test_rows_longer_or_shorter_than_the_header_are_set_aside() -> None:
    text = (
        "email,date,Q1,Q2\n"
        "a@b.org,2026-11-02,1,2\n"
        "a@b.org,2026-11-03,1,2,extra\n"
        "a@b.org,2026-11-04,1\n"
        "a@b.org,2026-11-05,3,4\n"
    )
    result = read_text(text)
    assert list(result.frame[parsed.ROW]) == [2, 5]
    assert result.skipped == [
        RowIssue(3, "row has 5 cells, the header has 4"),
        RowIssue(4, "row has 3 cells, the header has 4"),
    ]
    assert result.question_columns == ["Q1", "Q2"]  # the extra cell made no column


def test_a_file_whose_every_row_is_longer_than_the_header_is_refused() -> None:
    error = _refused(f"email,date,Q\na@b.org,2026-11-02,1,{SECRET}\n".encode())
    assert "row 2 has 4 cells, the header has 3" in error.message


def test_formulas_and_markup_stay_plain_text() -> None:
    cells = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(A1:A2)", "<b>hi</b>"]
    text = "email,date," + ",".join(f"Q{i}" for i in range(4)) + "\n"
    text += "a@b.org,2026-11-02," + ",".join(f'"{c.replace(chr(34), chr(34) * 2)}"' for c in cells)
    frame = read_text(text + "\n").frame
    assert [at(frame, 2, f"Q{i}") for i in range(4)] == cells


def _workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_serial_number_and_formula_text() -> None:
    header = ["Id", "Start time", "Completion time", "Email", "Name", "Q1"]
    data = _workbook(
        [
            header,
            [1, None, 46328.82, "a@b.org", "X", "=SUM(1,2)"],
            [2, None, dt.datetime(2026, 11, 3, 10, 15, 27), "anonymous", "Y", 5],
        ]
    )
    frame = read_export("ms.xlsx", data).frame
    assert at(frame, 2, parsed.COMPLETED) == pd.Timestamp("2026-11-02 19:40:48")
    assert at(frame, 3, parsed.COMPLETED) == pd.Timestamp("2026-11-03 10:15:27")
    assert pd.isna(at(frame, 3, parsed.EMAIL))  # "anonymous" is not an address
    assert at(frame, 3, "Q1") == "5"


def test_qualtrics_numeric_status_codes_and_embedded_client_code() -> None:
    text = (
        "StartDate,EndDate,Status,Finished,RecordedDate,ResponseId,client_code,Q1\n"
        "Start Date,End Date,Response Type,Finished,Recorded Date,Response ID,client_code,Hi\n"
        '{"ImportId":"startDate"},{"ImportId":"endDate"},{"ImportId":"status"},'
        '{"ImportId":"finished"},{"ImportId":"recordedDate"},{"ImportId":"_recordId"},'
        '{"ImportId":"client_code"},{"ImportId":"QID1"}\n'
        "2026-11-02 10:00:01,2026-11-02 10:05:01,0,1,2026-11-02 10:05:01,R_1,d-001a,3\n"
        "2026-11-02 10:00:01,2026-11-02 10:05:01,1,1,2026-11-02 10:05:03,R_2,d-001a,3\n"
        "2026-11-02 10:00:01,2026-11-02 10:05:01,2,1,2026-11-02 10:05:05,R_3,d-001a,3\n"
        "2026-11-02 10:00:01,2026-11-02 10:05:01,8,1,2026-11-02 10:05:07,R_4,d-001a,3\n"
        "2026-11-02 10:00:01,2026-11-02 10:05:01,0,0,2026-11-02 10:05:09,R_5,d-001a,3\n"
    )
    result = read_text(text)
    assert result.question_columns == ["Hi"]
    assert list(result.frame[parsed.CLIENT_CODE]) == ["D-001A"]
    assert [issue.row for issue in result.skipped] == [5, 6, 7, 8]
    assert {issue.reason for issue in result.skipped} == {
        "survey preview",
        "survey test response",
        "marked as spam",
        "unfinished response",
    }


# --- bad input --------------------------------------------------------------------------------


def _refused(data: bytes, *, max_bytes: int | None = None) -> CaseloadError:
    with pytest.raises(CaseloadError) as caught:
        if max_bytes is None:
            read_export("bad.csv", data)
        else:
            read_export("bad.csv", data, max_bytes=max_bytes)
    assert SECRET not in str(caught.value)
    return caught.value


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"  \r\n\r\n", "empty"),
        (codecs.BOM_UTF8, "empty"),
        (b"Timestamp,Email Address,Q1\n", "no responses"),
        (b"Timestamp,Email Address,Q1\n,,\n,,\n", "no responses"),
        (
            b'StartDate,EndDate,Status,ResponseId,RecordedDate\nx,y,z,w,v\n{"ImportId":1},,,,\n',
            "no",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + SECRET.encode(), "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + SECRET.encode(), ".xls"),
        (_zip({"notes.txt": SECRET.encode()}), "zip archive"),
        (b"PK\x03\x04" + SECRET.encode(), "could not be opened"),
        (_zip({"xl/workbook.xml": SECRET.encode()}), "could not be opened"),
        (f"colour,size\n{SECRET},3\n".encode(), "does not look like a survey export"),
        (f"{SECRET}\n1\n2\n".encode(), "does not look like a survey export"),
    ],
)
def test_bad_input_is_refused_without_quoting_cells(data: bytes, words: str) -> None:
    assert words in str(_refused(data))


def test_file_over_the_limit() -> None:
    error = _refused(b"a" * (31 * 1024 * 1024))
    assert error.message == "The file is 31 MB; the limit is 20 MB."
    small = _refused(GOOGLE.encode(), max_bytes=10)
    assert "limit" in small.message


def test_unclosed_quote_is_refused_or_read() -> None:
    data = f'email,date,Q\na@b.org,2026-11-02,"{SECRET}\n'.encode()
    try:
        result = read_export("q.csv", data)
    except CaseloadError as error:
        assert SECRET not in str(error)
    else:
        assert_contract(result)
