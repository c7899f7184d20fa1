"""Plotly figures of the Normalization lesson: data in (tensors / dataclasses), ``go.Figure`` out."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from toolbox.figures.style import COLORS, PALETTE, base_layout, hex_to_rgba


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def running_estimate_figure(stream, trace, step: int) -> go.Figure:
    """Running mean ± std after each batch (up to ``step``, 1-based) against the truth, and the samples."""
    T, B = stream.x.shape
    k = max(1, min(int(step), T))
    seen = np.arange(1, k + 1) * B
    mean, std = _np(trace.mean[:k]), np.sqrt(_np(trace.var[:k]))
    fig = go.Figure()
    # at most 4,000 raw points: enough to see the cloud, cheap to draw
    x = _np(stream.x[:k])
    stride = max(1, int(np.ceil(x.size / 4000)))
    pts_x = np.repeat(seen, B)[::stride]
    fig.add_trace(go.Scattergl(x=pts_x, y=x.reshape(-1)[::stride], mode="markers", name="samples",
                               marker=dict(size=3, color=hex_to_rgba(COLORS["target"], 0.35))))
    fig.add_trace(go.Scatter(x=np.r_[seen, seen[::-1]], y=np.r_[mean + std, (mean - std)[::-1]], fill="toself",
                             fillcolor=hex_to_rgba(COLORS["empirical"], 0.15), line=dict(width=0),
                             name="running mean ± std", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=seen, y=mean, name="running mean", line=dict(color=COLORS["empirical"], width=2)))
    tm, ts = _np(stream.true_mean[:k]), _np(stream.true_std[:k])
    fig.add_trace(go.Scatter(x=seen, y=tm, name="true mean", line=dict(color=COLORS["current"], dash="dash")))
    fig.add_trace(go.Scatter(x=seen, y=tm + ts, name="true mean ± std", line=dict(color=COLORS["current"], dash="dot", width=1)))
    fig.add_trace(go.Scatter(x=seen, y=tm - ts, showlegend=False, line=dict(color=COLORS["current"], dash="dot", width=1)))
    base_layout(fig, f"Running estimate after {k} batches ({k * B:,} samples)", "samples seen", "value", height=380)
    fig.update_xaxes(range=[0, T * B * 1.01])
    return fig


def batch_histogram_figure(raw, normalized, clip: float | None) -> go.Figure:
    """The current batch before and after normalization (two panels), with the ±clip lines."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("raw batch", "normalized batch"))
    fig.add_trace(go.Histogram(x=_np(raw), name="raw", marker_color=COLORS["without"], nbinsx=30), 1, 1)
    fig.add_trace(go.Histogram(x=_np(normalized), name="normalized", marker_color=COLORS["with"], nbinsx=30), 1, 2)
    if clip is not None:
        for c in (-clip, clip):
            fig.add_vline(x=c, line=dict(color=COLORS["target"], dash="dash"), row=1, col=2)
    base_layout(fig, "The batch that just arrived", "value", "count", height=300)
    fig.update_layout(showlegend=False)
    return fig


def observation_histograms_figure(obs, normalized, names) -> go.Figure:
    """Per-dimension histograms: raw CartPole observations (top) and normalized (bottom)."""
    o = _np(obs).reshape(-1, obs.shape[-1])
    z = _np(normalized).reshape(-1, obs.shape[-1])
    D = o.shape[1]
    fig = make_subplots(rows=2, cols=D, subplot_titles=[*names, *[f"{n} (normalized)" for n in names]],
                        vertical_spacing=0.18)
    for d in range(D):
        fig.add_trace(go.Histogram(x=o[:, d], nbinsx=40, marker_color=COLORS["without"], name="raw",
                                   showlegend=d == 0), 1, d + 1)
        fig.add_trace(go.Histogram(x=z[:, d], nbinsx=40, marker_color=COLORS["with"], name="normalized",
                                   showlegend=d == 0), 2, d + 1)
    base_layout(fig, "CartPole observations per dimension: raw (top) and normalized (bottom)", "", "count", height=520)
    fig.update_layout(xaxis_title=None)
    fig.update_annotations(font_size=11)
    return fig


def reward_trace_figure(rewards, trace, env: int = 0, terminated=None) -> go.Figure:
    """One environment's return G_t, the running std of G, and the scaled reward over time."""
    G = _np(trace.returns[:, env])
    sd = _np(trace.return_std)
    t = np.arange(1, len(G) + 1)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=("discounted return G_t (env 0) and running std of G (all envs)",
                                        "reward: raw and scaled"))
    fig.add_trace(go.Scatter(x=t, y=G, name="G_t (env 0)", line=dict(color=COLORS["target"])), 1, 1)
    fig.add_trace(go.Scatter(x=t, y=sd, name="running std of G", line=dict(color=COLORS["current"], width=2)), 1, 1)
    fig.add_trace(go.Scatter(x=t, y=_np(rewards[:, env]), name="raw reward", line=dict(color=COLORS["without"])), 2, 1)
    fig.add_trace(go.Scatter(x=t, y=_np(trace.scaled[:, env]), name="scaled reward", line=dict(color=COLORS["with"])), 2, 1)
    if terminated is not None:
        ends = t[_np(terminated[:, env]) > 0]
        fig.add_trace(go.Scatter(x=ends, y=np.zeros(len(ends)), mode="markers", name="episode end",
                                 marker=dict(symbol="x", color="black", size=6)), 1, 1)
    base_layout(fig, "Reward scaling as the stream plays", "step", "", height=480)
    fig.update_yaxes(type="log", row=2, col=1)
    return fig


def return_scales_figure(scales) -> go.Figure:
    """Value-target magnitude (max |return-to-go|) for each γ, raw vs scaled rewards, log scale."""
    labels = [f"γ = {g:g}" for g in _np(scales.gammas)]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=_np(scales.raw_target_abs_max), name="raw rewards: max |value target|",
                         marker_color=COLORS["without"]))
    fig.add_trace(go.Bar(x=labels, y=_np(scales.scaled_target_abs_max), name="scaled rewards: max |value target|",
                         marker_color=COLORS["with"]))
    fig.add_trace(go.Scatter(x=labels, y=_np(scales.return_std), name="running std of G (the divisor)",
                             mode="lines+markers", line=dict(color=COLORS["current"])))
    base_layout(fig, "How big the value targets get, per discount", "discount", "magnitude (log)", height=360)
    fig.update_yaxes(type="log")
    fig.update_layout(barmode="group")
    return fig


def advantage_histogram_figure(raw, normalized, index: int) -> go.Figure:
    """One minibatch's advantages before and after normalization."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(f"minibatch {index}: raw advantages", "normalized"))
    fig.add_trace(go.Histogram(x=_np(raw), nbinsx=30, marker_color=COLORS["without"], name="raw"), 1, 1)
    fig.add_trace(go.Histogram(x=_np(normalized), nbinsx=30, marker_color=COLORS["with"], name="normalized"), 1, 2)
    for col in (1, 2):
        fig.add_vline(x=0, line=dict(color=COLORS["target"], dash="dash"), row=1, col=col)
    base_layout(fig, "Advantage normalization per minibatch", "advantage", "count", height=300)
    fig.update_layout(showlegend=False)
    return fig


def minibatch_stats_figure(mb) -> go.Figure:
    """Per-minibatch mean and std of the raw advantages (what each minibatch normalizes with)."""
    M = mb.mean.shape[0]
    idx = np.arange(M)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=idx, y=_np(mb.mean), name="minibatch mean", marker_color=PALETTE[0]))
    fig.add_trace(go.Bar(x=idx, y=_np(mb.std), name="minibatch std", marker_color=PALETTE[3]))
    base_layout(fig, f"Statistics of each of the {M} minibatches", "minibatch", "advantage units", height=300)
    fig.update_layout(barmode="group")
    return fig


def minibatch_size_figure(effect) -> go.Figure:
    """Spread of minibatch statistics and deviation from whole-batch normalization vs minibatch size."""
    x = _np(effect["size"])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=_np(effect["mean_spread"]), name="spread of minibatch means", mode="lines+markers",
                             line=dict(color=PALETTE[0])))
    fig.add_trace(go.Scatter(x=x, y=_np(effect["std_spread"]), name="spread of minibatch stds", mode="lines+markers",
                             line=dict(color=PALETTE[3])))
    fig.add_trace(go.Scatter(x=x, y=_np(effect["deviation"]), name="mean |per-minibatch − whole-batch normalized|",
                             mode="lines+markers", line=dict(color=COLORS["without"])))
    base_layout(fig, "The minibatch-size effect", "minibatch size", "", height=320)
    fig.update_xaxes(type="log")
    return fig


def message_norm_figure(demo, step: int) -> go.Figure:
    """Over training: the message's std, BatchNorm (train/eval) output std, and BN's running statistics."""
    K = demo.scale.shape[0]
    k = np.arange(K)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("output std per batch (channel 0)",
                                                        "BatchNorm running statistics vs the batch's"))
    sd = lambda y: _np(y[..., 0].std(1, correction=0))  # noqa: E731
    mn = lambda y: _np(y[..., 0].mean(1))  # noqa: E731
    fig.add_trace(go.Scatter(x=k, y=sd(demo.raw), name="raw message", line=dict(color=COLORS["target"])), 1, 1)
    fig.add_trace(go.Scatter(x=k, y=sd(demo.bn_train), name="BatchNorm (train)", line=dict(color=COLORS["with"])), 1, 1)
    fig.add_trace(go.Scatter(x=k, y=sd(demo.bn_eval), name="BatchNorm (eval)", line=dict(color=COLORS["current"])), 1, 1)
    fig.add_trace(go.Scatter(x=k, y=sd(demo.layer_norm), name="LayerNorm", line=dict(color=PALETTE[2], dash="dot")), 1, 1)
    fig.add_trace(go.Scatter(x=k, y=mn(demo.raw), name="batch mean", line=dict(color=COLORS["target"], dash="dot")), 1, 2)
    fig.add_trace(go.Scatter(x=k, y=_np(demo.running_mean[:, 0]), name="running mean", line=dict(color=COLORS["current"])), 1, 2)
    fig.add_trace(go.Scatter(x=k, y=_np(demo.raw[..., 0].var(1, correction=1)), name="batch variance",
                             line=dict(color=PALETTE[5], dash="dot")), 1, 2)
    fig.add_trace(go.Scatter(x=k, y=_np(demo.running_var[:, 0]), name="running variance", line=dict(color=PALETTE[4])), 1, 2)
    for col in (1, 2):
        fig.add_vline(x=int(step), line=dict(color="black", dash="dash", width=1), row=1, col=col)
    base_layout(fig, "The message during training (its scale drifts)", "training step", "", height=360)
    return fig


def message_histogram_figure(demo, step: int) -> go.Figure:
    """At one training step: the message and its three normalizations, coloured by the bit sent."""
    k = int(step)
    bits = _np(demo.bits[k]) > 0
    panels = [("raw message", demo.raw), ("BatchNorm (train)", demo.bn_train),
              ("BatchNorm (eval)", demo.bn_eval), ("LayerNorm", demo.layer_norm)]
    fig = make_subplots(rows=1, cols=4, subplot_titles=[p[0] for p in panels])
    for i, (name, y) in enumerate(panels):
        v = _np(y[k, :, 0])
        for b, color, label in ((False, COLORS["without"], "bit 0"), (True, COLORS["with"], "bit 1")):
            fig.add_trace(go.Histogram(x=v[bits == b], nbinsx=20, marker_color=color, name=label, opacity=0.7,
                                       showlegend=i == 0), 1, i + 1)
    base_layout(fig, f"Step {k}: what the receiver's next layer sees (channel 0)", "value", "count", height=300)
    fig.update_layout(barmode="overlay")
    return fig
