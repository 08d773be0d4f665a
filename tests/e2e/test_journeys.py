"""Journeys in a real browser against `streamlit run` on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics.practice.opening import open_database
from analytics.practice.therapists import add_therapist
from tests import factories
from tests.e2e.conftest import start_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("e2e")
    db = open_database(folder / "e2e.duckdb")
    therapist = add_therapist(db, "Robin Demo")
    now = dt.datetime.combine(dt.date.today(), dt.time(8))
    calm = factories.couple(db, therapist, "E-1", start_date=dt.date.today() - dt.timedelta(42))
    unsafe = factories.couple(db, therapist, "E-2")
    for week, level in enumerate([2, 3, 4, 5]):
        when = now - dt.timedelta(weeks=4 - week)
        factories.checkin(db, calm, "A", when, level)
        factories.checkin(db, calm, "B", when, 3)
    factories.checkin(db, unsafe, "B", now - dt.timedelta(days=1), 3, safety=1)
    db.close()
    proc, url = start_server(folder / "e2e.duckdb", folder / "streamlit.log")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def _choose_therapist(page: Any) -> None:
    page.get_by_role("combobox", name="You are").click()
    page.get_by_role("option", name="Robin Demo").click()


def test_caseload_then_couple(browser: Any, server: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server, wait_until="domcontentloaded")
    page.get_by_text("Choose who you are").wait_for(timeout=30_000)
    _choose_therapist(page)
    page.get_by_text("Couples shown").wait_for(timeout=30_000)
    # Safety answers surface first, as a banner, before the table.
    page.get_by_text(re.compile("positive answer on the safety screen")).wait_for()
    page.screenshot(path=str(tmp_path / "caseload.png"), full_page=True)

    page.get_by_role("combobox", name="Open a couple").click()
    page.get_by_role("option", name="E-1").click()
    page.get_by_role("button", name="Open couple", exact=True).click()
    page.screenshot(path=str(tmp_path / "after-open.png"), full_page=True)
    page.get_by_role("heading", name=re.compile("E-1")).wait_for(timeout=30_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() == 2
    page.screenshot(path=str(tmp_path / "couple.png"), full_page=True)

    # Nothing was fetched from anywhere but our own server.
    outside = [
        u
        for u in requests
        if not u.startswith(server) and not u.startswith("data:") and not u.startswith("blob:")
    ]
    assert outside == []
    page.close()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from analytics.demo.build import build_demo

    folder = tmp_path_factory.mktemp("e2e-demo")
    db = open_database(folder / "demo.duckdb")
    build_demo(db)
    db.close()
    proc, url = start_server(folder / "demo.duckdb", folder / "streamlit.log")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_import_a_sample_export(browser: Any, demo_server: str, tmp_path: Path) -> None:
    sample = Path(__file__).parents[2] / "data" / "samples" / "google_forms.csv"
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{demo_server}/import_responses", wait_until="domcontentloaded")
    page.get_by_role("combobox", name="You are").click()
    page.get_by_role("option", name=re.compile("Morgan Demo")).click()
    page.locator("input[type=file]").set_input_files(str(sample))
    page.get_by_text("Detected a Google Forms export.").wait_for(timeout=30_000)
    button = page.get_by_role("button", name=re.compile(r"Import \d+ responses"))
    button.wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "import-preview.png"), full_page=True)
    button.click()
    page.get_by_text(re.compile(r"Imported \d+ new responses")).wait_for(timeout=30_000)
    # The unknown respondent in the sample waits in the queue instead of being dropped.
    page.get_by_text("File under this partner").wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "import-done.png"), full_page=True)
    page.close()
