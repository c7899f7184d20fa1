"""What each lesson's controls accept, as data: the app checks every widget value a client sends
against these before the page runs (``ui.widget_guard.check_rules``), so a value no browser sends
(an unknown option, NaN, text in a number box) gets the message of a bad link value.

A rule is ``(kind, ..., default)``: ``("one of", options, default)``, ``("some of", options,
default)``, ``("number", lo, hi, default)`` or ``("whole", lo, hi, default)``. Ranges here are what
the control can hold at all; what a training accepts is checked by the backend with its own message.
"""

from __future__ import annotations

import math

from toolbox.dial.config import METHODS
from toolbox.gumbel.estimators import DOWNSTREAM
from toolbox.gumbel.inputs import K_MAX, K_MIN, MODES, PRESETS
from toolbox.influence.games import GAMES, MAX_ITERATIONS, MAX_SEEDS
from toolbox.influence.signalling import MARGINALS, PERSUASION_PRESETS, SCHEME_NAMES
from toolbox.influence.tables import MAX_ACTIONS, MAX_INFLUENCEES
from toolbox.lessons import shared as SK
from toolbox.lessons.influence.precomputed import BETA_GRID
from toolbox.lessons.influence.presets import INFLUENCE_PRESETS
from toolbox.lessons.ppo.variants import BUDGETS, VARIANT_IDS
from toolbox.lessons.ppo_continuous.data import DETAILS as CONTINUOUS_DETAILS_SHOWN
from toolbox.lessons.ppo_continuous.data import LIVE_BUDGETS, MAX_LIVE_SEEDS

INF = math.inf
BIG = 2**31 - 1

RULES: dict[str, dict[str, tuple]] = {
    "dial": {
        "cnet_mode": ("one of", ("sum", "concat"), "sum"),
        "cnet_graph_view": ("one of", ("layers (condensed)", "full autograd graph"),
                            "layers (condensed)"),
        "curve_input": ("one of", ("sum", "concat"), "sum"),
        "curve_methods": ("some of", METHODS, list(METHODS)),
        SK.DRU_SIGMA: ("number", 0.0, 5.0, 2.0),
        SK.DRU_M: ("one of", SK.DRU_M_VALUES, 1.0),
        "curve_n": ("whole", -BIG, BIG, 3),
        "curve_batches": ("whole", -BIG, BIG, 600),
        "curve_sigma": ("number", -INF, INF, 2.0),
        "curve_seeds": ("whole", -BIG, BIG, 3),
        "replay_episode": ("whole", -BIG, BIG, 0),
        "replay_day": ("whole", 1, 100, "the last day"),
    },
    "social_influence": {
        SK.INF_PRESET: ("one of", INFLUENCE_PRESETS, INFLUENCE_PRESETS[-1]),
        "inf_n_actions_i": ("whole", 2, MAX_ACTIONS, "the preset's"),
        "inf_n_actions_j": ("whole", 2, MAX_ACTIONS, "the preset's"),
        "inf_n_influencees": ("whole", 1, MAX_INFLUENCEES, 1),
        SK.INF_AI: ("whole", 0, MAX_ACTIONS - 1, 0),
        "pa_example": ("one of", PERSUASION_PRESETS, PERSUASION_PRESETS[0]),
        "pa_scheme": ("one of", SCHEME_NAMES, "optimal"),
        "pa_marginal": ("one of", MARGINALS, MARGINALS[0]),
        SK.LEARN_GAME: ("one of", tuple(GAMES), "the default game"),
        SK.LEARN_BETA: ("one of", BETA_GRID, "the default"),
        SK.LEARN_SEEDS: ("whole", 1, MAX_SEEDS, "the default"),
        SK.LEARN_UPDATES: ("whole", 100, MAX_ITERATIONS, "the default"),
    },
    "ppo_details": {
        "ppo_variants": ("some of", tuple(VARIANT_IDS), "the link's variants"),
        "ppo_fix_variant": ("one of", tuple(VARIANT_IDS), "the last variant"),
        "ppo_seeds": ("whole", 1, 10, "the link's seeds"),
        "ppo_budget": ("one of", BUDGETS, "the link's budget"),
        "ppo_minibatches": ("whole", -BIG, BIG, "the default"),
        "ppo_ent_coef": ("number", -INF, INF, "the default"),
    },
    "ppo_continuous": {
        SK.PC_DETAIL: ("one of", tuple(CONTINUOUS_DETAILS_SHOWN), "norm_obs"),
        SK.PC_SEEDS: ("whole", 1, MAX_LIVE_SEEDS, 2),
        SK.PC_BUDGET: ("one of", LIVE_BUDGETS, LIVE_BUDGETS[-1]),
    },
    "gumbel_softmax": {
        "gs_K": ("whole", K_MIN, K_MAX, "the preset's"),
        "gs_preset": ("one of", PRESETS, PRESETS[0]),
        "gs_mode": ("one of", MODES, MODES[0]),
        "gs_seed": ("whole", 0, BIG, 0),
        "gs_graph": ("one of", ("gumbel_softmax", "gaussian"), "gumbel_softmax"),
        "gs_downstream": ("one of", DOWNSTREAM, DOWNSTREAM[0]),
        "gs_mu": ("number", -INF, INF, 0.0),
        "gs_sigma": ("number", -INF, INF, 1.0),
        "gs_n": ("whole", 1, 10**7, "the default"),
    },
}
"""Lesson slug → widget key → rule."""
