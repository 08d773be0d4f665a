"""AppTest of the Couple page from app.py: safety first, flags, change per scale and partner, how
the numbers are worked out, the partners' own words, the chart, and the forms."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import streamlit as st

import ui
from analytics.instruments import lookup
from analytics.practice import couples
from analytics.practice.access import Actor
from analytics.practice.couples import PartnerInput
from analytics.store.db import Database
from tests import factories, signin
from tests.test_pages import (
    TODAY,
    assert_no_none,
    choose,
    frame,
    has_frame,
    main_types,
    markdown_texts,
    open_app,
    open_couple,
    rerun,
)

pytestmark = [pytest.mark.usefixtures("app_env"), pytest.mark.both_backends]
RECORDS = "Sessions, case details and reports"
SAFETY_ITEMS = [
    "Physical harm or threats",
    "Fear of the partner",
    "Pressure or control",
    "Thoughts of self-harm",
]


def _numbers(values: object) -> list[float]:
    """Plotly JSON stores arrays either as lists or as base64 typed arrays."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    assert isinstance(values, list)
    return [float(v) for v in values]


def _chart(at: Any) -> dict[str, Any]:
    """The progress chart (titled "… over time"); the profile and heatmap have other titles."""
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    found = [s for s in specs if s["layout"]["title"]["text"].endswith(" over time")]
    assert len(found) == 1
    spec: dict[str, Any] = found[0]
    return spec


def _button(at: Any, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


@pytest.fixture
def calm(db: Database, therapist: Actor) -> int:
    """Three weekly check-ins: A improves 2 -> 4, B stays at 3; A wrote about money once."""
    couple_id = factories.couple(
        db, therapist, "C-1", start_date=dt.date.today() - dt.timedelta(70)
    )
    for week, level in enumerate([2, 3, 4]):
        when = TODAY - dt.timedelta(weeks=3 - week)
        texts = {"TXT1": "Money worries since the move."} if week == 1 else None
        factories.checkin(db, couple_id, "A", when, level, texts=texts)
        factories.checkin(db, couple_id, "B", when, 3)
    return couple_id


@pytest.fixture
def unsafe(db: Database, therapist: Actor) -> int:
    """Partner A answered "Once" to every safety question two days ago."""
    couple_id = factories.couple(db, therapist, "C-2")
    factories.checkin(db, couple_id, "A", TODAY - dt.timedelta(days=2), 3, safety=1)
    return couple_id


def test_safety_banner_and_answers_come_before_the_title(unsafe: int, therapist: Actor) -> None:
    at = open_couple(therapist, unsafe)
    types = main_types(at)
    assert types[:4] == ["error", "dataframe", "form", "title"]
    assert at.error[0].value.startswith("Safety screen: 4 positive answer(s) not assessed yet.")
    waiting = frame(at, "item_name")
    assert waiting["item_name"].tolist() == SAFETY_ITEMS
    assert set(waiting["partner"]) == {"A"} and set(waiting["answer"]) == {"Once"}
    assert at.title[0].value == "👫 C-2"
    flags = frame(at, "flag")
    assert flags["flag"].tolist()[0] == "⚠️ Safety answer"
    assert "partner A answered “Once” to “" in flags["reason"][0]
    assert_no_none(at)


def test_recording_an_assessment_clears_the_banner_until_the_next_positive_answer(
    db: Database, unsafe: int, therapist: Actor
) -> None:
    at = open_couple(therapist, unsafe)
    note = next(t for t in at.text_input if t.label.startswith("Short note"))
    note.input("Seen alone; no current risk; safety plan agreed.")
    rerun(_button(at, "Record assessment").click())
    assert db.query_rows("SELECT couple_id, assessed_by, note FROM safety_reviews") == [
        (unsafe, therapist.id, "Seen alone; no current risk; safety plan agreed.")
    ]
    assert db.query_rows(
        "SELECT therapist_id, action, entity, couple_id FROM audit_log WHERE entity = ?",
        ["safety_review"],
    ) == [(therapist.id, "safety_assessed", "safety_review", unsafe)]
    assert not at.error, [e.value for e in at.error]
    assert main_types(at)[0] == "title"
    assert at.success[0].value == "Safety assessment recorded."
    assert frame(at, "assessed_by")["note"].tolist() == [
        "Seen alone; no current risk; safety plan agreed."
    ]
    assert frame(at, "flag")["flag"].tolist() == ["⏰ Check-in overdue"]  # B never checked in

    # A later positive answer raises it again; the question left blank is shown next.
    factories.checkin(db, unsafe, "A", TODAY - dt.timedelta(hours=1), 3, safety=2, skip=("SAF1",))
    st.cache_data.clear()  # as an import through the app would
    rerun(at)
    assert at.error[0].value.startswith("Safety screen: 3 positive answer(s) not assessed yet.")
    assert set(frame(at, "item_name")["answer"]) == {"More than once"}
    assert main_types(at)[:6] == ["error", "dataframe", "warning", "dataframe", "form", "title"]
    assert frame(at, "left_blank")[["partner", "left_blank", "questions"]].values.tolist() == [
        ["A", "1 of 4", "Physical harm or threats"]
    ]
    assert frame(at, "flag")["flag"].tolist()[:2] == [
        "⚠️ Safety answer",
        "❓ Safety screen not answered",
    ]


def test_an_unanswered_safety_screen_comes_first_and_is_never_read_as_no(
    db: Database, therapist: Actor
) -> None:
    couple_id = factories.couple(db, therapist, "C-3", start_date=dt.date.today() - dt.timedelta(9))
    when = TODAY - dt.timedelta(days=2)
    factories.checkin(db, couple_id, "A", when, 3)  # every safety question: "Never"
    factories.checkin(db, couple_id, "B", when, 3, skip=("SAF1", "SAF3"))
    at = open_couple(therapist, couple_id)
    assert main_types(at)[:4] == ["warning", "dataframe", "form", "title"]
    assert not at.error  # nothing positive: no positive-answer banner, and no "all clear" either
    assert at.warning[0].value.startswith(
        "Safety screen not answered: 1 check-in(s) with safety questions left blank"
    )
    assert "A blank is not a “no”" in at.warning[0].value
    blank = frame(at, "left_blank")
    assert blank[["partner", "left_blank", "questions"]].values.tolist() == [
        ["B", "2 of 4", "Physical harm or threats, Pressure or control"]
    ]
    assert blank["completed_at"][0].date() == when.date()
    flags = frame(at, "flag")
    assert flags["flag"].tolist() == ["❓ Safety screen not answered"]
    assert flags["reason"][0] == (
        f"Partner B left 2 of the 4 safety questions unanswered on {when:%-d %b %Y}."
    )
    assert_no_none(at)

    # The caseload lists the couple with its own flag and says what it means.
    caseload = open_app(therapist)
    assert frame(caseload, "a_now")["flags"].tolist() == ["❓ Safety screen not answered"]
    assert caseload.warning[0].value.startswith("1 couple(s) left safety questions unanswered")

    # Recording that safety was assessed acknowledges it, as for a positive answer.
    note = next(t for t in at.text_input if t.label.startswith("Short note"))
    note.input("Asked both partners separately; no current risk.")
    rerun(_button(at, "Record assessment").click())
    assert db.query_value("SELECT count(*) FROM safety_reviews") == 1
    assert not at.warning and main_types(at)[0] == "title"
    assert not has_frame(at, "left_blank") and not has_frame(at, "flag")


def test_assessment_needs_a_note(db: Database, unsafe: int, therapist: Actor) -> None:
    at = open_couple(therapist, unsafe)
    rerun(_button(at, "Record assessment").click())
    assert any(e.value == "Write a short note on how safety was assessed." for e in at.error)
    assert db.query_value("SELECT count(*) FROM safety_reviews") == 0


def test_every_scale_for_both_partners_and_how_it_is_worked_out(
    db: Database, calm: int, therapist: Actor
) -> None:
    at = open_couple(therapist, calm)
    assert not at.error
    assert main_types(at)[0] == "title" and at.title[0].value == "👫 C-1"
    scale_labels = lookup.scales_of(db, "checkin")["label"].tolist()
    assert len(scale_labels) == 13
    scales = frame(at, "a_baseline")
    assert scales["scale"].tolist() == scale_labels
    for partner in ("a", "b"):
        assert "—" not in scales[f"{partner}_latest"].tolist()
    headline = scales.set_index("scale").loc["Global satisfaction"]
    # Baseline, latest, change with whether it is beyond measurement noise, and the result.
    assert headline.tolist() == [
        "2.0",
        "4.0",
        "+2.0, beyond noise",
        "🌟 Recovered",
        "3.0",
        "3.0",
        "+0.0, within noise",
        "⚪ No reliable change",
        "1.0",
    ]
    assert list(scales.columns) == [
        "scale",
        "a_baseline",
        "a_latest",
        "a_change",
        "a_category",
        "b_baseline",
        "b_latest",
        "b_change",
        "b_category",
        "gap",
    ]
    progress = frame(at, "checkins")
    assert progress[["partner", "name", "latest", "change", "checkins"]].values.tolist() == [
        ["A", "C-1 Alpha", "4.0", "+2.0", 3],
        ["B", "C-1 Beta", "3.0", "+0.0", 3],
    ]
    expander = at.get("expander")
    assert [e.label for e in expander] == ["How these numbers are worked out"]
    inside = [e for e in expander[0].children.values() if e.type == "dataframe"]
    assert len(inside) == 1 and "reliable_change_from" in inside[0].value.columns
    assert "Jacobson and Truax" in expander[0].markdown[0].value
    methods = frame(at, "reliable_change_from")
    assert methods["scale"].tolist() == scale_labels
    assert methods["reliable_change_from"].str.startswith("Jacobson & Truax (1991)").all()
    assert not has_frame(at, "flag")  # nothing needs attention
    assert_no_none(at)


def test_free_text_answers_are_shown_with_their_dates(calm: int, therapist: Actor) -> None:
    at = open_couple(therapist, calm)
    texts = frame(at, "question")
    assert texts[["partner", "question", "answer"]].values.tolist() == [
        ["A", "Topics for next session", "Money worries since the move."]
    ]
    assert texts["completed_at"][0].date() == (TODAY - dt.timedelta(weeks=2)).date()
    assert any(s.value == "In their own words" for s in at.subheader)


def test_chart_has_both_partners_in_their_colours_on_the_instrument_range(
    calm: int, therapist: Actor
) -> None:
    spec = _chart(open_couple(therapist, calm))
    traces = spec["data"]
    assert [t["name"] for t in traces] == ["C-1 Alpha (A)", "C-1 Beta (B)"]
    assert _numbers(traces[0]["y"]) == [2.0, 3.0, 4.0]
    assert _numbers(traces[1]["y"]) == [3.0, 3.0, 3.0]
    assert [t["line"]["color"] for t in traces] == ["#0072B2", "#E69F00"]
    low, high = spec["layout"]["yaxis"]["range"]
    assert low == pytest.approx(-0.24) and high == pytest.approx(6.24)  # 0-6, 4% padding


def test_chart_range_follows_the_instrument(db: Database, therapist: Actor) -> None:
    couple_id = factories.couple(db, therapist, "K-1")
    for week, label in enumerate("AB"):
        factories.answers(
            db,
            couple_id,
            label,
            TODAY - dt.timedelta(days=week + 1),
            {"CSI4_1": 4, "CSI4_2": 3, "CSI4_3": 3, "CSI4_4": 2},
            instrument="csi4",
        )
    at = open_couple(therapist, couple_id)
    spec = _chart(at)
    low, high = spec["layout"]["yaxis"]["range"]
    assert low == pytest.approx(-0.84) and high == pytest.approx(21.84)  # 0-21
    assert [_numbers(t["y"]) for t in spec["data"]] == [[12.0], [12.0]]
    assert frame(at, "a_baseline")["scale"].tolist() == ["Relationship satisfaction (CSI-4)"]
    assert_no_none(at)


def test_names_are_shown_as_written_never_as_markup(db: Database, therapist: Actor) -> None:
    couple_id = couples.add_couple(
        db,
        therapist,
        "X-1",
        PartnerInput('<a href="https://evil.example">x</a>'),
        PartnerInput("[help](https://evil.example/login)"),
        start_date=dt.date.today() - dt.timedelta(20),
    )
    factories.checkin(db, couple_id, "A", TODAY - dt.timedelta(days=1), 3, texts={"TXT2": "*hi*"})
    factories.checkin(db, couple_id, "B", TODAY - dt.timedelta(days=1), 3)
    at = open_couple(therapist, couple_id)
    legend = [t["name"] for t in _chart(at)["data"]]
    assert legend == [
        '&lt;a href="https://evil.example"&gt;x&lt;/a&gt; (A)',
        "[help](https://evil.example/login) (B)",
    ]
    assert not any("<a" in name for name in legend)
    # Names reach the page only as data (tables, plain text, form values), never as Markdown.
    shown = markdown_texts(at)
    assert shown and not [t for t in shown if "evil.example" in t or "*hi*" in t]
    assert "Partner B: [help](https://evil.example/login)" in at.text[1].value
    assert frame(at, "checkins")["name"].tolist()[1] == "[help](https://evil.example/login)"


def test_record_session_and_close_case(db: Database, calm: int, therapist: Actor) -> None:
    at = choose(open_couple(therapist, calm), RECORDS, "🗓️ Sessions")
    at.text_area[0].input("Talked about weekly rituals.")
    rerun(_button(at, "Save session").click())
    assert db.query_value("SELECT notes FROM sessions") == "Talked about weekly rituals."
    assert at.success[0].value == "Session saved."
    sessions = frame(at, "session_number")
    assert sessions[["session_number", "attendance", "notes"]].values.tolist() == [
        [1, "Both partners", "Talked about weekly rituals."]
    ]
    next(s for s in at.selectbox if s.label == "Who attended").select("neither")
    # Another day: a second session on the same day needs a confirmation (test_page_couple_records).
    at.date_input(key="add_session_1_d").set_value(TODAY.date() - dt.timedelta(days=1))
    rerun(_button(at, "Save session").click())  # no note this time
    assert frame(at, "session_number")[["attendance", "notes"]].values.tolist() == [
        ["Neither (missed)", ""],
        ["Both partners", "Talked about weekly rituals."],
    ]
    assert_no_none(at)
    choose(at, RECORDS, "✏️ Case details")
    rerun(at.checkbox(key="confirm_close").check())
    rerun(_button(at, "Close this case").click())
    assert couples.get_couple(db, therapist, calm).status == "closed"
    assert any(b.label == "Reopen this case" for b in at.button)


def test_edit_refuses_bad_email_with_message(db: Database, calm: int, therapist: Actor) -> None:
    at = choose(open_couple(therapist, calm), RECORDS, "✏️ Case details")
    at.text_input(key="email_A").input("nonsense")
    rerun(_button(at, "Save changes").click())
    assert any(
        e.value == "Partner A's email address does not look like an address." for e in at.error
    )
    assert couples.get_couple(db, therapist, calm).partner("A").email == "c1.a@example.org"


def test_instrument_wording_is_never_markdown(
    db: Database, therapist: Actor, instruments_dir: Path
) -> None:
    from analytics.instruments import catalog
    from analytics.practice.opening import sync_instruments

    label = "[Closeness](https://evil.example)"
    text = (
        catalog.template_text()
        .replace('label = "Closeness"', f'label = "{label}"')
        .replace('label = "Feeling unsafe at home"', 'label = "*Unsafe* :red[home]"')
    )
    (instruments_dir / "ours.toml").write_text(text, encoding="utf-8")
    sync_instruments(db, instruments_dir)
    couple_id = factories.couple(db, therapist, "M-1")
    for label_ab, closeness in (("A", 2), ("B", 4)):
        factories.answers(
            db,
            couple_id,
            label_ab,
            TODAY - dt.timedelta(days=1),
            {"CLO1": closeness, "CLO2": 6 - closeness, "CLO3": closeness, "SAFE1": 1},
            instrument="my_scale",
            texts={"NOTE1": "[x](https://evil.example)"},
        )
    pages = [
        open_couple(therapist, couple_id),
        open_app(therapist),
        open_app(therapist, "pages/instruments.py"),
    ]
    couple_page, caseload, instruments = pages
    for at in pages:
        assert not [t for t in markdown_texts(at) if "evil.example" in t or "*Unsafe*" in t]
        assert_no_none(at)
    assert frame(couple_page, "a_baseline")["scale"].tolist() == [label]
    assert set(frame(couple_page, "item_name")["item_name"]) == {"*Unsafe* :red[home]"}
    assert frame(couple_page, "question")["answer"].tolist() == ["[x](https://evil.example)"] * 2
    assert _chart(couple_page)["layout"]["title"]["text"] == f"{label} over time"
    assert [t.value for t in caseload.text] == [f"Headline scale: {label}"]
    scales = frame(instruments, "missing_rule")
    assert scales[scales["instrument"] == "my_scale"]["scale"].tolist() == [label]


# --- Links ----------------------------------------------------------------------------------


def _open_link(actor: Actor, code: str) -> Any:
    from streamlit.testing.v1 import AppTest

    from tests.test_pages import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state[ui.SESSION_KEY] = signin.session_for(actor)
    at.run()
    at.query_params["couple"] = code
    at.switch_page("pages/couple.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_link_opens_its_couple_and_the_sidebar_choice_then_wins(
    db: Database, therapist: Actor
) -> None:
    first = factories.couple(db, therapist, "L-001")
    factories.couple(db, therapist, "L-002")
    at = _open_link(therapist, "l-002")
    assert [t.value for t in at.title][-1].endswith("L-002")
    choice = next(s for s in at.sidebar.selectbox if s.label == "Couple")
    at = rerun(choice.set_value(first))
    assert [t.value for t in at.title][-1].endswith("L-001")
    assert at.query_params["couple"] == "L-001"


@pytest.mark.parametrize("code", ["L-999", "OTHER-1"])
def test_a_link_to_an_unknown_or_forbidden_couple_shows_no_other_couple(
    db: Database, therapist: Actor, code: str
) -> None:
    from analytics.practice.therapists import add_therapist

    factories.couple(db, therapist, "L-001")
    factories.couple(db, add_therapist(db, "Other Therapist"), "OTHER-1")
    at = _open_link(therapist, code)
    errors = [e.value for e in at.error]
    assert errors == [
        "No couple in your caseload has the case code in this link. It may be mistyped, or"
        " the couple may be looked after by another therapist."
    ]
    assert "L-001" not in " ".join(t.value for t in at.title)
    assert not at.get("plotly_chart") and not at.dataframe
