"""Plotly figures for the social-influence lesson: data in, ``go.Figure`` out.

An infinite KL cannot be drawn as a bar height, so bars for ``inf`` are drawn at a cap just
above the largest finite value and labelled "∞".
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from toolbox.figures.style import COLORS, PALETTE, base_layout, hex_to_rgba


def _cap_inf(values: np.ndarray) -> tuple[np.ndarray, list[str], float]:
    """Replace inf by a visible cap; return heights, text labels and the cap."""
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    cap = 1.25 * float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    shown = np.where(np.isfinite(v), v, cap)
    labels = ["∞" if not np.isfinite(x) else f"{x:.3f}" for x in v.ravel()]
    return shown, labels, cap


def marginal_vs_conditional(
    marginals: np.ndarray,
    conditionals: np.ndarray,
    action_names_j: Sequence[str],
    influencee_labels: Sequence[str],
    chosen_name: str,
    kls: Sequence[float],
) -> go.Figure:
    """Bars of p(a^j) (counterfactual marginal) next to π^j(a^j | a^i) for each influencee.

    ``marginals, conditionals``: ``(n_j, A_j)``; ``kls``: the KL of each panel, shown in its title.
    """
    n_j = marginals.shape[0]
    titles = [f"{lab}: KL = {'∞' if not np.isfinite(k) else f'{k:.3f}'} nats" for lab, k in zip(influencee_labels, kls)]
    fig = make_subplots(rows=1, cols=n_j, subplot_titles=titles, shared_yaxes=True)
    for j in range(n_j):
        fig.add_trace(go.Bar(
            x=list(action_names_j), y=marginals[j], name="counterfactual marginal p(a^j)",
            marker_color=COLORS["target"], showlegend=j == 0, legendgroup="m",
        ), row=1, col=j + 1)
        fig.add_trace(go.Bar(
            x=list(action_names_j), y=conditionals[j], name=f"π^j(a^j | a^i = {chosen_name})",
            marker_color=COLORS["current"], showlegend=j == 0, legendgroup="c",
        ), row=1, col=j + 1)
    base_layout(fig, f"What j does after a^i = {chosen_name}, against what it does on average",
                "influencee's action a^j", "probability", height=330)
    fig.update_layout(barmode="group", margin=dict(t=90))
    fig.update_yaxes(range=[0, 1.05])
    return fig


def reward_per_action(
    rewards: np.ndarray,
    pi_i: np.ndarray,
    action_names_i: Sequence[str],
    influencee_labels: Sequence[str],
    chosen: int,
) -> go.Figure:
    """Stacked bars of r^i(a^i) = Σ_j KL[π^j(·|a^i) ‖ p(a^j)] for every action; ``rewards (A_i, n_j)``.

    π^i(a^i) is drawn as a line on a second axis: the expected reward weights the bars by it.
    """
    shown, _, cap = _cap_inf(rewards)
    totals = rewards.sum(1)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for j, lab in enumerate(influencee_labels):
        fig.add_trace(go.Bar(x=list(action_names_i), y=shown[:, j], name=f"KL to {lab}",
                             marker_color=PALETTE[j % len(PALETTE)],
                             marker_line_width=[3 if a == chosen else 0 for a in range(len(pi_i))],
                             marker_line_color=COLORS["current"]))
    fig.add_trace(go.Scatter(
        x=list(action_names_i), y=np.where(np.isfinite(totals), totals, shown.sum(1)), mode="text",
        text=["∞" if not np.isfinite(t) else f"{t:.3f}" for t in totals], textposition="top center",
        showlegend=False, hoverinfo="skip",
    ))
    fig.add_trace(go.Scatter(x=list(action_names_i), y=pi_i, name="π^i(a^i)", mode="lines+markers",
                             line=dict(color=COLORS["target"], dash="dot")), secondary_y=True)
    base_layout(fig, "Influence reward r^i for every action of i (outlined: the chosen one)",
                "agent i's action a^i", "r^i (nats)", height=330)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text="π^i(a^i)", range=[0, 1.05], secondary_y=True)
    if not np.isfinite(rewards).all():
        fig.add_annotation(text=f"∞ drawn at {cap:.2f}", xref="paper", yref="paper", x=1, y=1.12,
                           showarrow=False, font=dict(size=11))
    return fig


def influence_heatmap(influence: np.ndarray, state_names: Sequence[str], signal_names: Sequence[str]) -> go.Figure:
    """r^i(s, σ) as a heat map, ``influence (S, Σ)``; pairs never sent (∞) are greyed and labelled."""
    shown, labels, _ = _cap_inf(influence)
    z = np.where(np.isfinite(influence), shown, np.nan)
    text = np.array(labels, dtype=object).reshape(influence.shape)
    text = np.where(np.isfinite(influence), text, "∞ (never sent)")
    fig = go.Figure(go.Heatmap(
        z=z, x=list(signal_names), y=list(state_names), text=text, texttemplate="%{text}",
        colorscale="Blues", colorbar=dict(title="nats"), hoverongaps=False, zmin=0,
    ))
    base_layout(fig, "Influence reward r^i(s, σ) of sending σ in state s", "signal σ", "state s", height=280)
    fig.update_layout(plot_bgcolor="#eeeeee")
    return fig


def learning_curves(
    steps: np.ndarray,
    runs: dict[str, tuple[np.ndarray, np.ndarray]],
    colors: dict[str, str],
) -> go.Figure:
    """Extrinsic return of i and I(a^i; a^j) over training, mean over seeds with a min–max band.

    ``runs``: label → (extrinsic ``(S, T)``, mutual information ``(S, T)``), ``steps (T,)``.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("extrinsic return of i", "I(a^i; a^j) (nats)"))
    for label, (ext, mi) in runs.items():
        color = colors[label]
        for col, data in ((1, ext), (2, mi)):
            data = np.asarray(data)
            t = np.asarray(steps)[: data.shape[1]]
            lo, hi, mean = data.min(0), data.max(0), data.mean(0)
            fig.add_trace(go.Scatter(x=np.concatenate([t, t[::-1]]), y=np.concatenate([hi, lo[::-1]]),
                                     fill="toself", fillcolor=hex_to_rgba(color, 0.18), line=dict(width=0),
                                     hoverinfo="skip", showlegend=False, legendgroup=label), row=1, col=col)
            fig.add_trace(go.Scatter(x=t, y=mean, name=label, line=dict(color=color, width=2.5),
                                     showlegend=col == 1, legendgroup=label), row=1, col=col)
    base_layout(fig, "Learning with and without the influence bonus (mean over seeds, band = min–max)",
                "policy-gradient update", "", height=360)
    fig.update_layout(margin=dict(t=90))
    fig.update_xaxes(title_text="policy-gradient update")
    return fig
