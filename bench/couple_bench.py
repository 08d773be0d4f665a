"""The couple page's server work on the 1,000-couple practice (issue 8, speed): one AppTest run
of app.py opening a couple, cold (caches empty) and warm (median of the runs after the first).
Printed by `make bench`, never asserted in tests."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

import ui
from analytics.demo.build import SUPERVISOR, build_demo
from analytics.practice import sign_ins
from analytics.practice.accounts import get_account
from analytics.practice.opening import open_practice
from analytics.store.paths import ENV_VAR, INSTRUMENTS_ENV_VAR
from bench import Row

COUPLES = 1000
WEEKS = 52
RUNS = 5
ROOT = Path(__file__).resolve().parents[1]


def _page_seconds(sign_in_id: int, couple_id: int) -> tuple[float, float]:
    """(cold, warm median) seconds of an AppTest run that opens one couple's page."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    times = []
    for _ in range(RUNS + 1):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state[ui.SESSION_KEY] = sign_in_id  # signed in as the demo's supervisor
        at.session_state["couple_id"] = couple_id
        at.run()
        started = time.perf_counter()
        at.switch_page("pages/couple.py").run()
        times.append(time.perf_counter() - started)
        if at.exception:
            raise RuntimeError("the couple page raised an exception in the bench")
    return times[0], statistics.median(times[1:])


def run() -> list[Row]:
    """Build the practice in a throwaway folder and time the couple page."""
    with tempfile.TemporaryDirectory(prefix="couple-bench-") as tmp:
        folder = Path(tmp)
        db = open_practice(folder / "bench.duckdb", instruments_folder=folder)
        build_demo(db, couples=COUPLES, weeks=WEEKS, as_of=dt.date.today())
        supervisor_id = db.query_value("SELECT id FROM therapists WHERE name = ?", [SUPERVISOR])
        account = db.query_value("SELECT id FROM accounts WHERE therapist_id = ?", [supervisor_id])
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        supervisor = sign_ins.start(db, get_account(db, int(account)), now=now).id
        # A couple with a full year of check-ins from both partners.
        couple = int(
            db.query_value(
                "SELECT p.couple_id FROM responses r JOIN partners p ON p.id = r.partner_id"
                " GROUP BY p.couple_id ORDER BY count(*) DESC, p.couple_id LIMIT 1"
            )
        )
        db.close()
        saved = {k: os.environ.get(k) for k in (ENV_VAR, INSTRUMENTS_ENV_VAR)}
        os.environ[ENV_VAR], os.environ[INSTRUMENTS_ENV_VAR] = str(folder / "bench.duckdb"), tmp
        try:
            cold, warm = _page_seconds(supervisor, couple)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    note = "AppTest run of app.py opening the busiest couple (52 weeks, both partners)"
    return [
        Row("couple page: server work, first open", cold, "s", "< 0.5 s", note),
        Row("couple page: server work, reopened", warm, "s", "", f"median of {RUNS}, cached"),
    ]
