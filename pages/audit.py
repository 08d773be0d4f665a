"""Audit: the audit trail for a supervisor, filtered by person, couple, action and dates, with a
CSV download. A therapist is refused."""

from __future__ import annotations

import datetime as dt

import streamlit as st

import ui
from analytics.errors import CaseloadError
from analytics.views import audit_log

actor = ui.require_actor()
st.title("🔏 Audit")
if not actor.sees_every_couple:
    st.info("Only a supervisor can read the audit trail.", icon="🔒")
    st.stop()

st.write(
    "Every read and change of a couple's data: who, when, what and which couple. The trail is"
    " append-only and hash-chained; `python -m analytics audit verify` checks it."
)
# Read straight from the database, not through the 60-second cache: every page view appends
# to the trail, and the supervisor must see the newest entries.
db = ui.database()
try:
    people = audit_log.audit_people(db, actor)
    actions = audit_log.audit_actions(db, actor)
except CaseloadError as exc:
    ui.show_error(exc)
    st.stop()

left, middle, right = st.columns(3)
person = left.selectbox(
    "Person", list(people), index=None, format_func=lambda i: people[i], placeholder="Anyone"
)
code = middle.text_input("Couple (case code)", placeholder="Any couple")
action = right.selectbox("Action", actions, index=None, placeholder="Any action")
first, last = st.columns(2)
start = first.date_input("From (UTC)", value=None, format="DD/MM/YYYY", key="audit_from")
end = last.date_input("To (UTC)", value=None, format="DD/MM/YYYY", key="audit_to")
assert start is None or isinstance(start, dt.date)
assert end is None or isinstance(end, dt.date)

chosen = audit_log.AuditFilter(
    person=person, case_code=code or None, action=action, start=start, end=end
)
with ui.guarded():
    frame = audit_log.audit_entries(db, actor, chosen)
    st.caption(f"{len(frame):,} entries, newest first.")
    # st.dataframe shows cells as plain text (a name or code is never read as Markdown).
    st.dataframe(frame, hide_index=True, width="stretch")
    st.download_button(
        "CSV",
        audit_log.audit_csv(frame),
        file_name=f"{ui.file_stem('audit', ui.today().isoformat())}.csv",
        mime="text/csv",
        icon="⬇️",
        key="audit_csv",
    )
