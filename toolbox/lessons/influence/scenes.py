"""Scenes of the Social-influence lesson (widget keys: ``toolbox.lessons.shared``).

The page has no tabs. Scenes that pick a preset need the page to reload its tables after the
scene is applied (``tables.load_preset``). Each answer is computed at display time with
``toolbox.influence``: from the preset's tables, or from the precomputed β grid
(``beta_sweep``, ``precomputed_runs``) for the learning scenes.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache
from typing import Any, Mapping

from toolbox import influence as inf
from toolbox.lessons import influence as influence_lesson
from toolbox.lessons import shared as K
from toolbox.lessons.scenes import Answer, Question, Scene

_BUDGET = {
    K.LEARN_SEEDS: 8,
    K.LEARN_UPDATES: 600,
}  # the precomputed runs' budget (InfluenceTrainConfig defaults)
_TABLES_HIDDEN = (K.SPOIL_NOTE, K.SPOIL_RESULTS)


@lru_cache(maxsize=1)
def _store() -> dict:
    return influence_lesson.load_precomputed(str(K.INF_RESULTS))


def preset_rewards(v: Mapping[str, Any]):
    """The preset's tables and the influence reward of each of i's actions ``(A_i,)``, one
    influencee."""
    p = influence_lesson.influence_preset(v[K.INF_PRESET], 1)
    return p, inf.influence_rewards(p.pi_i, p.pi_j_given_ai, device="cpu")[:, 0]


def _evidence(p, rewards, chosen: int) -> dict:
    return dict(
        rewards=rewards[:, None].numpy(), pi_i=p.pi_i, names_i=p.action_names_i, chosen=chosen
    )


def _ignores(v: Mapping[str, Any]) -> Answer:
    p, r = preset_rewards(v)
    a = int(v[K.INF_AI])
    n = dict(
        reward=float(r[a]),
        largest=float(r.abs().max()),
        mi=float(inf.mutual_information(p.pi_i, p.pi_j_given_ai, device="cpu").sum()),
    )
    text = (
        f"**{n['reward']:.3g} nats** for a{a}, and {n['largest']:.3g} for every action: when j's "
        "policy does "
        "not depend on aⁱ, the counterfactual marginal p(aʲ) equals πʲ(·|aⁱ), and the KL of a "
        "distribution "
        f"to itself is 0. The expected reward, the mutual information I(aⁱ; aʲ), is {n['mi']:.3g} "
        "too."
    )
    return Answer(text, "reward_per_action", _evidence(p, r, a), n)


def _copies(v: Mapping[str, Any]) -> Answer:
    p, r = preset_rewards(v)
    best, first = int(r.argmax()), 0
    n = dict(
        best=best,
        r_first=float(r[first]),
        r_best=float(r[best]),
        pi_best=float(p.pi_i[best]),
        pi_first=float(p.pi_i[first]),
        expected=float(inf.expected_influence(p.pi_i, p.pi_j_given_ai, device="cpu")),
    )
    text = (
        f"**a{best}**: the KL is −log πⁱ(aⁱ), so a{first} earns −log {n['pi_first']:.2g} = "
        f"**{n['r_first']:.3f}** nats and a{best} earns −log {n['pi_best']:.2g} = "
        f"**{n['r_best']:.3f}** nats — "
        "j's move after a rare action is the most surprising to the counterfactual marginal. The "
        "average "
        f"over πⁱ is the entropy of πⁱ, **{n['expected']:.3f}** nats."
    )
    return Answer(text, "reward_per_action", _evidence(p, r, best), n)


def learning_runs(v: Mapping[str, Any]):
    """The stored (with bonus, β = 0) runs at the widget values ``v`` and the game's β sweep."""
    cfg = replace(
        inf.InfluenceTrainConfig(),
        game=v[K.LEARN_GAME],
        beta=float(v[K.LEARN_BETA]),
        n_seeds=int(v[K.LEARN_SEEDS]),
        iterations=int(v[K.LEARN_UPDATES]),
    )
    store = _store()
    found = influence_lesson.precomputed_runs(store, cfg)
    if found is None:
        raise ValueError(
            f"No precomputed runs for {cfg.game!r} at β = {cfg.beta:g}: regenerate "
            "results/influence_learning.json."
        )
    return found[0], found[1], influence_lesson.beta_sweep(store, cfg.game)


_SAYS = {"helps": "Higher", "distorts": "Lower", "neutral": "About the same"}
_DOES = {"helps": "raise", "distorts": "lower", "neutral": "leave unchanged"}


def _learning(v: Mapping[str, Any], why: str) -> Answer:
    on, off, sweep = learning_runs(v)
    beta = float(v[K.LEARN_BETA])
    s = influence_lesson.final_summary(on, off)
    effect = influence_lesson.bonus_effect(on, off)
    others = [b for b, e in zip(sweep.betas, sweep.effects) if b > 0]
    same = [b for b, e in zip(sweep.betas, sweep.effects) if b > 0 and e == effect]
    grid = (
        f"every β > 0 on the grid ({len(others)} values) {_DOES[effect]}s it"
        if same == others
        else f"{len(same)} of the {len(others)} β > 0 on the grid {_DOES[effect]} it "
        f"(β = {', '.join(f'{b:g}' for b in same)})"
    )
    n = dict(
        with_bonus=s["extrinsic_with"],
        without=s["extrinsic_without"],
        gain=s["extrinsic_gain"],
        same=len(same),
        grid=len(others),
    )
    text = (
        f"**{_SAYS[effect]}**: {n['with_bonus']:.3f} at β = {beta:g} against {n['without']:.3f} at "
        "β = 0 "
        f"(mean over {on.extrinsic_i.shape[0]} seeds at the last update); {grid}. {why}"
    )
    return Answer(
        text, "influence_learning", dict(on=on, off=off, beta=beta), {**n, "effect": effect}
    )


def _stag(v: Mapping[str, Any]) -> Answer:
    return _learning(
        v,
        "Without the bonus i abandons stag before j learns to follow; the bonus keeps i playing "
        "the action that changes j's move until j answers stag with stag.",
    )


def _distortion(v: Mapping[str, Any]) -> Answer:
    return _learning(
        v,
        "Here influence is not needed to coordinate, and the bonus pays i for keeping j's move "
        "uncertain, so i keeps playing B some of the time and gives up return to stay influential.",
    )


INFLUENCE_SCENES: tuple[Scene, ...] = (
    Scene(
        id="j-ignores-i",
        title="No influence without dependence",
        text="In this preset agent j's policy is the same row whatever agent i did.",
        question=Question(
            "What influence reward does i get for playing a1?",
            ("0 nats", f"log 3 ≈ {math.log(3):.2f} nats", "It depends on how often i plays a1"),
            0,
        ),
        explanation=_ignores,
        settings={K.INF_PRESET: "j ignores i", K.INF_AI: 1},
        spoilers=_TABLES_HIDDEN,
    ),
    Scene(
        id="j-copies-i",
        title="Rare actions are the most influential",
        text="Now j copies i's action exactly; i plays a0, a1, a2 with probabilities 0.5, 0.3, "
        "0.2.",
        question=Question(
            "Which action of i earns the largest influence reward?",
            ("a0, the most frequent one", "a2, the rarest one", "All three earn the same"),
            1,
        ),
        explanation=_copies,
        settings={K.INF_PRESET: "j copies i", K.INF_AI: 0},
        spoilers=_TABLES_HIDDEN,
    ),
    Scene(
        id="stag-hunt-helps",
        title="The bonus can help coordination",
        text="Stag hunt, influence weight β = 0.5, from the precomputed runs (8 seeds × 600 "
        "updates).",
        question=Question(
            "Compared with β = 0, i's final extrinsic return (the game's own payoff) is…",
            ("higher", "about the same", "lower"),
            0,
        ),
        explanation=_stag,
        settings={K.LEARN_GAME: "stag hunt", K.LEARN_BETA: 0.5, **_BUDGET},
        spoilers=(K.SPOIL_RESULTS,),
    ),
    Scene(
        id="distortion-large-beta",
        title="Distortion at large β",
        text="Pure coordination: both are paid 2 on (A, A), 1 on (B, B), 0 otherwise. Influence "
        "weight β = 5.",
        question=Question(
            "Compared with β = 0, i's final extrinsic return is…",
            ("higher", "about the same", "lower"),
            2,
        ),
        explanation=_distortion,
        settings={K.LEARN_GAME: "pure coordination", K.LEARN_BETA: 5.0, **_BUDGET},
        spoilers=(K.SPOIL_RESULTS,),
    ),
)
