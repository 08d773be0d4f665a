"""Chart files (HTML, PNG, SVG through kaleido and Debian's Chromium), the caseload as CSV and
XLSX (formula injection neutralised), the export audit and `python -m analytics export`."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import struct
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pandas as pd
import plotly.graph_objects as go
import pytest

from analytics.charts import export
from analytics.charts.progress import PARTNER_COLOURS
from analytics.cli.main import main
from analytics.errors import CaseloadError
from analytics.practice import audit
from analytics.practice.access import PRACTICE, Actor
from analytics.practice.couples import PartnerInput, add_couple
from analytics.practice.opening import open_practice
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from analytics.views import exports
from analytics.views.caseload import caseload_table
from tests import factories
from tests.cli_users import password_env, user

TODAY = dt.date.today()
NOW = dt.datetime.combine(TODAY, dt.time(9, 0))
HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _figure() -> go.Figure:
    return go.Figure(
        go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="A", line={"color": PARTNER_COLOURS["A"]})
    )


def _reopen(path: Path) -> pd.DataFrame:
    db = open_practice(path)
    try:
        return audit.entries(db)
    finally:
        db.close()


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk (the first chunk, right after the signature)."""
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


# --- chart files -----------------------------------------------------------------------------


def test_png_has_the_signature_and_the_requested_pixel_size() -> None:
    data = export.figure_image(_figure(), "png", width=400, height=300, scale=2)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert _png_size(data) == (800, 600)


def test_svg_parses_as_xml_and_has_the_requested_size() -> None:
    data = export.figure_image(_figure(), "svg", width=640, height=360)
    root = ElementTree.fromstring(data)
    assert root.tag.endswith("svg")
    assert (root.get("width"), root.get("height")) == ("640", "360")


def test_html_is_self_contained() -> None:
    html = export.figure_html(_figure()).decode("utf-8")
    assert re.search(r"<script[^>]*\bsrc\s*=", html) is None  # nothing fetched: plotly.js inlined
    assert "MathJax.Hub" not in html and "mathjax" not in re.findall(r"<script[^>]*>", html)
    assert "Plotly.newPlot" in html


def test_without_chromium_images_refuse_readably_and_html_still_works(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(export, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setattr(export.shutil, "which", lambda _name: None)
    assert not export.images_available()
    with pytest.raises(export.ChromiumMissing) as caught:
        export.figure_image(_figure(), "png")
    assert isinstance(caught.value, CaseloadError)
    assert "apt-get install chromium" in str(caught.value)
    assert "HTML" in str(caught.value)
    assert export.figure_file(_figure(), "html").startswith(b"<!doctype html>")


def test_unknown_formats_are_refused() -> None:
    with pytest.raises(CaseloadError):
        export.figure_image(_figure(), "gif")  # type: ignore[arg-type]
    with pytest.raises(CaseloadError):
        export.figure_file(_figure(), "pdf")


# --- the caseload as a file ------------------------------------------------------------------


NAMES = ["=1+1", "+CMD", "-X", "@ME"]
NEUTRAL = sorted("'" + n for n in NAMES)


@pytest.fixture
def hostile(db: Database) -> list[int]:
    """Four therapists whose names would run as spreadsheet formulas, one couple each (the
    first with check-ins); case codes cannot start that way, names people type can."""
    ids = []
    for n, name in enumerate(NAMES):
        who = add_therapist(db, name)
        ids.append(
            add_couple(
                db,
                who,
                f"H-{n}",
                PartnerInput(f"Ann {n}", f"a{n}@example.org"),
                PartnerInput(f"Bo {n}", f"b{n}@example.org"),
                start_date=TODAY - dt.timedelta(days=60),
            )
        )
    for week, level in enumerate([2, 5]):
        when = NOW - dt.timedelta(weeks=2 - week)
        factories.checkin(db, ids[0], "A", when, level)
        factories.checkin(db, ids[0], "B", when, 3)
    return ids


def test_neutralise() -> None:
    for value in HOSTILE:
        assert exports.neutralise(value) == "'" + value
    assert exports.neutralise("C-1") == "C-1"
    assert exports.neutralise(-2.5) == -2.5  # numbers stay numbers


def test_caseload_export_matches_the_caseload_rows(db: Database, hostile: list[int]) -> None:
    rows = exports.caseload_export(db, PRACTICE, as_of=TODAY)
    page = caseload_table(db, PRACTICE, as_of=TODAY)
    assert rows.attrs["couple_ids"] == [int(i) for i in page["couple_id"]] and len(page) == 4
    assert list(rows["Case"]) == list(page["case_code"])
    assert list(rows["Needs attention"]) == [f.replace(" · ", "; ") for f in page["flags"]]
    assert [t.lstrip("'") for t in rows["Therapist"]] == list(page["therapist"])
    # Partner names stay on the screen, out of the file.
    assert not rows.astype(str).apply(lambda c: c.str.contains("Ann|Bo")).any().any()
    first = rows[rows["Case"] == "H-0"].iloc[0]
    assert first["A latest"] == pytest.approx(5.0) and first["A check-ins"] == 2


def test_csv_read_back_has_no_formula(db: Database, hostile: list[int]) -> None:
    data = exports.table_bytes(exports.caseload_export(db, PRACTICE, as_of=TODAY), "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False)
    assert sorted(back["Therapist"]) == NEUTRAL
    for column in back.columns:
        assert not any(str(v).startswith(exports.FORMULA_START) for v in back[column])
    assert pd.api.types.is_numeric_dtype(back["A check-ins"])


def test_xlsx_read_back_has_text_not_formulas(db: Database, hostile: list[int]) -> None:
    data = exports.table_bytes(exports.caseload_export(db, PRACTICE, as_of=TODAY), "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # no formula anywhere
    names = [row[header.index("Therapist")].value for row in sheet.iter_rows(min_row=2)]
    assert sorted(names) == NEUTRAL
    latest = [
        row[header.index("A latest")].value
        for row in sheet.iter_rows(min_row=2)
        if row[0].value == "H-0"
    ]
    assert latest == [5.0]  # a number, not text


def test_export_audit_names_who_which_couple_kind_and_format(
    db: Database, therapist: Actor
) -> None:
    from analytics.practice.exports import record_export

    mine = factories.couple(db, therapist, "M-1")
    record_export(db, therapist, kind="chart", fmt="png", couple_ids=[mine])
    log = audit.entries(db, couple_id=mine)
    entry = log[log["action"] == "export"].iloc[0]
    assert entry["therapist"] == therapist.name and entry["entity"] == "chart"
    assert json.loads(entry["detail"]) == {"format": "png"}


def test_export_audit_refuses_another_therapists_couple(db: Database, therapist: Actor) -> None:
    from analytics.practice.exports import record_export

    other = add_therapist(db, "Other")
    theirs = factories.couple(db, other, "O-1")
    with pytest.raises(CaseloadError):
        record_export(db, therapist, kind="chart", fmt="svg", couple_ids=[theirs])
    assert audit.entries(db, couple_id=theirs).query("action == 'export'").empty


# --- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_cli_exports_the_caseload(
    db: Database,
    db_path: Path,
    hostile: list[int],
    tmp_path: Path,
    suffix: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db.close()
    password_env(monkeypatch)
    lead = user(db_path, "Export Lead", role="supervisor")  # sees every couple
    out = tmp_path / f"caseload.{suffix}"
    code = main(
        ["export", "caseload", "--db", str(db_path), "--out", str(out), *lead],
        today=TODAY,
        now=NOW,
    )
    assert code == 0, capsys.readouterr().err
    back = (
        pd.read_csv(out, encoding="utf-8-sig")
        if suffix == "csv"
        else pd.read_excel(out, engine="openpyxl")
    )
    assert sorted(back["Therapist"]) == NEUTRAL
    log = _reopen(db_path)
    assert (log["action"] == "export").sum() == 4
    assert "4 couple(s)" in capsys.readouterr().out


def test_cli_refuses_an_unknown_suffix(
    db: Database,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db.close()
    password_env(monkeypatch)
    lead = user(db_path, "Export Lead", role="supervisor")
    out = tmp_path / "caseload.txt"
    code = main(
        ["export", "caseload", "--db", str(db_path), "--out", str(out), *lead],
        today=TODAY,
        now=NOW,
    )
    assert code == 1 and not out.exists()
    assert ".csv or .xlsx" in capsys.readouterr().err
