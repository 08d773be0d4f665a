"""Shared fixtures: every test gets its own temporary database; the real one is never opened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.couples import PartnerInput, add_couple
from analytics.db import Database
from analytics.storage import ENV_VAR, open_database
from analytics.therapists import Actor, add_therapist


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the developer's own database and settings out of every test."""
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "default-should-not-be-used.duckdb"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = open_database(db_path)
    yield database
    database.close()


@pytest.fixture
def therapist(db: Database) -> Actor:
    return add_therapist(db, "Test Therapist")


@pytest.fixture
def supervisor(db: Database) -> Actor:
    return add_therapist(db, "Test Supervisor", role="supervisor")


@pytest.fixture
def couple(db: Database, therapist: Actor) -> int:
    """Case D-001 with the demo practice's partner emails (the sample exports match them)."""
    return add_couple(
        db,
        therapist,
        "D-001",
        PartnerInput("Ann", "d001.a@example.org"),
        PartnerInput("Bo", "d001.b@example.org"),
    )


@pytest.fixture
def app_env(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """For AppTest: the app opens the test database, with Streamlit's process-wide caches empty."""
    import streamlit as st

    monkeypatch.setenv(ENV_VAR, str(db_path))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
