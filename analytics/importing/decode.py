"""Bytes -> a grid of text cells: Excel workbooks, or CSV in whatever encoding and separator.

Handles UTF-8 (with or without BOM), UTF-16 LE/BE (Excel's "Unicode text", tab separated),
Windows-1252 from Excel, and ",", ";", tab or "|" separators. Cells are never interpreted:
"=HYPERLINK(...)" stays a string.

Bounded work: the rows, cells and widest row of a CSV are counted in C loops over the text and
checked against the practice's Limits before pandas builds a table (workbooks: excel.py).
Row shape: a row with more or fewer cells than the header row is set aside with its row number,
never shifted or padded (one unquoted comma would move every later answer, safety answers too).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field

import numpy as np
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
            for record in csv.reader(io.StringIO(sample, newline=""), delimiter=separator):
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


def _quoted_cells(separator: str) -> re.Pattern[str]:
    """A quoted cell: it starts a field (after a separator, a line end, or the text's start),
    doubles its inner quotes, and may hold separators and line ends that split nothing."""
    edge = re.escape(separator)
    return re.compile(rf'(?:^|(?<=[{edge}\r\n]))"[^"]*+(?:""[^"]*+)*+"')


_QUOTED = {separator: _quoted_cells(separator) for separator in _SEPARATORS}
_ROWS_HINT = "Split the export (for example by date range), or raise CASELOAD_MAX_ROWS."
_COLUMNS_HINT = "Export only the questionnaire's columns, or raise CASELOAD_MAX_COLUMNS."
_CELLS_HINT = "Split the export (for example by date range), or raise CASELOAD_MAX_CELLS."


_CHUNK = 1 << 20


def _cells_per_record(text: str, separator: str, records: int) -> np.ndarray:
    """How many cells each record of unquoted text has, a megabyte at a time (so the counting
    never holds more than a few megabytes whatever the file's size)."""
    # For each record end: how many separators come before it in the whole text.
    before: list[np.ndarray] = []
    seen = 0
    for start in range(0, len(text), _CHUNK):
        piece = np.frombuffer(
            text[start : start + _CHUNK].encode("utf-8", "surrogatepass"), dtype=np.uint8
        )
        is_end = piece == ord("\n")
        returns = piece == ord("\r")
        if returns.any():  # a lone CR ends a record too (old Mac files); CR LF is one end
            next_is_lf = text[start + _CHUNK : start + _CHUNK + 1] == "\n"
            is_end |= returns & np.append(piece[1:] != ord("\n"), not next_is_lf)
        separators = np.flatnonzero(piece == ord(separator))
        before.append(np.searchsorted(separators, np.flatnonzero(is_end)) + seen)
        seen += len(separators)
    ends = np.concatenate(before) if before else np.zeros(0, dtype=np.int64)
    if len(ends) < records:  # the last record has no line end
        ends = np.append(ends, seen)
    return np.diff(ends, prepend=0) + 1


def _records(text: str) -> int:
    """Records in text whose line ends all end records: LF, CR LF, or a lone CR."""
    returns = text.count("\r")
    ends = text.count("\n") + returns - (text.count("\r\n") if returns else 0)
    return ends + (0 if text.endswith(("\n", "\r")) else 1)


def _check_totals(records: int, present: int, limits: Limits) -> None:
    if records > limits.max_rows:
        raise CaseloadError(
            f"The file has {records:,} rows; the limit is {limits.max_rows:,} rows.",
            hint=_ROWS_HINT,
        )
    if present > limits.max_cells:
        raise CaseloadError(
            f"The file has {present:,} cells; the limit is {limits.max_cells:,} cells.",
            hint=_CELLS_HINT,
        )


def _csv_module_cells(text: str, separator: str) -> np.ndarray | None:
    """Cells per record as Python's csv module splits records (None if it cannot)."""
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
        cells = np.fromiter(map(len, reader), dtype=np.int64)
    except csv.Error:
        return None
    cells[cells == 0] = 1  # a blank line is one empty cell, as pandas reads it
    return cells if len(cells) else None


def count_cells(text: str, separator: str, limits: Limits) -> np.ndarray:
    """Cells in each record of CSV text, counted without parsing it into a table, refusing a
    file over a limit before pandas expands it."""
    records, present = _records(text), text.count(separator)
    cells: np.ndarray | None = None
    if '"' not in text:
        _check_totals(records, present + records, limits)
    elif records <= limits.max_rows and present + records <= limits.max_cells:
        # Within the limits even if every quoted separator and line end counted: the csv
        # module (C) splits the records, each one dropped as soon as it is counted.
        cells = _csv_module_cells(text, separator)
    if cells is None:
        # Text near or over a limit: take the quoted cells out (one plain character each, their
        # separators and line ends split nothing) and count again, all in C loops.
        bare = _QUOTED[separator].sub("q", text) if '"' in text else text
        records = _records(bare)
        _check_totals(records, bare.count(separator) + records, limits)
        cells = _cells_per_record(bare, separator, records)
    widest, records = int(cells.max()), len(cells)
    if widest > limits.max_columns:
        raise CaseloadError(
            f"A row of the file has {widest:,} cells; the limit is {limits.max_columns:,} columns.",
            hint=_COLUMNS_HINT,
        )
    if records * widest > limits.max_cells:
        raise CaseloadError(
            f"The file has {records:,} rows of up to {widest:,} cells "
            f"({records * widest:,} cells); the limit is {limits.max_cells:,} cells.",
            hint=_CELLS_HINT,
        )
    return cells


def _read_csv(text: str, separator: str, columns: int) -> pd.DataFrame:
    return pd.read_csv(
        io.StringIO(text),
        sep=separator,
        header=None,
        # As many columns as the widest record: pandas never meets a row it cannot place.
        names=list(range(columns)),
        dtype=str,
        na_filter=False,
        skip_blank_lines=False,
        engine="c",
        quotechar='"',
        doublequote=True,
    )


def _csv_module_grid(text: str, separator: str, columns: int) -> pd.DataFrame:
    """Records as Python's csv module splits them, shaped as `_read_csv` shapes its table: text
    cells, a record's missing cells empty, a blank line one empty cell."""
    rows = [r or [""] for r in csv.reader(io.StringIO(text, newline=""), delimiter=separator)]
    padded = [r + [""] * (columns - len(r)) for r in rows]
    return pd.DataFrame(padded, columns=list(range(columns)), dtype=str)


def _damaged_csv() -> CaseloadError:
    return CaseloadError(
        "The file could not be read as CSV: a quoted cell is not closed or a row is damaged.",
        hint="Export the file again from the survey tool.",
    )


def parse_records(text: str, separator: str, limits: Limits) -> tuple[pd.DataFrame, np.ndarray]:
    """All records as text cells, and how many cells each record has (before padding)."""
    cells = count_cells(text, separator, limits)
    try:
        grid = _read_csv(text, separator, int(cells.max()))
    except pd.errors.ParserError:
        grid = None
    except Exception as exc:  # the C parser's other refusals on malformed text
        raise CaseloadError("The file could not be read as CSV.") from exc
    if grid is None or len(grid) != len(cells):
        # The count above and pandas disagree on where records end (malformed quoting): count
        # as Python's csv module splits records, within the limits already checked.
        counted = _csv_module_cells(text, separator)
        if counted is None:
            raise _damaged_csv()
        widest = int(counted.max())
        if widest > limits.max_columns or len(counted) * widest > limits.max_cells:
            raise _damaged_csv()
        try:
            grid = _read_csv(text, separator, widest)
        except pd.errors.ParserError:
            # The C parser gives up on some line-end mixes (a lone carriage return first, say)
            # that the csv module splits fine: take its records (the count came from it).
            grid = _csv_module_grid(text, separator, widest)
        except Exception as exc:  # e.g. a quote that is never closed
            raise _damaged_csv() from exc
        if len(grid) != len(counted):
            raise _damaged_csv()
        cells = counted
    return grid, cells


def misshapen_rows(grid: pd.DataFrame, cells: np.ndarray) -> tuple[pd.DataFrame, list[RowIssue]]:
    """Set aside every filled row with more or fewer cells than the header row (the first
    filled row): an unquoted separator or a lost cell shifts every later answer, so the row is
    refused with its number, never shifted back or padded. Blank rows are left to the readers."""
    filled = grid.notna().any(axis=1).to_numpy()
    if not filled.any():
        return grid, []
    header = int(np.argmax(filled))
    width = int(cells[header])
    wrong = filled & (cells != width)
    wrong[: header + 1] = False
    if not wrong.any():
        return grid, []
    skipped = [
        RowIssue(int(row) + 1, f"row has {int(count):,} cells, the header has {width:,}")
        for row, count in zip(grid.index[wrong], cells[wrong], strict=True)
    ]
    return _without(grid, wrong), skipped


def _without(grid: pd.DataFrame, drop: np.ndarray) -> pd.DataFrame:
    """The grid less some rows, and less the columns only those rows filled."""
    kept = grid[~drop]
    kept = kept.dropna(axis=1, how="all")
    kept.columns = pd.RangeIndex(kept.shape[1])
    return kept


def _some_rows_left(grid: pd.DataFrame, skipped: list[RowIssue]) -> None:
    """Refuse the file when every row below the header row was set aside for its shape."""
    if not skipped:
        return
    filled = grid.notna().any(axis=1)
    if int(filled.sum()) <= 1:
        first = min(skipped, key=lambda issue: issue.row)
        example = first.reason.replace("row has", f"row {first.row} has", 1)
        raise CaseloadError(
            f"No row below the header row has the header's shape ({example}).",
            hint="Check the file was exported from the survey tool and not edited since; "
            "export it again.",
        )


def load_table(data: bytes, limits: Limits | None = None) -> Table:
    """Read an uploaded file (CSV or .xlsx) into a grid of cleaned text cells; rows whose
    shape does not match the header row are set aside in `skipped`."""
    limits = limits or Limits()
    if data.startswith(b"PK\x03\x04"):
        book = read_workbook(data, limits)
        grid = clean_cells(book.grid)
        _some_rows_left(grid, book.skipped)
        return Table(grid, ["Read as an Excel workbook (.xlsx)."], book.skipped)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise CaseloadError(
            "This is an old-style Excel workbook (.xls) or a password-protected file.",
            hint="Open it in Excel and save it as .xlsx or CSV without a password.",
        )
    text, encoding = decode_text(data)
    if not text.strip():
        raise CaseloadError("The file is empty.")
    separator = sniff_separator(text)
    raw, cells = parse_records(text, separator, limits)
    grid, skipped = misshapen_rows(clean_cells(raw), cells)
    _some_rows_left(grid, skipped)
    note = f"Read as {encoding} text, {_SEPARATOR_NAMES[separator]}-separated."
    return Table(grid, [note], skipped)
