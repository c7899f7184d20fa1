"""Reward scaling by the running std of the discounted return, as Gymnasium's ``NormalizeReward``.

:class:`RewardScaler` is the step-by-step form a training loop uses (batched over runs);
:func:`reward_scaling_scan` computes the same numbers for a whole recorded stream at once (the
lessons show it for several γ side by side). Both are checked against
``gymnasium.wrappers.vector.NormalizeReward`` in tests/test_running_stats.py.
"""

from __future__ import annotations

from typing import Sequence

import torch

from toolbox.checks import as_real_tensor, check_epsilon, check_finite, check_gamma
from toolbox.running_stats import RunningMeanStd, prefix_moments

_Shape = Sequence[int]


class RewardScaler:
    r"""Reward scaling by the running std of the discounted return, as
    ``gymnasium.wrappers.vector.NormalizeReward``.

    Per environment a discounted return is accumulated and reset at episode ends
    (Gymnasium's ``AutoresetMode.SAME_STEP`` convention: the done environment has already been
    reset, so its next step starts a fresh return):

    .. math::
        G_t = \gamma\,(1 - d^{\text{term}}_t)\,G_{t-1} + r_t,\qquad
        \tilde r_t = \frac{r_t}{\sqrt{\operatorname{Var}[G] + \varepsilon}}

    ``Var[G]`` is a :class:`RunningMeanStd` over all ``G_t`` seen (one statistic shared by all
    environments). The reward is divided by the return's std but **not centred**: shifting
    rewards would change the optimal policy of a task with episode ends; scaling does not.

    Args:
        num_envs: number of environments E.
        gamma: discount in [0, 1); or a tensor of shape ``batch_shape``, one discount per batch
            member (e.g. a sweep over γ computed in one pass).
        epsilon: added to the variance under the square root.
        batch_shape: independent statistics per leading batch member, e.g. ``(R,)`` for R runs
            each with its own E environments; rewards are then ``(*batch_shape, E)``.
        device, dtype, validate: as :class:`RunningMeanStd`.

    Attributes: ``return_rms`` (statistics of shape ``batch_shape``), ``accumulated_reward``
    ``(*batch_shape, E)`` (after the episode-end reset), ``last_return`` ``(*batch_shape, E)``:
    the returns the last call merged into ``return_rms`` (before the reset).
    """

    def __init__(
        self,
        num_envs: int,
        gamma: float = 0.99,
        epsilon: float = 1e-8,
        *,
        batch_shape: _Shape = (),
        device=None,
        dtype: torch.dtype = torch.float64,
        validate: bool = True,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer; got {num_envs!r}.")
        self.epsilon = check_epsilon(epsilon)
        self.num_envs = num_envs
        self.validate = validate
        self.return_rms = RunningMeanStd((), batch_shape=batch_shape, device=device, dtype=dtype,
                                         validate=validate)
        self.batch_shape = self.return_rms.batch_shape
        self.dtype = dtype
        if isinstance(gamma, (int, float)) and not isinstance(gamma, bool):
            self.gamma = check_gamma(gamma)
        else:
            # one discount per batch member (a γ sweep in one vectorized pass)
            g = torch.as_tensor(gamma, dtype=dtype, device=self.return_rms.device)
            if tuple(g.shape) != self.batch_shape:
                raise ValueError(
                    "gamma must be a number or have shape "
                    f"batch_shape={self.batch_shape}; got shape {tuple(g.shape)}."
                )
            for value in g.reshape(-1).tolist():
                check_gamma(value)
            self.gamma = g.unsqueeze(-1)
        self.accumulated_reward = torch.zeros(
            self.batch_shape + (num_envs,), dtype=dtype, device=self.return_rms.device
        )
        self.last_return = self.accumulated_reward
        self.update_running_mean = True

    @property
    def device(self) -> torch.device:
        return self.return_rms.device

    def reset(self) -> None:
        """Forget the accumulated returns (a full reset of all environments); statistics are
        kept."""
        self.accumulated_reward.zero_()

    def _flags(self, flags, name: str) -> torch.Tensor:
        t = as_real_tensor(flags, self.dtype, self.device, name)
        if self.validate and tuple(t.shape) != tuple(self.accumulated_reward.shape):
            raise ValueError(
                f"{name} has shape {tuple(t.shape)}; expected "
                f"{tuple(self.accumulated_reward.shape)} (one flag per environment)."
            )
        return t

    def scale(self, reward, terminated, truncated=None, update: bool | None = None) -> torch.Tensor:
        """Scale one step's rewards ``(*batch_shape, E)``; ``terminated``/``truncated`` are that
        step's flags.

        Both end the accumulated return (the environment auto-resets in the same step);
        only ``terminated`` cuts the bootstrap inside this step's return. Returns the scaled
        reward with the reward's floating dtype.
        """
        raw = torch.as_tensor(reward, device=self.device)
        out_dtype = raw.dtype if raw.is_floating_point() else torch.float32
        r = as_real_tensor(raw, self.dtype, self.device, "reward")
        if self.validate:
            if tuple(r.shape) != tuple(self.accumulated_reward.shape):
                batch = f"batch dimensions {self.batch_shape} then " if self.batch_shape else ""
                raise ValueError(
                    f"reward has shape {tuple(r.shape)}; expected "
                    f"{tuple(self.accumulated_reward.shape)} ({batch}one reward per environment)."
                )
            check_finite(r, "reward")
        term = self._flags(terminated, "terminated")
        done = term if truncated is None else torch.maximum(term,
                                                            self._flags(truncated, "truncated"))
        self.accumulated_reward = self.accumulated_reward * self.gamma * (1 - term) + r
        if update is None:
            update = self.update_running_mean
        if update:
            self.return_rms.update(self.accumulated_reward)
        # the return this step contributed to the statistics, before the episode-end reset
        self.last_return = self.accumulated_reward
        self.accumulated_reward = torch.where(done > 0, torch.zeros_like(self.accumulated_reward),
                                              self.accumulated_reward)
        scale = torch.sqrt(self.return_rms.var + self.epsilon).unsqueeze(-1)
        return (r / scale).to(out_dtype)

    __call__ = scale


def reward_scaling_scan(rewards: torch.Tensor, terminated: torch.Tensor, gamma,
                        epsilon: float = 1e-8):
    r""":class:`RewardScaler` over a whole recorded stream at once.

    ``rewards, terminated: (..., T, E)`` (float rewards; ``terminated`` bool or 0/1), ``gamma`` a
    number or a tensor broadcasting to ``(..., T, E)``, e.g. ``(G, 1, 1)`` for one discount per
    leading batch member. Returns
    ``G (..., T, E)`` (the accumulated return :math:`G_t = \gamma (1 - d_t) G_{t-1} + r_t`, reset
    after an episode end), ``var (..., T)`` (Var[G] after step t) and ``scaled (..., T, E)``
    (:math:`r_t / \sqrt{\operatorname{Var}[G] + \varepsilon}`): the same numbers as calling
    :meth:`RewardScaler.scale` step by step with ``truncated=None``. No argument checks: callers
    validate (this is the fast path).
    """
    term = terminated.to(rewards.dtype)
    prev_done = torch.cat([torch.zeros_like(term[..., :1, :]), term[..., :-1, :]], dim=-2)
    # G_t = a_t G_{t-1} + r_t: the return is cut by this step's termination and by last step's reset
    a = (gamma * (1.0 - term) * (1.0 - prev_done)).movedim(-2, 0).contiguous()
    r = rewards.movedim(-2, 0).contiguous()  # time-major: one contiguous block per step
    G = torch.empty_like(r)
    acc = torch.zeros_like(r[0])
    for t in range(r.shape[0]):
        acc = torch.addcmul(r[t], a[t], acc, out=G[t])
    G = G.movedim(0, -2)
    # (..., T): one batch of E returns per step
    bvar, bmean = torch.var_mean(G, dim=-1, correction=0)
    _, var, _ = prefix_moments(bmean.movedim(-1, 0), bvar.movedim(-1, 0), G.shape[-1])
    var = var.movedim(0, -1)
    return G, var, rewards / torch.sqrt(var.unsqueeze(-1) + epsilon)

