"""Where the dashboard's settings come from: `.streamlit/secrets.toml`, read through `ui._secret`,
which keeps an answer for a few seconds (Streamlit searches for a missing secrets file under a
lock on every access) but never across two different secrets objects (AppTest brings its own)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import streamlit as st
from streamlit.runtime.secrets import Secrets

import ui


def _secrets(values: dict[str, Any]) -> Secrets:
    store = Secrets()
    store._secrets = values  # what AppTest does with `at.secrets`
    return store


@pytest.fixture(autouse=True)
def _fresh_memo() -> Iterator[None]:
    ui._secrets_seen.clear()
    yield
    ui._secrets_seen.clear()


def test_a_secret_comes_from_the_secrets_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(st, "secrets", _secrets({"database": {"path": "/srv/a.duckdb"}}))
    assert ui._secret("database", "path") == "/srv/a.duckdb"
    assert ui._secret("database", "key") is None  # no such key: not configured
    # Another secrets object (another AppTest, say) is read at once, not served the last answer.
    monkeypatch.setattr(st, "secrets", _secrets({"database": {"path": "/srv/b.duckdb"}}))
    assert ui._secret("database", "path") == "/srv/b.duckdb"
    monkeypatch.setattr(st, "secrets", _secrets({}))
    assert ui._secret("database", "path") is None


def test_an_edited_secrets_file_counts_within_a_few_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(ui, "time", SimpleNamespace(monotonic=lambda: now[0]))
    store = _secrets({"instruments": {"folder": "/srv/instruments"}})
    monkeypatch.setattr(st, "secrets", store)
    assert ui._secret("instruments", "folder") == "/srv/instruments"
    store._secrets = {"instruments": {"folder": "/srv/other"}}  # the file edited and reloaded
    now[0] += ui.SECRETS_FRESH_S / 2
    assert ui._secret("instruments", "folder") == "/srv/instruments"  # kept for a moment
    now[0] += ui.SECRETS_FRESH_S
    assert ui._secret("instruments", "folder") == "/srv/other"
