"""Normalization lesson ②: CartPole observations before and after online normalization.

The observations come from the project's batched CartPole (``toolbox.envs.cartpole``) under a
random policy; the normalization is ``toolbox.running_stats.ObsNormalizer`` stepped as
Gymnasium's ``NormalizeObservation`` would.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from toolbox.checks import check_clip, check_int
from toolbox.device import resolve_device
from toolbox.envs.cartpole import BatchedCartPole
from toolbox.running_stats import ObsNormalizer

CARTPOLE_DIMENSIONS = ("cart position x", "cart velocity ẋ", "pole angle θ",
                       "pole angular velocity θ̇")


@dataclass
class ObservationSample:
    """CartPole observations of a random policy, raw and normalized online."""

    obs: torch.Tensor
    """``(T, E, 4)`` raw CartPole observations (float32)."""
    normalized: torch.Tensor
    """``(T, E, 4)`` the same observations normalized online (each step after its update)."""
    mean: torch.Tensor
    """``(4,)`` final running mean."""
    std: torch.Tensor
    """``(4,)`` final running std."""
    source: str
    """Which simulator produced the observations."""


def cartpole_rollout(num_envs: int = 8, steps: int = 200, seed: int = 0, device=None) -> dict:
    """The project's batched CartPole (``toolbox.envs.cartpole.BatchedCartPole``) under a uniformly
    random policy (seeded).

    Returns ``obs (steps + 1, E, 4)`` float32 (row 0 is the reset observation; after an episode
    end the row is already the next episode's first observation), ``rewards``, ``terminated``,
    ``truncated`` ``(steps, E)`` and ``source`` (the simulator's name, shown on the page).
    """
    E = check_int(num_envs, "the number of environments", 1, 256)
    T = check_int(steps, "the number of steps", 1, 5000)
    dev = resolve_device(device)
    g = torch.Generator(device=dev).manual_seed(int(seed) + 1)
    actions = torch.randint(0, 2, (T, E), generator=g, device=dev)
    env = BatchedCartPole(E, device=dev, seed=int(seed))
    rows, rew, term, trunc = [env.reset()], [], [], []
    for t in range(T):
        o, r, te, tr, _ = env.step(actions[t])
        rows.append(o)
        rew.append(r)
        term.append(te)
        trunc.append(tr)
    return {
        "obs": torch.stack(rows).to(dev, torch.float32),
        "rewards": torch.stack(rew).to(dev, torch.float64),
        "terminated": torch.stack(term).to(dev, torch.bool),
        "truncated": torch.stack(trunc).to(dev, torch.bool),
        "source": "toolbox.envs.cartpole.BatchedCartPole",
    }


def cartpole_observations(num_envs: int = 8, steps: int = 200, seed: int = 0,
                          device=None) -> tuple[torch.Tensor, str]:
    """``(obs (steps + 1, num_envs, 4) float32, source)`` from :func:`cartpole_rollout`."""
    roll = cartpole_rollout(num_envs, steps, seed, device)
    return roll["obs"], roll["source"]


def normalize_observation_stream(
    obs, clip: float | None = 10.0, epsilon: float = 1e-8
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalize ``obs (T, E, D)`` step by step as the vector wrapper would; returns
    ``(normalized, mean, std)``."""
    clip = check_clip(clip)
    obs = torch.as_tensor(obs)
    if obs.dim() != 3:
        raise ValueError(f"observations must have shape (T, E, D); got {tuple(obs.shape)}.")
    norm = ObsNormalizer(tuple(obs.shape[2:]), epsilon=epsilon, clip=clip, device=obs.device,
                         validate=False)
    out = torch.stack([norm(obs[t]) for t in range(obs.shape[0])])
    return out, norm.rms.mean, norm.rms.std


def observation_sample(num_envs: int = 8, steps: int = 200, seed: int = 0,
                       clip: float | None = 10.0, device=None) -> ObservationSample:
    """CartPole observations (random policy) before and after online normalization."""
    obs, source = cartpole_observations(num_envs, steps, seed, device)
    z, mean, std = normalize_observation_stream(obs, clip)
    return ObservationSample(obs, z, mean, std, source)


def summary_stats(x, dim: int = -1) -> dict[str, torch.Tensor]:
    """Per-channel mean, std (population), min and max of ``x`` with channels along ``dim`` (all
    other dims pooled)."""
    x = torch.as_tensor(x, dtype=torch.float64)
    flat = x.movedim(dim, -1).reshape(-1, x.shape[dim])
    std, mean = torch.std_mean(flat, dim=0, correction=0)
    return {"mean": mean, "std": std, "min": flat.amin(0), "max": flat.amax(0)}
