"""Every active couple's client report in one zip file (one PDF per couple, named by case
code), for a practice that hands reports out at a review point. Each report is made and audited
as `render_report` makes one; the caller is told how far it has got."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import plotly.graph_objects as go

from analytics.charts.report_pdf import ClientReport
from analytics.practice.access import Actor
from analytics.practice.couples import list_couples
from analytics.store.db import Database
from analytics.views.report import client_report, report_file


def active_couples(db: Database, actor: Actor) -> dict[int, str]:
    """The actor's active couples: id -> case code, in case-code order."""
    listing = list_couples(db, actor, include_closed=False)
    active = listing[listing["status"] == "active"]
    return {int(i): str(c) for i, c in zip(active["id"], active["case_code"], strict=True)}


def reports_zip(
    db: Database,
    actor: Actor,
    couples: dict[int, str],
    *,
    as_of: dt.date,
    to_png: Callable[[go.Figure], bytes],
    deidentify: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """A zip of each couple's joint report (`couples`: id -> case code), in that order;
    `progress(done, total)` after each one."""
    buffer = io.BytesIO()
    total = len(couples)

    def images(report: ClientReport) -> dict[str, bytes]:
        return {chart.key: to_png(chart.figure) for chart in report.charts}

    # Two at a time: while Chromium draws one couple's charts (in its own process, the thread
    # here only waits), this thread lays out the PDF of the couple before. On two cores that
    # takes a third off the batch.
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive,
        ThreadPoolExecutor(max_workers=1) as drawer,
    ):
        waiting: list[tuple[int, str, ClientReport, Future[dict[str, bytes]]]] = []
        done = 0
        for couple_id, code in [*couples.items(), (0, "")]:
            if code:  # the report's numbers now; its charts drawn meanwhile
                report = client_report(db, actor, couple_id, as_of=as_of, deidentify=deidentify)
                waiting.append((couple_id, code, report, drawer.submit(images, report)))
            # The one before (or, at the end, the last): its PDF while the next is drawn.
            while waiting and (len(waiting) > 1 or not code):
                ready_id, ready_code, ready, drawn = waiting.pop(0)
                pdf = report_file(db, actor, ready_id, ready, drawn.result())
                archive.writestr(f"report-{ready_code}.pdf", pdf)
                done += 1
                if progress is not None:
                    progress(done, total)
    return buffer.getvalue()
