"""Caseload: every couple in the acting therapist's care, what changed, what needs attention."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from analytics.charts import export, images
from analytics.clinical.flags import KINDS
from analytics.practice import therapists
from analytics.views import caseload, exports

ROW_HEIGHT = 68  # three lines of text (see the grid below)
REASONS_ROW_HEIGHT = 88  # four lines of reasons
HEADER_HEIGHT = 38  # the grid's header row and borders

OPEN = "_open_couple"  # set by a click that opens a couple; acted on before anything is drawn

actor = ui.require_actor()
# Opening a couple leaves at once: drawing the page again first would only re-send the whole
# caseload grid to the browser on the way out.
if st.session_state.pop(OPEN, False):
    st.switch_page("pages/couple.py")
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
unanswered = sum("safety_unanswered" in k for k in kinds)
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
if unanswered:  # a blank safety screen is never read as "no"
    st.warning(
        f"{unanswered} couple(s) left safety questions unanswered, not assessed yet: a blank "
        "is not a “no”. They are listed next; open the couple to see who and when.",
        icon=KINDS["safety_unanswered"][0],
    )

# The grid fits a 1366-px screen with the sidebar open without hiding partner B: about 870 px
# for the columns beside the row selector, and these add up to 850 (a scrollbar still fits).
# Columns are narrow and their text wraps onto up to three lines (Streamlit wraps cell text
# only in rows taller than 64 px). Status and scale, which would repeat the same word on every
# row, appear (after partner B) only when the rows differ.
low, high = table["score_min"].min(), table["score_max"].max()
y_min = None if pd.isna(low) else float(low)
y_max = None if pd.isna(high) else float(high)
columns = ["case_code", "flags", "partner_a", "a_now", "a_trend", "partner_b", "b_now", "b_trend"]
columns.append("last_checkin")
if actor.sees_every_couple:
    columns.append("therapist")
if table["status"].nunique() > 1:
    columns.append("status")
scales = sorted(set(table["headline"]) - {""})
if len(scales) > 1:
    columns.append("headline")
now_help = "Latest headline score, its change since the first check-in, and what the change means"
shown_ids = [int(i) for i in table["couple_id"]]


def _open(couple_id: int) -> None:
    """Called back by a click (before the next run): open this couple on the next run."""
    st.session_state["couple_id"] = couple_id
    st.session_state[OPEN] = True


def _open_selected() -> None:
    """Called back when a row is selected: the rows are those of the run that drew the grid."""
    rows = st.session_state["caseload_table"].selection.rows
    if rows:
        _open(shown_ids[rows[0]])


st.dataframe(
    table[columns],
    hide_index=True,
    width="stretch",
    row_height=ROW_HEIGHT,
    # A small caseload is seen whole; a larger one scrolls inside the table.
    height=HEADER_HEIGHT + ROW_HEIGHT * min(len(table), 12),
    on_select=_open_selected,
    selection_mode="single-row",
    key="caseload_table",
    column_config={
        "case_code": st.column_config.TextColumn("Case", pinned=True, width=60),
        "flags": st.column_config.TextColumn(
            "Needs attention", width=128, help="Flags, most urgent first; reasons below."
        ),
        "partner_a": st.column_config.TextColumn("Partner A", width=104),
        "a_now": st.column_config.TextColumn("A now", width=96, help=now_help),
        "a_trend": st.column_config.LineChartColumn("A trend", width=54, y_min=y_min, y_max=y_max),
        "partner_b": st.column_config.TextColumn("Partner B", width=104),
        "b_now": st.column_config.TextColumn("B now", width=96, help=now_help),
        "b_trend": st.column_config.LineChartColumn("B trend", width=54, y_min=y_min, y_max=y_max),
        "last_checkin": st.column_config.TextColumn("Last check-in", width=82),
        "therapist": st.column_config.TextColumn("Therapist", width=72),
        "status": st.column_config.TextColumn("Status", width=64),
        "headline": st.column_config.TextColumn("Scale", width=110),
    },
)
# Supervision files (CSV, XLSX) of these rows, made (and audited) only when a button is clicked.
export_db, export_day, export_statuses = ui.database(), ui.today(), tuple(statuses)


def _caseload_file(fmt: str) -> tuple[bytes, list[int]]:
    rows = exports.caseload_export(
        export_db,
        actor,
        as_of=export_day,
        statuses=export_statuses,
        search=search,
        therapist_id=therapist_id,
    )
    return exports.table_bytes(rows, fmt), list(rows.attrs["couple_ids"])


ui.table_downloads(_caseload_file, f"caseload-{ui.today():%Y-%m-%d}", "caseload_export")
if len(scales) == 1:  # the scale's name comes from an instrument file: plain text, never Markdown
    st.text(f"Headline scale: {scales[0]}")
st.caption(
    "Better and worse mean a change larger than measurement noise (reliable change, Jacobson & "
    "Truax 1991); the couple page shows how each number is worked out. Select a row to open "
    "the couple."
)

reasons = table[table["reasons"] != ""][["case_code", "flags", "reasons"]]
if not reasons.empty:
    st.subheader("Why these couples are flagged")
    st.dataframe(
        reasons,
        hide_index=True,
        width="stretch",
        row_height=REASONS_ROW_HEIGHT,
        # Tall enough for every flagged couple (up to ten) without scrolling inside the table.
        height=HEADER_HEIGHT + REASONS_ROW_HEIGHT * min(len(reasons), 10),
        key="caseload_reasons",
        column_config={
            "case_code": st.column_config.TextColumn("Case", width=60),
            "flags": st.column_config.TextColumn("Flags", width=150),
            "reasons": st.column_config.TextColumn("Reasons"),
        },
    )


codes = dict(zip(table["case_code"], table["couple_id"], strict=True))
pick, go_button = st.columns([3, 1], vertical_alignment="bottom")
chosen = pick.selectbox(
    "Open a couple", list(codes), index=None, placeholder="Case code", key="open_couple"
)
go_button.button(
    "Open couple",
    disabled=chosen is None,
    width="stretch",
    key="open_button",
    on_click=_open,
    args=(int(codes[chosen]) if chosen else 0,),
)

# Every active couple's joint report in one zip, made only when asked for (about half a second
# a report), with a progress bar. The zip is kept for this browser session only.
BATCH = "_reports_zip"
st.subheader("Reports for every active couple")
if not export.images_available():
    st.caption(ui.escape_markdown(str(export.ChromiumMissing())))
else:
    st.caption(
        "Each active couple's joint report (PDF, the headline scale) in one zip file. Reports"
        " never hold safety answers, answers to single questions or free text. Each report is"
        " recorded in the audit trail."
    )
    batch_deid = st.checkbox(
        "De-identify (case codes, weeks since the start instead of dates, no names or emails)",
        key="batch_deidentify",
    )
    if st.button("Make the reports", icon="📦", key="batch_make"):
        # Imported here: the PDF library takes a quarter of a second to load.
        from analytics.views import report_batch

        active = report_batch.active_couples(ui.database(), actor)
        bar = st.progress(0.0, text=f"0 of {len(active)} reports")

        def _progress(done: int, total: int) -> None:
            bar.progress(done / total, text=f"{done} of {total} reports")

        with ui.guarded():
            st.session_state[BATCH] = report_batch.reports_zip(
                ui.database(),
                actor,
                active,
                as_of=ui.today(),
                to_png=images.chart_png,
                deidentify=batch_deid,
                progress=_progress,
            )
    if st.session_state.get(BATCH):
        st.download_button(
            "Download the zip",
            st.session_state[BATCH],
            file_name=f"reports-{ui.today():%Y-%m-%d}.zip",
            mime="application/zip",
            icon="⬇️",
            key="batch_download",
        )
