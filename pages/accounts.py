"""Accounts (administrators): who may sign in and with which roles; add an account, reset a
password, disable or enable an account. A disabled account cannot sign in; its history stays."""

from __future__ import annotations

import streamlit as st

import ui
from analytics.practice import accounts, passwords

admin = ui.require_admin()
st.title("🔐 Accounts")
ui.show_flash()
db = ui.database()
# Read straight from the database: a lock or a sign-in changes the table between page loads.
listing = accounts.listing(db, admin, now=ui.clock())
st.dataframe(
    listing.drop(columns=["id"]),
    hide_index=True,
    width="stretch",
    key="accounts_table",
    column_config={
        "username": "Username",
        "name": "Therapist name",
        "roles": "Roles",
        "state": "State",
        "last_sign_in": st.column_config.DatetimeColumn(
            "Last sign-in (UTC)", format="D MMM YYYY HH:mm"
        ),
        "password_changed_at": st.column_config.DatetimeColumn(
            "Password set (UTC)", format="D MMM YYYY HH:mm"
        ),
    },
)

ROLE_LABELS = {
    "therapist": "Therapist: sees their own couples",
    "supervisor": "Supervisor: sees every couple, settings and the audit trail",
    "none": "No clinical role: manages accounts only",
}

# A refused account is explained above the panel: the panel closes again when its form is sent.
add_problem = st.container()
with st.expander("Add an account", icon="➕"):
    unlinked = accounts.therapists_without_account(db)
    link_ids = [int(i) for i in unlinked["id"]]
    link_names = dict(zip(link_ids, unlinked["name"], strict=True))
    with st.form("add_account", clear_on_submit=True):
        username = st.text_input("Username", max_chars=40)
        link = None
        if link_ids:
            link = st.selectbox(
                "Therapist already in the practice (without an account)",
                link_ids,
                index=None,
                format_func=link_names.__getitem__,
                placeholder="A new person",
                help="Therapists from before accounts existed: link one to give them a sign-in.",
            )
        name = st.text_input("Name of a new therapist", max_chars=100)
        role = st.radio("Clinical role", list(ROLE_LABELS), format_func=ROLE_LABELS.__getitem__)
        make_admin = st.checkbox("Administrator (manages accounts)")
        password = st.text_input(
            "First password",
            type="password",
            help=f"At least {passwords.MIN_LENGTH} characters. Hand it over in person; the"
            " person changes it on *Your account*.",
        )
        if st.form_submit_button("Add account", type="primary"):
            with ui.guarded(add_problem):
                created = accounts.create_account(
                    db,
                    admin,
                    username=username,
                    password=password,
                    name=name,
                    clinical_role=None if role == "none" else role,
                    therapist_id=link,
                    is_admin=make_admin,
                )
                ui.changed()
                ui.flash(f"Added the account {created.username}.")

ids = [int(i) for i in listing["id"]]
names = dict(zip(ids, listing["username"], strict=True))
st.subheader("Change an account")
chosen = st.selectbox(
    "Account", ids, index=None, format_func=names.__getitem__, placeholder="Choose an account"
)
if chosen is not None:
    target = accounts.get_account(db, chosen)
    reset, state = st.columns(2)
    with reset, st.form("reset_password", clear_on_submit=True):
        new = st.text_input("New password", type="password")
        if st.form_submit_button("Reset password"):
            with ui.guarded():
                accounts.reset_password(db, admin, target.id, new)
                ui.flash(f"Reset the password of {target.username}; their sessions ended.")
    with state:
        label = "Enable account" if target.disabled else "Disable account"
        st.caption("A disabled account cannot sign in; everything it did stays in the records.")
        if st.button(label, key="toggle_account"):
            with ui.guarded():
                accounts.set_disabled(db, admin, target.id, not target.disabled)
                ui.changed()
                ui.flash(f"{'Enabled' if target.disabled else 'Disabled'} {target.username}.")
