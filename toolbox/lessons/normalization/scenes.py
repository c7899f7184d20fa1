"""Scenes of the Normalization lesson (widget keys: ``toolbox.lessons.shared``).

Each answer is computed at display time with ``toolbox.lessons.normalization`` at the scene's
settings, as the page computes what it shows (seed 0, on the CPU).
"""

from __future__ import annotations

from typing import Any, Mapping

from toolbox.lessons import normalization as N
from toolbox.lessons import shared as K
from toolbox.lessons.scenes import Answer, Question, Scene

_STREAM = {K.NZ_BATCH: 16, K.NZ_BATCHES: 100, K.NZ_CLIP: 10.0, K.NZ_EPS: 1e-8, K.NZ_SEED: 0}
_TABS = ("running", "observations", "rewards", "advantages", "batchnorm")
_HIDDEN = (K.SPOIL_METRICS, K.SPOIL_FIGURES)


def _others(tab: str) -> tuple[str, ...]:
    return tuple(t for t in _TABS if t != tab)


def stream_trace(v: Mapping[str, Any]):
    """The running panel's stream and running trace at the widget values ``v`` (clip 0 = off)."""
    stream = N.sample_stream(
        v[K.NZ_KIND], v[K.NZ_BATCHES], v[K.NZ_BATCH], v[K.NZ_SEED], device="cpu"
    )
    clip = float(v[K.NZ_CLIP]) or None
    return stream, N.running_trace(stream.x, clip=clip, epsilon=v[K.NZ_EPS])


def _last_batch(v: Mapping[str, Any]) -> dict[str, Any]:
    return {K.NZ_STEP: int(v[K.NZ_BATCHES])}


def _lag(v: Mapping[str, Any]) -> Answer:
    stream, trace = stream_trace(v)
    T = int(v[K.NZ_BATCHES])
    newest = trace.normalized[-1]
    n = dict(
        mean=float(trace.mean[-1]),
        truth=float(stream.true_mean[-1]),
        std=float(trace.var[-1]) ** 0.5,
        batch_std=float(stream.true_std[-1]),
        z_mean=float(newest.mean()),
        z_std=float(newest.std()),
    )
    text = (
        f"After {T} batches the running mean is **{n['mean']:.2f}** while the current mean is "
        f"**{n['truth']:.3g}**: it lags by {n['truth'] - n['mean']:.2f}, because every past batch "
        "counts as "
        f"much as the newest one. The running std is **{n['std']:.2f}** while each batch has std "
        f"{n['batch_std']:.3g}: the drift itself is counted as spread. So the newest batch comes "
        "out of "
        f"the normalization with mean **{n['z_mean']:.2f}** and std **{n['z_std']:.2f}** instead "
        "of 0 and 1."
    )
    return Answer(text, "running", dict(stream=stream, trace=trace, step=T), n)


def _worst_batch(v: Mapping[str, Any]) -> dict[str, Any]:
    _, trace = stream_trace(v)
    return {K.NZ_STEP: int(trace.max_abs_z.argmax()) + 1}


def _tails(v: Mapping[str, Any]) -> Answer:
    _, trace = stream_trace(v)
    clip = float(v[K.NZ_CLIP])
    k = int(trace.max_abs_z.argmax()) + 1
    over = [b + 1 for b in (trace.max_abs_z > clip).nonzero().flatten().tolist()]
    n = dict(
        max_z=float(trace.max_abs_z[k - 1]),
        batch=k,
        n_over=len(over),
        clipped=float(trace.clipped_fraction[k - 1]),
    )
    if not over:
        text = (
            f"No: the largest |z| over the {v[K.NZ_BATCHES]} batches is **{n['max_z']:.3g}** "
            f"(batch {k}), inside the clip at ±{clip:g}."
        )
    else:
        others = [b for b in over if b != k]
        also = (
            f" (also batch{'es' if len(others) > 1 else ''} {', '.join(map(str, others))})"
            if others
            else ""
        )
        text = (
            "Yes: each batch first updates the running statistics and is then normalized with "
            "them, yet "
            f"the largest |z| over the {v[K.NZ_BATCHES]} batches is **{n['max_z']:.3g}**, in batch "
            f"**{k}**"
            f"{also}. The page now shows batch {k}: **{n['clipped']:.1%}** of its {v[K.NZ_BATCH]} "
            "values "
            f"are clipped to ±{clip:g}. The clip bounds what one outlier does to a network's "
            "inputs while "
            "the statistics have not seen enough of the tail."
        )
    return Answer(text, "largest_z", dict(max_abs_z=trace.max_abs_z, clip=clip, highlight=k), n)


def _reward(v: Mapping[str, Any]) -> Answer:
    r, d = N.reward_stream(
        v[K.NZ_REW_KIND],
        K.NZ_REWARD_ENVS,
        K.NZ_REWARD_STEPS,
        float(v[K.NZ_REW_LEN]),
        v[K.NZ_REW_SEED],
        device="cpu",
    )
    trace = N.reward_scaling_trace(
        r, d, v[K.NZ_REW_GAMMA], reward_clip=float(v[K.NZ_REW_CLIP]) or None
    )
    n = dict(std=float(trace.return_std[-1]), scaled=float(trace.scaled[-1].mean()))
    text = (
        "The discounted return grows during an episode and restarts at every episode end; its "
        "running "
        f"std after {K.NZ_REWARD_STEPS} steps is **{n['std']:.3g}**, so a reward of 1 becomes "
        f"**{n['scaled']:.2g}**. What is normalized is the scale of the value targets, which is "
        "what the "
        "critic has to fit."
    )
    return Answer(text, "reward_trace", dict(rewards=r, trace=trace, env=0, terminated=d), n)


NORMALIZATION_SCENES: tuple[Scene, ...] = (
    Scene(
        id="running-lag",
        title="The lag of running statistics",
        text="The stream's mean slides from 0 to 10 over 100 batches of 16 samples. The running "
        "statistic "
        "keeps one mean and one variance over *everything* seen so far.",
        question=Question(
            "After 100 batches the true mean is 10. Where is the running mean?",
            (
                "About 10: it tracks the current mean",
                "About 5: it averages all the history equally, so it sits halfway",
                "About 0: it stays where it started",
            ),
            1,
        ),
        explanation=_lag,
        settings={K.NZ_KIND: "drifting", **_STREAM},
        derived=_last_batch,
        spoilers=_HIDDEN,
        tab="running",
        hide_tabs=_others("running"),
    ),
    Scene(
        id="heavy-tails-clip",
        title="Outliers and the clip at ±10",
        text="A heavy-tailed stream (2 + Student-t with ν = 3) has rare huge values. Each batch "
        "first "
        "updates the running statistics; the batch is then normalized with them and clipped to "
        "±10.",
        question=Question(
            "In 100 batches, does any normalized value reach the clip at ±10?",
            (
                "No: normalized values stay within about ±3",
                "Yes: a rare outlier lands more than 10 standard deviations out",
                "Only in the first batch, before the statistics are known",
            ),
            1,
        ),
        explanation=_tails,
        settings={K.NZ_KIND: "heavy-tailed", **_STREAM},
        derived=_worst_batch,
        spoilers=_HIDDEN,
        tab="running",
        hide_tabs=_others("running"),
    ),
    Scene(
        id="reward-scale",
        title="Scaling a constant reward",
        text="Every step pays reward 1, episodes last about 50 steps, γ = 0.99. Reward scaling "
        "divides each "
        "reward by the running std of the discounted return (not of the reward).",
        question=Question(
            "After 500 steps, what is a scaled reward of 1 worth?",
            (
                "Still 1: a constant reward needs no scaling",
                "About 0.05: it is divided by the return's std, about 21",
                "About 0.01: it is divided by 1/(1 − γ) = 100",
            ),
            1,
        ),
        explanation=_reward,
        settings={
            K.NZ_REW_KIND: "constant",
            K.NZ_REW_GAMMA: 0.99,
            K.NZ_REW_LEN: 50,
            K.NZ_REW_CLIP: 10.0,
            K.NZ_REW_SEED: 0,
        },
        spoilers=_HIDDEN,
        tab="rewards",
        hide_tabs=_others("rewards"),
    ),
)
