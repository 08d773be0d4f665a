"""Plotly figure builders. Figures are self-contained: no web fonts, no MathJax, no CDN.

The progress chart puts both partners on one scale over time: the distressed range shaded and
named, the check-in ringed from which the clinical SQL finds a partner's change (since the
first check-in) beyond measurement noise, and events (sessions, safety answers, repair
milestones) marked on the time axis with their details on hover. Every piece of text that
people or files supply is escaped (analytics.charts.text.plain).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.text import plain

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies. Partner A is
# always blue and solid, B always orange and dashed, on every chart, so therapists learn it once.
PARTNER_COLOURS = {"A": "#0072B2", "B": "#E69F00"}
PARTNER_SYMBOLS = {"A": "circle", "B": "diamond"}
PARTNER_DASH = {"A": "solid", "B": "dash"}
FONT = dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13)
TRANSPARENT = "rgba(0,0,0,0)"
# Okabe-Ito vermillion, faint: the distressed range, readable on white and near-black.
DISTRESSED_FILL = "rgba(213, 94, 0, 0.12)"
DISTRESSED_TEXT = "rgba(213, 94, 0, 0.95)"
# Okabe-Ito bluish green (better) and vermillion (worse) rings, as on the profile chart.
BETTER_COLOUR = "#009E73"
WORSE_COLOUR = "#D55E00"
IMPROVED = ("improved", "recovered")
DETERIORATED = ("deteriorated",)
CHANGE_WORDS = {
    "recovered": "recovered: better beyond measurement noise, out of the distressed range",
    "improved": "better beyond measurement noise",
    "deteriorated": "worse beyond measurement noise",
}
NOTE_WIDTH = 60  # characters per hover line of a session note


@dataclass(frozen=True)
class MarkStyle:
    """How one kind of event on the time axis is drawn."""

    name: str  # legend entry (our words)
    colour: str
    dash: str  # the vertical line's dash
    symbol: str  # the hover marker at the top of the plot


# The kinds of event drawn on the time axis; the view passes their TimeMarks.
MARK_STYLES = {
    "session": MarkStyle(
        "Session (hover for the note)", "rgba(128, 128, 128, 0.9)", "dot", "line-ns"
    ),
    "safety": MarkStyle("Safety answer", "#D62728", "solid", "x"),
    # Okabe-Ito reddish purple: apart from the partners' blue and orange and the safety red.
    "repair": MarkStyle("Repair milestone", "#CC79A7", "dashdot", "star"),
}


@dataclass(frozen=True)
class TimeMark:
    """One event on the time axis: a session, a safety answer or a repair milestone change."""

    kind: str  # a key of MARK_STYLES
    when: pd.Timestamp
    hover: str  # already escaped: built with `plain` from any text people or files supply


@dataclass(frozen=True)
class ScaleFacts:
    """What the progress chart needs to know about the scale shown (from scale_criteria)."""

    label: str
    low: float
    high: float
    direction: str  # higher_better | higher_worse
    cutoff: float | None  # None: no cutoff (no distressed range to shade)

    def distressed(self, score: float) -> bool | None:
        """Whether a score is on the distressed side of the cutoff (None without a cutoff);
        the same rule as the SQL's baseline_distressed / latest_distressed."""
        if self.cutoff is None:
            return None
        sign = 1 if self.direction == "higher_better" else -1
        return sign * (score - self.cutoff) < 0

    def range_words(self) -> str:
        """The distressed range in words: "distressed range (below 2.5)"."""
        side = "below" if self.direction == "higher_better" else "above"
        return f"distressed range ({side} {self.cutoff:g})"

    def meaning(self, score: float) -> str:
        """What a score means against the cutoff, in plain words."""
        if self.cutoff is None:
            return "no published cutoff for this scale"
        if self.distressed(score):
            side = "below" if self.direction == "higher_better" else "above"
            return f"in the distressed range ({side} the cutoff {self.cutoff:g})"
        side = "at or above" if self.direction == "higher_better" else "at or below"
        return f"outside the distressed range ({side} the cutoff {self.cutoff:g})"


def _missing(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )


def wrapped(text: object, width: int = NOTE_WIDTH) -> str:
    """Free text for a hover: escaped, wrapped onto short lines (Plotly hovers never wrap)."""
    lines = textwrap.wrap(str(text), width=width, break_long_words=True) or [""]
    return "<br>".join(plain(line) for line in lines)


def _point_hover(
    facts: ScaleFacts, when: pd.Timestamp, score: float, band: object, band_meaning: object
) -> str:
    lines = [f"{when:%d %b %Y}: {score:.1f} on {plain(facts.label)}"]
    if not _missing(band):
        meaning = "" if _missing(band_meaning) else f" – {plain(band_meaning)}"
        lines.append(f"Range: {plain(band)}{meaning}")
    lines.append(facts.meaning(score).capitalize())
    return "<br>".join(lines)


def score_chart(
    scores: pd.DataFrame,
    names: dict[str, str],
    *,
    scale_label: str,
    score_range: tuple[float, float],
    title: str,
    direction: str = "higher_better",
    cutoff: float | None = None,
    steps: pd.DataFrame | None = None,
    marks: Sequence[TimeMark] = (),
    partners: Sequence[str] = ("A", "B"),
) -> go.Figure:
    """Both partners' scores on one scale over time.

    Args:
        scores: rows with partner (A/B), completed_at, score and (optional) band and
            band_meaning (see clinical.scores).
        names: partner label -> name shown in the legend (escaped here, shown literally).
        scale_label: the axis title; score_range: the scale's lowest and highest score.
        direction, cutoff: the scale's direction and the cutoff used (None: no shading).
        steps: one row per partner and check-in from the clinical SQL (checkin_change):
            partner, completed_at, baseline, score, category, previous_category. Where a
            partner's change since the first check-in is reliable at the latest check-in, the
            check-in from which it has held is ringed and labelled.
        marks: events drawn on the time axis (dotted lines, details on hover).
        partners: whose series to draw (a per-partner client report draws one partner only:
            the other is left out entirely, not even named in the legend).
    """
    low, high = score_range
    facts = ScaleFacts(scale_label, low, high, direction, cutoff)
    pad = (high - low) * 0.04
    # partner -> the check-in (its steps row) from which the partner's current reliable change
    # has held: where the category since the first check-in last turned reliable. Scores that
    # wobble around the threshold would otherwise ring a point every few weeks; the therapist's
    # question is "since when has this partner been better (or worse) beyond noise?".
    since: dict[str, Any] = {}
    if steps is not None and not steps.empty:
        for row in steps.sort_values("completed_at").itertuples():
            label, category = str(row.partner), str(row.category)
            if category not in IMPROVED + DETERIORATED:
                since.pop(label, None)
            elif category != row.previous_category:
                since[label] = row
    traces: list[dict[str, object]] = []
    annotations: list[dict[str, object]] = []
    for label in partners:
        part = scores[scores["partner"] == label].sort_values("completed_at")
        name = plain(names.get(label, f"Partner {label}"))
        if part.empty:
            # Kept in the legend, so the chart itself says who has not checked in.
            traces.append(
                dict(
                    type="scatter",
                    x=[],
                    y=[],
                    name=f"{name}: no check-ins yet",
                    mode="markers",
                    line=dict(color=PARTNER_COLOURS[label], dash=PARTNER_DASH[label]),
                    marker=dict(symbol=PARTNER_SYMBOLS[label], color=PARTNER_COLOURS[label]),
                )
            )
            continue
        bands = part["band"] if "band" in part else pd.Series([None] * len(part))
        meanings = part["band_meaning"] if "band_meaning" in part else pd.Series([None] * len(part))
        hovers = [
            _point_hover(facts, pd.Timestamp(t), float(s), b, m)
            for t, s, b, m in zip(part["completed_at"], part["score"], bands, meanings, strict=True)
        ]
        sizes = [8] * len(part)
        ring_widths = [0] * len(part)
        ring_colours = [PARTNER_COLOURS[label]] * len(part)
        index = {pd.Timestamp(t): i for i, t in enumerate(part["completed_at"])}
        mark: Any = since.get(label)
        at = None if mark is None else index.get(pd.Timestamp(mark.completed_at))
        if at is not None:  # a point the scores show (always, normally)
            i = at
            better = str(mark.category) in IMPROVED
            colour = BETTER_COLOUR if better else WORSE_COLOUR
            sizes[i], ring_widths[i], ring_colours[i] = 15, 3, colour
            hovers[i] += (
                f"<br>Since the first check-in: {float(mark.baseline):.1f} →"
                f" {float(mark.score):.1f}, {CHANGE_WORDS[str(mark.category)]},"
                " and so at every check-in since"
            )
            annotations.append(
                dict(
                    x=part["completed_at"].iloc[i],
                    y=round(float(part["score"].iloc[i]), 2),
                    text=f"{label}: {'better' if better else 'worse'} beyond noise from here",
                    showarrow=True,
                    arrowhead=2,
                    arrowcolor=colour,
                    ax=0,
                    ay=-36 if label == "A" else 36,
                    font=dict(color=colour),
                    bgcolor=TRANSPARENT,
                    name=f"reliable_change_{label}",
                )
            )
        traces.append(
            dict(
                type="scatter",
                x=part["completed_at"],
                y=part["score"].round(2),
                name=name,
                hovertext=hovers,
                mode="lines+markers",
                line=dict(color=PARTNER_COLOURS[label], width=2.5, dash=PARTNER_DASH[label]),
                marker=dict(
                    symbol=PARTNER_SYMBOLS[label],
                    size=sizes,
                    color=PARTNER_COLOURS[label],
                    line=dict(width=ring_widths, color=ring_colours),
                ),
                hovertemplate="%{hovertext}<extra>%{fullData.name}</extra>",
            )
        )
    shapes: list[dict[str, object]] = []
    if cutoff is not None:
        below = direction == "higher_better"
        shapes.append(
            dict(
                type="rect",
                xref="paper",
                x0=0,
                x1=1,
                yref="y",
                y0=low - pad if below else cutoff,
                y1=cutoff if below else high + pad,
                fillcolor=DISTRESSED_FILL,
                line=dict(width=0),
                layer="below",
                name="distressed_range",
            )
        )
        annotations.append(
            dict(
                xref="paper",
                x=0.005,
                xanchor="left",
                y=cutoff,
                yanchor="top" if below else "bottom",
                text=facts.range_words(),
                showarrow=False,
                font=dict(color=DISTRESSED_TEXT, size=12),
                name="distressed_range",
            )
        )
    for kind, style in MARK_STYLES.items():
        mine = [m for m in marks if m.kind == kind]
        if not mine:
            continue
        # One trace of vertical lines per kind (a shape per event would cost Plotly ~1 ms each),
        # with a marker at the top of each line that carries the hover (lines have none).
        xs: list[pd.Timestamp | None] = []
        ys: list[float | None] = []
        for m in mine:
            xs += [m.when, m.when, None]
            ys += [low - pad, high + pad, None]
        traces.append(
            dict(
                type="scatter",
                x=xs,
                y=ys,
                name=style.name,
                mode="lines",
                line=dict(color=style.colour, width=1.5, dash=style.dash),
                hoverinfo="skip",
                showlegend=False,
                legendgroup=kind,
                meta=f"{kind}_lines",
            )
        )
        traces.append(
            dict(
                type="scatter",
                x=[m.when for m in mine],
                y=[high + pad] * len(mine),
                name=style.name,
                mode="markers",
                marker=dict(
                    symbol=style.symbol,
                    size=12,
                    color=style.colour,
                    line=dict(width=2, color=style.colour),
                ),
                hovertext=[m.hover for m in mine],
                hovertemplate="%{hovertext}<extra></extra>",
                cliponaxis=False,
                legendgroup=kind,
                meta=kind,
            )
        )
    # One validation pass over plain dicts: much faster than add_trace per trace.
    return go.Figure(
        data=traces,
        layout=dict(
            title=dict(text=plain(title)),
            font=FONT,
            paper_bgcolor=TRANSPARENT,
            plot_bgcolor=TRANSPARENT,
            legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
            margin=dict(l=40, r=20, t=70, b=40),
            yaxis=dict(
                title=plain(f"{scale_label} ({low:g}–{high:g})"),
                range=[low - pad, high + pad],
                gridcolor="rgba(128, 128, 128, 0.2)",
            ),
            xaxis=dict(title=None, gridcolor="rgba(128, 128, 128, 0.2)"),
            hovermode="closest",
            shapes=shapes,
            annotations=annotations,
        ),
    )
