"""The discounted return-to-go, computed backwards in time (GAE(λ) is PPO's own loop:
:func:`toolbox.ppo.loss.gae`, the one every PPO runner calls).

Time on the second-to-last axis and environments on the last, ``(..., T, E)``, with any leading
batch (runs, discounts, variants) computed in one pass: the recursion loops over the T steps only,
each step one vectorized operation over everything else.
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
