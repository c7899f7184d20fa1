"""Plotly figures of the DIAL lesson: data in, ``go.Figure`` out."""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

from toolbox.figures.style import COLORS, PALETTE, base_layout, hex_to_rgba


def learning_curves(series: Sequence[dict], title: str = "Normalized test reward",
                    x_title: str = "training episodes") -> go.Figure:
    """Mean and band of several seeds per variant.

    Each series: ``{"label", "x": (K,), "mean": (K,), "lo": (K,), "hi": (K,), "color": optional,
    "seeds": optional list of (K,) curves drawn thin}``.
    """
    fig = go.Figure()
    for i, s in enumerate(series):
        color = s.get("color") or PALETTE[i % len(PALETTE)]
        x = list(s["x"])
        fig.add_trace(go.Scatter(x=x + x[::-1], y=list(s["hi"]) + list(s["lo"])[::-1],
                                 fill="toself", fillcolor=hex_to_rgba(color, 0.18),
                                 line=dict(width=0), hoverinfo="skip", showlegend=False,
                                 name=f"{s['label']} band"))
        for curve in s.get("seeds", []) or []:
            fig.add_trace(go.Scatter(x=x[: len(curve)], y=curve, mode="lines",
                                     line=dict(color=color, width=0.6), opacity=0.35,
                                     showlegend=False, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=list(s["mean"]), mode="lines", name=s["label"],
                                 line=dict(color=color, width=2.5)))
    fig.add_hline(y=1.0, line=dict(color=COLORS["target"], dash="dot"), annotation_text="oracle")
    base_layout(fig, title, x_title, "reward / oracle reward")
    fig.update_yaxes(range=[-0.6, 1.1])
    return fig


def dru_distribution(dist: dict, m_values: Sequence[float], sigma: float) -> go.Figure:
    """Density of the training-mode DRU output per pre-DRU value ``m``, with the execution bit
    marked."""
    edges = [float(e) for e in dist["edges"]]
    centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    fig = go.Figure()
    for i, m in enumerate(m_values):
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(x=centers, y=[float(v) for v in dist["train"][i]], mode="lines",
                                 line=dict(color=color, shape="hvh"), name=f"m = {m:g} (training)"))
        bit = float(dist["exec"][i])
        fig.add_trace(go.Scatter(x=[bit], y=[0], mode="markers",
                                 marker=dict(symbol="diamond", size=14, color=color),
                                 name=f"m = {m:g} at execution: {bit:g}"))
    base_layout(fig, f"DRU output distribution, σ = {sigma:g}", "message received by the listener",
                "density", height=420)
    fig.update_layout(legend=dict(orientation="v", x=1.02, y=1.0, xanchor="left", yanchor="top"),
                      margin=dict(r=190))
    return fig


def message_heatmap(x: Sequence[float], edges: Sequence[float], hist: Sequence[Sequence[float]],
                    title: str = "Sent messages m (before the DRU) during training") -> go.Figure:
    """Heatmap: x = training episodes at each test, y = pre-DRU message value, colour = fraction
    sent."""
    centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
    z = [list(col) for col in zip(*hist)]  # (bins, tests)
    fig = go.Figure(go.Heatmap(x=list(x), y=centers, z=z, colorscale="Viridis",
                               colorbar=dict(title="fraction")))
    fig.add_hline(y=0.0, line=dict(color="white", dash="dot"))
    base_layout(fig, title, "training episodes", "m (pre-DRU, clipped to the range)")
    return fig


def protocol_heatmap(grid: Sequence[Sequence[float | None]], title: str,
                     colorbar: str) -> go.Figure:
    """``grid[t][k-1]`` as a heatmap: day on y, distinct visitors so far on x (None = never
    happens)."""
    T, n = len(grid), len(grid[0])
    text = [["" if v is None else f"{v:.2f}" for v in row] for row in grid]
    fig = go.Figure(go.Heatmap(x=list(range(1, n + 1)), y=list(range(1, T + 1)),
                               z=[list(r) for r in grid], zmin=0, zmax=1, colorscale="Blues",
                               text=text, texttemplate="%{text}", colorbar=dict(title=colorbar)))
    base_layout(fig, title, "distinct agents that have been in the room (incl. today)", "day")
    fig.update_xaxes(dtick=1)
    fig.update_yaxes(dtick=1, autorange="reversed")
    return fig


def protocol_marginals(by_day: Sequence[float | None], by_k: Sequence[float | None],
                       label: str) -> go.Figure:
    """Two bar groups: a probability by day, and by number of distinct visitors."""
    fig = go.Figure()
    # short category labels: in a half-width column "day 1 … 3 visited" were rotated and clipped
    fig.add_trace(go.Bar(x=[f"t={t + 1}" for t in range(len(by_day))], y=list(by_day),
                         name="by day t", marker_color=COLORS["dial"]))
    fig.add_trace(go.Bar(x=[f"k={k + 1}" for k in range(len(by_k))], y=list(by_k),
                         name="by distinct visitors k", marker_color=COLORS["current"]))
    base_layout(fig, label, "day t, then distinct visitors k", "probability")
    fig.update_xaxes(tickangle=0)
    fig.update_yaxes(range=[0, 1.05])
    return fig


def replay_strip(days: Sequence[dict], n_agents: int, upto: int) -> go.Figure:
    """Days 1..upto of a replayed episode: who is in the room (marker), light received and sent,
    action."""
    shown = list(days)[:upto]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=[d["day"] for d in shown], y=[d["in_room"] for d in shown], mode="markers+text",
        marker=dict(size=26,
                    color=[COLORS["current"] if d["action"] == "Tell" else COLORS[
                        "dial"] for d in shown],
                    symbol=["star" if d["action"] == "Tell" else "circle" for d in shown]),
        text=[f"bit {d['bit_sent']}" for d in shown], textposition="top center",
        name="in the room (bit left on the light)"))
    base_layout(fig, "Replay: who is in the room, and the bit they leave", "day", "agent")
    fig.update_xaxes(range=[0.5, max(len(days), 1) + 0.5], dtick=1)
    fig.update_yaxes(range=[-0.7, n_agents - 0.3], dtick=1)
    return fig
