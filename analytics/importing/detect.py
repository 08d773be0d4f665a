"""Which survey tool wrote a file, judged from its header row(s) alone."""

from __future__ import annotations

import re

import pandas as pd

from analytics.errors import CaseloadError
from analytics.importing import frames
from analytics.importing.content import find_respondent
from analytics.importing.frames import key

# Google Forms names its first column "Timestamp" in the form owner's language.
GOOGLE_TIMESTAMPS = frozenset(
    {
        "timestamp",
        "marca temporal",
        "horodateur",
        "zeitstempel",
        "tijdstempel",
        "carimbo de data hora",
        "informazioni cronologiche",
        "sygnatura czasowa",
    }
)
QUALTRICS_IDS = frozenset(
    {"responseid", "recordeddate", "ipaddress", "startdate", "enddate", "distributionchannel"}
)
MICROSOFT_COLUMNS = frozenset({"id", "start time", "completion time"})
TYPEFORM_COLUMNS = frozenset({"submit date utc", "start date utc", "network id"})
REDCAP_FIELD = re.compile(r"^[a-z][a-z0-9_]*$")
LONG_ITEM_NAMES = frozenset({"item", "item code", "question", "question code", "field", "variable"})
LONG_VALUE_NAMES = frozenset({"value", "answer", "score", "rating", "response value"})
RESPONDENT_NAMES = frames.EMAIL_NAMES | frames.CODE_NAMES | frames.MIXED_NAMES


def _header_rows(grid: pd.DataFrame, count: int) -> list[list[str]]:
    start = frames.first_filled_row(grid)
    top = grid.iloc[start : start + count]
    return [["" if pd.isna(v) else str(v) for v in row] for row in top.itertuples(index=False)]


def is_qualtrics(rows: list[list[str]]) -> bool:
    """Qualtrics: ResponseId/RecordedDate columns, or the ImportId JSON row under the headers."""
    keys = {key(h) for h in rows[0]}
    if len(keys & QUALTRICS_IDS) >= 3:
        return True
    return len(rows) > 2 and any(cell.startswith('{"ImportId"') for cell in rows[2])


def is_redcap(headers: list[str]) -> bool:
    """REDCap raw export: redcap_* columns, or lower-case field names with a <form>_complete."""
    filled = [h for h in headers if h]
    if any(h.startswith("redcap_") for h in filled) or (filled and filled[0] == "record_id"):
        return True
    return any(h.endswith("_complete") for h in filled) and sum(
        bool(REDCAP_FIELD.match(h)) for h in filled
    ) >= 0.9 * len(filled)


def _respondent_by_content(grid: pd.DataFrame, known_codes: frozenset[str]) -> bool:
    """Whether some column below the header row holds email addresses or known client codes."""
    body = grid.iloc[frames.first_filled_row(grid) + 1 :]
    return find_respondent(body, known_codes) is not None


def detect(grid: pd.DataFrame, *, known_codes: frozenset[str] = frozenset()) -> str:
    """The key of parsed.SOURCES for this file, or a CaseloadError saying why none fits."""
    rows = _header_rows(grid, 3)
    headers = rows[0]
    keys = [key(h) for h in headers]
    key_set = set(keys)
    if is_qualtrics(rows):
        return "qualtrics"
    if is_redcap(headers):
        return "redcap"
    if key_set >= MICROSOFT_COLUMNS:
        return "microsoft_forms"
    if headers[0].strip() == "#" and key_set & TYPEFORM_COLUMNS:
        return "typeform"
    if keys[0] in GOOGLE_TIMESTAMPS and headers[0][:1].isupper():
        return "google_forms"
    if key_set & RESPONDENT_NAMES:
        if key_set & LONG_ITEM_NAMES and key_set & LONG_VALUE_NAMES and len(key_set) <= 8:
            return "generic_long"
        return "generic_wide"
    if _respondent_by_content(grid, known_codes):
        # A plain file whose respondent column has a title no list knows (see content.py).
        return "generic_wide"
    raise CaseloadError(
        "This does not look like a survey export: the first row should hold column headers, "
        "and none of them names the respondent (an email or client code column) or matches "
        "the layout of Google Forms, Microsoft Forms, Qualtrics, REDCap or Typeform.",
        hint="Export the responses from the survey tool again, or add a client_code column.",
    )
