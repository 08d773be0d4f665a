"""REDCap raw CSV export: one row per record and event (and repeat instance).

Fields come grouped by form, each form closed by its `<form>_complete` column. The form with the
most fields is taken as the questionnaire; rows where it is blank (an event where the form is not
used) are set aside. Identity fields usually live on another form at the first event, so email /
client code are carried to every row of the same record.
"""

from __future__ import annotations

import pandas as pd

from analytics.importing.assemble import Extract
from analytics.importing.frames import DATE_NAMES, find, key, respondent, split_header


def _forms(headers: list[str], meta: set[str]) -> list[list[str]]:
    """Field columns grouped by form, each list ending at its `_complete` column if any."""
    forms: list[list[str]] = [[]]
    for header in headers:
        if header in meta:
            continue
        forms[-1].append(header)
        if header.endswith("_complete"):
            forms.append([])
    return [form for form in forms if form]


def _completion_column(headers: list[str], form: list[str]) -> str | None:
    stamp = next((h for h in form if h.endswith("_timestamp")), None)
    stamp = stamp or next((h for h in headers if h.endswith("_timestamp")), None)
    dated = [h for h in form if key(h) in DATE_NAMES or "date" in key(h).split()]
    return stamp or (dated[0] if dated else find(headers, DATE_NAMES))


def read_redcap(grid: pd.DataFrame) -> Extract:
    """record id, redcap_event_name, (repeat instrument/instance), fields, <form>_complete."""
    sheet = split_header(grid)
    headers, body = sheet.headers, sheet.body
    record = headers[0]
    meta = {record, *(h for h in headers if h.startswith("redcap_"))}
    forms = _forms(headers, meta)
    main = max(forms, key=len) if forms else []
    completed = _completion_column(headers, main)
    who = respondent([h for h in headers if h not in meta])
    notes: list[str] = []
    code = who.code
    if not who.columns:
        code = record
        notes.append("No email or client code field; the REDCap record id was used as client code.")
    for column in {who.email, code, who.mixed} - {None, record}:
        assert column is not None
        first = body.groupby(record, dropna=False, sort=False)[column].transform("first")
        body[column] = body[column].fillna(first)
    status = next((h for h in reversed(main) if h.endswith("_complete")), None)
    answers = [h for h in main if h != status and h != completed and h not in who.columns]
    excluded = {completed, *who.columns}
    questions = [
        h
        for form in forms
        for h in form
        if h not in excluded and not h.endswith(("_complete", "_timestamp"))
    ]
    ids = body[record].fillna("")
    for name in ("redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"):
        if name in meta:
            ids = ids + "/" + body[name].fillna("")
    ids = ids.str.rstrip("/")
    extract = Extract(
        body,
        questions,
        email=who.email,
        code=code,
        mixed=who.mixed,
        completed=completed,
        response_ids=ids,
        day_first=False,
        skipped=sheet.skipped,
        notes=notes,
    )
    if answers:
        empty = extract.body[answers].isna().all(axis=1)
        unused = empty & (extract.body[status].isna() if status else True)
        events = "redcap_event_name" in meta
        extract.drop(unused, "form not used at this event" if events else "form not filled in")
        empty = extract.body[answers].isna().all(axis=1)
        extract.drop(empty, "form not filled in")
    return extract
