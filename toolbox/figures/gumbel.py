"""Plotly figures for the Gumbel-Softmax lesson: data in (numbers, arrays), ``go.Figure`` out."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from toolbox.figures.style import COLORS, PALETTE, base_layout

ESTIMATOR_LABELS = {
    "reinforce": "REINFORCE (score function)",
    "gumbel_softmax": "Gumbel-Softmax (relaxed)",
    "straight_through": "Straight-through Gumbel",
}


def _categories(K: int) -> list[str]:
    return [f"k={k}" for k in range(K)]


def _arr(x) -> np.ndarray:
    return np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=float)


def compare_bars_figure(series: Mapping[str, Sequence[float]], colors: Mapping[str, str], title: str,
                        y_title: str, errors: Mapping[str, Sequence[float]] | None = None,
                        height: int = 340) -> go.Figure:
    """Grouped bars, one group per category k and one bar per named series (e.g. target vs sampled)."""
    fig = go.Figure()
    for name, values in series.items():
        v = _arr(values)
        err = None
        if errors and name in errors:
            err = dict(type="data", array=_arr(errors[name]), visible=True, thickness=1.2)
        fig.add_bar(x=_categories(len(v)), y=v, name=name, marker_color=colors.get(name), error_y=err)
    fig.update_layout(barmode="group")
    return base_layout(fig, title, "category", y_title, height=height)


def frequency_figure(probs, freqs, n: int) -> go.Figure:
    """Target probabilities π_k next to the empirical frequencies of n Gumbel-max samples."""
    return compare_bars_figure(
        {"target π": probs, f"empirical ({n:,} samples)": freqs},
        {"target π": COLORS["target"], f"empirical ({n:,} samples)": COLORS["empirical"]},
        "Gumbel-max samples: empirical frequency vs target probability", "probability",
    )


def relaxed_samples_figure(samples, tau: float) -> go.Figure:
    """A handful of relaxed samples y ``(m, K)``, one small bar chart each."""
    y = _arr(samples)
    m, K = y.shape
    fig = make_subplots(rows=1, cols=m, shared_yaxes=True, subplot_titles=[f"sample {i + 1}" for i in range(m)],
                        horizontal_spacing=0.02)
    for i in range(m):
        fig.add_bar(x=list(range(K)), y=y[i], marker_color=PALETTE[: K] if K <= len(PALETTE) else None,
                    showlegend=False, row=1, col=i + 1)
    fig.update_yaxes(range=[0, 1])
    fig.update_xaxes(tickmode="array", tickvals=list(range(K)))
    base_layout(fig, f"{m} Gumbel-Softmax samples y at τ = {tau:g}", "", "y_k", height=260)
    fig.update_layout(xaxis_title=None)
    return fig


def temperature_curve_figure(taus, mean_entropy, mean_max, tau: float, K: int) -> go.Figure:
    """Mean entropy and mean max-coordinate of relaxed samples vs τ (log axis), current τ marked."""
    t = _arr(taus)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["mean entropy E[H(y)] (nats)", "mean max-coordinate E[max_k y_k]"])
    fig.add_scatter(x=t, y=_arr(mean_entropy), mode="lines", name="E[H(y)]", line_color=COLORS["empirical"], row=1, col=1)
    fig.add_scatter(x=t, y=_arr(mean_max), mode="lines", name="E[max y]", line_color=COLORS["with"], row=1, col=2)
    fig.add_hline(y=float(np.log(K)), line_dash="dot", line_color=COLORS["target"], row=1, col=1,
                  annotation_text="log K (uniform)", annotation_position="bottom right")
    fig.add_hline(y=1.0 / K, line_dash="dot", line_color=COLORS["target"], row=1, col=2,
                  annotation_text="1/K (uniform)", annotation_position="top right")
    fig.add_hline(y=1.0, line_dash="dot", line_color=COLORS["target"], row=1, col=2,
                  annotation_text="one-hot", annotation_position="bottom left")
    for col in (1, 2):
        fig.add_vline(x=tau, line_color=COLORS["current"], line_width=2, row=1, col=col)
    fig.update_xaxes(type="log", title_text="temperature τ (log scale)")
    base_layout(fig, f"Sharpness vs temperature (current τ = {tau:g}, orange)", "temperature τ (log scale)", "", height=330)
    fig.update_layout(showlegend=False)
    return fig


def ternary_figure(samples, probs, tau: float) -> go.Figure:
    """K = 3 relaxed samples as points of the probability simplex (scatterternary)."""
    y = _arr(samples)
    p = _arr(probs)
    fig = go.Figure()
    fig.add_trace(go.Scatterternary(a=y[:, 0], b=y[:, 1], c=y[:, 2], mode="markers", name="samples y",
                                    marker=dict(size=4, color=COLORS["empirical"], opacity=0.45)))
    fig.add_trace(go.Scatterternary(a=[p[0]], b=[p[1]], c=[p[2]], mode="markers", name="π",
                                    marker=dict(size=13, symbol="star", color=COLORS["current"])))
    fig.add_trace(go.Scatterternary(a=[1 / 3], b=[1 / 3], c=[1 / 3], mode="markers", name="uniform",
                                    marker=dict(size=10, symbol="x", color=COLORS["target"])))
    fig.update_layout(
        title=dict(text=f"{len(y)} samples on the simplex, τ = {tau:g}", x=0.0, xanchor="left"),
        ternary=dict(aaxis_title="y₀", baxis_title="y₁", caxis_title="y₂", sum=1),
        height=380, margin=dict(l=40, r=40, t=60, b=30), template="plotly_white",
        legend=dict(orientation="h", yanchor="bottom", y=-0.12, x=0.0),
    )
    return fig


def jacobian_figure(jacobian, tau: float, hard: bool) -> go.Figure:
    """Heatmap of ∂y_i/∂θ_j for one relaxed sample."""
    J = _arr(jacobian)
    K = J.shape[0]
    lim = float(np.abs(J).max()) or 1.0
    fig = go.Figure(go.Heatmap(z=J, x=[f"θ_{j}" for j in range(K)], y=[f"y_{i}" for i in range(K)],
                               colorscale="RdBu", zmid=0.0, zmin=-lim, zmax=lim,
                               text=np.round(J, 3), texttemplate="%{text}" if K <= 6 else None))
    fig.update_yaxes(autorange="reversed")
    label = "straight-through (one-hot forward)" if hard else "soft"
    return base_layout(fig, f"∂y/∂θ by autograd, τ = {tau:g}, {label}", "logit θ_j", "sample coordinate y_i", height=330)


def gradient_bars_figure(exact, means: Mapping[str, Sequence[float]], ses: Mapping[str, Sequence[float]],
                         tau: float) -> go.Figure:
    """Exact ∇θJ next to each estimator's mean gradient (± 2 standard errors) at the current τ."""
    series = {"exact": exact}
    colors = {"exact": COLORS["target"]}
    errors = {}
    for name, m in means.items():
        label = ESTIMATOR_LABELS.get(name, name)
        series[label] = m
        colors[label] = COLORS.get(name)
        errors[label] = 2 * _arr(ses[name])
    return compare_bars_figure(series, colors, f"∇θ J: exact vs mean estimate (± 2 s.e.), τ = {tau:g}",
                               "∂J/∂θ_k", errors=errors, height=360)


def estimator_sweep_figure(taus, bias: Mapping[str, Sequence[float]], std: Mapping[str, Sequence[float]],
                           mc_error: Mapping[str, Sequence[float]], tau: float) -> go.Figure:
    """Bias ‖E[ĝ] − ∇J‖ and spread √tr Cov[ĝ] of each estimator vs τ, both on log axes."""
    t = _arr(taus)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["bias ‖E[ĝ] − ∇J‖", "standard deviation √(Σ_k Var ĝ_k)"])
    for name in bias:
        color = COLORS.get(name)
        dash = "dash" if name == "straight_through" else ("dot" if name == "reinforce" else "solid")
        label = ESTIMATOR_LABELS.get(name, name)
        fig.add_scatter(x=t, y=_arr(bias[name]), mode="lines", name=label, line=dict(color=color, dash=dash),
                        legendgroup=name, row=1, col=1)
        fig.add_scatter(x=t, y=_arr(std[name]), mode="lines", name=label, line=dict(color=color, dash=dash),
                        legendgroup=name, showlegend=False, row=1, col=2)
    # below this level a measured bias is indistinguishable from Monte Carlo noise
    floor = np.maximum.reduce([_arr(v) for v in mc_error.values()])
    fig.add_scatter(x=t, y=floor, mode="lines", name="Monte Carlo noise level", line=dict(color=COLORS["target"], dash="dot", width=1),
                    row=1, col=1)
    for col in (1, 2):
        fig.add_vline(x=tau, line_color=COLORS["current"], line_width=2, row=1, col=col)
    fig.update_xaxes(type="log", title_text="temperature τ (log scale)")
    fig.update_yaxes(type="log")
    base_layout(fig, "Gradient estimators across τ: bias vs noise", "temperature τ (log scale)", "", height=380)
    fig.update_layout(legend=dict(y=1.12))
    return fig
