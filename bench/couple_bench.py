"""Server work of the couple, repair and agenda pages (issue 8, speed) on both backends: one
AppTest run of app.py, signed in as the demo's supervisor, opening a page for one couple, cold
(caches empty) and warm (median of the runs after the first); the couple page also at every
practice size, for the growth rows. Printed by `make bench`, never asserted in tests."""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import ui
from bench import Row, failed, growth, practices, ratio
from bench.practices import BACKENDS, COUPLES, Practice, wanted

RUNS = 5
PG_RUNS = 2
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Page:
    label: str
    script: str
    state_key: str  # the session key the page keeps its couple under


PAGES = [
    Page("couple page", "pages/couple.py", "couple_id"),
    Page("repair page", "pages/repair.py", "repair_couple_id"),
    Page("agenda page", "pages/agenda.py", "agenda_couple_id"),
]


def _clear() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    gc.collect()  # the cached Database goes, and with it the file's lock


def page_seconds(page: Page, sign_in_id: int, couple_id: int, runs: int) -> tuple[float, float]:
    """(cold, warm median) seconds of an AppTest run that opens one couple's page."""
    from streamlit.testing.v1 import AppTest

    _clear()
    times = []
    for _ in range(runs + 1):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.session_state[ui.SESSION_KEY] = sign_in_id  # signed in as the demo's supervisor
        at.session_state[page.state_key] = couple_id
        at.run()
        started = time.perf_counter()
        at.switch_page(page.script).run()
        times.append(time.perf_counter() - started)
        if at.exception:
            raise RuntimeError(f"the {page.label} raised: {at.exception[0].message[:80]}")
    return times[0], statistics.median(times[1:])


def _supervisor(p: Practice, backend: str) -> int:
    """A fresh sign-in of the practice's supervisor, for AppTest (the database closed again)."""
    db = practices.open_db(p, backend)
    try:
        return practices.supervisor_sign_in(db)
    finally:
        db.close()


def _backend_rows(
    p: Practice, backend: str, runs: int, duck: dict[str, float], colds: dict[str, float]
) -> list[Row]:
    rows = []
    sign_in = _supervisor(p, backend)
    with practices.app_env(p, backend):
        for page in PAGES:
            name = f"{page.label}: server work, first open"
            couple = p.busiest if page.label != "repair page" else p.repair_couple
            try:
                if couple is None:
                    raise RuntimeError("no couple with an open repair case")
                cold, warm = page_seconds(page, sign_in, couple, runs)
            except Exception as exc:
                rows.append(failed(name, backend, exc, "< 0.5 s"))
                continue
            finally:
                _clear()
            colds[page.label] = cold
            note = f"AppTest of app.py, {p.couples:,} couples; reopened (cached): {warm:.3f} s"
            rows.append(
                Row(
                    name,
                    cold,
                    "s",
                    "< 0.5 s",
                    note + f", median of {runs}",
                    backend,
                    ratio(cold, duck.get(page.label, float("nan")))
                    if backend != "duckdb"
                    else None,
                    "duckdb row" if backend != "duckdb" else "",
                )
            )
    return rows


def _couple_page_seconds(p: Practice, backend: str) -> float:
    sign_in = _supervisor(p, backend)
    with practices.app_env(p, backend):
        try:
            return page_seconds(PAGES[0], sign_in, p.busiest, 1)[0]
        finally:
            _clear()


def run() -> list[Row]:
    """Time the pages on the shared practice, on each backend, and the couple page's growth."""
    rows: list[Row] = []
    duck: dict[str, float] = {}
    for backend in BACKENDS:
        if not wanted(backend):
            continue
        p = practices.practice(COUPLES)
        colds = duck if backend == "duckdb" else {}
        runs = RUNS if backend == "duckdb" else PG_RUNS
        try:
            rows += _backend_rows(p, backend, runs, duck, colds)
        except Exception as exc:
            rows.append(failed("pages: server work", backend, exc, "< 0.5 s"))
            continue
        seconds = {COUPLES: colds["couple page"]} if "couple page" in colds else {}
        try:
            for size in practices.sizes():
                if size not in seconds:
                    seconds[size] = _couple_page_seconds(practices.practice(size), backend)
        except Exception as exc:
            rows.append(failed("growth: couple page", backend, exc))
        rows += growth("couple page, first open", backend, seconds)
    return rows
