"""Streamlit glue, kept in one small module: the cached database, sign-in (the session, its
cookie and the idle watch), cached loaders, and the one way pages show a `CaseloadError`.

Pages import this; analytics/ never does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from analytics.charts import export
from analytics.cli import server_link
from analytics.errors import CaseloadError
from analytics.practice import accounts, audit, kind, passwords, sign_ins, therapists
from analytics.practice import couples as couples_records
from analytics.practice import exports as export_audit
from analytics.practice.access import ADMIN_ROLE, Actor
from analytics.practice.accounts import Account
from analytics.practice.couples import Partner, PartnerInput
from analytics.practice.opening import open_practice
from analytics.store import postgres
from analytics.store.db import Database
from analytics.store.paths import ENV_VAR, resolve_instruments_folder, resolve_postgres, serve_path

T = TypeVar("T")


# Without a secrets file, Streamlit searches for one under a lock on every access, and every
# page run asks several times (each `database()` call): so an answer is kept for a few seconds,
# for the same secrets object (AppTest brings its own). An edited secrets file still counts
# within SECRETS_FRESH_S.
SECRETS_FRESH_S = 5.0
_secrets_seen: dict[tuple[str, str], tuple[object, float, str | None]] = {}


def _secret(section: str, key: str) -> str | None:
    """`[section] key = "..."` in .streamlit/secrets.toml, when present."""
    store = st.secrets
    now = time.monotonic()
    seen = _secrets_seen.get((section, key))
    if seen is not None and seen[0] is store and now - seen[1] < SECRETS_FRESH_S:
        return seen[2]
    try:
        value: str | None = str(store[section][key])
    except Exception:  # no secrets file, or no such key: both mean "not configured"
        value = None
    _secrets_seen[(section, key)] = (store, now, value)
    return value


@st.cache_resource(show_spinner="Opening the database…")
def _database(location: str, instruments_folder: str, on_postgres: bool) -> Database:
    # Health records: every file this server creates (the database, its WAL) is owner-only.
    os.umask(0o077)
    # One connection per server process; every unit of work takes its own cursor from it.
    # Opening migrates the schema and syncs the instrument files (built-in and the folder's).
    # The key and the PostgreSQL connection string (which may hold a password) are read here,
    # not passed in, so that neither is ever part of a cache key.
    dsn = _postgres_dsn()
    if on_postgres and dsn is not None:
        return open_practice(postgres=dsn, instruments_folder=instruments_folder)
    key = _secret("database", "key")
    db = open_practice(location, key=key, instruments_folder=instruments_folder)
    # DuckDB keeps every other process out of the file while we hold it: `info` and
    # `couples list` from the command line are answered through this link instead.
    server_link.serve(db)
    return db


@st.cache_resource(show_spinner=False)
def _served_path(configured: str | None, from_env: str | None) -> str:
    # Chosen once per server (per configuration): a practice file that a command creates while
    # the demo is served is served from the next start, never in the middle of a session.
    return str(serve_path(configured))


def _postgres_dsn() -> str | None:
    """The PostgreSQL connection string (secrets [database] postgres, then $CASELOAD_POSTGRES)."""
    return resolve_postgres(_secret("database", "postgres"))


def database() -> Database:
    """The server's database: PostgreSQL when a connection string is configured (secrets
    [database] postgres, then $CASELOAD_POSTGRES); otherwise the file (path from secrets, then
    $CASELOAD_DB, then data/caseload.duckdb when it exists, else the demo practice's
    data/demo.duckdb: the file `make run` chose)."""
    dsn = _postgres_dsn()
    if dsn is not None:
        return _database(postgres.describe(dsn), str(instruments_folder()), True)
    return _database(
        _served_path(_secret("database", "path"), os.environ.get(ENV_VAR)),
        str(instruments_folder()),
        False,
    )


def instruments_folder() -> Path:
    """The folder of the practice's own instrument files (secrets, $CASELOAD_INSTRUMENTS,
    then data/instruments/)."""
    return resolve_instruments_folder(_secret("instruments", "folder"))


def today() -> dt.date:
    """Today's date: read here, in the UI, and passed into analytics (which never reads it)."""
    return dt.date.today()


def now_utc() -> dt.datetime:
    """The current time as naive UTC (how completion times are stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@st.cache_data(ttl=60, max_entries=512, show_spinner=False)
def _cached(
    _fn: Callable[..., Any],
    fn_key: str,
    db_key: str,
    who: int | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    return _fn(database(), *args, **kwargs)


def load(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call `fn(db, *args, **kwargs)` through the data cache, keyed on its name, its arguments
    and the signed-in account: the cache is shared by every session of the server, and one
    person's results are never served to another."""
    key = f"{fn.__module__}.{fn.__qualname__}"
    signed = st.session_state.get(_ACCOUNT_KEY)
    who = signed.id if isinstance(signed, Account) else None
    db = database()
    # Another server may have changed the practice (PostgreSQL): its number moves.
    result: T = _cached(fn, key, f"{db.location}#{db.data_version()}", who, args, kwargs)
    return result


DEMO_BANNER = "Demo practice — synthetic couples only"
PRACTICE_BANNER = "Practice database"


def practice_banner() -> None:
    """Say in the sidebar whether this is the demo practice or the practice's own records."""
    with st.sidebar:
        if load(kind.is_demo):
            st.info(DEMO_BANNER, icon="🧪")
            if account() is None:  # the sign-in page: where to find the demo's accounts
                st.caption("The demo's accounts and passwords are listed in README.md.")
        else:
            st.caption(f"🏥 {PRACTICE_BANNER}")


def changed() -> None:
    """Call after every write so that no page shows stale numbers."""
    _cached.clear()


# --- sign-in -------------------------------------------------------------------------------------
# The live sign-in's id (sign_ins.id) and its account id, in this browser tab's session state;
# the browser keeps a signed token in a cookie so that a reload resumes the session.
SESSION_KEY = "_sign_in"
_ACCOUNT_KEY = "_account"
_ACTIVITY_KEY = "_last_activity"
_ENDED_KEY = "_signed_out"
_COOKIE_KEY = "_set_cookie"
_DEAD_COOKIE_KEY = "_dead_cookie"
COOKIE = "caseload_session"
IDLE_POLL_SECONDS = 20  # how often an open page checks whether the idle time has passed


def clock() -> dt.datetime:
    """Now, as naive UTC: the one clock sign-in rules read (tests replace it)."""
    return now_utc()


def _browser_cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no browser behind this run (AppTest, a bare script)
        return None
    return str(value) if value else None


def _cookie_script(value: str | None) -> None:
    """Set (or, with None, delete) the session cookie in the browser. The value is ours (ids,
    URL-safe base64 and hex), never text a person typed."""
    if value is None:
        assignment = f"{COOKIE}=; path=/; max-age=0; SameSite=Strict"
    else:
        max_age = int(sign_ins.MAX_AGE.total_seconds())
        assignment = f"{COOKIE}={value}; path=/; max-age={max_age}; SameSite=Strict"
    st.html(
        "<script>document.cookie = "
        f"'{assignment}' + (location.protocol === 'https:' ? '; Secure' : '');</script>",
        unsafe_allow_javascript=True,
        width="content",
    )


def _forget(reason: str | None) -> None:
    for key in (SESSION_KEY, _ACCOUNT_KEY, _ACTIVITY_KEY):
        st.session_state.pop(key, None)
    if reason:
        st.session_state[_ENDED_KEY] = reason
    st.session_state[_COOKIE_KEY] = None  # delete the browser's cookie on the next run


def signed_in() -> Account | None:
    """The signed-in account of this browser tab, checked against the database on every run
    (ended, idle, disabled); resumed from the browser's cookie after a reload."""
    db = database()
    now = clock()
    session_id = st.session_state.get(SESSION_KEY)
    if session_id is None:
        cookie = _browser_cookie()
        if cookie is None or cookie == st.session_state.get(_DEAD_COOKIE_KEY):
            return None
        try:
            session = sign_ins.resume(db, cookie, now=now)
        except sign_ins.SignedOut as exc:
            st.session_state[_DEAD_COOKIE_KEY] = cookie
            _forget(None if exc.reason in ("ended", "signed out") else exc.message)
            return None
        session_id = st.session_state[SESSION_KEY] = session.id
        account = session.account
    else:
        try:
            account = sign_ins.check(db, int(session_id), now=now)
        except sign_ins.SignedOut as exc:
            _forget(exc.message)
            return None
    st.session_state[_ACCOUNT_KEY] = account
    st.session_state[_ACTIVITY_KEY] = now
    return account


def start_session(account: Account) -> None:
    """Begin a signed-in session for this tab (after the password was checked) and rerun."""
    session = sign_ins.start(database(), account, now=clock())
    st.session_state[SESSION_KEY] = session.id
    st.session_state[_ACCOUNT_KEY] = account
    st.session_state[_COOKIE_KEY] = session.cookie
    st.session_state.pop(_ENDED_KEY, None)
    st.rerun()


def sign_out() -> None:
    """End this tab's session (audited) and show the sign-in page."""
    session_id = st.session_state.get(SESSION_KEY)
    if session_id is not None:
        sign_ins.end(database(), int(session_id), now=clock())
    _forget(sign_ins.ENDED["signed out"])
    st.rerun()


def sync_cookie() -> None:
    """Write (or delete) the browser's session cookie when a sign-in or sign-out asked for it."""
    if _COOKIE_KEY in st.session_state:
        _cookie_script(st.session_state.pop(_COOKIE_KEY))


def signed_out_reason() -> str | None:
    """Why the last session of this tab ended (shown once on the sign-in page)."""
    reason = st.session_state.pop(_ENDED_KEY, None)
    return None if reason is None else str(reason)


@st.fragment(run_every=IDLE_POLL_SECONDS)
def idle_watch(minutes: int) -> None:
    """Sign out an unattended page: when the idle time has passed since the last thing this
    person did, rerun the whole app (the sign-in check then ends the session). Its own runs
    are not activity."""
    last = st.session_state.get(_ACTIVITY_KEY)
    if last is not None and clock() - last > dt.timedelta(minutes=minutes):
        st.rerun(scope="app")


def account() -> Account | None:
    """The signed-in account (checked against the database this run by `signed_in`)."""
    found = st.session_state.get(_ACCOUNT_KEY)
    if not isinstance(found, Account) or st.session_state.get(SESSION_KEY) is None:
        return None
    return found


def session_id() -> int | None:
    """This tab's sign-in id (to keep it when the person changes their own password)."""
    found = st.session_state.get(SESSION_KEY)
    return None if found is None else int(found)


def actor() -> Actor | None:
    """The signed-in person's identity, if any."""
    found = account()
    return None if found is None else found.actor()


def _ensure_entrypoint() -> None:
    """Make sure app.py (sidebar, navigation) is what runs.

    Until the first `st.navigation` call in a server process, Streamlit treats a `pages/` folder
    the old way and runs a page file on its own: a bookmark to /couple opened right after a
    restart would show the page without the sidebar (or the sign-in). Switching the flag off
    and rerunning hands the same URL to app.py's navigation instead.
    """
    from streamlit.runtime.pages_manager import PagesManager

    # Only on a session's first run: a rerun there loses no click. (AppTest resets the flag
    # before every run; later runs must not be rerun or their button clicks would vanish.)
    first_run = not st.session_state.get("_entrypoint_checked")
    st.session_state["_entrypoint_checked"] = True
    if PagesManager.uses_pages_directory and first_run:
        PagesManager.uses_pages_directory = False
        st.rerun()


def behind_a_browser() -> bool:
    """True when a browser is behind this run (not AppTest or a bare script)."""
    try:
        return bool(st.context.url)
    except Exception:  # no browser behind this run
        return False


def sign_in_page() -> None:
    """The sign-in page: why the last session ended (once), username and password."""
    st.title("💞 Sign in")
    practice_banner()
    reason = signed_out_reason()
    if reason:
        st.info(reason, icon="🔒")
    with st.form("sign_in"):
        username = st.text_input("Username", max_chars=40, autocomplete="username")
        password = st.text_input(
            "Password",
            type="password",
            max_chars=passwords.MAX_LENGTH,
            autocomplete="current-password",
        )
        if st.form_submit_button("Sign in", type="primary"):
            with guarded():
                start_session(accounts.authenticate(database(), username, password, now=clock()))
    st.caption(
        f"You are signed out after {sign_ins.idle_minutes(database())} minutes without"
        " activity. Forgotten your password? Ask your practice's administrator to reset it."
    )


def require_signed_in() -> Actor:
    """The signed-in person, checked against the database again here (a page never trusts
    that app.py ran first), or the sign-in page and stop."""
    _ensure_entrypoint()
    found = signed_in()
    if found is None:
        sync_cookie()
        sign_in_page()
        st.stop()
    assert found is not None
    return found.actor()


def require_actor() -> Actor:
    """The signed-in person with a clinical role, or stop the page. Every clinical page
    starts here."""
    who = require_signed_in()
    if who.role == ADMIN_ROLE:
        st.info(
            "Your account manages accounts only and sees no client data. An administrator can"
            " give an account a clinical role on the Accounts page.",
            icon="🔐",
        )
        st.stop()
    return who


def require_admin() -> Actor:
    """The signed-in administrator, or stop the page."""
    who = require_signed_in()
    if not who.is_admin:
        st.error("Only an administrator can manage accounts.", icon="🔒")
        st.stop()
    assert who is not None
    return who


def show_error(exc: CaseloadError, where: Any = None) -> None:
    """Show a project error as a readable message (never a traceback), in `where` (a container)
    or in place. Messages are ours but may quote a value from a file (an instrument's name, an
    item code): escaped, never Markdown."""
    with where if where is not None else contextlib.nullcontext():
        st.error(escape_markdown(exc.message), icon="⚠️")
        if exc.hint:
            st.caption(escape_markdown(exc.hint))


@contextmanager
def guarded(where: Any = None) -> Iterator[None]:
    """Run a block; a `CaseloadError` inside it becomes a message instead of a crash (shown in
    `where`, a container, when the block's own place may not be seen: a panel that closes)."""
    try:
        yield
    except CaseloadError as exc:
        show_error(exc, where)


FLASH_KEY = "_flash"


def flash(message: str) -> None:
    """Remember a success message and rerun, so the page redraws with fresh data."""
    st.session_state[FLASH_KEY] = message
    st.rerun()


def show_flash() -> None:
    """Show (once) the message left by `flash`."""
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(message, icon="✅")


def sticky_selectbox(
    label: str,
    options: list[Any],
    state_key: str,
    *,
    sidebar: bool = False,
    **kwargs: Any,
) -> Any:
    """A selectbox whose choice survives page switches.

    Streamlit drops a widget's state on runs where the widget is not drawn, so the choice is
    kept under a plain session key (`state_key`) and copied into the widget on every run.
    """
    widget_key = f"_widget_{state_key}"
    chosen = st.session_state.get(state_key)
    st.session_state[widget_key] = chosen if chosen in options else None

    def _remember() -> None:
        st.session_state[state_key] = st.session_state[widget_key]

    where = st.sidebar if sidebar else st
    return where.selectbox(label, options, key=widget_key, on_change=_remember, **kwargs)


def pick_couple(
    who: Actor,
    state_key: str,
    in_url_key: str,
    *,
    sidebar: bool = True,
    prefer: Sequence[int] = (),
    heading: str | None = None,
) -> int:
    """The couple a page shows, chosen in a "Couple" selectbox and kept in the address bar by
    case code (never a name), so a reload or a shared link opens the same couple.

    A `?couple=CODE` link wins over the last choice, except the page's own echo of it (the code
    it last wrote, kept under `in_url_key`): a choice made since then wins. An unknown code and
    a couple this person may not see get the same words (they reveal nothing) and the page
    stops, showing no other couple in its place; so does an empty caseload. `prefer`: the
    couples to open first when nothing is chosen yet; `heading`: a title for those stops.
    """
    listing = load(couples_records.list_couples, who, include_closed=True)

    def stop_with(show: Callable[[], None]) -> None:
        if heading:
            st.title(heading)
        show()
        st.stop()

    if listing.empty:

        def empty() -> None:
            st.info("No couples in your caseload yet. Add one on **Add a couple**.", icon="🌱")

        stop_with(empty)
    ids = [int(i) for i in listing["id"]]
    codes = dict(zip(ids, listing["case_code"], strict=True))
    wanted = st.query_params.get("couple")
    if wanted and wanted != st.session_state.get(in_url_key):
        matches = [i for i, code in codes.items() if code.upper() == wanted.strip().upper()]
        if not matches:

            def refuse() -> None:
                st.error(
                    "No couple in your caseload has the case code in this link. It may be"
                    " mistyped, or the couple may be looked after by another therapist.",
                    icon="🔒",
                )
                st.page_link("pages/caseload.py", label="Open the caseload", icon="📋")

            stop_with(refuse)
        st.session_state[state_key] = matches[0]
    if st.session_state.get(state_key) not in ids:
        st.session_state[state_key] = ([i for i in prefer if i in ids] or ids)[0]
    couple_id = int(
        sticky_selectbox("Couple", ids, state_key, sidebar=sidebar, format_func=lambda i: codes[i])
    )
    st.query_params["couple"] = st.session_state[in_url_key] = codes[couple_id]
    return couple_id


def record_view(who: Actor, couple_id: int, page: str) -> None:
    """Audit that this run shows a couple's data (one INSERT), outside any cached loader so a
    page served from cache is recorded too. Call once per page run, right after the couple is
    picked; when it cannot be recorded the page stops instead of showing unaudited data."""
    try:
        audit.record_view(database(), who, couple_id, page)
    except CaseloadError as exc:
        show_error(exc)
        st.stop()


def therapist_select(actor: Actor, current_id: int | None) -> int | None:
    """The assigned-therapist choice of a case form; only a supervisor may change it."""
    staff = load(therapists.list_therapists)
    ids = [int(i) for i in staff["id"]]
    names = dict(zip(ids, staff["name"], strict=True))
    choice = st.selectbox(
        "Assigned therapist",
        ids,
        index=ids.index(current_id) if current_id in ids else None,
        format_func=names.__getitem__,
        disabled=not actor.is_supervisor,
        help="Only a supervisor can assign a couple to someone else.",
        placeholder="Choose a therapist",
    )
    return int(choice) if choice is not None else current_id


def partner_fields(
    key_prefix: str, current: tuple[Partner, Partner] | None = None
) -> list[PartnerInput]:
    """Name, email and client code for partners A and B, side by side, inside a form."""
    entries = []
    for index, (label, col) in enumerate(zip("AB", st.columns(2), strict=True)):
        known = current[index] if current else None
        with col:
            st.write(f"**Partner {label}**")
            entries.append(
                PartnerInput(
                    st.text_input(
                        "Name",
                        value=known.name if known else "",
                        max_chars=100,
                        key=f"{key_prefix}name_{label}",
                    ),
                    st.text_input(
                        "Email",
                        value=(known.email or "") if known else "",
                        key=f"{key_prefix}email_{label}",
                    ),
                    st.text_input(
                        "Client code" if known else "Client code (optional)",
                        value=known.client_code if known else "",
                        key=f"{key_prefix}code_{label}",
                    ),
                )
            )
    return entries


# Characters that start Markdown (or Streamlit's own) syntax wherever they stand: emphasis,
# code, links and images, HTML and entities, headings, tables, strikethrough, LaTeX, and the
# backslash itself.
_ALWAYS = str.maketrans({c: "\\" + c for c in "\\`*_[]<>&#|~$"})
# A backslash does not stop what Streamlit finds in the text after parsing it: links made of
# bare addresses ("https://...", "www...", "name@host") and shortcodes (":smile:",
# ":material/home:"). An invisible word joiner (U+2060) splits each trigger instead.
_JOIN = "\u2060"
_PATTERNS = (
    (re.compile(r":(?=\S)"), ":" + _JOIN),
    (re.compile(r"@"), "@" + _JOIN),
    (re.compile(r"(?i)\b(www)\."), r"\1" + _JOIN + "."),
    # At the start of a line: lists ("- ", "+ ", "1. ", "1) "), rules and setext headings.
    (re.compile(r"(?m)^(\s*)([-+=])"), r"\1\\\2"),
    (re.compile(r"(?m)^(\s*\d+)([.)])(?=\s|$)"), r"\1\\\2"),
)


def escape_markdown(text: str) -> str:
    """Text shown literally where Streamlit only offers Markdown (a title, an error message).

    Backslash-escapes whatever could start Markdown syntax, splits bare addresses and
    shortcodes with an invisible word joiner, and leaves ordinary sentences as they are ("The
    file is empty." stays the same). Names, notes and answers still never go through Markdown
    at all: they are shown with st.dataframe or st.text.
    """
    escaped = text.translate(_ALWAYS)
    for pattern, replacement in _PATTERNS:
        escaped = pattern.sub(replacement, escaped)
    return escaped


def number(value: object, fmt: str = "{:.1f}") -> str:
    """A number for a text cell; a dash, never "None", when there is none."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    return fmt.format(float(value))  # type: ignore[arg-type]


_log = logging.getLogger(__name__)
_STEM = re.compile(r"[^A-Za-z0-9_-]+")


def file_stem(*parts: str) -> str:
    """A file name stem from case codes and words: letters, digits, '-' and '_' only."""
    return "-".join(p for p in (_STEM.sub("-", part).strip("-") for part in parts) if p) or "export"


def _audited(
    build: Callable[[], bytes],
    db: Database,
    who: Actor,
    kind: str,
    fmt: str,
    couple_ids: list[int],
    detail: dict[str, str | int],
) -> Callable[[], bytes]:
    """`build`, to run only when the browser asks for the file: the file is made then, and the
    audit entry written with it (a file that could not be made is not audited as exported)."""

    def deferred() -> bytes:
        data = build()
        try:
            export_audit.record_export(
                db, who, kind=kind, fmt=fmt, couple_ids=couple_ids, detail=detail
            )
        except CaseloadError:
            # No access (any more): hand over nothing rather than an unaudited file.
            _log.warning("export refused by the audit check (%s as %s)", kind, fmt)
            return b""
        return data

    return deferred


def chart_downloads(fig: Any, name: str, couple_id: int, case_code: str, key: str) -> None:
    """A compact "Download" menu under a chart: PNG, SVG and a self-contained HTML file.

    Nothing is made while the page opens: each button holds a deferred file that is built (and
    audited: who, couple, kind 'chart', format) only when it is clicked. Files are named by the
    case code, never a client's name. Without Chromium the menu says how to install it and
    offers HTML only.
    """
    who = actor()
    if who is None or fig is None:
        return
    db = database()
    stem = file_stem(case_code, name)
    detail: dict[str, str | int] = {"chart": name}
    with st.popover("Download", icon="⬇️", key=f"{key}_downloads"):
        formats: list[str] = ["html"]
        if export.images_available():
            formats = ["png", "svg", "html"]
        else:
            st.caption(escape_markdown(str(export.ChromiumMissing())))
        for fmt in formats:

            def build(fmt: str = fmt) -> bytes:
                return export.figure_file(fig, fmt)

            st.download_button(
                fmt.upper(),
                _audited(build, db, who, "chart", fmt, [couple_id], detail),
                file_name=f"{stem}.{fmt}",
                mime=export.MIME[fmt],
                on_click="ignore",
                key=f"{key}_download_{fmt}",
                width="stretch",
            )


def couple_chart(
    fig: Any, *, chart_key: str, name: str, couple_id: int, case_code: str, downloads_key: str
) -> None:
    """One of a couple's charts, full width, with its Download menu (PNG, SVG, HTML) under it."""
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False}, key=chart_key)
    chart_downloads(fig, name, couple_id, case_code, downloads_key)


def table_downloads(build: Callable[[str], tuple[bytes, list[int]]], name: str, key: str) -> None:
    """CSV and XLSX download buttons for a table; `build(fmt)` returns the file and the couples
    it holds. Built and audited (kind 'caseload') only when a button is clicked."""
    who = actor()
    if who is None:
        return
    db = database()
    left, right, _ = st.columns([1, 1, 4])
    for fmt, where in (("csv", left), ("xlsx", right)):

        def deferred(fmt: str = fmt) -> bytes:
            data, couple_ids = build(fmt)
            try:
                export_audit.record_export(
                    db, who, kind="caseload", fmt=fmt, couple_ids=couple_ids, detail={}
                )
            except CaseloadError:
                _log.warning("export refused by the audit check (caseload as %s)", fmt)
                return b""
            return data

        where.download_button(
            fmt.upper(),
            deferred,
            file_name=f"{file_stem(name)}.{fmt}",
            mime=TABLE_MIME[fmt],
            on_click="ignore",
            icon="⬇️",
            key=f"{key}_{fmt}",
            width="stretch",
        )


TABLE_MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def deferred_download(
    label: str, build: Callable[[], bytes], file_name: str, mime: str, key: str
) -> None:
    """A download button whose file is made only when it is clicked (`build` audits it, as
    the report and the batch of reports do)."""

    def deferred() -> bytes:
        try:
            return build()
        except CaseloadError as exc:
            # Nothing a person supplied is in this message; the click gets an empty file.
            _log.warning("download refused: %s", type(exc).__name__)
            return b""

    st.download_button(
        label,
        deferred,
        file_name=file_name,
        mime=mime,
        on_click="ignore",
        key=key,
        icon="📄",
    )


def audited_download(
    label: str,
    build: Callable[[], bytes],
    *,
    file_name: str,
    mime: str,
    couple_id: int,
    kind: str,
    fmt: str,
    key: str,
) -> None:
    """A download button for one couple's file, made only when clicked and audited then (who,
    couple, `kind`, format; never content)."""
    who = actor()
    if who is None:
        return
    st.download_button(
        label,
        _audited(build, database(), who, kind, fmt, [couple_id], {}),
        file_name=file_name,
        mime=mime,
        on_click="ignore",
        key=key,
    )
