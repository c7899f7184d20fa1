"""Scenes of the PPO-details lesson (widget keys: ``pages/ppo_details.py``).

All three keep the page's default settings, whose runs are precomputed (results/ppo_default.json:
5 seeds × 200k steps per variant), so no scene starts a training. The numbers are recomputed with
``toolbox.ppo.analysis.aggregate`` by ``tests/test_scenes.py``.
"""

from __future__ import annotations

from toolbox.lessons.scenes import Question, Scene

_DEFAULT_VIEW = {
    "ppo_variants": ["all", "noanneal", "nogae", "noadvnorm", "noclip", "trunc"],
    "ppo_seeds": 5,
    "ppo_budget": 200_000,
}

PPO_SCENES: tuple[Scene, ...] = (
    Scene(
        id="which-details-matter",
        title="Which PPO details matter on CartPole",
        text="Six variants, 5 seeds each, 200k steps: all details on, and one detail changed at a time. "
             "Look at the final scores table (mean return of the last 20 episodes).",
        question=Question(
            "Which single change ends with the lowest return?",
            ("no clipped surrogate", "no GAE (MC returns)", "no advantage norm", "no LR annealing"),
            0,
        ),
        explanation="**No clipped surrogate**: 315.9, against 409.4 with all details on. Without the clip nothing "
                    "bounds how far one update moves the policy from the one that collected the data. Dropping GAE "
                    "(369.4) costs less; dropping advantage normalization or LR annealing does not cost "
                    "anything here (446.4 and 475.8).",
        settings=dict(_DEFAULT_VIEW),
    ),
    Scene(
        id="all-on-not-best",
        title="“All on” is not the best at 200k steps",
        text="Same runs. LR annealing decays the learning rate linearly to 0 at the end of the budget.",
        question=Question(
            "At 200k steps, which variant reaches a return of 475 in all 5 seeds?",
            ("all on", "no LR annealing", "no clipped surrogate"),
            1,
        ),
        explanation="**No LR annealing**: all 5 of its runs reach 475 (after 140k steps on average) and it ends "
                    "at 475.8, while only 1 of the 5 all-on runs reaches 475. Annealing to 0 over a short "
                    "budget shrinks the updates while the policy still has to improve: a detail's value "
                    "depends on the task and the budget.",
        settings=dict(_DEFAULT_VIEW),
    ),
    Scene(
        id="five-seeds-noise",
        title="Five seeds: is a difference real?",
        text="Compare “all on” with “no advantage norm” in the final scores table, with their 95% intervals.",
        question=Question(
            "Does turning advantage normalization off really help on CartPole?",
            ("Yes: its mean return is higher",
             "We cannot tell: the two 95% intervals overlap widely",
             "No: it is clearly worse"),
            1,
        ),
        explanation="**We cannot tell**: 446.4 ± 57.3 without it against 409.4 ± 56.4 with it — the intervals "
                    "overlap over most of their width. Five seeds separate large effects (the clipped surrogate) "
                    "but not small ones; more seeds narrow the bands.",
        settings=dict(_DEFAULT_VIEW),
    ),
)
