"""Scenes of the Normalization lesson (widget keys: ``ui/normalization_settings.py``).

The numbers in the explanations are those of the page at these settings (seed 0), recomputed
with ``toolbox.lessons.normalization`` by ``tests/test_scenes.py``.
"""

from __future__ import annotations

from toolbox.lessons.scenes import Question, Scene

_STREAM = {"stream_batch_size": 16, "nz_batches": 100, "nz_clip": 10.0, "nz_eps": 1e-8, "nz_seed": 0}
_TABS = ("running", "observations", "rewards", "advantages", "batchnorm")


def _others(tab: str) -> tuple[str, ...]:
    return tuple(t for t in _TABS if t != tab)


NORMALIZATION_SCENES: tuple[Scene, ...] = (
    Scene(
        id="running-lag",
        title="The lag of running statistics",
        text="The stream's mean slides from 0 to 10 over 100 batches of 16 samples. The running statistic "
             "keeps one mean and one variance over *everything* seen so far.",
        question=Question(
            "After 100 batches the true mean is 10. Where is the running mean?",
            ("About 10: it tracks the current mean",
             "About 5: it averages all the history equally, so it sits halfway",
             "About 0: it stays where it started"),
            1,
        ),
        explanation="The running mean is **5.02** while the current mean is **10**: it lags by almost 5, because "
                    "every past batch counts as much as the newest one. The running std is **3.11** while each "
                    "batch has std 1: the drift itself is counted as spread. So the newest batch comes out of "
                    "the normalization with mean **1.77** and std **0.30** instead of 0 and 1.",
        settings={"nz_kind": "drifting", **_STREAM},
        tab="running",
        hide_tabs=_others("running"),
    ),
    Scene(
        id="heavy-tails-clip",
        title="Outliers and the clip at ±10",
        text="A heavy-tailed stream (2 + Student-t with ν = 3) has rare huge values. Each sample is "
             "normalized with the statistics *before* it, then clipped to ±10.",
        question=Question(
            "In 100 batches, does any normalized value reach the clip at ±10?",
            ("No: normalized values stay within about ±3",
             "Yes: a rare outlier lands more than 10 standard deviations out",
             "Only in the first batch, before the statistics are known"),
            1,
        ),
        explanation="Yes: the largest |z| over the 100 batches is **12.6**, in batch 25 (batch 32 also passes 10), "
                    "and the clip cuts such values to 10: it bounds what one outlier can do to a network's "
                    "inputs while the statistics have not seen enough of the tail.",
        settings={"nz_kind": "heavy-tailed", **_STREAM},
        tab="running",
        hide_tabs=_others("running"),
    ),
    Scene(
        id="reward-scale",
        title="Scaling a constant reward",
        text="Every step pays reward 1, episodes last about 50 steps, γ = 0.99. Reward scaling divides each "
             "reward by the running std of the discounted return (not of the reward).",
        question=Question(
            "After 500 steps, what is a scaled reward of 1 worth?",
            ("Still 1: a constant reward needs no scaling",
             "About 0.05: it is divided by the return's std, about 21",
             "About 0.01: it is divided by 1/(1 − γ) = 100"),
            1,
        ),
        explanation="The discounted return grows during an episode and restarts at every episode end; its running "
                    "std after 500 steps is **20.9**, so a reward of 1 becomes "
                    "**0.048**. What is normalized is the scale of the value targets, which is what the critic "
                    "has to fit.",
        settings={"nz_rew_kind": "constant", "nz_rew_gamma": 0.99, "nz_rew_len": 50, "nz_rew_clip": 10.0,
                  "nz_rew_seed": 0},
        tab="rewards",
        hide_tabs=_others("rewards"),
    ),
)
