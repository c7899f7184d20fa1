"""Plotly figures of the Normalization lesson: data in (tensors / dataclasses), ``go.Figure`` out.

Each builder assembles plain dicts and constructs the figure once: ``make_subplots``,
``add_trace``, ``add_vline`` and ``update_layout`` validate the whole figure again on every call
and cost 5–40 ms per figure, and a ``template`` alone costs about 13 ms, which would take the page
past its 100 ms rerun budget. The look is ``style.layout_dict`` (title left, legend under the plot,
labelled axes) with ``style.COLORS``; in the app, Streamlit's chart theme supplies the rest.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from toolbox.figures.style import (
    COLORS,
    PALETTE,
    REFERENCE_WIDTH,
    figure,
    hex_to_rgba,
    layout_dict,
    n_lines,
    wrap,
)


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def _grid(layout: dict, rows: int, cols: int, titles: Sequence[str], x_title: str = "",
          y_title: str = "", hgap: float = 0.06, vgap: float = 0.16,
          shared_x: bool = False) -> dict:
    """Axes ``x, x2, …`` / ``y, y2, …`` laid out like ``make_subplots(rows, cols)`` (row-major),
    with titles."""
    w = (1.0 - hgap * (cols - 1)) / cols
    h = (1.0 - vgap * (rows - 1)) / rows
    notes = []
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c + 1
            sx = "" if i == 1 else str(i)
            x0, y1 = c * (w + hgap), 1.0 - r * (h + vgap)
            xaxis = dict(domain=[max(0.0, x0), min(1.0, x0 + w)], anchor=f"y{sx}")
            if r == rows - 1 and x_title:
                xaxis["title"] = dict(text=x_title)
            if shared_x and i > 1:
                xaxis["matches"] = "x"
            yaxis = dict(domain=[max(0.0, y1 - h), min(1.0, y1)], anchor=f"x{sx}")
            if c == 0 and y_title:
                yaxis["title"] = dict(text=y_title)
            layout[f"xaxis{sx}"] = xaxis
            layout[f"yaxis{sx}"] = yaxis
            if i <= len(titles):
                notes.append(dict(text=titles[i - 1], x=x0 + w / 2, y=y1, xref="paper",
                                  yref="paper", xanchor="center", yanchor="bottom", showarrow=False,
                                  font=dict(size=12)))
    layout["annotations"] = notes
    return layout


def _vline(x: float, axis: str = "", color: str = COLORS["target"], dash: str = "dash",
           width: float = 1.5) -> dict:
    """A vertical line over the full height of subplot ``axis`` ('' for the first, '2', …)."""
    return dict(type="line", x0=x, x1=x, xref=f"x{axis}", y0=0, y1=1, yref=f"y{axis} domain",
                line=dict(color=color, dash=dash, width=width))


def _figure(data: list, layout: dict, width: float = REFERENCE_WIDTH) -> go.Figure:
    return figure(data, layout, validate=True, width=width)


def running_estimate_figure(stream, trace, step: int) -> go.Figure:
    """Running mean ± std after each batch (up to ``step``, 1-based) against the truth, and the
    samples."""
    T, B = stream.x.shape
    k = max(1, min(int(step), T))
    seen = np.arange(1, k + 1) * B
    mean, std = _np(trace.mean[:k]), np.sqrt(_np(trace.var[:k]))
    # at most 4,000 raw points: enough to see the cloud, cheap to draw
    x = _np(stream.x[:k])
    stride = max(1, int(np.ceil(x.size / 4000)))
    tm, ts = _np(stream.true_mean[:k]), _np(stream.true_std[:k])
    data = [
        dict(type="scattergl", x=np.repeat(seen, B)[::stride], y=x.reshape(-1)[::stride],
             mode="markers", name="samples",
             marker=dict(size=6, color=hex_to_rgba(COLORS["target"], 0.3))),
        dict(type="scatter", x=np.r_[seen, seen[::-1]], y=np.r_[mean + std, (mean - std)[::-1]],
             fill="toself", fillcolor=hex_to_rgba(COLORS["empirical"], 0.15), line=dict(width=0),
             name="running mean ± std", hoverinfo="skip"),
        dict(type="scatter", x=seen, y=mean, name="running mean",
             line=dict(color=COLORS["empirical"], width=2)),
        dict(type="scatter", x=seen, y=tm, name="true mean", line=dict(color=COLORS["current"],
                                                                       dash="dash")),
        dict(type="scatter", x=np.r_[seen, np.nan, seen], y=np.r_[tm + ts, np.nan, tm - ts],
             name="true mean ± std", line=dict(color=COLORS["current"], dash="dot", width=1)),
    ]
    layout = layout_dict(f"Running estimate: {k} batches, {k * B:,} samples", "samples seen",
                         "value", 430)
    layout["xaxis"]["range"] = [0, T * B * 1.01]
    return _figure(data, layout)


def batch_histogram_figure(raw, normalized, clip: float | None) -> go.Figure:
    """The current batch before and after normalization (two panels), with the ±clip lines."""
    data = [
        dict(type="histogram", x=_np(raw), name="raw", marker=dict(color=COLORS["without"]),
             nbinsx=30),
        dict(type="histogram", x=_np(normalized), name="normalized",
             marker=dict(color=COLORS["with"]), nbinsx=30, xaxis="x2", yaxis="y2"),
    ]
    layout = _grid(layout_dict("The batch that just arrived", height=300, showlegend=False,
                               margin=dict(l=60, r=20, t=60, b=50)), 1, 2,
                   ("raw batch", "normalized batch"), "value", "count", hgap=0.1)
    if clip is not None:
        layout["shapes"] = [_vline(-clip, "2"), _vline(clip, "2")]
    return _figure(data, layout)


def observation_histograms_figure(obs, normalized, names: Sequence[str]) -> go.Figure:
    """Per-dimension histograms, one row per dimension: raw CartPole observations (left), normalized
    (right)."""
    D = obs.shape[-1]
    o = _np(obs).reshape(-1, D)
    z = _np(normalized).reshape(-1, D)
    data = []
    for d in range(D):
        for col, values, color, label in ((0, o, COLORS["without"], "raw"),
                                          (1, z, COLORS["with"], "normalized")):
            i = 2 * d + col + 1
            ax = "" if i == 1 else str(i)
            data.append(dict(type="histogram", x=values[:, d], nbinsx=40, marker=dict(color=color),
                             name=label, showlegend=d == 0, legendgroup=label, xaxis=f"x{ax}",
                             yaxis=f"y{ax}"))
    titles = [t for n in names for t in (f"{n}: raw", "normalized")]
    # room between rows for the tick labels above and the (possibly wrapped) titles below
    panel = (REFERENCE_WIDTH - 80) * (1 - 0.12) / 2
    lines = max(n_lines(wrap(t, panel - 4)) for t in titles)
    height = 130 * D + 60 + 18 * lines * D
    layout = _grid(layout_dict("CartPole observations, raw vs normalized", height=height), D, 2,
                   titles, "", "count", hgap=0.12, vgap=_gap(height, 28 + 18 * lines + 8, D))
    return _figure(data, layout)


def _gap(height: float, px: float, rows: int) -> float:
    """The vertical gap between stacked panels, as a fraction of the plot, that is ``px`` pixels
    (tick labels and the next panel's title) in a figure about ``height`` pixels tall."""
    plot = max(height - 110, 100)
    return min(px / plot, 0.5 / max(rows - 1, 1))


def reward_trace_figure(rewards, trace, env: int = 0, terminated=None) -> go.Figure:
    """One environment's return G_t, the running std of G, and the raw and scaled reward over
    time."""
    G = _np(trace.returns[:, env])
    t = np.arange(1, len(G) + 1)
    data = [
        dict(type="scatter", x=t, y=G, name=f"G<sub>t</sub> (env {env})",
             line=dict(color=COLORS["target"])),
        dict(type="scatter", x=t, y=_np(trace.return_std), name="running std of G",
             line=dict(color=COLORS["current"], width=2)),
        dict(type="scatter", x=t, y=_np(rewards[:, env]), name="raw reward",
             line=dict(color=COLORS["without"]), xaxis="x2", yaxis="y2"),
        dict(type="scatter", x=t, y=_np(trace.scaled[:, env]), name="scaled reward",
             line=dict(color=COLORS["with"]), xaxis="x2", yaxis="y2"),
    ]
    if terminated is not None:
        ends = t[_np(terminated[:, env]) > 0]
        data.append(dict(type="scatter", x=ends, y=np.zeros(len(ends)), mode="markers",
                         name="episode end", marker=dict(symbol="x", color="black", size=6)))
    layout = _grid(layout_dict("Reward scaling as the stream plays", height=540), 2, 1,
                   (f"return G<sub>t</sub> (env {env}) and running std of G (all envs)",
                    "reward: raw and scaled (log scale)"), "step", "", vgap=0.14, shared_x=True)
    layout["yaxis2"]["type"] = "log"
    return _figure(data, layout)


def return_scales_figure(scales) -> go.Figure:
    """Value-target magnitude (max |return-to-go|) for each γ, raw vs scaled rewards, log scale."""
    labels = [f"γ = {g:g}" for g in _np(scales.gammas)]
    data = [
        dict(type="bar", x=labels, y=_np(scales.raw_target_abs_max),
             name="raw rewards: max |value target|", marker=dict(color=COLORS["without"])),
        dict(type="bar", x=labels, y=_np(scales.scaled_target_abs_max),
             name="scaled rewards: max |value target|", marker=dict(color=COLORS["with"])),
        dict(type="scatter", x=labels, y=_np(scales.return_std),
             name="running std of G (the divisor)", mode="lines+markers",
             line=dict(color=COLORS["current"])),
    ]
    layout = layout_dict("Value-target size per discount (after warm-up)", "discount",
                     "magnitude (log scale)", 420, barmode="group")
    layout["yaxis"]["type"] = "log"
    return _figure(data, layout)


def advantage_histogram_figure(raw, normalized, index: int) -> go.Figure:
    """One minibatch's advantages before and after normalization."""
    data = [
        dict(type="histogram", x=_np(raw), nbinsx=30, marker=dict(color=COLORS["without"]),
             name="raw"),
        dict(type="histogram", x=_np(normalized), nbinsx=30, marker=dict(color=COLORS["with"]),
             name="normalized", xaxis="x2", yaxis="y2"),
    ]
    layout = _grid(layout_dict("Advantage normalization per minibatch", height=300,
                               showlegend=False, margin=dict(l=60, r=20, t=60, b=50)), 1, 2,
                   (f"minibatch {index}: raw advantages", "normalized"), "advantage", "count",
                   hgap=0.1)
    layout["shapes"] = [_vline(0.0, ""), _vline(0.0, "2")]
    return _figure(data, layout)


def minibatch_stats_figure(mb) -> go.Figure:
    """Per-minibatch mean and std of the raw advantages (what each minibatch normalizes with)."""
    M = mb.mean.shape[0]
    idx = np.arange(M)
    data = [
        dict(type="bar", x=idx, y=_np(mb.mean), name="minibatch mean",
             marker=dict(color=PALETTE[0])),
        dict(type="bar", x=idx, y=_np(mb.std), name="minibatch std", marker=dict(color=PALETTE[3])),
    ]
    return _figure(data, layout_dict(f"Statistics of each of the {M} minibatches", "minibatch",
                                     "advantage units", 340, barmode="group"))


def minibatch_size_figure(effect) -> go.Figure:
    """Spread of minibatch statistics and deviation from whole-batch normalization vs minibatch
    size."""
    x = _np(effect["size"])
    data = [
        dict(type="scatter", x=x, y=_np(effect["mean_spread"]), name="spread of minibatch means",
             mode="lines+markers", line=dict(color=PALETTE[0])),
        dict(type="scatter", x=x, y=_np(effect["std_spread"]), name="spread of minibatch stds",
             mode="lines+markers", line=dict(color=PALETTE[3])),
        dict(type="scatter", x=x, y=_np(effect["deviation"]),
             name="mean |per-minibatch − whole-batch normalized|", mode="lines+markers",
             line=dict(color=COLORS["without"])),
    ]
    layout = layout_dict("The minibatch-size effect", "minibatch size (log scale)", "", 380)
    layout["xaxis"]["type"] = "log"
    return _figure(data, layout)


def message_norm_figure(demo, step: int) -> go.Figure:
    """Over training: the message's std, BatchNorm (train/eval) and LayerNorm output std, BN's
    running statistics."""
    K = demo.scale.shape[0]
    k = np.arange(K)
    raw = _np(demo.raw[..., 0])

    def sd(y):
        return _np(y[..., 0]).std(1)

    data = [
        dict(type="scatter", x=k, y=raw.std(1), name="raw message",
             line=dict(color=COLORS["target"])),
        dict(type="scatter", x=k, y=sd(demo.bn_train), name="BatchNorm (train)",
             line=dict(color=COLORS["with"])),
        dict(type="scatter", x=k, y=sd(demo.bn_eval), name="BatchNorm (eval)",
             line=dict(color=COLORS["current"])),
        dict(type="scatter", x=k, y=sd(demo.layer_norm), name="LayerNorm",
             line=dict(color=PALETTE[2], dash="dot")),
        # right panel: one colour per statistic (the batch's dotted, BatchNorm's running one solid),
        # none shared with the left panel's lines (BatchNorm (eval) is orange)
        dict(type="scatter", x=k, y=raw.mean(1), name="batch mean",
             line=dict(color=PALETTE[5], dash="dot"), xaxis="x2", yaxis="y2"),
        dict(type="scatter", x=k, y=_np(demo.running_mean[:, 0]), name="BatchNorm running mean",
             line=dict(color=PALETTE[5]), xaxis="x2", yaxis="y2"),
        dict(type="scatter", x=k, y=raw.var(1, ddof=1), name="batch variance",
             line=dict(color=PALETTE[4], dash="dot"), xaxis="x2", yaxis="y2"),
        dict(type="scatter", x=k, y=_np(demo.running_var[:, 0]), name="BatchNorm running variance",
             line=dict(color=PALETTE[4]), xaxis="x2", yaxis="y2"),
    ]
    layout = _grid(layout_dict("The message during training (its scale drifts)", height=420), 1, 2,
                   ("output std per batch (channel 0)",
                    "BatchNorm running statistics vs the batch's"),
                   "training step", "", hgap=0.08)
    layout["shapes"] = [_vline(int(step), "", "black"), _vline(int(step), "2", "black")]
    return _figure(data, layout)


def message_histogram_figure(demo, step: int) -> go.Figure:
    """At one training step: the message and its three normalizations, coloured by the bit sent."""
    k = int(step)
    bits = _np(demo.bits[k]) > 0
    panels = [("raw message", demo.raw), ("BatchNorm (train)", demo.bn_train),
              ("BatchNorm (eval)", demo.bn_eval), ("LayerNorm", demo.layer_norm)]
    data = []
    for i, (_, y) in enumerate(panels):
        v = _np(y[k, :, 0])
        ax = "" if i == 0 else str(i + 1)
        for b, color, label in ((False, COLORS["without"], "bit 0"),
                                (True, COLORS["with"], "bit 1")):
            data.append(dict(type="histogram", x=v[bits == b], nbinsx=20, marker=dict(color=color),
                             name=label, opacity=0.7, showlegend=i == 0, legendgroup=label,
                             xaxis=f"x{ax}", yaxis=f"y{ax}"))
    layout = _grid(layout_dict(f"Step {k}: what the next layer sees (channel 0)", height=340,
                           barmode="overlay"), 1, 4, [p[0] for p in panels], "value", "count",
                   hgap=0.05)
    return _figure(data, layout)
