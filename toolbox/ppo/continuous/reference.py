"""PPO with continuous actions on Pendulum-v1, one run, read top to bottom (CleanRL's
``ppo_continuous_action.py`` shape: ``Args``, ``layer_init``, ``Agent``, rollout, GAE, update).

The losses (``pg_loss`` and ``v_loss`` of :mod:`toolbox.ppo.loss`, :func:`entropy_loss`, combined
by :func:`ppo_loss`) are pure functions of tensors that reduce over the last axis:
:mod:`toolbox.ppo.continuous.tensor` calls these very functions on ``(R, M)`` minibatches of R
runs. Randomness comes from the run's seed through :mod:`toolbox.rng` (reset
draws, action noise, minibatch shuffles), so a run gives the same numbers alone or in a batch.
Every detail toggle of :class:`~toolbox.ppo.continuous.args.Args` is a named ``if`` marked
``# [detail:<field>]``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from toolbox import rng
from toolbox.envs.pendulum import BatchedPendulum
from toolbox.ppo.continuous.args import Args
from toolbox.ppo.continuous.policy import (
    gaussian_entropy,
    gaussian_log_prob,
    gaussian_sample,
    standard_normal,
)
from toolbox.ppo.loss import gae, kl_and_clipfrac, pg_loss, total_loss, v_loss
from toolbox.ppo.reference import layer_init
from toolbox.reward_scaling import RewardScaler
from toolbox.running_stats import ObsNormalizer, normalize_advantages

OBS_DIM, ACT_DIM, HIDDEN = 3, 1, 64
ACTION_LOW, ACTION_HIGH = BatchedPendulum.action_low, BatchedPendulum.action_high


class Agent(nn.Module):
    """Policy ``3 → 64 → 64 → μ (1)`` with log σ, and value ``3 → 64 → 64 → 1`` (tanh MLPs).

    Layers are initialized in the order written, from one generator seeded with the run's seed.
    ``forward`` is :meth:`get_action_and_value`, so ``torch.func.functional_call`` reaches it.
    """

    def __init__(self, args: Args, seed: int, dtype: torch.dtype = torch.float32):
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        self.args = args

        def linear(n_in, n_out, std):
            layer = nn.Linear(n_in, n_out, dtype=dtype)
            return layer_init(layer, std, generator=gen, orthogonal_init=args.orthogonal_init)

        def trunk():
            return nn.Sequential(
                linear(OBS_DIM, HIDDEN, math.sqrt(2)),
                nn.Tanh(),
                linear(HIDDEN, HIDDEN, math.sqrt(2)),
                nn.Tanh(),
            )

        # [detail:shared_network]
        if args.shared_network:
            self.network = trunk()  # one trunk, the heads below sit on it
        else:
            self.actor_trunk, self.critic_trunk = trunk(), trunk()  # two separate networks
        # [/detail:shared_network]
        self.actor_mean = linear(HIDDEN, ACT_DIM, 0.01)
        self.critic = linear(HIDDEN, 1, 1.0)
        # [detail:gaussian_policy]
        if not args.gaussian_policy:
            self.register_buffer(
                "actor_logstd", torch.zeros(1, ACT_DIM, dtype=dtype)
            )  # σ = 1, fixed
        # [/detail:gaussian_policy]
        # [detail:state_independent_std]
        elif args.state_independent_std:
            self.actor_logstd = nn.Parameter(
                torch.zeros(1, ACT_DIM, dtype=dtype)
            )  # log σ, one per component
        else:
            self.actor_logstd_head = linear(HIDDEN, ACT_DIM, 0.01)  # log σ(s)
        # [/detail:state_independent_std]
        # [detail:independent_actions]
        if not args.independent_actions:
            # the strictly lower triangle correlates the components (zero at start; unused for
            # d = 1)
            self.actor_offdiag = nn.Parameter(torch.zeros(ACT_DIM, ACT_DIM, dtype=dtype))
        # [/detail:independent_actions]

    def hidden(self, x):
        """``x (N, 3)`` -> the policy's and the value's 64 features."""
        if self.args.shared_network:
            h = self.network(x)
            return h, h
        return self.actor_trunk(x), self.critic_trunk(x)

    def get_value(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, 3)`` -> ``V(x) (N, 1)``."""
        return self.critic(self.hidden(x)[1])

    def get_action_and_value(self, x, action=None, z=None):
        """``x (N, 3)`` -> ``(action (N, 1), log π(action|x) (N,), entropy (N,), V(x) (N, 1))``.

        With ``action=None`` the action is sampled as ``μ + σ z`` from the standard normal
        ``z (N, 1)``
        (the run's random stream, see :func:`~toolbox.ppo.continuous.policy.standard_normal`).
        """
        h_pi, h_v = self.hidden(x)
        mean = self.actor_mean(h_pi)
        if hasattr(self, "actor_logstd_head"):
            log_std = self.actor_logstd_head(h_pi)
        else:
            log_std = self.actor_logstd.expand_as(mean)
        offdiag = getattr(self, "actor_offdiag", None)
        if action is None:  # a sample, or the mean when no noise is given (value-only calls)
            action = mean if z is None else gaussian_sample(mean, log_std, z, offdiag)
        log_prob = gaussian_log_prob(action, mean, log_std, offdiag)
        return action, log_prob, gaussian_entropy(log_std), self.critic(h_v)

    forward = get_action_and_value


def entropy_loss(entropy):
    """Mean entropy of the minibatch (a bonus: it enters the loss with −ent_coef);
    ``(..., M)`` -> ``(...)``."""
    return entropy.mean(-1)


def ppo_loss(newlogprob, entropy, newvalue, logprobs, advantages, returns, values, args):
    r"""``L = pg_loss − c₂ entropy_loss + c₁ v_loss`` on one minibatch, ``(..., M)`` -> ``(...)``.

    :func:`~toolbox.ppo.loss.pg_loss` (:math:`\operatorname{mean}\max(-\hat A\rho,
    -\hat A\operatorname{clip}(\rho, 1\pm\epsilon))`) and :func:`~toolbox.ppo.loss.v_loss` are
    CartPole's: one loss for both action kinds. ``args`` is an :class:`Args` (one run, ``(M,)``
    data) or any object with the same fields as ``(R, 1)`` columns (R runs, ``(R, M)`` data): a
    toggle is then a bool tensor and ``torch.where`` keeps the chosen branch, as the ``if`` would.
    Returns ``(loss, aux)`` with the debug values ``pg_loss, v_loss, entropy, approx_kl, clipfrac``.
    """
    logratio = newlogprob - logprobs
    ratio = logratio.exp()
    # [detail:norm_adv] Â = (A − mean A)/(std A + 1e-8) per minibatch (per run)
    normalized = normalize_advantages(advantages, 1e-8, dim=-1, validate=False)
    advantages = torch.where(torch.as_tensor(args.norm_adv), normalized, advantages)
    # [/detail:norm_adv]
    pg = pg_loss(ratio, advantages, args.clip_coef, args.clip_surrogate)
    v = v_loss(newvalue, values, returns, args.clip_coef, args.clip_vloss)
    ent = entropy_loss(entropy)
    loss = total_loss(pg, v, ent, args.ent_coef, args.vf_coef)
    _, approx_kl, clipfrac = kl_and_clipfrac(logratio, ratio, args.clip_coef)
    return loss, {
        "pg_loss": pg.detach(),
        "v_loss": v.detach(),
        "entropy": ent.detach(),
        "approx_kl": approx_kl,
        "clipfrac": clipfrac,
    }


class Observe:
    """What the agent sees and is paid, per environment (CleanRL's per-environment wrappers).

    One difference: at a time limit CleanRL's wrapped environment merges both the final and the
    reset
    observation into the statistics; here only the observation the agent sees (1 sample in 200).

    ``batch_shape``: ``(E,)`` for one run of E environments, ``(R, E)`` for R runs.
    """

    def __init__(self, args: Args, batch_shape: tuple[int, ...], device=None):
        self.args = args
        # [detail:norm_obs]
        if args.norm_obs:
            self.obs_rms = ObsNormalizer(
                (OBS_DIM,), clip=None, batch_shape=batch_shape, device=device, validate=False
            )
        # [/detail:norm_obs]
        # [detail:norm_reward]
        if args.norm_reward:
            self.reward_scaler = RewardScaler(
                1, args.gamma, batch_shape=batch_shape, device=device, validate=False
            )
        # [/detail:norm_reward]

    def obs(self, raw: torch.Tensor) -> torch.Tensor:
        """``raw (*batch_shape, 3)`` float32 -> the agent's observation."""
        x = raw
        if self.args.norm_obs:
            x = self.obs_rms(raw.unsqueeze(-2)).squeeze(
                -2
            )  # (o − μ)/√(σ² + 1e-8), stats updated first
        # [detail:clip_obs]
        if self.args.clip_obs:
            x = torch.clamp(x, -self.args.obs_clip, self.args.obs_clip)
        # [/detail:clip_obs]
        return x

    def reward(self, reward, terminated, truncated) -> torch.Tensor:
        """``(*batch_shape,)`` float64 reward and flags -> the reward the agent learns from."""
        if self.args.norm_reward:
            # r / √(Var[G] + 1e-8), G_t = γ (1 − d) G_{t−1} + r_t: the running discounted return,
            # cut by terminations only, as CleanRL's per-environment NormalizeReward (a time limit
            # does not
            # reset it; Pendulum never terminates)
            reward = self.reward_scaler(reward.unsqueeze(-1), terminated.unsqueeze(-1)).squeeze(-1)
        # [detail:clip_reward]
        if self.args.clip_reward:
            reward = torch.clamp(reward, -self.args.reward_clip, self.args.reward_clip)
        # [/detail:clip_reward]
        return reward


def clip_to_env(action: torch.Tensor) -> torch.Tensor:
    """The action the environment receives: the sample clipped to the action space [-2, 2]."""
    return torch.clamp(action, ACTION_LOW, ACTION_HIGH)


class ReferencePPO:
    """One run: set-up in ``__init__``, then :meth:`run_iteration` (rollout, GAE, update)."""

    def __init__(self, args: Args, seed: int, dtype: torch.dtype = torch.float32, device="cpu"):
        self.args = args.validate()
        self.seed, self.dtype = int(seed), dtype
        E, T = args.num_envs, args.num_steps
        index = torch.arange(E)
        self.envs = BatchedPendulum(
            E, device=device, env_keys=rng.stream_key(seed, rng.ENV_STREAM, index)
        )
        self.action_keys = rng.stream_key(seed, rng.ACTION_STREAM, index)  # (E,)
        self.perm_key = torch.tensor([rng.stream_key(seed, rng.PERM_STREAM)])  # (1,)
        self.agent = Agent(args, seed, dtype)
        # [detail:adam_eps]
        self.optimizer = torch.optim.Adam(
            self.agent.parameters(), lr=args.learning_rate, eps=args.adam_eps
        )
        # [/detail:adam_eps]
        self.observe = Observe(args, (E,), device)
        self.obs = torch.zeros((T, E, OBS_DIM), dtype=dtype)
        self.actions = torch.zeros((T, E, ACT_DIM), dtype=dtype)
        self.logprobs, self.rewards, self.dones, self.values = (
            torch.zeros((T, E), dtype=dtype) for _ in range(4)
        )
        self.iteration = self.global_step = 0
        self.next_obs = self.observe.obs(self.envs.reset()).to(dtype)
        self.next_done = torch.zeros(E, dtype=dtype)
        self.episode_return = np.zeros(E)
        self.episode_steps: list[int] = []
        self.episode_returns: list[float] = []

    @torch.no_grad()
    def collect_rollout(self) -> None:
        args, agent = self.args, self.agent
        z = standard_normal(self.action_keys, self.iteration, args.num_steps * ACT_DIM).to(
            self.dtype
        )
        z = z.view(args.num_envs, args.num_steps, ACT_DIM)  # this rollout's action noise
        for step in range(args.num_steps):
            self.global_step += args.num_envs
            self.obs[step], self.dones[step] = self.next_obs, self.next_done
            action, logprob, _, value = agent.get_action_and_value(self.next_obs, z=z[:, step])
            env_action = clip_to_env(action)
            # [detail:clip_action]
            if not args.clip_action:
                # store the clipped action and its log-probability instead of the sample
                action = env_action
                logprob = agent.get_action_and_value(self.next_obs, action)[1]
            # [/detail:clip_action]
            self.values[step], self.actions[step], self.logprobs[step] = (
                value.flatten(),
                action,
                logprob,
            )
            raw_obs, reward, terminations, truncations, _ = self.envs.step_fast(env_action.float())
            self.record_episodes(reward, terminations | truncations)
            self.next_done = (terminations | truncations).to(self.dtype)
            self.rewards[step] = self.observe.reward(reward, terminations, truncations)
            self.next_obs = self.observe.obs(raw_obs).to(self.dtype)

    def record_episodes(self, reward, done) -> None:
        """Sum the environment's own rewards per episode and log the finished ones."""
        self.episode_return += reward.numpy()
        for env in np.flatnonzero(done.numpy()):
            self.episode_steps.append(self.global_step)
            self.episode_returns.append(float(self.episode_return[env]))
            self.episode_return[env] = 0.0

    @torch.no_grad()
    def compute_advantages(self) -> None:
        """GAE(λ), CartPole's own loop (:func:`toolbox.ppo.loss.gae`); ``gae`` off: λ = 1,
        returns bootstrapped at the
        end."""
        next_value = self.agent.get_value(self.next_obs).flatten()
        # [detail:gae]
        lam = self.args.gae_lambda if self.args.gae else 1.0
        # [/detail:gae]
        self.advantages = gae(self.rewards, self.values, self.dones, next_value, self.next_done,
                              self.args.gamma, lam)
        self.returns = self.advantages + self.values

    def update(self) -> dict[str, float]:
        args, agent, optimizer = self.args, self.agent, self.optimizer
        # [detail:anneal_lr]
        if args.anneal_lr:
            optimizer.param_groups[0]["lr"] = (
                1.0 - (self.iteration - 1.0) / args.num_iterations
            ) * args.learning_rate
        # [/detail:anneal_lr]
        b_obs, b_actions = self.obs.reshape(-1, OBS_DIM), self.actions.reshape(-1, ACT_DIM)
        b = [x.reshape(-1) for x in (self.logprobs, self.advantages, self.returns, self.values)]
        for epoch in range(args.update_epochs):
            # [detail:num_minibatches] a fresh shuffle each epoch, cut into num_minibatches pieces
            keys = rng.uniform(
                self.perm_key, (self.iteration - 1) * args.update_epochs + epoch, args.batch_size
            )
            b_inds = torch.argsort(keys, dim=1, stable=True)[0]
            for start in range(0, args.batch_size, args.minibatch_size):
                mb = b_inds[start : start + args.minibatch_size]
                # [/detail:num_minibatches]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    b_obs[mb], b_actions[mb]
                )
                loss, aux = ppo_loss(
                    newlogprob, entropy, newvalue.view(-1), *(x[mb] for x in b), args
                )
                optimizer.zero_grad()
                loss.backward()
                # [detail:clip_grad]
                if args.clip_grad:
                    grad_norm = nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                else:
                    grad_norm = nn.utils.get_total_norm([p.grad for p in agent.parameters()])
                # [/detail:clip_grad]
                optimizer.step()
            # [detail:target_kl]
            if args.target_kl is not None and aux["approx_kl"] > args.target_kl:
                break
            # [/detail:target_kl]
        return {**{k: float(v) for k, v in aux.items()}, "grad_norm": float(grad_norm)}

    def run_iteration(self) -> dict[str, float]:
        self.iteration += 1
        self.collect_rollout()
        self.compute_advantages()
        return self.update()


def train_one(args: Args, seed: int, iterations: int | None = None) -> ReferencePPO:
    """Train one run for ``iterations`` iterations (``None``: ``args.num_iterations``); returns
    the run."""
    run = ReferencePPO(args, seed)
    for _ in range(args.num_iterations if iterations is None else int(iterations)):
        run.run_iteration()
    return run
