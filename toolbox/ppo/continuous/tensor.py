"""The reference's PPO batched over R runs (seeds) with ``torch.func``: one rollout and one update
step for all runs at once, on any device.

The same :class:`~toolbox.ppo.continuous.reference.Agent` (R copies, initialized exactly as R
reference runs, stacked with ``torch.func.stack_module_state``), the same loss
(:func:`~toolbox.ppo.continuous.reference.ppo_loss`) differentiated with ``torch.func.grad`` and
mapped over runs with ``torch.func.vmap``, the same observation/reward pipeline with statistics per
(run, environment), GAE from :func:`toolbox.returns.gae`, and the public ``torch.optim.Adam`` on the
stacked parameters (Adam is elementwise, so one optimizer over ``(R, ...)`` tensors is R
independent optimizers). Gradient-norm clipping is per run, as ``clip_grad_norm_`` computes it.
``tests/test_ppo_continuous.py`` checks two iterations against the reference for every toggle.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch.func import functional_call, grad, stack_module_state, vmap

from toolbox import rng
from toolbox.envs.pendulum import BatchedPendulum
from toolbox.ppo.continuous.args import Args
from toolbox.ppo.continuous.policy import standard_normal
from toolbox.ppo.continuous.reference import (
    ACT_DIM,
    OBS_DIM,
    Agent,
    Observe,
    clip_to_env,
    ppo_loss,
)
from toolbox.returns import gae


class TensorPPO:
    """R runs of one :class:`Args` with seeds ``seeds`` (a variant with other toggles is another group).

    Attributes after each :meth:`run_iteration`: ``params`` (name -> ``(R, ...)``), the rollout
    buffers ``obs (R, T, E, 3)``, ``actions (R, T, E, 1)``, ``logprobs``/``rewards``/``dones``/
    ``values``/``advantages``/``returns`` ``(R, T, E)``, and ``episode_returns[r]`` per run.
    """

    def __init__(self, args: Args, seeds, dtype: torch.dtype = torch.float32, device="cpu"):
        self.args = args.validate()
        if args.target_kl is not None:
            raise ValueError("target_kl stops each run's epochs at a different time; the batched runner "
                             "does not support it yet: use the reference (target_kl=None here).")
        self.seeds = [int(s) for s in seeds]
        R, E = len(self.seeds), args.num_envs
        if R < 1:
            raise ValueError("give at least one seed.")
        self.dtype, self.device = dtype, torch.device(device)
        index = torch.arange(E)
        env_keys = torch.stack([rng.stream_key(s, rng.ENV_STREAM, index) for s in self.seeds])
        self.envs = BatchedPendulum(R * E, device=device, env_keys=env_keys.reshape(-1))
        self.action_keys = torch.stack([rng.stream_key(s, rng.ACTION_STREAM, index) for s in self.seeds])
        self.perm_keys = torch.tensor([rng.stream_key(s, rng.PERM_STREAM) for s in self.seeds])  # (R,)
        agents = [Agent(args, s, dtype).to(device) for s in self.seeds]  # each run's own initial draw
        params, self.buffers = stack_module_state(agents)
        self.params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        self.template = copy.deepcopy(agents[0]).to("meta")  # the shape of the call, no storage
        self.optimizer = torch.optim.Adam(list(self.params.values()), lr=args.learning_rate, eps=args.adam_eps)
        self.observe = Observe(args, (R, E), device)
        self.next_obs = self.observe.obs(self.envs.reset().view(R, E, OBS_DIM)).to(dtype)
        self.next_done = torch.zeros(R, E, dtype=dtype, device=device)
        self.iteration = self.global_step = 0
        self.episode_return = np.zeros((R, E))
        self.episode_returns: list[list[float]] = [[] for _ in range(R)]
        self.episode_steps: list[list[int]] = [[] for _ in range(R)]

    def _call(self, params, buffers, x, action=None, z=None):
        return functional_call(self.template, (params, buffers), (x, action, z))

    def agent(self, x, action=None, z=None):
        """Every run's agent on its own data: ``x (R, N, 3)`` -> the reference's outputs with a leading R."""
        in_dims = (0, 0, 0, None if action is None else 0, None if z is None else 0)
        return vmap(self._call, in_dims=in_dims)(self.params, self.buffers, x, action, z)

    @torch.no_grad()
    def collect_rollout(self) -> None:
        args, R, E, T = self.args, len(self.seeds), self.args.num_envs, self.args.num_steps
        z = standard_normal(self.action_keys, self.iteration, T * ACT_DIM).to(self.dtype).view(R, E, T, ACT_DIM)
        obs = torch.zeros((R, T, E, OBS_DIM), dtype=self.dtype, device=self.device)
        actions = torch.zeros((R, T, E, ACT_DIM), dtype=self.dtype, device=self.device)
        logprobs, rewards, dones, values = (torch.zeros((R, T, E), dtype=self.dtype, device=self.device)
                                            for _ in range(4))
        for step in range(T):
            self.global_step += E
            obs[:, step], dones[:, step] = self.next_obs, self.next_done
            action, logprob, _, value = self.agent(self.next_obs, z=z[:, :, step])
            env_action = clip_to_env(action)
            if not args.clip_action:  # the reference's [detail:clip_action]
                action = env_action
                logprob = self.agent(self.next_obs, action)[1]
            values[:, step], actions[:, step], logprobs[:, step] = value.squeeze(-1), action, logprob
            raw_obs, reward, term, trunc, _ = self.envs.step_fast(env_action.float().reshape(R * E, ACT_DIM))
            reward, term, trunc = reward.view(R, E), term.view(R, E), trunc.view(R, E)
            self._record(reward, term | trunc)
            self.next_done = (term | trunc).to(self.dtype)
            rewards[:, step] = self.observe.reward(reward, term, trunc)
            self.next_obs = self.observe.obs(raw_obs.view(R, E, OBS_DIM)).to(self.dtype)
        self.obs, self.actions, self.logprobs = obs, actions, logprobs
        self.rewards, self.dones, self.values = rewards, dones, values

    def _record(self, reward, done) -> None:
        self.episode_return += reward.cpu().numpy()
        for r, e in zip(*np.nonzero(done.cpu().numpy())):
            self.episode_steps[r].append(self.global_step)
            self.episode_returns[r].append(float(self.episode_return[r, e]))
            self.episode_return[r, e] = 0.0

    @torch.no_grad()
    def compute_advantages(self) -> None:
        next_value = self.agent(self.next_obs)[3].squeeze(-1)  # (R, E)
        lam = self.args.gae_lambda if self.args.gae else 1.0
        self.advantages = gae(self.rewards, self.values, self.dones, next_value, self.args.gamma, lam,
                              next_done=self.next_done)
        self.returns = self.advantages + self.values

    def _loss(self, params, buffers, obs, actions, logprobs, advantages, returns, values):
        _, newlogprob, entropy, newvalue = self._call(params, buffers, obs, actions)
        return ppo_loss(newlogprob, entropy, newvalue.view(-1), logprobs, advantages, returns, values,
                        self.args)

    def _clip_grads(self, grads: list[torch.Tensor]) -> torch.Tensor:
        """Per run, as ``clip_grad_norm_``: ‖g‖ = ‖(‖g_p‖)_p‖, g ← g · min(1, c/(‖g‖ + 1e-6)); -> ``(R,)``."""
        R = len(self.seeds)
        norms = torch.stack([torch.linalg.vector_norm(g.reshape(R, -1), dim=1) for g in grads], 1)
        total = torch.linalg.vector_norm(norms, dim=1)  # (R,)
        if self.args.clip_grad:
            coef = torch.clamp(self.args.max_grad_norm / (total + 1e-6), max=1.0)
            for g in grads:
                g.mul_(coef.view((R,) + (1,) * (g.dim() - 1)))
        return total

    def update(self) -> dict[str, np.ndarray]:
        args, R = self.args, len(self.seeds)
        if args.anneal_lr:
            frac = 1.0 - (self.iteration - 1.0) / args.num_iterations
            self.optimizer.param_groups[0]["lr"] = frac * args.learning_rate
        b_obs, b_actions = self.obs.reshape(R, -1, OBS_DIM), self.actions.reshape(R, -1, ACT_DIM)
        b = [x.reshape(R, -1) for x in (self.logprobs, self.advantages, self.returns, self.values)]
        names = list(self.params)
        loss_grad = vmap(grad(self._loss, has_aux=True))
        run = torch.arange(R, device=self.device).unsqueeze(1)
        for epoch in range(args.update_epochs):
            keys = rng.uniform(self.perm_keys, (self.iteration - 1) * args.update_epochs + epoch, args.batch_size)
            b_inds = torch.argsort(keys, dim=1, stable=True)  # (R, B): each run its own shuffle
            for start in range(0, args.batch_size, args.minibatch_size):
                mb = b_inds[:, start:start + args.minibatch_size]
                detached = {k: v.detach() for k, v in self.params.items()}
                grads, aux = loss_grad(detached, self.buffers, b_obs[run, mb], b_actions[run, mb],
                                       *(x[run, mb] for x in b))
                g = [grads[k] for k in names]
                grad_norm = self._clip_grads(g)
                for k, gk in zip(names, g):
                    self.params[k].grad = gk
                self.optimizer.step()
        return {**{k: v.cpu().numpy() for k, v in aux.items()}, "grad_norm": grad_norm.cpu().numpy()}

    def run_iteration(self) -> dict[str, np.ndarray]:
        self.iteration += 1
        self.collect_rollout()
        self.compute_advantages()
        return self.update()


def train_runs(args: Args, seeds, iterations: int | None = None, device="cpu") -> TensorPPO:
    """Train ``len(seeds)`` runs together for ``iterations`` (``None``: ``args.num_iterations``)."""
    runs = TensorPPO(args, seeds, device=device)
    for _ in range(args.num_iterations if iterations is None else int(iterations)):
        runs.run_iteration()
    return runs
