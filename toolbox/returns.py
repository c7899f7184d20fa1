"""Returns and advantages computed backwards in time: discounted return-to-go and GAE(λ).

Both take time on the second-to-last axis and environments on the last, ``(..., T, E)``, with any
leading batch (runs, discounts, variants) computed in one pass: the recursion loops over the T
steps only, each step one vectorized operation over everything else.
"""

from __future__ import annotations

import torch


def _time_major(x: torch.Tensor) -> torch.Tensor:
    # time-major and contiguous, so each step of the recursion reads and writes one block
    return x.movedim(-2, 0).contiguous()


def _scan_backwards(x: torch.Tensor, decay: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """``y_t = x_t + decay_t · y_{t+1}`` with ``y_T = last``; ``x, decay (T, ...)`` time-major,
    ``last (...)``."""
    out = torch.empty_like(x)
    nxt = last
    for t in range(x.shape[0] - 1, -1, -1):
        nxt = torch.addcmul(x[t], decay[t], nxt, out=out[t])
    return out


def discounted_returns(rewards, terminated, gamma) -> torch.Tensor:
    r"""Return-to-go (the value target without bootstrapping) ``R_t = r_t + γ (1 - d_t) R_{t+1}``,
    ``R_T = 0``.

    ``rewards, terminated: (..., T, E)`` (``terminated[t]``: the episode ended on step t);
    ``gamma`` a number or a tensor broadcasting to ``(..., 1, 1)``. Returns ``(..., T, E)`` float64.
    """
    rewards = torch.as_tensor(rewards, dtype=torch.float64)
    done = torch.as_tensor(terminated, device=rewards.device).to(torch.float64)
    r = _time_major(rewards)
    c = _time_major((gamma * (1.0 - done)).broadcast_to(rewards.shape))
    return _scan_backwards(r, c, torch.zeros_like(r[0])).movedim(0, -2)


def gae(rewards, values, dones, last_value, gamma=0.99, gae_lambda=0.95,
        next_done=None) -> torch.Tensor:
    r"""Generalized advantage estimation (Schulman et al. 2016), in CleanRL's conventions.

    .. math::
        \delta_t = r_t + \gamma\,V(s_{t+1})\,(1 - d_{t+1}) - V(s_t),\qquad
        \hat A_t = \delta_t + \gamma\lambda\,(1 - d_{t+1})\,\hat A_{t+1},\quad \hat A_T = 0

    Args:
        rewards, values, dones: ``(..., T, E)``. ``dones[t] = 1`` marks that the observation at t
            is the first of a new episode (CleanRL's ``dones``: the previous step ended one).
        last_value: ``(..., E)`` the value of the observation after the last step, ``V(s_T)``.
        gamma, gae_lambda: numbers, or tensors broadcasting to ``(..., T, E)`` (e.g. ``(R, 1, 1)``
            for one value per run). λ = 0 gives the one-step TD error, λ = 1 the bootstrapped
            Monte-Carlo return minus the value.
        next_done: ``(..., E)`` CleanRL's ``next_done`` (the last step ended an episode, so
            ``V(s_T)`` is not used); ``None`` means no episode ended on the last step.

    Returns the advantages ``(..., T, E)`` in the dtype of ``rewards``; the value targets are
    ``advantages + values``.
    """
    rewards = torch.as_tensor(rewards)
    values = torch.as_tensor(values, dtype=rewards.dtype, device=rewards.device)
    dones = torch.as_tensor(dones, dtype=rewards.dtype, device=rewards.device)
    last_value = torch.as_tensor(last_value, dtype=rewards.dtype, device=rewards.device)
    if not (rewards.dim() >= 2 and values.shape == rewards.shape == dones.shape
            and last_value.shape == rewards.shape[:-2] + rewards.shape[-1:]):
        raise ValueError(
            "rewards, values and dones must share one shape (..., T, E) and last_value must be "
            f"(..., E); got {tuple(rewards.shape)}, {tuple(values.shape)}, {tuple(dones.shape)} "
            f"and {tuple(last_value.shape)}."
        )
    if next_done is None:
        next_done = torch.zeros_like(last_value)
    next_done = torch.as_tensor(next_done, dtype=rewards.dtype, device=rewards.device)
    next_values = torch.cat([values[..., 1:, :], last_value.unsqueeze(-2)], dim=-2)
    next_nonterminal = 1.0 - torch.cat([dones[..., 1:, :], next_done.unsqueeze(-2)], dim=-2)
    delta = rewards + gamma * next_values * next_nonterminal - values
    decay = (gamma * gae_lambda * next_nonterminal).broadcast_to(rewards.shape)
    adv = _scan_backwards(_time_major(delta), _time_major(decay), torch.zeros_like(last_value))
    return adv.movedim(0, -2)
