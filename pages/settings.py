"""Settings: the practice-wide thresholds behind the caseload flags (supervisors change them)."""

from __future__ import annotations

import streamlit as st

import ui
from analytics.practice import settings

actor = ui.require_actor()
st.title("⚙️ Settings")
ui.show_flash()
st.write("These thresholds decide when a couple is flagged on every therapist's caseload.")
listing = ui.load(settings.listing)

if not actor.is_supervisor:
    st.info("Only a supervisor can change these settings.", icon="🔒")

with st.form("practice_settings"):
    chosen: dict[str, int] = {}
    for row in listing.to_dict("records"):
        chosen[str(row["key"])] = int(
            st.number_input(
                f"{row['setting']} ({row['unit']})",
                min_value=int(row["low"]),
                max_value=int(row["high"]),
                value=int(row["value"]),
                step=1,
                help=str(row["help"]),
                disabled=not actor.is_supervisor,
                key=f"setting_{row['key']}",
            )
        )
    if st.form_submit_button("Save settings", disabled=not actor.is_supervisor):
        with ui.guarded():
            changed = 0
            try:
                for row in listing.to_dict("records"):
                    key = str(row["key"])
                    if chosen[key] != int(row["value"]):
                        settings.update(ui.database(), actor, key, chosen[key])
                        changed += 1
            finally:  # a refused second value must not leave the first one's pages stale
                ui.changed()
            ui.flash(f"Saved {changed} change(s)." if changed else "Nothing changed.")

st.dataframe(
    listing[["setting", "value", "unit", "updated_by", "updated_at"]].assign(
        updated_by=listing["updated_by"].fillna("(default)"),
        # A default was never changed: its row's time is when the database was set up.
        updated_at=[
            "—" if who is None or who != who else f"{when:%-d %b %Y %H:%M}"
            for who, when in zip(listing["updated_by"], listing["updated_at"], strict=True)
        ],
    ),
    hide_index=True,
    width="stretch",
    key="settings_table",
    column_config={
        "setting": "Setting",
        "value": st.column_config.NumberColumn("Value", format="%d"),
        "unit": "Unit",
        "updated_by": "Last changed by",
        "updated_at": st.column_config.TextColumn("When"),
    },
)
