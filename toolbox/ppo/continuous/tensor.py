r"""The reference's PPO for R runs at once: several variants × seeds in one stacked computation.

Runs are ``variants × seeds`` (variant-major: run ``r = v·S + s``). Variants must share the
structure (:data:`STRUCTURE`: budget, batch shape, γ); every other field of
:class:`~toolbox.ppo.continuous.args.Args` is a per-run column ``(R, 1)``, and a toggle acts
through ``torch.where`` (both branches computed, the chosen one kept, its gradient the ``if``'s),
shared trunk and separate networks included. So any "detail off vs all on" comparison is one
computation.

* the agent is :mod:`~toolbox.ppo.continuous.stacked` (``theta (K·R, P)``, layers by ``baddbmm``),
  each run initialized exactly as its reference run;
* the loss is the reference's :func:`~toolbox.ppo.continuous.reference.ppo_loss` on ``(R, M)``
  minibatches; the gradient of :math:`\sum_r L_r` by autograd is every run's own gradient;
* gradient clipping per run, as ``clip_grad_norm_``; Adam is the public ``torch.optim.Adam`` over
  the rows of ``theta`` (one parameter group per learning-rate class), as CartPole's runner;
* observations and rewards go through the reference's pipeline with statistics per (run,
  environment); GAE is the reference's :func:`toolbox.ppo.loss.gae` with λ per run.

``tests/test_ppo_continuous.py`` checks two iterations against the reference for every toggle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from types import SimpleNamespace

import numpy as np
import torch

from toolbox import rng
from toolbox.envs.pendulum import BatchedPendulum
from toolbox.ppo.continuous import stacked
from toolbox.ppo.continuous.args import Args
from toolbox.ppo.continuous.policy import (
    gaussian_entropy,
    gaussian_log_prob,
    gaussian_sample,
    standard_normal,
)
from toolbox.ppo.continuous.reference import (
    ACT_DIM,
    ACTION_HIGH,
    ACTION_LOW,
    OBS_DIM,
    ppo_loss,
)
from toolbox.ppo.loss import gae

STRUCTURE = ("total_timesteps", "num_envs", "num_steps", "num_minibatches", "update_epochs",
             "gamma", "target_kl")
"""Fields every variant of one :class:`TensorPPO` shares; the others may differ per run."""
ADAM_BETAS = (0.9, 0.999)
EPS = 1e-8  # under the square roots of observation and reward normalization (Gymnasium's)
# rollout buffer columns: [obs (3), action, log π, V, advantage, return]
C_OBS, C_ACT, C_LOGP, C_VAL, C_ADV, C_RET = slice(0, 3), 3, 4, 5, 6, 7
WIDTH = 8


def _columns(run_args: list[Args], dtype, device) -> SimpleNamespace:
    """Every non-structural field as an ``(R, 1)`` column (bool or ``dtype``)."""
    out = {}
    for f in fields(Args):
        if f.name in STRUCTURE:
            continue
        values = [getattr(a, f.name) for a in run_args]
        kind = torch.bool if isinstance(values[0], bool) else dtype
        out[f.name] = torch.tensor(values, dtype=kind, device=device).view(-1, 1)
    return SimpleNamespace(**out)


class SingleSampleMoments:
    r"""Running mean and population variance per (run, environment), each fed one sample per
    step, so one count serves all: Chan's merge (:func:`toolbox.running_stats.merge_moments`,
    Gymnasium's order) with :math:`n_B = 1,\ \sigma^2_B = 0`:

    .. math:: \delta = x - \mu,\ n' = n + 1,\ \mu' = \mu + \delta/n',\
              \sigma'^2 = (n\sigma^2 + \delta^2 n/n')/n'

    starting from μ = 0, σ² = 1, n = 1e-4 (the same numbers as
    :class:`~toolbox.running_stats.RunningMeanStd` with ``batch_shape`` = ``shape``, in fewer
    operations)."""

    def __init__(self, shape: tuple[int, ...], device):
        self.mean = torch.zeros(shape, dtype=torch.float64, device=device)
        self.var = torch.ones(shape, dtype=torch.float64, device=device)
        self.count = 1e-4

    def update(self, x: torch.Tensor) -> None:
        delta = x - self.mean
        total = self.count + 1.0
        self.mean = self.mean + delta / total
        self.var = (self.var * self.count + torch.square(delta) * self.count / total) / total
        self.count = total


def check_variants(args: Args | Sequence[Args]) -> list[Args]:
    """``args`` as a list of validated variants sharing :data:`STRUCTURE` (ValueError if not)."""
    variants = [args] if isinstance(args, Args) else list(args)
    if not variants or not all(isinstance(a, Args) for a in variants):
        raise ValueError("give one Args or a list of Args variants.")
    base = variants[0].validate()
    for a in variants[1:]:
        a.validate()
        for name in STRUCTURE:
            if getattr(a, name) != getattr(base, name):
                raise ValueError(f"variants trained together must share {name}; got "
                                 f"{getattr(base, name)!r} and {getattr(a, name)!r}.")
    return variants


class TensorPPO:
    """R = len(variants) · len(seeds) runs trained together.

    ``args``: one :class:`Args` or a sequence of variants sharing :data:`STRUCTURE`.
    Attributes after each :meth:`run_iteration`: ``params`` (reference name -> ``(R, ...)``), the
    rollout ``obs (R, T, E, 3)``, ``actions (R, T, E, 1)``, ``logprobs``/``values``/``advantages``/
    ``returns``/``rewards``/``dones`` ``(R, T, E)``, and ``episode_returns[r]`` per run.
    """

    def __init__(self, args: Args | Sequence[Args], seeds, dtype: torch.dtype = torch.float32,
                 device="cpu"):
        variants = check_variants(args)
        self.seeds = [int(s) for s in seeds]
        if not self.seeds:
            raise ValueError("give at least one seed.")
        base = variants[0]
        if base.target_kl is not None:
            raise ValueError("target_kl stops each run's epochs at a different time; the batched "
                             "runner does not support it yet: use the reference (target_kl=None).")
        self.args, self.variants = base, variants
        self.run_args = [a for a in variants for _ in self.seeds]
        self.run_seeds = [s for _ in variants for s in self.seeds]
        R, E, T = len(self.run_args), base.num_envs, base.num_steps
        shared = [a.shared_network for a in self.run_args]
        self.R, self.K = R, 1 if all(shared) else 2  # [detail:shared_network] towers per run
        self.dtype, self.device = dtype, torch.device(device)
        self.cols = _columns(self.run_args, dtype, self.device)
        self.fcols = SimpleNamespace(**{k: getattr(self.cols, k).view(R, 1, 1) for k in
                                        ("gaussian_policy", "state_independent_std", "clip_action",
                                         "norm_obs", "clip_obs")})
        mixed = any(shared) and not all(shared)  # a shared trunk beside separate networks
        self.fcols.shared_network = self.cols.shared_network if mixed else None
        # the loss's columns: per transition (R, 1), per run (R,) for the coefficients of L_r
        self.lcols = SimpleNamespace(**{**vars(self.cols), "ent_coef": self.cols.ent_coef[:, 0],
                                        "vf_coef": self.cols.vf_coef[:, 0]})
        self.obs_clip = self.cols.obs_clip.to(torch.float32).view(R, 1, 1)
        self.any = {k: bool(getattr(self.cols, k).any()) for k in ("norm_obs", "clip_obs",
                                                                   "norm_reward", "clip_reward")}
        self.any["unclipped"] = not bool(self.cols.clip_action.all())

        index = torch.arange(E)
        env_keys = torch.stack([rng.stream_key(s, rng.ENV_STREAM, index) for s in self.run_seeds])
        self.envs = BatchedPendulum(R * E, device=device, env_keys=env_keys.reshape(-1))
        self.action_keys = torch.stack([rng.stream_key(s, rng.ACTION_STREAM, index)
                                        for s in self.run_seeds])
        self.perm_keys = torch.tensor([rng.stream_key(s, rng.PERM_STREAM) for s in self.run_seeds])
        self.theta = stacked.init_theta(self.run_args, self.run_seeds, self.K, dtype, self.device)
        self._setup_optimizer()
        self.blocks, self.grad_blocks = stacked.views(self.theta), stacked.views(self.grad)
        self.obs_rms = SingleSampleMoments((R, E, OBS_DIM), self.device)
        self.return_rms = SingleSampleMoments((R, E), self.device)
        self.discounted_return = torch.zeros((R, E), dtype=torch.float64, device=self.device)
        self.data = torch.zeros((R, T, E, WIDTH), dtype=dtype, device=self.device)
        self.rewards, self.dones = (torch.zeros((R, T, E), dtype=dtype, device=self.device)
                                    for _ in range(2))
        self.raw_rewards = torch.zeros((R, T, E), dtype=torch.float64, device=self.device)
        self.ended = torch.zeros((R, T, E), dtype=torch.bool, device=self.device)
        self.next_obs = self.observe_obs(self.envs.reset().view(R, E, OBS_DIM)).to(dtype)
        self.next_done = torch.zeros(R, E, dtype=dtype, device=self.device)
        self.iteration = self.global_step = 0
        self._carry = np.zeros((R, E))
        self.episode_returns: list[list[float]] = [[] for _ in range(R)]
        self.episode_steps: list[list[int]] = [[] for _ in range(R)]

    # --- parameters and optimizer -------------------------------------------------------------
    def _setup_optimizer(self) -> None:
        """Adam over slices of ``theta``'s rows (leaves sharing its memory, their ``.grad`` slices
        of ``grad``): one slice per tower and stretch of consecutive runs of one (learning rate,
        annealing, ε) class, one parameter group per class (few tensors: Adam's Python is short)."""
        R, K = self.R, self.K
        self.grad = torch.zeros_like(self.theta)
        keys = [(a.learning_rate, a.anneal_lr, a.adam_eps) for a in self.run_args]
        self.lr_classes = list(dict.fromkeys(keys))
        params: dict[tuple, list[torch.Tensor]] = {c: [] for c in self.lr_classes}
        start = 0
        for r in range(1, R + 1):
            if r == R or keys[r] != keys[start]:
                for k in range(K):
                    rows = slice(k * R + start, k * R + r)
                    leaf = self.theta[rows]
                    leaf.grad = self.grad[rows]
                    params[keys[start]].append(leaf)
                start = r
        groups = [{"params": params[c], "lr": c[0], "eps": c[2]} for c in self.lr_classes]
        fused = True if self.device.type in ("cpu", "cuda") else None
        self.optimizer = torch.optim.Adam(groups, betas=ADAM_BETAS, fused=fused)

    @property
    def params(self) -> dict[str, torch.Tensor]:
        """The reference's parameters by name, ``(R, ...)`` (copies)."""
        return stacked.reference_params(self.theta, self.K,
                                        [a.shared_network for a in self.run_args])

    def agent(self, x: torch.Tensor, blocks: dict | None = None):
        """``x (R, N, 3)`` -> every run's ``mean, log_std (R, N, 1)`` and ``value (R, N)``."""
        return stacked.forward(self.blocks if blocks is None else blocks, x, self.K, self.fcols)

    # --- what the agent sees and is paid ------------------------------------------------------
    def observe_obs(self, raw: torch.Tensor) -> torch.Tensor:
        r"""The reference's ``Observe.obs`` per run: ``raw (R, E, 3)`` float32 ->
        :math:`\operatorname{clip}((o - \mu)/\sqrt{\sigma^2 + 10^{-8}}, \pm c)`, statistics
        updated first (each toggle applied where its column is on)."""
        x, c = raw, self.fcols
        if self.any["norm_obs"]:  # [detail:norm_obs]
            o = raw.to(torch.float64)
            self.obs_rms.update(o)
            normalized = (o - self.obs_rms.mean) / torch.sqrt(self.obs_rms.var + EPS)
            normalized = normalized.to(raw.dtype)
            x = torch.where(c.norm_obs, normalized, x)
        if self.any["clip_obs"]:  # [detail:clip_obs]
            x = torch.where(c.clip_obs, torch.clamp(x, -self.obs_clip, self.obs_clip), x)
        return x

    def observe_reward(self, reward, terminated) -> torch.Tensor:
        r"""The reference's ``Observe.reward`` per run: ``(R, E)`` float64 ->
        :math:`\operatorname{clip}(r_t/\sqrt{\operatorname{Var}[G] + 10^{-8}}, \pm c)` with
        :math:`G_t = \gamma (1 - d_t) G_{t-1} + r_t` (cut by terminations only, as the
        reference)."""
        c = self.cols
        if self.any["norm_reward"]:  # [detail:norm_reward]
            term = terminated.to(torch.float64)
            G = self.discounted_return * self.args.gamma * (1 - term) + reward
            self.return_rms.update(G)
            self.discounted_return = G * (1 - term)  # restarts after a termination only
            scaled = reward / torch.sqrt(self.return_rms.var + EPS)
            reward = torch.where(c.norm_reward, scaled, reward)
        if self.any["clip_reward"]:  # [detail:clip_reward]
            bound = c.reward_clip.to(reward.dtype)
            reward = torch.where(c.clip_reward, torch.clamp(reward, -bound, bound), reward)
        return reward

    # --- one iteration ------------------------------------------------------------------------
    @torch.no_grad()
    def collect_rollout(self) -> None:
        R, E, T = self.R, self.args.num_envs, self.args.num_steps
        z = standard_normal(self.action_keys, self.iteration, T * ACT_DIM).to(self.dtype)
        z = z.view(R, E, T, ACT_DIM)
        data, c = self.data, self.cols
        for step in range(T):
            self.dones[:, step] = self.next_done
            mean, log_std, value = self.agent(self.next_obs)
            action = gaussian_sample(mean, log_std, z[:, :, step])
            logprob = gaussian_log_prob(action, mean, log_std)
            env_action = torch.clamp(action, ACTION_LOW, ACTION_HIGH)
            if self.any["unclipped"]:  # [detail:clip_action] off: store the clipped action
                clipped_logprob = gaussian_log_prob(env_action, mean, log_std)
                action = torch.where(self.fcols.clip_action, action, env_action)
                logprob = torch.where(c.clip_action, logprob, clipped_logprob)
            data[:, step, :, :C_ADV] = torch.cat(
                (self.next_obs, action, logprob.unsqueeze(-1), value.unsqueeze(-1)), -1)
            stepped = self.envs.step_fast(env_action.reshape(R * E, ACT_DIM).float())
            raw_obs, reward, term, trunc, _ = stepped
            reward, term, trunc = reward.view(R, E), term.view(R, E), trunc.view(R, E)
            done = term | trunc
            self.raw_rewards[:, step], self.ended[:, step] = reward, done
            self.next_done = done.to(self.dtype)
            self.rewards[:, step] = self.observe_reward(reward, term)
            self.next_obs = self.observe_obs(raw_obs.view(R, E, OBS_DIM)).to(self.dtype)
        self._record_episodes()
        self.global_step += T * E

    def _record_episodes(self) -> None:
        """Sum the environment's own rewards per episode; log each finished one at its step."""
        rew, ended = self.raw_rewards.cpu().numpy(), self.ended.cpu().numpy()
        E = rew.shape[2]
        cs = np.cumsum(rew, axis=1)
        base = np.zeros_like(self._carry)
        for t in np.flatnonzero(ended.any(axis=(0, 2))):
            for r, e in zip(*np.nonzero(ended[:, t])):
                self.episode_returns[r].append(float(self._carry[r, e] + cs[r, t, e] - base[r, e]))
                self.episode_steps[r].append(int(self.global_step + (t + 1) * E))
                self._carry[r, e], base[r, e] = 0.0, cs[r, t, e]
        self._carry += cs[:, -1] - base

    @torch.no_grad()
    def compute_advantages(self) -> None:
        next_value = self.agent(self.next_obs)[2]  # (R, E)
        # [detail:gae] off: λ = 1, returns bootstrapped at the rollout's end
        lam = torch.where(self.cols.gae, self.cols.gae_lambda, 1.0).view(self.R, 1)
        values = self.data[..., C_VAL]
        # the reference's loop, time-major: (T, R, E) with one λ per run
        adv = gae(self.rewards.transpose(0, 1), values.transpose(0, 1),
                  self.dones.transpose(0, 1), next_value, self.next_done, self.args.gamma,
                  lam).transpose(0, 1)
        self.data[..., C_ADV] = adv
        self.data[..., C_RET] = adv + values

    def minibatch_step(self, mb: torch.Tensor) -> dict[str, torch.Tensor]:
        """Loss, gradient, per-run clipping and Adam on ``mb (R, M, 8)``; returns debug values."""
        c, K = self.cols, self.K
        # each block a leaf of its own: autograd returns block gradients (no full-size zeros)
        blocks = {k: b.detach().requires_grad_(True) for k, b in self.blocks.items()}
        mean, log_std, newvalue = self.agent(mb[..., C_OBS], blocks)
        newlogprob = gaussian_log_prob(mb[..., C_ACT:C_ACT + 1], mean, log_std)
        loss, aux = ppo_loss(newlogprob, gaussian_entropy(log_std), newvalue, mb[..., C_LOGP],
                             mb[..., C_ADV], mb[..., C_RET], mb[..., C_VAL], self.lcols)
        grads = torch.autograd.grad(loss.sum(), list(blocks.values()), allow_unused=True)
        for target, g in zip(self.grad_blocks.values(), grads):
            target.copy_(g) if g is not None else target.zero_()
        total = stacked.grad_norms(self.grad, K)  # (R,)
        # [detail:clip_grad] g ← g · min(1, c/(‖g‖ + 1e-6)) per run
        coef = torch.clamp(c.max_grad_norm[:, 0] / (total + 1e-6), max=1.0)
        coef = torch.where(c.clip_grad[:, 0], coef, 1.0)
        self.grad.view(K, self.R, -1).mul_(coef.view(1, -1, 1))
        self.optimizer.step()
        aux["grad_norm"] = total
        return aux

    def update(self) -> dict[str, np.ndarray]:
        args, R = self.args, self.R
        frac = 1.0 - (self.iteration - 1.0) / args.num_iterations
        for group, (lr0, anneal, _) in zip(self.optimizer.param_groups, self.lr_classes):
            group["lr"] = frac * lr0 if anneal else lr0  # [detail:anneal_lr]
        B, M = args.batch_size, args.minibatch_size
        data = self.data.view(R, B, WIDTH)
        for epoch in range(args.update_epochs):
            keys = rng.uniform(self.perm_keys, (self.iteration - 1) * args.update_epochs + epoch, B)
            b_inds = torch.argsort(keys, dim=1, stable=True)  # (R, B): each run its own shuffle
            for start in range(0, B, M):
                idx = b_inds[:, start:start + M]
                mb = torch.gather(data, 1, idx.unsqueeze(-1).expand(R, M, WIDTH))
                aux = self.minibatch_step(mb)
        return {k: v.detach().cpu().numpy() for k, v in aux.items()}

    def run_iteration(self) -> dict[str, np.ndarray]:
        self.iteration += 1
        self.collect_rollout()
        self.compute_advantages()
        return self.update()

    # --- the rollout in the reference's names -------------------------------------------------
    obs = property(lambda self: self.data[..., C_OBS])
    actions = property(lambda self: self.data[..., C_ACT:C_ACT + 1])
    logprobs = property(lambda self: self.data[..., C_LOGP])
    values = property(lambda self: self.data[..., C_VAL])
    advantages = property(lambda self: self.data[..., C_ADV])
    returns = property(lambda self: self.data[..., C_RET])


def train_runs(args: Args | Sequence[Args], seeds, iterations: int | None = None,
               device="cpu") -> TensorPPO:
    """Train ``variants × seeds`` runs together for ``iterations`` (``None``: the whole budget)."""
    runs = TensorPPO(args, seeds, device=device)
    for _ in range(runs.args.num_iterations if iterations is None else int(iterations)):
        runs.run_iteration()
    return runs
