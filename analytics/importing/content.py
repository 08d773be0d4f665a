"""A respondent column recognised by what it holds (email addresses, or client codes on file)
when no header names it: a survey's email question may carry any title its author chose.

A column is taken when at least half of the file's rows fill it (a column most respondents left
blank cannot say who answered: one address typed into an "anything else?" box must not win) and
at least 90% of its filled cells are email addresses, or client codes on file. Answers to other
questions are never addresses or codes, so 90% is still decisive, and the 10% allowance keeps a
few mistyped addresses from hiding the column (those rows then match no client). Email
addresses beat codes, and codes beat a column that mixes the two (some respondents give one, some
the other); among equals the column with most matching cells wins, then the first.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from analytics.importing.assemble import Extract
from analytics.practice.couples import EMAIL

MIN_FILLED = 0.5
MIN_MATCHING = 0.9
# Answer scales write small whole numbers; a code like "12" in such a column is an answer.
_SCALE_NUMBER = r"\d{1,2}"
# Cells looked at in one go: bounds the memory of a wide or long file's check (~30 MB).
_CHUNK_CELLS = 500_000

Kind = Literal["email", "code", "mixed"]


@dataclass(frozen=True)
class Found:
    """A column recognised as the respondent's, and what it holds."""

    column: Hashable
    kind: Kind
    matching: int


@dataclass
class _Counts:
    filled: np.ndarray
    emails: np.ndarray
    codes: np.ndarray
    either: np.ndarray
    rows: int


def _count(body: pd.DataFrame, known_codes: frozenset[str]) -> _Counts:
    """Per column: filled cells, email addresses, known codes, cells that are one or the other;
    and the number of rows with anything in them.

    Columns are checked a chunk at a time, each chunk as one flat column of cells, so that a
    file with thousands of columns costs a few vectorised passes rather than one per column.
    """
    rows, width = body.shape
    per = max(1, _CHUNK_CELLS // max(rows, 1))
    codes = pd.Index(sorted(known_codes), dtype="str")
    filled, emails, coded, either = [], [], [], []
    row_filled = np.zeros(rows, dtype=bool)
    for start in range(0, width, per):
        part = body if per >= width else body.iloc[:, start : start + per]
        shape = (part.shape[1], rows)
        # Column after column: cell j of column i is at i * rows + j.
        flat = pd.Series(part.to_numpy(dtype=object).ravel(order="F"), dtype="str")
        present = flat.notna().to_numpy().reshape(shape)
        row_filled |= present.any(axis=0)
        filled.append(present.sum(axis=1))
        is_email = np.zeros(len(flat), dtype=bool)
        at_sign = flat.str.contains("@", regex=False).fillna(False).to_numpy(dtype=bool)
        if at_sign.any():
            matched = flat[at_sign].str.fullmatch(EMAIL.pattern).fillna(False)
            is_email[at_sign] = matched.to_numpy(dtype=bool)
        emails.append(is_email.reshape(shape).sum(axis=1))
        is_code = np.zeros(len(flat), dtype=bool)
        if len(codes):
            known = flat.str.upper().isin(codes) & ~flat.str.fullmatch(_SCALE_NUMBER)
            is_code = known.fillna(False).to_numpy(dtype=bool)
        coded.append(is_code.reshape(shape).sum(axis=1))
        either.append((is_email | is_code).reshape(shape).sum(axis=1))
    empty = np.zeros(0, dtype=np.int64)
    return _Counts(
        np.concatenate(filled or [empty]),
        np.concatenate(emails or [empty]),
        np.concatenate(coded or [empty]),
        np.concatenate(either or [empty]),
        int(row_filled.sum()),
    )


def find_respondent(
    body: pd.DataFrame, known_codes: frozenset[str], among: Collection[Hashable] | None = None
) -> Found | None:
    """The column of `body` (among `among`, default all) that clearly holds the respondents."""
    if body.empty:
        return None
    # Counting every column and masking is cheaper than selecting thousands of them first.
    counts = _count(body, known_codes)
    allowed = np.ones(body.shape[1], dtype=bool) if among is None else body.columns.isin(among)
    enough = allowed & (counts.filled >= MIN_FILLED * counts.rows) & (counts.filled > 0)
    checks: list[tuple[Kind, np.ndarray]] = [
        ("email", counts.emails),
        ("code", counts.codes),
        ("mixed", counts.either),
    ]
    for kind, matching in checks:
        taken = enough & (matching > 0) & (matching >= MIN_MATCHING * counts.filled)
        if taken.any():
            # argmax keeps the first of equals: the most matching cells, then file order.
            best = int(np.argmax(np.where(taken, matching, -1)))
            return Found(body.columns[best], kind, int(matching[best]))
    return None


_WORDS: dict[Kind, tuple[str, str]] = {
    "email": ("email address", "email addresses"),
    "code": ("client code", "client codes"),
    "mixed": ("email address or client code", "email addresses and client codes"),
}


def _filled(extract: Extract) -> bool:
    """Whether the columns the headers named as the respondent's hold anything at all."""
    named = [c for c in (extract.email, extract.code, extract.mixed) if c]
    return bool(named) and bool(extract.body[named].notna().any().any())


def propose_respondent(extract: Extract, *, known_codes: frozenset[str] = frozenset()) -> None:
    """When no header names a respondent column that holds anything, take one found by content
    (with a note saying which and why); otherwise leave the extract as it is."""
    if _filled(extract):
        return
    found = find_respondent(extract.body, known_codes, among=extract.questions)
    if found is None:
        return
    column = str(found.column)
    named = [c for c in (extract.email, extract.code, extract.mixed) if c]
    extract.email = column if found.kind == "email" else None
    extract.code = column if found.kind == "code" else None
    extract.mixed = column if found.kind == "mixed" else None
    extract.questions = [q for q in extract.questions if q != column]
    role, holds = _WORDS[found.kind]
    why = (
        "the columns whose headers name the respondent are empty"
        if named
        else "no column header names the respondent"
    )
    extract.notes.append(
        f'The column "{column}" was taken as the respondent\'s {role}: {why}, '
        f"and its cells hold {holds}."
    )
