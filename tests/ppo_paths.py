"""The comparison of a fast PPO path with the readable reference, shared by the tests and the
device check.

``tests/test_ppo_reference.py`` (batched tensor path), ``tests/test_ppo_compiled.py`` (compiled
path) and ``benchmarks/device_check.py`` (tensor path on a GPU) train a variant for ``ITERATIONS``
iterations on a fast path and on :mod:`toolbox.ppo.reference` side by side and call
:func:`compare`, which checks every iteration: rollout buffers, advantages, parameters after the
update, the logged debug values, and the episode log.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from toolbox.ppo.config import PPOConfig
from toolbox.ppo.reference import ReferencePPO
from toolbox.ppo.result import DEBUG_KEYS
from toolbox.ppo.train import make_groups

SEED = 3
ITERATIONS = 2  # the second iteration is the first whose learning rate annealing changes


@dataclass(frozen=True)
class Tolerances:
    """How far a fast path may be from the reference, each a relative and absolute bound unless
    named."""

    first: float = 1e-5
    """Rollout buffers of the first iteration (both start from identical parameters)."""
    later: float = 1e-5
    """Rollout buffers of later iterations (they start from parameters Adam moved; see
    ``params_lr``)."""
    params_rtol: float = 1e-4
    """Parameters after each update, relative part."""
    params_lr: float = 0.05
    """Parameters after each update, absolute part as a fraction of the learning rate: Adam's step
    is ±lr wherever a gradient is at rounding level, so two float orders can put such a weight a
    fraction of lr apart."""
    debug_rtol: float = 1e-4
    """Logged debug values (losses, KLs, clip fraction, norms), relative part."""
    debug_atol: float = 1e-6
    """Logged debug values, absolute part."""


CPU_TOLERANCES = Tolerances()


def budget(config: PPOConfig) -> PPOConfig:
    """The variant's toggles with a quarter of its rollout length (a 128-transition batch), for
    ITERATIONS iterations, and a learning rate 20x CleanRL's so that the policy and value clip
    ranges are reached."""
    small = config.replace(num_steps=config.num_steps // 4, learning_rate=20 * config.learning_rate)
    return small.replace(total_timesteps=ITERATIONS * small.batch_size)


def assert_iteration_equal(g, row: int, run: ReferencePPO, record, tol: Tolerances,
                           buffers_tol: float, params_atol: float) -> None:
    """The group's buffers and parameters of run ``row`` equal the reference's after one iteration
    (buffers to ``buffers_tol``, relative and absolute; parameters and debug values as ``tol``
    says)."""
    close = dict(rtol=buffers_tol, atol=buffers_tol)
    torch.testing.assert_close(g.obs_buf[:, row], record.obs, **close)
    assert torch.equal(g.actions[:, row], record.actions.float()), "a sampled action differs"
    assert torch.equal(g.dones[:, row], record.dones)
    for name in ("logprobs", "values", "rewards", "advantages", "returns"):
        torch.testing.assert_close(getattr(g, name)[:, row], getattr(record, name), **close,
                                   msg=lambda m: f"{name}: {m}")
    ours = g.parameters_of(row)
    theirs = dict(run.agent.named_parameters())
    assert set(ours) == set(theirs)
    for name, p in theirs.items():
        torch.testing.assert_close(ours[name], p.detach(), rtol=tol.params_rtol, atol=params_atol,
                                   msg=lambda m: f"{name}: {m}")
    result = g.results()[row]
    for key in DEBUG_KEYS:
        np.testing.assert_allclose(result.debug[key][-1], record.debug[key], rtol=tol.debug_rtol,
                                   atol=tol.debug_atol, err_msg=key)


def compare(config: PPOConfig, prepare=None, make_group=None, device="cpu",
            tol: Tolerances = CPU_TOLERANCES):
    """Train ``config`` (cut by :func:`budget`) ITERATIONS iterations on a fast path and on the
    reference, both on ``device``, and assert every iteration equal within ``tol``; returns the
    fast path's ``TrainResult``.

    ``make_group(config)``: the fast path's group (default: the batched tensor path's on
    ``device``); ``prepare(env)``: called on both paths' environments before the first rollout
    (e.g. to set time limits).
    """
    config = budget(config)
    if make_group is None:
        (g,), _ = make_groups([config], [SEED], device=device, backend="tensor")
    else:
        g = make_group(config)
    run = ReferencePPO(config, SEED, device=device)
    if prepare is not None:
        prepare(g.env)
        prepare(run.envs)
    # the same initial parameters, drawn in the same order
    for name, p in run.agent.named_parameters():
        assert torch.equal(g.parameters_of(0)[name], p.detach()), name
    atol = tol.params_lr * config.learning_rate
    for i in range(ITERATIONS):
        g.run_iteration()
        record = run.run_iteration()
        assert_iteration_equal(g, 0, run, record, tol, tol.first if i == 0 else tol.later, atol)
    ours = g.results()[0]
    np.testing.assert_array_equal(ours.episode_steps, run.episode_steps)
    np.testing.assert_array_equal(ours.episode_returns, run.episode_returns)
    return ours


def near_limit(env) -> None:
    """Put every environment near CartPole's 500-step limit, each reaching it at its own step of
    the first rollout (for the time-limit comparison: truncation bootstrap, reward scaling's return
    reset)."""
    env.elapsed[:] = 499 - 7 * torch.arange(env.num_envs, device=env.elapsed.device)


def cases() -> dict[str, tuple[PPOConfig, object]]:
    """Every comparison the tests make, by name: ``(config, prepare)``: each ablation variant, a
    target KL that stops the epochs early, and every normalisation plus truncation bootstrap at the
    time limit."""
    from toolbox.lessons.ppo.variants import variants

    out: dict[str, tuple[PPOConfig, object]] = {name: (c, None) for name, c in variants().items()}
    out["target KL stops epochs"] = (PPOConfig(target_kl=1e-6), None)
    every_norm = PPOConfig(bootstrap_truncation=True, norm_reward=True, norm_obs=True)
    out["time limits"] = (every_norm, near_limit)
    return out
