"""Bounded work (issue 7, point 3): every limit on a file's rows, columns and cells is checked
before the file is expanded in memory, refused in plain words naming the limit and how to get
past it; the files that took minutes or gigabytes are refused at once; real exports are not
touched by any limit."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from analytics.errors import CaseloadError
from analytics.importing import parsed, service
from analytics.importing.context import Limits, ReadContext
from analytics.importing.parsed import ParsedFile
from analytics.importing.readers import read_export
from analytics.practice.access import Actor
from analytics.store.db import Database

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SECRET = "Secret-Health-Detail"  # stands for cell content that must never reach a message
NOW = dt.datetime(2026, 11, 20, 12, 0)
MB = 1024 * 1024


def read(data: bytes, limits: Limits | None = None, name: str = "upload.csv") -> ParsedFile:
    return read_export(name, data, context=ReadContext(limits=limits or Limits()))


def refused(data: bytes, limits: Limits | None = None, name: str = "upload.csv") -> CaseloadError:
    with pytest.raises(CaseloadError) as caught:
        read(data, limits, name)
    assert SECRET not in str(caught.value)
    return caught.value


def csv_file(rows: int, columns: int, *, cell: str = "1") -> bytes:
    header = ",".join(["email", "date", *(f"Q{n}" for n in range(columns - 2))])
    row = ",".join(["a@b.org", "2026-11-02", *([cell] * (columns - 2))])
    return (header + "\n" + (row + "\n") * (rows - 1)).encode()


# --- the limits themselves ----------------------------------------------------------------------


def test_defaults_are_generous_and_documented() -> None:
    limits = Limits()
    assert limits.max_bytes == 20 * MB
    assert limits.max_rows == 150_000
    assert limits.max_columns == 1_000
    assert limits.max_cells == 4_000_000
    assert limits.max_workbook_cells == 500_000
    assert limits.max_expanded_bytes == 100 * MB
    # 100,000 responses of a 38-column export (the import bench) fit every limit.
    assert limits.max_rows >= 100_001
    assert limits.max_cells >= 100_001 * 38


def test_limits_come_from_the_environment() -> None:
    limits = Limits.from_env(
        {
            "CASELOAD_MAX_UPLOAD_MB": "2.5",
            "CASELOAD_MAX_ROWS": "1000",
            "CASELOAD_MAX_COLUMNS": " 50 ",
            "CASELOAD_MAX_CELLS": "20_000",
        }
    )
    assert limits == dataclasses.replace(
        Limits(), max_bytes=int(2.5 * MB), max_rows=1000, max_columns=50, max_cells=20_000
    )
    assert Limits.from_env({}) == Limits()
    assert Limits.from_env({"CASELOAD_MAX_ROWS": ""}) == Limits()


def test_limits_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASELOAD_MAX_ROWS", "3")
    assert Limits.from_env().max_rows == 3
    error = refused(csv_file(4, 3), Limits.from_env())
    assert "CASELOAD_MAX_ROWS" in str(error)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CASELOAD_MAX_UPLOAD_MB", "lots"),
        ("CASELOAD_MAX_UPLOAD_MB", "0"),
        ("CASELOAD_MAX_UPLOAD_MB", "-3"),
        ("CASELOAD_MAX_UPLOAD_MB", "nan"),
        ("CASELOAD_MAX_UPLOAD_MB", "inf"),
        ("CASELOAD_MAX_ROWS", "many"),
        ("CASELOAD_MAX_ROWS", "0"),
        ("CASELOAD_MAX_ROWS", "-1"),
        ("CASELOAD_MAX_ROWS", "1.5"),
        ("CASELOAD_MAX_COLUMNS", "1e3"),
        ("CASELOAD_MAX_COLUMNS", "²"),
        ("CASELOAD_MAX_CELLS", "5 000"),
    ],
)
def test_a_bad_value_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(CaseloadError) as caught:
        Limits.from_env({name: value})
    assert name in caught.value.message


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_rows"):
        Limits(max_rows=0)


# --- CSV ----------------------------------------------------------------------------------------


def test_rows_over_the_limit() -> None:
    assert len(read(csv_file(10, 3), Limits(max_rows=10)).frame) == 9
    error = refused(csv_file(11, 3), Limits(max_rows=10))
    assert error.message == "The file has 11 rows; the limit is 10 rows."
    assert error.hint is not None and "CASELOAD_MAX_ROWS" in error.hint
    assert "Split the export" in error.hint


def test_columns_over_the_limit() -> None:
    assert len(read(csv_file(3, 40), Limits(max_columns=40)).frame) == 2
    error = refused(csv_file(3, 41), Limits(max_columns=40))
    assert error.message == "A row of the file has 41 cells; the limit is 40 columns."
    assert error.hint is not None and "CASELOAD_MAX_COLUMNS" in error.hint


def test_one_wide_row_is_enough_to_refuse_the_file() -> None:
    data = csv_file(5, 4) + b"a@b.org,2026-11-03" + b",1" * 60 + b"\n"
    error = refused(data, Limits(max_columns=50))
    assert "62 cells; the limit is 50 columns" in error.message


def test_cells_over_the_limit() -> None:
    assert len(read(csv_file(100, 10), Limits(max_cells=1000)).frame) == 99
    error = refused(csv_file(101, 10), Limits(max_cells=1000))
    assert error.message == "The file has 1,010 cells; the limit is 1,000 cells."
    assert error.hint is not None and "CASELOAD_MAX_CELLS" in error.hint


def test_the_table_as_read_counts_not_only_the_cells_written() -> None:
    # 100 rows of 3 cells and one of 30: pandas would make a table of 101 x 30 cells.
    data = csv_file(100, 3) + b"a@b.org,2026-11-03" + b",1" * 28 + b"\n"
    error = refused(data, Limits(max_cells=2_000))
    assert error.message == (
        "The file has 101 rows of up to 30 cells (3,030 cells); the limit is 2,000 cells."
    )


def test_quoted_separators_and_line_breaks_do_not_count() -> None:
    note = '"' + ",\n" * 200 + '"'
    data = b"email,date,Note\n" + (f"a@b.org,2026-11-02,{note}\n" * 5).encode()
    result = read(data, Limits(max_rows=6, max_columns=3, max_cells=18))
    assert len(result.frame) == 5


def test_limits_are_checked_before_the_file_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    def parse(*args: object, **kwargs: object) -> pd.DataFrame:
        raise AssertionError("pandas was asked to parse a file over a limit")

    monkeypatch.setattr(pd, "read_csv", parse)
    refused(csv_file(11, 3), Limits(max_rows=10))
    refused(csv_file(3, 41), Limits(max_columns=40))
    refused(csv_file(101, 10), Limits(max_cells=1000))


def test_a_csv_of_only_commas_is_refused() -> None:
    # 20 MB of separators: 20 million empty cells, which ran out of memory before.
    error = refused(b"," * (20 * MB - 16))
    assert error.message.startswith("The file has 20,971,")
    assert "the limit is 4,000,000 cells" in error.message


def test_ten_thousand_columns_are_refused() -> None:
    # About 120 KB; reading it took 38 s before.
    error = refused(csv_file(2, 10_000, cell="10"))
    assert error.message == "A row of the file has 10,000 cells; the limit is 1,000 columns."


def test_a_file_at_the_column_limit_goes_through_the_pipeline(
    db: Database, therapist: Actor, couple: int
) -> None:
    from analytics.instruments import catalog

    codes = [item.code for item in catalog.builtin("checkin").answer_items]
    extra = [f"Other question {n}" for n in range(1_000 - 2 - len(codes))]
    lines = [",".join(["Email", "Completed", *codes, *extra])]
    for n in range(199):
        answers = ["0" if code.startswith("SAF") else str(n % 7) for code in codes]
        when = f"2026-{6 + n // 40:02d}-{1 + n % 28:02d} 10:{n % 60:02d}:00"
        who = f"d001.{'ab'[n % 2]}@example.org"
        lines.append(",".join([who, when, *answers, *["x"] * len(extra)]))
    data = ("\n".join(lines) + "\n").encode()
    preview = service.prepare(db, therapist, "wide.csv", data, now=NOW)
    assert preview.parsed.frame.shape[1] == len(parsed.RESERVED) + 998
    assert preview.accepted == 199
    assert preview.rejected == []


# --- Excel --------------------------------------------------------------------------------------


def workbook(rows: list[list[object]], at: dict[tuple[int, int], object] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    for (row, column), value in (at or {}).items():
        sheet.cell(row=row, column=column, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rezip(data: bytes, change: dict[str, bytes | None], level: int = 6) -> bytes:
    """The workbook with some parts replaced (None: the part's text with its <dimension>
    removed) or added."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as target:
        names = source.namelist()
        for name in names:
            content = source.read(name)
            if name in change:
                replaced = change[name]
                content = (
                    re.sub(rb"<dimension [^>]*/>", b"", content) if replaced is None else replaced
                )
            target.writestr(name, content)
        for name, content in change.items():
            if name not in names and content is not None:
                target.writestr(name, content)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"
HEADER = ["email", "date", "Q1"]


def test_a_lone_cell_at_the_last_row_is_refused_from_the_declared_size() -> None:
    data = workbook([HEADER, ["a@b.org", "2026-11-02", 1]], {(1_048_576, 1): SECRET})
    assert len(data) < 10_000  # the 5 KB file that drove the process past 8 GB
    error = refused(data, name="last.xlsx")
    assert error.message == "The worksheet declares 1,048,576 rows; the limit is 150,000 rows."
    assert error.hint is not None and "CASELOAD_MAX_ROWS" in error.hint


def test_a_lone_cell_at_the_last_row_is_refused_while_streaming() -> None:
    data = workbook([HEADER, ["a@b.org", "2026-11-02", 1]], {(1_048_576, 1): SECRET})
    error = refused(rezip(data, {SHEET: None}), name="last.xlsx")  # no <dimension>
    assert error.message == (
        "The worksheet has a value in row 1,048,576; the limit is 150,000 rows."
    )


def test_a_value_in_the_last_column_is_refused() -> None:
    data = workbook([HEADER, ["a@b.org", "2026-11-02", 1]], {(2, 16_384): SECRET})
    error = refused(data, name="wide.xlsx")
    assert error.message == "The worksheet declares 16,384 columns; the limit is 1,000 columns."
    error = refused(rezip(data, {SHEET: None}), name="wide.xlsx")
    assert error.message == (
        "Row 2 of the worksheet has a value in column 16,384; the limit is 1,000 columns."
    )


def test_workbook_rows_columns_and_cells() -> None:
    rows: list[list[object]] = [HEADER, *(["a@b.org", "2026-11-02", n] for n in range(9))]
    data = rezip(workbook(rows), {SHEET: None})
    assert len(read(data, Limits(max_rows=10), "x.xlsx").frame) == 9
    assert "limit is 9 rows" in refused(data, Limits(max_rows=9), "x.xlsx").message
    assert "limit is 2 columns" in refused(data, Limits(max_columns=2), "x.xlsx").message
    assert "limit is 29 cells" in refused(data, Limits(max_cells=29), "x.xlsx").message
    error = refused(data, Limits(max_workbook_cells=29), "x.xlsx")
    assert error.message.startswith("The worksheet holds more than 29 cells")
    assert error.hint is not None and "CSV" in error.hint


def test_a_decompression_bomb_is_refused_before_it_is_unpacked() -> None:
    data = workbook([HEADER, ["a@b.org", "2026-11-02", 1]])
    bomb = rezip(data, {"xl/sharedStrings.xml": b"<sst>" + b"A" * (300 * MB) + b"</sst>"}, 1)
    assert len(bomb) < 2 * MB
    error = refused(bomb, name="bomb.xlsx")
    assert "decompression bombs" in error.message


def test_a_workbook_that_unpacks_past_the_limit_is_refused() -> None:
    data = workbook([HEADER, ["a@b.org", "2026-11-02", 1]])
    error = refused(data, Limits(max_expanded_bytes=4096), "big.xlsx")
    assert re.fullmatch(r"The workbook unpacks to \d+ KB; the limit is 4 KB\.", error.message)


def test_an_xml_entity_bomb_is_refused() -> None:
    data = workbook([HEADER, ["a@b.org", "2026-11-02", 1]])
    sheet = zipfile.ZipFile(io.BytesIO(data)).read(SHEET)
    laughs = b'<!DOCTYPE worksheet [<!ENTITY lol "lol">]>'
    error = refused(rezip(data, {SHEET: laughs + sheet}), name="laughs.xlsx")
    assert "could not be opened" in error.message


def test_a_row_longer_than_excel_allows_is_refused_before_it_is_held_whole() -> None:
    data = workbook([HEADER, ["a@b.org", "2026-11-02", 1]])
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    cells = "<c><v>1</v></c>" * 20_000  # no references: each cell one column further
    sheet = f'<worksheet xmlns="{main}"><sheetData><row>{cells}</row></sheetData></worksheet>'
    error = refused(rezip(data, {SHEET: sheet.encode()}), name="long.xlsx")
    assert "could not be opened" in error.message


def shared_strings(strings: list[str], sheet_rows: list[list[int]]) -> bytes:
    """A workbook whose cells are all shared strings (as Excel writes them)."""
    base = workbook([["x"]])
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    items = "".join(f"<si><t>{s}</t></si>" for s in strings)
    rows = "".join(
        f'<row r="{r}">'
        + "".join(f'<c r="{chr(65 + c)}{r}" t="s"><v>{v}</v></c>' for c, v in enumerate(row))
        + "</row>"
        for r, row in enumerate(sheet_rows, start=1)
    )
    sheet = f'<worksheet xmlns="{main}"><sheetData>{rows}</sheetData></worksheet>'
    rels = zipfile.ZipFile(io.BytesIO(base)).read("xl/_rels/workbook.xml.rels")
    rel = (
        b'<Relationship Id="rId99" Target="sharedStrings.xml" Type="http://schemas.'
        b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
    )
    return rezip(
        base,
        {
            SHEET: sheet.encode(),
            "xl/sharedStrings.xml": f'<sst xmlns="{main}">{items}</sst>'.encode(),
            "xl/_rels/workbook.xml.rels": rels.replace(
                b"</Relationships>", rel + b"</Relationships>"
            ),
        },
    )


def test_shared_strings_are_read_as_far_as_the_cells_need() -> None:
    data = shared_strings(["email", "date", "Q1", "a@b.org", "2026-11-02", "3", "unused"], [
        [0, 1, 2],
        [3, 4, 5],
    ])  # fmt: skip
    result = read(data, name="s.xlsx")
    assert result.question_columns == ["Q1"]
    assert result.frame["Q1"].tolist() == ["3"]
    broken = shared_strings(["email", "date", "Q1"], [[0, 1, 2], [0, 1, 7]])
    assert "could not be opened" in refused(broken, name="s.xlsx").message


# --- real exports -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.*") if p.suffix in {
    ".csv", ".xlsx"}))  # fmt: skip
def test_real_samples_are_within_every_limit(name: str) -> None:
    data = (SAMPLES / name).read_bytes()
    default = read_export(name, data)
    from_env = read(data, Limits.from_env({}), name)
    assert default.frame.equals(from_env.frame)
    assert not [issue for issue in default.skipped if "cells" in issue.reason]
