"""The building blocks of the compiled PPO path (:mod:`toolbox.ppo.compiled`) that are PPO's own:
CartPole's Euler step and reset noise, the running statistics and GAE, as loops that Numba compiles
to machine code (LLVM, no C++ compiler needed; compiled once and cached on disk). The dense layers,
gradient clipping, Adam and the random numbers live in :mod:`toolbox.kernels`, beside DIAL's
RMSprop, for any compiled path; they are re-exported here.

Why loops: one PPO run is about 125,000 sequential environment steps and 15,600 minibatch updates of
two 64-64 tanh MLPs on 4 to 512 rows. Each tensor operation of PyTorch costs a few microseconds of
dispatch whatever its size, which is most of the time at these sizes (see
benchmarks/ppo_throughput.py); compiled loops cost only the arithmetic. Every function here is the
same formula as its tensor twin, named in its docstring; ``tests/test_ppo_kernels.py`` checks each
against that twin (per parameter block, with a relative error) and ``tests/test_ppo_compiled.py`` a
whole training iteration against :mod:`toolbox.ppo.reference`.

Shapes: activations ``(rows, features)``, float32; physics and running statistics in float64, as
the tensor code.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from toolbox.envs import cartpole as cp
from toolbox.jit import _EXACT, _JIT, F32, cache_dir  # noqa: F401 (cache_dir: re-exported)

# the blocks every compiled path shares, re-exported: PPO's kernels and tests name them from here
from toolbox.kernels import (  # noqa: F401
    adam,
    clip_grad_norm,
    dense,
    dense_backward,
    like,
    permutation,
    tanh_backward_inplace,
    uniform32,
)
from toolbox.rng import counter_code, uniform_bits  # noqa: F401


@numba.jit(**_EXACT)
def cartpole_step(state, action, elapsed, final_obs):
    """One environment: :func:`toolbox.envs.cartpole.cartpole_dynamics`, then Gymnasium's
    termination and the 500-step truncation. The caller resets an ended episode
    (:func:`reset_noise`, same step).

    ``state (4,)`` float64 and ``elapsed`` (a 1-element int64 array) are updated in place;
    ``final_obs (4,)`` float32 receives the new state. Returns ``(terminated, truncated)``.
    """
    x, x_dot, theta, theta_dot = state[0], state[1], state[2], state[3]
    force = cp.FORCE_MAG if action != 0 else -cp.FORCE_MAG
    costheta = math.cos(theta)
    sintheta = math.sin(theta)
    temp = (force + cp.POLEMASS_LENGTH * theta_dot * theta_dot * sintheta) / cp.TOTAL_MASS
    thetaacc = (cp.GRAVITY * sintheta - costheta * temp) / (
        cp.LENGTH * (4.0 / 3.0 - cp.MASSPOLE * costheta * costheta / cp.TOTAL_MASS)
    )
    xacc = temp - cp.POLEMASS_LENGTH * thetaacc * costheta / cp.TOTAL_MASS
    x, x_dot = x + cp.TAU * x_dot, x_dot + cp.TAU * xacc
    theta, theta_dot = theta + cp.TAU * theta_dot, theta_dot + cp.TAU * thetaacc
    final_obs[0], final_obs[1], final_obs[2], final_obs[3] = x, x_dot, theta, theta_dot
    terminated = abs(x) > cp.X_THRESHOLD or abs(theta) > cp.THETA_THRESHOLD
    elapsed[0] += 1
    truncated = elapsed[0] >= cp.MAX_EPISODE_STEPS
    state[0], state[1], state[2], state[3] = x, x_dot, theta, theta_dot
    return terminated, truncated


@numba.jit(**_EXACT)
def merge_moments(mean, var, count, x):
    """Merge the rows of ``x (n, d)`` float64 into ``mean (d,)``, ``var (d,)`` and ``count`` (a
    1-element array): Chan's parallel update with population variances,
    :func:`toolbox.running_stats.merge_moments`."""
    n, d = x.shape
    for j in range(d):
        bm = 0.0
        for i in range(n):
            bm += x[i, j]
        bm /= n
        bv = 0.0
        for i in range(n):
            bv += (x[i, j] - bm) * (x[i, j] - bm)
        bv /= n
        delta = bm - mean[j]
        tot = count[0] + n
        new_mean = mean[j] + delta * n / tot
        m2 = var[j] * count[0] + bv * n + delta * delta * count[0] * n / tot
        mean[j] = new_mean
        var[j] = m2 / tot
    count[0] += n


@numba.jit(**_EXACT)
def normalize_obs(raw, mean, var, out):
    """``out (n, d) = clip((raw − mean)/sqrt(var + 1e-8), −10, 10)`` as float32, ``raw (n, d)``,
    ``mean, var (d,)`` (:class:`~toolbox.running_stats.ObsNormalizer`)."""
    n, d = raw.shape
    for i in range(n):
        for j in range(d):
            z = (np.float64(raw[i, j]) - mean[j]) / math.sqrt(var[j] + 1e-8)
            out[i, j] = min(max(z, -10.0), 10.0)


@numba.jit(**_JIT)
def gae_run(rewards, values, dones, next_value, next_done, gamma, lam, adv):
    """GAE(λ) of one run, :func:`toolbox.ppo.loss.gae`: ``rewards, values, dones, adv (T, E)``,
    ``next_value, next_done (E,)``; ``Â_t = δ_t + γλ(1 − d_{t+1}) Â_{t+1}``,
    ``δ_t = r_t + γ V_{t+1}(1 − d_{t+1}) − V_t``."""
    T, E = rewards.shape
    # the constants in the buffers' precision (float32 here, float64 in continuous PPO's tests)
    g, gl, one = like(rewards, gamma), like(rewards, gamma * lam), like(rewards, 1.0)
    for e in range(E):
        last = like(rewards, 0.0)
        for t in range(T - 1, -1, -1):
            if t == T - 1:
                nnt, nv = one - next_done[e], next_value[e]
            else:
                nnt, nv = one - dones[t + 1, e], values[t + 1, e]
            delta = rewards[t, e] + g * nv * nnt - values[t, e]
            last = delta + gl * nnt * last
            adv[t, e] = last


# -- CartPole's reset noise: toolbox.rng's stream, drawn inside the compiled loop --------------
@numba.jit(**_EXACT)
def reset_noise(key, counter, out):
    """The reset state ``out (4,)`` float64 that :class:`~toolbox.envs.cartpole.BatchedCartPole`
    draws for the environment with stream ``key`` at step ``counter``: uniform in [−0.05, 0.05),
    float64 (32 random bits)."""
    block, i = counter // 64, counter % 64
    code = counter_code(block)
    for c in range(4):
        u = uniform_bits(key, code, 4 * i + c) * (1.0 / 4294967296.0)
        out[c] = cp.RESET_LOW + (cp.RESET_HIGH - cp.RESET_LOW) * u
