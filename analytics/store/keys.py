"""Where the database's encryption key comes from, and the owner-only key file.

In order: an explicit value (the dashboard passes its Streamlit secret `[database] key`), then
$CASELOAD_KEY, then a key file ($CASELOAD_KEY_FILE, else beside the database: the database path
with the suffix `.key`, e.g. data/caseload.key). A new practice with no key configured gets a
fresh key file, so the default set-up is encrypted with nothing to configure. Losing the key
means losing the data: the key file must be backed up, apart from the database's backups.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from analytics.errors import CaseloadError

KEY_ENV_VAR = "CASELOAD_KEY"
KEY_FILE_ENV_VAR = "CASELOAD_KEY_FILE"
KEY_SUFFIX = ".key"
SOURCES_HINT = (
    "The key comes from the dashboard's secrets ([database] key), $CASELOAD_KEY, or a key file"
    " ($CASELOAD_KEY_FILE, else the database path with .key, e.g. data/caseload.key)."
)


@dataclass(frozen=True)
class Key:
    """A key and where it came from: 'explicit', 'env' or 'file' (then `file` is its path)."""

    value: str
    origin: str
    file: Path | None = None


def new_key() -> str:
    """A fresh random key: 32 bytes as 64 hex characters."""
    return secrets.token_hex(32)


def key_file_path(db_path: str | Path) -> Path:
    """The key file for a database: $CASELOAD_KEY_FILE, else beside it with the suffix .key."""
    from_env = os.environ.get(KEY_FILE_ENV_VAR)
    return Path(from_env) if from_env else Path(db_path).with_suffix(KEY_SUFFIX)


def read_key_file(path: Path) -> str:
    """The key in an owner-only key file; refused when others may read it or it is empty."""
    try:
        found = os.stat(path)
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseloadError(f"The key file {path.name} could not be read.") from exc
    if found.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        # A key others can read protects nothing; refusing says so before anyone relies on it.
        raise CaseloadError(
            f"The key file {path.name} may be read by other users of this computer.",
            hint=f"Make it owner-only (chmod 600 {path.name}) and try again.",
        )
    key = text.strip()
    if not key:
        raise CaseloadError(f"The key file {path.name} is empty.", hint=SOURCES_HINT)
    return key


def write_key_file(path: Path, key: str) -> None:
    """Write `key` to a new owner-only (0600) file; refused when the file exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise CaseloadError(
            f"The key file {path.name} exists already; it was left as it is."
        ) from exc
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.chmod(path, 0o600)  # the mode given to os.open is narrowed by the umask, never widened


def find_key(db_path: str | Path, explicit: str | None = None) -> Key | None:
    """The configured key (explicit, $CASELOAD_KEY, then the key file), or None when none is."""
    if explicit:
        return Key(explicit, "explicit")
    from_env = os.environ.get(KEY_ENV_VAR)
    if from_env:
        return Key(from_env, "env")
    file = key_file_path(db_path)
    if file.exists():
        return Key(read_key_file(file), "file", file)
    return None


def resolve_key(db_path: str | Path, explicit: str | None = None) -> Key | None:
    """The key to open `db_path` with; for a database not created yet and no key configured, a
    new key file is written first. None when the database exists and no key is configured."""
    found = find_key(db_path, explicit)
    if found is not None or Path(db_path).exists():
        return found
    file = key_file_path(db_path)
    key = new_key()
    write_key_file(file, key)
    return Key(key, "file", file)
