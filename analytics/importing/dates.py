"""Completion times as survey tools and Excel write them -> naive UTC timestamps, vectorised.

Handled: ISO ("2026-11-02 19:41:12", "2026-11-02T19:41:12Z", "+01:00"), Google Forms
("2026/11/02 7:41:12 PM GMT+1"), day/month or month/day dates with 2- or 4-digit years, AM/PM,
zone names ("EET"), Excel serial numbers (46329.82) and, as a last resort, month names
("Nov 2, 2026"). Times without a zone are taken in `time_zone` when the file names one
(Qualtrics), otherwise as written.
"""

from __future__ import annotations

import re
import zoneinfo
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
# Zone abbreviations seen in exports, in minutes east of UTC. Ambiguous ones (IST) are left out.
ZONES = {
    "Z": 0, "UT": 0, "UTC": 0, "GMT": 0, "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "MET": 60,
    "CEST": 120, "MEST": 120, "EET": 120, "EEST": 180, "SAST": 120, "MSK": 180, "EST": -300,
    "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
    "AKST": -540, "AKDT": -480, "HST": -600, "AWST": 480, "ACST": 570, "ACDT": 630, "AEST": 600,
    "AEDT": 660, "NZST": 720, "NZDT": 780, "JST": 540, "KST": 540, "SGT": 480, "HKT": 480,
}  # fmt: skip
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
RESULT_DTYPE: Final = "datetime64[us]"


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


def _localize(local: pd.Series, zone_name: str, notes: list[str]) -> pd.Series:
    """Local wall-clock times in an IANA zone -> naive UTC (impossible/ambiguous times -> NaT)."""
    try:
        zone = zoneinfo.ZoneInfo(zone_name)
        aware = local.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        utc: pd.Series = aware.dt.tz_convert("UTC").dt.tz_localize(None)
    except Exception:  # unknown or malformed zone names fail in several ways
        notes.append("The file names a time zone that is not known here; times kept as written.")
        return local
    notes.append(f"Times were converted from {zone.key} (named in the file) to UTC.")
    return utc


def _month_names(raw: pd.Series, todo: pd.Series) -> pd.Series:
    """Last resort for texts like "Nov 2, 2026 7:41 PM": parsed per distinct value."""
    candidates = raw[todo & raw.str.contains(_MONTH_NAME) & raw.str.contains(r"\d{4}")]
    if candidates.empty:
        return pd.Series(pd.NaT, index=raw.index, dtype=RESULT_DTYPE)
    distinct = pd.Series(candidates.unique())
    try:
        parsed = pd.to_datetime(distinct, format="mixed", errors="coerce", utc=True)
        lookup = pd.Series(parsed.dt.tz_localize(None).to_numpy(), index=distinct.to_numpy())
    except Exception:  # dateutil can fail in odd ways on odd text; such values stay unread
        return pd.Series(pd.NaT, index=raw.index, dtype=RESULT_DTYPE)
    return raw.map(lookup).astype(RESULT_DTYPE)


def parse_times(
    raw: pd.Series, *, day_first: bool, time_zone: str | None = None
) -> tuple[pd.Series, list[str]]:
    """Parse a column of completion-time texts; return naive UTC timestamps and notes."""
    notes: list[str] = []
    raw = raw.astype("str")
    # Object dtype: pandas extracts with Python's re either way, and skipping the conversion of
    # every group back to Arrow strings halves the time.
    parts = raw.astype(object).str.extract(_PATTERN)
    numeric = [name for name in parts.columns if name not in ("ap", "z", "zs", "f")]
    n = {name: parts[name].astype("float64") for name in numeric}
    p, q = n["p"], n["q"]
    is_day_first, note = _day_order(p, q, day_first)
    if note:
        notes.append(note)
    year = n["y1"].fillna(n["y2"])
    year = year.where(year >= 100, year + 2000)
    month = n["m1"].fillna(q.where(is_day_first, p))
    day = n["d1"].fillna(p.where(is_day_first, q))
    hour, minute, second = n["h"].fillna(0), n["mi"].fillna(0), n["s"].fillna(0)
    fraction = ("0." + parts["f"].fillna("0")).astype("float64")
    ampm = parts["ap"].str.upper()
    has_ampm = ampm.notna()
    valid = (
        month.between(1, 12)
        & day.between(1, 31)
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 59)
        & ~(has_ampm & ((hour > 12) | (hour == 0)))
    )
    hour = hour.where(~has_ampm, hour % 12 + np.where(ampm == "P", 12, 0))
    ymd = pd.DataFrame({"year": year, "month": month, "day": day}).where(valid)
    dates = pd.to_datetime(ymd, errors="coerce")
    seconds = (hour * 3600 + minute * 60 + second + fraction).round()
    local = (dates + pd.to_timedelta(seconds, unit="s")).astype(RESULT_DTYPE)

    zone = parts["z"].str.upper()
    named = zone.map(ZONES)
    unknown_zone = zone.notna() & named.isna()
    sign = parts["zs"].map({"+": 1, "-": -1})
    offset = named.fillna(0) + (sign * (n["zh"] * 60 + n["zm"].fillna(0))).fillna(0)
    explicit = zone.notna() | sign.notna()
    result = local - pd.to_timedelta(offset, unit="m")
    if time_zone and bool((~explicit & local.notna()).any()):
        result = result.where(explicit, _localize(local, time_zone, notes))
    result = result.mask(unknown_zone)
    if bool(unknown_zone.any()):
        notes.append(f"Times with an unrecognised time zone name: {int(unknown_zone.sum())}.")

    serial = n["serial"].where(n["serial"].between(20000, 80000))
    from_serial = (_EXCEL_EPOCH + pd.to_timedelta((serial * 86400).round(), unit="s")).astype(
        RESULT_DTYPE
    )
    result = result.fillna(from_serial)
    if bool(serial.notna().any()):
        notes.append("Some times were Excel serial numbers and were converted to dates.")
    todo = result.isna() & raw.notna()
    if bool(todo.any()):
        result = result.fillna(_month_names(raw, todo))
        unread = int((result.isna() & raw.notna()).sum())
        if unread:
            notes.append(f"Completion times that could not be read as dates: {unread}.")
    return result.astype(RESULT_DTYPE), notes
