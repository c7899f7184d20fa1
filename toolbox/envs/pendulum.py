"""A batched Pendulum on the device, identical to Gymnasium's ``Pendulum-v1``.

The swing-up task: a pendulum starts at a random angle and speed and must be swung up and held
upright with a torque ``u ∈ [-2, 2]``. Same constants as Gymnasium (g = 10, m = l = 1,
dt = 0.05, max speed 8), the same semi-implicit Euler step, the same cost

.. math:: c = \\operatorname{norm}(\\theta)^2 + 0.1\\,\\dot\\theta^2 + 0.001\\,u^2,\\qquad r = -c

(computed from the state *before* the step), the observation ``[cos θ, sin θ, θ̇]`` cast to
float32, no termination, truncation after 200 steps (``TimeLimit``) and the reset state uniform in
``θ ∈ [-π, π], θ̇ ∈ [-1, 1]``. The action is clipped to [-2, 2] inside the environment, as
Gymnasium does, and is float32 (the action space's dtype): Gymnasium then computes the torque
terms ``3u`` and ``0.001u²`` in float32, and so does this class, so rewards agree to the last bit.

Autoreset happens in the *same* step (Gymnasium's ``AutoresetMode.SAME_STEP``, the convention
CleanRL was written for): the returned observation of an environment whose episode ended is the
first of its next episode, and ``info["final_obs"]`` holds the observation the step reached.

Randomness: the reset state of environment ``i`` at its ``t``-th reset draw is a hash of
``(env_keys[i], t)`` (:mod:`toolbox.rng`), so an environment's stream does not depend on how many
environments are simulated alongside it.
"""

from __future__ import annotations

import math
from typing import ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv

from toolbox import rng
from toolbox.device import resolve_device

MAX_SPEED = 8.0
MAX_TORQUE = 2.0
DT = 0.05
G = 10.0
M = 1.0
L = 1.0
MAX_EPISODE_STEPS = 200
RESET_HIGH = (math.pi, 1.0)  # Gymnasium's DEFAULT_X, DEFAULT_Y: θ ∈ [-π, π], θ̇ ∈ [-1, 1]
OBS_HIGH = (1.0, 1.0, MAX_SPEED)


def angle_normalize(theta: torch.Tensor) -> torch.Tensor:
    """``θ`` wrapped into [-π, π): ``((θ + π) mod 2π) − π`` (Gymnasium's formula, Python's
    modulo)."""
    return torch.remainder(theta + math.pi, 2 * math.pi) - math.pi


def pendulum_step(state: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One step of the pendulum: ``state (N, 2)`` float64 ``[θ, θ̇]``, ``u (N,)`` float32 clipped
    torque.

    .. math::
        \dot\theta' = \operatorname{clip}\Big(\dot\theta + \big(\tfrac{3g}{2l}\sin\theta
        + \tfrac{3}{ml^2}u\big)\,dt,\ -8,\ 8\Big),\qquad \theta' = \theta + \dot\theta'\,dt

    Returns ``(new_state (N, 2) float64, reward (N,) float64)``; the reward is the negative cost of
    the state before the step. The order of operations and the float32 torque terms are
    Gymnasium's, so float64 results agree bit for bit.
    """
    th, thdot = state.unbind(-1)
    # 0.001·u² and 3u in float32, as NumPy computes them for Gymnasium's float32 action
    costs = angle_normalize(th) ** 2 + 0.1 * thdot**2 + (0.001 * (u * u)).to(th.dtype)
    torque = (3.0 / (M * L**2) * u).to(th.dtype)
    newthdot = thdot + (3 * G / (2 * L) * torch.sin(th) + torque) * DT
    newthdot = torch.clamp(newthdot, -MAX_SPEED, MAX_SPEED)
    newth = th + newthdot * DT
    return torch.stack((newth, newthdot), -1), -costs


def observation(state: torch.Tensor) -> torch.Tensor:
    """``[cos θ, sin θ, θ̇]`` as float32: ``state (N, 2)`` -> ``(N, 3)``."""
    th, thdot = state.unbind(-1)
    return torch.stack((torch.cos(th), torch.sin(th), thdot), -1).to(torch.float32)


class BatchedPendulum:
    """``num_envs`` Pendulum-v1 environments stepped together as tensors.

    Args:
        num_envs: number of environments N.
        device: torch device.
        seed: integer seed of the reset draws (``None``: a random one).
        env_keys: optional ``(N,)`` int64 random-stream keys, one per environment, overriding
            ``seed``.

    Attributes:
        state: ``(N, 2)`` float64 ``[θ, θ̇]``; tests may set it.
        elapsed: ``(N,)`` int64 steps taken in the current episode (truncation at 200).
    """

    observation_shape = (3,)
    action_shape = (1,)
    action_low, action_high = -MAX_TORQUE, MAX_TORQUE

    def __init__(
        self,
        num_envs: int,
        device="cpu",
        seed: int | None = None,
        env_keys: torch.Tensor | None = None,
    ):
        self.device = resolve_device(device)
        self.env_keys = rng.env_keys(num_envs, self.device, seed, env_keys)
        self.num_envs = int(num_envs)
        self._counter = 0
        self.state = torch.zeros(self.num_envs, 2, dtype=torch.float64, device=self.device)
        self.elapsed = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)

    def _reset_draw(self) -> torch.Tensor:
        # low + (high − low)·U, NumPy's uniform(low, high) formula, one draw per env per counter
        u = rng.uniform(self.env_keys, self._counter, 2, dtype=torch.float64)
        self._counter += 1
        high = torch.tensor(RESET_HIGH, dtype=torch.float64, device=self.device)
        return -high + (high - -high) * u

    def reset(self) -> torch.Tensor:
        """Reset every environment; returns ``obs (N, 3)`` float32."""
        self.state = self._reset_draw()
        self.elapsed = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)
        return observation(self.state)

    def step(self, actions: torch.Tensor):
        """Advance every environment by one step with torques ``actions (N, 1)`` (cast to float32).

        Returns ``(obs, reward, terminated, truncated, info)``: ``obs (N, 3)`` float32 (already the
        reset observation where the episode ended), ``reward (N,)`` float64, ``terminated`` (all
        False) and ``truncated`` ``(N,)`` bool, ``info["final_obs"] (N, 3)`` float32: the
        observation the step reached before any reset.
        """
        actions = torch.as_tensor(actions, device=self.device)
        if actions.shape != (self.num_envs, 1):
            raise ValueError(
                f"actions must have shape ({self.num_envs}, 1); got {tuple(actions.shape)}."
            )
        if not bool(torch.isfinite(actions).all()):
            raise ValueError("actions must be finite numbers (a NaN torque has no physics).")
        return self.step_fast(actions)

    def step_fast(self, actions: torch.Tensor):
        """:meth:`step` without input checks, for a trusted caller."""
        u = torch.clamp(actions[:, 0].to(torch.float32), -MAX_TORQUE, MAX_TORQUE)
        new_state, reward = pendulum_step(self.state, u)
        elapsed = self.elapsed + 1
        truncated = elapsed >= MAX_EPISODE_STEPS
        terminated = torch.zeros_like(truncated)
        final_obs = obs = observation(new_state)
        if bool(truncated.any()):
            # every env of a batch starts together, so they end together: draw only when needed
            new_state = torch.where(truncated.unsqueeze(-1), self._reset_draw(), new_state)
            obs = observation(new_state)
        self.state = new_state
        self.elapsed = torch.where(truncated, 0, elapsed)
        return obs, reward, terminated, truncated, {"final_obs": final_obs}


class PendulumVectorEnv(VectorEnv):
    """:class:`BatchedPendulum` as a ``gymnasium.vector.VectorEnv`` (NumPy in and out, same-step
    autoreset).

    ``info["final_obs"]`` holds every environment's pre-reset observation and ``info["_final_obs"]``
    marks the environments whose episode ended on this step. The spaces equal ``Pendulum-v1``'s.
    """

    metadata: ClassVar[dict] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(self, num_envs: int, device="cpu", seed: int | None = None):
        self.env = BatchedPendulum(num_envs, device=device, seed=seed)
        self.num_envs = int(num_envs)
        high = np.array(OBS_HIGH, dtype=np.float32)
        self.single_observation_space = gym.spaces.Box(-high, high, dtype=np.float32)
        self.single_action_space = gym.spaces.Box(
            -MAX_TORQUE, MAX_TORQUE, shape=(1,), dtype=np.float32
        )
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, self.num_envs
        )
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)

    def reset(self, *, seed: int | None = None, options=None):
        if seed is not None:
            self.env = BatchedPendulum(self.num_envs, device=self.env.device, seed=seed)
        return self.env.reset().cpu().numpy(), {}

    def step(self, actions):
        a = torch.as_tensor(np.asarray(actions, dtype=np.float32)).reshape(self.num_envs, 1)
        obs, reward, term, trunc, info = self.env.step(a)
        return (
            obs.cpu().numpy(),
            reward.cpu().numpy(),
            term.cpu().numpy(),
            trunc.cpu().numpy(),
            {
                "final_obs": info["final_obs"].cpu().numpy(),
                "_final_obs": (term | trunc).cpu().numpy(),
            },
        )
