"""Table helpers shared by the readers: cell cleaning, header names, header rows, column lookup.

A "grid" is the file as read: a DataFrame of `str` cells (stripped, NaN when blank) whose columns
are positions 0..n-1 and whose index is the 0-based record number in the file, so that the row a
therapist sees in a spreadsheet is always `index + 1`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.errors import CaseloadError
from analytics.importing.parsed import RESERVED, RowIssue

_NON_WORD = re.compile(r"[^0-9a-z@#]+")
# Headers pandas or Excel invent for columns that had none; they carry nothing.
_INVENTED = re.compile(r"^(Unnamed: \d+(_level_\d+)?|Column\d+)$")


def key(text: object) -> str:
    """A header reduced for comparison: case-folded, punctuation and spacing collapsed."""
    return " ".join(_NON_WORD.sub(" ", str(text).casefold()).split())


def clean_cells(grid: pd.DataFrame) -> pd.DataFrame:
    """Strip every cell, turn blank cells into NaN and drop columns that are blank throughout."""
    # One string operation over every cell, column after column, then cut back into columns:
    # pandas spends about a millisecond on each call, which a 1,000-column file would pay
    # thousands of times over if each column were cleaned on its own.
    height = len(grid)
    if grid.shape[1] == 0:
        return grid.set_axis(pd.RangeIndex(0), axis=1)
    stacked = pd.concat([grid[c].astype("str") for c in grid.columns], ignore_index=True)
    stripped = stacked.str.strip()
    cells = stripped.mask(stripped == "").array
    out = pd.DataFrame(
        {n: cells[n * height : (n + 1) * height] for n in range(grid.shape[1])}, index=grid.index
    )
    out = out.dropna(axis=1, how="all")
    out.columns = pd.RangeIndex(out.shape[1])
    return out


def header_names(raw: Iterable[object]) -> list[str]:
    """Column names from a header row: blank ones named by position, repeats made unique."""
    taken = set(RESERVED)
    names: list[str] = []
    for position, cell in enumerate(raw, start=1):
        text = "" if pd.isna(cell) else str(cell).replace("\ufeff", "").strip()  # type: ignore[call-overload]
        if not text or _INVENTED.match(text):
            text = f"Column {position}"
        name, copy = text, 1
        while name in taken:
            copy += 1
            name = f"{text} ({copy})"
        taken.add(name)
        names.append(name)
    return names


@dataclass
class Sheet:
    """A grid split into header row(s) and body, with blank rows set aside."""

    headers: list[str]
    header_rows: list[list[str]]
    body: pd.DataFrame
    skipped: list[RowIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def first_filled_row(grid: pd.DataFrame) -> int:
    """Position of the first row with any content (the header row)."""
    filled = grid.notna().any(axis=1).to_numpy()
    if not filled.any():
        raise CaseloadError("The file is empty.")
    return int(np.argmax(filled))


def split_header(grid: pd.DataFrame, header_rows: int = 1) -> Sheet:
    """Take `header_rows` rows from the first filled row as headers; the rest is the body."""
    start = first_filled_row(grid)
    top = grid.iloc[start : start + header_rows]
    raw_rows = [["" if pd.isna(v) else str(v) for v in row] for row in top.itertuples(index=False)]
    body = grid.iloc[start + header_rows :]
    # Columns with no header and nothing below it carry nothing (trailing separators and the like).
    invented = [
        [isinstance(v, str) and bool(_INVENTED.fullmatch(v)) for v in row] for row in raw_rows
    ]
    named = top.notna() & ~pd.DataFrame(invented, index=top.index, columns=top.columns, dtype=bool)
    keep = named.any(axis=0) | body.notna().any(axis=0)
    body = body.loc[:, keep]
    raw_rows = [[cell for cell, k in zip(row, keep, strict=True) if k] for row in raw_rows]
    headers = header_names(raw_rows[0]) if raw_rows else []
    body = body.set_axis(headers, axis=1)
    blank = body.isna().all(axis=1)
    if bool(blank.all()):
        raise CaseloadError("The file has column headers but no responses.")
    last = int(blank[~blank].index.max())
    interior = blank[blank & (blank.index < last)].index
    skipped = [RowIssue(int(i) + 1, "blank row") for i in interior]
    return Sheet(headers, raw_rows, body[~blank], skipped)


def find(headers: Sequence[str], names: Iterable[str], exclude: Iterable[str] = ()) -> str | None:
    """The first header whose key is one of `names` (keys), skipping `exclude`."""
    wanted, used = set(names), set(exclude)
    for header in headers:
        if header not in used and key(header) in wanted:
            return header
    return None


EMAIL_NAMES = frozenset(
    {
        "email",
        "e mail",
        "email address",
        "e mail address",
        "emailaddress",
        "your email",
        "your email address",
        "respondent email",
        "partner email",
        "client email",
        "recipientemail",
        "recipient email",
    }
)
CODE_NAMES = frozenset(
    {
        "client code",
        "clientcode",
        "client id",
        "your client code",
        "participant code",
        "respondent code",
        "partner code",
        "code",
    }
)
# Columns that may hold either an email address or a client code.
MIXED_NAMES = frozenset(
    {"respondent", "respondent id", "partner", "participant", "participant id", "client", "person"}
)
DATE_NAMES = frozenset(
    {
        "completed at",
        "completed",
        "completed on",
        "date completed",
        "completion time",
        "completion date",
        "submitted",
        "submitted at",
        "submit date",
        "timestamp",
        "date",
        "datetime",
        "date time",
        "response date",
        "recorded date",
        "end date",
    }
)
RESPONSE_ID_NAMES = frozenset({"response id", "responseid", "submission id"})


@dataclass(frozen=True)
class Respondent:
    """Which columns identify the respondent (None when the file has no such column)."""

    email: str | None = None
    code: str | None = None
    mixed: str | None = None

    @property
    def columns(self) -> list[str]:
        return [c for c in (self.email, self.code, self.mixed) if c]


def respondent(
    headers: Sequence[str], *, email: str | None = None, code: str | None = None
) -> Respondent:
    """Find the respondent columns; a tool's own email/code column (if given) comes first."""
    email = email or find(headers, EMAIL_NAMES)
    code = code or find(headers, CODE_NAMES, exclude=[email or ""])
    mixed = None if email or code else find(headers, MIXED_NAMES)
    return Respondent(email, code, mixed)
