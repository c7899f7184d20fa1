"""The evidence a scene draws inside its card once revealed: ``evidence_figure(answer)``.

A scene's answer (``toolbox.lessons.scenes.Answer``) names one builder of :data:`EVIDENCE` and
carries its data, computed from the backend at display time. Most builders are the page's own
figures at the scene's settings; two show what the page's figures cannot be read off exactly:
the largest normalized value of every batch against the clip, and the exact DRU flip
probability as a function of the message (with the page's sampled frequencies).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import plotly.graph_objects as go

from toolbox.figures import gumbel as FG
from toolbox.figures import influence as FI
from toolbox.figures import normalization as FN
from toolbox.figures import ppo as FP
from toolbox.figures.style import COLORS, figure, layout_dict


def _np(x) -> np.ndarray:
    return np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=float)


def largest_z_figure(max_abs_z, clip: float, highlight: int) -> go.Figure:
    """Largest |z| of each batch (before clipping) as bars, the clip as a line, batch ``highlight``
    (1-based) marked."""
    z = _np(max_abs_z)
    batches = np.arange(1, len(z) + 1)
    colors = [
        COLORS["current"] if b == highlight else COLORS["without"] if v > clip else COLORS["with"]
        for b, v in zip(batches, z)
    ]
    data = [
        dict(
            type="bar",
            x=batches.tolist(),
            y=z.tolist(),
            marker=dict(color=colors),
            name="largest |z| in batch",
            hovertemplate="batch %{x}: |z| = %{y:.3g}<extra></extra>",
        ),
        dict(
            type="scatter",
            x=[0.5, len(z) + 0.5],
            y=[clip, clip],
            mode="lines",
            name=f"clip ±{clip:g}",
            line=dict(color=COLORS["target"], dash="dash"),
        ),
    ]
    layout = layout_dict(
        "Largest |z| of each batch, before the clip", "batch", "largest |z|", height=320
    )
    return figure(data, layout)


def flip_probability_figure(
    m_grid: Sequence[float],
    exact,
    m_sampled: Sequence[float],
    sampled,
    sigma: float,
    highlight: float,
    n_samples: int,
) -> go.Figure:
    """Exact P(flip) = Φ(−|m|/σ) over ``m_grid``, the sampled frequencies at ``m_sampled``,
    ``highlight`` marked."""
    exact, sampled = _np(exact), _np(sampled)
    at = float(np.interp(highlight, np.asarray(m_grid, dtype=float), exact))
    shown = float(sampled[list(m_sampled).index(highlight)])
    data = [
        dict(
            type="scatter",
            x=list(m_grid),
            y=exact.tolist(),
            mode="lines",
            name="exact Φ(−|m|/σ)",
            line=dict(color=COLORS["target"], width=2.5),
        ),
        dict(
            type="scatter",
            x=list(m_sampled),
            y=sampled.tolist(),
            mode="markers",
            name=f"sampled ({n_samples:,} draws)",
            marker=dict(color=COLORS["empirical"], size=9),
        ),
        dict(
            type="scatter",
            x=[highlight],
            y=[at],
            mode="markers+text",
            name=f"m = {highlight:g}",
            marker=dict(color=COLORS["current"], size=14, symbol="diamond"),
            text=[f"exact {at:.1%} · sampled {shown:.1%}"],
            textposition="top center",
        ),
    ]
    layout = layout_dict(
        f"Probability that a message flips, σ = {sigma:g}",
        "pre-DRU message m",
        "P(flip)",
        height=320,
    )
    layout["yaxis"]["range"] = [0, 0.55]
    layout["yaxis"]["tickformat"] = ".0%"
    return figure(data, layout)


def _relaxed_mean(probs, mean_sample, argmax_freqs, tau: float, n: int) -> go.Figure:
    mean = f"mean of {n:,} samples y"
    return FG.compare_bars_figure(
        {"target π": probs, mean: mean_sample, "frequency of argmax y": argmax_freqs},
        {
            "target π": FG.COLORS["target"],
            mean: FG.COLORS["empirical"],
            "frequency of argmax y": FG.COLORS["current"],
        },
        f"E[y] at τ = {tau:g} vs π",
        "probability",
        legend_below=True,
    )


def _temperature(sweep, tau: float, K: int) -> go.Figure:
    return FG.temperature_curve_figure(sweep.taus, sweep.mean_entropy, sweep.mean_max, tau, K)


def _influence_learning(on, off, beta: float) -> go.Figure:
    label_on, label_off = f"β = {beta:g} (with bonus)", "β = 0 (no bonus)"
    return FI.learning_curves(
        on.steps,
        {
            label_on: (on.extrinsic_i, on.mutual_information),
            label_off: (off.extrinsic_i, off.mutual_information),
        },
        {label_on: COLORS["with"], label_off: COLORS["without"]},
    )


def _reward_per_action(rewards, pi_i, names_i, chosen: int) -> go.Figure:
    return FI.reward_per_action(np.asarray(rewards), _np(pi_i), names_i, ["influencee 1"], chosen)


EVIDENCE: dict[str, Callable[..., go.Figure]] = {
    "running": FN.running_estimate_figure,
    "largest_z": largest_z_figure,
    "reward_trace": FN.reward_trace_figure,
    "frequency": FG.frequency_figure,
    "temperature": _temperature,
    "relaxed_mean": _relaxed_mean,
    "reward_per_action": _reward_per_action,
    "influence_learning": _influence_learning,
    "flip_probability": flip_probability_figure,
    "ppo_curves": FP.learning_curves,
    "ppo_differences": FP.score_differences,
}
"""Evidence name (``Answer.figure``) → builder called with ``Answer.data`` as keyword arguments."""


def evidence_figure(answer: Any) -> go.Figure | None:
    """The figure of a scene's answer, or None when it names none (ValueError for an unknown
    name)."""
    if answer.figure is None:
        return None
    if answer.figure not in EVIDENCE:
        raise ValueError(
            f"No evidence figure named {answer.figure!r}; known: {', '.join(EVIDENCE)}."
        )
    return EVIDENCE[answer.figure](**answer.data)
