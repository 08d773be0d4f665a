"""The contract between the file readers and the import pipeline.

Readers (readers.py, one adapter per survey tool) turn raw bytes into a `ParsedFile`: one row per
response, tool quirks already undone. The pipeline (mapping, validation, commit) only ever sees a
`ParsedFile`, never the original file layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

# Reserved columns of ParsedFile.frame (every other column is a question column).
# _row: int, the row number as the therapist sees it in the file (1 is the header row of a
# one-header file, so the first data row is 2; Qualtrics data starts at 4).
ROW = "_row"
# Lower-cased and stripped, or NA.
EMAIL = "_respondent_email"
# Upper-cased and stripped, or NA.
CLIENT_CODE = "_respondent_code"
# datetime64, naive UTC; NaT when missing or unparseable.
COMPLETED = "_completed_at"
# The original text of the completion time, for messages; or NA.
COMPLETED_RAW = "_completed_raw"
# The survey tool's own response id, when it has one; or NA.
RESPONSE_ID = "_response_id"
# Why the completion time was refused rather than guessed (e.g. a two-digit year), in plain
# words; NA when it was read or is simply missing/unreadable.
COMPLETED_PROBLEM = "_completed_problem"
RESERVED = (ROW, EMAIL, CLIENT_CODE, COMPLETED, COMPLETED_RAW, RESPONSE_ID, COMPLETED_PROBLEM)

SOURCES = {
    "google_forms": "Google Forms",
    "microsoft_forms": "Microsoft Forms",
    "qualtrics": "Qualtrics",
    "redcap": "REDCap",
    "typeform": "Typeform",
    "generic_wide": "Plain CSV (one row per response)",
    "generic_long": "Plain CSV (one row per answer)",
}


@dataclass(frozen=True)
class RowIssue:
    """A row that cannot be imported, with a reason in plain words (never the row's content)."""

    row: int
    reason: str


@dataclass
class ParsedFile:
    """One uploaded export, normalised.

    `frame` has the RESERVED columns plus one column per question, named by the question's header
    text (or item code) exactly as the file has it, made unique ("Q", "Q (2)") when the file
    repeats a header. Question values are stripped strings as written in the file (labels like
    "Strongly agree" or numbers like "5" / "4,0"), or NA when blank.
    """

    source: str
    frame: pd.DataFrame
    question_columns: list[str]
    header_signature: str
    file_name: str = ""
    checksum: str = ""
    # Rows the reader set aside on purpose (Qualtrics preview/test/spam or unfinished responses,
    # REDCap events where the form is not used, blank rows) with the reason.
    skipped: list[RowIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def source_label(self) -> str:
        return SOURCES.get(self.source, self.source)
