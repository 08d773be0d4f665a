"""Chart exports in a real browser: the HTML file draws its chart with the network cut off, and a
therapist downloads a PNG from the couple page (the download is audited)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from analytics.charts import export
from analytics.charts.progress import PARTNER_COLOURS
from analytics.practice import audit
from analytics.practice.accounts import create_account
from analytics.practice.opening import open_practice
from analytics.practice.therapists import add_therapist
from tests import factories
from tests.e2e.conftest import sign_in, start_server

pytestmark = pytest.mark.e2e
NOW = dt.datetime.combine(dt.date.today(), dt.time(9, 0))


USERNAME, PASSWORD = "pat", "export journey passphrase"


def _practice(tmp_path: Path, therapist: str, code: str) -> tuple[Path, Path, int]:
    """A practice file with one therapist and one couple with three weeks of check-ins:
    (database, instruments folder, couple id)."""
    instruments = tmp_path / "instruments"
    instruments.mkdir(exist_ok=True)
    db_path = tmp_path / "e2e.duckdb"
    db = open_practice(db_path, instruments_folder=instruments)
    who = add_therapist(db, therapist)
    create_account(db, None, username=USERNAME, password=PASSWORD, therapist_id=who.id)
    couple_id = factories.couple(db, who, code)
    for week, level in enumerate([2, 4, 5]):
        factories.checkin(db, couple_id, "A", NOW - dt.timedelta(weeks=3 - week), level)
        factories.checkin(db, couple_id, "B", NOW - dt.timedelta(weeks=3 - week), 3)
    db.close()
    return db_path, instruments, couple_id


def _couple_page(browser: Any, url: str, therapist: str, code: str) -> Any:
    """A page (downloads allowed) on the couple's page, as `therapist`."""
    page = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    sign_in(page, f"{url}/couple?couple={code}", USERNAME, PASSWORD)
    return page


def test_html_export_draws_its_chart_with_no_network(browser: Any, tmp_path: Path) -> None:
    import plotly.graph_objects as go

    fig = go.Figure(
        [
            go.Scatter(x=[1, 2, 3], y=[2, 3, 5], name="A", line={"color": PARTNER_COLOURS["A"]}),
            go.Scatter(x=[1, 2, 3], y=[3, 3, 4], name="B", line={"color": PARTNER_COLOURS["B"]}),
        ]
    )
    page_file = tmp_path / "chart.html"
    page_file.write_bytes(export.figure_html(fig))
    refused: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("file://", "data:")):
            r.continue_()
        else:
            refused.append(url)
            r.abort()

    page = browser.new_page()
    try:
        page.route("**/*", route)
        page.goto(page_file.as_uri())
        page.wait_for_selector(".js-plotly-plot .scatterlayer .trace", timeout=15_000)
        traces = page.evaluate("document.querySelector('.js-plotly-plot').data.length")
        drawn = page.locator(".js-plotly-plot .scatterlayer .trace path.js-line").count()
    finally:
        page.close()
    assert traces == 2 and drawn == 2
    assert refused == []  # it never even asked


def test_a_therapist_downloads_a_png_and_it_is_audited(browser: Any, tmp_path: Path) -> None:
    db_path, instruments, couple_id = _practice(tmp_path, "Pat Export", "E-1")
    proc, url = start_server(db_path, tmp_path / "streamlit.log", instruments)
    try:
        page = _couple_page(browser, url, "Pat Export", "E-1")
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        page.locator(".st-key-progress_downloads button").first.click()
        with page.expect_download(timeout=30_000) as info:
            page.locator(".st-key-progress_download_png button").click()
        download = info.value
        assert download.suggested_filename == "E-1-progress-global.png"
        data = Path(download.path()).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    db = open_practice(db_path, instruments_folder=instruments)
    try:
        log = audit.entries(db, couple_id=couple_id)
    finally:
        db.close()
    exported = log[log["action"] == "export"]
    assert len(exported) == 1 and exported.iloc[0]["therapist"] == "Pat Export"
    assert json.loads(exported.iloc[0]["detail"]) == {"chart": "progress-global", "format": "png"}


def test_a_therapist_downloads_a_deidentified_report(browser: Any, tmp_path: Path) -> None:
    """Couple page → Records → Client report → de-identify → the PDF arrives, names nowhere in
    it, and the report is audited."""
    import subprocess

    db_path, instruments, couple_id = _practice(tmp_path, "Pat Report", "E-2")
    proc, url = start_server(db_path, tmp_path / "streamlit.log", instruments)
    try:
        page = _couple_page(browser, url, "Pat Report", "E-2")
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        page.locator("button", has_text="Client report").click()
        page.get_by_text("De-identify", exact=False).click()
        button = page.locator(f".st-key-report_download_{couple_id} button")
        button.wait_for(timeout=30_000)
        page.wait_for_timeout(500)  # the checkbox's rerun settles before the click
        with page.expect_download(timeout=60_000) as info:
            button.click()
        download = info.value
        assert download.suggested_filename == "report-E-2.pdf"
        pdf = tmp_path / "report.pdf"
        pdf.write_bytes(Path(download.path()).read_bytes())  # gone once the page closes
        assert pdf.read_bytes().startswith(b"%PDF")
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    if Path("/usr/bin/pdftotext").is_file():
        text = subprocess.run(
            ["/usr/bin/pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "E-2" in text and "Alpha" not in text and "Beta" not in text
        assert "@" not in text
    db = open_practice(db_path, instruments_folder=instruments)
    try:
        log = audit.entries(db, couple_id=couple_id)
    finally:
        db.close()
    reports = [json.loads(d) for d in log["detail"] if '"kind": "report"' in d]
    assert len(reports) == 1 and reports[0]["deidentified"] is True
