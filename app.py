"""Entry point: `streamlit run app.py` (or `make run`). Sets the page, the acting therapist and
the navigation; each page lives in pages/."""

from __future__ import annotations

import streamlit as st

import ui
from analytics.errors import CaseloadError
from analytics.practice import therapists

st.set_page_config(page_title="Couples caseload", page_icon="💞", layout="wide")

PAGES = [
    st.Page("pages/caseload.py", title="Caseload", icon="📋", default=True),
    st.Page("pages/couple.py", title="Couple", icon="👫"),
    st.Page("pages/repair.py", title="Repair", icon="🩹"),
    st.Page("pages/agenda.py", title="Agenda", icon="🗒️"),
    st.Page("pages/new_couple.py", title="Add a couple", icon="➕"),
    st.Page("pages/import_responses.py", title="Import", icon="📥"),
    st.Page("pages/instruments.py", title="Instruments", icon="🧾"),
    st.Page("pages/settings.py", title="Settings", icon="⚙️"),
    st.Page("pages/audit.py", title="Audit", icon="🔏"),
]


def _therapist_picker() -> None:
    """Choose the acting therapist (a plain selector until accounts arrive)."""
    staff = ui.load(therapists.list_therapists)
    if staff.empty:
        return
    ids = [int(i) for i in staff["id"]]
    labels = {
        int(r["id"]): f"{r['name']}{' (supervisor)' if r['role'] == 'supervisor' else ''}"
        for r in staff.to_dict("records")
    }
    # An unknown or stale choice shows as unselected: never guess who is at the keyboard.
    ui.sticky_selectbox(
        "You are",
        ids,
        ui.ACTOR_KEY,
        sidebar=True,
        format_func=lambda i: labels[i],
        placeholder="Choose your name",
    )


def _first_run() -> None:
    """An empty database: explain how to get data in, and let the first therapist sign up."""
    st.title("💞 Welcome")
    st.write("This practice has no data yet. There are two ways to start:")
    st.markdown(
        "1. **Try the demo practice** (synthetic couples only): stop the dashboard and run "
        "`python -m analytics demo`, or `make demo`, then start it again.\n"
        "2. **Start your own caseload**: add yourself below, then add a couple and import "
        "your clients' check-in exports on the *Import* page."
    )
    with st.form("first_therapist"):
        name = st.text_input("Your name", max_chars=100)
        supervisor = st.checkbox("I supervise other therapists (sees every couple)")
        if st.form_submit_button("Add me"):
            with ui.guarded():
                actor = therapists.add_therapist(
                    ui.database(), name, role="supervisor" if supervisor else "therapist"
                )
                ui.changed()
                st.session_state[ui.ACTOR_KEY] = actor.id
                st.rerun()


try:
    ui.database()
except CaseloadError as exc:
    ui.show_error(exc)
    st.stop()

if ui.load(therapists.list_therapists).empty:
    _first_run()
    st.stop()

_therapist_picker()
st.navigation(PAGES).run()
