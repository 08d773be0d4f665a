"""Caseload: every couple in the acting therapist's care, what changed, what needs attention."""

from __future__ import annotations

import streamlit as st

import ui
from analytics.clinical.flags import KINDS
from analytics.practice import therapists
from analytics.views import caseload

actor = ui.require_actor()
st.title("📋 Caseload")

left, middle, right = st.columns([2, 2, 2])
statuses = left.multiselect(
    "Status",
    list(caseload.STATUSES),
    default=["active", "paused"],
    format_func=str.capitalize,
)
search = middle.text_input("Search", placeholder="Case code or name")
therapist_id = None
if actor.sees_every_couple:
    staff = ui.load(therapists.list_therapists)
    names = dict(zip((int(i) for i in staff["id"]), staff["name"], strict=True))
    therapist_id = right.selectbox(
        "Therapist",
        list(names),
        index=None,
        format_func=names.__getitem__,
        placeholder="Every therapist",
    )

table = ui.load(
    caseload.caseload_table,
    actor,
    as_of=ui.today(),
    statuses=tuple(statuses),
    search=search,
    therapist_id=therapist_id,
)

if table.empty:
    if search or therapist_id is not None or set(statuses) != {"active", "paused"}:
        st.info("No couples match these filters.", icon="🔎")
    else:
        st.info(
            "No couples in your caseload yet. Add one on **Add a couple**, or bring in your "
            "clients' check-ins on **Import**. To explore with synthetic data, run "
            "`python -m analytics demo` on an empty database.",
            icon="🌱",
        )
    st.stop()

kinds = table["flag_kinds"]
safety = sum("safety" in k for k in kinds)
flagged = sum(bool(k) for k in kinds)
m1, m2, m3 = st.columns(3)
m1.metric("Couples shown", len(table))
m2.metric(f"{KINDS['safety'][0]} Safety answers to assess", safety)
m3.metric("🚩 Couples with a flag", flagged)
if safety:
    st.error(
        f"{safety} couple(s) gave a positive answer on the safety screen that has not been "
        "assessed yet. They are listed first; open the couple to see which question and when.",
        icon="⚠️",
    )

low = table["score_min"].min()
high = table["score_max"].max()
columns = ["case_code", "flags", "partner_a", "a_now", "a_trend", "partner_b", "b_now", "b_trend"]
columns += ["last_checkin", "headline"]
if actor.sees_every_couple:
    columns.append("therapist")
if set(statuses) != {"active"}:
    columns.append("status")
event = st.dataframe(
    table[columns],
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="caseload_table",
    column_config={
        "case_code": st.column_config.TextColumn("Case", pinned=True, width=70),
        "flags": st.column_config.TextColumn(
            "Needs attention", width=190, help="Flags, most urgent first; reasons below."
        ),
        "partner_a": st.column_config.TextColumn("Partner A", width=110),
        "a_now": st.column_config.TextColumn(
            "A now (change)", width=165, help="Headline score, change since the first check-in"
        ),
        "a_trend": st.column_config.LineChartColumn(
            "A trend", width=80, y_min=float(low), y_max=float(high)
        ),
        "partner_b": st.column_config.TextColumn("Partner B", width=110),
        "b_now": st.column_config.TextColumn(
            "B now (change)", width=165, help="Headline score, change since the first check-in"
        ),
        "b_trend": st.column_config.LineChartColumn(
            "B trend", width=80, y_min=float(low), y_max=float(high)
        ),
        "last_checkin": st.column_config.TextColumn("Last check-in", width=100),
        "headline": st.column_config.TextColumn("Headline score", width=150),
        "therapist": st.column_config.TextColumn("Therapist", width=110),
        "status": st.column_config.TextColumn("Status", width=70),
    },
)
st.caption(
    "Better and worse mean a change larger than measurement noise (reliable change, Jacobson & "
    "Truax 1991); the couple page shows how each number is worked out. Select a row to open "
    "the couple."
)

reasons = table[table["reasons"] != ""][["case_code", "flags", "reasons"]]
if not reasons.empty:
    st.subheader("Why these couples are flagged")
    st.dataframe(
        reasons.assign(reasons=reasons["reasons"].str.replace("\n", "  •  ", regex=False)),
        hide_index=True,
        width="stretch",
        key="caseload_reasons",
        column_config={
            "case_code": st.column_config.TextColumn("Case", width=70),
            "flags": st.column_config.TextColumn("Flags", width=190),
            "reasons": st.column_config.TextColumn("Reasons", width="large"),
        },
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
