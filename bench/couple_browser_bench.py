"""The caseload and couple pages in a real browser on the shared 1,000-couple practice (issue 8,
speed), once per backend: Debian's headless Chromium against `streamlit run`. The couple page is
timed from the click on "Open couple" until every chart the page opens with has drawn its traces
and Streamlit has finished the run (the first open, when Plotly's code loads, apart; the target
is the median of the next five); the caseload from the click on its sidebar link (and, cold,
from the sign-in click) until it has drawn. Then the server's peak resident memory (VmHWM).
Printed by `make bench`, never asserted in tests."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import Row, failed, practices, ratio
from bench.practices import BACKENDS, COUPLES, Practice, wanted

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


def _settle(page: Any) -> None:
    page.get_by_text("Couples shown").wait_for(timeout=120_000)
    page.wait_for_function(SETTLED, arg=0, timeout=120_000, polling=20)


def _sign_in(page: Any, url: str) -> float:
    """Sign in as the demo's supervisor; seconds from the click until the caseload has drawn
    (its data not cached yet: the cold caseload)."""
    from analytics.demo.build import DEMO_PASSWORDS

    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("Username").fill("morgan")
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORDS["morgan"])
    started = time.perf_counter()
    page.get_by_role("button", name="Sign in").click()
    _settle(page)
    return time.perf_counter() - started


def _open_times(page: Any, code: str) -> tuple[float, list[float], list[float], int]:
    """(first open, the next RUNS opens, caseload redraws, charts drawn) in seconds: the couple
    opened from the caseload each time, then the caseload chosen in the sidebar again."""
    charts = 1
    times, back = [], []
    for run in range(RUNS + 1):
        page.get_by_role("combobox", name="Open a couple").click()
        page.keyboard.type(code)
        page.get_by_role("option", name=code, exact=True).click()
        page.wait_for_function(SETTLED, arg=0, timeout=120_000)
        started = time.perf_counter()
        page.get_by_role("button", name="Open couple", exact=True).click()
        page.get_by_role("heading", name=code).wait_for(timeout=120_000)
        page.wait_for_function(SETTLED, arg=charts, timeout=120_000, polling=20)
        times.append(time.perf_counter() - started)
        if run == 0:  # count the charts once the first open has fully settled
            time.sleep(2)
            charts = max(
                1, int(page.evaluate("document.querySelectorAll('.js-plotly-plot').length"))
            )
        started = time.perf_counter()
        page.get_by_role("link", name="Caseload").click()
        _settle(page)
        back.append(time.perf_counter() - started)
    return times[0], times[1:], back, charts


def peak_rss_mb(pid: int) -> tuple[float, int]:
    """(MB, processes): the peak resident set (VmHWM) of a process and its descendants, summed
    (an upper bound of their peak together)."""
    total_kb, seen, todo = 0, 0, [pid]
    while todo:
        current = todo.pop()
        proc = Path(f"/proc/{current}")
        try:
            status = (proc / "status").read_text()
            for task in (proc / "task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total_kb += int(line.split()[1])
                seen += 1
    return total_kb / 1024, seen


def _journey(p: Practice, backend: str, out: Path) -> list[Row]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, start_server

    # A copy of the file: nothing this process opened earlier can hold its lock.
    path = practices.copy_file(p, out / "served") if backend == "duckdb" else p.path
    with practices.app_env(p, backend):  # the server inherits this environment
        proc, url = start_server(path, out / f"streamlit-{backend}.log", p.instruments)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page(viewport={"width": 1366, "height": 900})  # a laptop
                cold = _sign_in(page, url)
                first, times, back, charts = _open_times(page, p.busiest_code)
            finally:
                browser.close()
        rss, procs = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    spread = f"{min(times):.2f}-{max(times):.2f} s"
    cores = os.cpu_count()
    return [
        Row(
            "caseload page: drawn in Chromium, chosen",
            statistics.median(back),
            "s",
            "< 1.5 s",
            f"median of {len(back)}, from the couple page's sidebar link (data cached)",
            backend,
        ),
        Row(
            "caseload page: drawn in Chromium, first",
            cold,
            "s",
            "< 1.5 s",
            "from the sign-in click; the summary computed then",
            backend,
        ),
        Row(
            "couple page: drawn in Chromium",
            statistics.median(times),
            "s",
            "< 1.5 s",
            f"median of {RUNS} opens from the caseload ({spread}), {charts} charts, {cores} cores",
            backend,
        ),
        Row(
            "couple page: drawn in Chromium, first", first, "s", "", "Plotly's code loads", backend
        ),
        Row(
            "streamlit server peak RSS after the journey",
            rss,
            "MB",
            "< 1024 MB",
            f"VmHWM of {procs} process(es) (server and children)",
            backend,
        ),
    ]


def run() -> list[Row]:
    """Serve the shared practice on each backend and time its pages in Chromium."""
    from tests.e2e.conftest import CHROMIUM

    if not Path(CHROMIUM).exists():
        note = f"skipped: {CHROMIUM} not found (apt-get install chromium)"
        return [Row("couple page: drawn in Chromium", float("nan"), "s", "< 1.5 s", note)]
    rows: list[Row] = []
    duck: dict[str, float] = {}
    p = practices.practice(COUPLES)
    with tempfile.TemporaryDirectory(prefix="couple-browser-bench-") as tmp:
        for backend in BACKENDS:
            if not wanted(backend):
                continue
            try:
                found = _journey(p, backend, Path(tmp))
            except Exception as exc:
                rows.append(failed("pages: drawn in Chromium", backend, exc, "< 1.5 s"))
                continue
            for row in found:
                if backend == "duckdb":
                    duck[row.name] = row.value
                elif row.name in duck:
                    row = replace(
                        row, ratio=ratio(row.value, duck[row.name]), reference="duckdb row"
                    )
                rows.append(row)
    return rows
