"""PPO's loss and advantages as pure functions: the readable reference calls them for one run, the
batched :class:`~toolbox.ppo.group.Group` calls the very same functions on a leading run dimension.

Every function reduces over the last dimension only and takes its coefficients either as numbers
(one run, :mod:`toolbox.ppo.reference`) or as tensors broadcasting against the data, e.g.
``clip_coef (R, 1)`` beside ``ratio (R, M)`` (R runs, M transitions each). A toggle is a bool or a
bool tensor of the same broadcasting shape: both branches are computed and ``torch.where`` keeps
one,
so its gradient is the chosen branch's gradient, as a Python ``if`` would give.

The PPO page shows the lines between the ``# [detail:<field>]`` markers (see
:mod:`toolbox.lessons.ppo.source`).
"""

from __future__ import annotations

import torch


def gae(rewards, values, dones, next_value, next_done, gamma, gae_lambda) -> torch.Tensor:
    r"""Advantages ``(T, ...)`` by generalized advantage estimation (Schulman et al. 2016),
    CleanRL's loop.

    .. math::
        \delta_t = r_t + \gamma V(s_{t+1}) (1 - d_{t+1}) - V(s_t), \qquad
        \hat A_t = \delta_t + \gamma \lambda (1 - d_{t+1}) \hat A_{t+1}

    ``rewards, values, dones``: ``(T, ...)`` time-major (``dones[t]``: the episode ended just before
    step t); ``next_value, next_done``: ``(...)``, the step after the rollout. ``gae_lambda`` may
    be a tensor broadcasting to ``(...)`` (one λ per run); λ = 1 gives the bootstrapped
    Monte-Carlo return minus the value.
    """
    T = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    lastgaelam = 0
    # [detail:gae]
    for t in reversed(range(T)):
        if t == T - 1:
            nextnonterminal = 1.0 - next_done
            nextvalues = next_value
        else:
            nextnonterminal = 1.0 - dones[t + 1]
            nextvalues = values[t + 1]
        delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
        advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
    # [/detail:gae]
    return advantages


def discounted_returns(rewards, dones, next_value, next_done, gamma) -> torch.Tensor:
    r"""Monte-Carlo returns ``(T, ...)`` bootstrapped at the end of the rollout:
    :math:`R_t = r_t + \gamma (1 - d_{t+1}) R_{t+1}`, :math:`R_T = V(s_T)`. Shapes as
    :func:`gae`."""
    T = rewards.shape[0]
    returns = torch.zeros_like(rewards)
    for t in reversed(range(T)):
        if t == T - 1:
            nextnonterminal = 1.0 - next_done
            next_return = next_value
        else:
            nextnonterminal = 1.0 - dones[t + 1]
            next_return = returns[t + 1]
        returns[t] = rewards[t] + gamma * nextnonterminal * next_return
    return returns


def pg_loss(ratio, advantages, clip_coef, clip_surrogate) -> torch.Tensor:
    r"""Clipped surrogate ``(...)`` of ``ratio, advantages (..., M)``, :math:`r = \pi / \pi_{old}`:

    .. math:: L^{clip} = \operatorname{mean}_i \max(-\hat A_i r_i,\; -\hat A_i
              \operatorname{clip}(r_i, 1 - \epsilon, 1 + \epsilon))

    (without ``clip_surrogate``: :math:`\operatorname{mean}_i -\hat A_i r_i`)."""
    pg_loss1 = -advantages * ratio
    # [detail:clip_surrogate]
    pg_loss2 = -advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
    pg_loss = torch.where(torch.as_tensor(clip_surrogate), torch.max(pg_loss1, pg_loss2), pg_loss1)
    # [/detail:clip_surrogate]
    return pg_loss.mean(-1)


def v_loss(newvalue, values, returns, clip_coef, clip_vloss) -> torch.Tensor:
    r"""Value loss ``(...)`` of ``newvalue, values`` (old), ``returns (..., M)``:

    .. math:: L^V = \tfrac12 \operatorname{mean}_i \max((V_i - R_i)^2,\;
              (V^{old}_i + \operatorname{clip}(V_i - V^{old}_i, -\epsilon, \epsilon) - R_i)^2)

    (without ``clip_vloss``: :math:`\tfrac12 \operatorname{mean}_i (V_i - R_i)^2`)."""
    v_loss_unclipped = (newvalue - returns) ** 2
    # [detail:clip_vloss]
    v_clipped = values + torch.clamp(newvalue - values, -clip_coef, clip_coef)
    v_loss_clipped = (v_clipped - returns) ** 2
    v_loss_max = torch.where(
        torch.as_tensor(clip_vloss), torch.max(v_loss_unclipped, v_loss_clipped), v_loss_unclipped
    )
    # [/detail:clip_vloss]
    return 0.5 * v_loss_max.mean(-1)


def total_loss(pg_loss, v_loss, entropy_loss, ent_coef, vf_coef) -> torch.Tensor:
    r""":math:`L = L^{clip} - c_2 H + c_1 L^V` (``(...)``, one loss per run)."""
    # [detail:ent_coef]
    loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef
    # [/detail:ent_coef]
    return loss


def kl_and_clipfrac(logratio, ratio, clip_coef) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The logged ``(old_approx_kl, approx_kl, clipfrac)`` ``(...)`` of ``logratio, ratio (...,
    M)``:
    :math:`\operatorname{mean}(-\log r)`, :math:`\operatorname{mean}((r - 1) - \log r)` and the
    fraction
    with :math:`|r - 1| > \epsilon` (no gradient)."""
    with torch.no_grad():
        old_approx_kl = (-logratio).mean(-1)
        approx_kl = ((ratio - 1) - logratio).mean(-1)
        clipfrac = ((ratio - 1.0).abs() > clip_coef).float().mean(-1)
    return old_approx_kl, approx_kl, clipfrac
