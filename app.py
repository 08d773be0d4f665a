"""Entry point: `streamlit run app.py` (or `make run`). Opens the database, shows the sign-in page
to anyone not signed in (or, on an empty practice, asks for the first administrator), then the
navigation of the pages the signed-in person's roles allow; each page lives in pages/."""

from __future__ import annotations

import streamlit as st

import ui
from analytics.errors import CaseloadError
from analytics.practice import accounts, passwords, sign_ins
from analytics.practice.access import Actor

st.set_page_config(page_title="Couples caseload", page_icon="💞", layout="wide")

CLINICAL = [
    st.Page("pages/caseload.py", title="Caseload", icon="📋", default=True),
    st.Page("pages/couple.py", title="Couple", icon="👫"),
    st.Page("pages/repair.py", title="Repair", icon="🩹"),
    st.Page("pages/agenda.py", title="Agenda", icon="🗒️"),
    st.Page("pages/new_couple.py", title="Add a couple", icon="➕"),
    st.Page("pages/import_responses.py", title="Import", icon="📥"),
    st.Page("pages/instruments.py", title="Instruments", icon="🧾"),
    # Therapists read the thresholds behind their flags; only a supervisor changes them.
    st.Page("pages/settings.py", title="Settings", icon="⚙️"),
]
SUPERVISION = [st.Page("pages/audit.py", title="Audit", icon="🔏")]
ADMINISTRATION = [st.Page("pages/accounts.py", title="Accounts", icon="🔐")]
OWN = st.Page("pages/my_account.py", title="Your account", icon="👤")


def _pages(who: Actor) -> list[st.Page]:
    """The pages this person's roles allow; any other address opens the first of them."""
    pages = []
    if who.role != "administrator":
        pages += CLINICAL
    if who.is_supervisor:
        pages += SUPERVISION
    if who.is_admin:
        admin = list(ADMINISTRATION)
        if not pages:  # an administrator only: Accounts is their home page
            admin = [st.Page("pages/accounts.py", title="Accounts", icon="🔐", default=True)]
        pages += admin
    return [*pages, OWN]


def _first_administrator() -> None:
    """An empty practice: the first person creates the administrator account."""
    st.title("💞 Welcome")
    st.write(
        "This practice has no accounts yet. Create the first administrator: the person who"
        " adds everyone else's accounts. If you see clients yourself, give the account a"
        " clinical role too."
    )
    st.caption(
        "To try the demo practice (synthetic couples) instead, stop the dashboard and run"
        " `make run DB=data/demo.duckdb`: it builds the demo when missing."
    )
    with st.form("first_administrator"):
        username = st.text_input("Username", max_chars=40)
        name = st.text_input("Your name (as clients' therapist)", max_chars=100)
        role = st.radio(
            "Clinical role",
            ["none", "therapist", "supervisor"],
            format_func={
                "none": "None: I only manage accounts",
                "therapist": "Therapist: I see my own couples",
                "supervisor": "Supervisor: I see every couple, settings and the audit trail",
            }.__getitem__,
            index=2,
        )
        password = st.text_input(
            "Password",
            type="password",
            help=f"At least {passwords.MIN_LENGTH} characters; not a common password.",
        )
        again = st.text_input("Password again", type="password")
        if st.form_submit_button("Create the administrator", type="primary"):
            with ui.guarded():
                if password != again:
                    raise CaseloadError("The two passwords differ; nothing was created.")
                created = accounts.create_account(
                    ui.database(),
                    None,
                    username=username,
                    password=password,
                    name=name,
                    clinical_role=None if role == "none" else role,
                    is_admin=True,
                    first=True,
                )
                ui.changed()
                ui.start_session(created)


def _sidebar(account: accounts.Account, who: Actor) -> None:
    """Who is signed in, and the way out."""
    roles = [r for r in (account.clinical_role, "administrator" if account.is_admin else None) if r]
    with st.sidebar:
        # A name is text a person typed: escaped, never read as Markdown.
        st.caption(ui.escape_markdown(f"Signed in as {account.name} ({', '.join(roles)})"))
        if st.button("Sign out", icon="🚪", key="sign_out"):
            ui.sign_out()
    ui.idle_watch(sign_ins.idle_minutes(ui.database()))


try:
    ui.database()
except CaseloadError as exc:
    ui.show_error(exc)
    st.stop()

ui.sync_cookie()
signed = ui.signed_in()
if signed is None:
    # Every page registered, hidden and never run. Without any `st.navigation` call, a freshly
    # started server lists the raw pages/ files (accounts, audit, ...) in the sidebar of the
    # sign-in page, and swaps that list away once anyone signs in. Registered, an address asked
    # for (a bookmark to /couple?couple=...) is still the page opened after signing in.
    # Only with a browser behind the run: AppTest asks for app.py's own page, which is not
    # among these, and there the sign-in that followed was forgotten on its next run.
    if ui.behind_a_browser():
        st.navigation([*CLINICAL, *SUPERVISION, *ADMINISTRATION, OWN], position="hidden")
    if accounts.count_accounts(ui.database()) == 0:
        # Asked only of someone not signed in: no page run of a signed-in person pays for it.
        _first_administrator()
        st.stop()
    ui.sign_in_page()
    st.stop()
assert signed is not None
person = signed.actor()
ui.practice_banner()
_sidebar(signed, person)
st.navigation(_pages(person)).run()
