"""Plotly figures of the DIAL lesson: data in, ``go.Figure`` out."""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go
from plotly.colors import get_colorscale

from toolbox.figures.style import (
    COLORS,
    PALETTE,
    figure,
    finish,
    hex_to_rgba,
    hline,
    layout_dict,
)

# plotly.py's colour scales by name, expanded once (plotly.js has other scales of the same names)
VIRIDIS, BLUES = get_colorscale("Viridis"), get_colorscale("Blues")


def learning_curves(series: Sequence[dict], title: str = "Normalized test reward",
                    x_title: str = "training episodes") -> go.Figure:
    """Mean and band of several seeds per variant.

    Each series: ``{"label", "x": (K,), "mean": (K,), "lo": (K,), "hi": (K,), "color": optional,
    "seeds": optional list of (K,) curves drawn thin}``. Assembled as dicts (``style.figure``):
    through plotly's validating API it cost ~20 ms of every DIAL page load per figure.
    """
    data = []
    for i, s in enumerate(series):
        color = s.get("color") or PALETTE[i % len(PALETTE)]
        x = list(s["x"])
        data.append(dict(type="scatter", x=x + x[::-1], y=list(s["hi"]) + list(s["lo"])[::-1],
                         fill="toself", fillcolor=hex_to_rgba(color, 0.18), line=dict(width=0),
                         hoverinfo="skip", showlegend=False, name=f"{s['label']} band"))
        for curve in s.get("seeds", []) or []:
            data.append(dict(type="scatter", x=x[: len(curve)], y=list(curve), mode="lines",
                             line=dict(color=color, width=0.6), opacity=0.35, showlegend=False,
                             hoverinfo="skip"))
        data.append(dict(type="scatter", x=x, y=list(s["mean"]), mode="lines", name=s["label"],
                         line=dict(color=color, width=2.5)))
    layout = layout_dict(title, x_title, "reward / oracle reward")
    shape, note = hline(1.0, dict(color=COLORS["target"], dash="dot"), "oracle")
    layout.update(shapes=[shape], annotations=[note])
    layout["yaxis"]["range"] = [-0.6, 1.1]
    return figure(data, layout)


def dru_distribution(dist: dict, m_values: Sequence[float], sigma: float) -> go.Figure:
    """Density of the training-mode DRU output per pre-DRU value ``m``, with the execution bit
    marked."""
    edges = [float(e) for e in dist["edges"]]
    centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    data = []
    for i, m in enumerate(m_values):
        color = PALETTE[i % len(PALETTE)]
        data.append(dict(type="scatter", x=centers, y=[float(v) for v in dist["train"][i]],
                         mode="lines", line=dict(color=color, shape="hvh"),
                         name=f"m = {m:g} (training)"))
        bit = float(dist["exec"][i])
        data.append(dict(type="scatter", x=[bit], y=[0], mode="markers",
                         marker=dict(symbol="diamond", size=14, color=color),
                         name=f"m = {m:g} at execution: {bit:g}"))
    layout = layout_dict(f"DRU output distribution, σ = {sigma:g}",
                         "message received by the listener", "density", height=420)
    finish(data, layout)  # margins and height laid out for a legend under the plot, kept ...
    layout["legend"] = dict(orientation="v", x=1.02, y=1.0, xanchor="left", yanchor="top")
    layout["margin"]["r"] = 190  # ... with the legend moved to the right of the plot
    return go.Figure(dict(data=data, layout=layout), _validate=False)


def message_heatmap(x: Sequence[float], edges: Sequence[float], hist: Sequence[Sequence[float]],
                    title: str = "Sent messages m (before the DRU) during training") -> go.Figure:
    """Heatmap: x = training episodes at each test, y = pre-DRU message value, colour = fraction
    sent."""
    centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    z = [list(col) for col in zip(*hist)]  # (bins, tests)
    data = [dict(type="heatmap", x=list(x), y=centers, z=z, colorscale=[list(c) for c in VIRIDIS],
                 colorbar=dict(title=dict(text="fraction")))]
    layout = layout_dict(title, "training episodes", "m (pre-DRU, clipped to the range)")
    layout["shapes"] = [hline(0.0, dict(color="white", dash="dot"))[0]]
    return figure(data, layout)


def protocol_heatmap(grid: Sequence[Sequence[float | None]], title: str,
                     colorbar: str) -> go.Figure:
    """``grid[t][k-1]`` as a heatmap: day on y, distinct visitors so far on x (None = never
    happens)."""
    T, n = len(grid), len(grid[0])
    text = [["" if v is None else f"{v:.2f}" for v in row] for row in grid]
    data = [dict(type="heatmap", x=list(range(1, n + 1)), y=list(range(1, T + 1)),
                 z=[list(r) for r in grid], zmin=0, zmax=1, colorscale=[list(c) for c in BLUES],
                 text=text,
                 texttemplate="%{text}", colorbar=dict(title=dict(text=colorbar)))]
    layout = layout_dict(title, "distinct agents that have been in the room (incl. today)", "day")
    layout["xaxis"]["dtick"] = 1
    layout["yaxis"].update(dtick=1, autorange="reversed")
    return figure(data, layout)


def protocol_marginals(by_day: Sequence[float | None], by_k: Sequence[float | None],
                       label: str) -> go.Figure:
    """Two bar groups: a probability by day, and by number of distinct visitors."""
    # short category labels: in a half-width column "day 1 … 3 visited" were rotated and clipped
    data = [dict(type="bar", x=[f"t={t + 1}" for t in range(len(by_day))], y=list(by_day),
                 name="by day t", marker=dict(color=COLORS["dial"])),
            dict(type="bar", x=[f"k={k + 1}" for k in range(len(by_k))], y=list(by_k),
                 name="by distinct visitors k", marker=dict(color=COLORS["current"]))]
    layout = layout_dict(label, "day t, then distinct visitors k", "probability")
    layout["xaxis"]["tickangle"] = 0
    layout["yaxis"]["range"] = [0, 1.05]
    return figure(data, layout)


def replay_strip(days: Sequence[dict], n_agents: int, upto: int) -> go.Figure:
    """Days 1..upto of a replayed episode: who is in the room (marker), light received and sent,
    action."""
    shown = list(days)[:upto]
    data = [dict(
        type="scatter", x=[d["day"] for d in shown], y=[d["in_room"] for d in shown],
        mode="markers+text",
        marker=dict(size=26,
                    color=[COLORS["current"] if d["action"] == "Tell" else COLORS[
                        "dial"] for d in shown],
                    symbol=["star" if d["action"] == "Tell" else "circle" for d in shown]),
        text=[f"bit {d['bit_sent']}" for d in shown], textposition="top center",
        name="in the room (bit left on the light)")]
    layout = layout_dict("Replay: who is in the room, and the bit they leave", "day", "agent")
    layout["xaxis"].update(range=[0.5, max(len(days), 1) + 0.5], dtick=1)
    layout["yaxis"].update(range=[-0.7, n_agents - 0.3], dtick=1)
    return figure(data, layout)
