"""Plotly figure builders. Figures are self-contained: no web fonts, no MathJax, no CDN."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.instruments import Instrument

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies. Partner A is
# always blue and B always orange, on every chart, so therapists learn it once.
PARTNER_COLOURS = {"A": "#0072B2", "B": "#E69F00"}
PARTNER_SYMBOLS = {"A": "circle", "B": "diamond"}
FONT = dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13)


def global_score_chart(
    scores: pd.DataFrame,
    names: dict[str, str],
    instrument: Instrument,
    *,
    title: str = "Global satisfaction over time",
) -> go.Figure:
    """Both partners' headline score over time on one chart.

    Args:
        scores: rows with label (A/B), completed_at and score (see scoring.global_scores).
        names: partner label -> name shown in the legend (e.g. {"A": "Ada (A)"}).
        instrument: gives the scale range and labels for the axis.
    """
    fig = go.Figure()
    for label in ("A", "B"):
        part = scores[scores["label"] == label].sort_values("completed_at")
        fig.add_trace(
            go.Scatter(
                x=part["completed_at"],
                y=part["score"].round(2),
                name=names.get(label, f"Partner {label}"),
                mode="lines+markers",
                line=dict(
                    color=PARTNER_COLOURS[label],
                    width=2.5,
                    dash="solid" if label == "A" else "dash",
                ),
                marker=dict(symbol=PARTNER_SYMBOLS[label], size=7),
                hovertemplate="%{x|%d %b %Y}: %{y:.1f}<extra>%{fullData.name}</extra>",
            )
        )
    construct = instrument.construct(instrument.global_construct)
    fig.update_layout(
        title=dict(text=title),
        font=FONT,
        template="plotly_white",
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        margin=dict(l=40, r=20, t=70, b=40),
        yaxis=dict(
            title=f"{construct.label} ({instrument.scale_min:g}–{instrument.scale_max:g})",
            range=[instrument.scale_min - 0.2, instrument.scale_max + 0.2],
            dtick=1,
        ),
        xaxis=dict(title=None),
        hovermode="x unified",
    )
    return fig
