"""Plotly figures for the Gumbel-Softmax lesson: data in (numbers, arrays), ``go.Figure`` out.

Every builder assembles its traces and layout as plain dicts and constructs the figure once:
incremental ``update_layout``/``make_subplots``/``add_vline`` calls and setting a template cost
5–30 ms per figure, which would take this page, with seven live figures, past its 100 ms budget
per slider move. The look is ``style.layout_dict`` (title left, legend under the plot, colours
from ``style.COLORS``); in the app, Streamlit's chart theme supplies the rest.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from toolbox.figures.style import (
    COLORS,
    ESTIMATOR_COLORS,
    FULL_WIDTH,
    PALETTE,
    REFERENCE_WIDTH,
    figure,
    layout_dict,
)

ESTIMATOR_LABELS = {
    "reinforce": "REINFORCE (score function)",
    "reinforce_baseline": "REINFORCE, baseline b = J",
    "reinforce_loo": "REINFORCE, leave-one-out baseline",
    "gumbel_softmax": "Gumbel-Softmax (relaxed)",
    "straight_through_gumbel": "Straight-through Gumbel-Softmax (Jang et al. 2017)",
    "straight_through": "Straight-through (Bengio et al. 2013, through π)",
}
ESTIMATOR_DASH = {"reinforce": "dot", "reinforce_baseline": "dashdot",
                  "reinforce_loo": "longdashdot", "gumbel_softmax": "solid",
                  "straight_through_gumbel": "dash", "straight_through": "longdash"}


def _categories(K: int) -> list[str]:
    return [f"k = {k}" for k in range(K)]


def _arr(x) -> np.ndarray:
    return np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=float)


def _two_panels(layout: dict, titles: Sequence[str], log_x: bool = True,
                log_y: bool = False) -> dict:
    """Side-by-side panels (x/y and x2/y2) with subplot titles, like make_subplots(1, 2)."""
    axis_x = dict(type="log" if log_x else "linear", title=dict(text="temperature τ (log scale)"))
    axis_y = dict(type="log" if log_y else "linear")
    # a gap wide enough for the right panel's y tick labels (10⁻⁴) and the left's last x label (10²)
    layout["xaxis"] = dict(axis_x, domain=[0.0, 0.43], anchor="y")
    layout["xaxis2"] = dict(axis_x, domain=[0.57, 1.0], anchor="y2")
    layout["yaxis"] = dict(axis_y, anchor="x")
    layout["yaxis2"] = dict(axis_y, anchor="x2")
    layout["annotations"] = [
        dict(text=t, x=x, y=1.0, xref="paper", yref="paper", xanchor="center", yanchor="bottom",
             showarrow=False, font=dict(size=13))
        for t, x in zip(titles, (0.215, 0.785))
    ]
    return layout


def _vline(x: float, axis: str = "") -> dict:
    return dict(type="line", xref=f"x{axis}", yref=f"y{axis} domain", x0=x, x1=x, y0=0, y1=1,
                line=dict(color=COLORS["current"], width=2))


def _hline(y: float, axis: str = "") -> dict:
    return dict(type="line", xref=f"x{axis} domain", yref=f"y{axis}", x0=0, x1=1, y0=y, y1=y,
                line=dict(color=COLORS["target"], dash="dot", width=1))


def _figure(data: list, layout: dict, width: float = REFERENCE_WIDTH) -> go.Figure:
    # Plotly's property validation is most of a figure's construction time on this page; the
    # specs here are fixed by code, and the tests re-validate every builder's output.
    return figure(data, layout, width=width)


def compare_bars_figure(series: Mapping[str, Sequence[float]], colors: Mapping[str, str],
                        title: str, y_title: str,
                        errors: Mapping[str, Sequence[float]] | None = None, height: int = 340,
                        legend_below: bool = False) -> go.Figure:
    """Grouped bars, one group per category k and one bar per named series (e.g. target vs
    sampled)."""
    data = []
    for name, values in series.items():
        v = _arr(values)
        bar = dict(type="bar", x=_categories(len(v)), y=v, name=name,
                   marker=dict(color=colors.get(name)))
        if errors and name in errors:
            bar["error_y"] = dict(type="data", array=_arr(errors[name]), visible=True,
                                  thickness=1.2)
        data.append(bar)
    layout = layout_dict(title, "category", y_title, height, barmode="group")
    if legend_below:  # many entries: below the plot, where they cannot cover the title
        layout["legend"] = dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0.0)
        # about two entries per legend row
        layout["margin"]["b"] = 60 + 25 * ((len(series) + 1) // 2)
    return _figure(data, layout)


def frequency_figure(probs, freqs, n: int) -> go.Figure:
    """Target probabilities π_k next to the empirical frequencies of n Gumbel-max samples."""
    emp = f"empirical ({n:,} samples)"
    return compare_bars_figure(
        {"target π": probs, emp: freqs}, {"target π": COLORS["target"], emp: COLORS["empirical"]},
        "Gumbel-max samples: frequency vs target π", "probability",
    )


def relaxed_samples_figure(samples, tau: float) -> go.Figure:
    """A handful of relaxed samples y ``(m, K)`` as bar groups side by side (one trace, grouped
    x)."""
    y = _arr(samples)
    m, K = y.shape
    groups = [f"sample {i + 1}" for i in range(m) for _ in range(K)]
    cats = [str(k) for _ in range(m) for k in range(K)]
    colors = [PALETTE[k % len(PALETTE)] for _ in range(m) for k in range(K)]
    data = [dict(type="bar", x=[groups, cats], y=y.reshape(-1), marker=dict(color=colors),
                 hovertemplate="%{x}: y = %{y:.3f}<extra></extra>")]
    layout = layout_dict(f"{m} Gumbel-Softmax samples y at τ = {tau:g} (colour = category k)", "",
                         "y<sub>k</sub>", 260, showlegend=False, bargap=0.15)
    layout["yaxis"]["range"] = [0, 1]
    layout["xaxis"]["type"] = "multicategory"
    return _figure(data, layout, FULL_WIDTH)


def temperature_curve_figure(taus, mean_entropy, mean_max, tau: float, K: int) -> go.Figure:
    """Mean entropy and mean max-coordinate of relaxed samples vs τ (log axis), current τ marked."""
    t = _arr(taus)
    data = [
        dict(type="scatter", x=t, y=_arr(mean_entropy), mode="lines", name="E[H(y)]",
             line=dict(color=COLORS["empirical"])),
        dict(type="scatter", x=t, y=_arr(mean_max), mode="lines", name="E[max y]",
             line=dict(color=COLORS["with"]), xaxis="x2", yaxis="y2"),
    ]
    layout = _two_panels(
        layout_dict(f"Sharpness vs temperature (current τ = {tau:g}, orange line)", height=330,
                    showlegend=False),
        ["mean entropy E[H(y)] (nats)", "mean max-coordinate E[max<sub>k</sub> y<sub>k</sub>]"],
    )
    layout["shapes"] = [_vline(tau), _vline(tau, "2"), _hline(float(np.log(K))),
                        _hline(1.0 / K, "2"), _hline(1.0, "2")]
    for text, x, y, ax in (("log K = uniform", t[-1], float(np.log(K)), ""),
                           ("1/K = uniform", t[-1], 1.0 / K, "2"), ("one-hot", t[0], 1.0, "2")):
        layout["annotations"].append(dict(text=text, x=float(np.log10(x)), y=y, xref=f"x{ax}",
                                          yref=f"y{ax}", showarrow=False, yanchor="bottom",
                                          xanchor="right" if x == t[-1] else "left",
                                          font=dict(size=11)))
    return _figure(data, layout, FULL_WIDTH)


def ternary_figure(samples, probs, tau: float) -> go.Figure:
    """K = 3 relaxed samples as points of the probability simplex (scatterternary)."""
    y = _arr(samples)
    p = _arr(probs)
    data = [
        dict(type="scatterternary", a=y[:, 0], b=y[:, 1], c=y[:, 2], mode="markers",
             name="samples y", marker=dict(size=6, color=COLORS["empirical"], opacity=0.45)),
        dict(type="scatterternary", a=[p[0]], b=[p[1]], c=[p[2]], mode="markers", name="π",
             marker=dict(size=13, symbol="star", color=COLORS["current"])),
        dict(type="scatterternary", a=[1 / 3], b=[1 / 3], c=[1 / 3], mode="markers", name="uniform",
             marker=dict(size=10, symbol="x", color=COLORS["target"])),
    ]
    layout = dict(
        title=dict(text=f"{len(y)} samples on the simplex, τ = {tau:g}", x=0.0, xanchor="left"),
        ternary=dict(aaxis=dict(title=dict(text="y₀")), baxis=dict(title=dict(text="y₁")),
                     caxis=dict(title=dict(text="y₂")), sum=1),
        height=380, margin=dict(l=40, r=40, t=60, b=30),
        legend=dict(orientation="h", yanchor="top", y=-0.05, x=0.0),
    )
    return _figure(data, layout)


def jacobian_figure(jacobian, tau: float, hard: bool) -> go.Figure:
    """Heatmap of ∂y_i/∂θ_j for one relaxed sample, coloured relative to its largest |entry|.

    At small τ the entries can be as small as 1e-34 (the sample is one-hot unless two categories
    nearly tie): the colours show J / max|J| so the pattern stays visible at every scale, the
    cells print the actual values, and the title prints the magnitude max|J|.
    """
    J = _arr(jacobian)
    K = J.shape[0]
    lim = float(np.abs(J).max())
    heat = dict(type="heatmap", z=J / lim if lim > 0 else J,
                x=[f"θ<sub>{j}</sub>" for j in range(K)], y=[f"y<sub>{i}</sub>" for i in range(K)],
                colorscale="RdBu", zmid=0.0, zmin=-1.0, zmax=1.0,
                colorbar=dict(title=dict(text="÷ max |entry|")), customdata=J,
                hovertemplate="∂%{y}/∂%{x} = %{customdata:.3g}<extra></extra>")
    if K <= 6:
        heat.update(text=[[f"{v:.2g}" for v in row] for row in J], texttemplate="%{text}")
    label = "straight-through" if hard else "soft"
    size = f"max |entry| = {lim:.2g}" if lim > 0 else "every entry is exactly 0 in float32"
    # two short lines: one line would be too wide for the half-width column the page draws it in
    layout = layout_dict(f"∂y/∂θ by autograd at τ = {tau:g}, {label}<br>{size}",
                         "logit θ<sub>j</sub>", "sample coordinate y<sub>i</sub>", 330)
    layout["yaxis"]["autorange"] = "reversed"
    return _figure([heat], layout)


def gradient_bars_figure(exact, means: Mapping[str, Sequence[float]],
                         ses: Mapping[str, Sequence[float]], tau: float) -> go.Figure:
    """Exact ∇θJ next to each estimator's mean gradient (± 2 standard errors) at the current τ."""
    series = {"exact": exact}
    colors = {"exact": ESTIMATOR_COLORS["exact"]}
    errors = {}
    for name, m in means.items():
        label = ESTIMATOR_LABELS.get(name, name)
        series[label] = m
        colors[label] = ESTIMATOR_COLORS.get(name)
        errors[label] = 2 * _arr(ses[name])
    return compare_bars_figure(series, colors,
                               f"∇θ J: exact vs mean estimate (± 2 s.e.), τ = {tau:g}",
                               "∂J/∂θ<sub>k</sub>", errors=errors, height=480, legend_below=True)


def _drop_rounding(curves: Mapping[str, Sequence[float]]) -> dict:
    """Curves with values below 1e-6 × the largest value of all of them replaced by NaN (not
    drawn)."""
    arrays = {k: _arr(v) for k, v in curves.items()}
    top = max((float(np.nanmax(a)) for a in arrays.values() if a.size), default=0.0)
    return {k: np.where(a > 1e-6 * top, a, np.nan) for k, a in arrays.items()}


def estimator_sweep_figure(taus, bias: Mapping[str, Sequence[float]],
                           std: Mapping[str, Sequence[float]],
                           mc_error: Mapping[str, Sequence[float]], tau: float) -> go.Figure:
    """Bias ‖E[ĝ] − ∇J‖ and spread √(Σ_k Var ĝ_k) of each estimator vs τ, both on log axes.

    Values below 1e-6 of a panel's largest are float32 rounding of an exact zero (Bengio's
    straight-through with a linear objective): they are left out rather than stretching the log
    axis down to 1e-8.
    """
    t = _arr(taus)
    data = []
    bias = _drop_rounding(bias)
    std = _drop_rounding(std)
    for name in bias:
        line = dict(color=ESTIMATOR_COLORS.get(name), dash=ESTIMATOR_DASH.get(name, "solid"))
        label = ESTIMATOR_LABELS.get(name, name)
        data.append(dict(type="scatter", x=t, y=_arr(bias[name]), mode="lines", name=label,
                         line=line, legendgroup=name))
        data.append(dict(type="scatter", x=t, y=_arr(std[name]), mode="lines", name=label,
                         line=line, legendgroup=name, showlegend=False, xaxis="x2", yaxis="y2"))
    # below this level a measured bias is indistinguishable from Monte Carlo noise
    floor = np.maximum.reduce([_arr(v) for v in mc_error.values()])
    data.append(dict(type="scatter", x=t, y=floor, mode="lines", name="Monte Carlo noise level",
                     line=dict(color=COLORS["target"], dash="dot", width=1)))
    layout = _two_panels(layout_dict("Gradient estimators across τ: bias vs noise", height=540),
                         ["bias ‖E[ĝ] − ∇J‖",
                          "standard deviation √(Σ<sub>k</sub> Var ĝ<sub>k</sub>)"], log_y=True)
    layout["legend"] = dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0.0)
    layout["margin"]["b"] = 170  # seven entries wrap onto several rows
    for axis in ("yaxis", "yaxis2"):
        layout[axis].update(dtick=1, exponentformat="power")  # one tick per decade
    layout["shapes"] = [_vline(tau), _vline(tau, "2")]
    return _figure(data, layout)
