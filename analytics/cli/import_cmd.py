"""`python -m analytics import FILE`: the Import page's workflow from the command line.

Exit codes: 0 imported (or importable, with --dry-run), 1 the file is rejected (reasons printed),
2 usage error. The command acts as the person signed in with --user (analytics/cli/signing.py);
rows of couples outside a therapist's caseload still go to their own couple, and the summary
gives only their number (`outside_caseload`, part of `accepted`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from analytics.cli import signing
from analytics.errors import CaseloadError
from analytics.importing import profiles, service
from analytics.importing.parsed import SOURCES
from analytics.store.db import Database


class _Usage(Exception):
    """A mistake in the command line itself (exit 2)."""


def register(sub: Any, common: argparse.ArgumentParser, json_flag: argparse.ArgumentParser) -> None:
    """Add the `import` subcommand."""
    cmd = sub.add_parser(
        "import",
        parents=[common, json_flag, signing.user_flag()],
        help="import questionnaire responses from a survey export",
        description="Import a Google Forms, Microsoft Forms, Qualtrics, REDCap, Typeform or "
        "plain CSV export. Rows already stored are skipped, so re-importing is safe.",
    )
    cmd.add_argument("file", metavar="FILE", help="the exported file (.csv, .tsv, .txt, .xlsx)")
    cmd.add_argument("--profile", metavar="NAME", help="use this saved import profile")
    cmd.add_argument("--dry-run", action="store_true", help="check the file, write nothing")
    cmd.set_defaults(handler=run)


def _read(path_text: str) -> tuple[str, bytes]:
    path = Path(path_text)
    if not path.is_file():
        raise _Usage(f"There is no file at {path_text}.")
    limit = service.max_upload_bytes()
    if path.stat().st_size > limit:
        raise CaseloadError(
            f"The file is larger than {limit / 1024 / 1024:g} MB.",
            hint=f"Export a shorter period, or raise {service.MAX_MB_ENV}.",
        )
    try:
        return path.name, path.read_bytes()
    except OSError as exc:
        raise _Usage(f"The file {path.name} cannot be read.") from exc


def _check_profile(db: Database, name: str | None) -> None:
    if name:
        try:
            profiles.get_by_name(db, name)
        except CaseloadError as exc:
            raise _Usage(exc.message) from exc


def _report(
    summary: dict[str, Any], args: argparse.Namespace, *, ok: bool, label: str | None
) -> None:
    if args.json:
        print(json.dumps(summary))
        return
    if label:
        print(f"Source:     {label}")
    print(
        f"Accepted:   {summary['accepted']}    Rejected: {summary['rejected']}    "
        f"Duplicates: {summary['duplicates']}    Unmatched: {summary['unmatched']}"
    )
    if summary["outside_caseload"]:
        print(
            f"Outside your caseload: {summary['outside_caseload']} of the accepted"
            " (filed under their own couples; their therapist sees them)."
        )
    for error in summary["errors"]:
        where = "file" if error["row"] is None else f"row {error['row']}"
        print(f"  {where}: {error['reason']}")
    if summary["batch_id"] is not None:
        print(f"Imported as batch {summary['batch_id']}.")
    elif args.dry_run and ok:
        print("Dry run: the file can be imported; nothing was written.")


def run(args: argparse.Namespace, db: Database) -> int:
    """Handler for `import`; returns the exit code."""
    summary: dict[str, Any] = {
        "source": None,
        "accepted": 0,
        "rejected": 0,
        "duplicates": 0,
        "unmatched": 0,
        "outside_caseload": 0,
        "batch_id": None,
        "errors": [],
    }
    try:
        actor = args.actor
        _check_profile(db, args.profile)
        name, data = _read(args.file)
        preview = service.prepare(db, actor, name, data, now=args.now, profile=args.profile)
    except _Usage as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CaseloadError as exc:
        summary["errors"] = [{"row": None, "reason": str(exc)}]
        _report(summary, args, ok=False, label=None)
        return 1
    label = SOURCES.get(preview.parsed.source, preview.parsed.source)
    summary.update(
        source=preview.parsed.source,
        accepted=preview.accepted,
        rejected=len(preview.rejected),
        duplicates=preview.duplicates,
        unmatched=preview.unmatched,
        outside_caseload=preview.outside_caseload,
        errors=[{"row": None, "reason": p} for p in preview.problems]
        + [{"row": r.row, "reason": r.reason} for r in preview.rejected],
    )
    ok = preview.importable
    if ok and not args.dry_run:
        try:
            result = service.commit_import(db, actor, preview)
        except CaseloadError as exc:
            summary["errors"].append({"row": None, "reason": str(exc)})
            ok = False
        else:
            summary.update(
                accepted=result.accepted,
                duplicates=result.duplicates,
                unmatched=result.unmatched,
                outside_caseload=result.outside_caseload,
                batch_id=result.batch_id,
            )
    if not ok and not preview.problems and not summary["errors"]:
        summary["errors"] = [{"row": None, "reason": "The file has no responses to import."}]
    _report(summary, args, ok=ok, label=label)
    return 0 if ok else 1
