"""Agenda: a couple's next-session agenda, drafted from the data (safety first) or the one saved
for the session date; the therapist reorders, edits, drops and adds items, saves it (a new
version each time), marks items done, and downloads it as Markdown or a one-page PDF."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

import ui
from analytics.charts.agenda_pdf import agenda_pdf
from analytics.errors import CaseloadError
from analytics.practice import agendas
from analytics.practice.agendas import AgendaItem
from analytics.views import agenda as agenda_view

STATE = "agenda_couple_id"  # the couple chosen here (other pages keep their own)
IN_URL = "agenda_in_url"  # the case code this page last wrote into the address bar
DATE = "agenda_session_date"
EDITOR_GEN = "_agenda_editor_gen"  # bumped after a save, so the editor shows what was saved

actor = ui.require_actor()
st.title("🗒️ Session agenda")
ui.show_flash()

# The couple from a ?couple=CODE link or the sidebar, as on the couple page.
couple_id = ui.pick_couple(actor, STATE, IN_URL)
ui.record_view(actor, couple_id, "agenda")

session_date = st.date_input("Session date", value=ui.today(), key=DATE, format="DD/MM/YYYY")
assert isinstance(session_date, dt.date)
try:
    view = ui.load(
        agenda_view.agenda_view,
        actor,
        couple_id,
        as_of=ui.today(),
        session_date=session_date,
        library_folder=ui.instruments_folder(),
    )
except CaseloadError as exc:
    ui.show_error(exc)
    st.stop()

# Safety first, before anything else about this couple.
if view.safety_waiting:
    st.error(
        f"{view.safety_waiting} safety answer(s) or unanswered safety screen(s) not assessed yet:"
        " assess safety first, with each partner alone, before conjoint work.",
        icon="⚠️",
    )
since = f"the last session on {view.since:%d %b %Y}" if view.since else "the start (no session yet)"
if view.saved is not None:
    st.caption(
        f"Saved agenda for {session_date:%d %b %Y} (version {view.saved.version}). Changes"
        " since " + since + " are not added to a saved agenda: edit it here."
    )
else:
    st.caption(
        f"Draft from the data since {since}: safety first, then changes, gaps, barriers,"
        " repair, the partners' own topics, improvements and unfinished items. Nothing is"
        " kept until you save it."
    )

items = view.items
# Typed columns: an empty agenda (nothing in the data yet) must still give the editor
# checkbox, number and text columns, or it refuses them.
table = pd.DataFrame(
    {
        "include": pd.Series([i.status != "dropped" for i in items], dtype="bool"),
        "order": pd.Series(list(range(1, len(items) + 1)), dtype="int64"),
        "done": pd.Series([i.status == "done" for i in items], dtype="bool"),
        "kind": pd.Series([agenda_view.KIND_WORDS.get(i.kind, i.kind) for i in items], dtype="str"),
        "text": pd.Series([i.text for i in items], dtype="str"),
        "why": pd.Series([i.why for i in items], dtype="str"),
        "suggestion": pd.Series([i.suggestion or "" for i in items], dtype="str"),
    }
)
gen = st.session_state.get(EDITOR_GEN, 0)
edited = st.data_editor(
    table,
    key=f"agenda_editor_{couple_id}_{session_date.isoformat()}_{gen}",
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    column_config={
        "include": st.column_config.CheckboxColumn("Include", width=70, default=True),
        "order": st.column_config.NumberColumn("Order", min_value=1, step=1, width=60),
        "done": st.column_config.CheckboxColumn("Done", width=60, default=False),
        "kind": st.column_config.TextColumn("Kind", disabled=True, width=130),
        "text": st.column_config.TextColumn("Item", width="large", max_chars=1000),
        "why": st.column_config.TextColumn("Why", disabled=True, width="medium"),
        "suggestion": st.column_config.TextColumn("Try", width="medium", max_chars=300),
    },
)
st.caption("Untick **Include** to drop an item; change **Order** to move it; add a row below.")


def _edited_items() -> list[AgendaItem]:
    """The editor's rows as agenda items, in the order asked for (ties keep their place)."""
    rows = edited.reset_index(drop=True).assign(_at=range(len(edited)))
    rows = rows.assign(order=pd.to_numeric(rows["order"], errors="coerce").fillna(len(rows) + 1))
    out = []
    for r in rows.sort_values(["order", "_at"], kind="mergesort").to_dict("records"):
        text = "" if pd.isna(r["text"]) else str(r["text"])
        status = "dropped" if r["include"] is False else "done" if r["done"] is True else "open"
        suggestion = None if pd.isna(r["suggestion"]) else str(r["suggestion"])
        at = int(r["_at"])
        if at < len(items):
            base = items[at]
            out.append(
                AgendaItem(
                    kind=base.kind,
                    text=text,
                    why=base.why,
                    numbers=base.numbers,
                    suggestion=suggestion,
                    status=status,
                    source=base.source,
                    carried_from=base.carried_from,
                )
            )
        elif text.strip():
            out.append(
                AgendaItem(
                    kind="own", text=text, suggestion=suggestion, status=status, source="therapist"
                )
            )
    return out


left, right = st.columns(2)
if left.button("💾 Save agenda", type="primary"):
    with ui.guarded():
        saved_id = agendas.save_agenda(
            ui.database(), actor, couple_id, session_date, _edited_items(), today=ui.today()
        )
        ui.changed()
        st.session_state[EDITOR_GEN] = gen + 1
        ui.flash(f"Agenda saved for {session_date:%d %b %Y} (#{saved_id}).")
if view.saved is not None and right.button("✅ Mark ticked items done"):
    with ui.guarded():
        ticked = [
            int(items[at].id or 0)
            for at, done in enumerate(edited["done"].tolist()[: len(items)])
            if done is True and items[at].id is not None
        ]
        n = agendas.mark_items(ui.database(), actor, ticked)
        ui.changed()
        st.session_state[EDITOR_GEN] = gen + 1
        ui.flash(f"{n} item(s) marked done.")

shown = view.items
name = ui.file_stem("agenda", view.case_code, session_date.isoformat())
# Made when clicked (the PDF takes a moment) and audited as an export of the couple's data.
d1, d2 = st.columns(2)
with d1:
    ui.audited_download(
        "⬇️ Markdown",
        lambda: agenda_view.agenda_markdown(view.case_code, session_date, shown).encode(),
        file_name=f"{name}.md",
        mime="text/markdown",
        couple_id=couple_id,
        kind="agenda",
        fmt="md",
        key="agenda_download_md",
    )
with d2:
    ui.audited_download(
        "⬇️ PDF (one page)",
        lambda: agenda_pdf(view.case_code, session_date, shown, kind_words=agenda_view.KIND_WORDS),
        file_name=f"{name}.pdf",
        mime="application/pdf",
        couple_id=couple_id,
        kind="agenda",
        fmt="pdf",
        key="agenda_download_pdf",
    )
st.caption("Downloads hold the agenda as shown above (saved, or the draft): save edits first.")

st.subheader("History")
past = ui.load(agendas.history, actor, couple_id)
if past.empty:
    st.info("No agenda saved for this couple yet.", icon="🗒️")
else:
    st.dataframe(
        past.drop(columns=["agenda_id"]),
        hide_index=True,
        width="stretch",
        key="agenda_history",
        column_config={
            "session_date": st.column_config.DateColumn("Session", format="D MMM YYYY"),
            "version": st.column_config.NumberColumn("Version", format="%d"),
            "saved_at": st.column_config.DatetimeColumn("Saved", format="D MMM YYYY, HH:mm"),
            "saved_by": "Saved by",
            "latest": st.column_config.CheckboxColumn("In use"),
        },
    )
