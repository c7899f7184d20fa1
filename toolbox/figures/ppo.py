"""Figures of the PPO implementation-details lesson: learning curves with 95% CI bands per variant."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from toolbox.figures.style import COLORS, FULL_WIDTH, base_layout, hex_to_rgba, variant_color


def _clean(xs):
    return [None if (x is None or (isinstance(x, float) and math.isnan(x))) else x for x in xs]


def learning_curves(aggregates: dict[str, dict], title: str = "Mean episodic return (last 20 episodes) vs steps") -> go.Figure:
    """One line per variant (mean over seeds) with its 95% confidence band; ``aggregates`` from
    ``toolbox.ppo.analysis.aggregate``; a dotted line marks the 475 'solved' threshold."""
    fig = go.Figure()
    for i, (name, agg) in enumerate(aggregates.items()):
        color = variant_color(name, i)
        x = agg["grid"]
        fig.add_trace(go.Scatter(x=x, y=_clean(agg["hi"]), mode="lines", line=dict(width=0), hoverinfo="skip",
                                 showlegend=False, legendgroup=name, name=f"{name}: upper 95% CI"))
        fig.add_trace(go.Scatter(x=x, y=_clean(agg["lo"]), mode="lines", line=dict(width=0), fill="tonexty",
                                 fillcolor=hex_to_rgba(color, 0.18), hoverinfo="skip", showlegend=False, legendgroup=name,
                                 name=f"{name}: lower 95% CI"))
        fig.add_trace(go.Scatter(x=x, y=_clean(agg["mean"]), mode="lines", name=f"{name} (n={agg['runs']})",
                                 line=dict(color=color, width=3.5 if name == "all on" else 2), legendgroup=name))
    fig.add_hline(y=475, line=dict(color=COLORS["target"], dash="dot"), annotation_text="475 (solved)")
    base_layout(fig, title, "environment steps per run", "episodic return", height=440, width=FULL_WIDTH)
    fig.update_yaxes(range=[0, 520])
    return fig
