"""PPO on CartPole-v1 for one (config, seed), written to be read top to bottom (CleanRL ``ppo.py``'s
shape).

This is the readable twin of the batched trainer (:mod:`toolbox.ppo.train`). It uses the same
environment (:class:`~toolbox.envs.cartpole.BatchedCartPole` with ``num_envs`` environments), the
same running statistics (:mod:`toolbox.running_stats`, :mod:`toolbox.reward_scaling`) and the same
random streams (:mod:`toolbox.rng`: reset noise, actions and minibatch shuffles are hashes of the
seed), so one iteration here gives the batched trainer's numbers to float rounding —
``tests/test_ppo_reference.py`` checks that for every variant of
:func:`toolbox.ppo.config.variants`.

Every toggle of :class:`~toolbox.ppo.config.PPOConfig` is a named ``if`` (or line), wrapped in
marker comments ``# [detail:<field>]`` … ``# [/detail:<field>]`` so the PPO page can show these very
lines. Use: ``train_one(config, seed)`` trains one run and returns a
:class:`~toolbox.ppo.result.TrainResult`; ``ReferencePPO(config, seed).run_iteration()`` runs one
iteration and returns what it computed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from torch.distributions.categorical import Categorical

from toolbox import rng
from toolbox.device import resolve_device
from toolbox.envs.cartpole import BatchedCartPole
from toolbox.ppo import loss as L
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.result import DEBUG_KEYS, TrainResult
from toolbox.reward_scaling import RewardScaler
from toolbox.running_stats import ObsNormalizer, normalize_advantages

OBS_DIM, NUM_ACTIONS, HIDDEN = 4, 2, 64


def layer_init(layer: nn.Linear, std: float = math.sqrt(2), bias_const: float = 0.0, *,
               generator: torch.Generator, orthogonal_init: bool = True) -> nn.Linear:
    """Initialize ``layer`` in place from ``generator`` and return it."""
    # [detail:orthogonal_init]
    if orthogonal_init:
        # orthogonal weights with gain `std`, constant biases
        torch.nn.init.orthogonal_(layer.weight, std, generator=generator)
        torch.nn.init.constant_(layer.bias, bias_const)
    else:
        # PyTorch's own nn.Linear default: weights and biases uniform in ±1/√fan_in
        bound = 1.0 / math.sqrt(layer.in_features)
        torch.nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
        torch.nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    # [/detail:orthogonal_init]
    return layer


class Agent(nn.Module):
    """Policy and value MLPs (``4 → 64 → 64 → 2`` logits and ``4 → 64 → 64 → 1`` value, tanh).

    The layers are initialized in the order written here, from one generator seeded with the run's
    seed: the batched trainer draws its initial parameters in the same order.
    """

    def __init__(self, config: PPOConfig, seed: int):
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))

        def init(layer, std):
            return layer_init(layer, std, generator=gen, orthogonal_init=config.orthogonal_init)

        self.shared_network = config.shared_network
        # [detail:shared_network]
        if config.shared_network:
            # one trunk, two heads on top of it
            self.network = nn.Sequential(
                init(nn.Linear(OBS_DIM, HIDDEN), math.sqrt(2)), nn.Tanh(),
                init(nn.Linear(HIDDEN, HIDDEN), math.sqrt(2)), nn.Tanh(),
            )
            self.actor = init(nn.Linear(HIDDEN, NUM_ACTIONS), 0.01)
            self.critic = init(nn.Linear(HIDDEN, 1), 1.0)
        else:
            # two separate networks
            self.actor = nn.Sequential(
                init(nn.Linear(OBS_DIM, HIDDEN), math.sqrt(2)), nn.Tanh(),
                init(nn.Linear(HIDDEN, HIDDEN), math.sqrt(2)), nn.Tanh(),
                init(nn.Linear(HIDDEN, NUM_ACTIONS), 0.01),
            )
            self.critic = nn.Sequential(
                init(nn.Linear(OBS_DIM, HIDDEN), math.sqrt(2)), nn.Tanh(),
                init(nn.Linear(HIDDEN, HIDDEN), math.sqrt(2)), nn.Tanh(),
                init(nn.Linear(HIDDEN, 1), 1.0),
            )
        # [/detail:shared_network]

    def get_value(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, 4)`` -> ``V(x) (N, 1)``."""
        if self.shared_network:
            return self.critic(self.network(x))
        return self.critic(x)

    def get_action_and_value(self, x: torch.Tensor, action: torch.Tensor | None = None,
                             u: torch.Tensor | None = None):
        """``x (N, 4)`` -> ``(action (N,), log π(action|x) (N,), entropy (N,), V(x) (N, 1))``.

        With ``action=None`` an action is sampled by inverting the CDF at ``u (N,)`` uniform in
        [0, 1): action 1 when ``u < π(1|x)``. That is a draw from the same distribution as
        ``probs.sample()``, taken from the run's own random stream (so the batched trainer draws the
        very same actions).
        """
        if self.shared_network:
            hidden = self.network(x)
            logits, value = self.actor(hidden), self.critic(hidden)
        else:
            logits, value = self.actor(x), self.critic(x)
        probs = Categorical(logits=logits)
        if action is None:
            action = (u < probs.probs[:, 1]).long()
        return action, probs.log_prob(action), probs.entropy(), value


@dataclass
class IterationRecord:
    """What one iteration computed: the rollout ``(T, E)`` tensors (``obs (T, E, 4)``: what the
    agent saw, after any observation normalization; ``rewards``: after reward scaling and truncation
    bootstrap; ``dones[t]``: the episode ended just before step t), GAE ``advantages`` and
    ``returns``, and the iteration's debug values (keys :data:`~toolbox.ppo.result.DEBUG_KEYS`)."""

    obs: torch.Tensor
    actions: torch.Tensor
    logprobs: torch.Tensor
    rewards: torch.Tensor
    dones: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    debug: dict[str, float]


class ReferencePPO:
    """One PPO run: set-up in ``__init__``, then :meth:`run_iteration` once per iteration
    (:meth:`collect_rollout`, :meth:`compute_advantages`, :meth:`update`)."""

    def __init__(self, config: PPOConfig, seed: int, device=None):
        self.config = config.validate()
        self.seed = int(seed)
        self.device = device = resolve_device(device)
        E, T = config.num_envs, config.num_steps

        # this run's random streams (toolbox.rng): one key per environment, one for the shuffles
        env_index = torch.arange(E, device=device)
        self.action_keys = rng.stream_key(seed, rng.ACTION_STREAM, env_index)  # (E,)
        self.perm_key = torch.tensor([rng.stream_key(seed, rng.PERM_STREAM)], device=device)  # (1,)

        # [detail:num_envs]
        # num_envs environments stepped together; a batch holds num_envs · num_steps transitions
        self.envs = BatchedCartPole(E, device=device, env_keys=rng.stream_key(seed, rng.ENV_STREAM,
                                                                              env_index))
        self.obs = torch.zeros((T, E, OBS_DIM), device=device)
        self.actions = torch.zeros((T, E), device=device)
        self.logprobs = torch.zeros((T, E), device=device)
        self.rewards = torch.zeros((T, E), device=device)
        self.dones = torch.zeros((T, E), device=device)
        self.values = torch.zeros((T, E), device=device)
        # [/detail:num_envs]

        self.agent = Agent(config, seed).to(device)
        # [detail:adam_eps]
        self.optimizer = torch.optim.Adam(self.agent.parameters(), lr=config.learning_rate,
                                          eps=config.adam_eps)
        # [/detail:adam_eps]

        # [detail:norm_obs]
        if config.norm_obs:
            # running mean and std of every observation
            # seen so far, shared by the run's environments
            self.obs_rms = ObsNormalizer((OBS_DIM,), device=device)
        # [/detail:norm_obs]
        # [detail:norm_reward]
        if config.norm_reward:
            # rewards divided by the running std of a discounted return (per environment)
            self.reward_scaler = RewardScaler(E, gamma=config.gamma, device=device)
        # [/detail:norm_reward]

        self.iteration = 0
        self.global_step = 0
        self.next_obs = self.observe(self.envs.reset())
        self.next_done = torch.zeros(E, device=device)
        self.episode_length = np.zeros(E, np.int64)
        self.episode_steps: list[int] = []
        self.episode_returns: list[float] = []

    def observe(self, raw_obs: torch.Tensor, update: bool = True) -> torch.Tensor:
        """What the agent sees of ``raw_obs (E, 4)`` (``update``: merge it into the running
        statistics)."""
        # [detail:norm_obs]
        if self.config.norm_obs:
            return self.obs_rms(raw_obs, update=update)
        # [/detail:norm_obs]
        return raw_obs

    @torch.no_grad()
    def collect_rollout(self) -> None:
        """``num_steps`` steps in each environment, with same-step autoreset, into the rollout
        buffers."""
        config, agent = self.config, self.agent
        # (E, T): this rollout's action noise
        u = rng.uniform(self.action_keys, self.iteration, config.num_steps)
        for step in range(config.num_steps):
            self.global_step += config.num_envs
            self.obs[step] = self.next_obs
            self.dones[step] = self.next_done

            action, logprob, _, value = agent.get_action_and_value(self.next_obs, u=u[:, step])
            self.values[step] = value.flatten()
            self.actions[step] = action
            self.logprobs[step] = logprob

            raw_obs, reward, terminations, truncations, infos = self.envs.step(action)
            self.next_done = (terminations | truncations).float()
            self.record_episodes(self.next_done)
            # [detail:norm_reward]
            if config.norm_reward:
                reward = self.reward_scaler(reward, terminations, truncations)
            # [/detail:norm_reward]
            # [detail:bootstrap_truncation]
            if config.bootstrap_truncation:
                # a time limit is not a terminal state: r + γ
                # V(s_final) stands in for the future cut off
                final_obs = self.observe(infos["final_obs"], update=False)
                truncated_only = truncations & ~terminations
                reward = reward + config.gamma * agent.get_value(
                    final_obs).flatten() * truncated_only
            # [/detail:bootstrap_truncation]
            self.rewards[step] = reward
            self.next_obs = self.observe(raw_obs)

    def record_episodes(self, done: torch.Tensor) -> None:
        """Count episode lengths (CartPole pays 1 a step, so a return is a length) and log the
        finished ones."""
        self.episode_length += 1
        for env in np.flatnonzero(done.cpu().numpy()):
            self.episode_steps.append(self.global_step)
            self.episode_returns.append(float(self.episode_length[env]))
            self.episode_length[env] = 0

    @torch.no_grad()
    def compute_advantages(self) -> None:
        """Advantages and returns ``(T, E)`` from the rollout, bootstrapped with V of the next
        observation."""
        config = self.config
        next_value = self.agent.get_value(self.next_obs).flatten()
        # [detail:gae]
        if config.gae:
            # GAE(λ): Â_t = δ_t + γ λ (1 − d_{t+1}) Â_{t+1},
            # δ_t = r_t + γ V(s_{t+1}) (1 − d_{t+1}) − V(s_t)
            self.advantages = L.gae(self.rewards, self.values, self.dones, next_value,
                                    self.next_done, config.gamma, config.gae_lambda)
            self.returns = self.advantages + self.values
        else:
            # Monte-Carlo returns, bootstrapped at the end of
            # the rollout: R_t = r_t + γ (1 − d_{t+1}) R_{t+1}
            self.returns = L.discounted_returns(self.rewards, self.dones, next_value,
                                                self.next_done, config.gamma)
            self.advantages = self.returns - self.values
        # [/detail:gae]

    def update(self) -> dict[str, float]:
        """``update_epochs`` epochs of minibatch steps on the clipped-surrogate loss; returns the
        debug values."""
        config, agent, optimizer = self.config, self.agent, self.optimizer
        # [detail:anneal_lr]
        if config.anneal_lr:
            frac = 1.0 - (self.iteration - 1.0) / config.num_iterations
            optimizer.param_groups[0]["lr"] = frac * config.learning_rate
        # [/detail:anneal_lr]

        # flatten the batch: transition t·num_envs + e
        b_obs = self.obs.reshape((-1, OBS_DIM))
        b_logprobs = self.logprobs.reshape(-1)
        b_actions = self.actions.reshape(-1)
        b_advantages = self.advantages.reshape(-1)
        b_returns = self.returns.reshape(-1)
        b_values = self.values.reshape(-1)

        clip_coef = config.clip_coef
        clipfracs = []
        epochs_run = 0
        for epoch in range(config.update_epochs):
            # [detail:num_minibatches]
            # a fresh shuffle each epoch (a stable argsort of this run's uniform numbers), cut into
            # num_minibatches pieces
            keys = rng.uniform(self.perm_key, (self.iteration - 1) * config.update_epochs + epoch,
                               config.batch_size)
            b_inds = torch.argsort(keys, dim=1, stable=True)[0]
            for start in range(0, config.batch_size, config.minibatch_size):
                end = start + config.minibatch_size
                mb_inds = b_inds[start:end]
                # [/detail:num_minibatches]

                _, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    b_obs[mb_inds], b_actions.long()[mb_inds]
                )
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                old_approx_kl, approx_kl, clipfrac = L.kl_and_clipfrac(logratio, ratio, clip_coef)
                clipfracs.append(clipfrac.item())

                mb_advantages = b_advantages[mb_inds]
                # [detail:norm_adv]
                if config.norm_adv:
                    mb_advantages = normalize_advantages(mb_advantages, 1e-8)
                # [/detail:norm_adv]

                # the loss (toolbox/ppo/loss.py): the same functions train many runs at once
                pg_loss = L.pg_loss(ratio, mb_advantages, clip_coef, config.clip_surrogate)
                v_loss = L.v_loss(newvalue.view(-1), b_values[mb_inds], b_returns[mb_inds],
                                  clip_coef, config.clip_vloss)
                entropy_loss = entropy.mean()
                loss = L.total_loss(pg_loss, v_loss, entropy_loss, config.ent_coef, config.vf_coef)

                optimizer.zero_grad()
                loss.backward()
                # [detail:clip_grad]
                if config.clip_grad:
                    grad_norm = nn.utils.clip_grad_norm_(agent.parameters(), config.max_grad_norm)
                else:
                    grad_norm = nn.utils.get_total_norm([p.grad for p in agent.parameters()])
                # [/detail:clip_grad]
                optimizer.step()
            epochs_run += 1

            # [detail:target_kl]
            if config.target_kl is not None and approx_kl > config.target_kl:
                break  # early stopping: the policy moved far enough for this batch
            # [/detail:target_kl]

        y_pred, y_true = b_values, b_returns
        var_y = y_true.var(correction=0)
        explained_var = math.nan if var_y == 0 else float(
            1 - (y_true - y_pred).var(correction=0) / var_y)
        return {
            "learning_rate": optimizer.param_groups[0]["lr"],
            "value_loss": v_loss.item(),
            "policy_loss": pg_loss.item(),
            "entropy": entropy_loss.item(),
            "old_approx_kl": old_approx_kl.item(),
            "approx_kl": approx_kl.item(),
            "clipfrac": float(np.mean(clipfracs)),
            "explained_variance": explained_var,
            "grad_norm": float(grad_norm),
            "epochs_run": epochs_run,
        }

    def run_iteration(self) -> IterationRecord:
        """One PPO iteration (rollout, advantages, update); returns what it computed (copies)."""
        self.iteration += 1
        self.collect_rollout()
        self.compute_advantages()
        debug = self.update()
        return IterationRecord(
            obs=self.obs.clone(), actions=self.actions.clone(), logprobs=self.logprobs.clone(),
            rewards=self.rewards.clone(), dones=self.dones.clone(), values=self.values.clone(),
            advantages=self.advantages.clone(), returns=self.returns.clone(), debug=debug,
        )


def train_one(config: PPOConfig, seed: int, iterations: int | None = None,
              device=None) -> TrainResult:
    """Train one run for ``iterations`` iterations (``None``: ``config.num_iterations``)."""
    t0 = time.perf_counter()
    run = ReferencePPO(config, seed, device)
    n = config.num_iterations if iterations is None else int(iterations)
    if n < 0:
        raise ValueError(f"iterations must be a whole number ≥ 0; got {iterations!r}.")
    debug = [run.run_iteration().debug for _ in range(n)]
    return TrainResult(
        config=config,
        seed=int(seed),
        episode_steps=np.asarray(run.episode_steps, np.int64),
        episode_returns=np.asarray(run.episode_returns, np.float32),
        iteration_steps=(np.arange(1, n + 1) * config.batch_size).astype(np.int64),
        debug={k: np.asarray([d[k] for d in debug], np.float64) for k in DEBUG_KEYS},
        seconds=time.perf_counter() - t0,
        backend="reference",
    )
