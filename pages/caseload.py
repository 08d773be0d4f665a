"""Caseload: every couple in the acting therapist's care, what changed, what needs attention."""

from __future__ import annotations

import streamlit as st

import ui
from analytics import caseload

actor = ui.require_actor()
st.title("📋 Caseload")

left, right = st.columns([1, 2])
statuses = left.multiselect(
    "Status",
    ["active", "paused", "closed"],
    default=["active", "paused"],
    format_func=str.capitalize,
)
search = right.text_input("Search case code", placeholder="e.g. D-004")

table = ui.load(caseload.caseload_table, actor, statuses=tuple(statuses), search=search)

if table.empty:
    if search or set(statuses) != {"active", "paused"}:
        st.info("No couples match these filters.", icon="🔎")
    else:
        st.info(
            "No couples in your caseload yet. Add one on **Add a couple**, or bring in your "
            "clients' check-ins on **Import**. To explore with synthetic data, run "
            "`python -m analytics demo` on an empty database.",
            icon="🌱",
        )
    st.stop()

flagged = int(table["safety"].sum())
overdue = int(table["overdue"].sum())
m1, m2, m3 = st.columns(3)
m1.metric("Couples shown", len(table))
m2.metric("⚠️ Safety answers", flagged)
m3.metric("⏰ Overdue check-ins", overdue)
if flagged:
    st.error(
        f"{flagged} couple(s) gave a positive answer on the safety screen. "
        "They are listed first; open the couple to see when and which item.",
        icon="⚠️",
    )

scale = (0.0, 6.0)
event = st.dataframe(
    table.drop(columns=["couple_id", "safety", "overdue"]),
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="caseload_table",
    column_config={
        "case_code": st.column_config.TextColumn("Case", pinned=True),
        "attention": st.column_config.TextColumn("Needs attention", width="medium"),
        "therapist": "Therapist",
        "status": "Status",
        "partner_a": "Partner A",
        "partner_b": "Partner B",
        "a_latest": st.column_config.NumberColumn(
            "A latest", format="%.1f", help="Global satisfaction, 0–6"
        ),
        "a_change": st.column_config.NumberColumn(
            "A change", format="%+.1f", help="Since A's first check-in"
        ),
        "a_trend": st.column_config.LineChartColumn("A trend", y_min=scale[0], y_max=scale[1]),
        "b_latest": st.column_config.NumberColumn(
            "B latest", format="%.1f", help="Global satisfaction, 0–6"
        ),
        "b_change": st.column_config.NumberColumn(
            "B change", format="%+.1f", help="Since B's first check-in"
        ),
        "b_trend": st.column_config.LineChartColumn("B trend", y_min=scale[0], y_max=scale[1]),
        "weeks_in_therapy": st.column_config.NumberColumn("Weeks", format="%d"),
        "last_checkin": st.column_config.DatetimeColumn("Last check-in", format="D MMM YYYY"),
        "days_since_checkin": st.column_config.NumberColumn("Days since", format="%d"),
        "repair_focus": st.column_config.CheckboxColumn("Repair"),
    },
)
st.caption(
    "Scores are global satisfaction on the 0–6 check-in scale; higher is better. "
    "Select a row to open the couple."
)


def _open(couple_id: int) -> None:
    st.session_state["couple_id"] = couple_id
    st.switch_page("pages/couple.py")


selected = event.selection.rows if event is not None else []
if selected:
    _open(int(table.iloc[selected[0]]["couple_id"]))

codes = dict(zip(table["case_code"], table["couple_id"], strict=True))
pick, go_button = st.columns([3, 1], vertical_alignment="bottom")
chosen = pick.selectbox(
    "Open a couple", list(codes), index=None, placeholder="Case code", key="open_couple"
)
if (
    go_button.button("Open couple", disabled=chosen is None, width="stretch", key="open_button")
    and chosen
):
    _open(int(codes[chosen]))
