"""Form builders with one header row: Google Forms, Microsoft Forms and Typeform."""

from __future__ import annotations

import pandas as pd

from analytics.importing.assemble import Extract
from analytics.importing.frames import EMAIL_NAMES, find, key, respondent, split_header


def _questions(headers: list[str], used: set[str], meta_keys: frozenset[str]) -> list[str]:
    return [h for h in headers if h not in used and key(h) not in meta_keys]


def read_google_forms(grid: pd.DataFrame) -> Extract:
    """Timestamp, optional "Email Address", then one column per question."""
    sheet = split_header(grid)
    headers = sheet.headers
    who = respondent(headers, email=find(headers, EMAIL_NAMES | {"username"}))
    used = {headers[0], *who.columns}
    return Extract(
        sheet.body,
        _questions(headers, used, frozenset({"score"})),
        email=who.email,
        code=who.code,
        mixed=who.mixed,
        completed=headers[0],
        # Google writes "2026/11/02 ..." or, in a US-locale sheet, "11/2/2026 ...".
        day_first=False,
        skipped=sheet.skipped,
    )


_MICROSOFT_META = frozenset(
    {"id", "start time", "completion time", "last modified time", "name", "total points"}
    | {"quiz feedback", "email"}
)


def read_microsoft_forms(grid: pd.DataFrame) -> Extract:
    """Id, Start time, Completion time, Email, Name, (Last modified time), then questions."""
    sheet = split_header(grid)
    headers, body = sheet.headers, sheet.body
    email = find(headers, {"email"})
    if email:
        # Anonymous forms write the word "anonymous" where the address would be.
        body[email] = body[email].mask(body[email].str.casefold() == "anonymous")
    who = respondent(headers, email=email)
    used = set(who.columns)
    # Quiz forms add "Points - <question>" and "Feedback - <question>" beside each question.
    questions = [
        h
        for h in _questions(headers, used, _MICROSOFT_META)
        if not h.startswith(("Points - ", "Feedback - "))
    ]
    return Extract(
        body,
        questions,
        email=who.email,
        code=who.code,
        mixed=who.mixed,
        completed=find(headers, {"completion time"}),
        response_id=find(headers, {"id"}),
        day_first=False,
        skipped=sheet.skipped,
    )


_TYPEFORM_META = frozenset(
    {"start date utc", "stage date utc", "submit date utc", "network id", "tags"}
    | {"response type", "ending", "score"}
)


def read_typeform(grid: pd.DataFrame) -> Extract:
    """ "#" (response id), questions, Start/Submit Date (UTC), Network ID, hidden fields."""
    sheet = split_header(grid)
    headers = sheet.headers
    who = respondent(headers)
    used = {headers[0], *who.columns}
    extract = Extract(
        sheet.body,
        _questions(headers, used, _TYPEFORM_META),
        email=who.email,
        code=who.code,
        mixed=who.mixed,
        completed=find(headers, {"submit date utc"}),
        response_id=headers[0],
        day_first=False,
        skipped=sheet.skipped,
    )
    kind = find(headers, {"response type"})
    if kind:
        partial = extract.body[kind].str.casefold().eq("partial").fillna(False)
        extract.drop(partial, "unfinished response")
    return extract
