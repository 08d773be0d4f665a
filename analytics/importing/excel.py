"""Excel workbooks (.xlsx, e.g. Microsoft Forms) -> a grid of text cells, read as a stream.

A workbook is a zip archive of XML parts. Before anything is unpacked, the archive's own listing
is checked: the unpacked size of all parts, and how tightly each is packed (a decompression bomb
is a few KB that would unpack to gigabytes). The first worksheet is then read element by
element: its declared size is checked before its first cell, and rows, columns and cells are
counted as they stream past, stopping at the first limit passed. Only cells that hold something
are kept, so a lone cell at row 1,048,576 costs nothing before it is refused.

Values only: formulas are never evaluated (Excel's saved result is read) and a text cell
"=HYPERLINK(...)" stays text. Date cells become ISO text so one date parser serves every format;
whole numbers lose their ".0". A row with a value beyond the header row's last column is set
aside with its row number (nothing is shifted); shorter rows are normal, Excel does not store
trailing blank cells.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, cast
from xml.etree import ElementTree

import numpy as np
import pandas as pd
from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel
from openpyxl.utils.datetime import from_ISO8601 as from_iso8601

from analytics.errors import CaseloadError
from analytics.importing.context import Limits
from analytics.importing.parsed import RowIssue

# Excel's own bounds on a worksheet.
EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384
# A part packed tighter than this (and unpacking to more than _BOMB_FLOOR bytes) is a bomb:
# worksheet XML compresses 5 to 20 times, the deflate format at most about 1,000 times.
BOMB_RATIO = 100
_BOMB_FLOOR = 1024 * 1024
# A workbook has tens of parts; the workbook, relationship and style parts are kilobytes.
_MAX_PARTS = 10_000
_MAX_SMALL_PART = 10 * 1024 * 1024
_SMALL_PART_ELEMENTS = 1_000_000
# XML elements a cell takes in a real worksheet (<c>, <v>; <c>, <is>, <t>; a formula's <f>),
# and a shared string (<si>, <t>, or runs of <r>, <rPr>, <t>).
_ELEMENTS_PER_CELL = 3
_SPARE_ELEMENTS = 100_000
_WORKBOOK = "xl/workbook.xml"
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
_RELATIONSHIP_ID = (
    "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id",
    "{http://purl.oclc.org/ooxml/officeDocument/relationships}id",
)


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


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:,.0f} KB"


def _over(message: str, hint: str) -> CaseloadError:
    """A refusal because the workbook passes a limit (the message names it and the number)."""
    return CaseloadError(message, hint=hint)


_SPLIT = "Split the export (for example by date range)"
_AS_CSV = "Export the responses as CSV instead, or split the export (for example by date range)."


class _Refused(Exception):
    """Internal: a part of the archive that is not what an .xlsx holds."""


class _Guarded:
    """One part of the archive as the XML parser reads it. OOXML never has a document type
    declaration; refusing one refuses entity-expansion bombs ("billion laughs")."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._tail = b""
        self._first = True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if self._first and data:
            self._first = False
            if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4]:
                raise _Refused  # UTF-16 parts: Excel never writes them, and they hide a DTD
        window = self._tail + data
        if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
            raise _Refused
        self._tail = window[-9:]
        return data


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _events(
    archive: zipfile.ZipFile, name: str, budget: int = _SMALL_PART_ELEMENTS
) -> Iterator[ElementTree.Element]:
    """The elements of one part, each as it ends (children before their parent); a part with
    more than `budget` elements is refused (each costs the same to parse, whatever it is)."""
    with archive.open(name) as raw:
        for seen, (_, element) in enumerate(
            ElementTree.iterparse(_Guarded(raw), events=("end",)), start=1
        ):
            if seen > budget:
                raise _Refused
            yield element


@dataclass
class _Book:
    """What the workbook's small parts say about reading its first worksheet."""

    sheet: str
    strings: str | None
    epoch: dt.datetime
    dates: frozenset[int] = frozenset()
    durations: frozenset[int] = frozenset()


def _relationships(archive: zipfile.ZipFile, names: set[str]) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, part name) of the workbook part."""
    found: dict[str, tuple[str, str]] = {}
    if _WORKBOOK_RELS not in names:
        return found
    for element in _events(archive, _WORKBOOK_RELS):
        if _local(element.tag) == "Relationship":
            target = element.get("Target", "")
            path = target[1:] if target.startswith("/") else posixpath.join("xl", target)
            found[element.get("Id", "")] = (element.get("Type", ""), posixpath.normpath(path))
        element.clear()
    return found


def _styles(archive: zipfile.ZipFile, name: str) -> tuple[frozenset[int], frozenset[int]]:
    """Style ids (positions in cellXfs) whose number format shows a date, or a duration."""
    custom: dict[int, str] = {}
    formats: list[int] = []
    for element in _events(archive, name):
        tag = _local(element.tag)
        if tag == "numFmts":
            for fmt in element:
                custom[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
        elif tag == "cellXfs":
            formats = [int(xf.get("numFmtId", "0")) for xf in element]
        if tag not in {"numFmt", "xf"}:  # those are read when their list ends
            element.clear()
    dates, durations = set(), set()
    for style, number_format in enumerate(formats):
        code = custom.get(number_format) or builtin_format_code(number_format)
        if is_date_format(code):
            dates.add(style)
        if is_timedelta_format(code):
            durations.add(style)
    return frozenset(dates), frozenset(durations)


def _book(archive: zipfile.ZipFile, names: set[str]) -> _Book:
    """The first worksheet's part, the shared strings, the date epoch and the date styles."""
    sheets: list[str] = []
    epoch = CALENDAR_WINDOWS_1900
    for element in _events(archive, _WORKBOOK):
        tag = _local(element.tag)
        if tag == "sheet":
            sheets.extend(v for k, v in element.attrib.items() if k in _RELATIONSHIP_ID)
        elif tag == "workbookPr" and element.get("date1904", "").lower() in {"1", "true"}:
            epoch = CALENDAR_MAC_1904
        element.clear()
    rels = _relationships(archive, names)
    by_type = {kind.rpartition("/")[2]: path for kind, path in rels.values() if path in names}
    worksheets = [
        rels[sheet][1]
        for sheet in sheets
        if sheet in rels and rels[sheet][0].endswith("/worksheet") and rels[sheet][1] in names
    ]
    if not worksheets:
        raise CaseloadError(
            "The Excel workbook has no worksheet to read.",
            hint="Export the responses from the survey tool again, as .xlsx or CSV.",
        )
    strings = by_type.get("sharedStrings")
    if strings is None and "xl/sharedStrings.xml" in names:
        strings = "xl/sharedStrings.xml"
    styles = by_type.get("styles")
    if styles is None and "xl/styles.xml" in names:
        styles = "xl/styles.xml"
    if styles is not None and archive.getinfo(styles).file_size > _MAX_SMALL_PART:
        raise _Refused
    book = _Book(worksheets[0], strings, epoch)
    if styles is not None:
        book.dates, book.durations = _styles(archive, styles)
    return book


def _check_archive(archive: zipfile.ZipFile, limits: Limits) -> set[str]:
    """Refuse from the archive's listing alone: nothing has been unpacked yet."""
    infos = archive.infolist()
    if len(infos) > _MAX_PARTS:
        raise _Refused
    names = {info.filename for info in infos}
    if _WORKBOOK not in names:
        raise CaseloadError(
            "This is a zip archive, not an Excel workbook.",
            hint="Unzip it and upload the CSV or .xlsx file inside.",
        )
    for info in infos:
        if info.file_size > _BOMB_FLOOR and info.file_size > BOMB_RATIO * max(
            info.compress_size, 1
        ):
            ratio = info.file_size // max(info.compress_size, 1)
            raise _over(
                f"A part of the workbook is compressed {ratio:,} to 1, as decompression bombs "
                f"are (real workbooks: under {BOMB_RATIO} to 1); it was not opened.",
                "Open it in Excel and save it again as .xlsx, or export CSV instead.",
            )
    expanded = sum(info.file_size for info in infos)
    if expanded > limits.max_expanded_bytes:
        raise _over(
            f"The workbook unpacks to {_mb(expanded)}; the limit is "
            f"{_mb(limits.max_expanded_bytes)}.",
            _AS_CSV,
        )
    for small in (_WORKBOOK, _WORKBOOK_RELS):
        if small in names and archive.getinfo(small).file_size > _MAX_SMALL_PART:
            raise _Refused
    return names


@dataclass
class _Cells:
    """The cells that hold something, as parallel lists (1-based row and column numbers)."""

    rows: list[int] = field(default_factory=list)
    columns: list[int] = field(default_factory=list)
    # Text, or the position of a shared string (resolved once the sheet has been read).
    values: list[str | int] = field(default_factory=list)
    strings_needed: int = 0


_LETTERS: dict[str, int] = {}
# The elements of a cell, kept until their row ends (every other element is cleared at once).
_CELL_PARTS = frozenset({"c", "v", "is", "t", "r"})
_DIGITS = "0123456789"
_CHUNK = 64 * 1024


def _column(reference: str) -> int:
    """The column number of a cell reference ("AB12" -> 28)."""
    letters = reference.rstrip("0123456789")
    number = _LETTERS.get(letters)
    if number is None:
        number = 0
        for letter in letters:
            if not "A" <= letter <= "Z":
                raise _Refused
            number = number * 26 + ord(letter) - 64
        if not 1 <= number <= EXCEL_COLUMNS or len(reference) == len(letters):
            raise _Refused
        _LETTERS[letters] = number
    return number


def _dimension(reference: str) -> tuple[int, int] | None:
    """Rows and columns a worksheet's <dimension ref="A1:AM5001"> declares, from A1."""
    last = reference.rpartition(":")[2].replace("$", "").upper()
    digits = last[len(last.rstrip("0123456789")) :]
    try:
        return int(digits), _column(last)
    except (ValueError, _Refused):
        return None  # a dimension is only a hint; the cells are counted anyway


def _check_dimension(rows: int, columns: int, limits: Limits) -> None:
    if rows > limits.max_rows:
        raise _over(
            f"The worksheet declares {rows:,} rows; the limit is {limits.max_rows:,} rows.",
            f"{_SPLIT}, or raise CASELOAD_MAX_ROWS.",
        )
    if columns > limits.max_columns:
        raise _over(
            f"The worksheet declares {columns:,} columns; the limit is "
            f"{limits.max_columns:,} columns.",
            "Export only the questionnaire's columns, or raise CASELOAD_MAX_COLUMNS.",
        )
    if rows * columns > limits.max_cells:
        raise _over(
            f"The worksheet declares {rows:,} rows of {columns:,} columns "
            f"({rows * columns:,} cells); the limit is {limits.max_cells:,} cells.",
            f"{_SPLIT}, or raise CASELOAD_MAX_CELLS.",
        )


class _Reader:
    """Streams the first worksheet into `_Cells`, refusing at the first limit passed.

    This loop runs once per cell of the file: it avoids every call it can."""

    def __init__(self, book: _Book, limits: Limits) -> None:
        self.book = book
        self.limits = limits
        self.cells = _Cells()
        self.stored = 0  # <c> elements seen, with or without a value
        self.height = 0  # last row with a value
        self.width = 0  # last column with a value
        self.date_styles = {str(style) for style in book.dates}

    def number(self, raw: str, style: str | None) -> str | None:
        """A numeric cell as openpyxl and pandas read it, then as text."""
        if style in self.date_styles:
            value: float | int = float(raw) if any(c in raw for c in ".eE") else int(raw)
            try:
                when = from_excel(
                    value, self.book.epoch, timedelta=int(style or 0) in self.book.durations
                )
            except (OverflowError, ValueError):
                return None  # outside Excel's dates: an error cell
            return _cell_text(when)
        if raw.isdigit() and (raw[0] != "0" or len(raw) == 1):
            return raw  # a whole number as pandas would write it back
        value = float(raw) if any(c in raw for c in ".eE") else int(raw)
        if isinstance(value, float):
            if math.isnan(value) or math.isinf(value):
                return None
            if value.is_integer():
                return str(int(value))  # pandas reads whole numbers as int, at any size
            return repr(value)
        return str(value)

    def other(self, cell: ElementTree.Element, kind: str, ns: str) -> str | int | None:
        """A cell that is not a plain number: text, a shared string's position, or None."""
        if kind == "inlineStr":
            inline = cell.find(ns + "is")
            return None if inline is None else _rich_text(inline, ns)
        raw = cell.findtext(ns + "v")
        if not raw:
            return None
        if kind == "s":
            position = int(raw)
            if position < 0:
                raise _Refused
            if position >= self.cells.strings_needed:
                self.cells.strings_needed = position + 1
            return position
        if kind == "n":
            return self.number(raw, cell.get("s"))
        if kind == "b":
            return "TRUE" if int(raw) else "FALSE"
        if kind == "e":
            return None  # #N/A, #DIV/0! and the like
        if kind == "d":
            return _cell_text(from_iso8601(raw))
        return raw  # "str" (a formula's text result) and anything else: as written

    def refuse_cells(self) -> CaseloadError:
        limit = self.limits.max_workbook_cells
        return _over(
            f"The worksheet holds more than {limit:,} cells (or as much other content); the "
            f"limit for Excel workbooks is {limit:,} cells.",
            _AS_CSV,
        )

    def row(self, element: ElementTree.Element, number: int) -> None:
        limits, cells, letters = self.limits, self.cells, _LETTERS
        ns = element.tag[: -len("row")]
        cell_tag, value_tag = ns + "c", ns + "v"
        column = 0
        for cell in element:
            if cell.tag != cell_tag:
                continue
            reference = cell.get("r")
            if reference:
                column = letters.get(reference.rstrip(_DIGITS)) or _column(reference)
            else:
                column += 1
            kind = cell.get("t")
            value: str | int | None
            if kind is None or kind == "n":  # a number, the commonest cell
                raw = cell.findtext(value_tag)
                value = self.number(raw, cell.get("s")) if raw else None
            else:
                value = self.other(cell, kind, ns)
            if value is None or value == "":
                continue
            if column > limits.max_columns:
                raise _over(
                    f"Row {number:,} of the worksheet has a value in column {column:,}; the "
                    f"limit is {limits.max_columns:,} columns.",
                    "Export only the questionnaire's columns, or raise CASELOAD_MAX_COLUMNS.",
                )
            if column > self.width:
                self.width = column
            cells.rows.append(number)
            cells.columns.append(column)
            cells.values.append(value)
        self.stored += len(element)
        if self.stored > limits.max_workbook_cells:
            raise self.refuse_cells()
        if cells.rows and cells.rows[-1] == number:
            if number > limits.max_rows:
                raise _over(
                    f"The worksheet has a value in row {number:,}; the limit is "
                    f"{limits.max_rows:,} rows.",
                    f"{_SPLIT}, or raise CASELOAD_MAX_ROWS.",
                )
            self.height = number
            if number * self.width > limits.max_cells:
                raise _over(
                    f"The worksheet spans {number:,} rows of {self.width:,} columns "
                    f"({number * self.width:,} cells); the limit is {limits.max_cells:,} cells.",
                    f"{_SPLIT}, or raise CASELOAD_MAX_CELLS.",
                )

    def read(self, archive: zipfile.ZipFile) -> _Cells:
        previous = seen = in_row = 0
        budget = _ELEMENTS_PER_CELL * self.limits.max_workbook_cells + _SPARE_ELEMENTS
        kinds: dict[str, str] = {}
        parser: ElementTree.XMLPullParser[ElementTree.Element] = ElementTree.XMLPullParser(
            events=("end",)
        )
        with archive.open(self.book.sheet) as raw:
            source = _Guarded(raw)
            while chunk := source.read(_CHUNK):
                parser.feed(chunk)
                for event in parser.read_events():
                    seen += 1
                    if seen > budget:
                        raise self.refuse_cells()
                    element = cast(tuple[str, ElementTree.Element], event)[1]
                    tag = element.tag
                    kind = kinds.get(tag)
                    if kind is None:
                        kind = kinds[tag] = _local(tag)
                    if kind == "c":
                        in_row += 1
                        if in_row > EXCEL_COLUMNS:
                            raise _Refused  # a row waits whole in memory: never past Excel's
                    elif kind == "row":
                        text = element.get("r")
                        number = int(text) if text else previous + 1
                        if not previous < number <= EXCEL_ROWS:
                            raise _Refused  # rows out of order, or beyond Excel's last row
                        previous, in_row = number, 0
                        self.row(element, number)
                        element.clear()
                    elif kind not in _CELL_PARTS:
                        if kind == "dimension":
                            declared = _dimension(element.get("ref", ""))
                            if declared is not None:
                                _check_dimension(*declared, self.limits)
                        element.clear()  # nothing else is kept (merged cells, formats, ...)
            parser.close()
        return self.cells


def _rich_text(element: ElementTree.Element, ns: str) -> str:
    """The text of a string item (<si> or <is>): its plain text, then its runs' text; never
    the phonetic guide (<rPh>)."""
    parts = [element.findtext(ns + "t") or ""]
    parts.extend(run.findtext(ns + "t") or "" for run in element.iterfind(ns + "r"))
    return "".join(parts)


def _shared_strings(archive: zipfile.ZipFile, name: str | None, needed: int) -> list[str]:
    """The first `needed` shared strings (the cells read refer to no later one)."""
    strings: list[str] = []
    if needed == 0:
        return strings
    if name is None:
        raise _Refused
    budget = _ELEMENTS_PER_CELL * needed + _SPARE_ELEMENTS
    for element in _events(archive, name, budget):
        if _local(element.tag) == "si":
            ns = element.tag[: -len("si")]
            # As openpyxl reads them: "_x005F_" is Excel's escape of "_".
            strings.append(_rich_text(element, ns).replace("x005F_", ""))
            element.clear()
            if len(strings) == needed:
                return strings
    raise _Refused  # a cell refers to a shared string that does not exist


@dataclass
class SheetGrid:
    """The first worksheet as text cells (columns 0..n-1, index = Excel row - 1), with the
    rows set aside because they have a value beyond the header row's last column."""

    grid: pd.DataFrame
    skipped: list[RowIssue] = field(default_factory=list)


def _grid(cells: _Cells, strings: list[str]) -> SheetGrid:
    """The cells as a dense grid from row 1 to the last row with a value, less the rows with a
    value beyond the header row's last column (the header row is the first filled row)."""
    values = [strings[v] if isinstance(v, int) else v for v in cells.values]
    rows = np.asarray(cells.rows, dtype=np.int64)
    columns = np.asarray(cells.columns, dtype=np.int64)
    filled = np.fromiter((bool(v.strip()) for v in values), dtype=bool, count=len(values))
    if not filled.any():
        return SheetGrid(pd.DataFrame(index=pd.RangeIndex(0)))
    last = np.zeros(int(rows.max()) + 1, dtype=np.int64)
    np.maximum.at(last, rows[filled], columns[filled])
    header = int(rows[filled].min())
    beyond = [int(row) for row in np.flatnonzero(last > last[header]) if row > header]
    skipped = [
        RowIssue(
            row,
            f"row has a value in column {int(last[row]):,}, the header has "
            f"{int(last[header]):,} columns",
        )
        for row in beyond
    ]
    keep = filled & ~np.isin(rows, beyond)
    rows, columns = rows[keep], columns[keep]
    dense = np.full((int(rows.max()), int(columns.max())), None, dtype=object)
    dense[rows - 1, columns - 1] = np.array(values, dtype=object)[keep]
    grid = pd.DataFrame(dense).astype("str")
    return SheetGrid(grid.drop(index=[row - 1 for row in beyond if row <= len(grid)]), skipped)


def read_workbook(data: bytes, limits: Limits | None = None) -> SheetGrid:
    """The first worksheet of an .xlsx as text cells, every limit checked while streaming."""
    limits = limits or Limits()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = _check_archive(archive, limits)
            book = _book(archive, names)
            cells = _Reader(book, limits).read(archive)
            if cells.strings_needed > limits.max_workbook_cells:
                raise _Refused  # more shared strings than cells: not a real workbook
            strings = _shared_strings(archive, book.strings, cells.strings_needed)
    except CaseloadError:
        raise
    except Exception:  # damaged archives and XML fail in many ways; none is the person's fault
        raise _damaged() from None
    try:
        return _grid(cells, strings)
    except IndexError:
        raise _damaged() from None
