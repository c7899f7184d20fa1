"""Server caps on PPO requests: what one shared classroom server trains in one call.

The algorithm (:mod:`toolbox.ppo`) trains whatever it is given; the caps belong to the server,
which checks them before admitting a request (:func:`check_ppo_runs`).
"""

from __future__ import annotations

from collections.abc import Sequence

from toolbox.ppo.config import PPOConfig

MAX_TOTAL_TIMESTEPS = 500_000
"""Server cap on one run's budget (environment steps)."""
MAX_RUNS = 120
"""Server cap on the number of (config, seed) pairs trained in one call."""


def check_budget(config: PPOConfig) -> None:
    """Raise ``ValueError`` with a sentence when one run's budget is over the server's cap."""
    if config.total_timesteps > MAX_TOTAL_TIMESTEPS:
        raise ValueError(
            f"total_timesteps = {config.total_timesteps:,} is over this server's cap of "
            f"{MAX_TOTAL_TIMESTEPS:,} steps per run; choose a smaller budget."
        )


def check_ppo_runs(configs: Sequence[PPOConfig], seeds: Sequence[int]) -> None:
    """Raise ``ValueError`` with a sentence when a request (``configs`` × ``seeds``) is over a
    cap."""
    for c in configs:
        check_budget(c)
    n = len(configs) * len(seeds)
    if n > MAX_RUNS:
        raise ValueError(
            f"{len(configs)} variants × {len(seeds)} seeds = {n} runs is over this server's cap of "
            f"{MAX_RUNS} runs."
        )
