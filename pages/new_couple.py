"""Add a couple: case code, both partners, assigned therapist."""

from __future__ import annotations

import streamlit as st

import ui
from analytics.practice import couples

actor = ui.require_actor()
st.title("➕ Add a couple")
st.caption(
    "Emails and client codes let imported check-ins find the right partner. The client code "
    "defaults to the case code plus A or B."
)

with st.form("new_couple"):
    case_code = st.text_input("Case code", max_chars=32, placeholder="e.g. C-2026-014")
    therapist_id = ui.therapist_select(actor, actor.id)
    entries = ui.partner_fields("new_")
    start = st.date_input("Start date", value=ui.today())
    submitted = st.form_submit_button("Add couple", type="primary")

if submitted:
    with ui.guarded():
        couple_id = couples.add_couple(
            ui.database(),
            actor,
            case_code,
            entries[0],
            entries[1],
            therapist_id=therapist_id,
            start_date=start,
        )
        ui.changed()
        st.session_state["couple_id"] = couple_id
        # The code passed validation; escaped all the same, as every Markdown text from a person.
        st.success(f"Added {ui.escape_markdown(case_code.strip().upper())}.", icon="✅")
        st.page_link("pages/couple.py", label="Open the couple", icon="👫")
        st.page_link(
            "pages/repair.py",
            label="Working on repair after a betrayal? Open a repair case",
            icon="🩹",
        )
