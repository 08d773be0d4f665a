"""Qualtrics CSV: column ids, question texts and ImportId JSON as three header rows.

Preview, test and spam responses and unfinished ones are set aside with a reason. The recorded
date is read in the time zone Qualtrics names in the ImportId row (converted to UTC).
"""

from __future__ import annotations

import json
import re

import pandas as pd

from analytics.importing.assemble import Extract
from analytics.importing.frames import (
    CODE_NAMES,
    first_filled_row,
    header_names,
    key,
    respondent,
    split_header,
)

# Ids Qualtrics gives questions itself; a therapist's own ids (e.g. "CON1") are kept as names.
_AUTO_ID = re.compile(r"^(Q|QID)\d+(_\d+)*(_TEXT)?$", re.IGNORECASE)
_META = frozenset(
    {
        "startdate",
        "enddate",
        "status",
        "ipaddress",
        "progress",
        "duration in seconds",
        "finished",
        "recordeddate",
        "responseid",
        "recipientlastname",
        "recipientfirstname",
        "recipientemail",
        "externalreference",
        "externaldatareference",
        "locationlatitude",
        "locationlongitude",
        "distributionchannel",
        "userlanguage",
    }
)
_PREVIEW = ("1", "17", "survey preview", "offline survey preview")
_TEST = ("2", "survey test")
_SPAM = ("8", "9", "spam")


def _header_count(grid: pd.DataFrame) -> int:
    start = first_filled_row(grid)
    rows = [
        ["" if pd.isna(v) else str(v) for v in row]
        for row in grid.iloc[start : start + 3].itertuples(index=False)
    ]
    if len(rows) > 2 and any('"ImportId"' in cell for cell in rows[2]):
        return 3
    if len(rows) > 1 and {"response id", "start date", "recorded date"} & {key(c) for c in rows[1]}:
        return 2
    return 1


def _time_zone(import_cell: str) -> str | None:
    try:
        zone = json.loads(import_cell).get("timeZone")
    except (ValueError, AttributeError):
        return None
    return zone if isinstance(zone, str) and zone else None


def read_qualtrics(grid: pd.DataFrame) -> Extract:
    """Qualtrics "CSV" download (choice text or numeric values)."""
    count = _header_count(grid)
    sheet = split_header(grid, count)
    ids = sheet.header_rows[0]
    texts = sheet.header_rows[1] if count > 1 else ids
    names = header_names(
        text if _AUTO_ID.match(column_id) and text else column_id
        for column_id, text in zip(ids, texts, strict=True)
    )
    body = sheet.body.set_axis(names, axis=1)
    by_id = {key(column_id): name for column_id, name in zip(ids, names, strict=True)}
    embedded_code = next((by_id[k] for k in by_id if k in CODE_NAMES), None)
    code = embedded_code or by_id.get("externalreference") or by_id.get("externaldatareference")
    who = respondent(names, email=by_id.get("recipientemail"), code=code)
    completed = by_id.get("recordeddate") or by_id.get("enddate")
    zone = None
    if completed and count > 2:
        zone = _time_zone(sheet.header_rows[2][names.index(completed)])
    used = set(who.columns)
    questions = [
        name
        for column_id, name in zip(ids, names, strict=True)
        if name not in used and key(column_id) not in _META and not column_id.startswith("Q_")
    ]
    extract = Extract(
        body,
        questions,
        email=who.email,
        code=who.code,
        mixed=who.mixed,
        completed=completed,
        response_id=by_id.get("responseid"),
        day_first=False,
        time_zone=zone,
        skipped=sheet.skipped,
    )
    status_column = by_id.get("status")
    if status_column:
        status = extract.body[status_column].str.casefold()
        extract.drop(status.isin(_SPAM) | status.str.contains("spam"), "marked as spam")
        status = extract.body[status_column].str.casefold()
        extract.drop(status.isin(_PREVIEW) | status.str.contains("preview"), "survey preview")
        status = extract.body[status_column].str.casefold()
        extract.drop(status.isin(_TEST) | status.str.contains("test"), "survey test response")
    finished_column = by_id.get("finished")
    if finished_column:
        finished = extract.body[finished_column].str.casefold()
        extract.drop(finished.isin(("false", "0", "no")), "unfinished response")
    return extract
