"""Scenes of the Gumbel-Softmax lesson (widget keys: ``toolbox.lessons.shared``).

Each answer is computed at display time with ``toolbox.gumbel`` at the scene's settings, with
the page's sample sizes and random streams (``toolbox.lessons.shared``), on the CPU. The
Gumbel-max scene uses the ``decreasing`` preset with K = 4, π = (0.4, 0.3, 0.2, 0.1); the
temperature scenes use K = 3, so that the page draws the samples on the simplex (a triangle).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch

from toolbox import gumbel as G
from toolbox.lessons import shared as K
from toolbox.lessons.scenes import Answer, Question, Scene

_PI4 = {K.GS_K: 4, K.GS_PRESET: "decreasing", K.GS_MODE: "probabilities", K.GS_SEED: 0}
_PI3 = {**_PI4, K.GS_K: 3}
_TABS = ("sampling", "temperature", "reparameterization", "estimators", "rl")
_PI3_TEXT = ", ".join(f"{p:.2g}" for p in G.preset_values("decreasing", 3, "probabilities"))


def _others(tab: str) -> tuple[str, ...]:
    return tuple(t for t in _TABS if t != tab)


def _logits(v: Mapping[str, Any]) -> torch.Tensor:
    values = G.preset_values(v[K.GS_PRESET], v[K.GS_K], v[K.GS_MODE])
    return G.distribution_logits(values, v[K.GS_MODE], device="cpu")


def _generator(v: Mapping[str, Any], part: int) -> torch.Generator:
    return torch.Generator().manual_seed(G.stream_seed(int(v[K.GS_SEED]), part))


def temperature_curves(v: Mapping[str, Any]) -> G.TemperatureSweep:
    """The page's temperature curves (``app_pages.gumbel_softmax.calls.curve``) at the widget values
    ``v``."""
    taus = G.log_grid(*K.GS_SWEEP, device="cpu").tolist()
    return G.temperature_sweep(_logits(v), taus, K.GS_N_CURVE, _generator(v, K.GS_PART_CURVE))


def at_tau(sweep: G.TemperatureSweep, tau: float) -> int:
    """Index of the grid point nearest to ``tau`` (in log scale)."""
    return int((sweep.taus.log() - math.log(tau)).abs().argmin())


def _gumbel_max(v: Mapping[str, Any]) -> Answer:
    n_draws = int(v[K.GS_N])
    ex = G.gumbel_max_experiment(_logits(v), n_draws, _generator(v, K.GS_PART_MAX))
    n = dict(pi=float(ex.probs[0]), freq=float(ex.freqs[0]), p_value=float(ex.chi_square.p_value))
    verdict = (
        "finds no difference from π"
        if n["p_value"] > 0.05
        else "rejects π at the 5 % level — as it does for 1 seed in 20 with a correct sampler"
    )
    text = (
        f"The argmax of θ + g is distributed *exactly* as π: at seed {v[K.GS_SEED]} category 1 "
        f"(π₁ = {n['pi']:.2g}) comes out in **{n['freq']:.1%}** of {n_draws:,} draws, and the "
        "chi-square "
        f"test (p = {n['p_value']:.2f}) {verdict}. No approximation is involved; only the argmax "
        "is not "
        "differentiable."
    )
    return Answer(text, "frequency", dict(probs=ex.probs, freqs=ex.freqs, n=n_draws), n)


def _cold(v: Mapping[str, Any]) -> Answer:
    sw = temperature_curves(v)
    tau = float(v[K.GS_TAU])
    n = dict(
        max_cold=float(sw.mean_max[at_tau(sw, tau)]), max_one=float(sw.mean_max[at_tau(sw, 1.0)])
    )
    text = (
        f"On average the largest coordinate is **{n['max_cold']:.2f}** at τ = {tau:g} "
        f"({n['max_one']:.2f} at τ = 1): a cold softmax is nearly the argmax, so the samples are "
        "nearly "
        "one-hot — the corners of the triangle — and its gradients are nearly zero except close to "
        "ties, "
        "which is where their variance comes from."
    )
    return Answer(text, "temperature", dict(sweep=sw, tau=tau, K=int(v[K.GS_K])), n)


def _hot(v: Mapping[str, Any]) -> Answer:
    tau = float(v[K.GS_TAU])
    rx = G.relaxed_experiment(_logits(v), tau, K.GS_N_RELAXED, _generator(v, K.GS_PART_RELAXED))
    sw = temperature_curves(v)
    k = int(v[K.GS_K])
    n = dict(
        pi=float(rx.probs[0]),
        mean_first=float(rx.mean_sample[0]),
        max_hot=float(sw.mean_max[at_tau(sw, tau)]),
        uniform=1 / k,
        argmax_first=float(rx.argmax_freqs[0]),
    )
    text = (
        f"E[y] is close to uniform: its first coordinate is **{n['mean_first']:.2f}** instead of "
        f"{n['pi']:.2g} (uniform: {n['uniform']:.2f}), and the largest coordinate of a sample "
        "averages "
        f"**{n['max_hot']:.2f}**. The *argmax* of each relaxed sample is still an exact draw from "
        "π at every "
        f"τ (category 1: {n['argmax_first']:.1%} of {K.GS_N_RELAXED:,} samples); only the soft "
        "values lose "
        "π, which is the bias a large τ adds to gradient estimates."
    )
    return Answer(
        text,
        "relaxed_mean",
        dict(
            probs=rx.probs,
            mean_sample=rx.mean_sample,
            argmax_freqs=rx.argmax_freqs,
            tau=tau,
            n=K.GS_N_RELAXED,
        ),
        n,
    )


GUMBEL_SCENES: tuple[Scene, ...] = (
    Scene(
        id="gumbel-max-exact",
        title="The Gumbel-max trick is exact",
        text="Add independent Gumbel(0, 1) noise to each log-probability and take the argmax; "
        "repeat "
        "100,000 times and count the categories.",
        question=Question(
            "How often is category 1 (π₁ = 0.4) the argmax?",
            (
                "About 40% of the time: exactly π₁",
                "More than 40%: the argmax favours the largest logit",
                "Less than 40%: the noise spreads the draws towards uniform",
            ),
            0,
        ),
        explanation=_gumbel_max,
        settings={**_PI4, K.GS_N: 100_000, K.GS_TAU: 1.0},
        spoilers=(K.SPOIL_METRICS, K.SPOIL_FIGURES),
        tab="sampling",
        hide_tabs=_others("sampling"),
    ),
    Scene(
        id="temperature-sharpness",
        title="Temperature versus sharpness: a cold softmax",
        text="Replace the argmax by softmax((θ + g)/τ) with τ = 0.1, here with K = 3 categories: "
        "each relaxed "
        "sample is a point of the triangle. Look at single samples (bars and triangle) before "
        "predicting "
        "their average.",
        question=Question(
            "At τ = 0.1, how large is a relaxed sample's largest coordinate, on average?",
            (
                "About 0.5, the largest probability",
                "Above 0.9: the samples are almost one-hot",
                "About 0.33: the samples are almost uniform",
            ),
            1,
        ),
        explanation=_cold,
        settings={**_PI3, K.GS_TAU: 0.1},
        spoilers=(K.SPOIL_FIGURES,),
        tab="temperature",
        hide_tabs=_others("temperature"),
    ),
    Scene(
        id="temperature-hot",
        title="A hot softmax forgets π",
        text="Now τ = 10: the noise and logits are divided by 10 before the softmax. Look at the "
        "triangle.",
        question=Question(
            "At τ = 10, what is the average relaxed sample E[y]?",
            (
                f"Still π = ({_PI3_TEXT})",
                "Close to uniform: about 1/3 for every category",
                "One-hot on the most likely category",
            ),
            1,
        ),
        explanation=_hot,
        settings={**_PI3, K.GS_TAU: 10.0},
        spoilers=(K.SPOIL_FIGURES,),
        tab="temperature",
        hide_tabs=_others("temperature"),
    ),
)
