"""Settings: the practice-wide thresholds behind the caseload flags and imports, and the
practice's time zone (supervisors change them)."""

from __future__ import annotations

import streamlit as st

import ui
from analytics.practice import backups, settings

actor = ui.require_actor()
st.title("⚙️ Settings")
ui.show_flash()
st.write(
    "These thresholds decide when a couple is flagged on every therapist's caseload and which "
    "imported answers are accepted."
)
listing = ui.load(settings.listing)
zone = ui.load(settings.time_zone_setting)
zones = list(settings.time_zones())

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
    chosen_zone = st.selectbox(
        "Practice time zone",
        zones,
        index=zones.index(zone.zone) if zone.zone in zones else None,
        help="Imported times written without a time zone are read in this zone. "
        "Until a supervisor chooses one, the server's zone is used.",
        disabled=not actor.is_supervisor,
        key="setting_time_zone",
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
                if chosen_zone and chosen_zone != zone.zone:
                    settings.update_time_zone(ui.database(), actor, chosen_zone)
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

# The zone is shown on its own: it is text, the table above holds numbers.
st.caption(
    f"Practice time zone: {ui.escape_markdown(zone.zone)}"
    + (
        " (the server's zone; no supervisor has chosen one)"
        if zone.is_default
        else f", chosen by {ui.escape_markdown(zone.updated_by or 'the command line')}"
        + (f" on {zone.updated_at:%-d %b %Y %H:%M}" if zone.updated_at else "")
    )
)

if actor.is_supervisor and ui.database().backend == "postgres":
    st.subheader("💾 Backup")
    st.write("This practice is kept in PostgreSQL. " + backups.POSTGRES_HINT)
elif actor.is_supervisor:
    st.subheader("💾 Backup")
    st.write(
        "A backup is an encrypted copy of the whole practice, written to the backups folder "
        "beside the database with a checksum file. It opens only with the practice's key: keep "
        "a copy of the key file somewhere else than the backups."
    )
    if st.button("Back up now", key="backup_now"):
        with ui.guarded():
            made = backups.back_up_now(ui.database(), actor, ui.now_utc())
            ui.changed()  # the backup is in the audit trail
            st.success("Backup written.", icon="✅")
            # File names and checksums are shown as text, never as Markdown.
            st.code(f"{made.path.name}\nsha256 {made.sha256}", language=None)
