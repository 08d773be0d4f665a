"""Your account: who you are signed in as, and changing your own password."""

from __future__ import annotations

import streamlit as st

import ui
from analytics.errors import CaseloadError
from analytics.practice import accounts, passwords

ui.require_signed_in()
signed = ui.account()
assert signed is not None
st.title("👤 Your account")
ui.show_flash()
roles = [r for r in (signed.clinical_role, "administrator" if signed.is_admin else None) if r]
st.text(f"Username: {signed.username}\nName: {signed.name}\nRoles: {', '.join(roles)}")
if st.button("Sign out", icon="🚪", key="sign_out_here"):
    ui.sign_out()

st.subheader("Change your password")
with st.form("change_password", clear_on_submit=True):
    current = st.text_input("Current password", type="password")
    new = st.text_input(
        "New password",
        type="password",
        help=f"At least {passwords.MIN_LENGTH} characters; not a common password.",
    )
    again = st.text_input("New password again", type="password")
    if st.form_submit_button("Change password", type="primary"):
        with ui.guarded():
            if new != again:
                raise CaseloadError("The two new passwords differ; nothing was changed.")
            accounts.change_password(
                ui.database(), signed.id, current, new, keep_session=ui.session_id()
            )
            ui.flash("Your password was changed; your other sessions were signed out.")
