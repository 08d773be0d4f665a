"""Bytes -> a grid of text cells: Excel workbooks, or CSV in whatever encoding and separator.

Handles UTF-8 (with or without BOM), UTF-16 LE/BE (Excel's "Unicode text", tab separated),
Windows-1252 from Excel, and ",", ";", tab or "|" separators. Cells are never interpreted:
"=HYPERLINK(...)" stays a string.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field

import pandas as pd

from analytics.errors import CaseloadError
from analytics.importing.context import Limits
from analytics.importing.excel import read_workbook
from analytics.importing.frames import clean_cells
from analytics.importing.parsed import RowIssue

_SEPARATORS = (",", ";", "\t", "|")
_SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
# Control characters that never appear in real text exports (tab, CR, LF excluded).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _binary() -> CaseloadError:
    return CaseloadError(
        "This file is not a CSV or Excel export (it contains binary data).",
        hint="Export the responses from the survey tool as CSV or .xlsx and upload that file.",
    )


@dataclass
class Table:
    """The file as a grid of cleaned text cells (see frames.py), with how it was read."""

    grid: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    # Rows refused while reading (e.g. more or fewer cells than the header), already out of `grid`.
    skipped: list[RowIssue] = field(default_factory=list)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a BOM has a NUL in every other byte for Latin-script text."""
    even, odd = data[0::2], data[1::2]
    if len(data) < 4 or len(data) % 2:
        return None
    for zeros, encoding in ((odd, "utf-16-le"), (even, "utf-16-be")):
        if zeros.count(0) > 0.9 * len(zeros):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes; return the text and a plain name of the encoding used."""
    text: str | None
    if data.startswith(codecs.BOM_UTF8):
        text, name = data[3:].decode("utf-8", errors="replace"), "UTF-8"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text, name = data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise _binary() from None
    elif b"\x00" in data:
        text, name = _utf16_without_bom(data), "UTF-16"
        if text is None:
            raise _binary()
    else:
        try:
            text, name = data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            try:
                text, name = data.decode("cp1252"), "Windows-1252"
            except UnicodeDecodeError:
                text, name = data.decode("latin-1"), "Latin-1"
    text = text.lstrip("\ufeff")
    if "\x00" in text or len(_CONTROL.findall(text[:100_000])) > len(text[:100_000]) // 200:
        raise _binary()
    return text, name


def sniff_separator(text: str) -> str:
    """The separator that splits the first records into the most, most consistent fields."""
    sample = text[:65536]
    truncated = len(text) > len(sample)
    best, best_score = ",", (0.0, 1)
    for separator in _SEPARATORS:
        try:
            records = []
            for record in csv.reader(io.StringIO(sample), delimiter=separator):
                if any(cell.strip() for cell in record):
                    records.append(len(record))
                if len(records) > 50:
                    break
        except csv.Error:
            continue
        if truncated and len(records) > 1:
            records.pop()  # the last record of a cut sample may itself be cut
        if not records or records[0] < 2:
            continue
        consistent = sum(count == records[0] for count in records) / len(records)
        score = (round(consistent, 1), records[0])
        if score > best_score:
            best, best_score = separator, score
    return best


def _read_csv(text: str, separator: str, columns: int | None = None) -> pd.DataFrame:
    names = list(range(columns)) if columns else None
    return pd.read_csv(
        io.StringIO(text),
        sep=separator,
        header=None,
        names=names,
        dtype=str,
        na_filter=False,
        skip_blank_lines=False,
        engine="c",
        quotechar='"',
        doublequote=True,
    )


def parse_csv(text: str, separator: str) -> pd.DataFrame:
    """All records as text cells; rows longer than the first are kept whole."""
    try:
        return _read_csv(text, separator)
    except pd.errors.ParserError:
        pass  # usually a row with more cells than the header: count them and read again
    except Exception as exc:  # the C parser's other refusals on malformed text
        raise CaseloadError("The file could not be read as CSV.") from exc
    try:
        widest = max(
            (len(r) for r in csv.reader(io.StringIO(text), delimiter=separator)), default=1
        )
        return _read_csv(text, separator, widest)
    except Exception as exc:  # e.g. a quote that is never closed
        raise CaseloadError(
            "The file could not be read as CSV: a quoted cell is not closed or a row is damaged.",
            hint="Export the file again from the survey tool.",
        ) from exc


def load_table(data: bytes, limits: Limits | None = None) -> Table:
    """Read an uploaded file (CSV or .xlsx) into a grid of cleaned text cells."""
    if data.startswith(b"PK\x03\x04"):
        return Table(clean_cells(read_workbook(data)), ["Read as an Excel workbook (.xlsx)."])
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise CaseloadError(
            "This is an old-style Excel workbook (.xls) or a password-protected file.",
            hint="Open it in Excel and save it as .xlsx or CSV without a password.",
        )
    text, encoding = decode_text(data)
    if not text.strip():
        raise CaseloadError("The file is empty.")
    separator = sniff_separator(text)
    grid = clean_cells(parse_csv(text, separator))
    note = f"Read as {encoding} text, {_SEPARATOR_NAMES[separator]}-separated."
    return Table(grid, [note])
