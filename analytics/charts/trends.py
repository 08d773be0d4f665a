"""Every scale over time as small multiples, and one scale's items answer by answer. Pure
builders: data in, `go.Figure` out.

Small multiples keep each scale's own score on its own full range (never autoscaled, so a small
wobble never looks like a swing). When every scale shown has the same range (the built-in
check-in: all 0-6) the y axes are one shared axis; otherwise each mini-chart keeps its range,
named on its axis. The time axis is always shared. Item charts show the answer as given (before
any reverse keying), its tick labels the instrument's own response labels.

Both figures are assembled as plain dicts and handed to Plotly once: building them call by call
(make_subplots, add_trace per cell) spends ~200 ms validating, ten times the work itself."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.progress import FONT, PARTNER_COLOURS, PARTNER_DASH, PARTNER_SYMBOLS
from analytics.charts.text import plain

PARTNERS = ("A", "B")
TRANSPARENT = "rgba(0,0,0,0)"
CUTOFF_COLOUR = "#888888"  # a mid grey reads on both Streamlit themes
# Partner A's marker is drawn larger, so that an identical answer by B (a smaller diamond, drawn
# on top) leaves both visible.
MARKER_SIZES = {"A": 10, "B": 7}
COLUMNS = 3
ROW_HEIGHT = 190  # pixels per row of mini-charts
ITEM_ROW_HEIGHT = 210  # pixels per item: room for seven response labels on the y axis
WRAP = 90  # characters per line of an item's wording
GRID = "rgba(128,128,128,0.2)"


def _name(names: dict[str, str], label: str) -> str:
    return plain(names.get(label, f"Partner {label}"))


def _direction(direction: str) -> str:
    return "higher is better" if direction == "higher_better" else "higher is worse"


def _wrapped(text: str) -> str:
    """Escaped text, broken into lines Plotly can show (it never wraps by itself)."""
    return "<br>".join(plain(line) for line in textwrap.wrap(text, WRAP) or [""])


def _present(value: object) -> bool:
    return not (value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)))


def _suffix(k: int) -> str:
    """Plotly's axis numbering: x, x2, x3..."""
    return "" if k == 1 else str(k)


@dataclass(frozen=True)
class _Cell:
    k: int  # the cell's axes: x{k}, y{k}
    x: tuple[float, float]  # domain, as a share of the plotting area
    y: tuple[float, float]


def _grid(n: int, columns: int, *, hgap: float, vgap: float) -> list[_Cell]:
    """`n` cells in rows of `columns`, top left first; gaps as shares of the plotting area."""
    rows = math.ceil(n / columns)
    width = (1 - (columns - 1) * hgap) / columns
    height = (1 - (rows - 1) * vgap) / rows
    cells = []
    for index in range(n):
        r, c = divmod(index, columns)
        left, top = c * (width + hgap), 1 - r * (height + vgap)
        cells.append(_Cell(index + 1, (left, left + width), (max(top - height, 0.0), top)))
    return cells


def _axes(cell: _Cell, *, match_y: bool, dates: str) -> dict[str, Any]:
    """The x and y axes of one cell: every x axis is the first one (shared time), and every y
    axis too when `match_y`. Dates under every cell: the bottom row alone may not sit under
    every column, and a tall item chart's bottom is far from its top."""
    x: dict[str, Any] = dict(
        domain=list(cell.x),
        anchor=f"y{_suffix(cell.k)}",
        showgrid=True,
        gridcolor=GRID,
        tickformat=dates,
        showticklabels=True,
    )
    y: dict[str, Any] = dict(
        domain=list(cell.y),
        anchor=f"x{_suffix(cell.k)}",
        showgrid=True,
        gridcolor=GRID,
        zeroline=False,
    )
    if cell.k > 1:
        x["matches"] = "x"
        if match_y:
            y["matches"] = "y"
    return {f"xaxis{_suffix(cell.k)}": x, f"yaxis{_suffix(cell.k)}": y}


def _title(cell: _Cell, text: str, *, left: bool = False) -> dict[str, Any]:
    """A cell's title (escaped by the caller), above its plotting area."""
    return dict(
        text=text,
        x=cell.x[0] if left else (cell.x[0] + cell.x[1]) / 2,
        xanchor="left" if left else "center",
        y=cell.y[1],
        yanchor="bottom",
        xref="paper",
        yref="paper",
        showarrow=False,
        align="left",
        font=dict(size=12),
    )


def _trace(
    cell: _Cell,
    label: str,
    names: dict[str, str],
    part: pd.DataFrame,
    y: Sequence[float | None],
    words: list[str],
    hover: str,
    *,
    first: bool,
    size: int,
) -> dict[str, Any]:
    """One partner's line in one cell, in the partner's colour, dash and marker."""
    return dict(
        type="scatter",
        x=list(part["completed_at"]),
        y=list(y),
        xaxis=f"x{_suffix(cell.k)}",
        yaxis=f"y{_suffix(cell.k)}",
        name=_name(names, label),
        legendgroup=label,
        showlegend=first,
        customdata=[[w] for w in words],
        mode="lines+markers",
        line=dict(color=PARTNER_COLOURS[label], width=2, dash=PARTNER_DASH[label]),
        marker=dict(symbol=PARTNER_SYMBOLS[label], size=size),
        hovertemplate=hover + "%{x|%d %b %Y}: %{customdata[0]}<extra>%{fullData.name}</extra>",
    )


def _layout(title: str, height: int) -> dict[str, Any]:
    return dict(
        title=dict(text=plain(title)),
        font=FONT,
        height=height,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, yref="container"),
        margin=dict(l=40, r=20, t=90, b=30),
        paper_bgcolor=TRANSPARENT,
        plot_bgcolor=TRANSPARENT,
        hovermode="closest",
    )


def small_multiples(
    scales: pd.DataFrame,
    scores: pd.DataFrame,
    names: dict[str, str],
    *,
    title: str,
    columns: int = COLUMNS,
) -> go.Figure:
    """One mini-chart per scale, both partners in each, the time axis shared by all.

    Args:
        scales: one row per scale, in the order shown: scale_code, scale_label, direction,
            score_min, score_max, cutoff (NaN when the scale has none).
        scores: one row per partner, scale and check-in: partner (A/B), scale_code,
            completed_at, score, and optionally band.
        names: partner label -> name for the legend (escaped here).
    """
    n = max(len(scales), 1)
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    ranges = {
        (float(lo), float(hi))
        for lo, hi in zip(scales["score_min"], scales["score_max"], strict=True)
    }
    same_range = len(ranges) == 1
    height = ROW_HEIGHT * rows
    cells = _grid(
        len(scales), columns, hgap=0.04 if same_range else 0.07, vgap=min(0.5, 60 / height)
    )
    layout = _layout(title, height + 110)
    traces: list[dict[str, Any]] = []
    titles: list[dict[str, Any]] = []
    shapes: list[dict[str, Any]] = []
    by_cell = {
        key: part
        for key, part in scores.sort_values("completed_at").groupby(["scale_code", "partner"])
    }
    empty = scores.iloc[:0]
    for cell, scale in zip(cells, scales.to_dict("records"), strict=True):
        low, high = float(scale["score_min"]), float(scale["score_max"])
        pad = (high - low) * 0.06
        axes = _axes(cell, match_y=same_range, dates="%d %b")
        yaxis = axes[f"yaxis{_suffix(cell.k)}"]
        yaxis["range"] = [low - pad, high + pad]
        if not same_range:
            yaxis["title"] = dict(text=f"{low:g}–{high:g}", font=dict(size=11))
        layout.update(axes)
        label_text = plain(scale["scale_label"])
        titles.append(_title(cell, f"{label_text} ({_direction(str(scale['direction']))})"))
        for label in PARTNERS:
            part = by_cell.get((scale["scale_code"], label), empty)
            bands = (
                [plain(b) for b in part["band"].fillna("").astype("str")]
                if "band" in part
                else [""] * len(part)
            )
            values = [round(float(v), 2) for v in part["score"]]
            words = [f"{v:.1f} {b}".strip() for v, b in zip(values, bands, strict=True)]
            traces.append(
                _trace(
                    cell,
                    label,
                    names,
                    part,
                    values,
                    words,
                    f"{label_text}<br>",
                    first=cell.k == 1,
                    size=MARKER_SIZES[label] - 2,
                )
            )
        if _present(scale["cutoff"]):
            # The cutoff across the whole cell, on the scale's own axis.
            shapes.append(
                dict(
                    type="line",
                    xref=f"x{_suffix(cell.k)} domain",
                    x0=0,
                    x1=1,
                    yref=f"y{_suffix(cell.k)}",
                    y0=float(scale["cutoff"]),
                    y1=float(scale["cutoff"]),
                    line=dict(color=CUTOFF_COLOUR, width=1, dash="dot"),
                )
            )
    layout.update(annotations=titles, shapes=shapes)
    return go.Figure(data=traces, layout=layout)


def response_labels(
    low: float, high: float, labels: Sequence[str] | None
) -> tuple[list[float], list[str]]:
    """Tick values from the lowest to the highest answer, and their labels (escaped): the
    instrument's own words where it gives them, else the numbers."""
    values = [float(v) for v in range(math.ceil(low), math.floor(high) + 1)]
    words = [] if labels is None or isinstance(labels, str | float) else [str(w) for w in labels]
    if len(words) != len(values):
        words = [f"{v:g}" for v in values]
    return values, [plain(w) for w in words]


def item_chart(
    items: pd.DataFrame,
    answers: pd.DataFrame,
    names: dict[str, str],
    *,
    title: str,
) -> go.Figure:
    """One row per item of a scale, both partners' answers in each, the time axis shared, each
    y axis labelled with the item's response labels; reverse-keyed items say so.

    Args:
        items: one row per item, in questionnaire order: item_code, item_name (wording, short
            name or code), reverse, min_value, max_value, labels (list of words, or None).
        answers: one row per partner, item and check-in: item_code, partner, completed_at,
            value (NaN when the item was left blank).
        names: partner label -> name for the legend (escaped here).
    """
    n = max(len(items), 1)
    height = ITEM_ROW_HEIGHT * n
    cells = _grid(len(items), 1, hgap=0.0, vgap=min(0.5, 75 / height))
    layout = _layout(title, height + 110)
    traces: list[dict[str, Any]] = []
    titles: list[dict[str, Any]] = []
    by_cell = {
        key: part
        for key, part in answers.sort_values("completed_at").groupby(["item_code", "partner"])
    }
    empty = answers.iloc[:0]
    for cell, item in zip(cells, items.to_dict("records"), strict=True):
        code, name = str(item["item_code"]), item["item_name"]
        named = f"{code}: {name}" if _present(name) and str(name) not in ("", code) else code
        if bool(item["reverse"]):
            named += " (worded the other way: a higher answer lowers the score)"
        # Item wordings read from the left, like the questionnaire.
        titles.append(_title(cell, _wrapped(named), left=True))
        ticks, words = response_labels(
            float(item["min_value"]), float(item["max_value"]), item["labels"]
        )
        axes = _axes(cell, match_y=False, dates="%d %b %Y")
        axes[f"yaxis{_suffix(cell.k)}"].update(
            tickmode="array",
            tickvals=ticks,
            ticktext=words,
            range=[ticks[0] - 0.4, ticks[-1] + 0.4] if ticks else None,
        )
        layout.update(axes)
        by_value = dict(zip(ticks, words, strict=True))
        for label in PARTNERS:
            part = by_cell.get((code, label), empty)
            values = [float(v) if _present(v) else None for v in part["value"]]
            answered = [
                by_value.get(v, f"{v:g}") if v is not None else "left blank" for v in values
            ]
            traces.append(
                _trace(
                    cell,
                    label,
                    names,
                    part,
                    values,
                    answered,
                    f"{plain(code)}<br>",
                    first=cell.k == 1,
                    size=MARKER_SIZES[label],
                )
            )
    layout.update(annotations=titles)
    return go.Figure(data=traces, layout=layout)
