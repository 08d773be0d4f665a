"""A respondent column found by what it holds when no header names it: email addresses, or the
practice's client codes, whatever title the survey's author gave the question."""

from __future__ import annotations

import pytest

from analytics.errors import CaseloadError
from analytics.importing import parsed
from analytics.importing.context import ReadContext
from analytics.importing.parsed import ParsedFile
from analytics.importing.readers import read_export
from tests.test_import_readers import _workbook, at

CODES = frozenset({"D-001A", "D-001B", "D-002A", "12"})
ODD = "Where can we reach you?"


def read(text: str, *, known_codes: frozenset[str] = frozenset()) -> ParsedFile:
    return read_export("upload.csv", text.encode(), context=ReadContext(known_codes=known_codes))


def notes_of(result: ParsedFile) -> str:
    return " ".join(result.notes)


def test_google_forms_email_question_under_any_title() -> None:
    text = (
        f"Timestamp,How close did you feel?,{ODD}\n"
        "2026/11/02 7:41:13 PM GMT+1,Agree,D001.A@Example.org\n"
        "2026/11/02 7:42:13 PM GMT+1,Disagree,d001.b@example.org\n"
        "2026/11/02 7:43:13 PM GMT+1,Agree,\n"
    )
    result = read(text)
    assert result.source == "google_forms"
    assert result.frame[parsed.EMAIL].tolist()[:2] == ["d001.a@example.org", "d001.b@example.org"]
    assert result.question_columns == ["How close did you feel?"]
    assert ODD not in result.frame.columns
    assert f'The column "{ODD}" was taken as the respondent\'s email address' in notes_of(result)
    assert "example.org" not in notes_of(result).lower()  # a note never quotes a cell
    assert "No column identifies the respondent" not in notes_of(result)


def test_plain_file_with_emails_under_an_odd_title_is_read_not_refused() -> None:
    text = "Contact,Date,CON1\na@b.org,2026-11-02,3\nc@d.org,2026-11-03,4\n"
    result = read(text)
    assert result.source == "generic_wide"
    assert result.frame[parsed.EMAIL].tolist() == ["a@b.org", "c@d.org"]
    assert result.question_columns == ["CON1"]


def test_known_codes_under_an_odd_title() -> None:
    text = "Teilnehmer,Date,CON1\nd-001a,2026-11-02,3\nD-001B,2026-11-03,4\nD-002A,2026-11-04,5\n"
    result = read(text, known_codes=CODES)
    assert result.source == "generic_wide"
    assert result.frame[parsed.CLIENT_CODE].tolist() == ["D-001A", "D-001B", "D-002A"]
    assert result.question_columns == ["CON1"]
    assert 'The column "Teilnehmer" was taken as the respondent\'s client code' in notes_of(result)
    assert "D-00" not in notes_of(result)


def test_codes_not_on_file_are_not_a_respondent_column() -> None:
    text = "Teilnehmer,Date,CON1\nX-1,2026-11-02,3\nX-2,2026-11-03,4\n"
    with pytest.raises(CaseloadError, match="does not look like a survey export") as error:
        read(text, known_codes=CODES)
    assert "X-1" not in str(error.value)


def test_neither_emails_nor_codes_keeps_the_refusal() -> None:
    with pytest.raises(CaseloadError, match="does not look like a survey export"):
        read("colour,size\nred,3\nblue,4\n", known_codes=CODES)


def test_a_mostly_blank_column_is_not_chosen() -> None:
    # One respondent typed an address into the last question; that says nothing about the rest.
    text = (
        "Timestamp,How close did you feel?,Anything else?\n"
        "2026/11/02 7:41:13 PM GMT+1,Agree,\n"
        "2026/11/02 7:42:13 PM GMT+1,Agree,\n"
        "2026/11/02 7:43:13 PM GMT+1,Agree,call me: a@b.org\n"
        "2026/11/02 7:44:13 PM GMT+1,Agree,a@b.org\n"
        "2026/11/02 7:45:13 PM GMT+1,Agree,\n"
    )
    result = read(text)
    assert result.frame[parsed.EMAIL].isna().all()
    assert "Anything else?" in result.question_columns
    assert "No column identifies the respondent" in notes_of(result)
    with pytest.raises(CaseloadError, match="does not look like a survey export"):
        read("Anything else?,CON1\n,1\n,2\na@b.org,3\n")


def test_nearly_all_addresses_is_enough_but_not_fewer() -> None:
    good = [f"p{i}@example.org" for i in range(9)]
    nine = "Contact,CON1\n" + "".join(f"{v},1\n" for v in [*good, "not given"])
    assert read(nine).frame[parsed.EMAIL].tolist()[:9] == good
    eight = "Contact,CON1\n" + "".join(f"{v},1\n" for v in [*good[:8], "no", "none"])
    with pytest.raises(CaseloadError):
        read(eight)


def test_emails_beat_codes_and_ties_go_to_the_first_column() -> None:
    text = "Who,Mail,Mail 2,CON1\nD-001A,a@b.org,c@d.org,1\nD-001B,e@f.org,g@h.org,2\n"
    result = read(text, known_codes=CODES)
    assert result.frame[parsed.EMAIL].tolist() == ["a@b.org", "e@f.org"]
    assert result.frame[parsed.CLIENT_CODE].isna().all()
    assert result.question_columns == ["Who", "Mail 2", "CON1"]


def test_small_numbers_are_answers_even_when_a_code_looks_the_same() -> None:
    with pytest.raises(CaseloadError):
        read("CON1,CON2\n12,3\n12,4\n", known_codes=CODES)


def test_a_header_named_column_is_kept() -> None:
    text = "email,Contact,CON1\na@b.org,c@d.org,1\n"
    result = read(text)
    assert result.frame[parsed.EMAIL].tolist() == ["a@b.org"]
    assert "Contact" in result.question_columns


def test_anonymous_microsoft_form_with_an_email_question() -> None:
    header = ["Id", "Start time", "Completion time", "Email", "Name", "Q1", "Your contact"]
    data = _workbook(
        [
            header,
            [1, None, 46328.82, "anonymous", None, 3, "a@b.org"],
            [2, None, 46328.9, "anonymous", None, 4, "c@d.org"],
        ]
    )
    result = read_export("ms.xlsx", data)
    assert result.frame[parsed.EMAIL].tolist() == ["a@b.org", "c@d.org"]
    assert result.question_columns == ["Q1"]
    assert "the columns whose headers name the respondent are empty" in notes_of(result)
    assert at(result.frame, 2, "Q1") == "3"


def test_a_column_of_addresses_and_codes_is_a_mixed_respondent_column() -> None:
    text = "Who are you?,CON1\na@b.org,1\nD-001B,2\nc@d.org,3\n"
    result = read(text, known_codes=CODES)
    assert result.frame[parsed.EMAIL].fillna("").tolist() == ["a@b.org", "", "c@d.org"]
    assert result.frame[parsed.CLIENT_CODE].fillna("").tolist() == ["", "D-001B", ""]
    assert result.question_columns == ["CON1"]


def test_qualtrics_anonymous_link_with_an_email_question() -> None:
    # RecipientEmail is blank for anonymous links; the survey asks for the address itself.
    text = (
        "StartDate,EndDate,Status,Finished,RecordedDate,ResponseId,RecipientEmail,Q1,Q2\n"
        "Start Date,End Date,Response Type,Finished,Recorded Date,Response ID,Recipient Email,"
        "How close?,Your e-mail please\n"
        '{"ImportId":"startDate"},{"ImportId":"endDate"},{"ImportId":"status"},'
        '{"ImportId":"finished"},{"ImportId":"recordedDate"},{"ImportId":"_recordId"},'
        '{"ImportId":"recipientEmail"},{"ImportId":"QID1"},{"ImportId":"QID2_TEXT"}\n'
        "2026-11-02 10:00:01,2026-11-02 10:05:01,0,1,2026-11-02 10:05:01,R_1,,3,a@b.org\n"
        "2026-11-02 11:00:01,2026-11-02 11:05:01,0,1,2026-11-02 11:05:01,R_2,,4,c@d.org\n"
    )
    result = read(text)
    assert result.source == "qualtrics"
    assert result.frame[parsed.EMAIL].tolist() == ["a@b.org", "c@d.org"]
    assert result.question_columns == ["How close?"]
