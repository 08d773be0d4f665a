"""The client report: a plain-language account for the couple (or one partner) of their progress
on the scales the therapist picks, what improved and what they agreed to work on, with charts.

Its privacy rules are enforced here, by what is read at all:
- safety-screen answers are never read (not the items, the answers, nor that any exist), and
  agenda items about safety are left out, in every report;
- item-level answers are never read: only scale scores (the clinical SQL's);
- a per-partner report reads only that partner's scores, agenda items about them and their own
  free text; its charts draw that partner alone (the other is not even in the legend);
- free-text answers appear only when the therapist passes their ids (`text_answers` lists them;
  an id is "<response id>:<item code>"), in a per-partner report only that partner's own;
- no report shows an email. De-identified: the case code instead of names (partners are
  "Partner A" and "Partner B"), "week N" (week 1 being the couple's first week, from their start
  date) instead of dates, on the charts' axes too; names, emails and dates are also scrubbed from
  the therapist's agenda wording and the free text included.
Every rendered report is audited (options and counts only, never content)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.progress import score_chart
from analytics.charts.report_pdf import ClientReport, ReportChart, ReportSection, report_pdf
from analytics.clinical import change, scores
from analytics.clinical.change import CATEGORIES
from analytics.errors import CaseloadError
from analytics.practice import access, agendas, reports
from analytics.practice.access import Actor
from analytics.practice.couples import Couple, get_couple
from analytics.store.db import Database
from analytics.views.focus import about_couple

# Agenda items never shown to clients: safety (even that it was raised) and the partners' own
# free-text topics (free text appears only when the therapist includes a specific answer).
LEFT_OUT_KINDS = frozenset({"safety", "safety_unanswered", "topics"})
# Items about both partners' numbers: joint reports only.
BOTH_PARTNER_KINDS = frozenset({"gap"})
IMPROVED = ("improved", "recovered")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
DATES = (
    re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?\b"),
    re.compile(r"\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b"),
    re.compile(
        r"\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{4}\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? \d{4}\b",
        re.IGNORECASE,
    ),
)
NOISE_WORDS = (
    "A score can move a little from one check-in to the next without anything having really"
    " changed (measurement noise). We only call a change better or worse when it is bigger"
    " than that."
)


@about_couple
def text_answers(
    db: Database, actor: Actor, couple_id: int, partner: str | None = None
) -> pd.DataFrame:
    """The couple's free-text answers a therapist can choose to include, newest first: id,
    partner, completed_at, question, answer (one partner's only when given)."""
    get_couple(db, actor, couple_id)
    return db.query_df(
        "SELECT CAST(t.response_id AS VARCHAR) || ':' || i.code AS id, p.label AS partner,"
        " r.completed_at, coalesce(i.label, i.code) AS question, t.text AS answer"
        " FROM text_answers t JOIN responses r ON r.id = t.response_id"
        " JOIN partners p ON p.id = r.partner_id JOIN items i ON i.id = t.item_id"
        " JOIN visible_couples(?, ?) v ON v.couple_id = p.couple_id"
        " WHERE p.couple_id = ? AND (CAST(? AS VARCHAR) IS NULL OR p.label = ?)"
        " ORDER BY r.completed_at DESC, p.label, i.position",
        [*access.params(actor), couple_id, partner, partner],
    )


class _Words:
    """How the report names people and days: names and dates, or labels and weeks."""

    def __init__(self, couple: Couple, deidentify: bool, start: dt.date) -> None:
        self.couple, self.deidentify, self.start = couple, deidentify, start

    def name(self, label: str) -> str:
        if self.deidentify:
            return f"Partner {label}"
        return next(p.name for p in self.couple.partners if p.label == label)

    def when(self, value: Any) -> str:
        day = pd.Timestamp(value).date()
        if not self.deidentify:
            return f"{day:%d %b %Y}"
        return week_words(day, self.start)

    def scrub(self, text: str, partner: str | None) -> str:
        """Therapist or client wording made fit for this report: never an email; de-identified,
        no names or dates; in a per-partner report, not the other partner's name."""
        out = EMAIL.sub("[email]", text)
        for p in self.couple.partners:
            if self.deidentify or (partner is not None and p.label != partner):
                for piece in sorted({p.name, *p.name.split()}, key=len, reverse=True):
                    if len(piece) >= 2:
                        out = re.sub(
                            rf"\b{re.escape(piece)}\b", f"Partner {p.label}", out, flags=re.I
                        )
        if self.deidentify:
            for pattern in DATES:
                out = pattern.sub("[date]", out)
        return out


def week_words(day: dt.date, start: dt.date) -> str:
    """ "week N" since the start (week 1 is the first week); "before the start" before it."""
    days = (day - start).days
    return "before the start" if days < 0 else f"week {days // 7 + 1}"


def _weeks(value: Any, start: dt.date) -> float:
    return round((pd.Timestamp(value) - pd.Timestamp(start)).days / 7 + 1, 2)


def _client_figure(fig: go.Figure, start: dt.date, deidentify: bool) -> go.Figure:
    """The chart for print: no hovers (they hold dates and details); de-identified, weeks since
    the start on the x axis instead of dates."""
    for trace in fig.data:
        trace.update(hovertext=None, hovertemplate=None, hoverinfo="skip")
        if deidentify and trace.x is not None and len(trace.x):
            trace.x = [None if v is None else _weeks(v, start) for v in trace.x]
    if deidentify:
        for note in fig.layout.annotations:
            if note.xref in (None, "x"):
                note.x = _weeks(note.x, start)
        fig.update_xaxes(title_text="Weeks since the start (week 1 is the first)", dtick=1)
    return fig


def _resolve_scales(
    db: Database, changes: pd.DataFrame, picked: Sequence[str] | None
) -> list[tuple[str, str]]:
    """(instrument, scale) pairs: each "scale" (of the newest instrument answered) or
    "instrument:scale"; by default the newest instrument's headline scale."""
    if changes.empty:
        return []
    newest = changes.sort_values("latest_at").iloc[-1]
    instrument = str(newest["instrument_code"])
    if not picked:
        headline = db.query_value(
            "SELECT headline FROM instruments WHERE id = ?", [int(newest["instrument_id"])]
        )
        mine = changes[changes["instrument_code"] == instrument].sort_values("position")
        codes = set(mine["scale_code"])
        return [(instrument, str(headline if headline in codes else mine["scale_code"].iloc[0]))]
    out: list[tuple[str, str]] = []
    for want in picked:
        ins, _, scale = want.rpartition(":")
        pair = (ins or instrument, scale)
        known = changes[
            (changes["instrument_code"] == pair[0]) & (changes["scale_code"] == pair[1])
        ]
        if known.empty:
            raise CaseloadError(
                f"No scores on scale '{want}' for this couple.",
                hint="Give a scale code of the questionnaire, or instrument:scale.",
            )
        if pair not in out:
            out.append(pair)
    return out


def _change_sentence(row: Any, words: _Words) -> str:
    label, who = str(row.scale_label), words.name(str(row.partner))
    if int(row.n_scores) < 2:
        return (
            f"{who}: one check-in so far on {label} ({float(row.latest):.1f},"
            f" {words.when(row.latest_at)}): change shows from the second check-in."
        )
    meaning = CATEGORIES[str(row.category)][1]
    return (
        f"{who}: {label} went from {float(row.baseline):.1f} at the first check-in"
        f" ({words.when(row.baseline_at)}) to {float(row.latest):.1f} at the latest"
        f" ({words.when(row.latest_at)}). {meaning}"
    )


def _direction_words(row: Any) -> str:
    low, high = float(row.score_min), float(row.score_max)
    better = "higher" if str(row.direction) == "higher_better" else "lower"
    return f"{row.scale_label}: scores run from {low:g} to {high:g}; {better} is better."


def _agreed(
    db: Database, actor: Actor, couple_id: int, partner: str | None, words: _Words
) -> list[str]:
    """What the couple agreed to work on: the latest saved agenda's items, minus the dropped ones
    and those no client report shows (safety, free-text topics; in a per-partner report, items
    about the other partner or both)."""
    saved = agendas.last_agenda(db, actor, couple_id)
    if saved is None:
        return []
    out = []
    for item in saved.items:
        if item.status == "dropped" or item.kind in LEFT_OUT_KINDS:
            continue
        about = item.numbers.get("partner") if isinstance(item.numbers, dict) else None
        if partner is not None and (
            item.kind in BOTH_PARTNER_KINDS or (about is not None and str(about) != partner)
        ):
            continue
        line = words.scrub(item.text, partner)
        if item.suggestion:
            line += " To try: " + words.scrub(item.suggestion, partner)
        if item.status == "done":
            line += " (done)"
        out.append(line)
    return out


def _texts(
    db: Database,
    actor: Actor,
    couple_id: int,
    partner: str | None,
    ids: Sequence[str],
    words: _Words,
) -> list[str]:
    """The free-text answers the therapist chose, quoted; refuses ids not of this couple (or, in
    a per-partner report, not that partner's)."""
    if not ids:
        return []
    rows = text_answers(db, actor, couple_id, partner)
    chosen = rows[rows["id"].isin(list(ids))]
    if len(chosen) != len(set(ids)):
        whose = "this partner's" if partner else "this couple's"
        raise CaseloadError(f"A chosen free-text answer is not one of {whose} answers.")
    return [
        f"{words.name(str(r.partner))}, {words.when(r.completed_at)}, on"
        f" “{words.scrub(str(r.question), partner)}”: “{words.scrub(str(r.answer), partner)}”"
        for r in chosen.sort_values("completed_at").itertuples()
    ]


@about_couple
def client_report(
    db: Database,
    actor: Actor,
    couple_id: int,
    *,
    as_of: dt.date,
    scales: Sequence[str] | None = None,
    partner: str | None = None,
    deidentify: bool = False,
    include_text_ids: Sequence[str] = (),
) -> ClientReport:
    """The client report's content (joint when `partner` is None, else that partner's own),
    with its privacy rules applied. Refuses couples outside the actor's caseload."""
    if partner not in (None, "A", "B"):
        raise CaseloadError("A per-partner report is for partner A or B.")
    couple = get_couple(db, actor, couple_id)  # the access check comes before any read
    who = (partner,) if partner else ("A", "B")
    changes = change.partner_change(db, actor, [couple_id])
    all_scores = scores.scale_scores(db, actor, [couple_id])
    pairs = _resolve_scales(db, changes, scales)
    changes = changes[changes["partner"].isin(who)]
    all_scores = all_scores[all_scores["partner"].isin(who)]
    first_seen = pd.Timestamp(all_scores["completed_at"].min()).date() if len(all_scores) else None
    start = min(couple.start_date, first_seen) if first_seen else couple.start_date
    words = _Words(couple, deidentify, start)
    names = [words.name(label) for label in who]
    if deidentify:
        title = f"Progress report: {couple.case_code}"
        title += f", partner {partner}" if partner else ""
        subtitle = f"Written in {week_words(as_of, start)} since the start."
    else:
        title = "Progress report: " + " and ".join(names)
        subtitle = f"Written on {as_of:%d %b %Y}."
    you = "you" if partner else "you both"
    intro = [
        f"This report shows how {you} have been doing on the questionnaires filled in between"
        " sessions.",
        NOISE_WORDS,
    ]
    if all_scores.empty:
        intro.append("There are no scored check-ins yet: the next report will show your progress.")
    sections = [ReportSection("About this report", intro)]
    progress: list[ReportSection] = []
    for n, (instrument, scale) in enumerate(pairs, start=1):
        rows = changes[
            (changes["instrument_code"] == instrument) & (changes["scale_code"] == scale)
        ]
        on_scale = all_scores[
            (all_scores["instrument_code"] == instrument) & (all_scores["scale_code"] == scale)
        ]
        if rows.empty or on_scale.empty:
            continue
        first = rows.iloc[0]
        label = str(first["scale_label"])
        sentences = [_direction_words(first)]
        sentences += [_change_sentence(r, words) for r in rows.sort_values("partner").itertuples()]
        steps = change.checkin_change(db, actor, couple_id, instrument, scale)
        figure = score_chart(
            on_scale[["partner", "completed_at", "score"]].sort_values(["partner", "completed_at"]),
            {label_: words.name(label_) for label_ in who},
            scale_label=label,
            score_range=(float(first["score_min"]), float(first["score_max"])),
            title=f"{label} over time",
            direction=str(first["direction"]),
            cutoff=None if pd.isna(first["cutoff_used"]) else float(first["cutoff_used"]),
            steps=steps[steps["partner"].isin(who)],
            partners=who,
        )
        chart = ReportChart(
            key=f"chart{n}",
            figure=_client_figure(figure, start, deidentify),
            caption="Each point is one check-in. A ringed point marks where a change bigger than"
            " measurement noise began. The shaded band, where shown, is the range where many"
            " couples seek help.",
        )
        progress.append(ReportSection(label, sentences, [chart]))
    sections += progress
    improved = [
        f"{words.name(str(r.partner))}: {r.scale_label}."
        for r in changes[changes["category"].isin(IMPROVED)]
        .sort_values(["position", "partner"])
        .itertuples()
    ]
    sections.append(
        ReportSection(
            "What improved",
            improved
            or [
                "No scale has changed by more than measurement noise yet. Change often takes"
                " a few weeks to show."
            ],
        )
    )
    agreed = _agreed(db, actor, couple_id, partner, words)
    if agreed:
        sections.append(ReportSection("What you agreed to work on", agreed))
    quoted = _texts(db, actor, couple_id, partner, include_text_ids, words)
    if quoted:
        sections.append(ReportSection("In your own words", quoted))
    return ClientReport(
        title=title,
        subtitle=subtitle,
        footer=couple.case_code,
        sections=sections,
        partner=partner,
        deidentified=deidentify,
        scales=[f"{i}:{c}" for i, c in pairs],
    )


def render_report(
    db: Database,
    actor: Actor,
    couple_id: int,
    *,
    as_of: dt.date,
    to_png: Callable[[go.Figure], bytes],
    scales: Sequence[str] | None = None,
    partner: str | None = None,
    deidentify: bool = False,
    include_text_ids: Sequence[str] = (),
) -> bytes:
    """The client report as PDF bytes, its charts drawn by `to_png`; audited once made."""
    report = client_report(
        db,
        actor,
        couple_id,
        as_of=as_of,
        scales=scales,
        partner=partner,
        deidentify=deidentify,
        include_text_ids=include_text_ids,
    )
    images = {chart.key: to_png(chart.figure) for chart in report.charts}
    return report_file(db, actor, couple_id, report, images, texts=len(set(include_text_ids)))


def report_file(
    db: Database,
    actor: Actor,
    couple_id: int,
    report: ClientReport,
    images: dict[str, bytes],
    *,
    texts: int = 0,
) -> bytes:
    """The PDF of a report whose chart images are made (`texts`: free-text answers included);
    audited once made."""
    pdf = report_pdf(report, images)
    reports.record_report(
        db,
        actor,
        couple_id,
        partner=report.partner,
        deidentified=report.deidentified,
        scales=report.scales,
        charts=len(images),
        texts=texts,
    )
    return pdf
