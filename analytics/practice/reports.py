"""The audit of client reports: who made which kind of report for which couple, with its
options. Never its content (scores, names, answers)."""

from __future__ import annotations

from collections.abc import Sequence

from analytics.practice import audit
from analytics.practice.access import Actor
from analytics.practice.couples import get_couple
from analytics.store.db import Database

REPORT_KIND = "report"


def record_report(
    db: Database,
    actor: Actor,
    couple_id: int,
    *,
    partner: str | None,
    deidentified: bool,
    scales: Sequence[str],
    charts: int,
    texts: int,
) -> None:
    """Audit one client report made for a couple (options and counts only)."""
    get_couple(db, actor, couple_id)  # access check
    with db.transaction() as cur:
        audit.record(
            cur,
            actor_id=actor.id,
            action="export",
            entity="couple",
            entity_id=couple_id,
            couple_id=couple_id,
            detail={
                "kind": REPORT_KIND,
                "partner": partner or "both",
                "deidentified": deidentified,
                "scales": list(scales),  # scale codes from the instrument files, not answers
                "charts": charts,
                "texts_included": texts,
            },
        )
