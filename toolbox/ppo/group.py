"""One group of PPO runs trained as one stacked computation: its state, rollout and advantages.

R runs whose configs share the structure (``num_envs``, ``num_steps``, ``num_minibatches``,
``update_epochs``, ``total_timesteps``, ``shared_network``, ``gamma``) are one :class:`Group`:
parameters ``theta (K·R, P)`` (see :mod:`toolbox.ppo.agent`), Adam state, ``R·num_envs``
CartPole environments and ``(T, R, E)`` rollout buffers. Every other difference between the runs
(toggles, coefficients) is a per-run column. The update half (the reference's loss batched,
autograd, clipping, ``torch.optim.Adam``) is :class:`toolbox.ppo.update.GroupUpdate`, mixed in.

Each run's randomness (initial parameters, reset noise, action samples, minibatch shuffles)
comes only from its own seed (:mod:`toolbox.rng`), so a (config, seed) pair starts from the
same parameters and sees the same first rollout alone or inside any grid.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch

from toolbox import rng
from toolbox.envs.cartpole import BatchedCartPole
from toolbox.ppo import agent as A
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.loss import gae
from toolbox.ppo.result import DEBUG_KEYS, TrainResult
from toolbox.ppo.update import GroupUpdate
from toolbox.reward_scaling import RewardScaler
from toolbox.running_stats import ObsNormalizer


def structure_key(c: PPOConfig) -> tuple:
    """The settings that must be equal for runs to share one :class:`Group`."""
    return (c.num_envs, c.num_steps, c.num_minibatches, c.update_epochs, c.total_timesteps,
            c.shared_network, c.gamma)


def _col(values, device, dtype=torch.float32) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype, device=device)


class Group(GroupUpdate):
    """R runs of one structure: parameters, optimizer state, environments, rollout buffers.

    One iteration is :meth:`next_rollout` (rollout, episode log, advantages) then :meth:`update`;
    :meth:`run_iteration` does both and times them.
    """

    BACKEND = "tensor"
    """What its results record as the code that trained them (``TrainResult.backend``)."""

    def __init__(self, configs: Sequence[PPOConfig], seeds: Sequence[int], device: torch.device):
        c0 = configs[0]
        self.configs, self.seeds, self.device = list(configs), [int(s) for s in seeds], device
        R = self.R = len(configs)
        E, T = self.E, self.T = c0.num_envs, c0.num_steps
        self.B = E * T
        self.M = c0.minibatch_size
        self.num_minibatches, self.update_epochs = c0.num_minibatches, c0.update_epochs
        self.num_iterations = c0.num_iterations
        self.gamma = c0.gamma
        self.K = 1 if c0.shared_network else 2
        dev = device

        # per-run hyper-parameters as columns
        def col(name, fn=lambda c, v: v):
            return _col([fn(c, getattr(c, name)) for c in configs], dev).unsqueeze(1)

        self.lr0 = col("learning_rate")
        self.anneal = col("anneal_lr", lambda c, v: float(v))
        self.lam = _col([c.gae_lambda if c.gae else 1.0 for c in configs], dev).view(R, 1)
        self.clip_coef = col("clip_coef")
        self.ent_coef = col("ent_coef")
        self.vf_coef = col("vf_coef")
        self.max_grad_norm = _col(
            [c.max_grad_norm if c.clip_grad else float("inf") for c in configs], dev)
        self.target_kl = _col(
            [c.target_kl if c.target_kl is not None else float("inf") for c in configs], dev)
        self.has_target_kl = any(c.target_kl is not None for c in configs)
        self.norm_adv = _col([c.norm_adv for c in configs], dev, torch.bool).unsqueeze(1)
        self.any_norm_adv = any(c.norm_adv for c in configs)
        self.clip_surrogate = _col([c.clip_surrogate for c in configs], dev,
                                   torch.bool).unsqueeze(1)
        self.clip_vloss = _col([c.clip_vloss for c in configs], dev, torch.bool).unsqueeze(1)
        self.bootstrap = _col([c.bootstrap_truncation for c in configs], dev,
                              torch.bool).unsqueeze(1)
        self.any_bootstrap = any(c.bootstrap_truncation for c in configs)
        norm_obs = [c.norm_obs for c in configs]
        norm_rew = [c.norm_reward for c in configs]
        self.obs_norm = ObsNormalizer((4,), batch_shape=(R,), device=dev,
                                      validate=False) if any(norm_obs) else None
        self.obs_norm_mask = _col(norm_obs, dev, torch.bool).view(R, 1, 1)
        self.all_norm_obs = all(norm_obs)
        self.rew_scale = (
            RewardScaler(E, gamma=self.gamma, batch_shape=(R,), device=dev,
                         validate=False) if any(norm_rew) else None
        )
        self.rew_scale_mask = _col(norm_rew, dev, torch.bool).unsqueeze(1)

        # parameters: orthogonal and default init may differ per run, so build both kinds per row
        K = self.K
        shared = c0.shared_network
        th_orth = A.init_params(self.seeds, shared, True, dev)
        th_def = A.init_params(self.seeds, shared, False, dev)
        orth = _col([c.orthogonal_init for c in configs], dev, torch.bool).repeat(K).unsqueeze(1)
        self.theta = torch.where(orth, th_orth, th_def).contiguous()
        # theta is only ever updated in place, so its block views are made once
        self.theta_v = A.views(self.theta)
        self.lr0_host = [c.learning_rate for c in configs]
        self.anneal_host = [c.anneal_lr for c in configs]
        self.setup_optimizer()

        # random streams
        env_idx = torch.arange(E, device=dev)
        self.env_keys = torch.cat([rng.stream_key(s, rng.ENV_STREAM, env_idx) for s in self.seeds])
        self.action_keys = torch.stack([rng.stream_key(s, rng.ACTION_STREAM,
                                                       env_idx) for s in self.seeds])
        self.perm_keys = torch.tensor([rng.stream_key(s, rng.PERM_STREAM) for s in self.seeds],
                                      device=dev)

        self.env = BatchedCartPole(R * E, device=dev, env_keys=self.env_keys)
        raw = self.env.reset().view(R, E, 4)
        self.next_raw_obs = raw
        self.next_obs = self._normalize_obs(raw, update=True)
        self.next_done = torch.zeros(R, E, device=dev)
        # steps of each environment's current episode so far
        self.ep_len = np.zeros((R, E), np.int64)

        f32 = dict(device=dev, dtype=torch.float32)
        self.obs_buf = torch.zeros(T, R, E, 4, **f32)
        self.raw_obs_buf = torch.zeros(T, R, E, 4,
                                       **f32) if self.obs_norm is not None else self.obs_buf
        self.actions = torch.zeros(T, R, E, **f32)
        self.logprobs = torch.zeros(T, R, E, **f32)
        self.rewards = torch.zeros(T, R, E, **f32)
        self._ones = torch.ones(R, E, **f32)
        self.raw_rewards = torch.ones(T, R, E, **f32)  # CartPole's reward is always 1
        self.dones = torch.zeros(T, R, E, **f32)
        self.values = torch.zeros(T, R, E, **f32)
        self.ep_end = torch.zeros(T, R, E, dtype=torch.bool, device=dev)
        self.advantages = torch.zeros(T, R, E, **f32)
        self._rows = {name: getattr(self, name).unbind(0) for name in (
            "obs_buf", "raw_obs_buf", "values", "actions", "logprobs", "rewards")}
        # without reward scaling or truncation bootstrap every reward is CartPole's 1: written once
        self.constant_reward = self.rew_scale is None and not self.any_bootstrap
        self.rewards.fill_(1.0)
        self._end_flat_rows = self.ep_end.view(T, R * E).unbind(0)  # the environments' flat order

        self.iteration = 0
        self.episode_steps: list[list[np.ndarray]] = [[] for _ in range(R)]
        self.episode_returns: list[list[np.ndarray]] = [[] for _ in range(R)]
        self.debug: dict[str, list[torch.Tensor]] = {k: [] for k in DEBUG_KEYS}
        self.seconds = 0.0


    # -- observations -------------------------------------------------------------------------
    def _normalize_obs(self, raw: torch.Tensor, update: bool) -> torch.Tensor:
        if self.obs_norm is None:
            return raw
        z = self.obs_norm(raw, update=update).to(torch.float32)
        return z if self.all_norm_obs else torch.where(self.obs_norm_mask, z, raw)

    def policy_value(self, obs: torch.Tensor):
        out = A.forward(self.theta, obs, self.K, self.theta_v)
        return out[..., : A.NUM_ACTIONS], out[..., A.NUM_ACTIONS]

    # -- rollout ------------------------------------------------------------------------------
    @torch.no_grad()
    def rollout(self) -> None:
        R, E, T = self.R, self.E, self.T
        # (R, E, T): this rollout's action noise
        u_all = rng.uniform(self.action_keys, self.iteration, T)
        # Per-step rows as views made once: `buf[step] = x` costs an indexing op plus Python's
        # __setitem__ machinery, ~10 times a step; `rows[step].copy_(x)` is one cheap op.
        u_steps = u_all.unbind(-1)
        obs_rows, raw_rows = self._rows["obs_buf"], self._rows["raw_obs_buf"]
        value_rows, action_rows, logp_rows = self._rows["values"], self._rows[
            "actions"], self._rows["logprobs"]
        end_rows, reward_rows = self._end_flat_rows, self._rows["rewards"]
        first_done = self.next_done
        for step in range(T):
            obs_rows[step].copy_(self.next_obs)
            if self.obs_norm is not None:
                raw_rows[step].copy_(self.next_raw_obs)
            logits, value = self.policy_value(self.next_obs)
            value_rows[step].copy_(value)
            lp0, lp1 = torch.log_softmax(logits, dim=-1).unbind(-1)
            # Categorical(logits) with two actions: P(a = 1) = softmax_1
            action = u_steps[step] < lp1.exp()
            action_rows[step].copy_(action)
            logp_rows[step].copy_(torch.where(action, lp1, lp0))
            raw_obs, term, trunc, final_obs = self.env.step_fast(action.view(-1),
                                                                 final=self.any_bootstrap)
            # done: the episode ended on this step
            torch.logical_or(term, trunc, out=end_rows[step])
            if not self.constant_reward:
                term, trunc = term.view(R, E), trunc.view(R, E)
                r = reward = self._ones  # CartPole pays 1 on every step
                if self.rew_scale is not None:
                    scaled = self.rew_scale.scale(reward, term, trunc).to(torch.float32)
                    r = torch.where(self.rew_scale_mask, scaled, reward)
                if self.any_bootstrap:
                    # a time-limit truncation is not a terminal state:
                    # r + γ V(s_final) stands in for the lost future
                    final = self._normalize_obs(final_obs.view(R, E, 4), update=False)
                    _, v_final = self.policy_value(final)
                    cut = trunc & ~term & self.bootstrap
                    r = r + self.gamma * v_final * cut
                reward_rows[step].copy_(r)
            self.next_raw_obs = raw_obs.view(R, E, 4)
            self.next_obs = self._normalize_obs(self.next_raw_obs, update=True)
        # CleanRL's dones[t]: the episode ended just before step t, i.e. on step t − 1 (written
        # once here rather than once per step)
        self.dones[0].copy_(first_done)
        self.dones[1:].copy_(self.ep_end[:-1])
        self.next_done = self.ep_end[-1].to(torch.float32)

    @torch.no_grad()
    def compute_advantages(self) -> None:
        """GAE(λ) backwards in time over the ``(T, R, E)`` buffers (λ = 1: Monte-Carlo), by the
        reference's :func:`toolbox.ppo.loss.gae` with one λ per run ``(R, 1)``."""
        _, next_value = self.policy_value(self.next_obs)
        self.advantages = gae(self.rewards, self.values, self.dones, next_value, self.next_done,
                              self.gamma, self.lam)
        self.returns = self.advantages + self.values

    def _record_episodes(self) -> None:
        """Append this rollout's finished episodes (global step at the end, return) per run.

        CartPole pays 1 per step, so an episode's return is its length: counted on the host from
        the end flags (the length carried in from earlier rollouts plus the steps up to its end),
        instead of a running return updated by three tensor ops on every environment step.
        """
        T, E = self.T, self.E
        idx = self.ep_end.nonzero()  # (n, 3): t, run, env — one host sync per iteration
        if idx.numel() == 0:
            self.ep_len += T
            return
        idx = idx.cpu().numpy()
        t, env_id = idx[:, 0], idx[:, 1] * E + idx[:, 2]
        by_env = np.lexsort((t, env_id))  # each environment's ends in time order
        g, ts = env_id[by_env], t[by_env]
        first = np.r_[True, g[1:] != g[:-1]]
        last = np.r_[g[1:] != g[:-1], True]
        carry = self.ep_len.reshape(-1)
        prev_end = np.r_[-1, ts[:-1]]
        prev_end[first] = -1 - carry[g[first]]  # the episode began carry steps before this rollout
        rets = np.empty(len(ts), np.float32)
        rets[by_env] = ts - prev_end
        carry += T
        carry[g[last]] = T - 1 - ts[last]
        steps = ((self.iteration - 1) * T + t + 1) * E
        order = np.lexsort((idx[:, 2], idx[:, 0], idx[:, 1]))
        runs = idx[order, 1]
        bounds = np.searchsorted(runs, np.arange(self.R + 1))
        steps, rets = steps[order], rets[order]
        for r in range(self.R):
            a, b = bounds[r], bounds[r + 1]
            if b > a:
                self.episode_steps[r].append(steps[a:b])
                self.episode_returns[r].append(rets[a:b])


    # -- one iteration --------------------------------------------------------------------------
    def next_rollout(self) -> None:
        """Start the next iteration: collect its rollout, log the finished episodes, compute
        advantages.

        Afterwards the buffers ``obs_buf``, ``actions``, ``logprobs``, ``rewards``, ``dones``,
        ``values`` ``(T, R, E)`` (``obs_buf (T, R, E, 4)``), ``advantages`` and ``returns`` hold
        this iteration's batch.
        """
        self.iteration += 1
        self.rollout()
        self._record_episodes()
        self.compute_advantages()

    def run_iteration(self) -> None:
        """One full PPO iteration: :meth:`next_rollout` then :meth:`update`."""
        t0 = time.perf_counter()
        self.next_rollout()
        self.update()
        self.seconds += time.perf_counter() - t0

    def run_iterations(self, n: int) -> None:
        """``n`` iterations (:meth:`run_iteration` ``n`` times; the compiled group runs them in one
        call)."""
        for _ in range(n):
            self.run_iteration()

    def parameters_of(self, row: int) -> dict[str, torch.Tensor]:
        """Run ``row``'s parameters as copies, named and shaped as
        :class:`toolbox.ppo.reference.Agent`'s."""
        return A.module_parameters(self.theta, self.R, row)

    @property
    def finished(self) -> bool:
        """Whether every iteration of the budget has run."""
        return self.iteration >= self.num_iterations

    def results(self) -> list[TrainResult]:
        """One :class:`TrainResult` per run (row order), with the iterations run so far."""
        its = self.iteration
        iteration_steps = (np.arange(1, its + 1) * self.B).astype(np.int64)
        dbg = {k: (torch.stack(v, 1).cpu().numpy() if v else np.zeros((self.R,
                                                                       0))) for k, v
               in self.debug.items()}
        out = []
        for r in range(self.R):
            es = self.episode_steps[r]
            out.append(
                TrainResult(
                    config=self.configs[r],
                    seed=self.seeds[r],
                    episode_steps=np.concatenate(es).astype(np.int64) if es else np.zeros(0,
                                                                                          np.int64),
                    episode_returns=np.concatenate(self.episode_returns[r]).astype(
                        np.float32) if es else np.zeros(0, np.float32),
                    iteration_steps=iteration_steps,
                    debug={k: v[r] for k, v in dbg.items()},
                    seconds=self.seconds,
                    backend=self.BACKEND,
                )
            )
        return out
