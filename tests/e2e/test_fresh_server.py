"""The first page of a server that has just started, in a real browser: a person who is not signed
in sees no list of pages. (Until a run registers the navigation, Streamlit lists the raw pages/
files in the sidebar, "accounts" and "audit" among them, and swaps that list away as soon as
anyone signs in, redrawing the page under whoever is typing.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analytics.practice import accounts
from analytics.practice.opening import open_practice
from tests.e2e.conftest import sign_in, start_server

pytestmark = pytest.mark.e2e
PASSWORD = "quiet-harbour-lantern-42"  # synthetic, for this test's own practice only


def _page_links(page: Any) -> list[str]:
    """The sidebar's page links, as drawn."""
    texts: list[str] = page.get_by_test_id("stSidebarNavLink").all_inner_texts()
    return texts


@pytest.mark.parametrize("accounts_made", [False, True], ids=["welcome", "sign-in"])
def test_a_fresh_server_lists_no_pages_to_someone_not_signed_in(
    browser: Any, tmp_path: Path, accounts_made: bool
) -> None:
    instruments = tmp_path / "instruments"
    instruments.mkdir(exist_ok=True)
    db = open_practice(tmp_path / "practice.duckdb", instruments_folder=instruments)
    try:
        if accounts_made:
            accounts.create_account(
                db,
                None,
                username="lee",
                password=PASSWORD,
                name="Fresh Supervisor",
                clinical_role="supervisor",
                is_admin=True,
                first=True,
            )
    finally:
        db.close()
    proc, url = start_server(tmp_path / "practice.duckdb", tmp_path / "streamlit.log", instruments)
    page = browser.new_page()
    try:
        page.goto(url, wait_until="domcontentloaded")
        heading = "Sign in" if accounts_made else "Welcome"
        page.get_by_role("heading", name=heading).wait_for(timeout=30_000)
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
            state="attached", timeout=30_000
        )
        assert _page_links(page) == []
        assert page.get_by_test_id("stSidebarNav").count() == 0
        if accounts_made:
            # Signed in, the navigation holds the pages this person's roles allow.
            sign_in(page, url, "lee", PASSWORD)
            page.get_by_test_id("stSidebarNavLink").first.wait_for(timeout=30_000)
            links = _page_links(page)
            assert "Caseload" in " ".join(links) and "Audit" in " ".join(links), links
    finally:
        page.close()
        proc.terminate()
        proc.wait(timeout=20)
