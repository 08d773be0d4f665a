"""What a tool reader hands back (`Extract`) and how it becomes the contract's frame."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.importing import parsed
from analytics.importing.dates import RESULT_DTYPE, parse_times
from analytics.importing.frames import key
from analytics.importing.parsed import RowIssue

# "4,0" or "-1,5" in an answer cell: a decimal comma (three digits after it would be thousands).
_DECIMAL_COMMA = r"^(-?\d{1,6}),(\d{1,2})$"


@dataclass
class Extract:
    """One tool's reading of a file: the response rows and which columns mean what.

    `body` is indexed by the 0-based record number of each response's (first) row in the file.
    Column roles name columns of `body`; `response_ids` may instead give the ids directly.
    """

    body: pd.DataFrame
    questions: list[str]
    email: str | None = None
    code: str | None = None
    mixed: str | None = None
    completed: str | None = None
    response_id: str | None = None
    response_ids: pd.Series | None = None
    day_first: bool = False
    # The IANA zone the file itself names for times written without one (Qualtrics' ImportId).
    time_zone: str | None = None
    skipped: list[RowIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def drop(self, mask: pd.Series, reason: str) -> None:
        """Set aside the rows where `mask` holds, recording `reason` for each."""
        mask = mask.reindex(self.body.index).fillna(False).astype(bool)
        self.skipped.extend(RowIssue(int(i) + 1, reason) for i in self.body.index[mask])
        self.body = self.body[~mask]
        if self.response_ids is not None:
            self.response_ids = self.response_ids[~mask]


def _blank(index: pd.Index) -> pd.Series:
    return pd.Series(np.nan, index=index, dtype="str")


def _column(body: pd.DataFrame, name: str | None) -> pd.Series:
    return body[name].astype("str") if name else _blank(body.index)


def _respondents(extract: Extract) -> tuple[pd.Series, pd.Series]:
    body = extract.body
    email = _column(body, extract.email).str.lower()
    code = _column(body, extract.code).str.upper()
    if extract.mixed:
        mixed = body[extract.mixed].astype("str")
        is_email = mixed.str.contains("@", regex=False).fillna(False).astype(bool)
        email = email.fillna(mixed.where(is_email).str.lower())
        code = code.fillna(mixed.where(~is_email).str.upper())
    return email, code


def _answers(body: pd.DataFrame, questions: list[str], notes: list[str]) -> pd.DataFrame:
    """Question cells as text, obvious decimal commas ("4,0") written with a point."""
    columns, changed = {}, 0
    for name in questions:
        values = body[name].astype("str")
        # Answer columns hold a handful of distinct values: fix those, then spread them back.
        codes, distinct = pd.factorize(values)
        distinct = pd.Index(distinct, dtype="str")
        fixed = distinct.str.replace(_DECIMAL_COMMA, r"\1.\2", regex=True)
        if not fixed.equals(distinct):
            values = pd.Series(fixed.take(codes), index=values.index, dtype="str").mask(codes < 0)
            changed += int(np.isin(codes, np.flatnonzero(fixed != distinct)).sum())
        columns[name] = values
    if changed:
        notes.append(f"Answers with a decimal comma (like 4,0) were read as 4.0: {changed}.")
    return pd.DataFrame(columns, index=body.index)


def signature(questions: list[str]) -> str:
    """The same set of question headers (any order, case or punctuation) -> the same hash."""
    return hashlib.sha256(json.dumps(sorted(key(q) for q in questions)).encode()).hexdigest()


def file_zone(extract: Extract) -> str | None:
    """The zone the file names for its zone-less times: its own, or UTC when the completion
    column's header says so (Typeform's "Submit Date (UTC)")."""
    if extract.time_zone:
        return extract.time_zone
    if extract.completed and "utc" in key(extract.completed).split():
        return "UTC"
    return None


def to_frame(extract: Extract, *, time_zone: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The contract's frame (RESERVED columns, then question columns) and notes about it.

    `time_zone` is the practice's IANA zone: times written without a zone are read in it unless
    the file names its own; None keeps them as written.
    """
    notes: list[str] = []
    body = extract.body
    email, code = _respondents(extract)
    raw = _column(body, extract.completed)
    problems = _blank(body.index)
    if extract.completed:
        times = parse_times(
            raw,
            day_first=extract.day_first,
            file_zone=file_zone(extract),
            practice_zone=time_zone,
        )
        completed, problems = times.at, times.problems
        notes.extend(times.notes)
    else:
        completed = pd.Series(pd.NaT, index=body.index, dtype=RESULT_DTYPE)
        notes.append("No column gives the completion time.")
    if extract.response_ids is not None:
        ids = extract.response_ids.astype("str")
    else:
        ids = _column(body, extract.response_id)
    if not extract.email and not extract.code and not extract.mixed:
        notes.append("No column identifies the respondent (email address or client code).")
    reserved = pd.DataFrame(
        {
            parsed.ROW: pd.Series(body.index.to_numpy() + 1, index=body.index, dtype="int64"),
            parsed.EMAIL: email,
            parsed.CLIENT_CODE: code,
            parsed.COMPLETED: completed,
            parsed.COMPLETED_RAW: raw,
            parsed.RESPONSE_ID: ids,
            parsed.COMPLETED_PROBLEM: problems,
        },
        index=body.index,
    )
    answers = _answers(body, extract.questions, notes)
    frame = pd.concat([reserved, answers], axis=1).reset_index(drop=True)
    return frame, notes
