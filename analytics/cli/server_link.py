"""Commands while the dashboard holds the database: a link to the running server.

DuckDB lets one process open a database file for writing, and while it does no other process
may open it at all, not even read-only. So the dashboard, when it opens its database, serves a
few commands (`READ_ONLY` in practice_cmd: `info`, `couples list`; `LINKED` in storage_cmd:
`backup`, which writes a new backup file, never the database) on a Unix socket
next to the file ("<database file>.sock"). The command line, refused the file because another
process holds it, asks there and prints exactly what it would have printed itself.

Who may ask: only the same operating-system user (the socket file is made 0600 before it
accepts anyone, and each caller's user id is checked through SO_PEERCRED; without that check,
off Linux, the link is not served). What is answered: only the allowlisted commands, run by
the same handler against the server's database, with the caller's `today` and `now` (analytics
never reads the clock). `couples list` answers as a signed-in person: the request carries the
caller's --user and password (over the owner-only socket), and the server checks them with
`accounts.authenticate` (failures counted and audited as on the sign-in page) before answering
as that person. Nothing is logged: a request, an answer or a traceback could carry data (or a
password).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import socket
import stat
import struct
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analytics.cli import signing
from analytics.cli.practice_cmd import READ_ONLY, SIGNED_IN
from analytics.cli.storage_cmd import LINKED, LINKED_OPTIONS
from analytics.errors import CaseloadError, DatabaseBusy
from analytics.practice.passwords import MAX_LENGTH as MAX_PASSWORD
from analytics.store.db import Database

SUFFIX = ".sock"
# The allowlist: the commands the link runs (see commands()), and the options each takes, with
# their types. The read-only ones take --json; `user` and `password` (both required) only the
# SIGNED_IN ones, and no longer than these.
OPTIONS: dict[str, type] = {"json": bool}
_CREDENTIALS = {"user", "password"}
_LONGEST = {"user": signing.MAX_USERNAME, "password": MAX_PASSWORD}
COMMAND_OPTIONS: dict[str, dict[str, type]] = {
    name: OPTIONS | ({"user": str, "password": str} if name in SIGNED_IN else {})
    for name in READ_ONLY
} | LINKED_OPTIONS
# bytes; a request is one short JSON line (the longest password, every character escaped as
# a \u surrogate pair, is 256 * 12 bytes: it fits).
MAX_REQUEST = 4096
MAX_ANSWER = 64 * 1024 * 1024  # bytes; `couples list` of a very large practice fits easily
CLIENT_TIMEOUT = 30.0  # seconds the command line waits for an answer
SERVER_TIMEOUT = 5.0  # seconds the server waits for a request before dropping the caller
_PATH_MAX = 107  # bytes of a socket path (sun_path is 108 on Linux, with the final NUL)
_POLL = 0.5  # seconds between checks for a stop while waiting for callers
BUSY = 3  # the exit code for "the database file is held by another program"


@dataclass(frozen=True)
class Answer:
    """What the server's run of a command printed and returned."""

    code: int
    stdout: str
    error: str | None = None
    hint: str | None = None


def socket_path(db_path: str | Path) -> Path:
    """Where the link for a database file listens: next to the file itself."""
    real = Path(db_path).resolve()
    return real.with_name(real.name + SUFFIX)


def _peer_uid(conn: socket.socket) -> int | None:
    """The user id of the process at the other end, where the system tells it (Linux)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    size = struct.calcsize("3i")
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, option, size))
    return int(uid)


def _fits(path: Path) -> bool:
    return len(os.fsencode(path)) <= _PATH_MAX


# --- the server side (the dashboard) -----------------------------------------------------------


def _refusal(code: int, message: str, hint: str | None = None) -> dict[str, Any]:
    return {"code": code, "stdout": "", "error": message, "hint": hint}


def _parse(raw: bytes) -> tuple[str, dict[str, Any], dt.date, dt.datetime] | None:
    """(command, options, today, now) of a well-formed, allowlisted request, else None."""
    try:
        request = json.loads(raw)
        if not isinstance(request, dict) or set(request) != {"command", "options", "today", "now"}:
            return None
        command, options = request["command"], request["options"]
        if command not in COMMAND_OPTIONS or not isinstance(options, dict):
            return None
        allowed = COMMAND_OPTIONS[command]
        if set(options) - set(allowed):
            return None
        if not all(type(v) is allowed[k] for k, v in options.items()):
            return None
        if command == "backup" and not _new_file(options.get("backup_out")):
            return None
        if (set(options) & _CREDENTIALS) != (_CREDENTIALS if command in SIGNED_IN else set()):
            return None
        if any(len(options[k]) > _LONGEST[k] for k in set(options) & _CREDENTIALS):
            return None
        today = dt.date.fromisoformat(request["today"])
        now = dt.datetime.fromisoformat(request["now"])
    except (ValueError, TypeError):
        return None
    if now.tzinfo is not None:
        return None
    return command, options, today, now


def commands() -> dict[str, Callable[[argparse.Namespace, Database], int]]:
    """Every command the link runs, by name, with its handler."""
    found: dict[str, Callable[[argparse.Namespace, Database], int]] = dict(READ_ONLY)
    found.update(LINKED)
    return found


def _new_file(value: object) -> bool:
    """True for an absolute path of a file that does not exist yet (a backup's target: the
    link never writes over a file, the database least of all)."""
    if not isinstance(value, str) or "\x00" in value or not os.path.isabs(value):
        return False
    return not os.path.lexists(value)


def run_command(db: Database, raw: bytes) -> dict[str, Any]:
    """Run one request (a JSON object: command, options, today, now) against `db`; the answer
    as a JSON-ready dict: exit code, the exact standard output, and the error, if any."""
    parsed = _parse(raw)
    if parsed is None:
        return _refusal(
            2,
            "The dashboard answers only `info`, `couples list` (signed in) and `backup` (to a"
            " new file) this way.",
        )
    command, options, today, now = parsed
    out = io.StringIO()
    defaults = {k: False if kind is bool else None for k, kind in COMMAND_OPTIONS[command].items()}
    args = argparse.Namespace(**(defaults | options))
    args.today, args.now, args.out = today, now, out
    try:
        if command in SIGNED_IN:
            args.actor = signing.sign_in(db, args)
        code = int(commands()[command](args, db))
    except CaseloadError as exc:
        busy = BUSY if isinstance(exc, DatabaseBusy) else 1
        return {"code": busy, "stdout": out.getvalue(), "error": exc.message, "hint": exc.hint}
    except Exception as exc:  # a fault: its message could quote data, so only its kind leaves
        return _refusal(1, f"The dashboard could not answer ({type(exc).__name__}).")
    return {"code": code, "stdout": out.getvalue(), "error": None, "hint": None}


class Link:
    """A running link for one database; `close()` stops it and removes its socket file."""

    def __init__(self, db: Database, path: Path, listener: socket.socket) -> None:
        self.path = path
        self._db = weakref.ref(db)
        self._listener = listener
        self._inode = os.stat(path).st_ino
        self._stop = threading.Event()
        # Held while answering, so that closing waits for an answer under way (RLock: the
        # closing may come from this very thread, when the database is garbage-collected).
        self._busy = threading.RLock()
        self._thread = threading.Thread(target=self._serve, name="caseload-link", daemon=True)

    def start(self) -> None:
        """Start answering in a daemon thread."""
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener was closed
                return
            # One caller at a time: the link is for occasional commands, never a load. A caller
            # that goes away, or any fault, ends that call only, silently: a traceback in the
            # dashboard's log could quote data.
            with conn, contextlib.suppress(Exception):
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        if _peer_uid(conn) != os.getuid():
            return  # another user: no answer at all
        conn.settimeout(SERVER_TIMEOUT)
        raw = b""
        while b"\n" not in raw and len(raw) <= MAX_REQUEST:
            chunk = conn.recv(MAX_REQUEST + 1)
            if not chunk:
                break
            raw += chunk
        if len(raw) > MAX_REQUEST:
            return  # not a request of ours: no answer, read no further
        with self._busy:
            db = None if self._stop.is_set() else self._db()
            if db is None:
                answer = _refusal(BUSY, "The dashboard has closed the database.")
            else:
                answer = run_command(db, raw.split(b"\n", 1)[0])
            del db
        conn.sendall(json.dumps(answer).encode())

    def close(self) -> None:
        """Stop answering and remove the socket file (only if it is still this link's)."""
        with self._busy:
            if self._stop.is_set():
                return
            self._stop.set()
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self._inode:
                self.path.unlink()
        self._listener.close()
        _LINKS.pop(str(self.path), None)


# At most one link per socket path in this process (a reopened database replaces the old one).
_LINKS: dict[str, Link] = {}


def _answering(path: Path) -> bool:
    """True when something already listens at `path` (it is not a stale file)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def serve(db: Database) -> Link | None:
    """Answer read-only commands for `db` on the socket next to its file, from a daemon thread.

    Returns None, serving nothing, where that cannot be done safely or at all: no Unix sockets
    or no way to check a caller's user (not Linux), a path too long for a socket, a file of
    another kind in the way, another live link there, or a folder we cannot write.
    """
    if not hasattr(socket, "AF_UNIX") or getattr(socket, "SO_PEERCRED", None) is None:
        return None
    path = socket_path(db.path)
    if not _fits(path):
        return None
    previous = _LINKS.get(str(path))
    if previous is not None:
        previous.close()
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        pass
    except OSError:
        return None
    else:
        if not stat.S_ISSOCK(found.st_mode) or found.st_uid != os.getuid() or _answering(path):
            return None
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # left by a dashboard that was killed
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        # Owner only, before listen(): until then nobody can connect at all.
        os.chmod(path, 0o600)
        listener.listen(8)
        listener.settimeout(_POLL)
        link = Link(db, path, listener)
    except OSError:
        listener.close()
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                path.unlink()
        return None
    _LINKS[str(path)] = link
    db.on_close(link.close)
    weakref.finalize(db, link.close)
    link.start()
    return link


# --- the client side (the command line) --------------------------------------------------------


def ask(
    db_path: str | Path, command: str, options: dict[str, Any], *, today: dt.date, now: dt.datetime
) -> Answer | None:
    """Ask the dashboard holding `db_path` to run a read-only command; None when no link
    answers (none running, a stale socket, another user's socket, or no answer in time)."""
    if not hasattr(socket, "AF_UNIX"):
        return None
    path = socket_path(db_path)
    if not _fits(path):
        return None
    request = {
        "command": command,
        "options": options,
        "today": today.isoformat(),
        "now": now.isoformat(),
    }
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(CLIENT_TIMEOUT)
        try:
            conn.connect(str(path))
            # Trust only a server run by this same user: anyone else's could print anything.
            if _peer_uid(conn) != os.getuid():
                return None
            conn.sendall(json.dumps(request).encode() + b"\n")
            raw = bytearray()
            while chunk := conn.recv(1 << 16):
                raw += chunk
                if len(raw) > MAX_ANSWER:
                    return None
        except OSError:
            return None
    try:
        answer = json.loads(raw)
        return Answer(
            code=int(answer["code"]),
            stdout=str(answer["stdout"]),
            error=None if answer["error"] is None else str(answer["error"]),
            hint=None if answer["hint"] is None else str(answer["hint"]),
        )
    except (ValueError, TypeError, KeyError):
        return None
