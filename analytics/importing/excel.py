"""Excel workbooks (.xlsx, e.g. Microsoft Forms) -> a grid of text cells.

Read with pandas + openpyxl (values only: formulas are never evaluated; a cell holding the text
"=HYPERLINK(...)" stays text). Date cells become ISO text so one date parser serves every format.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile

import pandas as pd

from analytics.errors import CaseloadError


def _cell_text(value: object) -> str | None:
    """One cell as text: whole numbers without ".0", datetimes to the nearest second."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        # Excel stores times as fractions of a day; 19:41:13 may come back as 19:41:12.999999.
        rounded = value + dt.timedelta(microseconds=500_000)
        return rounded.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _damaged() -> CaseloadError:
    return CaseloadError(
        "The Excel workbook could not be opened; it may be damaged or not a real .xlsx file.",
        hint="Open it in Excel and save it again as .xlsx, or export CSV instead.",
    )


def read_workbook(data: bytes) -> pd.DataFrame:
    """The first worksheet as text cells (columns 0..n-1, index = Excel row - 1)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise _damaged() from None
    if "xl/workbook.xml" not in names:
        raise CaseloadError(
            "This is a zip archive, not an Excel workbook.",
            hint="Unzip it and upload the CSV or .xlsx file inside.",
        )
    try:
        raw = pd.read_excel(
            io.BytesIO(data),
            sheet_name=0,
            header=None,
            dtype=object,
            engine="openpyxl",
            na_filter=False,
        )
    except Exception:  # openpyxl fails on damaged workbooks with many exception types
        raise _damaged() from None
    # openpyxl has already visited every cell in Python; one more pass per cell is cheap here.
    return pd.DataFrame(
        {column: raw[column].map(_cell_text).astype("str") for column in raw.columns},
        index=raw.index,
    )
