"""Plain CSV files a therapist made herself: one row per response, or one row per answer."""

from __future__ import annotations

import pandas as pd

from analytics.errors import CaseloadError
from analytics.importing.assemble import Extract
from analytics.importing.detect import LONG_ITEM_NAMES, LONG_VALUE_NAMES
from analytics.importing.frames import (
    DATE_NAMES,
    RESPONSE_ID_NAMES,
    find,
    header_names,
    respondent,
    split_header,
)
from analytics.importing.parsed import RowIssue

# A long file names each item on its rows; more distinct names than this is not a questionnaire.
MAX_LONG_ITEMS = 2000


def read_generic_wide(grid: pd.DataFrame) -> Extract:
    """A respondent column, a date column, then one column per item (code or question text)."""
    sheet = split_header(grid)
    headers = sheet.headers
    who = respondent(headers)
    completed = find(headers, DATE_NAMES, exclude=who.columns)
    response_id = find(headers, RESPONSE_ID_NAMES, exclude=[*who.columns, completed or ""])
    used = {*who.columns, completed, response_id}
    return Extract(
        sheet.body,
        [h for h in headers if h not in used],
        email=who.email,
        code=who.code,
        mixed=who.mixed,
        completed=completed,
        response_id=response_id,
        # Plain files come from spreadsheets set to the practice's (European) locale.
        day_first=True,
        skipped=sheet.skipped,
    )


def read_generic_long(grid: pd.DataFrame) -> Extract:
    """Respondent, date, item, value per row -> one row per (respondent, completion time)."""
    sheet = split_header(grid)
    headers, body = sheet.headers, sheet.body
    who = respondent(headers)
    item = find(headers, LONG_ITEM_NAMES)
    value = find(headers, LONG_VALUE_NAMES, exclude=[item or ""])
    assert item is not None and value is not None  # detect() only sends files that have both
    completed = find(headers, DATE_NAMES, exclude=[*who.columns, item, value])
    response_id = find(headers, RESPONSE_ID_NAMES, exclude=[*who.columns, item, value])
    meta = [c for c in (*who.columns, completed, response_id) if c]
    skipped = list(sheet.skipped)
    unnamed = body[item].isna()
    skipped.extend(RowIssue(int(i) + 1, "no item named on this row") for i in body.index[unnamed])
    body = body[~unnamed]
    if body.empty:
        raise CaseloadError("The file has column headers but no answers with an item named.")
    # A response is one respondent at one time (or one response id when the file has them).
    group = body[meta[0]].fillna("") if meta else pd.Series("", index=body.index)
    for column in meta[1:]:
        group = group.str.cat(body[column].fillna(""), sep="\x1f")
    items = body[item].drop_duplicates().tolist()
    if len(items) > MAX_LONG_ITEMS:
        raise CaseloadError(
            f"The file names more than {MAX_LONG_ITEMS} different items; "
            "this does not look like one questionnaire in long format."
        )
    keyed = body.assign(_group=group)
    unique = keyed.drop_duplicates(subset=["_group", item], keep="first")
    notes = []
    if len(unique) < len(keyed):
        notes.append(
            f"Answers given twice for the same item in one response (first kept): "
            f"{len(keyed) - len(unique)}."
        )
    wide = unique.pivot(index="_group", columns=item, values=value)
    firsts = keyed.groupby("_group", sort=False)
    order = firsts.size().index
    first_row = pd.Series(keyed.index, index=keyed.index).groupby(group, sort=False).min()
    names = header_names([*meta, *items])
    meta_part = firsts[meta].first() if meta else pd.DataFrame(index=order)
    answers = wide.reindex(index=order, columns=items).astype("str")
    answers.columns = pd.Index(names[len(meta) :])
    out = pd.concat([meta_part.reindex(order), answers], axis=1)
    out.index = pd.Index(first_row.reindex(order).to_numpy(), dtype="int64")
    return Extract(
        out.sort_index(),
        names[len(meta) :],
        email=who.email,
        code=who.code,
        mixed=who.mixed,
        completed=completed,
        response_id=response_id,
        day_first=True,
        skipped=sorted(skipped, key=lambda issue: issue.row),
        notes=notes,
    )
