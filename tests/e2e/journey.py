"""A journey in a real browser: one browser context that records every address it asks for,
saves a numbered screenshot per step under test-artifacts/journeys/<backend>/<journey>/, and
checks after each step that Streamlit drew no exception box; plus a server started from a whole
environment (so the practice's backend is a matter of environment variables)."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.e2e.conftest import ROOT, sign_in

ARTIFACTS = ROOT / "test-artifacts" / "journeys"
LAPTOP = {"width": 1366, "height": 900}
WAIT_MS = 30_000  # generous: a shared two-core machine
# Addresses that never leave the browser.
LOCAL_SCHEMES = ("data", "blob", "about")


def practice_env(backend: str, folder: Path, dsn: str | None = None) -> dict[str, str]:
    """Build the demo practice under `folder` (a DuckDB file) or in the empty PostgreSQL
    database `dsn`; the environment a server needs to serve it (over this process's own)."""
    import datetime as dt

    from analytics.demo.build import build_demo
    from analytics.practice.opening import open_practice

    instruments = folder / "instruments"
    instruments.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.duckdb"
    if backend == "postgres":
        assert dsn is not None, "a PostgreSQL practice needs its database"
        db = open_practice(postgres=dsn, instruments_folder=instruments)
        env = {"CASELOAD_POSTGRES": dsn}
    elif backend == "duckdb":
        db = open_practice(path, instruments_folder=instruments)
        env = {}
    else:
        raise ValueError(f"unknown backend {backend!r}")
    try:
        build_demo(db, as_of=dt.date.today())
    finally:
        db.close()
    # CASELOAD_DB names a file nobody else uses: the server never falls back to data/.
    return env | {"CASELOAD_DB": str(path), "CASELOAD_INSTRUMENTS": str(instruments)}


def outside_requests(urls: list[str], server: str) -> list[str]:
    """The addresses in `urls` on any host but `server`'s own (data:, blob: and about: never
    leave the browser)."""
    own = urlsplit(server).netloc
    return [
        u for u in urls if urlsplit(u).scheme not in LOCAL_SCHEMES and urlsplit(u).netloc != own
    ]


class Journey:
    """A fresh browser context (its own cookies, downloads allowed) on `server`, recording
    every request and WebSocket, with a screenshot per step."""

    def __init__(
        self,
        browser: Any,
        server: str,
        backend: str,
        name: str,
        storage_state: dict[str, Any] | None = None,
    ) -> None:
        self.server = server
        # A signed-in person's cookies (`storage_state`) spare each journey a sign-in.
        self.context = browser.new_context(
            viewport=LAPTOP, accept_downloads=True, storage_state=storage_state
        )
        self.urls: list[str] = []
        self.context.on("request", lambda r: self.urls.append(r.url))
        self.page = self.context.new_page()
        self.page.on("websocket", lambda w: self.urls.append(w.url))
        self.folder = ARTIFACTS / backend / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.steps = 0
        self.started = time.monotonic()
        self.finished = False

    def sign_in(
        self, path: str = "", username: str = "morgan", password: str | None = None
    ) -> None:
        """Sign in (a demo account unless a password is given), asking for `path`."""
        sign_in(self.page, f"{self.server}/{path}", username, password)

    def open(self, path: str = "") -> None:
        """Open `path` as the person whose cookies the context holds."""
        self.page.goto(f"{self.server}/{path}", wait_until="domcontentloaded")
        self.page.get_by_text("Signed in as").wait_for(timeout=WAIT_MS)

    def settle(self) -> None:
        """Wait until the app's script run has finished (a rerun may start just after a click)."""
        self.page.wait_for_timeout(150)
        self.page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
            state="attached", timeout=WAIT_MS
        )

    def step(self, name: str) -> Path:
        """Screenshot the page as NN-<name>.png once the run settled; no exception drawn."""
        self.settle()
        self.steps += 1
        path = self.folder / f"{self.steps:02d}-{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png"
        self.page.screenshot(path=str(path))
        print(f"{path.relative_to(ARTIFACTS)} at {time.monotonic() - self.started:.1f} s")
        self.assert_no_exception()
        return path

    def assert_no_exception(self) -> None:
        """No Streamlit exception box on the page."""
        boxes = self.page.locator('[data-testid="stException"]')
        assert boxes.count() == 0, boxes.first.inner_text()

    def outside(self) -> list[str]:
        """Every address asked for that is not the app's own server."""
        return outside_requests(self.urls, self.server)

    def close_checks(self) -> None:
        """The journey's end: no exception on the last page, nothing asked of another host."""
        self.assert_no_exception()
        assert self.urls, "no request recorded: the recorder is not listening"
        assert self.outside() == []
        self.finished = True

    def close(self) -> None:
        """Close the browser context; a journey that stopped short leaves a screenshot of where."""
        try:
            if not self.finished:
                self.page.screenshot(path=str(self.folder / f"{self.steps + 1:02d}-failed.png"))
        finally:
            self.context.close()
