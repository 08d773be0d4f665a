"""PostgreSQL mode: a practice kept in a PostgreSQL database, read and written through DuckDB's
postgres extension, so the same SQL (macros, scores, flags) runs on it.

The extension comes from the `duckdb-extension-postgres` wheel, never from the web. Its binary's
entry point is `postgres_scanner`, and DuckDB derives the entry point from the file name, so it
is LOADed through a link of that name in a private folder of this process.

The connection string (libpq `key=value` or a `postgresql://` URL) may hold a password. DuckDB
repeats the connection string in its connection errors, so the password is taken out of it and
handed over as a bound parameter of a DuckDB secret; the string DuckDB sees (and may repeat)
carries none.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import duckdb

from analytics.errors import CaseloadError
from analytics.store.ids import PG_ALIAS

ENV_VAR = "CASELOAD_POSTGRES"
SEARCH_PATH = f"SET search_path = '{PG_ALIAS}.public,memory.main'"
# libpq `key=value` pairs; a value may be single-quoted with backslash escapes.
_PAIR = re.compile(r"\s*([A-Za-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)")
_URL_KEYS = {"dbname", "user", "host", "port"}

_LINK_LOCK = threading.Lock()
_LINK: list[Path] = []


def extension_path() -> Path:
    """The postgres extension of the installed wheel, under the name DuckDB's loader expects."""
    with _LINK_LOCK:
        if _LINK:
            return _LINK[0]
        try:
            import duckdb_extension_postgres
        except ImportError as exc:
            raise CaseloadError(
                "The PostgreSQL module (the duckdb-extension-postgres package) is not installed.",
                hint="Install the locked requirements (requirements.lock).",
            ) from exc
        folder = Path(duckdb_extension_postgres.__file__).parent / "extensions"
        found = sorted(folder.glob(f"v{duckdb.__version__}/postgres.duckdb_extension"))
        if not found:
            raise CaseloadError(
                "The PostgreSQL module does not match this DuckDB version.",
                hint=f"Install duckdb-extension-postgres=={duckdb.__version__}.",
            )
        # A folder only this user can write, so nobody can swap the file that is loaded.
        private = Path(tempfile.mkdtemp(prefix="caseload-pg-ext-"))
        atexit.register(shutil.rmtree, private, True)
        link = private / "postgres_scanner.duckdb_extension"
        link.symlink_to(found[-1])
        _LINK.append(link)
        return link


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _quote(value: str) -> str:
    if value and re.fullmatch(r"[^\s'\\]+", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def parse(dsn: str) -> dict[str, str]:
    """The connection settings of a libpq string or a `postgresql://` URL, as key/value pairs."""
    text = dsn.strip()
    if not text:
        raise CaseloadError("The PostgreSQL connection string is empty.")
    if re.match(r"(?i)^postgres(ql)?://", text):
        parts = urlsplit(text)
        pairs = {
            "host": unquote(parts.hostname or ""),
            "port": str(parts.port or ""),
            "dbname": unquote(parts.path.lstrip("/")),
            "user": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
        }
        pairs.update(parse_qsl(parts.query))
        return {k: v for k, v in pairs.items() if v}
    pairs = {}
    position = 0
    for match in _PAIR.finditer(text):
        if match.start() != position:
            break
        pairs[match.group(1).lower()] = _unquote(match.group(2))
        position = match.end()
    if text[position:].strip():
        raise CaseloadError(
            "The PostgreSQL connection string is not understood.",
            hint="Write it as `host=... port=... dbname=... user=...` or postgresql://user@host/db.",
        )
    return pairs


def without_password(dsn: str) -> tuple[str, str | None]:
    """The connection string with no password in it, and the password (None when absent)."""
    pairs = parse(dsn)
    password = pairs.pop("password", None)
    return " ".join(f"{k}={_quote(v)}" for k, v in pairs.items()), password


def describe(dsn: str) -> str:
    """A label for the practice's database that names no password: `postgresql://user@host:port/db`."""
    pairs = parse(dsn)
    host = pairs.get("host", "localhost")
    port = f":{pairs['port']}" if "port" in pairs else ""
    user = f"{pairs['user']}@" if "user" in pairs else ""
    return f"postgresql://{user}{host}{port}/{pairs.get('dbname', '')}"


def _literal(text: str | Path) -> str:
    """A SQL string literal (LOAD and ATTACH take no bound values)."""
    return "'" + str(text).replace("'", "''") + "'"


def connect(dsn: str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the PostgreSQL database attached as `pg`."""
    text, password = without_password(dsn)
    con = duckdb.connect(
        config={"autoload_known_extensions": False, "autoinstall_known_extensions": False}
    )
    try:
        con.execute(f"LOAD {_literal(extension_path())}")
        options = ["TYPE postgres"]
        if password is not None:
            con.execute("CREATE SECRET caseload_pg (TYPE postgres, PASSWORD ?)", [password])
            options.append("SECRET caseload_pg")
        if read_only:
            options.append("READ_ONLY")
        con.execute(f"ATTACH {_literal(text)} AS {PG_ALIAS} ({', '.join(options)})")
        con.execute(SEARCH_PATH)
    except BaseException:
        con.close()
        raise
    return con


def execute_native(cur: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run PostgreSQL's own SQL (DDL, native upserts) in the cursor's transaction."""
    cur.execute(f"CALL postgres_execute('{PG_ALIAS}', ?)", [sql])
