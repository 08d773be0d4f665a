"""Chart images for reports: a PNG of a Plotly figure, sized for print, through the export
module (kaleido driving Debian's Chromium; a readable refusal when Chromium is missing)."""

from __future__ import annotations

import plotly.graph_objects as go

from analytics.charts.export import figure_image

PNG_WIDTH, PNG_HEIGHT, PNG_SCALE = 900, 430, 2


def chart_png(fig: go.Figure) -> bytes:
    """The figure as a PNG (900 x 430 at twice the resolution, for print)."""
    return figure_image(fig, "png", width=PNG_WIDTH, height=PNG_HEIGHT, scale=PNG_SCALE)
