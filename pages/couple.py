"""Couple: safety first, then flags, both partners' change per scale with how it is worked out,
their own words, sessions and case details."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from analytics.clinical.flags import KINDS
from analytics.errors import CaseloadError
from analytics.practice import couples, safety, sessions
from analytics.views import couple as couple_view

# Streamlit wraps cell text only in rows taller than 64 px: three lines.
WRAPPED_ROW = 68
HEADER = 38  # a grid's header row and borders
SCALE_COLUMNS = ["scale", "a_baseline", "a_latest", "a_change", "a_category"]
SCALE_COLUMNS += ["b_baseline", "b_latest", "b_change", "b_category", "gap"]
IN_URL = "couple_in_url"  # the case code this page last wrote into the address bar


def _with_noise(change: pd.Series, beyond: pd.Series) -> list[str]:
    """Each change with whether it is larger than measurement noise: "+2.0, beyond noise"."""
    words = {"Yes": ", beyond noise", "No": ", within noise"}
    return [c + words.get(b, "") for c, b in zip(change, beyond, strict=True)]


actor = ui.require_actor()

listing = ui.load(couples.list_couples, actor, include_closed=True)
if listing.empty:
    st.title("👫 Couple")
    st.info("No couples in your caseload yet. Add one on **Add a couple**.", icon="🌱")
    st.stop()

ids = [int(i) for i in listing["id"]]
codes = dict(zip(ids, listing["case_code"], strict=True))
wanted = st.query_params.get("couple")
# A shareable link names the case code, never a client's name. The code this page last put in
# the address bar is its own echo: the sidebar choice made since then wins over it.
if wanted and wanted != st.session_state.get(IN_URL):
    matches = [i for i, code in codes.items() if code.upper() == wanted.strip().upper()]
    if not matches:
        # Unknown, or a couple this person may not see: the same words either way (they reveal
        # nothing), and no other couple is shown in its place.
        st.title("👫 Couple")
        st.error(
            "No couple in your caseload has the case code in this link. It may be mistyped, or"
            " the couple may be looked after by another therapist.",
            icon="🔒",
        )
        st.page_link("pages/caseload.py", label="Open the caseload", icon="📋")
        st.stop()
    st.session_state["couple_id"] = matches[0]
if st.session_state.get("couple_id") not in ids:
    st.session_state["couple_id"] = ids[0]
couple_id = int(
    ui.sticky_selectbox("Couple", ids, "couple_id", sidebar=True, format_func=lambda i: codes[i])
)
st.query_params["couple"] = st.session_state[IN_URL] = codes[couple_id]

try:
    view = ui.load(couple_view.couple_overview, actor, couple_id, as_of=ui.today())
except CaseloadError as exc:
    ui.show_error(exc)
    st.stop()
couple = view.couple

# Safety always comes first on any view of this couple: positive answers, then safety screens
# left unanswered (a blank is never read as "no"). The banners' words are ours; the questions
# and answers (from instrument files) are shown as data, never as Markdown.
waiting = view.unacknowledged_safety
if not waiting.empty:
    st.error(
        f"Safety screen: {len(waiting)} positive answer(s) not assessed yet. Assess safety "
        "before any conjoint work, then record the assessment below.",
        icon="⚠️",
    )
    st.dataframe(
        waiting[["completed_at", "partner", "item_name", "answer"]],
        hide_index=True,
        width="stretch",
        key="safety_waiting",
        column_config={
            "completed_at": st.column_config.DatetimeColumn("When", format="D MMM YYYY"),
            "partner": st.column_config.TextColumn("Partner", width=70),
            "item_name": "Question",
            "answer": "Answer given",
        },
    )
unanswered = view.unacknowledged_unanswered
if not unanswered.empty:
    st.warning(
        f"Safety screen not answered: {len(unanswered)} check-in(s) with safety questions left "
        "blank, not assessed yet. A blank is not a “no”: ask about safety before any conjoint "
        "work, then record the assessment below.",
        icon=KINDS["safety_unanswered"][0],
    )
    st.dataframe(
        unanswered,
        hide_index=True,
        width="stretch",
        key="safety_unanswered",
        column_config={
            "completed_at": st.column_config.DatetimeColumn("When", format="D MMM YYYY"),
            "partner": st.column_config.TextColumn("Partner", width=70),
            "left_blank": st.column_config.TextColumn("Safety questions left blank", width=110),
            "questions": "Which",
        },
    )
if view.safety_waiting:
    with st.form("safety_assessed", clear_on_submit=True):
        st.write("**Record that safety was assessed**")
        c1, c2 = st.columns([1, 3])
        assessed_on = c1.date_input("Assessed on", value=ui.today(), max_value=ui.today())
        note = c2.text_input("Short note (how it was assessed, what was agreed)", max_chars=1000)
        if st.form_submit_button("Record assessment", type="primary"):
            with ui.guarded():
                safety.record_assessment(
                    ui.database(),
                    actor,
                    couple_id,
                    note=note,
                    assessed_on=assessed_on,
                    today=ui.today(),
                )
                ui.changed()
                ui.flash("Safety assessment recorded.")

st.title(f"👫 {ui.escape_markdown(couple.case_code)}")
ui.show_flash()
a, b = couple.partners
status = {"active": "🟢 Active", "paused": "⏸️ Paused", "closed": "⚪ Closed"}[couple.status]
st.text(
    f"{status} · therapist {couple.therapist} · since {couple.start_date:%d %b %Y}"
    + (
        f" · repair after betrayal (hurt partner: {couple.hurt_partner})"
        if couple.repair_focus
        else ""
    )
)
st.text(f"Partner A: {a.name}    Partner B: {b.name}")

if not view.flags.empty:
    st.subheader("Needs attention")
    st.dataframe(
        view.flags[["flag", "reason"]],
        hide_index=True,
        width="stretch",
        row_height=WRAPPED_ROW,
        height=HEADER + WRAPPED_ROW * len(view.flags),
        key="couple_flags",
        column_config={
            "flag": st.column_config.TextColumn("Flag", width=170),
            "reason": st.column_config.TextColumn("Why"),
        },
    )

if view.chart is None:
    st.info("No check-ins yet. Import this couple's responses on the **Import** page.", icon="📥")
else:
    st.dataframe(
        view.progress.assign(
            latest=[ui.number(v) for v in view.progress["latest"]],
            change=[ui.number(v, "{:+.1f}") for v in view.progress["change"]],
            category=view.progress["category"].replace("", "No check-ins"),
            band=view.progress["band"].fillna("—"),
        ),
        hide_index=True,
        width="stretch",
        key="couple_progress",
        column_config={
            "partner": st.column_config.TextColumn("Partner", width=70),
            "name": "Name",
            "latest": st.column_config.TextColumn("Latest"),
            "change": st.column_config.TextColumn("Change since first"),
            "checkins": st.column_config.NumberColumn("Check-ins", format="%d"),
            "category": "Change",
            "band": "Range",
        },
    )
    st.plotly_chart(view.chart, width="stretch", config={"displaylogo": False})

    st.subheader("Every scale, both partners")
    # Partner B stays in view on a 1366-px screen: narrow columns whose text wraps (rows over
    # 64 px), and the change shown together with whether it is beyond measurement noise.
    change_help = "Change since the first check-in, and whether it is larger than measurement noise"
    st.dataframe(
        view.scales.assign(
            a_change=_with_noise(view.scales["a_change"], view.scales["a_beyond_noise"]),
            b_change=_with_noise(view.scales["b_change"], view.scales["b_beyond_noise"]),
        )[SCALE_COLUMNS],
        hide_index=True,
        width="stretch",
        row_height=WRAPPED_ROW,
        height=HEADER + WRAPPED_ROW * len(view.scales),
        key="couple_scales",
        column_config={
            "scale": st.column_config.TextColumn("Scale", pinned=True, width=150),
            "a_baseline": st.column_config.TextColumn("A first", width=58),
            "a_latest": st.column_config.TextColumn("A latest", width=64),
            "a_change": st.column_config.TextColumn("A change", width=92, help=change_help),
            "a_category": st.column_config.TextColumn("A result", width=96),
            "b_baseline": st.column_config.TextColumn("B first", width=58),
            "b_latest": st.column_config.TextColumn("B latest", width=64),
            "b_change": st.column_config.TextColumn("B change", width=92, help=change_help),
            "b_category": st.column_config.TextColumn("B result", width=96),
            "gap": st.column_config.TextColumn(
                "Gap",
                width=100,
                help="How far apart the partners are in the latest week both checked in",
            ),
        },
    )
    with st.expander("How these numbers are worked out"):
        st.markdown(couple_view.METHOD_NOTES)
        st.dataframe(
            view.methods,
            hide_index=True,
            width="stretch",
            key="couple_methods",
            column_config={
                "scale": "Scale",
                "smallest_reliable_change": "Smallest change beyond noise",
                "reliable_change_from": "Worked out from",
                "cutoff": "Cutoff",
                "cutoff_from": "Cutoff from",
                "source": "Source of the figures",
            },
        )

if not view.texts.empty:
    st.subheader("In their own words")
    st.dataframe(
        view.texts,
        hide_index=True,
        width="stretch",
        row_height=WRAPPED_ROW,
        key="couple_texts",
        column_config={
            "completed_at": st.column_config.DatetimeColumn("When", format="D MMM YYYY"),
            "partner": st.column_config.TextColumn("Partner", width=70),
            "question": "Question",
            "answer": st.column_config.TextColumn("Answer", width="large"),
        },
    )

if not view.assessments.empty:
    with st.expander("Safety assessments recorded"):
        st.dataframe(
            view.assessments,
            hide_index=True,
            width="stretch",
            key="couple_assessments",
            column_config={
                "assessed_on": st.column_config.DateColumn("Date", format="D MMM YYYY"),
                "assessed_by": "By",
                "note": "Note",
            },
        )

tab_sessions, tab_details = st.tabs(["🗓️ Sessions", "✏️ Case details"])

with tab_sessions:
    with st.form("add_session", clear_on_submit=True):
        st.write("**Record a session**")
        c1, c2 = st.columns(2)
        when = c1.date_input("Date", value=ui.today(), max_value=ui.today())
        attendance = c2.selectbox(
            "Who attended", list(sessions.ATTENDANCE), format_func=sessions.ATTENDANCE.__getitem__
        )
        note = st.text_area("Short note (optional)", max_chars=sessions.NOTE_LIMIT)
        if st.form_submit_button("Save session"):
            with ui.guarded():
                sessions.add_session(
                    ui.database(), actor, couple_id, when, attendance, note, today=ui.today()
                )
                ui.changed()
                ui.flash("Session saved.")
    if view.sessions.empty:
        st.caption("No sessions recorded yet.")
    else:
        st.dataframe(
            view.sessions.assign(
                attendance=view.sessions["attendance"].map(sessions.ATTENDANCE),
                notes=view.sessions["notes"].fillna(""),
            ),
            hide_index=True,
            width="stretch",
            key="couple_sessions",
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
        therapist_id = ui.therapist_select(actor, couple.therapist_id) or couple.therapist_id
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
                couples.set_status(ui.database(), actor, couple_id, "active", today=ui.today())
                ui.changed()
                ui.flash("Case reopened.")
    else:
        st.caption("Closing keeps every record; the couple only leaves the active caseload.")
        if st.button("Close this case", icon="📁"):
            with ui.guarded():
                couples.set_status(ui.database(), actor, couple_id, "closed", today=ui.today())
                ui.changed()
                ui.flash("Case closed. It stays in the records and can be reopened.")
