"""Streamlit glue, kept in one small module: the cached database, the acting therapist, cached
loaders, and the one way pages show a `CaseloadError`.

Pages import this; analytics/ never does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import streamlit as st

from analytics.db import Database
from analytics.errors import CaseloadError
from analytics.storage import open_database, resolve_path
from analytics.therapists import Actor, get_actor

T = TypeVar("T")
ACTOR_KEY = "actor_id"


def _secret_path() -> str | None:
    """`[database] path = "..."` in .streamlit/secrets.toml, when present."""
    try:
        value = st.secrets["database"]["path"]
    except Exception:  # no secrets file, or no such key: both mean "not configured"
        return None
    return str(value)


@st.cache_resource(show_spinner="Opening the database…")
def _database(path: str) -> Database:
    # One connection per server process; every unit of work takes its own cursor from it.
    return open_database(path)


def database() -> Database:
    """The server's database (path from secrets, then $CASELOAD_DB, then the default)."""
    return _database(str(resolve_path(_secret_path())))


@st.cache_data(ttl=60, max_entries=512, show_spinner=False)
def _cached(_fn: Callable[..., Any], fn_key: str, db_key: str, args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> Any:
    return _fn(database(), *args, **kwargs)


def load(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call `fn(db, *args, **kwargs)` through the data cache, keyed on its name and arguments."""
    key = f"{fn.__module__}.{fn.__qualname__}"
    result: T = _cached(fn, key, str(database().path), args, kwargs)
    return result


def changed() -> None:
    """Call after every write so that no page shows stale numbers."""
    _cached.clear()


def actor() -> Actor | None:
    """The acting therapist chosen in the sidebar, if any."""
    actor_id = st.session_state.get(ACTOR_KEY)
    if actor_id is None:
        return None
    try:
        return get_actor(database(), int(actor_id))
    except CaseloadError:
        st.session_state.pop(ACTOR_KEY, None)
        return None


def require_actor() -> Actor:
    """The acting therapist, or stop the page with a short explanation."""
    who = actor()
    if who is None:
        st.info("Choose who you are in the sidebar to see a caseload.", icon="👤")
        st.stop()
    assert who is not None
    return who


def show_error(exc: CaseloadError) -> None:
    """Show a project error as a readable message (never a traceback)."""
    st.error(exc.message, icon="⚠️")
    if exc.hint:
        st.caption(exc.hint)


@contextmanager
def guarded() -> Iterator[None]:
    """Run a block; a `CaseloadError` inside it becomes a message instead of a crash."""
    try:
        yield
    except CaseloadError as exc:
        show_error(exc)
