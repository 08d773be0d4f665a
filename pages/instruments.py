"""Instruments: every questionnaire the practice uses, with its scales and figures, and any
instrument file that cannot be used, with exactly what is wrong in it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui
from analytics.instruments import catalog
from analytics.views import instruments

ui.require_actor()
st.title("🧾 Instruments")
st.write(
    "Questionnaires are data files. The built-in ones ship with the dashboard; your own go in "
    "your instruments folder and are read when the dashboard starts."
)
view = ui.load(instruments.instruments_overview, ui.instruments_folder())
st.text(f"Your instruments folder: {view.folder}")

if not view.problems.empty:
    st.error(
        f"{view.problems['file'].nunique()} instrument file(s) cannot be used until they are "
        "fixed. Nothing else has changed: the last good version of each stays in use.",
        icon="⚠️",
    )
    st.dataframe(
        view.problems,
        hide_index=True,
        width="stretch",
        key="instrument_problems",
        column_config={
            "file": st.column_config.TextColumn("File", width=160),
            "problem": st.column_config.TextColumn("Problem", width="large"),
        },
    )

st.subheader("Versions")
st.dataframe(
    view.versions.assign(file_name=view.versions["file_name"].fillna("—")),
    hide_index=True,
    width="stretch",
    key="instrument_versions",
    column_config={
        "code": "Code",
        "version": "Version",
        "name": "Name",
        "origin": "From",
        "file_name": "File",
        "is_current": st.column_config.CheckboxColumn("In use for new responses"),
        "items": st.column_config.NumberColumn("Items", format="%d"),
        "scales": st.column_config.NumberColumn("Scales", format="%d"),
        "responses": st.column_config.NumberColumn("Responses", format="%d"),
    },
)

# One table for every instrument in use: codes and labels come from files, so they are shown as
# data, never as headings (which Streamlit renders as Markdown).
st.subheader("Scales of the instruments in use")
every_scale = [scales.assign(instrument=code) for code, scales in view.scales.items()]
st.dataframe(
    pd.concat(every_scale, ignore_index=True) if every_scale else pd.DataFrame(),
    hide_index=True,
    width="stretch",
    key="instrument_scales",
    column_order=[
        "instrument",
        "scale",
        "description",
        "items",
        "scoring",
        "range",
        "missing_rule",
        "reliability",
        "smallest_reliable_change",
        "cutoff",
    ],
    column_config={
        "instrument": st.column_config.TextColumn("Instrument", pinned=True, width=80),
        "scale": st.column_config.TextColumn("Scale", pinned=True),
        "description": "What it means",
        "items": st.column_config.NumberColumn("Items", format="%d"),
        "scoring": "Scoring",
        "range": "Range",
        "missing_rule": "Scored when",
        "reliability": "Reliability",
        "smallest_reliable_change": "Smallest change beyond noise",
        "cutoff": "Cutoff",
    },
)

with st.expander("Add your own instrument"):
    st.write(
        "Copy the template into your instruments folder, edit it and restart the dashboard. "
        "Check a file first with: python -m analytics instruments check FILE"
    )
    st.download_button(
        "Download the template",
        catalog.template_text(),
        file_name="my_instrument.toml",
        mime="text/plain",
        icon="📄",
    )
