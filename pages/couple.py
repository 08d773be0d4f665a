"""Couple: safety first, then flags, both partners' change per scale with how it is worked out,
their own words, sessions and case details."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

import pandas as pd
import streamlit as st

import ui
from analytics.charts import export, images
from analytics.clinical.flags import KINDS
from analytics.errors import CaseloadError
from analytics.practice import couples, safety, sessions
from analytics.views import couple as couple_view
from analytics.views import couple_page
from analytics.views import trends as trends_view

# Streamlit wraps cell text only in rows taller than 64 px: three lines.
WRAPPED_ROW = 68
HEADER = 38  # a grid's header row and borders
SCALE_COLUMNS = ["scale", "a_baseline", "a_latest", "a_change", "a_category"]
SCALE_COLUMNS += ["b_baseline", "b_latest", "b_change", "b_category", "gap"]
IN_URL = "couple_in_url"  # the case code this page last wrote into the address bar
HEATMAP = "Each check-in, scale by scale"
DETAILS = (HEATMAP, "Every scale over time", "Item answers for one scale")
SESSIONS, DETAILS_FORM, REPORT = "🗓️ Sessions", "✏️ Case details", "📄 Client report"


def _with_noise(change: pd.Series, beyond: pd.Series) -> list[str]:
    """Each change with whether it is larger than measurement noise: "+2.0, beyond noise"."""
    words = {"Yes": ", beyond noise", "No": ", within noise"}
    return [c + words.get(b, "") for c, b in zip(change, beyond, strict=True)]


actor = ui.require_actor()

# The couple from a ?couple=CODE link or the sidebar; an unknown or forbidden code stops here.
couple_id = ui.pick_couple(actor, "couple_id", IN_URL, heading="👫 Couple")
ui.record_view(actor, couple_id, "couple")

try:
    # Everything the page draws as it opens, in one read (one cache entry per couple and day).
    page = ui.load(couple_page.couple_page, actor, couple_id, as_of=ui.today())
except CaseloadError as exc:
    ui.show_error(exc)
    st.stop()
view = page.overview
couple = view.couple


def _chart(fig: object, chart_key: str, name: str, downloads_key: str) -> None:
    """One of this couple's charts with its Download menu (files named by the case code)."""
    ui.couple_chart(
        fig,
        chart_key=chart_key,
        name=name,
        couple_id=couple_id,
        case_code=couple.case_code,
        downloads_key=downloads_key,
    )


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
        f" · repair after betrayal (hurt partner: {couple.hurt_partner or 'not set'})"
        if couple.repair_focus
        else ""
    )
)
st.text(f"Partner A: {a.name}    Partner B: {b.name}")

# What changed since the last session, in a few lines of our own words with numbers. Plain text
# (scale labels come from instrument files), never Markdown; safety is only pointed to (it is
# above the title), and free-text answers are counted, never quoted.
with st.container(border=True, key="couple_digest"):
    st.caption("What changed since the last session")
    for digest_line in page.digest.lines:
        st.text(digest_line)

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

if not view.chart_scales:
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
    # Progress on one scale at a time, the headline first. Labels come from instrument files:
    # selectbox options are shown as plain text.
    scale_codes = list(view.chart_scales)
    chosen_scale = st.selectbox(
        "Scale shown over time",
        scale_codes,
        index=scale_codes.index(view.headline_code) if view.headline_code in scale_codes else 0,
        format_func=view.chart_scales.__getitem__,
        key=f"progress_scale_{couple_id}",
    )
    progress_chart = page.progress
    if progress_chart is None or chosen_scale != view.headline_code:
        progress_chart = ui.load(
            couple_view.progress_chart,
            actor,
            couple_id,
            view.chart_instrument,
            chosen_scale,
            as_of=ui.today(),
        )
    if progress_chart.figure is not None:
        _chart(
            progress_chart.figure, "couple_progress_chart", f"progress-{chosen_scale}", "progress"
        )
    for progress_note in progress_chart.notes:
        st.caption(ui.escape_markdown(progress_note))

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

# Barriers and trust: both partners per scale, the gap between them, most concerning first; then
# how each partner's profile moved. The notes say what thin data cannot show yet (scale labels
# come from instrument files: escaped).
profile = page.profile
st.subheader("Barriers and trust, both partners")
for profile_note in profile.notes:
    st.caption(ui.escape_markdown(profile_note))
if profile.profile is not None and profile.heatmap is not None:
    _chart(profile.profile, "couple_profile", "profile", "profile")

# More detail, drawn only when asked for (each chart costs the browser a few hundred ms to draw,
# so the page opens with the three that prepare a session): how each partner's profile moved
# check-in by check-in (heatmap), every scale over time as small multiples, or one scale's
# statements answer by answer in the instrument's own response labels. Notes name what thin
# data cannot show yet (labels from instrument files: escaped); scale options are plain text.
if profile.profile is not None:
    detail = st.segmented_control(
        "More detail",
        list(DETAILS),
        key="couple_more_detail",
    )
    if detail == HEATMAP and profile.heatmap is not None:
        _chart(profile.heatmap, "couple_heatmap", "heatmap", "heatmap")
    elif detail == "Every scale over time":
        trends = ui.load(trends_view.scale_trends, actor, couple_id)
        for trends_note in trends.notes:
            st.caption(ui.escape_markdown(trends_note))
        if trends.figure is not None:
            _chart(trends.figure, "couple_trends", "trends", "trends")
    elif detail == "Item answers for one scale":
        # One load per run: the scale asked for (None at first: the most concerning one).
        scale_key = f"couple_item_scale_{couple_id}"
        item_detail = ui.load(
            trends_view.item_trends, actor, couple_id, st.session_state.get(scale_key)
        )
        if item_detail.scales:
            if st.session_state.get(scale_key) not in item_detail.scales:
                st.session_state[scale_key] = item_detail.scale_code
            st.selectbox(
                "Scale",
                list(item_detail.scales),
                format_func=item_detail.scales.__getitem__,
                key=scale_key,
            )
        for item_note in item_detail.notes:
            st.caption(ui.escape_markdown(item_note))
        if item_detail.figure is not None:
            _chart(
                item_detail.figure,
                "couple_item_answers",
                f"items-{item_detail.scale_code}",
                "items",
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
            # Recorded from the command line: no therapist to name.
            view.assessments.assign(assessed_by=view.assessments["assessed_by"].fillna("not set")),
            hide_index=True,
            width="stretch",
            key="couple_assessments",
            column_config={
                "assessed_on": st.column_config.DateColumn("Date", format="D MMM YYYY"),
                "assessed_by": "By",
                "note": "Note",
            },
        )

# Sessions and case details are drawn when asked for: their forms are most of the page's
# widgets, and a tab draws its content even while hidden.
st.subheader("Records")
records = st.segmented_control(
    "Sessions, case details and reports", [SESSIONS, DETAILS_FORM, REPORT], key="couple_records"
)
if records is None:
    last = view.sessions["session_date"].max() if not view.sessions.empty else None
    st.caption(
        f"{len(view.sessions)} session(s) recorded"
        + (f", the last on {pd.Timestamp(last):%d %b %Y}" if last is not None else "")
        + ". Choose Sessions to record or correct one, Case details to edit the case,"
        " pause, resume or close it, or Client report to make a report for the couple."
    )

# A second session on one date is more often a double entry: the first save is refused, and the
# form then asks for an explicit confirmation before saving it (for that date only).
SAME_DAY = "_same_day_pending"  # {form key: (refused date, message)}
ADD_GEN = "_session_form_gen"  # bumped after a save, so the add form starts empty again


def _same_day_confirmed(form: str, when: dt.date) -> bool:
    """Draw the same-day confirmation inside `form` if its last save was refused for that
    reason; True when ticked for the date now chosen."""
    pending = st.session_state.get(SAME_DAY, {}).get(form)
    if pending is None:
        return False
    st.warning(ui.escape_markdown(pending[1]), icon="🗓️")
    ticked = st.checkbox("Yes, record a second session on that day", key=f"{form}_same_day")
    return bool(ticked) and pending[0] == when


def _save_session(
    form: str,
    when: dt.date,
    write: Callable[[bool], object],
    *,
    confirmed: bool,
    done: str,
    reset: str | None = None,
) -> None:
    """Run a session write; a same-day refusal turns into the confirmation on the next run.
    On success the counter under `reset` (if any) moves on, so the form starts empty."""
    pending: dict[str, tuple[dt.date, str]] = st.session_state.setdefault(SAME_DAY, {})
    try:
        write(confirmed)
    except sessions.SameDaySession as exc:
        pending[form] = (when, exc.message)
        st.rerun()
    except CaseloadError as exc:
        ui.show_error(exc)
        return
    pending.pop(form, None)
    if reset:
        st.session_state[reset] = st.session_state.get(reset, 0) + 1
    ui.changed()
    ui.flash(done)


if records == SESSIONS:
    gen = st.session_state.get(ADD_GEN, 0)
    add_form = f"add_session_{gen}"
    with st.form(add_form):
        st.write("**Record a session**")
        c1, c2 = st.columns(2)
        when = c1.date_input("Date", value=ui.today(), max_value=ui.today(), key=f"{add_form}_d")
        attendance = c2.selectbox(
            "Who attended",
            list(sessions.ATTENDANCE),
            format_func=sessions.ATTENDANCE.__getitem__,
            key=f"{add_form}_a",
        )
        note = st.text_area(
            "Short note (optional)", max_chars=sessions.NOTE_LIMIT, key=f"{add_form}_n"
        )
        confirmed = _same_day_confirmed(add_form, when)
        if st.form_submit_button("Save session"):
            _save_session(
                add_form,
                when,
                lambda same_day: sessions.add_session(
                    ui.database(),
                    actor,
                    couple_id,
                    when,
                    attendance,
                    note,
                    today=ui.today(),
                    allow_same_day=same_day,
                ),
                confirmed=confirmed,
                done="Session saved.",
                reset=ADD_GEN,
            )
    if view.sessions.empty:
        st.caption("No sessions recorded yet.")
    else:
        # Notes are free text: shown as data in the grid, never as Markdown.
        st.dataframe(
            view.sessions.assign(
                attendance=view.sessions["attendance"].map(sessions.ATTENDANCE),
                notes=view.sessions["notes"].fillna(""),
            )[["session_number", "session_date", "attendance", "notes"]],
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
        with st.expander("Correct or delete a session"):
            listed: dict[int, tuple[int, dt.date, str, str]] = {
                int(i): (int(n), pd.Timestamp(d).date(), str(a), t if isinstance(t, str) else "")
                for i, n, d, a, t in zip(
                    view.sessions["id"],
                    view.sessions["session_number"],
                    view.sessions["session_date"],
                    view.sessions["attendance"],
                    view.sessions["notes"],
                    strict=True,
                )
            }
            # Labelled by number and date only: a note never becomes a label (labels are Markdown).
            chosen: int = st.selectbox(
                "Session",
                list(listed),
                format_func=lambda i: f"#{listed[i][0]} · {listed[i][1]:%d %b %Y}",
                key="session_to_edit",
            )
            number, old_date, old_attendance, old_note = listed[chosen]
            edit_form = f"edit_session_{chosen}"  # fresh fields for each session chosen
            with st.form(edit_form):
                c1, c2 = st.columns(2)
                new_date = c1.date_input(
                    "Date", value=old_date, max_value=ui.today(), key=f"{edit_form}_d"
                )
                new_attendance = c2.selectbox(
                    "Who attended",
                    list(sessions.ATTENDANCE),
                    index=list(sessions.ATTENDANCE).index(old_attendance),
                    format_func=sessions.ATTENDANCE.__getitem__,
                    key=f"{edit_form}_a",
                )
                new_note = st.text_area(
                    "Short note (optional)",
                    value=old_note,
                    max_chars=sessions.NOTE_LIMIT,
                    key=f"{edit_form}_n",
                )
                confirmed = _same_day_confirmed(edit_form, new_date)
                if st.form_submit_button("Save correction"):
                    _save_session(
                        edit_form,
                        new_date,
                        lambda same_day: sessions.update_session(
                            ui.database(),
                            actor,
                            chosen,
                            session_date=new_date,
                            attendance=new_attendance,
                            notes=new_note,
                            today=ui.today(),
                            allow_same_day=same_day,
                        ),
                        confirmed=confirmed,
                        done=f"Session {number} corrected.",
                    )
            sure = st.checkbox("Yes, delete this session", key=f"delete_session_{chosen}")
            if st.button("Delete session", icon="🗑️", disabled=not sure):
                with ui.guarded():
                    sessions.delete_session(ui.database(), actor, chosen)
                    ui.changed()
                    ui.flash(f"Session {number} deleted; later sessions were renumbered.")

if records == DETAILS_FORM:
    with st.form("edit_couple"):
        case_code = st.text_input("Case code", value=couple.case_code, max_chars=32)
        therapist_id = ui.therapist_select(actor, couple.therapist_id) or couple.therapist_id
        entries = ui.partner_fields("", couple.partners)
        start = st.date_input("Start date", value=couple.start_date)
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
                )
                ui.changed()
                ui.flash("Case details saved.")
    # Repair after a betrayal has its own records (hurt partner, milestones, history).
    st.page_link(
        "pages/repair.py",
        label="Repair after a betrayal: open or update a repair case",
        icon="🩹",
        query_params={"couple": couple.case_code},
    )

    def _set_status(status: str, done: str) -> None:
        with ui.guarded():
            couples.set_status(ui.database(), actor, couple_id, status, today=ui.today())
            ui.changed()
            ui.flash(done)

    st.write("**Case status**")
    if couple.status == "closed":
        closed_on = f" on {couple.closed_at:%d %b %Y}" if couple.closed_at else ""
        st.text(f"Closed{closed_on}. Every record is kept.")
        if st.button("Reopen this case", icon="↩️"):
            _set_status("active", "Case reopened.")
    else:
        if couple.status == "paused":
            st.text("Paused: the couple stays in the caseload, marked as paused.")
            if st.button("Resume this case", icon="▶️"):
                _set_status("active", "Case resumed.")
        elif st.button("Pause this case", icon="⏸️"):
            _set_status("paused", "Case paused. Resume it when the work starts again.")
        st.caption("Closing keeps every record; the couple only leaves the active caseload.")
        sure_close = st.checkbox("Yes, close this case", key="confirm_close")
        if st.button("Close this case", icon="📁", disabled=not sure_close):
            _set_status("closed", "Case closed. It stays in the records and can be reopened.")

# A plain-language report for the couple to take home, made only when downloaded. What it may
# hold is decided in analytics.views.report (never safety answers, item answers or free text
# unless one is picked here); the options only choose among what is allowed.
if records == REPORT:
    # Imported here: the PDF library takes a quarter of a second to load, and most visits to
    # this page never make a report.
    from analytics.views import report as report_view

    st.caption(
        "A report in plain words for the couple: their progress on the scales chosen, what"
        " improved, and what was agreed in the latest saved agenda. It never holds safety"
        " answers or answers to single questions; their own words only where picked below."
    )
    if not view.chart_scales:
        st.info("The report needs at least one check-in.", icon="📥")
    elif not export.images_available():
        st.warning(ui.escape_markdown(str(export.ChromiumMissing())), icon="🧭")
    else:
        c1, c2 = st.columns(2)
        for_whom = c1.radio(
            "For",
            [None, "A", "B"],
            format_func=lambda v: "Both partners" if v is None else f"Partner {v} only",
            horizontal=True,
            key=f"report_for_{couple_id}",
        )
        deidentify = c2.checkbox(
            "De-identify (case code, weeks since the start instead of dates, no names or emails)",
            key=f"report_deid_{couple_id}",
        )
        report_scales = st.multiselect(
            "Scales",
            list(view.chart_scales),
            default=[view.headline_code] if view.headline_code else None,
            format_func=view.chart_scales.__getitem__,
            key=f"report_scales_{couple_id}",
        )
        answers = ui.load(report_view.text_answers, actor, couple_id, for_whom)
        labels = {
            str(i): f"{pd.Timestamp(t):%d %b %Y} · partner {p} · {q}"
            for i, t, p, q in zip(
                answers["id"],
                answers["completed_at"],
                answers["partner"],
                answers["question"],
                strict=True,
            )
        }
        picked = st.multiselect(
            "Include these answers in their own words (none unless picked)",
            list(labels),
            format_func=labels.__getitem__,
            key=f"report_texts_{couple_id}_{for_whom}",
        )
        who = couple.case_code + ("" if for_whom is None else f"-{for_whom}")
        ui.deferred_download(
            "Download the report (PDF)",
            functools.partial(
                report_view.render_report,
                ui.database(),
                actor,
                couple_id,
                as_of=ui.today(),
                to_png=images.chart_png,
                scales=tuple(report_scales) or None,
                partner=for_whom,
                deidentify=deidentify,
                include_text_ids=tuple(picked),
            ),
            file_name=f"report-{ui.file_stem(who)}.pdf",
            mime="application/pdf",
            key=f"report_download_{couple_id}",
        )
