"""The building blocks of the compiled PPO path (:mod:`toolbox.ppo.compiled`): small dense layers, their
backward pass, CartPole's Euler step, the running statistics and Adam, as loops that Numba compiles to
machine code (LLVM, no C++ compiler needed; compiled once and cached on disk).

Why loops: one PPO run is about 125,000 sequential environment steps and 15,600 minibatch updates of two
64-64 tanh MLPs on 4 to 512 rows. Each tensor operation of PyTorch costs a few microseconds of dispatch
whatever its size, which is most of the time at these sizes (see benchmarks/ppo_throughput.py); compiled
loops cost only the arithmetic. Every function here is the same formula as its tensor twin, named in its
docstring; ``tests/test_ppo_kernels.py`` checks each against that twin (per parameter block, with a
relative error) and ``tests/test_ppo_compiled.py`` a whole training iteration against
:mod:`toolbox.ppo.reference`.

Shapes: weights are stored ``(in, out)`` (as in :mod:`toolbox.ppo.agent`'s parameter rows), activations
``(rows, features)``, float32; physics and running statistics in float64, as the tensor code.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from toolbox.envs import cartpole as cp
from toolbox.jit import _EXACT, _INLINE, _JIT, F32, cache_dir, tanh32  # noqa: F401 (cache_dir: re-exported)


@numba.jit(**_JIT)
def dense(x, W, b, out, activation):
    """``out (n, o) = f(x (n, i) @ W (i, o) + b (o,))`` with ``f = tanh`` when ``activation`` else identity.

    The product is ``np.dot``, which Numba hands to BLAS (SciPy's OpenBLAS): about 10 µs for 128×64×64 on
    one core, three times what a hand-written loop reached; the bias and tanh follow in one vectorized pass."""
    z = np.dot(x, W)
    n, o = z.shape
    for i in range(n):
        for j in range(o):
            v = z[i, j] + b[j]
            out[i, j] = tanh32(v) if activation else v


@numba.jit(**_JIT)
def dense_backward(x, W, dz, dW, db, dx):
    """Backward of ``z = x W + b`` given ``dz (n, o)``: ``dW (i, o) = xᵀ dz``, ``db (o,) = Σ_rows dz`` and,
    when ``dx`` has rows, ``dx (n, i) = dz Wᵀ``; all three are overwritten."""
    dW[:, :] = np.dot(x.T, dz)
    n, o = dz.shape
    db[:] = 0.0
    for r in range(n):
        for j in range(o):
            db[j] += dz[r, j]
    if dx.shape[0] > 0:
        dx[:, :] = np.dot(dz, W.T)


@numba.jit(**_JIT)
def tanh_backward_inplace(d, h):
    """``d ← d ⊙ (1 − h²)``: back through ``h = tanh(z)`` (``aten.tanh_backward``)."""
    n, m = d.shape
    for i in range(n):
        for j in range(m):
            d[i, j] *= F32(1.0) - h[i, j] * h[i, j]


@numba.jit(**_EXACT)
def cartpole_step(state, action, elapsed, final_obs):
    """One environment: :func:`toolbox.envs.cartpole.cartpole_dynamics`, then Gymnasium's termination and the
    500-step truncation. The caller resets an ended episode (:func:`reset_noise`, same step).

    ``state (4,)`` float64 and ``elapsed`` (a 1-element int64 array) are updated in place; ``final_obs (4,)``
    float32 receives the new state. Returns ``(terminated, truncated)``.
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
    """Merge the rows of ``x (n, d)`` float64 into ``mean (d,)``, ``var (d,)`` and ``count`` (a 1-element array):
    Chan's parallel update with population variances, :func:`toolbox.running_stats.merge_moments`."""
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
    """``out = clip((raw − mean)/sqrt(var + 1e-8), −10, 10)`` as float32 (:class:`~toolbox.running_stats.ObsNormalizer`)."""
    n, d = raw.shape
    for i in range(n):
        for j in range(d):
            z = (np.float64(raw[i, j]) - mean[j]) / math.sqrt(var[j] + 1e-8)
            out[i, j] = min(max(z, -10.0), 10.0)


@numba.jit(**_JIT)
def adam(theta, grad, m, v, step, lr, eps, beta1, beta2):
    """``torch.optim.Adam`` (no weight decay, no amsgrad) on one parameter row; ``step`` is the new step count."""
    bc1 = 1.0 - beta1 ** step
    bc2_sqrt = math.sqrt(1.0 - beta2 ** step)
    step_size = F32(lr / bc1)
    b1, b2 = F32(beta1), F32(beta2)
    # 1 − β in float64, then rounded (as torch does): F32(1) − F32(0.999) is 1.3e-5 off 0.001
    c1, c2 = F32(1.0 - beta1), F32(1.0 - beta2)
    inv_bc2 = F32(1.0 / bc2_sqrt)
    e = F32(eps)
    for i in range(theta.shape[0]):
        g = grad[i]
        m[i] = b1 * m[i] + c1 * g
        v[i] = b2 * v[i] + c2 * g * g
        theta[i] -= step_size * m[i] / (math.sqrt(v[i]) * inv_bc2 + e)


@numba.jit(**_JIT)
def clip_grad_norm(grads, max_norm, clip):
    """``torch.nn.utils.clip_grad_norm_`` over every row of ``grads (K, P)`` together: returns
    ``‖g‖ = sqrt(Σ g²)`` (float64 sum) and, when ``clip``, scales ``g ← g · min(1, max_norm / (‖g‖ + 1e-6))``."""
    K, P = grads.shape
    sq = 0.0
    for k in range(K):
        for q in range(P):
            sq += grads[k, q] * grads[k, q]
    norm = math.sqrt(sq)
    if clip:
        coef = F32(min(max_norm / (norm + 1e-6), 1.0))
        for k in range(K):
            for q in range(P):
                grads[k, q] *= coef
    return norm


@numba.jit(**_JIT)
def gae_run(rewards, values, dones, next_value, next_done, gamma, lam, adv):
    """GAE(λ) of one run, :func:`toolbox.returns.gae`: ``rewards, values, dones, adv (T, E)``, ``next_value``,
    ``next_done (E,)``; ``Â_t = δ_t + γλ(1 − d_{t+1}) Â_{t+1}``, ``δ_t = r_t + γ V_{t+1}(1 − d_{t+1}) − V_t``."""
    T, E = rewards.shape
    g, gl = F32(gamma), F32(gamma * lam)
    for e in range(E):
        last = F32(0.0)
        for t in range(T - 1, -1, -1):
            if t == T - 1:
                nnt, nv = F32(1.0) - next_done[e], next_value[e]
            else:
                nnt, nv = F32(1.0) - dones[t + 1, e], values[t + 1, e]
            delta = rewards[t, e] + g * nv * nnt - values[t, e]
            last = delta + gl * nnt * last
            adv[t, e] = last


# -- counter-based random numbers: toolbox.rng's hash, compiled, so the loop draws its own noise ---------------
_M32 = 0xFFFFFFFF


@numba.jit(**_INLINE)
def hash32(x):
    """:func:`toolbox.rng.hash32` on one int64 (taken modulo 2^32); returns a value in [0, 2^32)."""
    x = x & _M32
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & _M32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & _M32
    return x ^ (x >> 16)


@numba.jit(**_INLINE)
def counter_code(counter):
    """The per-counter constant of :func:`toolbox.rng.uniform`."""
    return hash32(np.int64(counter) * 0x9E3779B9 + 0x51ED27)


@numba.jit(**_INLINE)
def uniform_bits(key, code, j):
    """The 32 random bits of entry ``j`` of ``toolbox.rng.uniform(key, counter, n)`` (``code = counter_code(counter)``)."""
    return hash32(hash32(key ^ (np.int64(j) * 0x9E3779B9 + code)) + code)


@numba.jit(**_INLINE)
def uniform32(key, code, j):
    """Entry ``j`` of ``toolbox.rng.uniform(key, counter, n)`` as float32 (24 random bits)."""
    return F32((uniform_bits(key, code, j) >> 8) * (1.0 / 16777216.0))


@numba.jit(**_EXACT)
def permutation(key, counter, n, out):
    """``out (n,) = torch.argsort(toolbox.rng.uniform(key, counter, n), stable=True)``: a shuffle. Sorting the 24-bit integers
    that make the float32 uniforms, stably (ties keep index order, as torch's CPU sort does)."""
    code = counter_code(counter)
    bits = np.empty(n, np.int64)
    for j in range(n):
        bits[j] = uniform_bits(key, code, j) >> 8
    out[:] = np.argsort(bits, kind="mergesort")


@numba.jit(**_EXACT)
def reset_noise(key, counter, out):
    """The reset state ``out (4,)`` float64 that :class:`~toolbox.envs.cartpole.BatchedCartPole` draws for the
    environment with stream ``key`` at step ``counter``: uniform in [−0.05, 0.05), float64 (32 random bits)."""
    block, i = counter // 64, counter % 64
    code = counter_code(block)
    for c in range(4):
        u = uniform_bits(key, code, 4 * i + c) * (1.0 / 4294967296.0)
        out[c] = cp.RESET_LOW + (cp.RESET_HIGH - cp.RESET_LOW) * u
