"""AppTest of the Agenda page from app.py: safety first, the draft in the editor, an edited,
reordered, shortened and extended agenda saved and found again after a fresh app start, text
never shown as Markdown, and the link's unknown or forbidden case code refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui
from analytics.practice import agendas
from analytics.practice.access import Actor
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from tests import factories, signin
from tests.test_pages import ROOT, TODAY, frame, markdown_texts, open_app, rerun

pytestmark = [pytest.mark.usefixtures("app_env"), pytest.mark.both_backends]
PAGE = "pages/agenda.py"
DAY = TODAY.date()


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _editor_key(couple_id: int, gen: int = 0) -> str:
    return f"agenda_editor_{couple_id}_{DAY.isoformat()}_{gen}"


@pytest.fixture
def cid(db: Database, therapist: Actor) -> int:
    """C-1: partner A worse beyond noise, with a positive safety answer."""
    couple_id = factories.couple(db, therapist, "C-1", start_date=DAY - dt.timedelta(days=90))
    for label in ("A", "B"):
        factories.checkin(db, couple_id, label, TODAY - dt.timedelta(days=60), 5)
    factories.checkin(db, couple_id, "A", TODAY - dt.timedelta(days=3), 1, safety=1)
    return couple_id


def test_edit_save_and_find_it_after_a_fresh_start(
    db: Database, therapist: Actor, cid: int
) -> None:
    at = open_app(therapist, PAGE, agenda_couple_id=cid)
    assert "assess safety first" in at.error[0].value
    draft = at.data_editor[0].value
    assert draft["kind"].tolist()[0] == "Safety"
    assert draft["text"].tolist()[0].startswith("Assess safety first with partner A")
    n = len(draft)
    assert n >= 3
    second = draft["text"].tolist()[1]
    # Edit the first item, drop the third, move the second to the end, add one of our own.
    at.session_state[_editor_key(cid)] = {
        "edited_rows": {
            0: {"text": "Safety *first*, alone"},
            1: {"order": n + 5},
            2: {"include": False},
        },
        "added_rows": [{"text": "Our own <b>item</b>", "include": True, "order": n + 9}],
        "deleted_rows": [],
    }
    rerun(_button(at, "💾 Save agenda").click())
    assert not at.exception
    assert at.success[0].value.startswith("Agenda saved for")
    saved = agendas.agenda_for(db, therapist, cid, DAY)
    assert saved is not None and saved.version == 1
    texts = [i.text for i in saved.items]
    assert texts[0] == "Safety *first*, alone"
    assert texts[-2:] == [second, "Our own <b>item</b>"]
    assert saved.items[-1].source == "therapist"
    assert [i.status for i in saved.items].count("dropped") == 1

    # A fresh start of the app: new session, caches cleared, the same database file.
    st.cache_data.clear()
    st.cache_resource.clear()
    fresh = open_app(therapist, PAGE, agenda_couple_id=cid)
    shown = fresh.data_editor[0].value
    assert shown["text"].tolist() == texts
    assert shown["include"].tolist().count(False) == 1
    assert "Saved agenda for" in " ".join(c.value for c in fresh.caption)
    history = frame(fresh, "saved_by")
    assert history["saved_by"].tolist() == ["Test Therapist"]
    assert history["items"].tolist() == [len(texts)]
    assert not [t for t in markdown_texts(fresh) if "Our own" in t or "Safety *first*" in t]
    # Both downloads are offered.
    assert len(fresh.get("download_button")) == 2


def test_unknown_or_forbidden_code_in_the_link(db: Database, therapist: Actor, cid: int) -> None:
    other = add_therapist(db, "Other Therapist")
    factories.couple(db, other, "X-9")
    for code in ("NOPE", "X-9"):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
        at.session_state[ui.SESSION_KEY] = signin.session_for(therapist)
        at.query_params["couple"] = code
        at.run()
        at.switch_page(PAGE).run()
        assert not at.exception
        assert "No couple in your caseload has the case code" in at.error[0].value
        assert not at.data_editor


def test_a_couple_with_nothing_to_draft_gets_an_empty_agenda_to_fill(
    db: Database, therapist: Actor
) -> None:
    """No check-ins yet: the draft is empty, the editor still opens, and an item of the
    therapist's own can be added and saved."""
    quiet = factories.couple(db, therapist, "Q-1")
    at = open_app(therapist, PAGE, agenda_couple_id=quiet)
    assert at.data_editor[0].value.empty
    at.session_state[_editor_key(quiet)] = {
        "edited_rows": {},
        "added_rows": [{"text": "Ask how the first weeks went", "include": True, "order": 1}],
        "deleted_rows": [],
    }
    rerun(_button(at, "💾 Save agenda").click())
    saved = agendas.agenda_for(db, therapist, quiet, DAY)
    assert saved is not None and [i.text for i in saved.items] == ["Ask how the first weeks went"]


def test_agenda_downloads_are_made_and_audited_when_clicked(
    db: Database, therapist: Actor, cid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is built while the page opens; a click makes the file and audits the export
    (kind and format, never the agenda's text)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    made: dict[str, Any] = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self: MediaFileManager, data: Any, mimetype: Any, *a: Any, **kw: Any) -> str:
        file_id = original(self, data, mimetype, *a, **kw)
        made[str(kw.get("file_name"))] = data
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    at = open_app(therapist, PAGE, agenda_couple_id=cid)
    assert len(at.get("download_button")) == 2
    exports = "SELECT count(*) FROM audit_log WHERE action = 'export'"
    assert db.query_value(exports) == 0
    pdf_name = next(n for n in made if n.endswith(".pdf"))
    assert bytes(made[pdf_name]()).startswith(b"%PDF")
    md_name = next(n for n in made if n.endswith(".md"))
    assert bytes(made[md_name]()).startswith(b"# Session agenda")
    rows = db.query_rows(
        "SELECT entity, couple_id, detail FROM audit_log WHERE action = 'export' ORDER BY id"
    )
    assert rows == [("agenda", cid, '{"format": "pdf"}'), ("agenda", cid, '{"format": "md"}')]
