"""PPO on CartPole-v1 for many (config, seed) pairs in one batched computation.

The mathematics is CleanRL ``ppo.py``'s, line for line, when every core toggle is on:

* rollout of ``num_steps`` steps in ``num_envs`` environments per run, actions sampled from the
  categorical policy, same-step autoreset and ``done = terminated or truncated``;
* GAE(λ): ``δ_t = r_t + γ V(s_{t+1}) (1 − d_{t+1}) − V(s_t)``,
  ``Â_t = δ_t + γ λ (1 − d_{t+1}) Â_{t+1}``, returns ``R_t = Â_t + V(s_t)``;
* ``update_epochs`` epochs over a shuffled batch split into ``num_minibatches``; loss
  ``L = L^{clip} − c₂ H + c₁ L^{V}`` with
  ``L^{clip} = mean max(−Â r, −Â clip(r, 1 − ε, 1 + ε))``, ``r = exp(log π − log π_old)``,
  ``L^{V} = ½ mean max((V − R)², (V_old + clip(V − V_old, −ε, ε) − R)²)``;
* global gradient-norm clipping to ``max_grad_norm`` and Adam (ε = 1e-5) with a linearly annealed
  learning rate; optional early stop of the epochs once ``approx_kl > target_kl``.

Runs whose configs share the structure (``num_envs``, ``num_steps``, ``num_minibatches``,
``update_epochs``, ``total_timesteps``, ``shared_network``, ``gamma``) form a *group* trained as
one stacked computation (see :mod:`toolbox.ppo.agent`); every other difference (toggles,
coefficients) is a per-run column. Groups advance in lock-step so progress streams evenly.

Each run's randomness (initial parameters, reset noise, action samples, minibatch shuffles)
comes only from its own seed (:mod:`toolbox.ppo.rng`), so a (config, seed) pair starts from the
same parameters and sees the same first rollout alone or inside any grid.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from toolbox.device import resolve_device
from toolbox.reward_scaling import RewardScaler
from toolbox.running_stats import ObsNormalizer, normalize_advantages
from toolbox.ppo import agent as A
from toolbox.ppo import rng
from toolbox.ppo.cartpole import BatchedCartPole
from toolbox.ppo.config import MAX_RUNS, PPOConfig

_ENV_STREAM, _ACTION_STREAM, _PERM_STREAM = 1, 2, 3
ADAM_BETAS = (0.9, 0.999)
DEBUG_KEYS = (
    "learning_rate", "value_loss", "policy_loss", "entropy", "old_approx_kl", "approx_kl",
    "clipfrac", "explained_variance", "grad_norm", "epochs_run",
)


@dataclass
class TrainResult:
    """What one (config, seed) pair produced.

    ``episode_steps[i]``: global environment step (all of the run's environments together) at which
    episode ``i`` ended; ``episode_returns[i]``: its undiscounted return. ``iteration_steps`` and
    every ``debug[key]`` have one entry per PPO iteration (CleanRL's logged values: last minibatch's
    losses and approx KL, mean clip fraction, explained variance of the batch, pre-clip gradient norm).
    """

    config: PPOConfig
    seed: int
    episode_steps: np.ndarray
    episode_returns: np.ndarray
    iteration_steps: np.ndarray
    debug: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0


def _structure_key(c: PPOConfig) -> tuple:
    return (c.num_envs, c.num_steps, c.num_minibatches, c.update_epochs, c.total_timesteps, c.shared_network, c.gamma)


def _col(values, device, dtype=torch.float32) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype, device=device)


class _Group:
    """R runs of one structure: parameters, optimizer state, environments, rollout buffers."""

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
        self.lam = _col([c.gae_lambda if c.gae else 1.0 for c in configs], dev).view(R, 1, 1)
        self.clip_coef = col("clip_coef")
        self.ent_coef = col("ent_coef")
        self.vf_coef = col("vf_coef")
        self.max_grad_norm = _col([c.max_grad_norm if c.clip_grad else float("inf") for c in configs], dev)
        self.target_kl = _col([c.target_kl if c.target_kl is not None else float("inf") for c in configs], dev)
        self.has_target_kl = any(c.target_kl is not None for c in configs)
        self.norm_adv = _col([c.norm_adv for c in configs], dev, torch.bool).unsqueeze(1)
        self.any_norm_adv = any(c.norm_adv for c in configs)
        self.clip_surrogate = _col([c.clip_surrogate for c in configs], dev, torch.bool).unsqueeze(1)
        self.clip_vloss = _col([c.clip_vloss for c in configs], dev, torch.bool).unsqueeze(1)
        self.bootstrap = _col([c.bootstrap_truncation for c in configs], dev, torch.bool).unsqueeze(1)
        self.any_bootstrap = any(c.bootstrap_truncation for c in configs)
        norm_obs = [c.norm_obs for c in configs]
        norm_rew = [c.norm_reward for c in configs]
        self.obs_norm = ObsNormalizer((4,), batch_shape=(R,), device=dev, validate=False) if any(norm_obs) else None
        self.obs_norm_mask = _col(norm_obs, dev, torch.bool).view(R, 1, 1)
        self.all_norm_obs = all(norm_obs)
        self.rew_scale = (
            RewardScaler(E, gamma=self.gamma, batch_shape=(R,), device=dev, validate=False) if any(norm_rew) else None
        )
        self.rew_scale_mask = _col(norm_rew, dev, torch.bool).unsqueeze(1)

        # parameters: orthogonal and default init may differ per run, so build both kinds per row
        K = self.K
        shared = c0.shared_network
        th_orth = A.init_params(self.seeds, shared, True, dev)
        th_def = A.init_params(self.seeds, shared, False, dev)
        orth = _col([c.orthogonal_init for c in configs], dev, torch.bool).repeat(K).unsqueeze(1)
        self.theta = torch.where(orth, th_orth, th_def).contiguous()
        self.mask = A.head_mask(K, R, dev)
        self.exp_avg = torch.zeros_like(self.theta)
        self.exp_avg_sq = torch.zeros_like(self.theta)
        self.grad = torch.zeros_like(self.theta)
        self.steps = [torch.zeros((), device=dev) for _ in range(R)]
        self.theta_rows, self.grad_rows = list(self.theta.unbind(0)), list(self.grad.unbind(0))
        # theta and grad are only ever updated in place, so their block views are made once
        self.theta_v, self.grad_v = A.views(self.theta), A.views(self.grad)
        self.m_rows, self.v_rows = list(self.exp_avg.unbind(0)), list(self.exp_avg_sq.unbind(0))
        self.lr0_host = [c.learning_rate for c in configs]
        self.anneal_host = [c.anneal_lr for c in configs]
        self.eps_host = [c.adam_eps for c in configs]

        # random streams
        env_idx = torch.arange(E, device=dev)
        self.env_keys = torch.cat([rng.stream_key(s, _ENV_STREAM, env_idx) for s in self.seeds])
        self.action_keys = torch.stack([rng.stream_key(s, _ACTION_STREAM, env_idx) for s in self.seeds])
        self.perm_keys = torch.tensor([rng.stream_key(s, _PERM_STREAM) for s in self.seeds], device=dev)

        self.env = BatchedCartPole(R * E, device=dev, env_keys=self.env_keys)
        raw = self.env.reset().view(R, E, 4)
        self.next_raw_obs = raw
        self.next_obs = self._normalize_obs(raw, update=True)
        self.next_done = torch.zeros(R, E, device=dev)
        self.ep_len = np.zeros((R, E), np.int64)  # steps of each environment's current episode so far

        f32 = dict(device=dev, dtype=torch.float32)
        self.obs_buf = torch.zeros(T, R, E, 4, **f32)
        self.raw_obs_buf = torch.zeros(T, R, E, 4, **f32) if self.obs_norm is not None else self.obs_buf
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
        out = A.forward(self.theta, obs, self.K, self.theta_v).out
        return out[..., : A.NUM_ACTIONS], out[..., A.NUM_ACTIONS]

    # -- rollout ------------------------------------------------------------------------------
    @torch.no_grad()
    def rollout(self) -> None:
        R, E, T = self.R, self.E, self.T
        u_all = rng.uniform(self.action_keys, self.iteration, T)  # (R, E, T): this rollout's action noise
        # Per-step rows as views made once: `buf[step] = x` costs an indexing op plus Python's
        # __setitem__ machinery, ~10 times a step; `rows[step].copy_(x)` is one cheap op.
        u_steps = u_all.unbind(-1)
        obs_rows, raw_rows = self._rows["obs_buf"], self._rows["raw_obs_buf"]
        value_rows, action_rows, logp_rows = self._rows["values"], self._rows["actions"], self._rows["logprobs"]
        end_rows, reward_rows = self._end_flat_rows, self._rows["rewards"]
        first_done = self.next_done
        for step in range(T):
            obs_rows[step].copy_(self.next_obs)
            if self.obs_norm is not None:
                raw_rows[step].copy_(self.next_raw_obs)
            logits, value = self.policy_value(self.next_obs)
            value_rows[step].copy_(value)
            lp0, lp1 = torch.log_softmax(logits, dim=-1).unbind(-1)
            action = u_steps[step] < lp1.exp()  # Categorical(logits) with two actions: P(a = 1) = softmax_1
            action_rows[step].copy_(action)
            logp_rows[step].copy_(torch.where(action, lp1, lp0))
            raw_obs, term, trunc, final_obs = self.env.step_fast(action.view(-1), final=self.any_bootstrap)
            torch.logical_or(term, trunc, out=end_rows[step])  # done: the episode ended on this step
            if not self.constant_reward:
                term, trunc = term.view(R, E), trunc.view(R, E)
                r = reward = self._ones  # CartPole pays 1 on every step
                if self.rew_scale is not None:
                    scaled = self.rew_scale.scale(reward, term, trunc).to(torch.float32)
                    r = torch.where(self.rew_scale_mask, scaled, reward)
                if self.any_bootstrap:
                    # a time-limit truncation is not a terminal state: r + γ V(s_final) stands in for the lost future
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
        """GAE(λ) backwards in time, vectorized over runs and environments (λ = 1: Monte-Carlo)."""
        _, next_value = self.policy_value(self.next_obs)
        next_values = torch.cat([self.values[1:], next_value.unsqueeze(0)])
        next_nonterminal = 1.0 - torch.cat([self.dones[1:], self.next_done.unsqueeze(0)])
        delta = self.rewards + self.gamma * next_values * next_nonterminal - self.values
        decay = (self.gamma * next_nonterminal) * self.lam.view(1, self.R, 1)
        last = torch.zeros(self.R, self.E, device=self.device)
        for t in range(self.T - 1, -1, -1):
            last = torch.addcmul(delta[t], decay[t], last, out=self.advantages[t])
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

    # -- update -------------------------------------------------------------------------------
    def _adam(self, classes: list[tuple[float, float, list[int], list[int]]]) -> None:
        """Adam (PyTorch's fused kernel, the same formula as ``torch.optim.Adam``) on the rows of ``theta``.

        ``classes``: ``(lr, eps, runs, rows)`` — the kernel takes one learning rate and ε per call,
        so runs are grouped by them (annealed or not, Adam ε toggled); ``rows`` are the runs' tower rows.
        """
        b1, b2 = ADAM_BETAS
        for lr, eps, runs, rows in classes:
            torch._foreach_add_([self.steps[r] for r in runs], 1.0)
            torch._fused_adam_(
                [self.theta_rows[i] for i in rows],
                [self.grad_rows[i] for i in rows],
                [self.m_rows[i] for i in rows],
                [self.v_rows[i] for i in rows],
                [],
                [self.steps[i % self.R] for i in rows],
                lr=lr, beta1=b1, beta2=b2, weight_decay=0.0, eps=eps, amsgrad=False, maximize=False,
            )

    def minibatch_step(self, mb: torch.Tensor, classes, all_stats: bool = True) -> dict:
        """One gradient step on minibatch ``mb (R, M, 9)`` = [obs(4), action, logprob, adv, return, value].

        ``all_stats=False``: only ``clipfrac`` and ``grad_norm`` (the logged losses and KLs are the
        epoch's last minibatch's, so the others are computed there only)."""
        stats = self.loss_and_grad(mb, all_stats)
        stats["grad_norm"] = self.clip_grad()
        self._adam(classes)
        return stats

    def loss_and_grad(self, mb: torch.Tensor, all_stats: bool = True) -> dict:
        """CleanRL's loss on minibatch ``mb (R, M, 9)``; writes its gradient into ``self.grad (K·R, P)``.

        Returns per-run ``(R,)`` statistics: policy_loss, value_loss, entropy, old_approx_kl,
        approx_kl, clipfrac (only clipfrac when ``all_stats`` is False: the gradient needs none).
        """
        R, M, K = self.R, mb.shape[1], self.K
        obs = mb[..., :4].contiguous()
        a, old_logp, adv, ret, old_v = mb[..., 4], mb[..., 5], mb[..., 6], mb[..., 7], mb[..., 8]
        fw = A.forward(self.theta, obs, K, self.theta_v)
        logits, v = fw.out[..., : A.NUM_ACTIONS], fw.out[..., A.NUM_ACTIONS]
        logp = torch.log_softmax(logits, dim=-1)
        p = logp.exp()
        lp0, lp1 = logp[..., 0], logp[..., 1]
        new_logp = torch.lerp(lp0, lp1, a)
        entropy = -(p * logp).sum(-1)
        logratio = new_logp - old_logp
        ratio = logratio.exp()
        c = self.clip_coef
        clipfrac = ((ratio - 1.0).abs() > c).to(torch.float32).mean(1)
        if self.any_norm_adv:
            adv = torch.where(self.norm_adv, normalize_advantages(adv, 1e-8, dim=-1), adv)
        pg1 = -adv * ratio
        pg2 = -adv * torch.clamp(ratio, 1.0 - c, 1.0 + c)
        # d max(pg1, pg2)/d ratio: −Â where the unclipped term is the max (ties inside the range included)
        g_ratio = torch.where(self.clip_surrogate, -adv * (pg1 >= pg2), -adv)
        diff = v - ret
        u = diff * diff
        dv_raw = v - old_v
        v_clipped = old_v + torch.clamp(dv_raw, -c, c)
        diff_c = v_clipped - ret
        uc = diff_c * diff_c
        # autograd of max splits ties in half; the clipped branch passes gradient only inside the clip range
        tie = 0.5 * (u == uc)
        w_u = torch.where(self.clip_vloss, (u > uc) + tie, 1.0)
        inside = (dv_raw >= -c) & (dv_raw <= c)
        w_c = torch.where(self.clip_vloss, ((uc > u) + tie) * inside, 0.0)

        inv_m = 1.0 / M
        d_logp = (g_ratio * ratio) * inv_m  # d L / d log π(a|s)
        onehot = torch.stack((1.0 - a, a), dim=-1)
        # d log π_a / d logits = onehot − p ; d H / d logits = −p (log p + H)
        d_logits = d_logp.unsqueeze(-1) * (onehot - p) + (self.ent_coef * inv_m).unsqueeze(-1) * (
            p * (logp + entropy.unsqueeze(-1))
        )
        d_v = (self.vf_coef * inv_m) * (w_u * diff + w_c * diff_c)
        dout = torch.cat((d_logits, d_v.unsqueeze(-1)), dim=-1)
        A.backward(self.theta, fw, dout, self.mask, self.grad, self.theta_v, self.grad_v)
        if not all_stats:
            return dict(clipfrac=clipfrac)
        pg = torch.where(self.clip_surrogate, torch.maximum(pg1, pg2), pg1)
        vl = torch.where(self.clip_vloss, torch.maximum(u, uc), u)
        return dict(
            policy_loss=pg.mean(1), value_loss=0.5 * vl.mean(1), entropy=entropy.mean(1),
            old_approx_kl=(-logratio).mean(1), approx_kl=((ratio - 1.0) - logratio).mean(1), clipfrac=clipfrac,
        )

    def clip_grad(self) -> torch.Tensor:
        """Global gradient-norm clipping per run, as ``torch.nn.utils.clip_grad_norm_``; returns the norms ``(R,)``.

        ``g ← g · min(1, max_grad_norm / (‖g‖ + 1e-6))`` with ``‖g‖`` over all of the run's parameters.
        """
        K, R = self.K, self.R
        norms = torch.linalg.vector_norm(self.grad, dim=1).view(K, R)
        total = torch.linalg.vector_norm(norms, dim=0)
        coef = torch.clamp(self.max_grad_norm / (total + 1e-6), max=1.0)
        self.grad.view(K, R, -1).mul_(coef.view(1, R, 1))  # rows are tower-major: broadcast, no repeat
        return total

    def update(self) -> None:
        R, B, M, K = self.R, self.B, self.M, self.K
        k = self.iteration  # 1-based
        frac = 1.0 - (k - 1.0) / self.num_iterations
        lr_host = [lr0 * frac if an else lr0 for lr0, an in zip(self.lr0_host, self.anneal_host)]
        lr = torch.tensor(lr_host, device=self.device)
        perm_src = lambda x: x.permute(1, 0, 2).reshape(R, B)  # noqa: E731 - (T, R, E) -> (R, T·E), CleanRL's order
        data = torch.cat(
            (
                self.obs_buf.permute(1, 0, 2, 3).reshape(R, B, 4),
                torch.stack([perm_src(x) for x in (self.actions, self.logprobs, self.advantages, self.returns, self.values)], -1),
            ),
            dim=-1,
        )
        active = [True] * R
        active_t = torch.ones(R, device=self.device)
        last: dict[str, torch.Tensor] = {}
        clip_sum = torch.zeros(R, device=self.device)
        n_mb = torch.zeros(R, device=self.device)
        epochs_run = torch.zeros(R, device=self.device)
        for epoch in range(self.update_epochs):
            if not any(active):
                break
            by: dict[tuple[float, float], tuple[list[int], list[int]]] = {}
            for r in range(R):
                if active[r]:
                    runs, rows = by.setdefault((lr_host[r], self.eps_host[r]), ([], []))
                    runs.append(r)
                    rows.extend(r + j * R for j in range(K))
            classes = [(lr_, eps_, runs, rows) for (lr_, eps_), (runs, rows) in by.items()]
            keys = rng.uniform(self.perm_keys, (k - 1) * self.update_epochs + epoch, B)
            perm = torch.argsort(keys, dim=1)
            all_active = all(active)
            for start in range(0, B, M):
                idx = perm[:, start : start + M]
                mb = torch.gather(data, 1, idx.unsqueeze(-1).expand(R, M, data.shape[-1]))
                stats = self.minibatch_step(mb, classes, all_stats=start + M >= B)
                for key, val in stats.items():
                    last[key] = val if (key not in last or all_active) else torch.where(active_t > 0, val, last[key])
                clip_sum += stats["clipfrac"] * active_t
                n_mb += active_t
            epochs_run += active_t
            if self.has_target_kl:
                # CleanRL checks the last minibatch's approx KL after each epoch
                stop = (last["approx_kl"] > self.target_kl).tolist()
                active = [a and not s_ for a, s_ in zip(active, stop)]
                active_t = torch.tensor(active, dtype=torch.float32, device=self.device)
        y_pred, y_true = self.values.permute(1, 0, 2).reshape(R, B), self.returns.permute(1, 0, 2).reshape(R, B)
        var_y = y_true.var(dim=1, correction=0)
        ev = 1.0 - (y_true - y_pred).var(dim=1, correction=0) / var_y
        ev = torch.where(var_y == 0, torch.nan, ev)
        dbg = dict(last)
        dbg["clipfrac"] = clip_sum / n_mb.clamp(min=1)
        dbg["explained_variance"] = ev
        dbg["learning_rate"] = lr
        dbg["epochs_run"] = epochs_run
        for key in DEBUG_KEYS:
            self.debug[key].append(dbg[key].detach())

    def run_iteration(self) -> None:
        t0 = time.perf_counter()
        self.iteration += 1
        self.rollout()
        self._record_episodes()
        self.compute_advantages()
        self.update()
        self.seconds += time.perf_counter() - t0

    @property
    def finished(self) -> bool:
        return self.iteration >= self.num_iterations

    def results(self) -> list[TrainResult]:
        its = self.iteration
        iteration_steps = (np.arange(1, its + 1) * self.B).astype(np.int64)
        dbg = {k: (torch.stack(v, 1).cpu().numpy() if v else np.zeros((self.R, 0))) for k, v in self.debug.items()}
        out = []
        for r in range(self.R):
            es = self.episode_steps[r]
            out.append(
                TrainResult(
                    config=self.configs[r],
                    seed=self.seeds[r],
                    episode_steps=np.concatenate(es).astype(np.int64) if es else np.zeros(0, np.int64),
                    episode_returns=np.concatenate(self.episode_returns[r]).astype(np.float32) if es else np.zeros(0, np.float32),
                    iteration_steps=iteration_steps,
                    debug={k: v[r] for k, v in dbg.items()},
                    seconds=self.seconds,
                )
            )
        return out


def check_inputs(configs, seeds) -> tuple[list[PPOConfig], list[int]]:
    if isinstance(configs, PPOConfig):
        configs = [configs]
    configs = list(configs)
    seeds = [seeds] if isinstance(seeds, (int, np.integer)) else list(seeds)
    if not configs:
        raise ValueError("choose at least one variant to train.")
    if not seeds:
        raise ValueError("choose at least one seed: with zero seeds there is nothing to train.")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"seeds must be whole numbers ≥ 0; got {s!r}.")
    if len(set(int(s) for s in seeds)) != len(seeds):
        raise ValueError("the seeds must be distinct (a repeated seed would train the same run twice).")
    for c in configs:
        if not isinstance(c, PPOConfig):
            raise ValueError(f"every config must be a PPOConfig; got {type(c).__name__}.")
        c.validate()
    n = len(configs) * len(seeds)
    if n > MAX_RUNS:
        raise ValueError(f"{len(configs)} variants × {len(seeds)} seeds = {n} runs is over this server's cap of {MAX_RUNS} runs.")
    return configs, [int(s) for s in seeds]


def make_groups(configs, seeds, device=None) -> tuple[list[_Group], list[tuple[int, int]]]:
    """Group the (config, seed) pairs by structure; returns the groups and, per pair, (group, row)."""
    configs, seeds = check_inputs(configs, seeds)
    dev = resolve_device(device)
    pairs = [(c, s) for c in configs for s in seeds]
    by_key: dict[tuple, list[int]] = {}
    for i, (c, _) in enumerate(pairs):
        by_key.setdefault(_structure_key(c), []).append(i)
    groups, where = [], [None] * len(pairs)
    for gi, members in enumerate(by_key.values()):
        groups.append(_Group([pairs[i][0] for i in members], [pairs[i][1] for i in members], dev))
        for row, i in enumerate(members):
            where[i] = (gi, row)
    return groups, where  # type: ignore[return-value]


def train(
    configs: PPOConfig | Sequence[PPOConfig],
    seeds: int | Sequence[int],
    device=None,
    callback: Callable[[float, list[TrainResult]], Any] | None = None,
    callback_every: float = 2.0,
    num_threads: int | None = None,
) -> list[TrainResult]:
    """Train every (config, seed) pair, batched; returns one :class:`TrainResult` per pair.

    Order of the results: configs outer, seeds inner (``[(c0, s0), (c0, s1), …, (c1, s0), …]``).
    ``callback(fraction, partial_results)`` is called at most every ``callback_every`` seconds
    and at the end with the results so far (same order). Raises ``ValueError`` for settings that
    cannot be trained (see ``PPOConfig.validate``), zero seeds or too many runs.

    ``num_threads``: torch intra-op threads for this call (``None``: leave torch's default). The hot
    loop is thousands of tiny tensor ops per iteration; on a loaded 2-core CPU, OpenMP's 2 threads
    waiting for each other made one 500k-step run 9x slower than 1 thread (293 s vs 32 s, see
    benchmarks/ppo_throughput.py). With torch's OpenMP build the setting is per OS thread, so a
    job thread (toolbox.jobs) can use 1 without touching the rest of the server; it is restored after.
    """
    groups, where = make_groups(configs, seeds, device)
    previous = torch.get_num_threads()
    if num_threads is not None:
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
            raise ValueError(f"num_threads must be a positive whole number or None; got {num_threads!r}.")
        torch.set_num_threads(num_threads)
    try:
        return _train_groups(groups, where, callback, callback_every)
    finally:
        if num_threads is not None:
            torch.set_num_threads(previous)


def _train_groups(groups, where, callback, callback_every) -> list[TrainResult]:
    total = sum(g.num_iterations * g.R * g.B for g in groups)

    def partial() -> list[TrainResult]:
        res = [g.results() for g in groups]
        return [res[gi][row] for gi, row in where]

    last_cb = time.perf_counter()
    while not all(g.finished for g in groups):
        for g in groups:
            if not g.finished:
                g.run_iteration()
        if callback is not None and time.perf_counter() - last_cb >= callback_every:
            done = sum(g.iteration * g.R * g.B for g in groups)
            callback(done / total, partial())
            last_cb = time.perf_counter()
    out = partial()
    if callback is not None:
        callback(1.0, out)
    return out


def rollout_batch(config: PPOConfig, seed: int, train_iterations: int = 0, device=None) -> dict[str, torch.Tensor]:
    """One real PPO batch from an agent trained for ``train_iterations`` updates (0 = fresh init).

    Returns tensors: ``obs (T, E, 4)`` (raw observations the agent saw, before any observation
    normalization), ``rewards (T, E)`` (raw environment rewards), ``dones (T, E)`` (CleanRL's
    ``dones[t]``: the episode ended just before step t), ``values``, ``advantages`` (GAE) and
    ``returns`` ``(T, E)``.
    """
    if isinstance(train_iterations, bool) or not isinstance(train_iterations, int) or train_iterations < 0:
        raise ValueError(f"train_iterations must be a whole number ≥ 0; got {train_iterations!r}.")
    config = config.replace(total_timesteps=max(config.total_timesteps, (train_iterations + 1) * config.batch_size))
    (g,), _ = make_groups([config], [seed], device)
    for _ in range(train_iterations):
        g.run_iteration()
    g.iteration += 1
    g.rollout()
    g.compute_advantages()
    return {
        "obs": g.raw_obs_buf[:, 0].clone(),
        "rewards": g.raw_rewards[:, 0].clone(),
        "dones": g.dones[:, 0].clone(),
        "values": g.values[:, 0].clone(),
        "advantages": g.advantages[:, 0].clone(),
        "returns": g.returns[:, 0].clone(),
    }
