"""Plotly figures for the social-influence lesson: data in, ``go.Figure`` out.

Why the figures are written as plain dicts: building them through plotly's validating API
(``make_subplots``, ``update_layout``) costs 5–50 ms per figure, and this page redraws up to four
figures on every table edit with a budget of 100 ms per rerun. The same layout as
``style.base_layout`` (``style.layout_dict``: title, axis titles, margins, legend under the plot)
is therefore assembled as a dict and wrapped without re-validation; ``tests/test_influence.py``
validates every figure through plotly's full checker.

Superscripts are written as HTML (``a<sup>j</sup>``), which Plotly renders, never as raw ``a^j``.

An infinite KL cannot be drawn as a bar height, so such bars are drawn at a cap just above the
largest finite value and labelled "∞".
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from toolbox.figures.style import (
    COLORS,
    FULL_WIDTH,
    PALETTE,
    REFERENCE_WIDTH,
    figure,
    hex_to_rgba,
    layout_dict,
)


def _figure(data: list[dict], layout: dict, width: float = REFERENCE_WIDTH) -> go.Figure:
    # Assembled from trusted dicts (validated in the tests): skip plotly's per-property checks.
    return figure(data, layout, width=width)


def _list(x) -> list:
    return np.asarray(x, dtype=float).tolist()


def _panels(layout: dict, n: int, titles: Sequence[str], gap: float = 0.06) -> list[tuple[str,
                                                                                          str]]:
    """Split the x range into ``n`` side-by-side panels; returns the (xaxis, yaxis) ids of each."""
    width = (1.0 - gap * (n - 1)) / n
    ids, notes = [], []
    for k in range(n):
        sx = "" if k == 0 else str(k + 1)
        lo = k * (width + gap)
        xa = dict(layout.get("xaxis", {})) if k == 0 else {}
        xa.update(domain=[lo, lo + width], anchor=f"y{sx}")
        layout[f"xaxis{sx}"] = xa
        if k:
            layout[f"yaxis{sx}"] = dict(anchor=f"x{sx}", matches="y", showticklabels=True)
        else:
            layout["yaxis"] = dict(layout.get("yaxis", {}), anchor="x")
        ids.append((f"x{sx}", f"y{sx}"))
        notes.append(dict(text=titles[k], x=lo + width / 2, y=1.0, xref="paper", yref="paper",
                          xanchor="center", yanchor="bottom", showarrow=False, font=dict(size=13)))
    layout["annotations"] = layout.get("annotations", []) + notes
    return ids


def _fmt(x: float) -> str:
    return "∞" if not np.isfinite(x) else f"{x:.3f}"


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
    layout = layout_dict(f"j after a<sup>i</sup> = {chosen_name} vs on average",
                         "influencee's action a<sup>j</sup>", "probability", height=380)
    titles = [f"{lab}: KL = {_fmt(k)} nats" for lab, k in zip(influencee_labels, kls)]
    ids = _panels(layout, n_j, titles)
    layout.update(barmode="group", margin=dict(l=60, r=20, t=80, b=60))
    layout["yaxis"]["range"] = [0, 1.05]
    data = []
    for j, (xa, ya) in enumerate(ids):
        data.append(dict(type="bar", x=list(action_names_j), y=_list(marginals[j]), xaxis=xa,
                         yaxis=ya, name="counterfactual marginal p(a<sup>j</sup>)",
                         marker=dict(color=COLORS["target"]), showlegend=j == 0, legendgroup="m"))
        data.append(dict(type="bar", x=list(action_names_j), y=_list(conditionals[j]), xaxis=xa,
                         yaxis=ya,
                         name=f"π<sup>j</sup>(a<sup>j</sup> | a<sup>i</sup> = {chosen_name})",
                         marker=dict(color=COLORS["current"]), showlegend=j == 0, legendgroup="c"))
    return _figure(data, layout)


def _cap_inf(values: np.ndarray) -> tuple[np.ndarray, float]:
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    cap = 1.25 * float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    return np.where(np.isfinite(v), v, cap), cap


def reward_per_action(
    rewards: np.ndarray,
    pi_i: np.ndarray,
    action_names_i: Sequence[str],
    influencee_labels: Sequence[str],
    chosen: int,
) -> go.Figure:
    """Stacked bars of r^i(a^i) = Σ_j KL[π^j(·|a^i) ‖ p(a^j)] for every action;
    ``rewards (A_i, n_j)``.

    π^i(a^i) is drawn as a dotted line on a right-hand axis: the expected reward weights the bars by
    it.
    """
    shown, cap = _cap_inf(rewards)
    totals = rewards.sum(1)
    names = list(action_names_i)
    layout = layout_dict("r<sup>i</sup> for every action (outlined: chosen)",
                         "agent i's action a<sup>i</sup>", "r<sup>i</sup> (nats)", height=380)
    layout.update(barmode="stack")
    layout["yaxis2"] = dict(title=dict(text="π<sup>i</sup>(a<sup>i</sup>)"), overlaying="y",
                            side="right", range=[0, 1.05], showgrid=False, tickmode="linear",
                            tick0=0, dtick=0.25)
    layout["margin"] = dict(l=60, r=60, t=60, b=60)
    data = [
        dict(type="bar", x=names, y=_list(shown[:, j]), name=f"KL to {lab}",
             marker=dict(color=PALETTE[j % len(PALETTE)], line=dict(color=COLORS["current"],
                         width=[3 if a == chosen else 0 for a in range(len(names))])))
        for j, lab in enumerate(influencee_labels)
    ]
    data.append(dict(type="scatter", x=names,
                     y=_list(np.where(np.isfinite(totals), totals, shown.sum(1))), mode="text",
                     text=[_fmt(t) for t in totals], textposition="top center", showlegend=False,
                     hoverinfo="skip"))
    data.append(dict(type="scatter", x=names, y=_list(pi_i), yaxis="y2",
                     name="π<sup>i</sup>(a<sup>i</sup>)", mode="lines+markers",
                     line=dict(color=COLORS["target"], dash="dot")))
    if not np.isfinite(rewards).all():
        layout["annotations"] = [dict(text=f"∞ drawn at {cap:.2f}", xref="paper", yref="paper", x=1,
                                      y=1.08, showarrow=False, font=dict(size=11))]
    return _figure(data, layout)


def influence_heatmap(influence: np.ndarray, state_names: Sequence[str],
                      signal_names: Sequence[str]) -> go.Figure:
    """r^i(s, σ) as a heat map, ``influence (S, Σ)``; pairs never sent (∞) are grey and labelled."""
    v = np.asarray(influence, dtype=float)
    z = [[x if np.isfinite(x) else None for x in row] for row in v]
    text = [[f"{x:.3f}" if np.isfinite(x) else "∞ (never sent)" for x in row] for row in v]
    layout = layout_dict("r<sup>i</sup>(s, σ): influence of sending σ in state s", "signal σ",
                         "state s", height=280)
    layout["plot_bgcolor"] = "#eeeeee"
    data = [dict(type="heatmap", z=z, x=list(signal_names), y=list(state_names), text=text,
                 texttemplate="%{text}", colorscale="Blues", reversescale=True,
                 colorbar=dict(title=dict(text="nats")), hoverongaps=False, zmin=0)]
    return _figure(data, layout)


def learning_curves(
    steps: np.ndarray,
    runs: dict[str, tuple[np.ndarray, np.ndarray]],
    colors: dict[str, str],
) -> go.Figure:
    """Extrinsic return of i and I(a^i; a^j) over training, mean over seeds with a min–max band.

    ``runs``: label → (extrinsic ``(S, T)``, mutual information ``(S, T)``), ``steps (T,)``.
    """
    layout = layout_dict(
        "Learning with and without the influence bonus (mean over seeds, band = min–max)",
        "policy-gradient update", "", height=400)
    ids = _panels(layout, 2, ("extrinsic return of i", "I(a<sup>i</sup>; a<sup>j</sup>) (nats)"),
                  gap=0.1)
    layout["xaxis2"]["title"] = dict(text="policy-gradient update")
    layout["yaxis2"].pop("matches")
    layout["margin"] = dict(l=60, r=20, t=90, b=60)
    layout["legend"]["y"] = -0.22
    data = []
    for label, (ext, mi) in runs.items():
        color = colors[label]
        for k, values in enumerate((ext, mi)):
            values = np.asarray(values, dtype=float)
            t = np.asarray(steps, dtype=float)[: values.shape[1]]
            xa, ya = ids[k]
            data.append(dict(type="scatter", x=_list(np.concatenate([t, t[::-1]])),
                             y=_list(np.concatenate([values.max(0), values.min(0)[::-1]])),
                             xaxis=xa, yaxis=ya, fill="toself", fillcolor=hex_to_rgba(color, 0.18),
                             line=dict(width=0), hoverinfo="skip", showlegend=False,
                             legendgroup=label))
            data.append(dict(type="scatter", x=_list(t), y=_list(values.mean(0)), xaxis=xa,
                             yaxis=ya, name=label, mode="lines", line=dict(color=color, width=2.5),
                             showlegend=k == 0, legendgroup=label))
    return _figure(data, layout, FULL_WIDTH)
