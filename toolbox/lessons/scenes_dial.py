"""Scenes of the DIAL lesson (widget keys: ``pages/dial.py``, section 2, the DRU).

The page has no tabs. The flip probabilities are those of ``toolbox.dial.dru.message_distribution``
(the page's metric "Flip probability at m = 1"), checked by ``tests/test_scenes.py``.
"""

from __future__ import annotations

from toolbox.lessons.scenes import Question, Scene

DIAL_SCENES: tuple[Scene, ...] = (
    Scene(
        id="dru-noise",
        title="What the DRU noise does",
        text="During training a message m passes as logistic(m + N(0, σ²)); at execution it is rounded to "
             "1{m > 0}. Take σ = 2 and a message m = 1, which executes as bit 1.",
        question=Question(
            "How often does the noisy training message land below ½, i.e. on the other bit?",
            ("Never: m = 1 is positive", "About 31% of the time", "About half of the time"),
            1,
        ),
        explanation="**31%**: P(flip) = Φ(−|m|/σ) = Φ(−0.5) = 0.309. A listener trained on such messages cannot "
                    "rely on a message near 0, so the gradient pushes the speaker towards large |m| — "
                    "messages that survive rounding at execution.",
        settings={"dru_sigma": 2.0},
    ),
    Scene(
        id="dru-large-message",
        title="Large messages survive the noise",
        text="Same noise σ = 2, but now look at m = 4 in the figure.",
        question=Question(
            "How often does m = 4 flip during training?",
            ("About 2%", "About 16%", "About 31%"),
            0,
        ),
        explanation="**2.3%**: Φ(−4/2) = Φ(−2) = 0.023. The noise costs little once |m| is large compared with "
                    "σ, which is the discretising pressure of the DRU: trained messages end up far from 0.",
        settings={"dru_sigma": 2.0},
    ),
    Scene(
        id="dru-no-noise",
        title="Without noise nothing forces bits",
        text="Set σ = 0: the training message is logistic(m), with no noise at all.",
        question=Question(
            "With σ = 0, how often does a message flip between training and execution?",
            ("Never, for any m ≠ 0", "Half of the time for small m", "About 31% at m = 1, as with σ = 2"),
            0,
        ),
        explanation="**Never**: logistic(m) > ½ exactly when m > 0, so the flip probability is 0 for every "
                    "m ≠ 0. But nothing then penalises messages near 0 either: the speaker may learn a code of "
                    "*shades* that a listener reads during training and that rounding at execution destroys.",
        settings={"dru_sigma": 0.0},
    ),
)
