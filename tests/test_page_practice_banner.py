"""The sidebar says which database the dashboard serves: the demo practice or the practice's own
records; on the sign-in page too, where the demo also says where its accounts are listed."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

import ui
from analytics.demo.build import build_demo
from analytics.practice import accounts
from analytics.practice.access import Actor
from analytics.store.db import Database
from tests.test_pages import open_app

pytestmark = pytest.mark.usefixtures("app_env")


def _sidebar_texts(at: AppTest) -> list[str]:
    return [str(e.value) for e in (*at.sidebar.info, *at.sidebar.caption)]


def test_a_demo_database_says_so_in_the_sidebar(db: Database) -> None:
    build_demo(db, couples=2, weeks=4, as_of=dt.date.today())
    avery = accounts.find_account(db, "avery").actor()
    texts = _sidebar_texts(open_app(avery))
    assert ui.DEMO_BANNER in texts
    assert not any(ui.PRACTICE_BANNER in t for t in texts)
    assert not any("README" in t for t in texts)  # signed in: no pointer to the passwords


def test_the_sign_in_page_of_the_demo_points_to_its_accounts(db: Database) -> None:
    build_demo(db, couples=2, weeks=4, as_of=dt.date.today())
    at = open_app()
    assert at.title[0].value.endswith("Sign in")
    texts = _sidebar_texts(at)
    assert ui.DEMO_BANNER in texts
    assert any("accounts and passwords are listed in README.md" in t for t in texts)


def test_a_practice_database_says_so_in_the_sidebar(db: Database, therapist: Actor) -> None:
    texts = _sidebar_texts(open_app(therapist))
    assert any(ui.PRACTICE_BANNER in t for t in texts)
    assert ui.DEMO_BANNER not in texts
    at = open_app()  # the sign-in page of the practice
    assert at.title[0].value.endswith("Sign in")
    assert any(ui.PRACTICE_BANNER in t for t in _sidebar_texts(at))
