"""The barrier and trust profile (both partners per scale, the gap between them, reliable changes)
and the heatmap of scale by check-in per partner. Pure builders: data in, `go.Figure` out.

Scales of one instrument point different ways (trust: higher is better; barriers: higher is
worse), so both charts place every score on its scale's own range turned so that the better end
is on the right (profile) or the same colour (heatmap). Hovers always show the score itself."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics.charts.progress import FONT, PARTNER_COLOURS, PARTNER_DASH, PARTNER_SYMBOLS
from analytics.charts.text import plain

PARTNERS = ("A", "B")
# Okabe-Ito bluish green and vermillion: told apart with the common colour-vision deficiencies,
# and the rings differ in shape too.
BETTER_COLOUR = "#009E73"
WORSE_COLOUR = "#D55E00"
# A mid grey reads on both Streamlit themes (white and near-black backgrounds).
GAP_COLOUR = "rgba(128, 128, 128, 0.45)"
GAP_WIDE_COLOUR = "rgba(128, 128, 128, 0.9)"
CUTOFF_COLOUR = "#888888"
# Viridis, from dark purple (the worse end) to yellow (the better end): perceptually even and
# colour-blind safe.
HEAT_COLOURS = [
    [0.0, "#440154"],
    [0.25, "#3B528B"],
    [0.5, "#21918C"],
    [0.75, "#5EC962"],
    [1.0, "#FDE725"],
]
IMPROVED = ("improved", "recovered")
DETERIORATED = ("deteriorated",)
CATEGORY_WORDS = {
    "recovered": "recovered: better beyond measurement noise, out of the distressed range",
    "improved": "better beyond measurement noise",
    "unchanged": "no change beyond measurement noise",
    "deteriorated": "worse beyond measurement noise",
    "not_enough_data": "change needs a second check-in",
    "no_reliable_change_figure": "cannot tell (no reliable-change figure for this scale)",
}
TRANSPARENT = "rgba(0,0,0,0)"


@dataclass(frozen=True)
class Scale:
    """One scale as the charts need it."""

    code: str
    label: str
    position: int
    direction: str  # higher_better | higher_worse
    low: float
    high: float
    cutoff: float | None

    def place(self, score: float) -> float:
        """Where a score sits on this scale, 0 (worst possible) to 1 (best possible)."""
        return toward_better(float(score), self.low, self.high, self.direction)

    def range_words(self) -> str:
        """The scale's range and direction in words: "0–6, higher is better"."""
        way = "higher is better" if self.direction == "higher_better" else "higher is worse"
        return f"{self.low:g}–{self.high:g}, {way}"


def scale_info(scales: pd.DataFrame) -> dict[str, Scale]:
    """Scale code -> Scale, in the frame's order."""
    return {
        str(code): Scale(
            str(code),
            str(label),
            int(position),
            str(direction),
            float(low),
            float(high),
            None if _missing(cutoff) else float(cutoff),
        )
        for code, label, position, direction, low, high, cutoff in zip(
            scales["scale_code"],
            scales["scale_label"],
            scales["position"],
            scales["direction"],
            scales["score_min"],
            scales["score_max"],
            scales["cutoff"],
            strict=True,
        )
    }


def toward_better(score: float, low: float, high: float, direction: str) -> float:
    """Where a score sits on its scale, 0 (worst possible) to 1 (best possible)."""
    if high <= low:
        return 0.5
    share = (float(score) - low) / (high - low)
    return share if direction == "higher_better" else 1.0 - share


def _missing(value: object) -> bool:
    """None, NaN, NaT or pandas' NA: no value."""
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )


def _words(value: object) -> str:
    return "" if _missing(value) else plain(value)


def concern_order(scales: pd.DataFrame, partners: pd.DataFrame) -> list[str]:
    """Scale codes, most concerning first: the partner nearer the worse end at the latest
    check-in decides, then the other partner, then questionnaire order."""
    latest: dict[str, list[float]] = {}
    for code, value in zip(partners["scale_code"], partners["latest"], strict=True):
        if not _missing(value):
            latest.setdefault(str(code), []).append(float(value))
    keyed = []
    for s in scale_info(scales).values():
        places = sorted(s.place(v) for v in latest.get(s.code, []))
        # Scales nobody scored go last; otherwise the worst place first, then the other.
        key = (0 if places else 1, *[*places, 2.0, 2.0][:2], s.position)
        keyed.append((key, s.code))
    return [code for _, code in sorted(keyed)]


def _hover(
    scale: Scale,
    row: Mapping[Hashable, Any],
    names: dict[str, str],
    gap: Mapping[Hashable, Any] | None,
) -> str:
    """What one partner's latest point means, in plain words (every piece escaped)."""
    label = str(row["partner"])
    lines = [
        f"<b>{plain(scale.label)}</b>",
        f"{plain(names.get(label, 'Partner ' + label))}",
        f"Latest ({row['latest_at']:%d %b %Y}): {float(row['latest']):.1f}"
        f" on {scale.range_words()}",
    ]
    band = _words(row.get("latest_band"))
    if band:
        meaning = _words(row.get("latest_band_meaning"))
        lines.append(f"Range: {band}" + (f" – {meaning}" if meaning else ""))
    if scale.cutoff is not None:
        side = "distressed side" if bool(row.get("latest_distressed")) else "non-distressed side"
        lines.append(f"On the {side} of the cutoff {scale.cutoff:.1f}")
    if int(row["n_scores"]) >= 2:
        lines.append(
            f"First check-in: {float(row['baseline']):.1f}; change {float(row['change']):+.1f}"
        )
    lines.append("Change: " + CATEGORY_WORDS.get(str(row["category"]), plain(row["category"])))
    if gap is not None:
        beyond = " (beyond measurement noise)" if bool(gap["exceeds_noise"]) else ""
        lines.append(
            f"Partners {abs(float(gap['latest_gap'])):.1f} points apart in the week of"
            f" {gap['latest_week']:%d %b %Y}{beyond}"
        )
    return "<br>".join(lines)


def profile_chart(
    scales: pd.DataFrame,
    partners: pd.DataFrame,
    gaps: pd.DataFrame,
    names: dict[str, str],
    *,
    title: str,
) -> go.Figure:
    """Both partners per scale at the latest check-in (and faintly at the first), joined by the
    gap between them, most concerning scale on top, reliable changes ringed.

    Args:
        scales: one row per scale (those nobody scored are left out): scale_code,
            scale_label, position, direction, score_min, score_max, cutoff (NaN if none).
        partners: one row per partner and scored scale (clinical.change.partner_change):
            scale_code, partner, n_scores, baseline, latest, latest_at, change, category,
            latest_band, latest_band_meaning, latest_distressed.
        gaps: one row per scale both partners scored in one week (clinical.gaps.scale_gaps):
            scale_code, latest_gap, latest_week, exceeds_noise.
        names: partner label -> name for the legend (escaped here).
    """
    info = scale_info(scales)
    # Scales nobody has a score on yet are left out (the page names them).
    scored = set(partners.loc[partners["latest"].notna(), "scale_code"].astype(str))
    order = [c for c in concern_order(scales, partners) if c in scored]
    ylabels = {code: plain(info[code].label) for code in order}
    # Records, not iterrows: a pandas row per scale costs more than the whole chart.
    gap_by = {str(g["scale_code"]): g for g in gaps.to_dict("records")}

    def place(code: str, value: float) -> float:
        return round(100 * info[code].place(value), 2)

    fig = go.Figure()
    # Gap lines first, so the partners' markers sit on top. Only where both partners scored.
    latest = {
        (str(r["scale_code"]), str(r["partner"])): r
        for r in partners.to_dict("records")
        if not _missing(r["latest"])
    }
    for wide, name, colour, width in (
        (False, "Gap between partners", GAP_COLOUR, 5),
        (True, "Gap beyond measurement noise", GAP_WIDE_COLOUR, 7),
    ):
        xs: list[float | None] = []
        ys: list[str | None] = []
        for code in order:
            a, b = latest.get((code, "A")), latest.get((code, "B"))
            if a is None or b is None:
                continue
            gap = gap_by.get(code)
            if (gap is not None and bool(gap["exceeds_noise"])) != wide:
                continue
            xs += [place(code, a["latest"]), place(code, b["latest"]), None]
            ys += [ylabels[code], ylabels[code], None]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                name=name,
                mode="lines",
                line=dict(color=colour, width=width),
                hoverinfo="skip",
                showlegend=bool(xs),
            )
        )
    # Cutoffs: only scales that have one; the distressed side is always to the left.
    cut = [(c, k) for c in order if (k := info[c].cutoff) is not None]
    fig.add_trace(
        go.Scatter(
            x=[place(c, k) for c, k in cut],
            y=[ylabels[c] for c, _ in cut],
            name="Cutoff (distressed range to its left)",
            mode="markers",
            marker=dict(symbol="line-ns-open", size=22, color=CUTOFF_COLOUR, line=dict(width=2)),
            hovertext=[f"Cutoff {k:.1f} on {info[c].range_words()}" for c, k in cut],
            hoverinfo="text",
            showlegend=bool(cut),
        )
    )
    for label in PARTNERS:
        rows = [latest[(c, label)] for c in order if (c, label) in latest]
        name = plain(names.get(label, f"Partner {label}"))
        if not rows:
            fig.add_trace(
                go.Scatter(
                    x=[],
                    y=[],
                    name=f"{name}: no check-ins yet",
                    mode="markers",
                    marker=dict(color=PARTNER_COLOURS[label], symbol=PARTNER_SYMBOLS[label]),
                    legendgroup=label,
                )
            )
            continue
        first = [r for r in rows if int(r["n_scores"]) >= 2]
        fig.add_trace(
            go.Scatter(
                x=[place(str(r["scale_code"]), r["baseline"]) for r in first],
                y=[ylabels[str(r["scale_code"])] for r in first],
                name=f"{name}, first check-in",
                mode="markers",
                opacity=0.4,
                marker=dict(
                    symbol=f"{PARTNER_SYMBOLS[label]}-open",
                    size=10,
                    color=PARTNER_COLOURS[label],
                    line=dict(width=2),
                ),
                hovertext=[
                    f"{plain(info[str(r['scale_code'])].label)}<br>{name}<br>First"
                    f" check-in ({r['baseline_at']:%d %b %Y}): {float(r['baseline']):.1f}"
                    for r in first
                ],
                hoverinfo="text",
                legendgroup=label,
                showlegend=bool(first),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[place(str(r["scale_code"]), r["latest"]) for r in rows],
                y=[ylabels[str(r["scale_code"])] for r in rows],
                name=f"{name}, latest",
                mode="markers",
                marker=dict(
                    symbol=PARTNER_SYMBOLS[label],
                    size=13,
                    color=PARTNER_COLOURS[label],
                    line=dict(width=1, color=PARTNER_COLOURS[label]),
                ),
                # Unused by markers, kept so every partner trace carries the same style set.
                line=dict(dash=PARTNER_DASH[label], color=PARTNER_COLOURS[label]),
                hovertext=[
                    _hover(
                        info[str(r["scale_code"])],
                        r,
                        names,
                        gap_by.get(str(r["scale_code"]))
                        if (str(r["scale_code"]), "A") in latest
                        and (str(r["scale_code"]), "B") in latest
                        else None,
                    )
                    for r in rows
                ],
                hoverinfo="text",
                legendgroup=label,
            )
        )
    for categories, name, colour, symbol in (
        (IMPROVED, "Better beyond noise since the first check-in", BETTER_COLOUR, "circle-open"),
        (DETERIORATED, "Worse beyond noise since the first check-in", WORSE_COLOUR, "square-open"),
    ):
        marked = [
            r
            for c in order
            for label in PARTNERS
            if (r := latest.get((c, label))) is not None and str(r["category"]) in categories
        ]
        fig.add_trace(
            go.Scatter(
                x=[place(str(r["scale_code"]), r["latest"]) for r in marked],
                y=[ylabels[str(r["scale_code"])] for r in marked],
                customdata=[str(r["partner"]) for r in marked],
                name=name,
                mode="markers",
                marker=dict(symbol=symbol, size=24, color=colour, line=dict(width=2.5)),
                hovertext=[
                    f"{plain(info[str(r['scale_code'])].label)}<br>"
                    f"{plain(names.get(str(r['partner']), 'Partner ' + str(r['partner'])))}:"
                    f" {CATEGORY_WORDS[str(r['category'])]}"
                    f" ({float(r['baseline']):.1f} → {float(r['latest']):.1f})"
                    for r in marked
                ],
                hoverinfo="text",
                showlegend=bool(marked),
            )
        )
    fig.update_layout(
        title=dict(text=plain(title)),
        font=FONT,
        paper_bgcolor=TRANSPARENT,
        plot_bgcolor=TRANSPARENT,
        height=190 + 38 * max(len(order), 1),
        # The legend (up to six entries) sits under the axis, where it never covers the title.
        margin=dict(l=10, r=20, t=50, b=150),
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.01, x=0),
        hovermode="closest",
        xaxis=dict(
            range=[-4, 104],
            tickvals=[0, 25, 50, 75, 100],
            ticktext=["worst possible", "", "middle", "", "best possible"],
            title=dict(text="Where each score sits on its scale's range (hover for the score)"),
            zeroline=False,
        ),
        yaxis=dict(
            categoryorder="array",
            categoryarray=[ylabels[c] for c in order],
            # The most concerning scale on top.
            autorange="reversed",
            title=None,
        ),
    )
    return fig


def _column_labels(when: pd.Series) -> list[str]:
    """A check-in's date as a column label, numbered when a partner answered twice that day."""
    days = pd.Series([f"{t:%d %b %Y}" for t in when])
    nth = days.groupby(days).cumcount()
    return [d if n == 0 else f"{d} ({n + 1})" for d, n in zip(days, nth, strict=True)]


CELL_TEXT_COLUMNS = 16  # most check-ins per panel whose cells still show their score


def heatmap_chart(
    scales: pd.DataFrame,
    scores: pd.DataFrame,
    names: dict[str, str],
    *,
    title: str,
) -> go.Figure:
    """One heatmap per partner: scale by check-in, coloured so that the worse end of every scale
    has the same colour; each cell shows the score.

    Args:
        scales: as for `profile_chart` (rows in the order to show, top first).
        scores: one row per scored response and scale (clinical.scores.scale_scores):
            partner, scale_code, response_id, completed_at, score, band.
        names: partner label -> name for the panel titles (escaped here).
    """
    info = scale_info(scales)
    codes = list(info)
    ylabels = [plain(info[c].label) for c in codes]
    titles = []
    for label in PARTNERS:
        name = plain(names.get(label, f"Partner {label}"))
        has = bool((scores["partner"] == label).any())
        titles.append(name if has else f"{name}: no check-ins yet")
    traces = []
    for col, label in enumerate(PARTNERS, start=1):
        part = scores[(scores["partner"] == label) & scores["scale_code"].isin(codes)]
        sheets = part.drop_duplicates("response_id").sort_values("completed_at")
        columns = _column_labels(sheets["completed_at"])
        where = dict(zip(sheets["response_id"], range(len(sheets)), strict=True))
        # numpy grids: plotly checks a list of lists cell by cell (most of the chart's cost).
        z = np.full((len(codes), len(columns)), np.nan)
        text = np.full((len(codes), len(columns)), "", dtype=object)
        hover = np.full((len(codes), len(columns)), "Not scored", dtype=object)
        row_of = {c: i for i, c in enumerate(codes)}
        bands = part["band"] if "band" in part else pd.Series([None] * len(part))
        for code, response, score, band_label in zip(
            part["scale_code"], part["response_id"], part["score"], bands, strict=True
        ):
            i, j, s = row_of[str(code)], where[response], info[str(code)]
            z[i, j] = round(s.place(score), 3)
            text[i, j] = f"{float(score):.1f}"
            band = _words(band_label)
            hover[i, j] = (
                f"<b>{ylabels[i]}</b><br>{columns[j]}: {float(score):.1f} on {s.range_words()}"
                + (f"<br>Range: {band}" if band else "")
            )
        traces.append(
            go.Heatmap(
                xaxis="x" if col == 1 else "x2",
                x=columns,
                y=ylabels,
                z=z,
                # Scores in the cells while they fit and stay legible; beyond that the colour
                # carries the pattern and the hover the number (a year of weekly check-ins
                # would be 1,300 overlapping labels that also slow the page down).
                text=text if len(columns) <= CELL_TEXT_COLUMNS else None,
                texttemplate="%{text}" if len(columns) <= CELL_TEXT_COLUMNS else None,
                hovertext=hover,
                hoverinfo="text",
                name=plain(names.get(label, f"Partner {label}")),
                zmin=0,
                zmax=1,
                colorscale=HEAT_COLOURS,
                showscale=col == 1,
                xgap=2,
                ygap=2,
                colorbar=dict(
                    title=dict(text="Colour", side="top"),
                    tickvals=[0, 0.5, 1],
                    ticktext=["worse end of the scale", "middle", "better end of the scale"],
                    len=0.9,
                ),
            )
        )
    # Two panels side by side on one y axis, laid out by hand (make_subplots costs ~30 ms).
    panel = dict(type="category", tickangle=-45, anchor="y")
    fig = go.Figure(data=traces)
    fig.update_layout(
        xaxis=dict(panel, domain=[0.0, 0.48]),
        xaxis2=dict(panel, domain=[0.52, 1.0]),
        yaxis=dict(categoryorder="array", categoryarray=ylabels, autorange="reversed"),
        annotations=[
            dict(
                text=text,
                x=x,
                y=1.0,
                xref="paper",
                yref="paper",
                xanchor="center",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=14),
            )
            for text, x in zip(titles, (0.24, 0.76), strict=True)
        ],
        title=dict(text=plain(title)),
        font=FONT,
        paper_bgcolor=TRANSPARENT,
        plot_bgcolor=TRANSPARENT,
        height=160 + 34 * max(len(codes), 1),
        margin=dict(l=10, r=10, t=90, b=90),
    )
    return fig
