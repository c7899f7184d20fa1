"""Scenes of the PPO-details lesson (widget keys: ``pages/ppo_details.py``).

All three keep the page's default view, CleanRL's 12-variant core ablation with 10 seeds × 500k
steps per variant, stored in results/ppo_grid500k.json, so no scene starts a training. Every
number is recomputed from that file with ``toolbox.ppo.analysis`` by ``tests/test_scenes.py``.
"""

from __future__ import annotations

from toolbox.lessons.scenes import Question, Scene
from toolbox.ppo.config import DEFAULT_BUDGET, DEFAULT_SEEDS, DEFAULT_VARIANTS

_DEFAULT_VIEW = {"ppo_variants": list(DEFAULT_VARIANTS), "ppo_seeds": DEFAULT_SEEDS, "ppo_budget": DEFAULT_BUDGET}

PPO_SCENES: tuple[Scene, ...] = (
    Scene(
        id="which-details-matter",
        title="Which PPO details matter on CartPole",
        text="CleanRL's defaults (“all on”) and each core detail turned off in turn: 10 seeds × 500k steps each. "
             "Look at the final scores (mean return of the last 20 episodes) and at the chart of differences.",
        question=Question(
            "Which single change ends with the lowest return?",
            ("no minibatches", "no clipped surrogate", "no GAE (MC returns)", "no LR annealing"),
            0,
        ),
        explanation="**No minibatches**: 379.2 against 492.7 with all details on, and only 4 of its 10 runs reach "
                    "475. With one full-batch step per epoch the policy gets 4 updates per batch instead of 16. "
                    "Dropping GAE (483.7) or LR annealing (485.0) does not separate from all on here.",
        settings=dict(_DEFAULT_VIEW),
    ),
    Scene(
        id="clip-on-cartpole",
        title="The clipped surrogate on CartPole",
        text="PPO is named after its clipped objective. Compare “all on” with “no clipped surrogate”.",
        question=Question(
            "Does removing the clip hurt on CartPole at 500k steps?",
            ("Yes, clearly", "No: the two end at the same score", "It helps"),
            1,
        ),
        explanation="**No**: 492.7 ± 10.6 without the clip against 492.7 ± 6.9 with it; the difference is "
                    "+0.0 ± 11.9. With 4 epochs of small Adam steps on an easy task the ratio rarely leaves "
                    "[0.8, 1.2], so the clip seldom acts. A detail that does not matter on CartPole can still "
                    "matter on harder tasks.",
        settings=dict(_DEFAULT_VIEW),
    ),
    Scene(
        id="ten-seeds-noise",
        title="Ten seeds: is a difference real?",
        text="Compare “all on” with “no grad clipping”, and look at the difference's 95% interval.",
        question=Question(
            "Does turning gradient clipping off really lower the return?",
            ("Yes: its mean is 50 lower",
             "We cannot tell: the difference's 95% interval includes 0",
             "No: it is higher"),
            1,
        ),
        explanation="**We cannot tell**: 442.1 ± 85.5 against 492.7 ± 6.9; the difference is −50.5 ± 85.8, an "
                    "interval that includes 0. A few collapsed runs pull the mean down and widen the interval: "
                    "ten seeds separate large effects (no minibatches) but not every difference of means.",
        settings=dict(_DEFAULT_VIEW),
    ),
)
