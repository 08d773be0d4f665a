"""The couple page in a real browser on the 1,000-couple practice (issue 8, speed): Debian's
headless Chromium against `streamlit run`, opening the busiest couple from the caseload, timed
from the click on "Open couple" until every chart the page opens with has drawn its traces and
Streamlit has finished the run. The first open (Plotly's code loads then) is reported apart;
the target is the median of the next five. Printed by `make bench`, never asserted in tests."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from analytics.demo.build import build_demo
from analytics.practice.opening import open_practice
from bench import Row

COUPLES = 1000
WEEKS = 52
RUNS = 5
# True once Streamlit has stopped running, nothing on the page is stale, and at least `n` charts
# have drawn traces (scatter or heatmap layers inside the chart's SVG).
SETTLED = """(n) => {
  const charts = [...document.querySelectorAll('.js-plotly-plot')];
  const drawn = charts.filter(c => c.querySelector(
      '.main-svg .scatterlayer .trace, .main-svg .heatmaplayer image'));
  const running = document.querySelector(
      '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]');
  return drawn.length >= n && drawn.length === charts.length && !running
      && !document.querySelector('[data-stale="true"]');
}"""


def _busiest(db_path: Path, instruments: Path) -> str:
    """Build the practice and return the case code of a couple with a full year from both."""
    db = open_practice(db_path, instruments_folder=instruments)
    try:
        build_demo(db, couples=COUPLES, weeks=WEEKS, as_of=dt.date.today())
        return str(
            db.query_value(
                "SELECT c.case_code FROM responses r JOIN partners p ON p.id = r.partner_id"
                " JOIN couples c ON c.id = p.couple_id GROUP BY c.case_code"
                " ORDER BY count(*) DESC, c.case_code LIMIT 1"
            )
        )
    finally:
        db.close()


def _open_times(page: Any, code: str) -> tuple[float, list[float], int]:
    """(first open, the next RUNS opens, charts drawn) in seconds, from the caseload each time."""
    charts = 1
    times = []
    for run in range(RUNS + 1):
        page.get_by_text("Couples shown").wait_for(timeout=60_000)
        page.wait_for_function(SETTLED, arg=0, timeout=60_000)
        page.get_by_role("combobox", name="Open a couple").click()
        page.keyboard.type(code)
        page.get_by_role("option", name=code, exact=True).click()
        page.wait_for_function(SETTLED, arg=0, timeout=60_000)
        started = time.perf_counter()
        page.get_by_role("button", name="Open couple", exact=True).click()
        page.get_by_role("heading", name=code).wait_for(timeout=60_000)
        page.wait_for_function(SETTLED, arg=charts, timeout=60_000, polling=20)
        times.append(time.perf_counter() - started)
        if run == 0:  # count the charts once the first open has fully settled
            time.sleep(2)
            charts = max(
                1, int(page.evaluate("document.querySelectorAll('.js-plotly-plot').length"))
            )
        page.get_by_role("link", name="Caseload").click()
    return times[0], times[1:], charts


def run() -> list[Row]:
    """Serve the practice from a throwaway folder and time the couple page in Chromium."""
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, sign_in, start_server

    if not Path(CHROMIUM).exists():
        note = f"skipped: {CHROMIUM} not found (apt-get install chromium)"
        return [Row("couple page: drawn in Chromium", float("nan"), "s", "< 1.5 s", note)]
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="couple-browser-bench-") as tmp:
        folder = Path(tmp)
        instruments = folder / "instruments"
        instruments.mkdir()
        code = _busiest(folder / "bench.duckdb", instruments)
        proc, url = start_server(folder / "bench.duckdb", folder / "streamlit.log", instruments)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                page = browser.new_page(viewport={"width": 1366, "height": 900})  # a laptop
                sign_in(page, url, "morgan")  # the demo's supervisor
                first, times, charts = _open_times(page, code)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    spread = f"{min(times):.2f}-{max(times):.2f} s"
    cores = os.cpu_count()
    return [
        Row(
            "couple page: drawn in Chromium",
            statistics.median(times),
            "s",
            "< 1.5 s",
            f"median of {RUNS} opens from the caseload ({spread}), {charts} charts, {cores} cores",
        ),
        Row("couple page: drawn in Chromium, first", first, "s", "", "Plotly's code loads"),
    ]
