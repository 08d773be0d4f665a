"""AppTest of the Settings page from app.py: a supervisor changes a threshold (stored, audited,
and used by the caseload at once); a therapist can only read."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from streamlit.testing.v1 import AppTest

from analytics.errors import CaseloadError
from analytics.practice import settings
from analytics.practice.access import Actor
from analytics.store.db import Database
from tests import factories
from tests.test_pages import TODAY, assert_no_none, frame, metrics, open_app, rerun

pytestmark = [pytest.mark.usefixtures("app_env"), pytest.mark.both_backends]
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
    assert [n.value for n in at.number_input] == [14, 6, 30, 56, 28, 15]
    assert all(n.disabled for n in at.number_input)
    assert at.selectbox(key="setting_time_zone").disabled
    assert next(b for b in at.button if b.label == "Save settings").disabled
    assert settings.current(db) == {
        "overdue_days": 14,
        "no_improvement_checkins": 6,
        "start_grace_days": 30,
        "repair_stall_days": 56,
        "pace_review_days": 28,
        "idle_logoff_minutes": 15,
    }


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


def test_a_supervisor_sets_the_start_grace_and_the_time_zone(
    db: Database, supervisor: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Europe/Helsinki")  # the server's zone: the default
    at = open_app(supervisor, PAGE)
    zone = at.selectbox(key="setting_time_zone")
    assert zone.value == "Europe/Helsinki" and "America/New_York" in zone.options
    assert any("Europe/Helsinki (the server's zone" in c.value for c in at.caption)
    assert at.number_input(key="setting_start_grace_days").value == 30
    at.number_input(key="setting_start_grace_days").set_value(7)
    at.selectbox(key="setting_time_zone").set_value("America/New_York")
    _save(at)
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    assert at.success[0].value == "Saved 2 change(s)."
    assert settings.current(db)["start_grace_days"] == 7
    assert settings.time_zone(db) == "America/New_York"
    assert at.selectbox(key="setting_time_zone").value == "America/New_York"
    assert any("America/New\\_York, chosen by Test Supervisor" in c.value for c in at.caption)
    logged = db.query_rows(
        "SELECT therapist_id, detail FROM audit_log WHERE entity = 'setting' ORDER BY id"
    )
    assert [(who, json.loads(d)) for who, d in logged] == [
        (supervisor.id, {"key": "start_grace_days", "from": 30, "to": 7}),
        (supervisor.id, {"key": "time_zone", "from": "Europe/Helsinki", "to": "America/New_York"}),
    ]
    _save(at)  # saving again changes nothing
    assert at.success[0].value == "Nothing changed."


def test_only_a_supervisor_may_choose_a_known_zone(
    db: Database, therapist: Actor, supervisor: Actor
) -> None:
    with pytest.raises(CaseloadError, match="Only a supervisor"):
        settings.update_time_zone(db, therapist, "Europe/Paris")
    for bad in ("Mars/Olympus", "", "../etc/passwd", "europe/paris"):
        with pytest.raises(CaseloadError, match="Choose a time zone"):
            settings.update_time_zone(db, supervisor, bad)
    with pytest.raises(CaseloadError, match="from 0 to 365"):
        settings.update(db, supervisor, "start_grace_days", 366)
    assert db.query_value("SELECT count(*) FROM audit_log WHERE entity = 'setting'") == 0


@pytest.mark.parametrize(
    ("tz", "expected"),
    [("Asia/Tokyo", "Asia/Tokyo"), (":Europe/Oslo", "Europe/Oslo"), ("Nowhere/Else", None)],
)
def test_the_server_zone_comes_from_tz_or_localtime(
    monkeypatch: pytest.MonkeyPatch, tz: str, expected: str | None
) -> None:
    monkeypatch.setenv("TZ", tz)
    zone = settings.server_time_zone()
    assert zone == expected if expected else zone in settings.time_zones()
