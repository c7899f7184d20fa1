"""Show a Plotly figure with its downloads: a PNG from the chart's toolbar and the data as CSV.

Every page shows its figures through :func:`show_figure`, so each one offers the same two
downloads (a lecturer's slides, a student's own analysis) and looks the same.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from toolbox.figures.export import figure_csv
from toolbox.figures.presenter import restyle
from toolbox.figures.style import PROJECTOR, SCREEN
from ui.presenter import presenter_on

CSV_LABEL = "Download data (CSV)"


def chart_config(filename: str) -> dict:
    """Plotly's toolbar settings: always shown, its camera button saves a 2× PNG named
    ``filename``."""
    return {
        "displayModeBar": True,  # visible without hovering: the PNG button is easy to find
        "displaylogo": False,
        # a short toolbar: the PNG button, zoom, pan and reset are what a lecture needs
        "modeBarButtonsToRemove": ["zoomIn2d", "zoomOut2d", "autoScale2d", "lasso2d", "select2d"],
        "toImageButtonOptions": {"format": "png", "scale": 2, "filename": filename},
    }


def show_figure(fig: go.Figure, key: str | None, where: Any = None, **chart_args) -> None:
    """Draw ``fig`` in ``where`` (a container or placeholder; the page when None) with its
    downloads.

    ``key``: the chart's widget key, also the downloaded files' name. A figure drawn without a key
    (a live curve redrawn while training runs) gets the PNG button but no CSV button, whose key
    would clash between redraws. The CSV is written only when the button is clicked.
    In presenter mode the figure is redrawn for the projector (``toolbox.figures.presenter``).
    """
    fig = restyle(fig, PROJECTOR if presenter_on() else SCREEN)
    box = (where if where is not None else st).container()
    name = key or "figure"
    box.plotly_chart(fig, key=key, config=chart_config(name), **chart_args)
    if key is not None:
        box.download_button(
            CSV_LABEL, data=lambda: figure_csv(fig), file_name=f"{name}.csv", mime="text/csv",
            key=f"{key}_csv", on_click="ignore", icon=":material/download:", type="tertiary",
        )
