"""The repair timeline: the four milestones of a repair case as lanes over time, each stretch
coloured by its status, with the hurt partner's trust ratings overlaid on a second axis and
their reliable changes marked.

Status colours come from the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies) at full strength, so they read on a light and on a dark background; the status
is also in the legend and in every hover, never in colour alone. Text people or files supply
(names, scale labels) is escaped (analytics.charts.text.plain).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.progress import (
    BETTER_COLOUR,
    CHANGE_WORDS,
    DETERIORATED,
    FONT,
    IMPROVED,
    PARTNER_COLOURS,
    TRANSPARENT,
    WORSE_COLOUR,
)
from analytics.charts.text import plain

LANES = ("Acknowledgment", "Apology and repair", "Rebuilding time", "Consistent reliability")


@dataclass(frozen=True)
class StatusStyle:
    name: str  # legend entry, plain words
    colour: str


STATUS_STYLES = {
    "not_started": StatusStyle("Not started", "#999999"),
    "in_progress": StatusStyle("In progress", "#56B4E9"),
    "reached": StatusStyle("Reached", "#009E73"),
    "revisited": StatusStyle("Revisited (moved back)", "#CC79A7"),
}
LANE_WIDTH = 16  # px: a lane is a thick line
# One line style per trust scale shown, in the order given (the partner's colour throughout).
TRUST_DASH = ("solid", "dot", "dash", "dashdot")
TRUST_SYMBOLS = ("circle", "square", "diamond", "triangle-up")


@dataclass(frozen=True)
class Segment:
    """One stretch of one milestone in one status, from `start` to `end` (exclusive)."""

    milestone: int
    status: str
    start: dt.date
    end: dt.date


def _day(value: object) -> dt.date:
    return pd.Timestamp(value).date()  # type: ignore[arg-type]


def segments(events: pd.DataFrame, *, started_on: dt.date, ends_on: dt.date) -> list[Segment]:
    """The stretches of each milestone in each status between the case's start and `ends_on`
    (its close, or the day shown). `events`: effective_on, milestone, status, in the order
    they were entered within a day; each milestone is not started until its first change."""
    ordered = events.assign(_day=[_day(d) for d in events["effective_on"]])
    ordered = ordered.sort_values("_day", kind="mergesort")
    found = []
    for milestone in (1, 2, 3, 4):
        mine = ordered[ordered["milestone"] == milestone]
        points: list[tuple[dt.date, str]] = [(started_on, "not_started")]
        for day, status in zip(mine["_day"], mine["status"], strict=True):
            if day > ends_on:
                break
            if status == points[-1][1]:
                continue  # the same status recorded again (a review): one stretch
            if day == points[-1][0]:
                points[-1] = (day, str(status))  # changed again the same day: the later holds
            else:
                points.append((day, str(status)))
        for (start, status), (end, _) in zip(points, [*points[1:], (ends_on, "")], strict=True):
            if end > start or (end == start and start == ends_on and status != "not_started"):
                found.append(Segment(milestone, status, start, max(end, start)))
    return found


def _segment_hover(seg: Segment) -> str:
    days = (seg.end - seg.start).days
    return (
        f"{LANES[seg.milestone - 1]}: {STATUS_STYLES[seg.status].name.lower()}<br>"
        f"{seg.start:%d %b %Y} – {seg.end:%d %b %Y} ({days} day{'s' if days != 1 else ''})"
    )


def repair_timeline(
    events: pd.DataFrame,
    *,
    started_on: dt.date,
    ends_on: dt.date,
    title: str,
    trust: pd.DataFrame | None = None,
    trust_changes: pd.DataFrame | None = None,
    partner: str = "A",
    partner_name: str = "",
    score_range: tuple[float, float] = (0.0, 6.0),
) -> go.Figure:
    """The milestones of one repair case as four lanes over time, with the hurt partner's trust.

    Args:
        events: the case's milestone changes: effective_on, milestone (1-4), status, in the
            order entered.
        started_on, ends_on: the case's start, and its close or the day shown.
        title: the chart's title (escaped here).
        trust: the hurt partner's scores on the trust scales shown: scale_code, scale_label,
            completed_at, score. None or empty: no overlay.
        trust_changes: per trust scale, from the clinical SQL (scale_change): scale_code,
            category, latest_at, latest, baseline. A reliable improvement or deterioration
            rings the latest point and labels it.
        partner, partner_name: the hurt partner's label (A/B: their colour) and name (escaped).
        score_range: the trust scales' lowest and highest score (the second axis).
    """
    traces: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = []
    spans = segments(events, started_on=started_on, ends_on=ends_on)
    for status, style in STATUS_STYLES.items():
        mine = [s for s in spans if s.status == status]
        xs: list[dt.date | None] = []
        ys: list[str | None] = []
        hovers: list[str | None] = []
        for seg in mine:
            xs += [seg.start, seg.end, None]
            ys += [LANES[seg.milestone - 1]] * 2 + [None]
            hovers += [_segment_hover(seg)] * 2 + [None]
        traces.append(
            dict(
                type="scatter",
                x=xs,
                y=ys,
                name=style.name,
                mode="lines",
                line=dict(color=style.colour, width=LANE_WIDTH),
                hovertext=hovers,
                hovertemplate="%{hovertext}<extra></extra>",
                legendgroup="status",
                legendgrouptitle=dict(text="Milestone status"),
                showlegend=True,
                # In the legend even when no stretch has this status: the key stays the same.
                visible=True,
                meta=f"status_{status}",
            )
        )
    has_trust = trust is not None and not trust.empty
    if has_trust:
        assert trust is not None
        low, high = score_range
        who = plain(partner_name) if partner_name else f"Partner {partner}"
        colour = PARTNER_COLOURS.get(partner, "#0072B2")
        scales = list(dict.fromkeys(trust["scale_code"]))
        for k, code in enumerate(scales):
            part = trust[trust["scale_code"] == code].sort_values("completed_at")
            label = plain(part["scale_label"].iloc[0])
            hovers_t = [
                f"{pd.Timestamp(t):%d %b %Y}: {float(s):.1f} on {label} ({who})"
                for t, s in zip(part["completed_at"], part["score"], strict=True)
            ]
            sizes = [7] * len(part)
            rings = [0] * len(part)
            ring_colours = [colour] * len(part)
            mark = None
            if trust_changes is not None and not trust_changes.empty:
                rows = trust_changes[trust_changes["scale_code"] == code]
                if len(rows) and str(rows.iloc[0]["category"]) in IMPROVED + DETERIORATED:
                    mark = rows.iloc[0]
            if mark is not None:
                at = [
                    i
                    for i, t in enumerate(part["completed_at"])
                    if pd.Timestamp(t) == pd.Timestamp(mark["latest_at"])
                ]
                if at:
                    i = at[-1]
                    better = str(mark["category"]) in IMPROVED
                    ring = BETTER_COLOUR if better else WORSE_COLOUR
                    sizes[i], rings[i], ring_colours[i] = 14, 3, ring
                    hovers_t[i] += (
                        f"<br>Since the first check-in: {float(mark['baseline']):.1f} →"
                        f" {float(mark['latest']):.1f}, {CHANGE_WORDS[str(mark['category'])]}"
                    )
                    annotations.append(
                        dict(
                            x=part["completed_at"].iloc[i],
                            y=round(float(part["score"].iloc[i]), 2),
                            xref="x",
                            yref="y2",
                            text=f"{label}: {'better' if better else 'worse'} beyond noise",
                            showarrow=True,
                            arrowhead=2,
                            arrowcolor=ring,
                            ax=0,
                            ay=-34 if k % 2 == 0 else 34,
                            font=dict(color=ring),
                            bgcolor=TRANSPARENT,
                            name=f"reliable_change_{code}",
                        )
                    )
            traces.append(
                dict(
                    type="scatter",
                    x=list(part["completed_at"]),
                    y=[round(float(v), 2) for v in part["score"]],
                    yaxis="y2",
                    name=f"{label} ({who})",
                    mode="lines+markers",
                    line=dict(color=colour, width=2, dash=TRUST_DASH[k % len(TRUST_DASH)]),
                    marker=dict(
                        symbol=TRUST_SYMBOLS[k % len(TRUST_SYMBOLS)],
                        size=sizes,
                        color=colour,
                        line=dict(width=rings, color=ring_colours),
                    ),
                    hovertext=hovers_t,
                    hovertemplate="%{hovertext}<extra></extra>",
                    legendgroup="trust",
                    legendgrouptitle=dict(text="Hurt partner's trust"),
                    meta=f"trust_{code}",
                )
            )
    layout: dict[str, object] = dict(
        title=dict(text=plain(title)),
        font=FONT,
        paper_bgcolor=TRANSPARENT,
        plot_bgcolor=TRANSPARENT,
        height=380,
        margin=dict(l=10, r=10, t=60, b=40),
        hovermode="closest",
        legend=dict(orientation="h", yanchor="top", y=-0.12, x=0, groupclick="toggleitem"),
        xaxis=dict(type="date", title=None, showgrid=True, gridcolor="rgba(128,128,128,0.2)"),
        yaxis=dict(
            type="category",
            categoryorder="array",
            # The first milestone on top, read downwards as the work goes on.
            categoryarray=list(reversed(LANES)),
            range=[-0.6, len(LANES) - 0.4],
            title=None,
            fixedrange=True,
            automargin=True,
        ),
        annotations=annotations,
    )
    if has_trust:
        low, high = score_range
        pad = (high - low) * 0.05
        layout["yaxis2"] = dict(
            overlaying="y",
            side="right",
            range=[low - pad, high + pad],
            title=dict(text="Trust rating"),
            # Whole points of the rating scale (the lanes' categories set no numeric ticks).
            tickmode="linear",
            tick0=low,
            dtick=1 if high - low <= 12 else None,
            showgrid=False,
            fixedrange=True,
            zeroline=False,
        )
    return go.Figure(data=traces, layout=layout)
