"""AppTest of the couple page's "what changed since the last session" digest: drawn as plain text
right below the title block and above "Needs attention", safety left to the section above it,
free text counted but never quoted."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import streamlit as st

from analytics.practice import sessions
from analytics.practice.access import Actor
from analytics.store.db import Database
from tests import factories
from tests.test_pages import TODAY, elements, markdown_texts, open_couple

pytestmark = pytest.mark.usefixtures("app_env")
SECRET = "**Moving out** next month"


def _drawn(at: Any) -> list[tuple[str, str]]:
    """(type, text) of every title, text, caption and subheader, in the order drawn."""
    kinds = {"title", "text", "caption", "subheader"}
    return [(str(e.type), str(e.value)) for e in elements(at) if getattr(e, "type", None) in kinds]


def _index(drawn: list[tuple[str, str]], start: str) -> int:
    found = [i for i, (_, value) in enumerate(drawn) if value.startswith(start)]
    assert len(found) == 1, drawn
    return found[0]


def test_digest_sits_between_the_title_block_and_needs_attention(
    db: Database, therapist: Actor
) -> None:
    couple_id = factories.couple(db, therapist, "G-1", start_date=TODAY.date() - dt.timedelta(60))
    last = TODAY.date() - dt.timedelta(days=10)
    factories.checkin(db, couple_id, "A", TODAY - dt.timedelta(days=20), 5)
    factories.checkin(db, couple_id, "B", TODAY - dt.timedelta(days=20), 5)
    sessions.add_session(db, therapist, couple_id, last, "both", today=TODAY.date())
    # After the session: A much worse (flagged), a positive safety answer, and free text.
    factories.checkin(
        db, couple_id, "A", TODAY - dt.timedelta(days=2), 1, safety=1, texts={"TXT1": SECRET}
    )
    at = open_couple(therapist, couple_id)
    drawn = _drawn(at)
    title = _index(drawn, "👫 G-1")
    names = _index(drawn, "Partner A: ")
    heading = _index(drawn, "What changed since the last session")
    first = _index(drawn, f"Since the last session on {last:%d %b %Y}: check-ins 1 from partner A")
    attention = _index(drawn, "Needs attention")
    assert title < names < heading < first < attention
    digest = [value for kind, value in drawn[first:attention] if kind == "text"]
    assert 3 <= len(digest) <= 6
    assert any(x.startswith("Changed beyond measurement noise") and "(worse)" in x for x in digest)
    flags = next(x for x in digest if x.startswith("Flags raised or renewed since then:"))
    assert "see the safety section at the top of this page" in flags
    assert "📉 Worse beyond noise" in flags
    assert any(x.startswith("1 free-text answer since then (partner A 1)") for x in digest)
    # The answer itself stays in "In their own words"; the digest never goes through Markdown.
    assert not any(SECRET in x for x in digest)
    assert not any(x.startswith("Since the last session") for x in markdown_texts(at))
    # Safety stays first on the page, above the title.
    assert at.error[0].value.startswith("Safety screen:")


def test_digest_with_nothing_new_and_no_sessions(db: Database, therapist: Actor) -> None:
    quiet = factories.couple(db, therapist, "G-2")
    at = open_couple(therapist, quiet)
    texts = [value for kind, value in _drawn(at) if kind == "text"]
    assert (
        f"No session recorded yet, and no check-ins since therapy started on"
        f" {factories.START:%d %b %Y}." in texts
    )

    factories.checkin(db, quiet, "A", TODAY - dt.timedelta(days=3), 4)
    day = TODAY.date() - dt.timedelta(days=1)
    sessions.add_session(db, therapist, quiet, day, "both", today=TODAY.date())
    st.cache_data.clear()  # as a write through the app would (ui.changed)
    at = open_couple(therapist, quiet)
    texts = [value for kind, value in _drawn(at) if kind == "text"]
    assert f"No new check-ins since the last session on {day:%d %b %Y}." in texts
