"""Add a couple: case code, both partners, assigned therapist."""

from __future__ import annotations

import datetime as dt

import streamlit as st

import ui
from analytics import couples, therapists

actor = ui.require_actor()
st.title("➕ Add a couple")
st.caption(
    "Emails and client codes let imported check-ins find the right partner. The client code "
    "defaults to the case code plus A or B."
)

staff = ui.load(therapists.list_therapists)
staff_ids = [int(i) for i in staff["id"]]
names = dict(zip(staff_ids, staff["name"], strict=True))

with st.form("new_couple"):
    case_code = st.text_input("Case code", max_chars=32, placeholder="e.g. C-2026-014")
    therapist_id = st.selectbox(
        "Assigned therapist",
        staff_ids,
        index=staff_ids.index(actor.id),
        format_func=names.__getitem__,
        disabled=not actor.is_supervisor,
        help="Only a supervisor can assign a couple to someone else.",
    )
    entries = []
    for label, col in zip("AB", st.columns(2), strict=True):
        with col:
            st.write(f"**Partner {label}**")
            entries.append(
                couples.PartnerInput(
                    st.text_input("Name", key=f"new_name_{label}", max_chars=100),
                    st.text_input("Email", key=f"new_email_{label}"),
                    st.text_input("Client code (optional)", key=f"new_code_{label}"),
                )
            )
    start = st.date_input("Start date", value=dt.date.today())
    repair = st.checkbox("Repair after a betrayal is part of the work")
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
            repair_focus=repair,
        )
        ui.changed()
        st.session_state["couple_id"] = couple_id
        st.success(f"Added {case_code.strip().upper()}.", icon="✅")
        st.page_link("pages/couple.py", label="Open the couple", icon="👫")
