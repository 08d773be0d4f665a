"""Repair: couples working on repair after a betrayal (current milestone, days in it, stalls),
and one couple's repair case: safety first, the milestones now, the timeline with the hurt
partner's trust, the history, and forms to record a milestone change, open and close a case."""

from __future__ import annotations

import streamlit as st

import ui
from analytics.clinical.flags import KINDS
from analytics.errors import CaseloadError
from analytics.practice import repair
from analytics.practice.repair import MILESTONES, STATUSES, RepairCase
from analytics.views import repair as repair_view

STATE = "repair_couple_id"  # the couple chosen here (the couple page keeps its own)
IN_URL = "repair_in_url"  # the case code this page last wrote into the address bar
FORM_GEN = "_repair_form_gen"  # bumped after a save, so the forms start empty again


def _case_words(case: RepairCase) -> str:
    """ "Open since 5 Jan 2026" or "5 Jan 2026 – 2 Mar 2026 (closed)"."""
    if case.is_open:
        return f"Open since {case.started_on:%d %b %Y}"
    assert case.closed_on is not None
    return f"{case.started_on:%d %b %Y} – {case.closed_on:%d %b %Y} (closed)"


def _partner_option(label: str) -> str:
    """A hurt-partner choice: the name (radio options are Markdown: escaped) and the letter."""
    return f"{ui.escape_markdown(couple.partner(label).name)} ({label})"


actor = ui.require_actor()
st.title("🩹 Repair after betrayal")
ui.show_flash()

in_repair = ui.load(repair_view.repair_caseload, actor, as_of=ui.today())
if in_repair.empty:
    st.info(
        "No couple in your caseload is working on repair after a betrayal. Choose a couple below"
        " to open a repair case.",
        icon="🩹",
    )
else:
    waiting = int((in_repair["safety"] != "").sum())
    if waiting:
        st.error(
            f"{waiting} couple(s) in repair have safety answers not assessed yet: assess safety"
            " first, on the couple page, before any conjoint repair work.",
            icon="⚠️",
        )
    st.caption(
        "Couples working on repair: the milestone the work is on now, how long it has been in"
        " that status, and why a repair looks stalled. Safety comes first."
    )
    st.dataframe(
        in_repair.drop(columns=["couple_id"]),
        hide_index=True,
        width="stretch",
        # Streamlit wraps cell text only in rows taller than 64 px: the stall reasons are long.
        row_height=68 if (in_repair["stalled"] != "").any() else None,
        key="repair_caseload",
        column_config={
            "case_code": st.column_config.TextColumn("Case", width=80),
            "safety": st.column_config.TextColumn("Safety", width=150),
            "milestone": "Milestone now",
            "status": st.column_config.TextColumn("Status", width=100),
            "days_in_status": st.column_config.NumberColumn("Days in it", format="%d", width=80),
            "since": st.column_config.DateColumn("Since", format="D MMM YYYY"),
            "reached": st.column_config.TextColumn("Reached", width=70),
            "stalled": st.column_config.TextColumn("Stalled", width="large"),
            "hurt_partner": st.column_config.TextColumn("Hurt partner", width=100),
            "therapist": "Therapist",
        },
    )

# The couple from a ?couple=CODE link or the choice here (couples in repair first), as on the
# couple page: an unknown or forbidden code stops the page.
couple_id = ui.pick_couple(
    actor, STATE, IN_URL, sidebar=False, prefer=[int(i) for i in in_repair["couple_id"]]
)
ui.record_view(actor, couple_id, "repair")

case_key = f"repair_case_{couple_id}"
try:
    detail = ui.load(
        repair_view.repair_detail,
        actor,
        couple_id,
        as_of=ui.today(),
        case_id=st.session_state.get(case_key),
    )
except CaseloadError as exc:
    ui.show_error(exc)
    st.stop()
couple = detail.couple
case = detail.case

# Safety always first: the assessment itself is recorded on the couple page.
if detail.safety_waiting:
    st.error(
        f"Safety screen: {detail.safety_waiting} safety answer(s) or unanswered screen(s) not"
        " assessed yet. Assess safety before any conjoint repair work; the answers and the form"
        " to record the assessment are on the couple page.",
        icon="⚠️",
    )
    st.page_link(
        "pages/couple.py",
        label="Open the couple page",
        icon="👫",
        query_params={"couple": couple.case_code},
    )

st.subheader(f"🩹 {ui.escape_markdown(couple.case_code)}")
gen = int(st.session_state.get(FORM_GEN, 0))

if len(detail.cases) > 1:
    case_ids = [c.id for c in detail.cases]
    words = {c.id: _case_words(c) for c in detail.cases}
    chosen = st.selectbox(
        "Repair case",
        case_ids,
        index=case_ids.index(case.id) if case is not None and case.id in case_ids else 0,
        format_func=words.__getitem__,
        key=f"repair_case_pick_{couple_id}",
    )
    if case is not None and chosen != case.id:
        st.session_state[case_key] = chosen
        st.rerun()

for note in detail.notes:
    st.caption(ui.escape_markdown(note))

if case is not None:
    st.text(
        f"{_case_words(case)} · hurt partner: {detail.hurt_name or 'not recorded'}"
        f" · involved partner: {detail.involved_name or 'not recorded'}"
    )
    if case.description:
        with st.expander("Description (confidential)"):
            st.text(case.description)
    for reason in detail.stalls:
        st.warning(ui.escape_markdown(reason), icon=KINDS["repair_stall"][0])
    if detail.figure is not None:
        st.plotly_chart(
            detail.figure,
            width="stretch",
            config={"displaylogo": False},
            key="repair_timeline",
        )
    st.dataframe(
        detail.milestones,
        hide_index=True,
        width="stretch",
        key="repair_milestones",
        column_config={
            "milestone": "Milestone",
            "status": "Status",
            "since": st.column_config.DateColumn("Since", format="D MMM YYYY"),
            "days": st.column_config.NumberColumn("Days", format="%d"),
            "changes": st.column_config.NumberColumn("Changes", format="%d"),
            "amends": "Amends agreed",
            "pace": "Pace the hurt partner set",
            "pace_reviewed_on": st.column_config.TextColumn("Pace reviewed"),
        },
    )
    if not detail.evidence.empty:
        st.caption(
            "Consistent reliability, from the data: the hurt partner's own ratings of"
            " consistency and transparency, first check-in to latest."
        )
        st.dataframe(
            detail.evidence,
            hide_index=True,
            width="stretch",
            key="repair_evidence",
            column_config={
                "scale": "Scale",
                "checkins": st.column_config.NumberColumn("Check-ins", format="%d"),
                "first": "First",
                "now": "Now",
                "change": "Change",
                "beyond_noise": "Beyond measurement noise?",
            },
        )

    if case.hurt_partner is None:
        with st.form(f"repair_hurt_{gen}"):
            hurt = st.radio(
                "Hurt partner",
                ["A", "B"],
                index=None,
                format_func=_partner_option,
                horizontal=True,
            )
            if st.form_submit_button("Record the hurt partner"):
                with ui.guarded():
                    repair.set_hurt_partner(ui.database(), actor, case.id, hurt or "")
                    ui.changed()
                    ui.flash("Hurt partner recorded.")

    if case.is_open:
        with st.form(f"repair_change_{gen}"):
            st.write("**Record a milestone change**")
            c1, c2, c3 = st.columns(3)
            milestone = c1.selectbox(
                "Milestone",
                [1, 2, 3, 4],
                format_func=lambda m: f"{m}. {MILESTONES[m - 1]}",
                key=f"repair_change_{gen}_m",
            )
            status = c2.selectbox(
                "Status",
                list(STATUSES),
                format_func=STATUSES.__getitem__,
                key=f"repair_change_{gen}_s",
            )
            effective_on = c3.date_input(
                "Took effect on",
                value=ui.today(),
                max_value=ui.today(),
                key=f"repair_change_{gen}_d",
                help="The day the change happened; it may be earlier than today.",
            )
            evidence = st.text_area(
                "Evidence (what you saw; confidential)",
                max_chars=repair.TEXT_LIMIT,
                key=f"repair_change_{gen}_e",
            )
            amends = st.text_area(
                "Amends agreed (apology and repair only; needed to mark it reached)",
                max_chars=repair.TEXT_LIMIT,
                key=f"repair_change_{gen}_a",
            )
            pace = st.text_area(
                "Pace the hurt partner has set (rebuilding time only; needed while in progress)",
                max_chars=repair.TEXT_LIMIT,
                key=f"repair_change_{gen}_p",
                help="Recording it counts as a review of the pace on the day the change took"
                " effect.",
            )
            if st.form_submit_button("Record change", type="primary"):
                with ui.guarded():
                    repair.record_change(
                        ui.database(),
                        actor,
                        case.id,
                        milestone=int(milestone),
                        status=str(status),
                        effective_on=effective_on if effective_on else None,
                        today=ui.today(),
                        evidence=evidence,
                        amends=amends,
                        pace=pace,
                    )
                    ui.changed()
                    st.session_state[FORM_GEN] = gen + 1
                    ui.flash(
                        f"{MILESTONES[int(milestone) - 1]}: {STATUSES[str(status)].lower()}"
                        " recorded."
                    )

    if not detail.history.empty:
        st.subheader("History")
        st.dataframe(
            detail.history,
            hide_index=True,
            width="stretch",
            key="repair_history",
            column_config={
                "effective_on": st.column_config.DateColumn("Took effect", format="D MMM YYYY"),
                "milestone": "Milestone",
                "status": "Status",
                "evidence": "Evidence",
                "amends": "Amends",
                "pace": "Pace",
                "entered_by": "Entered by",
                "entered_at": st.column_config.DatetimeColumn(
                    "Entered", format="D MMM YYYY, HH:mm"
                ),
            },
        )

    if case.is_open:
        with st.expander("Close this repair case"), st.form(f"repair_close_{gen}"):
            closed_on = st.date_input(
                "Closed on", value=ui.today(), max_value=ui.today(), key=f"repair_close_{gen}_d"
            )
            sure = st.checkbox(
                "Yes, close it: its milestones can no longer change.",
                key=f"repair_close_{gen}_sure",
            )
            if st.form_submit_button("Close repair case"):
                if not sure:
                    st.warning("Tick the box to confirm closing the repair case.", icon="☝️")
                else:
                    with ui.guarded():
                        repair.close_case(
                            ui.database(),
                            actor,
                            case.id,
                            closed_on=closed_on if closed_on else None,
                            today=ui.today(),
                        )
                        ui.changed()
                        st.session_state[FORM_GEN] = gen + 1
                        ui.flash("Repair case closed.")

if case is None or not case.is_open:
    with st.form(f"repair_open_{gen}"):
        st.write("**Open a repair case**")
        hurt_partner = st.radio(
            "Hurt partner (the other partner is the involved one)",
            ["A", "B"],
            index=None,
            format_func=_partner_option,
            horizontal=True,
            key=f"repair_open_{gen}_h",
        )
        description = st.text_area(
            "Short description, in your words (confidential)",
            max_chars=repair.DESCRIPTION_LIMIT,
            key=f"repair_open_{gen}_t",
        )
        started_on = st.date_input(
            "Started on", value=ui.today(), max_value=ui.today(), key=f"repair_open_{gen}_d"
        )
        if st.form_submit_button("Open repair case", type="primary"):
            with ui.guarded():
                new_case = repair.open_case(
                    ui.database(),
                    actor,
                    couple_id,
                    hurt_partner=hurt_partner or "",
                    description=description,
                    started_on=started_on if started_on else None,
                    today=ui.today(),
                )
                ui.changed()
                st.session_state[case_key] = new_case
                st.session_state[FORM_GEN] = gen + 1
                ui.flash("Repair case opened.")
