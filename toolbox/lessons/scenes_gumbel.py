"""Scenes of the Gumbel-Softmax lesson (widget keys: ``pages/gumbel_softmax.py``).

The distribution is the ``decreasing`` preset with K = 4: π = (0.4, 0.3, 0.2, 0.1). The numbers
in the explanations are recomputed with ``toolbox.gumbel`` by ``tests/test_scenes.py``.
"""

from __future__ import annotations

from toolbox.lessons.scenes import Question, Scene

_PI = {"gs_K": 4, "gs_preset": "decreasing", "gs_mode": "probabilities", "gs_seed": 0}
_TABS = ("sampling", "temperature", "reparameterization", "estimators", "rl")


def _others(tab: str) -> tuple[str, ...]:
    return tuple(t for t in _TABS if t != tab)


GUMBEL_SCENES: tuple[Scene, ...] = (
    Scene(
        id="gumbel-max-exact",
        title="The Gumbel-max trick is exact",
        text="Add independent Gumbel(0, 1) noise to each log-probability and take the argmax; repeat "
             "100,000 times and count the categories.",
        question=Question(
            "How often is category 1 (π₁ = 0.4) the argmax?",
            ("About 40% of the time: exactly π₁",
             "More than 40%: the argmax favours the largest logit",
             "Less than 40%: the noise spreads the draws towards uniform"),
            0,
        ),
        explanation="The argmax of θ + g is distributed *exactly* as π: at seed 0 category 1 comes out in "
                    "**40.0%** of 100,000 draws (within 0.5 percentage point of 0.4), and the chi-square test "
                    "finds no difference from π. No approximation is involved; only the argmax is not "
                    "differentiable.",
        settings={**_PI, "gs_n": 100_000, "gs_tau": 1.0},
        tab="sampling",
        hide_tabs=_others("sampling"),
    ),
    Scene(
        id="temperature-sharpness",
        title="Temperature versus sharpness: a cold softmax",
        text="Replace the argmax by softmax((θ + g)/τ) with τ = 0.1. Each relaxed sample is a point of the "
             "simplex: look at the bars of single samples and at the curve of the largest coordinate.",
        question=Question(
            "At τ = 0.1, how large is a relaxed sample's largest coordinate, on average?",
            ("About 0.4, the largest probability",
             "Above 0.9: the samples are almost one-hot",
             "About 0.25: the samples are almost uniform"),
            1,
        ),
        explanation="On average the largest coordinate is **0.95** at τ = 0.1 (0.61 at τ = 1): a cold softmax "
                    "is nearly the argmax, so the samples are nearly one-hot — and its gradients are nearly "
                    "zero except close to ties, which is where their variance comes from.",
        settings={**_PI, "gs_tau": 0.1},
        tab="temperature",
        hide_tabs=_others("temperature"),
    ),
    Scene(
        id="temperature-hot",
        title="A hot softmax forgets π",
        text="Now τ = 10: the noise and logits are divided by 10 before the softmax.",
        question=Question(
            "At τ = 10, what is the average relaxed sample E[y]?",
            ("Still π = (0.4, 0.3, 0.2, 0.1)",
             "Close to uniform: its first coordinate is about 0.26",
             "One-hot on the most likely category"),
            1,
        ),
        explanation="E[y] is close to uniform: its first coordinate is **0.26** instead of 0.4, and the largest "
                    "coordinate of a sample averages **0.29** (uniform: 0.25). The *argmax* of each relaxed "
                    "sample is still an exact draw from π at every τ; only the soft values lose π, which is the "
                    "bias a large τ adds to gradient estimates.",
        settings={**_PI, "gs_tau": 10.0},
        tab="temperature",
        hide_tabs=_others("temperature"),
    ),
)
