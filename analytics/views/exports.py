"""The caseload as a file for supervision (CSV or XLSX), safe to open in a spreadsheet.

The rows are the caseload page's rows (same filters, same order: safety first), in plain text
with each partner's headline numbers kept as numbers. Partner names stay out: the case code
identifies the couple, and a file travels further than the screen. Every text cell that a
spreadsheet would read as a formula (OWASP: starting with =, +, -, @, tab or carriage return)
is prefixed with a single quote.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd

from analytics.clinical.change import category_label
from analytics.clinical.flags import flag_label
from analytics.errors import CaseloadError
from analytics.practice.access import Actor
from analytics.store.db import Database
from analytics.views.caseload import caseload_rows

TABLE_FORMATS = ("csv", "xlsx")
MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = {
    "case_code": "Case",
    "status": "Status",
    "therapist": "Therapist",
    "flags": "Needs attention",
    "reasons": "Why",
    "headline": "Headline scale",
    "a_latest": "A latest",
    "a_change": "A change",
    "a_category": "A result",
    "a_checkins": "A check-ins",
    "b_latest": "B latest",
    "b_change": "B change",
    "b_category": "B result",
    "b_checkins": "B check-ins",
    "last_checkin": "Last check-in",
    "days_since": "Days since check-in",
}


def neutralise(value: object) -> object:
    """A text cell a spreadsheet will show as text, never run as a formula; other values as
    they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _category(category: object, latest: object) -> str:
    if pd.isna(latest) or not isinstance(category, str) or not category:  # type: ignore[call-overload]
        return "No check-ins"
    return category_label(category)


def _number(value: object) -> float | None:
    return None if pd.isna(value) else round(float(value), 2)  # type: ignore[call-overload, arg-type]


def caseload_export(
    db: Database,
    actor: Actor,
    *,
    as_of: dt.date,
    statuses: tuple[str, ...] = ("active", "paused"),
    search: str = "",
    therapist_id: int | None = None,
) -> pd.DataFrame:
    """The caseload page's rows for a file: plain-text flags and change categories, numbers as
    numbers, every text cell neutralised. Column headers are readable words; `couple_id` is
    kept in `attrs["couple_ids"]` for the audit."""
    rows = caseload_rows(
        db, actor, as_of=as_of, statuses=statuses, search=search, therapist_id=therapist_id
    )
    frame = pd.DataFrame(
        {
            "case_code": rows["case_code"],
            "status": rows["status"].str.capitalize(),
            "therapist": rows["therapist"],
            "flags": ["; ".join(flag_label(f["kind"]) for f in flags) for flags in rows["flags"]],
            "reasons": ["; ".join(f["reason"] for f in flags) for flags in rows["flags"]],
            "headline": rows["headline"].fillna("").astype("str"),
            **{
                f"{x}_{field}": values
                for x in "ab"
                for field, values in (
                    ("latest", [_number(v) for v in rows[f"{x}_latest"]]),
                    ("change", [_number(v) for v in rows[f"{x}_change"]]),
                    (
                        "category",
                        [
                            _category(c, v)
                            for c, v in zip(rows[f"{x}_category"], rows[f"{x}_latest"], strict=True)
                        ],
                    ),
                    ("checkins", [0 if pd.isna(n) else int(n) for n in rows[f"{x}_checkins"]]),
                )
            },
            "last_checkin": ["" if pd.isna(t) else f"{t:%Y-%m-%d}" for t in rows["last_checkin"]],
            "days_since": [None if pd.isna(d) else int(d) for d in rows["days_since"]],
        }
    )
    frame = frame.map(neutralise).rename(columns=COLUMNS)
    frame.attrs["couple_ids"] = [int(i) for i in rows["couple_id"]]
    return frame


def table_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """`frame` as a CSV (UTF-8 with a byte-order mark, so spreadsheets read accents) or XLSX
    file. Cells are written as they are: neutralise them first (caseload_export does)."""
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8-sig")
    if fmt == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            frame.to_excel(writer, index=False, sheet_name="Caseload")
        return buffer.getvalue()
    raise CaseloadError(f"Unknown table format {fmt!r}: choose csv or xlsx.")


def table_format(path: Path) -> str:
    """The file format named by `path`'s suffix (csv or xlsx), or a readable refusal."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in TABLE_FORMATS:
        raise CaseloadError(
            f"Cannot tell the format from {path.name!r}.",
            hint="End the file name with .csv or .xlsx.",
        )
    return fmt
