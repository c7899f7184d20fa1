"""Scenes of the Social-influence lesson (widget keys: ``ui/influence_tables.py``, ``ui/influence_learning.py``).

The page has no tabs. Scenes that pick a preset need the page to reload its tables after the
scene is applied (``tables.load_preset``). The numbers are recomputed with ``toolbox.influence``
(and the precomputed β grid, ``beta_sweep``) by ``tests/test_scenes.py``.
"""

from __future__ import annotations

from toolbox.lessons.scenes import Question, Scene

_BUDGET = {"learn_seeds": 8, "learn_updates": 600}  # the precomputed runs' budget (InfluenceTrainConfig defaults)

INFLUENCE_SCENES: tuple[Scene, ...] = (
    Scene(
        id="j-ignores-i",
        title="No influence without dependence",
        text="In this preset agent j's policy is the same row whatever agent i did.",
        question=Question(
            "What influence reward does i get for playing a1?",
            ("0 nats", "log 3 ≈ 1.10 nats", "It depends on how often i plays a1"),
            0,
        ),
        explanation="**0 nats** for every action: when j's policy does not depend on aⁱ, the counterfactual "
                    "marginal p(aʲ) equals π^j(·|aⁱ), and the KL of a distribution to itself is 0. The "
                    "expected reward, the mutual information I(aⁱ; aʲ), is 0 too.",
        settings={"inf_preset": "j ignores i", "a_i": 1},
    ),
    Scene(
        id="j-copies-i",
        title="Rare actions are the most influential",
        text="Now j copies i's action exactly; i plays a0, a1, a2 with probabilities 0.5, 0.3, 0.2.",
        question=Question(
            "Which action of i earns the largest influence reward?",
            ("a0, the most frequent one", "a2, the rarest one", "All three earn the same"),
            1,
        ),
        explanation="**a2**: the KL is −log πⁱ(aⁱ), so a0 earns log 2 = **0.693** nats and a2 earns "
                    "−log 0.2 = **1.609** nats — j's move after a rare action is the most surprising to "
                    "the counterfactual marginal. The average over πⁱ is the entropy of πⁱ, **1.030** nats.",
        settings={"inf_preset": "j copies i", "a_i": 2},
    ),
    Scene(
        id="stag-hunt-helps",
        title="The bonus can help coordination",
        text="Stag hunt, influence weight β = 0.5, from the precomputed runs (8 seeds × 600 updates).",
        question=Question(
            "Compared with β = 0, i's final extrinsic return (the game's own payoff) is…",
            ("higher", "about the same", "lower"),
            0,
        ),
        explanation="**Higher**: 3.835 at β = 0.5 against 2.999 at β = 0, and every β on the grid helps. "
                    "Without the bonus i abandons stag before j learns to follow; the bonus keeps i playing "
                    "the action that changes j's move until j answers stag with stag.",
        settings={"learn_game": "stag hunt", "learn_beta": 0.5, **_BUDGET},
    ),
    Scene(
        id="distortion-large-beta",
        title="Distortion at large β",
        text="Pure coordination: both are paid 2 on (A, A), 1 on (B, B), 0 otherwise. Influence weight β = 5.",
        question=Question(
            "Compared with β = 0, i's final extrinsic return is…",
            ("higher", "about the same", "lower"),
            2,
        ),
        explanation="**Lower**: 1.549 at β = 5 against 1.997 at β = 0; every β from 0.5 to 5 distorts. Here "
                    "influence is not needed to coordinate, and the bonus pays i for keeping j's move "
                    "uncertain, so i keeps playing B some of the time and gives up return to stay influential.",
        settings={"learn_game": "pure coordination", "learn_beta": 5.0, **_BUDGET},
    ),
)
