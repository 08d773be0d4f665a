"""AppTest of signing in from app.py: the sign-in page, lockout, idle logoff with an injected
clock, a reload that resumes (or not) from the cookie, signing out, and what each role's
navigation holds. The cache is keyed by the signed-in person."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import ui
from analytics.errors import CaseloadError
from analytics.practice import accounts, sign_ins
from analytics.practice.access import Actor
from analytics.practice.couples import PartnerInput, add_couple
from analytics.store.db import Database
from tests.test_pages import ROOT, frame, open_app, rerun

pytestmark = pytest.mark.usefixtures("app_env")
PASSWORD = "copper meadow signal"


@pytest.fixture
def people(db: Database, therapist: Actor, supervisor: Actor) -> dict[str, accounts.Account]:
    """An administrator only, a therapist (with one couple), a second therapist (with another)
    and a supervisor, each with an account."""
    admin = accounts.create_account(
        db, None, username="admin", password="granite orchid lamp", is_admin=True, first=True
    )
    by = admin.actor()
    tess = accounts.create_account(
        db, by, username="tess", password=PASSWORD, therapist_id=therapist.id
    )
    other = accounts.create_account(
        db, by, username="otto", password=PASSWORD, name="Otto Other", clinical_role="therapist"
    )
    sup = accounts.create_account(
        db, by, username="sue", password=PASSWORD, therapist_id=supervisor.id
    )
    for who, code in ((therapist, "T-001"), (other.actor(), "O-001")):
        add_couple(
            db,
            who,
            code,
            PartnerInput(f"{code} Alpha", f"{code.lower()}.a@example.org"),
            PartnerInput(f"{code} Beta", f"{code.lower()}.b@example.org"),
            start_date=dt.date(2026, 1, 5),
        )
    return {"admin": admin, "tess": tess, "otto": other, "sue": sup}


def _fresh() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)


def _open() -> AppTest:
    """A new browser tab (or a reload): app.py's first run in a new session."""
    at = _fresh().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    return rerun(next(b for b in at.button if b.label == "Sign in").click())


def _reachable(at: AppTest, page: str) -> bool:
    try:
        at.switch_page(page)
    except ValueError:
        return False
    return True


def test_signing_in_with_the_form_opens_the_caseload(people: dict[str, Any]) -> None:
    at = _open()
    assert at.title[0].value.endswith("Sign in") and not at.dataframe
    at = _sign_in(at, "Tess", PASSWORD)
    assert frame(at, "a_now")["case_code"].tolist() == ["T-001"]
    assert any("Signed in as Test Therapist (therapist)" in c.value for c in at.caption)
    # The browser is handed the signed session cookie once, by a script of ours.
    scripts = [h.proto.body for h in at.get("html")]
    assert len(scripts) == 1 and f"{ui.COOKIE}=" in scripts[0] and PASSWORD not in scripts[0]


def test_a_wrong_password_says_nothing_about_the_username(people: dict[str, Any]) -> None:
    at = _sign_in(_open(), "tess", "not the right one at all")
    assert [e.value for e in at.error] == [accounts.SIGN_IN_FAILED]
    at = _sign_in(_open(), "nobody-here", "not the right one at all")
    assert [e.value for e in at.error] == [accounts.SIGN_IN_FAILED]
    assert ui.SESSION_KEY not in at.session_state


def test_lockout_on_the_page_and_its_expiry(
    people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = dt.datetime(2026, 11, 22, 9, 0)
    monkeypatch.setattr(ui, "clock", lambda: start)
    at = _open()
    for _ in range(accounts.MAX_FAILURES):
        at = _sign_in(at, "tess", "not the right one at all")
    at = _sign_in(at, "tess", PASSWORD)  # locked: the right password is refused too
    assert [e.value for e in at.error] == [accounts.SIGN_IN_FAILED]
    assert not at.dataframe
    monkeypatch.setattr(ui, "clock", lambda: start + dt.timedelta(minutes=15, seconds=1))
    at = _sign_in(at, "tess", PASSWORD)
    assert frame(at, "a_now")["case_code"].tolist() == ["T-001"]


def test_idle_logoff_with_an_injected_clock(
    people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = dt.datetime(2026, 11, 22, 9, 0)
    monkeypatch.setattr(ui, "clock", lambda: start)
    at = _sign_in(_open(), "tess", PASSWORD)
    monkeypatch.setattr(ui, "clock", lambda: start + dt.timedelta(minutes=14))
    at = rerun(at)  # activity within the idle time
    assert frame(at, "a_now")["case_code"].tolist() == ["T-001"]
    monkeypatch.setattr(ui, "clock", lambda: start + dt.timedelta(minutes=29, seconds=30))
    at = rerun(at)
    assert at.title[0].value.endswith("Sign in") and not at.dataframe
    assert [i.value for i in at.info] == ["You were signed out after 15 minutes without activity."]
    # The browser's cookie is deleted by the next run's script.
    assert any("max-age=0" in h.proto.body for h in at.get("html"))


def test_a_reload_within_the_idle_time_resumes_and_after_sign_out_does_not(
    db: Database, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    session = sign_ins.start(db, people["tess"], now=ui.clock())
    # A reload is a new session of the server: empty session state, the browser's cookie sent.
    monkeypatch.setattr(ui, "_browser_cookie", lambda: session.cookie)
    at = _open()
    assert frame(at, "a_now")["case_code"].tolist() == ["T-001"]
    at = rerun(at.switch_page("pages/my_account.py"))
    at = rerun(next(b for b in at.button if b.label == "Sign out").click())
    assert at.title[0].value.endswith("Sign in") and at.info[0].value == "You signed out."
    at = _open()  # the same cookie, reloaded after signing out
    assert at.title[0].value.endswith("Sign in") and not at.dataframe


def test_a_reload_after_idle_logoff_does_not_resume(
    db: Database, people: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    start = dt.datetime(2026, 11, 22, 9, 0)
    session = sign_ins.start(db, people["tess"], now=start)
    monkeypatch.setattr(ui, "_browser_cookie", lambda: session.cookie)
    monkeypatch.setattr(ui, "clock", lambda: start + dt.timedelta(minutes=16))
    at = _open()
    assert at.title[0].value.endswith("Sign in") and not at.dataframe
    assert "without activity" in at.info[0].value
    monkeypatch.setattr(ui, "clock", lambda: start + dt.timedelta(minutes=17))
    at = _open()
    assert at.title[0].value.endswith("Sign in")


def test_each_role_reaches_only_its_pages(people: dict[str, Any]) -> None:
    clinical = [
        "pages/caseload.py",
        "pages/couple.py",
        "pages/repair.py",
        "pages/agenda.py",
        "pages/settings.py",  # read-only for a therapist
    ]
    therapist = open_app(people["tess"].actor())
    assert all(_reachable(therapist, p) for p in clinical)
    assert not any(_reachable(therapist, p) for p in ("pages/audit.py", "pages/accounts.py"))
    supervisor = open_app(people["sue"].actor())
    assert _reachable(supervisor, "pages/audit.py")
    assert not _reachable(supervisor, "pages/accounts.py")
    admin = open_app(people["admin"].actor())
    assert admin.title[0].value.endswith("Accounts")  # an administrator's home page
    assert not any(_reachable(admin, p) for p in (*clinical, "pages/settings.py", "pages/audit.py"))
    assert _reachable(admin, "pages/my_account.py")


def test_a_therapist_cannot_open_another_therapists_couple_by_link(
    people: dict[str, Any],
) -> None:
    at = open_app(people["tess"].actor())
    at.query_params["couple"] = "O-001"
    at = rerun(at.switch_page("pages/couple.py"))
    assert "No couple in your caseload has the case code" in at.error[0].value
    assert not at.get("plotly_chart") and "O-001" not in str(at.main)


def test_the_cache_never_serves_one_persons_results_to_another(people: dict[str, Any]) -> None:
    tess = open_app(people["tess"].actor())
    assert frame(tess, "a_now")["case_code"].tolist() == ["T-001"]
    # The same cached loader and arguments, moments later, for another therapist.
    otto = open_app(people["otto"].actor())
    assert frame(otto, "a_now")["case_code"].tolist() == ["O-001"]
    sue = open_app(people["sue"].actor())
    assert sorted(frame(sue, "a_now")["case_code"]) == ["O-001", "T-001"]


def test_administrators_add_reset_and_disable_accounts(
    db: Database, people: dict[str, Any]
) -> None:
    at = open_app(people["admin"].actor())
    table = frame(at, "username")
    assert sorted(table["username"]) == ["admin", "otto", "sue", "tess"]
    assert "password_hash" not in table.columns
    form_inputs = {t.label: t for t in at.text_input}
    form_inputs["Username"].input("nina")
    form_inputs["Name of a new therapist"].input("Nina New")
    form_inputs["First password"].input("saffron ladder comet")
    at = rerun(next(b for b in at.button if b.label == "Add account").click())
    assert at.success[0].value == "Added the account nina."
    nina = accounts.find_account(db, "nina")
    assert nina.clinical_role == "therapist" and not nina.is_admin

    (chooser,) = [s for s in at.selectbox if s.label == "Account"]
    at = rerun(chooser.set_value(people["tess"].id))
    at = rerun(next(b for b in at.button if b.label == "Disable account").click())
    assert at.success[0].value == "Disabled tess."
    with pytest.raises(Exception, match="disabled"):
        accounts.authenticate(db, "tess", PASSWORD, now=ui.clock())


def test_a_refused_account_is_explained_outside_the_panel_that_closes(
    db: Database, people: dict[str, Any]
) -> None:
    at = open_app(people["admin"].actor())
    form_inputs = {t.label: t for t in at.text_input}
    form_inputs["Username"].input("nina")
    form_inputs["Name of a new therapist"].input("Nina New")
    form_inputs["First password"].input("nina saffron ladder comet")
    at = rerun(next(b for b in at.button if b.label == "Add account").click())
    # The browser closes the panel again after the form is sent: the reason is above it.
    assert [e.value for e in at.error] == ["A password must not contain the username."]
    assert not at.expander[0].error
    with pytest.raises(CaseloadError):
        accounts.find_account(db, "nina")


def test_changing_ones_own_password(db: Database, people: dict[str, Any]) -> None:
    at = open_app(people["tess"].actor(), "pages/my_account.py")
    assert "Username: tess" in at.text[0].value
    fields = {t.label: t for t in at.text_input}
    fields["Current password"].input(PASSWORD)
    fields["New password"].input("harbor thistle quietly")
    fields["New password again"].input("harbor thistle quietly")
    at = rerun(next(b for b in at.button if b.label == "Change password").click())
    assert at.success[0].value.startswith("Your password was changed")
    assert accounts.authenticate(db, "tess", "harbor thistle quietly", now=ui.clock())
    # Still signed in on this page (its own session was kept).
    assert at.session_state[ui.SESSION_KEY] is not None and not at.error
