"""Chart export speed (issue 10): a year-long progress chart as PNG through kaleido and
Debian's Chromium, cold (the export server starting) and warm (median of later images).
Printed by `make bench`, never asserted in tests."""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from analytics.charts import export
from analytics.demo.build import build_demo
from analytics.practice.access import PRACTICE
from analytics.practice.opening import open_practice
from analytics.views.couple_page import couple_page
from bench import Row

RUNS = 5


def run() -> list[Row]:
    """Time PNG, SVG and HTML exports of the busiest demo couple's progress chart."""
    if not export.images_available():
        return [Row("chart export", float("nan"), "s", "", "no Chromium: apt-get install chromium")]
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        folder = Path(tmp)
        db = open_practice(folder / "bench.duckdb", instruments_folder=folder)
        build_demo(db, couples=12, weeks=52, as_of=dt.date.today())
        couple = int(
            db.query_value(
                "SELECT p.couple_id FROM responses r JOIN partners p ON p.id = r.partner_id"
                " GROUP BY p.couple_id ORDER BY count(*) DESC, p.couple_id LIMIT 1"
            )
        )
        page = couple_page(db, PRACTICE, couple, as_of=dt.date.today())
        db.close()
    assert page.progress is not None and page.progress.figure is not None
    fig = page.progress.figure
    export.stop()  # cold means the server starts here
    started = time.perf_counter()
    export.figure_image(fig, "png")
    cold = time.perf_counter() - started
    timings: dict[str, list[float]] = {"png": [], "svg": [], "html": []}
    for _ in range(RUNS):
        for fmt, times in timings.items():
            started = time.perf_counter()
            export.figure_file(fig, fmt)
            times.append(time.perf_counter() - started)
    warm = {fmt: statistics.median(times) for fmt, times in timings.items()}
    return [
        Row("chart PNG export, cold", cold, "s", "", "starts the export server (Chromium)"),
        Row("chart PNG export, warm", warm["png"], "s", "< 0.5", f"median of {RUNS}, 1000x560"),
        Row("chart SVG export, warm", warm["svg"], "s", "", f"median of {RUNS}"),
        Row("chart HTML export", warm["html"], "s", "", "plotly.js inlined (about 4.8 MB)"),
    ]
