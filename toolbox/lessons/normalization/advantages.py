"""Normalization lesson ④: a real PPO batch's advantages, split into minibatches and normalized as
CleanRL does.

The batch is ``toolbox.ppo.train.rollout_batch`` (the PPO lesson's agent, default configuration);
the normalization is ``toolbox.running_stats.normalize_advantages``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from toolbox.checks import check_finite, check_int
from toolbox.device import resolve_device
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.train import rollout_batch
from toolbox.running_stats import normalize_advantages


@dataclass
class MinibatchAdvantages:
    """One batch's advantages in shuffled minibatches, raw and normalized two ways."""

    raw: torch.Tensor
    """``(M, n)`` the advantages of each of the M minibatches (a random permutation of the
    batch)."""
    normalized: torch.Tensor
    """``(M, n)`` each minibatch normalized with its own mean and std."""
    globally_normalized: torch.Tensor
    """``(M, n)`` the same values normalized with the whole batch's mean and std."""
    mean: torch.Tensor
    """``(M,)`` per-minibatch mean."""
    std: torch.Tensor
    """``(M,)`` per-minibatch sample std."""
    sign_flips: torch.Tensor
    """``(M,)`` fraction of advantages whose sign differs after normalization (subtracting the
    mean)."""
    deviation: torch.Tensor
    """``(M,)`` mean |per-minibatch − whole-batch normalized|: the minibatch-size effect."""


def minibatch_advantages(advantages, num_minibatches: int = 4, seed: int = 0,
                         eps: float = 1e-8) -> MinibatchAdvantages:
    """Split a PPO batch's advantages (any shape, flattened) into shuffled minibatches, as CleanRL,
    and normalize each."""
    adv = torch.as_tensor(advantages, dtype=torch.float64).reshape(-1)
    N = adv.numel()
    M = check_int(num_minibatches, "the number of minibatches", 1, max(1, N))
    if N % M:
        raise ValueError(
            f"the batch of {N} advantages does not split into "
            f"{M} equal minibatches; pick a divisor of {N}.")
    if N // M < 2:
        raise ValueError(
            f"{M} minibatches of {N} advantages leave {N // M} "
            "per minibatch; normalization needs at least 2.")
    check_finite(adv, "advantages")
    g = torch.Generator(device=adv.device).manual_seed(int(seed))
    mb = adv[torch.randperm(N, generator=g, device=adv.device)].reshape(M, N // M)
    z = normalize_advantages(mb, eps=eps, dim=-1)
    zg = normalize_advantages(mb, eps=eps)
    std, mean = torch.std_mean(mb, dim=-1)
    flips = (torch.sign(z) != torch.sign(mb)).double().mean(1)
    return MinibatchAdvantages(mb, z, zg, mean, std, flips, (z - zg).abs().mean(1))


def minibatch_size_effect(advantages, sizes: Sequence[int], seed: int = 0) -> dict[str,
                                                                                   torch.Tensor]:
    """For each minibatch size that divides the batch: spread (std over minibatches) of the
    per-minibatch mean and std, and the mean deviation from whole-batch normalization. Returns
    tensors of shape ``(S,)``."""
    adv = torch.as_tensor(advantages, dtype=torch.float64).reshape(-1)
    N = adv.numel()
    rows = {"size": [], "mean_spread": [], "std_spread": [], "deviation": []}
    for n in sizes:
        if n < 2 or N % n:
            continue
        r = minibatch_advantages(adv, N // n, seed)
        rows["size"].append(float(n))
        rows["mean_spread"].append(float(r.mean.std(correction=0)))
        rows["std_spread"].append(float(r.std.std(correction=0)))
        rows["deviation"].append(float(r.deviation.mean()))
    if not rows["size"]:
        raise ValueError(
            f"none of the minibatch sizes {list(sizes)} divides "
            f"the batch of {N} into minibatches of at least 2.")
    return {k: torch.tensor(v, dtype=torch.float64) for k, v in rows.items()}


MAX_PPO_UPDATES = 50
"""Server cap on the PPO updates run before collecting the lesson's batch."""


def ppo_batch(seed: int = 0, updates: int = 0, device=None) -> tuple[dict, str]:
    """One rollout of the PPO lesson's agent (default configuration) after ``updates`` PPO updates.

    Returns ``(batch, source)`` where batch has ``obs (T, E, 4)``, ``rewards, dones, values,
    advantages, returns (T, E)`` (``toolbox.ppo.train.rollout_batch``) and ``source`` says which
    agent produced it (shown on the page).
    """
    n = check_int(updates, "the number of PPO updates", 0, MAX_PPO_UPDATES)
    batch = rollout_batch(PPOConfig(), int(seed), train_iterations=n, device=resolve_device(device))
    agent = "untrained agent" if n == 0 else f"agent after {n} PPO updates"
    return {
        k: torch.as_tensor(v) for k, v in batch.items()
    }, f"toolbox.ppo.train.rollout_batch ({agent}, default config)"
