"""Storage commands: `encrypt` a plain database, `rekey` it, `backup` it, `restore` a backup.

The key comes from $CASELOAD_KEY or the key file (see analytics.store.keys). Losing the key
means losing the database and every backup made with it: keep a copy of the key file apart
from the backups. `backup` also works while the dashboard holds the file: the dashboard makes
it (see server_link); the others need the dashboard stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path
from typing import Any

from analytics.cli.output import print_json
from analytics.errors import CaseloadError
from analytics.practice import audit, backups
from analytics.practice.access import PRACTICE
from analytics.practice.opening import open_practice
from analytics.store import backup as store_backup
from analytics.store import keys
from analytics.store.db import Database
from analytics.store.paths import resolve_path


def _print(args: argparse.Namespace, payload: dict[str, Any], lines: list[str]) -> None:
    """The JSON object with --json, else the lines (to `args.out`: the link captures it)."""
    if args.json:
        print_json(payload, args.out)
        return
    for line in lines:
        print(line, file=args.out)


def _backup(args: argparse.Namespace, db: Database) -> int:
    # Runs in the dashboard too (server_link), with `backup_out` already made absolute.
    copy = backups.back_up(db, PRACTICE, Path(args.backup_out))
    _print(
        args,
        {"backup": str(copy.path), "sha256": copy.sha256, "tables": len(copy.tables)},
        [f"Backed up to {copy.path}", f"sha256 {copy.sha256}  {copy.path.name}"],
    )
    return 0


# Commands the dashboard's link runs for the command line while it holds the database file,
# with their options and types (every one takes --json).
LINKED = {"backup": _backup}
LINKED_OPTIONS: dict[str, dict[str, type]] = {"backup": {"json": bool, "backup_out": str}}


def _need_file(path: Path) -> None:
    if not path.exists():
        raise CaseloadError(f"The database {path.name} was not found.")


def _encrypt(args: argparse.Namespace, _db: Database | None) -> int:
    path = resolve_path(args.db)
    _need_file(path)
    if store_backup.is_encrypted(path):
        raise CaseloadError(f"The database {path.name} is encrypted already.")
    found = keys.find_key(path)
    if found is None:
        # The key is on disk before the database depends on it: a failure leaves a plain
        # database and a key file that the next `encrypt` uses.
        found = keys.Key(keys.new_key(), "file", keys.key_file_path(path))
        assert found.file is not None
        keys.write_key_file(found.file, found.value)
    copy = store_backup.reencrypt(path, old_key=None, new_key=found.value)
    where = f"the key file {found.file}" if found.file else "$CASELOAD_KEY"
    _print(
        args,
        {"database": str(path), "tables": len(copy.tables), "key": found.origin},
        [
            f"Encrypted {path} ({len(copy.tables)} tables) with the key from {where}.",
            "Keep a copy of the key apart from the database: without it nothing can be read.",
        ],
    )
    return 0


def _rekey(args: argparse.Namespace, _db: Database | None) -> int:
    path = resolve_path(args.db)
    _need_file(path)
    old = keys.find_key(path)
    if old is None:
        raise CaseloadError("No key was found for this database.", hint=keys.SOURCES_HINT)
    target = Path(args.new_key_file) if args.new_key_file else keys.key_file_path(path)
    if target.exists() and not (old.origin == "file" and old.file == target):
        raise CaseloadError(
            f"The key file {target.name} exists already; nothing was changed.",
            hint="Name a new file with --new-key-file.",
        )
    new = keys.new_key()
    # The new key is on disk (owner-only, beside its final name) before the database depends
    # on it, and takes the final name only once the database is rewritten.
    staged = target.with_name(target.name + ".new")
    with contextlib.suppress(FileNotFoundError):
        staged.unlink()
    keys.write_key_file(staged, new)
    try:
        store_backup.reencrypt(path, old_key=old.value, new_key=new)
    except BaseException:
        staged.unlink()
        raise
    kept: Path | None = None
    if target.exists():
        # Backups made until now open only with the old key: it is kept, owner-only.
        kept = target.with_name(target.name + ".before-rekey")
        os.replace(target, kept)
    os.replace(staged, target)
    lines = [f"Re-encrypted {path}; the new key is in {target}."]
    if kept is not None:
        lines.append(f"The old key (it opens older backups) is kept in {kept}.")
    if old.origin == "env":
        lines.append(
            f"$CASELOAD_KEY still holds the old key: set it to the key in {target.name}"
            " (or unset it so that the key file is used) before the next start."
        )
    _print(
        args,
        {
            "database": str(path),
            "key_file": str(target),
            "old_key_file": None if kept is None else str(kept),
            "update_env": old.origin == "env",
        },
        lines,
    )
    return 0


def _restore(args: argparse.Namespace, _db: Database | None) -> int:
    path = resolve_path(args.db)
    found = keys.find_key(path)
    if found is None:
        raise CaseloadError(
            "No key was found to open the backup with.",
            hint="Put the practice's key file beside the database first. " + keys.SOURCES_HINT,
        )
    source = Path(args.source)
    kept = store_backup.restore(source, path, key=found.value, force=args.force)
    # The restored practice is opened as usual (a backup from an older release is migrated)
    # and the restore is the first entry of its audit trail from now on.
    db = open_practice(path, key=found.value)
    try:

        def work(cur: Any) -> None:
            audit.record(cur, actor_id=None, action="restore", entity="database")

        db.atomic(work)
        check = audit.verify(db)
    finally:
        db.close()
    lines = [f"Restored {path} from {source.name}."]
    if kept is not None:
        lines.append(f"The database it replaced is kept as {kept}.")
    if not check.intact:
        lines.append(f"Warning: its audit chain is broken at entry {check.broken_id}.")
    _print(
        args,
        {
            "database": str(path),
            "replaced": None if kept is None else str(kept),
            "audit_intact": check.intact,
        },
        lines,
    )
    return 0


def register(sub: Any, common: argparse.ArgumentParser, json_flag: argparse.ArgumentParser) -> None:
    """Add the storage subcommands."""
    standalone = {"needs_db": False, "instruments": None}
    enc = sub.add_parser(
        "encrypt",
        parents=[common, json_flag],
        help="encrypt a plain database in place (writes a key file unless a key is set)",
    )
    enc.set_defaults(handler=_encrypt, **standalone)
    rk = sub.add_parser(
        "rekey",
        parents=[common, json_flag],
        help="re-encrypt the database with a new key (the old key file is kept)",
    )
    rk.add_argument(
        "--new-key-file", metavar="PATH", help="where to write the new key (default: the key file)"
    )
    rk.set_defaults(handler=_rekey, **standalone)
    bk = sub.add_parser(
        "backup",
        parents=[common, json_flag],
        help="write an encrypted copy and its .sha256 (works while the dashboard runs)",
    )
    bk.add_argument("--out", dest="backup_out", metavar="FILE", required=True, help="new file")
    bk.set_defaults(handler=_backup)
    rs = sub.add_parser(
        "restore",
        parents=[common, json_flag],
        help="check a backup's .sha256 and key, then put it in place (dashboard stopped)",
    )
    rs.add_argument("--from", dest="source", metavar="FILE", required=True, help="the backup")
    rs.add_argument(
        "--force", action="store_true", help="replace an existing database (kept aside)"
    )
    rs.set_defaults(handler=_restore, **standalone)
