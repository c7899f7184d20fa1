"""Colours and layout shared by every figure, so a concept keeps its colour across pages."""

from __future__ import annotations

import plotly.graph_objects as go

COLORS = {
    # comparisons that recur across lessons
    "with": "#1f77b4",        # with the trick / variant on
    "without": "#d62728",     # without the trick / baseline
    "target": "#7f7f7f",      # a reference or exact value
    "empirical": "#1f77b4",   # what was measured / sampled
    "current": "#ff7f0e",     # the value the slider currently selects
    # estimators / methods
    "reinforce": "#9467bd",
    "gumbel_softmax": "#2ca02c",
    "straight_through": "#ff7f0e",
    "dial": "#1f77b4",
    "rial": "#2ca02c",
    "nocomm": "#7f7f7f",
}

# A qualitative palette for many variants (ablations, agents, categories).
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
)


def layout_dict(title: str, x_title: str = "", y_title: str = "", height: int = 360, **extra) -> dict:
    """The common look as a plain layout dict (title left, labelled axes, legend under the plot).

    Figure builders that assemble ``go.Figure`` from dicts (skipping plotly's validation, which
    costs tens of milliseconds per figure on a page rerun) use this; ``extra`` overrides keys.
    """
    layout = dict(
        title=dict(text=title, x=0.0, xanchor="left"),
        xaxis=dict(title=dict(text=x_title)),
        yaxis=dict(title=dict(text=y_title)),
        height=height,
        # legend under the plot: above it, a long or wrapped legend collides with the title
        margin=dict(l=60, r=20, t=50, b=110),
        legend=dict(orientation="h", yanchor="top", y=-0.28, xanchor="left", x=0.0),
    )
    layout.update(extra)
    return layout


def base_layout(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 360) -> go.Figure:
    """Apply the common look (``layout_dict``) to a figure.

    No template is set: every figure keeps the one Streamlit registers as plotly's default, so all
    pages look alike (and validating the plotly_white template cost ~7 ms of a ~11 ms call, ten
    times per DIAL page run).
    """
    fig.update_layout(**layout_dict(title, x_title, y_title, height))
    return fig


def hex_to_rgba(color: str, alpha: float) -> str:
    """``"#1f77b4", 0.2 -> "rgba(31,119,180,0.2)"`` for confidence bands."""
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
