"""A journey in a real browser against `streamlit run` on the demo practice: a supervisor opens
the stalled repair couple from a shared link, records that apology and repair was reached (with
the amends agreed), and after a reload the repair is no longer stalled. No request leaves our
own server."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics.practice.opening import open_practice
from tests.e2e.conftest import sign_in, start_server

pytestmark = pytest.mark.e2e
LAPTOP = {"width": 1366, "height": 900}
STALLED = "Apology and repair has been in progress for"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from analytics.demo.build import build_demo

    folder = tmp_path_factory.mktemp("e2e-repair")
    instruments = folder / "instruments"
    instruments.mkdir()
    db = open_practice(folder / "demo.duckdb", instruments_folder=instruments)
    build_demo(db, as_of=dt.date.today())
    db.close()
    proc, url = start_server(folder / "demo.duckdb", folder / "streamlit.log", instruments)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def _sign_in(page: Any, url: str) -> None:
    sign_in(page, f"{url}/repair?couple=D-007", "morgan")
    page.get_by_role("heading", name="D-007").wait_for(timeout=30_000)


def _choose(page: Any, label: str, option: str) -> None:
    box = page.get_by_role("combobox", name=label, exact=True)
    box.scroll_into_view_if_needed()  # a click on a box below the fold opens nothing
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_record_a_milestone(browser: Any, server: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport=LAPTOP)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        _sign_in(page, server)
        # The couple's stall warning (the repair caseload's grid above may name it too).
        warning = page.get_by_test_id("stAlertContentWarning").get_by_text(STALLED)
        warning.wait_for(timeout=30_000)
        page.wait_for_function(
            "document.querySelector('.js-plotly-plot')"
            "?.querySelectorAll('.scatterlayer .trace').length >= 4",
            timeout=30_000,
        )
        page.screenshot(path=str(tmp_path / "repair-before.png"), full_page=True)

        _choose(page, "Milestone", "2. Apology and repair")
        _choose(page, "Status", "Reached")
        page.get_by_label(re.compile("^Amends agreed")).fill("Demo: a weekly budget review.")
        page.get_by_label(re.compile("^Evidence")).fill("Demo: apologised without excuses.")
        page.get_by_role("button", name="Record change").click()
        page.get_by_text("Apology and repair: reached recorded.").wait_for(timeout=30_000)
        # The rerun draws the page again without the stall (stale elements go when it ends).
        warning.wait_for(state="detached", timeout=30_000)
        page.screenshot(path=str(tmp_path / "repair-after.png"), full_page=True)

        # A fresh session (a reload) reads it back from the database.
        _sign_in(page, server)
        page.get_by_text("Record a milestone change").wait_for(timeout=30_000)
        # The stall warning would be drawn before the timeline, and the timeline is there.
        page.wait_for_function(
            "document.querySelector('.js-plotly-plot')"
            "?.querySelectorAll('.scatterlayer .trace').length >= 4",
            timeout=30_000,
        )
        page.get_by_text("Record a milestone change").wait_for(timeout=30_000)
        assert page.get_by_text(STALLED).count() == 0
        host = server.split("://", 1)[1]
        outside = [
            u
            for u in requests
            if not u.startswith((f"http://{host}", f"ws://{host}", "data:", "blob:"))
        ]
        assert outside == []
    finally:
        page.close()
