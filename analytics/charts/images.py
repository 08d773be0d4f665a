"""Chart images for reports: a PNG of a Plotly figure through the export module (kaleido driving
Debian's Chromium) when it is installed; a readable refusal when it is not."""

from __future__ import annotations

import importlib
from typing import Any

import plotly.graph_objects as go

from analytics.errors import CaseloadError

PNG_WIDTH, PNG_HEIGHT, PNG_SCALE = 900, 430, 2


def chart_png(fig: go.Figure) -> bytes:
    """The figure as a PNG (900 x 430 at twice the resolution, for print)."""
    try:
        # Looked up at run time: the export module (and kaleido with it) is optional here.
        export: Any = importlib.import_module("analytics.charts.export")
    except ImportError as exc:
        raise CaseloadError(
            "Chart images need the chart export module (analytics.charts.export, with kaleido"
            " and Chromium).",
            hint="Install Debian's chromium package and the project's kaleido dependency.",
        ) from exc
    return bytes(export.figure_image(fig, "png", PNG_WIDTH, PNG_HEIGHT, PNG_SCALE))
