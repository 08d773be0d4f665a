"""Completion times: refused rather than guessed (two-digit years, years before 1900, offsets
beyond ±14 hours), and zone-less times read in the file's zone, else the practice's, with a note."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.importing import dates, parsed
from analytics.importing.context import ReadContext
from analytics.importing.dates import parse_times
from analytics.importing.readers import read_export
from tests.test_import_readers import SAMPLES, _workbook, at


def one(text: str) -> tuple[object, object]:
    """The time read from one text, and the reason it was refused (or NA)."""
    times = parse_times(pd.Series([text], dtype="str"), day_first=True)
    return times.at.iloc[0], times.problems.iloc[0]


# --- refused, not guessed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("02/11/26 19:41", dates.TWO_DIGIT_YEAR),  # was read as 2026
        ("2.11.26", dates.TWO_DIGIT_YEAR),
        ("0050-11-02 10:00", dates.EARLY_YEAR),  # was read as 2050
        ("0026-11-02", dates.EARLY_YEAR),
        ("02/11/0026 19:41", dates.EARLY_YEAR),
        ("1850-01-01 12:00", dates.EARLY_YEAR),
        ("Nov 2, 0050 7:41 PM", dates.EARLY_YEAR),  # dateutil reads this as 2050
        ("Nov 2, 1850", dates.EARLY_YEAR),
        ("2026/11/02 7:41:12 PM GMT+99", dates.FAR_OFFSET),  # was accepted as 99 hours
        ("2026-11-02T10:00:00+15:00", dates.FAR_OFFSET),
        ("2026-11-02T10:00:00-14:30", dates.FAR_OFFSET),
        ("2026-11-02T10:00:00+05:75", dates.BAD_OFFSET),
    ],
)
def test_guesses_are_refused_with_a_reason(text: str, problem: str) -> None:
    stamp, reason = one(text)
    assert pd.isna(stamp)
    assert reason == problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-02T10:00:00+14:00", "2026-11-01 20:00:00"),  # Kiribati, the widest in use
        ("2026-11-02T10:00:00-12:00", "2026-11-02 22:00:00"),
        ("2026/11/02 7:41:12 PM GMT+1", "2026-11-02 18:41:12"),
        ("1900-01-01 00:00", "1900-01-01 00:00:00"),
        ("46328.82", "2026-11-02 19:40:48"),  # Excel serial numbers are not two-digit years
    ],
)
def test_edges_that_are_still_read(text: str, expected: str) -> None:
    stamp, reason = one(text)
    assert stamp == pd.Timestamp(expected)
    assert pd.isna(reason)


def test_refused_dates_do_not_settle_the_day_order() -> None:
    times = parse_times(
        pd.Series(["25/11/26 10:00", "02/11/2026 10:00"], dtype="str"), day_first=False
    )
    # Without the refused "25/11/26" nothing says day/month: the tool's rule (month first) holds.
    assert times.at.iloc[1] == pd.Timestamp("2026-02-11 10:00")
    assert any("either way" in note for note in times.notes)


def test_refused_times_are_counted_apart_from_unreadable_ones() -> None:
    times = parse_times(pd.Series(["02/11/26", "nonsense", None], dtype="str"), day_first=True)
    assert times.problems.isna().tolist() == [False, True, True]
    assert any("refused rather than guessed" in n and n.endswith(": 1.") for n in times.notes)
    assert any("could not be read as dates: 1." in note for note in times.notes)


# --- zones ------------------------------------------------------------------------------------


def test_zone_less_times_are_read_in_the_practice_zone() -> None:
    raw = pd.Series(["2026-07-01 12:00", "2026-12-01 12:00", "2026-12-01 12:00 GMT+1"], dtype="str")
    times = parse_times(raw, day_first=True, practice_zone="Europe/Berlin")
    assert times.at.tolist() == [
        pd.Timestamp("2026-07-01 10:00"),  # CEST
        pd.Timestamp("2026-12-01 11:00"),  # CET
        pd.Timestamp("2026-12-01 11:00"),  # its own zone, untouched
    ]
    assert "Times without a time zone were read as Europe/Berlin time" in " ".join(times.notes)
    assert "the practice's time zone" in " ".join(times.notes)


def test_clock_changes_read_with_the_offset_before_the_change() -> None:
    raw = pd.Series(
        [
            "2026-10-25 02:30",  # happens twice in Berlin: the first (summer time) is taken
            "2026-03-29 02:30",  # skipped in Berlin: read as summer time's 03:30
            "2026-03-29 01:59",
            "2026-03-29 03:00",
        ],
        dtype="str",
    )
    times = parse_times(raw, day_first=True, practice_zone="Europe/Berlin")
    assert times.at.tolist() == [
        pd.Timestamp("2026-10-25 00:30"),
        pd.Timestamp("2026-03-29 01:30"),
        pd.Timestamp("2026-03-29 00:59"),
        pd.Timestamp("2026-03-29 01:00"),
    ]
    assert times.at.notna().all() and times.problems.isna().all()


def test_clock_changes_in_a_zone_whose_winter_is_its_dst() -> None:
    # Europe/Dublin's database calls winter the "DST" period; the rule does not depend on it.
    times = parse_times(
        pd.Series(["2026-10-25 01:30"], dtype="str"), day_first=True, practice_zone="Europe/Dublin"
    )
    assert times.at.iloc[0] == pd.Timestamp("2026-10-25 00:30")


def test_excel_serials_are_wall_clock_times_too() -> None:
    times = parse_times(
        pd.Series(["46328.82"], dtype="str"), day_first=True, practice_zone="America/New_York"
    )
    assert times.at.iloc[0] == pd.Timestamp("2026-11-03 00:40:48")  # EST, UTC-5


def test_the_file_zone_wins_over_the_practice_zone() -> None:
    raw = pd.Series(["2026-11-02 10:00"], dtype="str")
    times = parse_times(
        raw, day_first=True, file_zone="America/New_York", practice_zone="Europe/Berlin"
    )
    assert times.at.iloc[0] == pd.Timestamp("2026-11-02 15:00")
    assert any("America/New_York time (the time zone named in the file)" in n for n in times.notes)
    assert not any("Europe/Berlin" in note for note in times.notes)


def test_an_unknown_file_zone_falls_back_to_the_practice_zone() -> None:
    raw = pd.Series(["2026-11-02 10:00"], dtype="str")
    times = parse_times(raw, day_first=True, file_zone="Mars/Olympus", practice_zone="UTC")
    assert times.at.iloc[0] == pd.Timestamp("2026-11-02 10:00")
    assert "not known here" in " ".join(times.notes)
    assert "Mars" not in " ".join(times.notes)  # the file's text is never echoed


def test_without_a_practice_zone_times_are_kept_as_written_and_it_says_so() -> None:
    times = parse_times(pd.Series(["2026-11-02 10:00"], dtype="str"), day_first=True)
    assert times.at.iloc[0] == pd.Timestamp("2026-11-02 10:00")
    assert any("kept as written" in note for note in times.notes)
    zoned = parse_times(pd.Series(["2026-11-02 10:00Z"], dtype="str"), day_first=True)
    assert not any("time zone" in note for note in zoned.notes)


def test_month_name_times_without_a_zone_use_the_practice_zone() -> None:
    raw = pd.Series(["Nov 2, 2026 7:41 PM", "Nov 2, 2026 7:41 PM +0100"], dtype="str")
    times = parse_times(raw, day_first=True, practice_zone="America/New_York")
    assert times.at.tolist() == [pd.Timestamp("2026-11-03 00:41"), pd.Timestamp("2026-11-02 18:41")]


# --- through the readers ----------------------------------------------------------------------


def test_frame_carries_the_reason_per_row() -> None:
    text = (
        "email,completed_at,CON1\n"
        "a@b.org,2026-11-02 19:41,1\n"
        "a@b.org,02/11/26 19:41,1\n"
        "a@b.org,2026-11-02T19:41+99:00,1\n"
        "a@b.org,,1\n"
    )
    frame = read_export("plain.csv", text.encode()).frame
    problems = frame[parsed.COMPLETED_PROBLEM]
    assert problems.isna().tolist() == [True, False, False, True]
    assert at(frame, 3, parsed.COMPLETED_PROBLEM) == dates.TWO_DIGIT_YEAR
    assert at(frame, 4, parsed.COMPLETED_PROBLEM) == dates.FAR_OFFSET
    assert frame[parsed.COMPLETED].notna().tolist() == [True, False, False, False]
    assert at(frame, 3, parsed.COMPLETED_RAW) == "02/11/26 19:41"


def test_read_export_uses_the_practice_zone_and_says_which() -> None:
    text = "email,completed_at,CON1\na@b.org,2026-07-01 12:00,1\n"
    result = read_export("p.csv", text.encode(), context=ReadContext(time_zone="Europe/Berlin"))
    assert at(result.frame, 2, parsed.COMPLETED) == pd.Timestamp("2026-07-01 10:00")
    assert (
        "Times without a time zone were read as Europe/Berlin time (the practice's time zone)."
        in result.notes
    )


def test_qualtrics_zone_wins_over_the_practice_zone() -> None:
    data = (SAMPLES / "qualtrics.csv").read_bytes()
    result = read_export("q.csv", data, context=ReadContext(time_zone="America/New_York"))
    # RecordedDate is Europe/Berlin wall time, as the ImportId row says.
    assert at(result.frame, 4, parsed.COMPLETED) == pd.Timestamp("2026-10-20 18:15:11")
    assert not any("America/New_York" in note for note in result.notes)


def test_typeform_submit_dates_are_utc_whatever_the_practice_zone() -> None:
    text = (
        "#,How close did you feel?,email,Start Date (UTC),Submit Date (UTC),Network ID\n"
        "abc1,4,a@b.org,2026-11-02 10:00:00,2026-11-02 10:05:00,n1\n"
    )
    result = read_export("t.csv", text.encode(), context=ReadContext(time_zone="Asia/Tokyo"))
    assert result.source == "typeform"
    assert at(result.frame, 2, parsed.COMPLETED) == pd.Timestamp("2026-11-02 10:05:00")
    assert any("read as UTC (the time zone named in the file)" in n for n in result.notes)


def test_microsoft_forms_serials_in_the_practice_zone() -> None:
    header = ["Id", "Start time", "Completion time", "Email", "Name", "Q1"]
    data = _workbook([header, [1, None, 46328.82, "a@b.org", "X", 3]])
    result = read_export("ms.xlsx", data, context=ReadContext(time_zone="Europe/Berlin"))
    assert at(result.frame, 2, parsed.COMPLETED) == pd.Timestamp("2026-11-02 18:40:48")


def test_samples_read_without_refusals_in_a_practice_zone() -> None:
    for path in sorted(SAMPLES.glob("*.*")):
        if path.suffix not in (".csv", ".xlsx"):
            continue
        result = read_export(path.name, path.read_bytes(), context=ReadContext(time_zone="UTC"))
        assert result.frame[parsed.COMPLETED].notna().all(), path.name
        assert result.frame[parsed.COMPLETED_PROBLEM].isna().all(), path.name


def test_years_beyond_python_datetime_are_left_unread_not_crashed_on() -> None:
    raw = pd.Series(["9999-12-31T23:59:59-12:00", "9999-12-31 23:00", "Dec 31, 9999"], dtype="str")
    times = parse_times(raw, day_first=True, practice_zone="America/Adak")
    assert times.at.isna().all()
    assert any("could not be read as dates: 3." in note for note in times.notes)
