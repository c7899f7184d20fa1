"""Scenes of the DIAL lesson (widget keys: ``toolbox.lessons.shared``; the page's section 2, the
DRU).

The page has no tabs. Each answer states the exact flip probability Φ(−|m|/σ)
(``toolbox.dial.dru.flip_probability``) and, labelled as sampled, the frequency the page's figure
draws (``message_distribution``: the page's messages, noise draws and seed), computed at display
time.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from toolbox.dial.dru import flip_probability, message_distribution
from toolbox.lessons import shared as K
from toolbox.lessons.scenes import Answer, Question, Scene

_M_GRID = tuple(x / 10 for x in range(-60, 61))
"""Messages at which the evidence figure draws the exact flip probability."""


def flip_numbers(v: Mapping[str, Any]) -> tuple[float, float]:
    """(exact, sampled) probability that the message ``v[DRU_M]`` flips at noise
    ``v[DRU_SIGMA]``."""
    m, sigma = float(v[K.DRU_M]), float(v[K.DRU_SIGMA])
    d = message_distribution(
        list(K.DRU_M_VALUES),
        sigma,
        n_samples=K.DRU_SAMPLES,
        generator=torch.Generator().manual_seed(K.DRU_SEED),
    )
    return float(flip_probability([m], sigma)[0]), float(d["p_flip"][K.DRU_M_VALUES.index(m)])


def _evidence(v: Mapping[str, Any]) -> dict:
    sigma = float(v[K.DRU_SIGMA])
    d = message_distribution(
        list(K.DRU_M_VALUES),
        sigma,
        n_samples=K.DRU_SAMPLES,
        generator=torch.Generator().manual_seed(K.DRU_SEED),
    )
    return dict(
        m_grid=_M_GRID,
        exact=flip_probability(_M_GRID, sigma),
        m_sampled=K.DRU_M_VALUES,
        sampled=d["p_flip"],
        sigma=sigma,
        highlight=float(v[K.DRU_M]),
        n_samples=K.DRU_SAMPLES,
    )


def _sampled(sampled: float) -> str:
    return f"the page's figure, sampled with {K.DRU_SAMPLES:,} noise draws, shows {sampled:.1%}"


def _noise(v: Mapping[str, Any]) -> Answer:
    exact, sampled = flip_numbers(v)
    m, sigma = float(v[K.DRU_M]), float(v[K.DRU_SIGMA])
    text = (
        f"**{exact:.0%}**: P(flip) = Φ(−|m|/σ) = Φ(−{abs(m) / sigma:.2g}) = **{exact:.3f}** "
        "exactly "
        f"({_sampled(sampled)}). A listener trained on such messages cannot rely on a message near "
        "0, so "
        "the gradient pushes the speaker towards large |m| — messages that survive rounding at "
        "execution."
    )
    return Answer(text, "flip_probability", _evidence(v), dict(exact=exact, sampled=sampled))


def _large(v: Mapping[str, Any]) -> Answer:
    exact, sampled = flip_numbers(v)
    m, sigma = float(v[K.DRU_M]), float(v[K.DRU_SIGMA])
    text = (
        f"**{exact:.1%}**: Φ(−{abs(m):g}/{sigma:g}) = Φ(−{abs(m) / sigma:.2g}) = **{exact:.3f}** "
        "exactly "
        f"({_sampled(sampled)}). The noise costs little once |m| is large compared with σ, which "
        "is the "
        "discretising pressure of the DRU: trained messages end up far from 0."
    )
    return Answer(text, "flip_probability", _evidence(v), dict(exact=exact, sampled=sampled))


def _no_noise(v: Mapping[str, Any]) -> Answer:
    flips = flip_probability([m for m in K.DRU_M_VALUES if m != 0], float(v[K.DRU_SIGMA]))
    largest = float(flips.max())
    text = (
        "**Never**: logistic(m) > ½ exactly when m > 0, so the flip probability is "
        f"**{largest:.0%}** for "
        "every m ≠ 0. But nothing then penalises messages near 0 either: the speaker may learn a "
        "code of "
        "*shades* that a listener reads during training and that rounding at execution destroys."
    )
    return Answer(text, "flip_probability", _evidence(v), dict(largest=largest))


DIAL_SCENES: tuple[Scene, ...] = (
    Scene(
        id="dru-noise",
        title="What the DRU noise does",
        text="During training a message m passes as logistic(m + N(0, σ²)); at execution it is "
        "rounded to "
        "1{m > 0}. Take σ = 2 and a message m = 1, which executes as bit 1.",
        question=Question(
            "How often does the noisy training message land below ½, i.e. on the other bit?",
            ("Never: m = 1 is positive", "About 31% of the time", "About half of the time"),
            1,
        ),
        explanation=_noise,
        settings={K.DRU_SIGMA: 2.0, K.DRU_M: 1.0},
        spoilers=(K.SPOIL_METRICS,),
    ),
    Scene(
        id="dru-large-message",
        title="Large messages survive the noise",
        text="Same noise σ = 2, but now a message m = 4.",
        question=Question(
            "How often does m = 4 flip during training?",
            ("About 2%", "About 16%", "About 31%"),
            0,
        ),
        explanation=_large,
        settings={K.DRU_SIGMA: 2.0, K.DRU_M: 4.0},
        spoilers=(K.SPOIL_METRICS,),
    ),
    Scene(
        id="dru-no-noise",
        title="Without noise nothing forces bits",
        text="Set σ = 0: the training message is logistic(m), with no noise at all.",
        question=Question(
            "With σ = 0, how often does a message flip between training and execution?",
            (
                "Never, for any m ≠ 0",
                "Half of the time for small m",
                "About 31% at m = 1, as with σ = 2",
            ),
            0,
        ),
        explanation=_no_noise,
        settings={K.DRU_SIGMA: 0.0, K.DRU_M: 1.0},
        spoilers=(K.SPOIL_METRICS,),
    ),
)
