"""AppTest of the download controls: the couple page's chart menus (PNG, SVG, HTML) and the
caseload's CSV and XLSX files, each made and audited only when its button is clicked."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from analytics.charts import export
from analytics.practice import audit
from analytics.practice.access import Actor
from analytics.store.db import Database
from tests import factories
from tests.test_pages import TODAY, choose, open_app, open_couple

pytestmark = pytest.mark.usefixtures("app_env")


def _downloads(at: AppTest) -> dict[str, Any]:
    """Each download button by its element key's tail (e.g. "progress_download_png")."""
    return {b.proto.id.split("-", 2)[-1]: b.proto for b in at.get("download_button")}


# Deferred files registered during the runs (AppTest's media manager lives for one run only).
_DEFERRED: dict[str, tuple[str, Any]] = {}


@pytest.fixture(autouse=True)
def _keep_deferred(monkeypatch: pytest.MonkeyPatch) -> None:
    original = MediaFileManager.add_deferred

    def add_deferred(self: MediaFileManager, data: Any, mimetype: Any, *a: Any, **kw: Any) -> str:
        file_id = original(self, data, mimetype, *a, **kw)
        _DEFERRED[file_id] = (str(kw.get("file_name")), data)
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    _DEFERRED.clear()


def _click(button: Any) -> tuple[str, bytes]:
    """What the browser gets for a click: the deferred file's name and bytes (made now)."""
    name, make = _DEFERRED[button.deferred_file_id]
    return name, bytes(make())


def _exports(db: Database, couple_id: int | None = None) -> pd.DataFrame:
    log = audit.entries(db, couple_id=couple_id)
    return log[log["action"] == "export"]


@pytest.fixture
def checked_in(db: Database, therapist: Actor) -> int:
    couple_id = factories.couple(db, therapist, "X-1")
    for week, level in enumerate([2, 4, 5]):
        when = TODAY - dt.timedelta(weeks=3 - week)
        factories.checkin(db, couple_id, "A", when, level)
        factories.checkin(db, couple_id, "B", when, 3)
    return couple_id


def test_couple_page_opens_without_making_any_file(
    db: Database, therapist: Actor, checked_in: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    monkeypatch.setattr(export, "figure_file", lambda _fig, fmt: made.append(fmt) or b"")
    at = open_couple(therapist, checked_in)
    buttons = _downloads(at)
    assert {"progress_download_png", "profile_download_svg", "progress_download_html"} <= set(
        buttons
    )
    assert all(b.deferred_file_id for b in buttons.values())  # files wait for a click
    assert made == [] and _exports(db).empty


def test_download_makes_the_file_and_audits_it(
    db: Database, therapist: Actor, checked_in: int
) -> None:
    at = open_couple(therapist, checked_in)
    buttons = _downloads(at)
    name, png = _click(buttons["progress_download_png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert name == "X-1-progress-global.png"  # the case code, never a client's name
    name, html = _click(buttons["profile_download_html"])
    assert name == "X-1-profile.html" and b"Plotly.newPlot" in html
    log = _exports(db, checked_in)
    assert len(log) == 2
    assert sorted(json.loads(d)["format"] for d in log["detail"]) == ["html", "png"]
    assert set(log["therapist"]) == {therapist.name} and set(log["entity"]) == {"chart"}
    assert "Alpha" not in "".join(log["detail"])  # ids and formats only


def test_more_detail_charts_have_downloads(therapist: Actor, checked_in: int) -> None:
    at = choose(open_couple(therapist, checked_in), "More detail", "Every scale over time")
    assert "trends_download_svg" in _downloads(at)


def test_without_chromium_the_menu_says_how_and_offers_html(
    therapist: Actor, checked_in: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(export, "CHROMIUM", tmp_path / "none")
    monkeypatch.setattr(export.shutil, "which", lambda _name: None)
    at = open_couple(therapist, checked_in)
    buttons = _downloads(at)
    assert "progress_download_html" in buttons and "progress_download_png" not in buttons
    assert any("apt-get install chromium" in c.value for c in at.caption)


def test_caseload_files_match_the_page_and_are_audited(
    db: Database, therapist: Actor, checked_in: int
) -> None:
    other = factories.couple(db, therapist, "X-2")
    at = open_app(therapist, "pages/caseload.py")
    buttons = _downloads(at)
    name, csv = _click(buttons["caseload_export_csv"])
    assert name == f"caseload-{dt.date.today():%Y-%m-%d}.csv"
    back = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig")
    shown = at.dataframe(key="caseload_table").value
    assert list(back["Case"]) == list(shown["case_code"])
    _, xlsx = _click(buttons["caseload_export_xlsx"])
    assert list(pd.read_excel(io.BytesIO(xlsx))["Case"]) == list(shown["case_code"])
    log = _exports(db)
    assert sorted(log["couple_id"]) == sorted([checked_in, other] * 2)
    assert set(log["entity"]) == {"caseload"}
