"""What a PPO run returns (:class:`TrainResult`) and the names of its per-iteration debug values.

Shared by the batched trainer (:mod:`toolbox.ppo.train`) and the readable reference
(:mod:`toolbox.ppo.reference`), so both return the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from toolbox.ppo.config import PPOConfig

DEBUG_KEYS = (
    "learning_rate", "value_loss", "policy_loss", "entropy", "old_approx_kl", "approx_kl",
    "clipfrac", "explained_variance", "grad_norm", "epochs_run",
)
"""CleanRL's logged values, one entry per iteration each (see :class:`TrainResult`)."""


@dataclass
class TrainResult:
    """What one (config, seed) pair produced.

    ``episode_steps[i]``: global environment step (all of the run's environments together) at which
    episode ``i`` ended; ``episode_returns[i]``: its undiscounted return. ``iteration_steps`` and
    every ``debug[key]`` have one entry per PPO iteration (CleanRL's logged values: last minibatch's
    losses and approx KL, mean clip fraction, explained variance of the batch, pre-clip gradient
    norm).
    """

    config: PPOConfig
    seed: int
    episode_steps: np.ndarray
    episode_returns: np.ndarray
    iteration_steps: np.ndarray
    debug: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0
    backend: str = "tensor"
    """Which code trained it: ``"tensor"`` (the batched tensor path), ``"compiled"`` (the Numba
    loop, :mod:`toolbox.ppo.compiled`) or ``"reference"`` (:mod:`toolbox.ppo.reference`)."""
