"""Journeys in a real browser against `streamlit run` on 127.0.0.1, on the demo practice.

Kept few (one server for the module): the caseload fits a 1366-px screen without hiding partner
B, the safety couple's page puts safety first (and how long it takes to draw), an import, and
never a request to anywhere but our own server.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from analytics.practice.opening import open_practice
from tests.e2e.conftest import DEMO_USERS, sign_in, start_server

pytestmark = pytest.mark.e2e
LAPTOP = {"width": 1366, "height": 768}
# Generous: a shared CI machine with two cores. The measured time is printed (pytest -s).
COUPLE_PAGE_BUDGET_S = 20.0


class DemoServer(NamedTuple):
    url: str
    # Therapist name -> (case code, partner A's email) of one of their active couples that has
    # no safety answer on file, read before the server takes the database's write lock.
    quiet_couples: dict[str, tuple[str, str]]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    from analytics.demo.build import build_demo

    folder = tmp_path_factory.mktemp("e2e-demo")
    instruments = folder / "instruments"
    instruments.mkdir()
    db = open_practice(folder / "demo.duckdb", instruments_folder=instruments)
    build_demo(db, as_of=dt.date.today())
    quiet = {
        str(name): (str(code), str(email))
        for name, code, email in db.query_rows(
            "SELECT t.name, max(c.case_code), arg_max(p.email, c.case_code) FROM couples c"
            " JOIN therapists t ON t.id = c.therapist_id"
            " JOIN partners p ON p.couple_id = c.id AND p.label = 'A'"
            " WHERE c.status = 'active' AND c.id NOT IN"
            " (SELECT couple_id FROM response_safety WHERE positive) GROUP BY t.name"
        )
    }
    db.close()
    proc, url = start_server(folder / "demo.duckdb", folder / "streamlit.log", instruments)
    yield DemoServer(url, quiet)
    proc.terminate()
    proc.wait(timeout=20)


class Visit:
    """A browser page that records every request and WebSocket it opens."""

    def __init__(self, browser: Any, server: str, viewport: dict[str, int]) -> None:
        self.server = server
        self.page = browser.new_page(viewport=viewport)
        self.urls: list[str] = []
        self.page.on("request", lambda r: self.urls.append(r.url))
        self.page.on("websocket", lambda w: self.urls.append(w.url))

    def outside(self) -> list[str]:
        """Every address asked for that is not our own server."""
        host = self.server.split("://", 1)[1]
        own = (f"http://{host}", f"ws://{host}")
        return [u for u in self.urls if not u.startswith((*own, "data:", "blob:"))]

    def sign_in(self, path: str = "", *, as_who: str = "Morgan Demo") -> None:
        sign_in(self.page, f"{self.server}/{path}", DEMO_USERS[as_who])


@pytest.fixture
def visit(browser: Any, demo_server: DemoServer) -> Iterator[Visit]:
    v = Visit(browser, demo_server.url, LAPTOP)
    yield v
    v.page.close()


def _grid_fit(page: Any, column: str) -> dict[str, Any]:
    """The scroll container of the grid that has `column`, and the columns its accessible table
    renders (the canvas grid renders only the columns inside its visible area)."""
    result: dict[str, Any] = page.evaluate(
        """(column) => {
            const grid = [...document.querySelectorAll('[data-testid="stDataFrame"]')].find(
                g => [...g.querySelectorAll('table [role="columnheader"]')].some(
                    h => h.textContent.trim() === column));
            const scroller = grid.querySelector('.dvn-scroller');
            const headers = [...grid.querySelectorAll('table [role="columnheader"]')];
            return {
                clientWidth: scroller.clientWidth,
                scrollWidth: scroller.scrollWidth,
                headers: headers.map(h => h.textContent.trim()),
            };
        }""",
        column,
    )
    return result


def test_caseload_fits_a_laptop_screen_without_hiding_partner_b(
    visit: Visit, tmp_path: Path
) -> None:
    page = visit.page
    visit.sign_in()
    page.get_by_text("Couples shown").wait_for(timeout=30_000)
    grid = page.get_by_test_id("stDataFrame").first
    sidebar = page.get_by_test_id("stSidebar").bounding_box()
    assert sidebar["width"] > 200  # open, beside the grid
    assert grid.bounding_box()["x"] >= sidebar["x"] + sidebar["width"]
    grid.locator("table [role=columnheader]", has_text="B trend").wait_for(
        state="attached", timeout=30_000
    )
    grid.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "caseload-1366.png"))
    fit = _grid_fit(page, "Needs attention")
    # No horizontal scrolling: every column, partner B's included, is inside the grid.
    assert fit["scrollWidth"] <= fit["clientWidth"], fit
    for column in ("Partner A", "A now", "A trend", "Partner B", "B now", "B trend"):
        assert column in fit["headers"], fit
    assert fit["headers"][:2] == ["Case", "Needs attention"]
    # The safety banner sits above the grid.
    banner = page.get_by_text(re.compile("positive answer on the safety screen"))
    assert banner.bounding_box()["y"] < grid.bounding_box()["y"]
    assert visit.outside() == []


def test_safety_couple_page_puts_safety_first(visit: Visit, tmp_path: Path) -> None:
    page = visit.page
    visit.sign_in()
    page.get_by_text("Couples shown").wait_for(timeout=30_000)
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=30_000)
    page.get_by_role("combobox", name="Open a couple").click()
    page.keyboard.type("D-010")
    page.get_by_role("option", name="D-010").click()
    started = time.perf_counter()
    page.get_by_role("button", name="Open couple", exact=True).click()
    heading = page.get_by_role("heading", name="D-010")
    heading.wait_for(timeout=30_000)
    page.wait_for_function(
        # The progress chart (the page's first): a trace per partner, and its time marks.
        "document.querySelector('.js-plotly-plot')"
        "?.querySelectorAll('.scatterlayer .trace').length >= 2",
        timeout=30_000,
    )
    page.get_by_text("Every scale, both partners").wait_for(timeout=30_000)
    drawn = time.perf_counter() - started
    print(f"\ncouple page drawn in {drawn:.2f} s (click to chart and scale table)")
    page.screenshot(path=str(tmp_path / "couple-safety.png"), full_page=True)

    banner = page.get_by_test_id("stAlertContentError").first
    assert "Safety screen: 1 positive answer(s) not assessed yet." in banner.inner_text()
    answers = page.get_by_test_id("stDataFrame").first
    chart = page.locator(".js-plotly-plot").first
    tops = [x.bounding_box()["y"] for x in (banner, answers, heading, chart)]
    assert tops == sorted(tops), tops  # banner, its answers, then the title, then the chart
    assert drawn < COUPLE_PAGE_BUDGET_S
    # Both partners' columns of the per-scale table fit the screen too.
    page.get_by_test_id("stDataFrame").locator(
        "table [role=columnheader]", has_text="B result"
    ).wait_for(state="attached", timeout=30_000)
    scales = _grid_fit(page, "B result")
    assert scales["scrollWidth"] <= scales["clientWidth"], scales
    assert scales["headers"][-1] == "Gap", scales
    assert visit.outside() == []


def test_import_a_sample_export(visit: Visit, tmp_path: Path) -> None:
    sample = Path(__file__).parents[2] / "data" / "samples" / "google_forms.csv"
    page = visit.page
    visit.sign_in("import_responses")
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
    assert visit.outside() == []


def _practice_wide_export(folder: Path, rows: list[tuple[str, dt.datetime, str]]) -> Path:
    """A Google Forms export in the sample's layout with one row per (email, time, answer to
    the self-harm question); every other answer copied from the sample's first row."""
    sample = Path(__file__).parents[2] / "data" / "samples" / "google_forms.csv"
    with sample.open(newline="", encoding="utf-8") as handle:
        header, template = list(csv.reader(handle))[:2]
    harm = next(i for i, title in enumerate(header) if "harming myself" in title)
    out = folder / "practice-wide.csv"
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for email, when, answer in rows:
            row = list(template)
            row[0] = when.strftime("%Y/%m/%d %-I:%M:%S %p GMT+0")
            row[1], row[harm] = email, answer
            writer.writerow(row)
    return out


def test_practice_wide_import_files_another_therapists_client_on_their_couple(
    visit: Visit, demo_server: DemoServer, tmp_path: Path
) -> None:
    mine = demo_server.quiet_couples["Avery Demo"]
    theirs = demo_server.quiet_couples["Jordan Demo"]
    yesterday = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) - dt.timedelta(days=1)
    export = _practice_wide_export(
        tmp_path, [(mine[1], yesterday, "Never"), (theirs[1], yesterday, "More than once")]
    )
    page = visit.page
    visit.sign_in("import_responses", as_who="Avery Demo")
    page.locator("input[type=file]").set_input_files(str(export))
    page.get_by_text("Detected a Google Forms export.").wait_for(timeout=30_000)
    # The preview names only the importer's own couple; the other row is a count, never whose.
    page.get_by_text(re.compile(r"1 row.* outside your caseload")).first.wait_for(timeout=30_000)
    assert page.get_by_text(theirs[0]).count() == 0
    page.get_by_role("button", name=re.compile(r"Import \d+ responses")).click()
    page.get_by_text(re.compile(r"Imported 2 new responses")).wait_for(timeout=30_000)
    assert page.get_by_text(theirs[0]).count() == 0
    page.screenshot(path=str(tmp_path / "practice-wide-import.png"), full_page=True)

    # The other therapist finds their client's answers, safety first, on their couple.
    visit.sign_in(f"couple?couple={theirs[0]}", as_who="Jordan Demo")
    page.get_by_role("heading", name=theirs[0]).wait_for(timeout=30_000)
    banner = page.get_by_test_id("stAlertContentError").first
    banner.wait_for(timeout=30_000)
    assert "Safety screen: 1 positive answer(s) not assessed yet." in banner.inner_text()
    # The answer sits in the grid of positive answers (its accessible table is not "visible").
    page.get_by_text("Thoughts of self-harm").first.wait_for(state="attached", timeout=30_000)
    page.screenshot(path=str(tmp_path / "their-couple.png"), full_page=True)
    assert visit.outside() == []


def test_a_therapist_cannot_open_another_therapists_couple_by_link(
    visit: Visit, demo_server: DemoServer, tmp_path: Path
) -> None:
    """Signed in as one therapist, a link to another therapist's couple shows no couple; signing
    out ends the session, and a reload then shows only the sign-in page."""
    theirs = demo_server.quiet_couples["Jordan Demo"][0]
    page = visit.page
    visit.sign_in(f"couple?couple={theirs}", as_who="Avery Demo")
    page.get_by_text("No couple in your caseload has the case code in this link.").wait_for(
        timeout=30_000
    )
    assert page.get_by_role("heading", name=theirs).count() == 0
    assert page.get_by_text(theirs).count() == 0
    page.screenshot(path=str(tmp_path / "refused-link.png"), full_page=True)
    # The same code in the address of the agenda or repair page shows nothing either.
    for path in ("agenda", "repair"):
        page.goto(f"{visit.server}/{path}?couple={theirs}", wait_until="domcontentloaded")
        page.get_by_text("No couple in your caseload has the case code").first.wait_for(
            timeout=30_000
        )
        assert page.get_by_role("heading", name=theirs).count() == 0
    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You signed out.").wait_for(timeout=30_000)
    page.reload(wait_until="domcontentloaded")
    page.get_by_role("button", name="Sign in").wait_for(timeout=30_000)
    assert page.get_by_text("Signed in as").count() == 0
    assert visit.outside() == []


def test_from_the_caseload_to_a_couple_and_its_item_answers(visit: Visit, tmp_path: Path) -> None:
    page = visit.page
    visit.sign_in()
    page.get_by_text("Couples shown").wait_for(timeout=30_000)
    page.get_by_role("combobox", name="Open a couple").click()
    page.keyboard.type("D-005")
    page.get_by_role("option", name="D-005").click()
    page.get_by_role("button", name="Open couple", exact=True).click()
    page.get_by_role("heading", name="D-005").wait_for(timeout=30_000)
    # The couple is in the address, by case code only: a reload opens the same couple.
    page.wait_for_url(re.compile(r"couple=D-005"), timeout=30_000)
    page.get_by_text("What changed since the last session").wait_for(timeout=30_000)
    page.get_by_text("Barriers and trust, both partners").wait_for(timeout=30_000)
    page.get_by_text("Item answers for one scale", exact=True).click()
    page.wait_for_function(
        "[...document.querySelectorAll('.js-plotly-plot .gtitle')]"
        ".some(t => t.textContent.includes('each statement'))",
        timeout=30_000,
    )
    page.screenshot(path=str(tmp_path / "item-answers.png"), full_page=True)
    # A reload keeps the person signed in (the signed session cookie), on the same couple.
    page.reload(wait_until="domcontentloaded")
    page.get_by_role("heading", name="D-005").wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Sign in").count() == 0
    assert visit.outside() == []
