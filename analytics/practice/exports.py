"""The audit entry every export writes: who, which couple(s), which kind, which format, when."""

from __future__ import annotations

from collections.abc import Sequence

from analytics.errors import CaseloadError
from analytics.practice import access, audit
from analytics.practice.access import Actor
from analytics.store.db import Database

KINDS = ("chart", "caseload", "agenda")
FORMATS = ("png", "svg", "html", "csv", "xlsx", "md", "pdf")


def record_export(
    db: Database,
    actor: Actor,
    *,
    kind: str,
    fmt: str,
    couple_ids: Sequence[int],
    detail: dict[str, str | int] | None = None,
) -> None:
    """Audit one export of couples' data (action 'export'): one entry per couple, each naming
    the kind and format. Refuses couples outside the actor's caseload, like every read."""
    if kind not in KINDS or fmt not in FORMATS:
        raise CaseloadError(f"Unknown export {kind} as {fmt}.")
    ids = sorted({int(i) for i in couple_ids})
    with db.transaction() as cur:
        if ids:
            visible = cur.execute(
                "SELECT count(*) FROM visible_couples(?, ?) WHERE list_contains(?, couple_id)",
                [*access.params(actor), ids],
            ).fetchone()
            if visible is None or int(visible[0]) != len(ids):
                raise CaseloadError("That couple is not in your caseload.")
        for couple_id in ids:
            audit.record(
                cur,
                actor_id=actor.id,
                action="export",
                entity=kind,
                couple_id=couple_id,
                # Ids, kinds and formats only: never a name or an answer.
                detail={"format": fmt, **(detail or {})},
            )
