"""The PPO lesson's ablation menu: CleanRL's defaults ("all on"), each core detail off, the extras
on.

Short URL-safe ids name the variants in links; the defaults say what the page opens with and what
``benchmarks/ppo_precompute.py`` stores.
"""

from __future__ import annotations

from toolbox.ppo.config import PPOConfig


def variants() -> dict[str, PPOConfig]:
    """The ablation menu: CleanRL's defaults ("all on"), each core detail off in turn, and the
    extras on.

    Vectorized environments off keeps the batch size: 1 environment × 512 steps.
    """
    base = PPOConfig()
    return {
        "all on": base,
        "no vectorized envs": base.replace(num_envs=1, num_steps=512),
        "no orthogonal init": base.replace(orthogonal_init=False),
        "Adam ε = 1e-8": base.replace(adam_eps=1e-8),
        "no LR annealing": base.replace(anneal_lr=False),
        "no GAE (MC returns)": base.replace(gae=False),
        "no minibatches": base.replace(num_minibatches=1),
        "no advantage norm": base.replace(norm_adv=False),
        "no clipped surrogate": base.replace(clip_surrogate=False),
        "no value clipping": base.replace(clip_vloss=False),
        "no entropy bonus": base.replace(ent_coef=0.0),
        "no grad clipping": base.replace(clip_grad=False),
        "shared network": base.replace(shared_network=True),
        "+ obs normalization": base.replace(norm_obs=True),
        "+ reward scaling": base.replace(norm_reward=True),
        "+ target KL 0.015": base.replace(target_kl=0.015),
        "+ truncation bootstrap": base.replace(bootstrap_truncation=True),
    }


VARIANT_IDS: dict[str, str] = {
    "all": "all on",
    "novec": "no vectorized envs",
    "noorth": "no orthogonal init",
    "eps8": "Adam ε = 1e-8",
    "noanneal": "no LR annealing",
    "nogae": "no GAE (MC returns)",
    "nomb": "no minibatches",
    "noadvnorm": "no advantage norm",
    "noclip": "no clipped surrogate",
    "novclip": "no value clipping",
    "noent": "no entropy bonus",
    "nogradclip": "no grad clipping",
    "shared": "shared network",
    "obsnorm": "+ obs normalization",
    "rewscale": "+ reward scaling",
    "kl": "+ target KL 0.015",
    "trunc": "+ truncation bootstrap",
}
"""Short URL-safe ids of the :func:`variants` menu."""

DEFAULT_VARIANTS = (
    "all", "novec", "noorth", "eps8", "noanneal", "nogae", "nomb", "noadvnorm", "noclip", "novclip",
    "noent", "nogradclip",
)
"""The ablation the page opens with: CleanRL's core grid, "all on" and each core detail off in turn
(precomputed in results/ppo_grid500k.json; the extras stay available for live training)."""
DEFAULT_SEEDS = 10
"""Seeds of the default view; a page with n seeds trains seeds 0, 1, …, n − 1."""
DEFAULT_BUDGET = 500_000
"""CleanRL's budget for CartPole-v1 (environment steps per run)."""
GRID_VARIANTS, GRID_SEEDS, GRID_BUDGET = DEFAULT_VARIANTS, tuple(
    range(DEFAULT_SEEDS)), DEFAULT_BUDGET
"""What benchmarks/ppo_precompute.py trains by default: 12 variants × seeds 0–9 × 500k steps = 120
runs."""
BUDGETS = (25_000, 50_000, 100_000, 200_000, 300_000, 500_000)


def variant_config(vid: str, total_timesteps: int) -> PPOConfig:
    """The config of variant id ``vid`` with the given budget (ValueError for an unknown id)."""
    if vid not in VARIANT_IDS:
        raise ValueError(f"unknown variant {vid!r}; choose from {', '.join(VARIANT_IDS)}.")
    return variants()[VARIANT_IDS[vid]].replace(total_timesteps=int(total_timesteps))
