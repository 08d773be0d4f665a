"""AppTest of the Import page through app.py: upload -> review -> confirm, profile saving,
the unmatched queue, and file text never rendered as markdown.

AppTest in Streamlit 1.67 drives st.file_uploader directly (`at.file_uploader[0].upload(...)`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button

import ui
from analytics.importing import service
from analytics.instruments import catalog
from analytics.practice import settings
from analytics.practice.access import Actor
from analytics.practice.therapists import add_therapist
from analytics.store.db import Database
from tests import factories, signin

ROOT = Path(__file__).parents[1]
PAGE = "pages/import_responses.py"
CHECKIN = catalog.builtin("checkin")
CODES = [item.code for item in CHECKIN.answer_items]  # scored and safety
TOPICS = CHECKIN.item("TXT1").text or ""  # free-text questions, headed by their wording
EXTRA = CHECKIN.item("TXT2").text or ""
SECRET = "Zebra-Quartz confidential 4471"  # a client's free text: stored, never shown


pytestmark = [pytest.mark.usefixtures("app_env"), pytest.mark.both_backends]


def export(
    rows: list[tuple[str, str]],
    columns: list[str] | None = None,
    extra: str | None = None,
    texts: tuple[str, str] | None = None,
) -> bytes:
    """Email, Completed, one column per numeric item (labels: "Agree", safety "Never"), then
    optionally one odd extra column and the two free-text questions."""
    heads = columns or CODES
    tail = [*([extra] if extra else []), *([TOPICS, EXTRA] if texts else [])]
    lines = [",".join(["Email", "Completed", *heads, *tail])]
    for email, when in rows:
        cells = ["Never" if c.startswith("SAF") else "Agree" for c in CODES]
        lines.append(",".join([email, when, *cells, *(["x"] if extra else []), *(texts or ())]))
    return ("\n".join(lines) + "\n").encode()


def everything_shown(at: AppTest) -> str:
    """The text of every element on the page (values of tables included)."""
    parts: list[str] = [str(e.value) for e in (*at.markdown, *at.caption, *at.text, *at.title)]
    parts += [str(e.value) for e in (*at.subheader, *at.error, *at.success, *at.info, *at.metric)]
    parts += [e.value.to_csv() for e in at.dataframe]
    parts += [str(o) for box in at.selectbox for o in box.options]
    return "\n".join(parts)


def page(actor: Actor) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[ui.SESSION_KEY] = signin.session_for(actor)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader[0].upload(name, data, "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, starts: str) -> Button:
    found = [b for b in at.button if b.label.startswith(starts)]
    assert found, [b.label for b in at.button]
    return found[0]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_upload_review_confirm(db: Database, therapist: Actor, couple: int) -> None:
    at = page(therapist)
    data = export(
        [
            ("d001.a@example.org", "2026-01-05 18:00"),
            ("d001.b@example.org", "2099-01-05 18:00"),
            ("stranger@example.org", "2026-01-05 19:00"),
        ],
        texts=(SECRET, ""),
    )
    upload(at, "weekly.csv", data)
    assert any("Plain CSV (one row per response) export, 3 responses" in t.value for t in at.text)
    assert metrics(at) == {
        "New responses": "1",
        "Rejected rows": "1",
        "Already stored": "0",
        "Unmatched": "1",
    }
    accepted, rejected = at.dataframe[0].value, at.dataframe[1].value
    assert list(accepted["case"]) == ["D-001"] and list(accepted["free text"]) == [1]
    assert rejected.to_dict("records") == [
        {"row": 3, "reason": "The completion date is in the future."}
    ]
    assert db.query_value("SELECT count(*) FROM responses") == 0  # nothing before confirming

    button(at, "Import 2").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert db.query_value("SELECT count(*) FROM responses") == 1
    assert db.query_value("SELECT count(*) FROM answers") == len(CODES)
    assert db.query_rows("SELECT text FROM text_answers") == [(SECRET,)]
    assert any("Imported 1 new responses" in s.value for s in at.success)
    assert any(b.label == "Open D-001" for b in at.button)

    # The unmatched queue: file the stranger's response under partner B.
    assert at.dataframe[0].value["respondent"].tolist() == ["stranger@example.org"]
    partners = next(s for s in at.selectbox if s.label == "File it under")
    b_id = next(o for o in partners.options if "partner B" in o)
    partners.select(b_id)
    at.run()
    button(at, "File under").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert db.query_value("SELECT count(*) FROM responses") == 2
    assert db.query_value("SELECT count(*) FROM text_answers") == 2  # the queued row's text
    assert db.query_value("SELECT status FROM unmatched_responses") == "assigned"
    assert any("filed" in s.value for s in at.success)
    assert any("No imported response is waiting" in c.value for c in at.caption)
    assert SECRET not in everything_shown(at)


def test_mapping_step_shows_free_text_columns(db: Database, therapist: Actor, couple: int) -> None:
    data = export([("d001.a@example.org", "2026-01-05 18:00")], texts=(SECRET, "Thanks"))
    at = upload(page(therapist), "weekly.csv", data)
    boxes = {
        column.value: box
        for column, box in zip(
            [t for t in at.text if t.value in (*CODES, TOPICS, EXTRA)],
            [s for s in at.selectbox if str(s.key).startswith("import_map_")],
            strict=True,
        )
    }
    assert len(boxes) == len(CODES) + 2
    shown = {column: box.options[box.index or 0] for column, box in boxes.items()}
    assert shown[TOPICS] == "TXT1 · Topics for next session (free text)"
    assert shown[EXTRA] == "TXT2 · Anything else (free text)"
    assert shown["SAF2"] == "SAF2 · Fear of the partner (safety)"
    assert any("(free text)" in c.value and "confidential" in c.value for c in at.caption)
    assert metrics(at)["New responses"] == "1" and not at.error
    assert SECRET not in everything_shown(at)

    # Left out, a free-text column is simply not imported (the questions are optional).
    boxes[TOPICS].set_value("")
    at.run()
    assert metrics(at)["New responses"] == "1" and not at.error
    button(at, "Import 1").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert db.query_rows("SELECT text FROM text_answers") == [("Thanks",)]


def test_mapping_is_corrected_and_saved_as_profile(
    db: Database, therapist: Actor, couple: int
) -> None:
    opaque = [f"Field {i}" for i in range(1, len(CODES) + 1)]
    data = export([("d001.a@example.org", "2026-01-05 18:00")], columns=opaque)
    at = upload(page(therapist), "opaque.csv", data)
    assert [e.value for e in at.error] == ["This file cannot be imported:"]
    assert any(t.value.startswith("The safety questions SAF1, SAF2") for t in at.text)
    assert button(at, "Import").disabled

    boxes = [s for s in at.selectbox if str(s.key).startswith("import_map_")]
    assert len(boxes) == len(CODES)
    for box, code in zip(boxes, CODES, strict=True):
        box.set_value(code)
    at.text_input[0].input("Opaque weekly form")
    at.run()
    assert not at.error and metrics(at)["New responses"] == "1"
    button(at, "Import 1").click().run()
    assert db.query_value("SELECT name FROM import_profiles") == "Opaque weekly form"

    # Next week's file with the same headers is mapped by the profile without questions.
    at = upload(
        page(therapist),
        "opaque2.csv",
        export([("d001.b@example.org", "2026-01-12 18:00")], columns=opaque),
    )
    assert metrics(at)["New responses"] == "1" and not at.error
    assert any(t.value == "Opaque weekly form" for t in at.text)


def test_file_text_is_never_rendered_as_markdown(
    db: Database, therapist: Actor, couple: int
) -> None:
    header = "**Bold** <img src=x onerror=alert(1)> [link](http://example.org)"
    at = upload(
        page(therapist),
        "odd.csv",
        export([("d001.a@example.org", "2026-01-05 18:00")], extra=header),
    )
    assert any(t.value == header for t in at.text)  # shown as plain text
    rendered = [m.value for m in (*at.markdown, *at.caption, *at.title, *at.subheader)]
    assert not any("Bold" in value or "onerror" in value for value in rendered)


def test_unreadable_file_shows_an_error(db: Database, therapist: Actor) -> None:
    at = upload(page(therapist), "empty.csv", b"   ")
    assert [e.value for e in at.error] == ["The file is empty."]


def test_another_therapists_rows_are_only_counted(
    db: Database, therapist: Actor, couple: int
) -> None:
    """A practice-wide export: the other therapist's client's row (positive safety answers)
    goes to that client's couple; the importer sees a count, never the case."""
    other = add_therapist(db, "Second Therapist")
    theirs = factories.couple(db, other, "T-200")
    head, mine, their = (
        export(
            [("d001.a@example.org", "2026-01-05 18:00"), ("t200.b@example.org", "2026-01-05 19:00")]
        )
        .decode()
        .splitlines()
    )
    their = their.replace("Never", "More than once")  # positive safety answers
    at = upload(page(therapist), "practice.csv", "\n".join([head, mine, their, ""]).encode())
    assert metrics(at)["New responses"] == "2" and metrics(at)["Unmatched"] == "0"
    assert [i.value for i in at.info] == [
        "1 row goes to couples outside your caseload; their own therapist sees it on the"
        " couple's page."
    ]
    assert list(at.dataframe[0].value["case"]) == ["D-001"]
    button(at, "Import 2").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("1 row went to couples outside your caseload" in i.value for i in at.info)
    assert [b.label for b in at.button if b.label.startswith("Open")] == ["Open D-001"]
    assert "T-200" not in everything_shown(at)
    assert db.query_value(
        "SELECT count(*) FROM response_safety s JOIN responses r ON r.id = s.response_id"
        " JOIN partners p ON p.id = r.partner_id WHERE p.couple_id = ? AND s.positive",
        [theirs],
    ) == len([c for c in CODES if c.startswith("SAF")])


def test_discarding_asks_for_a_reason_and_a_confirmation(
    db: Database, therapist: Actor, couple: int
) -> None:
    data = export([("stranger@example.org", "2026-01-05 18:00")])
    at = upload(page(therapist), "weekly.csv", data)
    button(at, "Import 1").click().run()
    discard = next(b for b in at.button if b.label == "Discard")
    assert discard.disabled  # no reason chosen, not confirmed
    reason = next(s for s in at.selectbox if s.label == "Why is it discarded?")
    assert reason.value is None
    reason.select("test").run()
    assert next(b for b in at.button if b.label == "Discard").disabled  # not yet confirmed
    note = next(t for t in at.text_input if str(t.key).startswith("discard_note_"))
    note.input("Sent while testing the form").run()
    next(c for c in at.checkbox if str(c.key).startswith("discard_sure_")).check().run()
    next(b for b in at.button if b.label == "Discard").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("discarded" in s.value for s in at.success)
    assert db.query_rows(
        "SELECT status, discard_reason, discard_note FROM unmatched_responses"
    ) == [("discarded", "test", "Sent while testing the form")]
    assert db.query_value("SELECT detail FROM audit_log WHERE action = 'discard'") == (
        '{"reason": "test"}'
    )


def test_the_preview_says_which_time_zone_was_used(
    db: Database, therapist: Actor, supervisor: Actor, couple: int
) -> None:
    settings.update_time_zone(db, supervisor, "Australia/Perth")
    at = upload(page(therapist), "weekly.csv", export([("d001.a@example.org", "2026-01-05 18:00")]))
    assert any("Australia/Perth" in t.value for t in at.text)


def test_a_click_after_another_session_stored_the_file_still_imports_and_says_so(
    db: Database, therapist: Actor, couple: int
) -> None:
    data = export([("d001.a@example.org", "2026-01-05 18:00")])
    at = upload(page(therapist), "weekly.csv", data)
    assert metrics(at)["New responses"] == "1"
    # Another session (or server) stores the same file while this one looks at its preview.
    other = service.prepare(db, therapist, "weekly.csv", data, now=dt.datetime(2026, 3, 1))
    assert service.commit_import(db, therapist, other).accepted == 1
    # The click reruns the page, whose preview now counts nothing new: the button's label
    # changes under the click, which must still import (nothing) and say why.
    button(at, "Import 1").click().run()
    assert not at.exception, [e.value for e in at.exception]
    said = [s.value for s in at.success] + [i.value for i in at.info]
    assert any("already stored" in s for s in said), said
    assert db.query_value("SELECT count(*) FROM responses") == 1
