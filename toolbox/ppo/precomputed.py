"""Precomputed PPO ablations (results/ppo_*.json): what one stored run holds, and which request it answers.

A stored run is :func:`toolbox.ppo.analysis.run_summary` (the live page's own summary, so stored and
live numbers are the same statistic) plus ``start``: every episode that ended in the first
``PREFIX_STEPS`` environment steps, exactly, so a retrain of that start can be compared number for number.
"""

from __future__ import annotations

import numpy as np

from toolbox.ppo import analysis

PREFIX_STEPS = 5_120
"""Steps of each run's start stored exactly (10 iterations of CleanRL's 512-transition batch)."""


def run_record(result, grid, prefix_steps: int = PREFIX_STEPS) -> dict:
    """JSON-ready record of one finished ``TrainResult``: its :func:`analysis.run_summary` and
    ``start = {"steps": [...], "returns": [...]}``, the episodes that ended by step ``prefix_steps``."""
    rec = analysis.run_summary(result, grid)
    steps = np.asarray(result.episode_steps)
    keep = steps <= prefix_steps
    rec["start"] = {
        "steps": [int(s) for s in steps[keep]],
        "returns": [float(r) for r in np.asarray(result.episode_returns)[keep]],
    }
    return rec
