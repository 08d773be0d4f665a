"""AppTest of the Settings page from app.py: a supervisor changes a threshold (stored, audited,
and used by the caseload at once); a therapist can only read."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from analytics.practice import settings
from analytics.practice.access import Actor
from analytics.store.db import Database
from tests import factories
from tests.test_pages import TODAY, assert_no_none, frame, metrics, open_app, rerun

pytestmark = pytest.mark.usefixtures("app_env")
PAGE = "pages/settings.py"


def _save(at: AppTest) -> None:
    rerun(next(b for b in at.button if b.label == "Save settings").click())


def test_a_supervisor_changes_a_threshold(db: Database, supervisor: Actor) -> None:
    at = open_app(supervisor, PAGE)
    assert not at.info
    at.number_input(key="setting_overdue_days").set_value(30)
    _save(at)
    assert settings.current(db)["overdue_days"] == 30
    assert db.query_rows(
        "SELECT therapist_id, action, entity FROM audit_log WHERE entity = 'setting'"
    ) == [(supervisor.id, "update", "setting")]
    assert at.success[0].value == "Saved 1 change(s)."
    shown = frame(at, "updated_by").set_index("setting")
    assert shown.loc["Check-in overdue after", "value"] == 30
    assert shown.loc["Check-in overdue after", "updated_by"] == "Test Supervisor"
    assert shown.loc["No reliable improvement after", "updated_by"] == "(default)"
    assert_no_none(at)


def test_a_therapist_sees_the_settings_but_cannot_change_them(
    db: Database, therapist: Actor
) -> None:
    at = open_app(therapist, PAGE)
    assert at.info[0].value == "Only a supervisor can change these settings."
    assert [n.value for n in at.number_input] == [14, 6]
    assert all(n.disabled for n in at.number_input)
    assert next(b for b in at.button if b.label == "Save settings").disabled
    assert settings.current(db) == {"overdue_days": 14, "no_improvement_checkins": 6}


def test_the_caseload_uses_the_new_threshold(
    db: Database, therapist: Actor, supervisor: Actor
) -> None:
    couple_id = factories.couple(
        db, therapist, "L-1", start_date=dt.date.today() - dt.timedelta(60)
    )
    for label in "AB":
        factories.checkin(db, couple_id, label, TODAY - dt.timedelta(days=20), 3)
    at = open_app(supervisor)
    assert frame(at, "a_now")["flags"].tolist() == ["⏰ Check-in overdue"]
    rerun(at.switch_page(PAGE))
    at.number_input(key="setting_overdue_days").set_value(30)
    _save(at)
    rerun(at.switch_page("pages/caseload.py"))
    assert frame(at, "a_now")["flags"].tolist() == [""]
    assert metrics(at)["🚩 Couples with a flag"] == "0"
