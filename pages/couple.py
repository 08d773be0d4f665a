"""Couple: both partners' progress, safety first; sessions and case details."""

from __future__ import annotations

import datetime as dt

import streamlit as st

import ui
from analytics import couple_view, couples, sessions
from analytics.errors import CaseloadError

actor = ui.require_actor()

listing = ui.load(couples.list_couples, actor, include_closed=True)
if listing.empty:
    st.title("👫 Couple")
    st.info("No couples in your caseload yet. Add one on **Add a couple**.", icon="🌱")
    st.stop()

ids = [int(i) for i in listing["id"]]
codes = dict(zip(ids, listing["case_code"], strict=True))
wanted = st.query_params.get("couple")
if wanted:  # a shareable link names the case code, never a client's name
    matches = [i for i, code in codes.items() if code == wanted.upper()]
    if matches:
        st.session_state["couple_id"] = matches[0]
if st.session_state.get("couple_id") not in ids:
    st.session_state["couple_id"] = ids[0]
couple_id = int(
    ui.sticky_selectbox("Couple", ids, "couple_id", sidebar=True, format_func=lambda i: codes[i])
)
st.query_params["couple"] = codes[couple_id]

try:
    view = ui.load(couple_view.couple_overview, actor, couple_id)
except CaseloadError as exc:
    ui.show_error(exc)
    st.stop()
couple = view.couple

# Safety answers always come first on any view of this couple.
if not view.safety.empty:
    latest = view.safety.iloc[0]
    st.error(
        f"**Safety screen: {len(view.safety)} positive answer(s).** Most recent from partner "
        f"{latest['label']} on {latest['completed_at']:%d %b %Y}: “{latest['item_text']}” "
        f"({latest['item']}). Assess safety before any conjoint work.",
        icon="⚠️",
    )

st.title(f"👫 {couple.case_code}")
ui.show_flash()
a, b = couple.partners
status = {"active": "🟢 Active", "paused": "⏸️ Paused", "closed": "⚪ Closed"}[couple.status]
st.caption(
    f"{status} · therapist {couple.therapist} · since {couple.start_date:%d %b %Y}"
    + (
        f" · repair after betrayal (hurt partner: {couple.hurt_partner})"
        if couple.repair_focus
        else ""
    )
)

cols = st.columns(2)
for col, progress in zip(cols, view.progress, strict=True):
    with col:
        if progress.latest is None:
            st.metric(f"{progress.name} ({progress.label})", "no check-ins")
        else:
            st.metric(
                f"{progress.name} ({progress.label}) · global satisfaction",
                f"{progress.latest:.1f} / 6",
                delta=f"{progress.change:+.1f} since first check-in",
                delta_color="normal",
            )
            st.caption(f"{progress.checkins} check-ins")

if view.scores.empty:
    st.info("No check-ins yet. Import this couple's responses on the **Import** page.", icon="📥")
else:
    st.plotly_chart(view.chart, width="stretch", config={"displaylogo": False})

tab_sessions, tab_details = st.tabs(["🗓️ Sessions", "✏️ Case details"])

with tab_sessions:
    with st.form("add_session", clear_on_submit=True):
        st.write("**Record a session**")
        c1, c2 = st.columns(2)
        when = c1.date_input("Date", value=dt.date.today(), max_value=dt.date.today())
        attendance = c2.selectbox(
            "Who attended", list(sessions.ATTENDANCE), format_func=sessions.ATTENDANCE.__getitem__
        )
        note = st.text_area("Short note (optional)", max_chars=sessions.NOTE_LIMIT)
        if st.form_submit_button("Save session"):
            with ui.guarded():
                sessions.add_session(ui.database(), actor, couple_id, when, attendance, note)
                ui.changed()
                ui.flash("Session saved.")
    if view.sessions.empty:
        st.caption("No sessions recorded yet.")
    else:
        st.dataframe(
            view.sessions,
            hide_index=True,
            width="stretch",
            column_config={
                "session_number": st.column_config.NumberColumn("#", format="%d"),
                "session_date": st.column_config.DateColumn("Date", format="D MMM YYYY"),
                "attendance": "Attended",
                "notes": "Note",
            },
        )

with tab_details:
    with st.form("edit_couple"):
        case_code = st.text_input("Case code", value=couple.case_code, max_chars=32)
        therapist_id = ui.therapist_select(actor, couple.therapist_id)
        entries = ui.partner_fields("", couple.partners)
        start = st.date_input("Start date", value=couple.start_date)
        repair = st.checkbox(
            "Repair after a betrayal is part of the work", value=couple.repair_focus
        )
        hurt = st.radio(
            "Hurt partner (sets the pace of rebuilding)",
            [None, "A", "B"],
            index=[None, "A", "B"].index(couple.hurt_partner),
            horizontal=True,
            format_func=lambda v: "Not set" if v is None else f"Partner {v}",
        )
        if st.form_submit_button("Save changes"):
            with ui.guarded():
                couples.update_couple(
                    ui.database(),
                    actor,
                    couple_id,
                    case_code=case_code,
                    partner_a=entries[0],
                    partner_b=entries[1],
                    therapist_id=therapist_id,
                    start_date=start,
                    repair_focus=repair,
                    hurt_partner=hurt,
                )
                ui.changed()
                ui.flash("Case details saved.")

    if couple.status == "closed":
        if st.button("Reopen this case", icon="↩️"):
            with ui.guarded():
                couples.set_status(ui.database(), actor, couple_id, "active")
                ui.changed()
                ui.flash("Case reopened.")
    else:
        st.caption("Closing keeps every record; the couple only leaves the active caseload.")
        if st.button("Close this case", icon="📁"):
            with ui.guarded():
                couples.set_status(ui.database(), actor, couple_id, "closed")
                ui.changed()
                ui.flash("Case closed. It stays in the records and can be reopened.")
