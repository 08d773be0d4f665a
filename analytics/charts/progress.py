"""Plotly figure builders. Figures are self-contained: no web fonts, no MathJax, no CDN."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.charts.text import plain

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies. Partner A is
# always blue and solid, B always orange and dashed, on every chart, so therapists learn it once.
PARTNER_COLOURS = {"A": "#0072B2", "B": "#E69F00"}
PARTNER_SYMBOLS = {"A": "circle", "B": "diamond"}
PARTNER_DASH = {"A": "solid", "B": "dash"}
FONT = dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13)


def score_chart(
    scores: pd.DataFrame,
    names: dict[str, str],
    *,
    scale_label: str,
    score_range: tuple[float, float],
    title: str,
) -> go.Figure:
    """Both partners' scores on one scale over time.

    Args:
        scores: rows with partner (A/B), completed_at, score and band (see clinical.scores).
        names: partner label -> name shown in the legend (escaped here, shown literally).
        scale_label: the axis title; score_range: the scale's lowest and highest score.
    """
    fig = go.Figure()
    for label in ("A", "B"):
        part = scores[scores["partner"] == label].sort_values("completed_at")
        bands = part["band"].fillna("").astype("str") if "band" in part else ""
        fig.add_trace(
            go.Scatter(
                x=part["completed_at"],
                y=part["score"].round(2),
                name=plain(names.get(label, f"Partner {label}")),
                customdata=pd.DataFrame({"band": bands}).to_numpy() if len(part) else None,
                mode="lines+markers",
                line=dict(color=PARTNER_COLOURS[label], width=2.5, dash=PARTNER_DASH[label]),
                marker=dict(symbol=PARTNER_SYMBOLS[label], size=7),
                hovertemplate="%{x|%d %b %Y}: %{y:.1f} %{customdata[0]}<extra>%{fullData.name}"
                "</extra>",
            )
        )
    low, high = score_range
    pad = (high - low) * 0.04
    fig.update_layout(
        title=dict(text=plain(title)),
        font=FONT,
        template="plotly_white",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        margin=dict(l=40, r=20, t=70, b=40),
        yaxis=dict(title=plain(f"{scale_label} ({low:g}–{high:g})"), range=[low - pad, high + pad]),
        xaxis=dict(title=None),
        hovermode="x unified",
    )
    return fig
