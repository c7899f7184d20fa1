"""The social-influence lesson: presets, the precomputed learning runs and the downloadable script.

The names below are re-exported so that
``from toolbox.lessons import influence as influence_lesson`` reaches them all; the mathematics is
in :mod:`toolbox.influence`.
"""

from toolbox.lessons.influence.precomputed import (
    BETA_GRID,
    EFFECT_TOLERANCE,
    BetaSweep,
    beta_sweep,
    bonus_effect,
    final_summary,
    learning_job_key,
    load_meta,
    load_precomputed,
    precomputed_configs,
    precomputed_runs,
    save_precomputed,
)
from toolbox.lessons.influence.presets import INFLUENCE_PRESETS, InfluencePreset, influence_preset
from toolbox.lessons.influence.script import influence_script

__all__ = ["BETA_GRID", "BetaSweep", "EFFECT_TOLERANCE", "INFLUENCE_PRESETS", "InfluencePreset",
           "beta_sweep", "bonus_effect", "final_summary", "influence_preset", "influence_script",
           "learning_job_key", "load_meta", "load_precomputed", "precomputed_configs",
           "precomputed_runs", "save_precomputed"]
