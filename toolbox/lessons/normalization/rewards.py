"""Normalization lesson ③: reward streams, reward scaling over time, and the value-target scale for
several γ.

The scaling is ``toolbox.reward_scaling`` (Gymnasium's ``NormalizeReward``); the value targets
are ``toolbox.returns.discounted_returns``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from toolbox.checks import check_clip, check_epsilon, check_finite, check_gamma, check_int
from toolbox.device import resolve_device
from toolbox.returns import discounted_returns
from toolbox.reward_scaling import reward_scaling_scan

REWARD_KINDS = ("constant", "sparse", "gaussian")
REWARD_DESCRIPTIONS = {
    "constant": "+1 on every step (CartPole's reward)",
    "sparse": "+1 only on the step that ends an episode (reaching a goal)",
    "gaussian": "N(0.5, 2²) on every step (a noisy dense reward)",
}
GAMMA_SWEEP = (0.9, 0.95, 0.99, 0.995, 0.999)


def reward_stream(kind: str = "constant", num_envs: int = 8, steps: int = 500,
                  mean_episode_length: float = 50.0, seed: int = 0,
                  device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rewards ``(T, E)`` float64 and episode ends ``terminated (T, E)`` bool; episode lengths are
    geometric."""
    if kind not in REWARD_KINDS:
        raise ValueError(f"reward kind must be one of {', '.join(REWARD_KINDS)}; got {kind!r}.")
    E = check_int(num_envs, "the number of environments", 1, 256)
    T = check_int(steps, "the number of steps", 1, 20_000)
    try:
        L = float(mean_episode_length)
    except (TypeError, ValueError):
        raise ValueError(
            f"the mean episode length must be a number ≥ 1; got {mean_episode_length!r}.") from None
    if not (1.0 <= L <= 1e6):
        raise ValueError(
            "the mean episode length must be between 1 and "
            f"1,000,000 steps; got {mean_episode_length!r}.")
    dev = resolve_device(device)
    g = torch.Generator(device=dev).manual_seed(int(seed))
    terminated = torch.rand(T, E, generator=g, device=dev, dtype=torch.float64) < 1.0 / L
    if kind == "constant":
        rewards = torch.ones(T, E, dtype=torch.float64, device=dev)
    elif kind == "sparse":
        rewards = terminated.double()
    else:
        rewards = 0.5 + 2.0 * torch.randn(T, E, generator=g, device=dev, dtype=torch.float64)
    return rewards, terminated


@dataclass
class RewardTrace:
    """What reward scaling does to a stream, step by step."""

    returns: torch.Tensor
    """``(T, E)`` the accumulated discounted return G_t that updated the statistic."""
    return_std: torch.Tensor
    """``(T,)`` running std of G after step t."""
    scaled: torch.Tensor
    """``(T, E)`` scaled rewards r_t / sqrt(Var[G] + ε)."""


def reward_scaling_trace(rewards, terminated, gamma: float = 0.99, epsilon: float = 1e-8,
                         reward_clip: float | None = 10.0) -> RewardTrace:
    """What ``toolbox.reward_scaling.RewardScaler`` does over ``rewards (T, E)`` with episode ends
    ``terminated (T, E)``.

    ``reward_clip``: the scaled reward is clipped to ±c afterwards, as CleanRL does
    (``TransformReward(np.clip(r, -10, 10))``); ``None`` leaves it unclipped.
    """
    reward_clip = check_clip(reward_clip)
    gamma = check_gamma(gamma)
    epsilon = check_epsilon(epsilon)
    rewards = torch.as_tensor(rewards, dtype=torch.float64)
    terminated = torch.as_tensor(terminated, device=rewards.device)
    if rewards.dim() != 2 or terminated.shape != rewards.shape:
        raise ValueError(
            "rewards and terminated must both have shape (T, E); got "
            f"{tuple(rewards.shape)} and {tuple(terminated.shape)}.")
    check_finite(rewards, "rewards")
    G, var, scaled = reward_scaling_scan(rewards, terminated, gamma, epsilon)
    if reward_clip is not None:
        scaled = scaled.clamp(-reward_clip, reward_clip)
    return RewardTrace(G, torch.sqrt(var), scaled)


@dataclass
class ReturnScales:
    """Reward scaling for several discounts: the divisor and the size of the value targets with and
    without it."""

    gammas: torch.Tensor
    """``(G,)`` the discounts."""
    horizon: torch.Tensor
    """``(G,)`` effective horizon 1 / (1 - γ)."""
    return_std: torch.Tensor
    """``(G,)`` the running std of the discounted return at the end of the stream (the divisor)."""
    raw_target_abs_max: torch.Tensor
    """``(G,)`` max |return-to-go| of the raw rewards (after warm-up): the value targets without
    scaling."""
    raw_target_std: torch.Tensor
    scaled_target_abs_max: torch.Tensor
    """``(G,)`` max |return-to-go| of the scaled rewards: the value targets with scaling."""
    scaled_target_std: torch.Tensor


def return_scales(rewards, terminated, gammas=GAMMA_SWEEP, epsilon: float = 1e-8,
                  reward_clip: float | None = 10.0, warmup: float = 0.5) -> ReturnScales:
    """Reward scaling for several γ at once (all discounts in one vectorized pass).

    ``reward_clip`` as in :func:`reward_scaling_trace`. The value-target statistics are taken over
    the steps after the first ``warmup`` fraction of the stream, once the running std has settled
    (the first scaled rewards are divided by a statistic that has seen almost nothing).
    """
    reward_clip = check_clip(reward_clip)
    if not (0.0 <= float(warmup) < 1.0):
        raise ValueError(f"warmup must be a fraction in [0, 1); got {warmup!r}.")
    rewards = torch.as_tensor(rewards, dtype=torch.float64)
    terminated = torch.as_tensor(terminated, device=rewards.device)
    if rewards.dim() != 2 or terminated.shape != rewards.shape:
        raise ValueError(
            "rewards and terminated must both have shape (T, E); got "
            f"{tuple(rewards.shape)} and {tuple(terminated.shape)}.")
    g = torch.as_tensor(gammas, dtype=torch.float64, device=rewards.device).reshape(-1)
    if g.numel() < 1:
        raise ValueError("give at least one γ.")
    for value in g.tolist():
        check_gamma(value)
    epsilon = check_epsilon(epsilon)
    check_finite(rewards, "rewards")
    n_g, (T, E) = g.numel(), rewards.shape
    r_b = rewards.unsqueeze(0).expand(n_g, T, E)
    d_b = terminated.unsqueeze(0).expand(n_g, T, E)
    _, var, scaled = reward_scaling_scan(r_b, d_b, g[:, None, None], epsilon)  # all γ in one pass
    if reward_clip is not None:
        scaled = scaled.clamp(-reward_clip, reward_clip)
    t0 = int(float(warmup) * T)
    raw_targets = discounted_returns(r_b, d_b, g[:, None, None])[..., t0:, :]
    scaled_targets = discounted_returns(scaled, d_b, g[:, None, None])[..., t0:, :]
    return ReturnScales(
        g, 1.0 / (1.0 - g), torch.sqrt(var[:, -1]),
        raw_targets.abs().flatten(1).amax(1), raw_targets.flatten(1).std(1),
        scaled_targets.abs().flatten(1).amax(1), scaled_targets.flatten(1).std(1),
    )
