"""Completion times as survey tools and Excel write them -> naive UTC timestamps, vectorised.

Handled: ISO ("2026-11-02 19:41:12", "2026-11-02T19:41:12Z", "+01:00"), Google Forms
("2026/11/02 7:41:12 PM GMT+1"), day/month or month/day dates with four-digit years, AM/PM,
zone names ("EET"), Excel serial numbers (46329.82) and, as a last resort, month names
("Nov 2, 2026").

Refused rather than guessed (NaT plus a reason in `Times.problems`): two-digit years ("02/11/26"
could be 1926 or 2026), years before 1900 ("0026-11-02" is not 2026) and offsets from UTC beyond
±14 hours (no place on Earth uses one) or with more than 59 minutes.

Times written without a zone (Excel serials included) are wall-clock times somewhere: they are
read in the zone the file names (Qualtrics' ImportId row, Typeform's "(UTC)" headers), else in
the practice's time zone, else kept as written. A local time that a clock change makes ambiguous
(it happens twice) or impossible (it is skipped) is read with the UTC offset in force just before
the change, as Python's `fold=0` does: the earlier of two ambiguous instants, and a skipped time
as if the clock had not yet been put forward (02:30 on the spring-forward night -> 03:30 summer
time). No such time becomes NaT, which would reject its row.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

_DATE = (
    r"(?:(?P<y1>\d{4})[-/.](?P<m1>\d{1,2})[-/.](?P<d1>\d{1,2})"
    r"|(?P<p>\d{1,2})[-/.](?P<q>\d{1,2})[-/.](?P<y2>\d{4}|\d{2}))"
)
_TIME = (
    r"(?:(?:T|,?\s+)(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
    r"(?:\s*(?P<ap>[AaPp])\.?[Mm]\.?)?)?"
)
_ZONE = r"(?:\s*(?P<z>Z|[A-Za-z]{2,5})?(?:\s*(?P<zs>[+-])(?P<zh>\d{1,2})(?::?(?P<zm>\d{2}))?)?)"
_PATTERN = rf"^{_DATE}{_TIME}{_ZONE}$|^(?P<serial>\d{{5}}(?:\.\d+)?)$"
_MONTH_NAME = re.compile(r"[A-Za-z]{3}")
# The year of a month-name date: four digits not part of a time ("19:41") or a longer number.
_MONTH_NAME_YEAR = r"(?<![\d:])(\d{4})(?![\d:])"
# Zone abbreviations seen in exports, in minutes east of UTC. Ambiguous ones (IST) are left out.
ZONES = {
    "Z": 0, "UT": 0, "UTC": 0, "GMT": 0, "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "MET": 60,
    "CEST": 120, "MEST": 120, "EET": 120, "EEST": 180, "SAST": 120, "MSK": 180, "EST": -300,
    "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
    "AKST": -540, "AKDT": -480, "HST": -600, "AWST": 480, "ACST": 570, "ACDT": 630, "AEST": 600,
    "AEDT": 660, "NZST": 720, "NZDT": 780, "JST": 540, "KST": 540, "SGT": 480, "HKT": 480,
}  # fmt: skip
# The widest offsets in use are UTC-12 and UTC+14 (Kiribati); anything beyond is a broken stamp.
MAX_OFFSET_MINUTES: Final = 14 * 60
FIRST_YEAR: Final = 1900
# Later years are left unread: with an offset or a zone they would leave Python's datetime range.
LAST_YEAR: Final = 9998
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
RESULT_DTYPE: Final = "datetime64[us]"

TWO_DIGIT_YEAR: Final = (
    "The completion date has a two-digit year; export dates with four-digit years."
)
EARLY_YEAR: Final = "The completion date's year is before 1900."
FAR_OFFSET: Final = "The completion time's offset from UTC is beyond ±14 hours."
BAD_OFFSET: Final = "The completion time's offset from UTC has more than 59 minutes."


@dataclass
class Times:
    """A column of completion times read: naive UTC (NaT when missing, unreadable or refused),
    why each refused one was refused (NA otherwise) and notes about the column as a whole."""

    at: pd.Series
    problems: pd.Series
    notes: list[str] = field(default_factory=list)


def _day_order(p: pd.Series, q: pd.Series, day_first: bool) -> tuple[pd.Series, str | None]:
    """Which of p/q is the day in "p/q/yyyy" dates: settled by any value above 12, else by rule."""
    p_big, q_big = bool((p > 12).any()), bool((q > 12).any())
    if p_big and not q_big:
        return pd.Series(True, index=p.index), (
            "Dates were read as day/month/year because some have a day above 12."
        )
    if q_big and not p_big:
        return pd.Series(False, index=p.index), (
            "Dates were read as month/day/year because some have a day above 12."
        )
    order = "day/month/year" if day_first else "month/day/year"
    if p_big and q_big:
        note = f"Dates mix day/month and month/day; ambiguous ones were read as {order}."
        return (p > 12) | ((q <= 12) & day_first), note
    if bool(p.notna().any()):
        note = f"Dates like 02/11/2026 could be read either way; they were read as {order}."
        return pd.Series(day_first, index=p.index), note
    return pd.Series(day_first, index=p.index), None


def _zone(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The IANA zone of that name, or None when there is none or it is not known here."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except Exception:  # unknown or malformed keys fail in several ways (not found, bad path)
        return None


def _to_utc(local: pd.Series, zone: zoneinfo.ZoneInfo) -> pd.Series:
    """Wall-clock times in `zone` -> naive UTC, clock-change times read with the earlier offset."""
    offsets = []
    # Reading every ambiguous time once as summer and once as winter time, and keeping the larger
    # offset (the earlier instant), does not depend on which one the zone database calls DST.
    # A skipped time shifted back lands just before the change, so its offset is the one before.
    for summer in (True, False):
        aware = local.dt.tz_localize(
            zone, ambiguous=np.full(len(local), summer), nonexistent="shift_backward"
        )
        offsets.append(aware.dt.tz_localize(None) - aware.dt.tz_convert("UTC").dt.tz_localize(None))
    offset = offsets[0].where(offsets[0] >= offsets[1], offsets[1])
    utc: pd.Series = (local - offset).astype(RESULT_DTYPE)
    return utc


def _month_names(raw: pd.Series, todo: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Last resort for texts like "Nov 2, 2026 7:41 PM", parsed per distinct value: naive times
    (UTC when the text names a zone, else as written), whether it named one, and its problem."""
    candidates = raw[todo & raw.str.contains(_MONTH_NAME) & raw.str.contains(r"\d{4}")]
    stamps: dict[str, pd.Timestamp] = {}
    aware: dict[str, bool] = {}
    problems: dict[str, str] = {}
    for text in candidates.unique():
        try:
            stamp = pd.Timestamp(text)
        except Exception:  # dateutil fails in odd ways on odd text; such values stay unread
            continue
        if pd.isna(stamp) or stamp.year > LAST_YEAR:
            continue
        offset = stamp.utcoffset()
        year = re.search(_MONTH_NAME_YEAR, text)
        # dateutil reads "0026" as 2026: the year as written decides, not dateutil's guess.
        if stamp.year < FIRST_YEAR or (year is not None and int(year[1]) < FIRST_YEAR):
            problems[text] = EARLY_YEAR
        elif offset is not None and abs(offset) > pd.Timedelta(minutes=MAX_OFFSET_MINUTES):
            problems[text] = FAR_OFFSET
        else:
            aware[text] = offset is not None
            stamps[text] = (
                stamp.tz_convert("UTC").tz_localize(None) if offset is not None else stamp
            )
    times = _spread(raw, pd.Series(list(stamps.values()), index=list(stamps), dtype=RESULT_DTYPE))
    named = _spread(raw, pd.Series(list(aware.values()), index=list(aware), dtype=object))
    problem = _spread(raw, pd.Series(list(problems.values()), index=list(problems), dtype="str"))
    return times, named.fillna(False).astype(bool), problem


def _spread(raw: pd.Series, lookup: pd.Series) -> pd.Series:
    """`lookup` (indexed by distinct texts) spread over every row of `raw`, NA where absent."""
    values = lookup.reindex(pd.Index(raw.to_numpy(dtype=object)))
    return pd.Series(values.to_numpy(), index=raw.index, dtype=lookup.dtype)


def _zone_label(zone: zoneinfo.ZoneInfo) -> str:
    return "UTC" if zone.key == "UTC" else f"{zone.key} time"


def _read_local(
    local: pd.Series, file_zone: str | None, practice_zone: str | None, notes: list[str]
) -> pd.Series:
    """Times written without a zone, read in the file's zone, else the practice's, with a note."""
    zone_less = local.notna()
    if not bool(zone_less.any()):
        return local
    named = _zone(file_zone)
    if file_zone and named is None:
        notes.append("The file names a time zone that is not known here.")
    zone, why = (named, "the time zone named in the file") if named else (None, "")
    if zone is None:
        zone, why = _zone(practice_zone), "the practice's time zone"
        if practice_zone and zone is None:
            notes.append("The practice's time zone is not known here.")
    if zone is None:
        notes.append(
            "Times without a time zone were kept as written (no time zone is set to read them in)."
        )
        return local
    try:
        converted = _to_utc(local, zone)
    except (ValueError, OverflowError, NotImplementedError):  # out of range: keep them as written
        notes.append(f"Times without a time zone could not be read as {_zone_label(zone)}.")
        return local
    notes.append(f"Times without a time zone were read as {_zone_label(zone)} ({why}).")
    return converted


def parse_times(
    raw: pd.Series,
    *,
    day_first: bool,
    file_zone: str | None = None,
    practice_zone: str | None = None,
) -> Times:
    """Parse a column of completion-time texts into naive UTC, refusing what would be a guess."""
    notes: list[str] = []
    raw = raw.astype("str")
    # Object dtype: pandas extracts with Python's re either way, and skipping the conversion of
    # every group back to Arrow strings halves the time.
    parts = raw.astype(object).str.extract(_PATTERN)
    numeric = [name for name in parts.columns if name not in ("ap", "z", "zs", "f")]
    n = {name: parts[name].astype("float64") for name in numeric}
    # Refused dates (two-digit years) take no part in settling the day order.
    two_digit = parts["y2"].str.len().eq(2).fillna(False).astype(bool)
    p, q = n["p"].mask(two_digit), n["q"].mask(two_digit)
    is_day_first, note = _day_order(p, q, day_first)
    if note:
        notes.append(note)
    year = n["y1"].fillna(n["y2"])
    month = n["m1"].fillna(q.where(is_day_first, p))
    day = n["d1"].fillna(p.where(is_day_first, q))
    hour, minute, second = n["h"].fillna(0), n["mi"].fillna(0), n["s"].fillna(0)
    fraction = ("0." + parts["f"].fillna("0")).astype("float64")
    ampm = parts["ap"].str.upper()
    has_ampm = ampm.notna()

    zone = parts["z"].str.upper()
    named = zone.map(ZONES)
    unknown_zone = zone.notna() & named.isna()
    sign = parts["zs"].map({"+": 1, "-": -1})
    offset = named.fillna(0) + (sign * (n["zh"] * 60 + n["zm"].fillna(0))).fillna(0)
    explicit = zone.notna() | sign.notna()

    # The first reason that applies is given (a two-digit year before an odd offset).
    problems: pd.Series = pd.Series(np.nan, index=raw.index, dtype="str")
    for refuse, reason in reversed(
        [
            (two_digit, TWO_DIGIT_YEAR),
            (year < FIRST_YEAR, EARLY_YEAR),
            (offset.abs() > MAX_OFFSET_MINUTES, FAR_OFFSET),
            (n["zm"] > 59, BAD_OFFSET),
        ]
    ):
        problems = problems.mask(refuse, reason)
    refused = problems.notna()

    valid = (
        month.between(1, 12)
        & day.between(1, 31)
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
        & ~(has_ampm & ((hour > 12) | (hour == 0)))
        & (year <= LAST_YEAR)
        & ~refused
    )
    hour = hour.where(~has_ampm, hour % 12 + np.where(ampm == "P", 12, 0))
    ymd = pd.DataFrame({"year": year, "month": month, "day": day}).where(valid)
    dates = pd.to_datetime(ymd, errors="coerce")
    seconds = (hour * 3600 + minute * 60 + second + fraction).round()
    local = (dates + pd.to_timedelta(seconds, unit="s")).astype(RESULT_DTYPE)
    result = (local - pd.to_timedelta(offset, unit="m")).mask(unknown_zone | ~explicit)
    if bool(unknown_zone.any()):
        notes.append(f"Times with an unrecognised time zone name: {int(unknown_zone.sum())}.")

    serial = n["serial"].where(n["serial"].between(20000, 80000))
    from_serial = (_EXCEL_EPOCH + pd.to_timedelta((serial * 86400).round(), unit="s")).astype(
        RESULT_DTYPE
    )
    if bool(serial.notna().any()):
        notes.append("Some times were Excel serial numbers and were converted to dates.")
    # Wall-clock times still to be placed in a zone: zone-less texts, serials, month names.
    local = local.where(~explicit).fillna(from_serial)
    todo = result.isna() & local.isna() & raw.notna() & ~refused
    if bool(todo.any()):
        worded, worded_zone, worded_problems = _month_names(raw, todo)
        problems = problems.fillna(worded_problems)
        result = result.fillna(worded.where(worded_zone))
        local = local.fillna(worded.where(~worded_zone))
    result = result.fillna(_read_local(local, file_zone, practice_zone, notes))
    refused = problems.notna()
    if bool(refused.any()):
        notes.append(
            "Completion times refused rather than guessed (each row says why): "
            f"{int(refused.sum())}."
        )
    unread = int((result.isna() & raw.notna() & ~refused).sum())
    if unread:
        notes.append(f"Completion times that could not be read as dates: {unread}.")
    return Times(result.astype(RESULT_DTYPE), problems, notes)
