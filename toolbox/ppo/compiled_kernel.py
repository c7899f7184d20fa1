"""One whole PPO iteration (rollout, GAE, every epoch and minibatch step) of a run, as one compiled
loop.

This is :meth:`toolbox.ppo.group.Group.run_iteration` — the same formulas, the same buffers, the
same random numbers — written as loops over one run at a time that Numba compiles (see
:mod:`toolbox.ppo.kernels` for why). :class:`toolbox.ppo.compiled.CompiledGroup` calls
:func:`run_iterations` for one or several iterations of its runs ``r0 ≤ r < r1``; runs are
independent, so two threads can take two halves of a group.

The arguments are the named tuples of :mod:`toolbox.ppo.layout`: per-run settings
``s.gamma[r]`` (named as :class:`~toolbox.ppo.config.PPOConfig`'s fields), on/off details
``fl[SWITCH.norm_adv]``, and the group's ``(T, R, E[, 4])`` buffers seen as NumPy arrays. The
networks and the minibatch loss's gradient are :mod:`toolbox.ppo.kernel_net`'s; they and
:func:`toolbox.kernels.dense` are also named here, where the tests look for them.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba
import numpy as np

from toolbox.jit import _JIT, F32
from toolbox.kernels import adam, clip_grad_norm, dense, permutation, uniform32  # noqa: F401
from toolbox.ppo import agent as A
from toolbox.ppo.kernel_net import (  # noqa: F401
    STAT,
    minibatch_grad,
    tower_backward,
    tower_forward,
    values_of,
)
from toolbox.ppo.kernels import cartpole_step, gae_run, merge_moments, normalize_obs, reset_noise
from toolbox.ppo.layout import SWITCH, TOWER
from toolbox.rng import counter_code

H, D = A.HIDDEN, A.OBS_DIM
P = A.PARAMS_PER_TOWER
DEBUG_COLUMNS = ("learning_rate", "value_loss", "policy_loss", "entropy", "old_approx_kl",
                 "approx_kl", "clipfrac", "explained_variance", "grad_norm", "epochs_run")
DEBUG = namedtuple("DebugColumn", DEBUG_COLUMNS)(*range(len(DEBUG_COLUMNS)))
"""The column of each logged value in ``Log.debug``."""
BATCH_COLUMNS = ("action", "logprob", "advantage", "ret", "value")
COL = namedtuple("BatchColumn", BATCH_COLUMNS)(*range(len(BATCH_COLUMNS)))
"""The rows of ``update_run``'s per-transition columns ``(5, B)`` (``ret``: the value target)."""


@numba.jit(**_JIT)
def rollout_run(r, sz, theta, s, envs, counter, keys, iteration, obs_stats, rew, buf, ep_end):
    """Run ``r``'s rollout of ``T`` steps in its ``E`` environments (:meth:`Group.rollout`), then
    its values. ``sz`` :class:`Sizes`, ``theta (K·R, P)``, ``s`` :class:`Settings`, ``envs``
    :class:`Envs` (reset noise drawn at steps ``counter …``), ``keys`` :class:`Keys`, ``obs_stats``
    :class:`Moments`, ``rew`` :class:`RewardScale`, ``buf`` :class:`Rollout`; ``ep_end (T, R, E)``
    receives the episode ends."""
    R, K, T, E = sz.runs, sz.towers, sz.steps, sz.envs
    fl = s.switches[r]
    actor, critic = theta[r], theta[r + (K - 1) * R]
    next_obs, next_raw, next_done = buf.next_obs, buf.next_raw_obs, buf.next_done
    h1, h2, y = np.empty((E, H), F32), np.empty((E, H), F32), np.empty((E, 3), F32)
    f1, f2, fy = np.empty((1, H), F32), np.empty((1, H), F32), np.empty((1, 3), F32)
    fin, fin_n, vfin = np.empty((E, D), F32), np.empty((1, D), F32), np.empty(1, F32)
    term, trunc = np.zeros(E, np.bool_), np.zeros(E, np.bool_)
    raw64 = np.empty((E, D), np.float64)
    gamma = s.gamma[r]
    # this rollout's action noise: toolbox.rng.uniform(keys.action, iteration, T)
    code = counter_code(iteration)
    for e in range(E):
        buf.dones[0, r, e] = next_done[r, e]
    for step in range(T):
        buf.obs[step, r] = next_obs[r]
        if buf.keep_raw:
            buf.raw_obs[step, r] = next_raw[r]
        tower_forward(actor, TOWER, next_obs[r], h1, h2, y)
        for e in range(E):
            l0, l1 = y[e, 0], y[e, 1]
            mx = max(l0, l1)
            lse = mx + math.log(math.exp(l0 - mx) + math.exp(l1 - mx))
            lp0, lp1 = l0 - lse, l1 - lse
            # P(a = 1) = softmax_1: inverse-CDF sampling
            a = uniform32(keys.action[r, e], code, step) < math.exp(lp1)
            buf.actions[step, r, e] = F32(1.0) if a else F32(0.0)
            buf.logprobs[step, r, e] = lp1 if a else lp0
            if K == 1:
                buf.values[step, r, e] = y[e, 2]
            i = r * E + e
            term[e], trunc[e] = cartpole_step(envs.state[i], a, envs.elapsed[i:i + 1], fin[e])
            ep_end[step, r, e] = term[e] or trunc[e]
            if ep_end[step, r, e]:  # same-step autoreset
                reset_noise(keys.env[i], counter + step, envs.state[i])
                envs.elapsed[i] = 0
            for j in range(D):
                next_raw[r, e, j] = envs.state[i, j]
                raw64[e, j] = F32(envs.state[i, j])
        scale = 1.0
        if fl[SWITCH.norm_reward]:
            for e in range(E):
                rew.accumulated[r, e] = (rew.accumulated[r, e] * gamma * (0.0 if term[e] else 1.0)
                                         + 1.0)
            merge_moments(rew.mean[r:r + 1], rew.var[r:r + 1], rew.count[r:r + 1],
                          rew.accumulated[r].reshape((E, 1)))
            for e in range(E):
                if term[e] or trunc[e]:
                    rew.accumulated[r, e] = 0.0
            scale = math.sqrt(rew.var[r] + 1e-8)
        for e in range(E):
            reward = F32(1.0 / scale)
            if fl[SWITCH.bootstrap_truncation] and trunc[e] and not term[e]:
                # a time limit is not a terminal state: r + γ V(s_final) stands in for the lost
                # future
                if fl[SWITCH.norm_obs]:
                    normalize_obs(fin[e:e + 1], obs_stats.mean[r], obs_stats.var[r], fin_n)
                else:
                    fin_n[0] = fin[e]
                values_of(critic, fin_n, vfin, f1, f2, fy)
                reward = reward + F32(gamma) * vfin[0]
            buf.rewards[step, r, e] = reward
        if fl[SWITCH.norm_obs]:
            merge_moments(obs_stats.mean[r], obs_stats.var[r], obs_stats.count[r:r + 1], raw64)
            normalize_obs(next_raw[r], obs_stats.mean[r], obs_stats.var[r], next_obs[r])
        else:
            next_obs[r] = next_raw[r]
        if step + 1 < T:
            for e in range(E):
                buf.dones[step + 1, r, e] = F32(1.0) if ep_end[step, r, e] else F32(0.0)
    for e in range(E):
        next_done[r, e] = F32(1.0) if ep_end[T - 1, r, e] else F32(0.0)
    if K == 2:  # the value tower is not needed to act: one pass over the whole rollout afterwards
        flat = np.empty((T * E, D), F32)
        for t in range(T):
            flat[t * E:(t + 1) * E] = buf.obs[t, r]
        v = np.empty(T * E, F32)
        values_of(critic, flat, v, np.empty((T * E, H), F32), np.empty((T * E, H), F32),
                  np.empty((T * E, 3), F32))
        for t in range(T):
            for e in range(E):
                buf.values[t, r, e] = v[t * E + e]


@numba.jit(**_JIT)
def update_run(r, sz, params, s, lr, buf, perm_key, iteration, debug):
    """Run ``r``'s epochs of minibatch steps, gradient clipping and Adam at learning rate ``lr``
    (:meth:`GroupUpdate.update`): ``sz`` :class:`Sizes`, ``params`` :class:`Params`, ``s``
    :class:`Settings`, ``buf`` :class:`Rollout`, shuffles from stream ``perm_key``; writes its row
    of ``debug (R, 10)`` (columns :data:`DEBUG`)."""
    R, K, T, E, M = sz.runs, sz.towers, sz.steps, sz.envs, sz.minibatch
    theta = params.theta
    B = T * E
    fl = s.switches[r]
    c, ent_coef, vf_coef = s.clip_coef[r], s.ent_coef[r], s.vf_coef[r]
    # the batch in CleanRL's order: transition t·E + e
    b_obs = np.empty((B, D), F32)
    b_cols = np.empty((len(COL), B), F32)
    for t in range(T):
        for e in range(E):
            b = t * E + e
            b_obs[b] = buf.obs[t, r, e]
            b_cols[COL.action, b] = buf.actions[t, r, e]
            b_cols[COL.logprob, b] = buf.logprobs[t, r, e]
            b_cols[COL.advantage, b] = buf.advantages[t, r, e]
            b_cols[COL.ret, b], b_cols[COL.value, b] = buf.returns[t, r, e], buf.values[t, r, e]
    x = np.empty((M, D), F32)
    mb = np.empty((len(COL), M), F32)
    hs1, hs2 = np.empty((K, M, H), F32), np.empty((K, M, H), F32)
    ys, dys = np.empty((K, M, 3), F32), np.zeros((K, M, 3), F32)
    dh2, dh1 = np.empty((M, H), F32), np.empty((M, H), F32)
    grads = np.empty((K, P), F32)
    towers = np.empty((K, P), F32)
    stats = np.zeros(len(STAT), np.float64)
    clip_sum, n_mb, epochs_run, grad_norm = 0.0, 0, 0, 0.0
    perm = np.empty(B, np.int64)
    for epoch in range(sz.epochs):
        # a fresh shuffle each epoch: toolbox.rng.uniform(keys.permutation,
        # (iteration − 1)·epochs + epoch, B), argsorted
        permutation(perm_key, (iteration - 1) * sz.epochs + epoch, B, perm)
        for start in range(0, B, M):
            for j in range(M):
                b = perm[start + j]
                x[j] = b_obs[b]
                for q in range(len(COL)):
                    mb[q, j] = b_cols[q, b]
            for k in range(K):
                towers[k] = theta[r + k * R]
            minibatch_grad(K, x, mb[COL.action], mb[COL.logprob], mb[COL.advantage], mb[COL.ret],
                           mb[COL.value], c, ent_coef, vf_coef, fl, towers, hs1, hs2, ys, dys, dh2,
                           dh1, grads, stats)
            clip_sum += stats[STAT.clipfrac]
            n_mb += 1
            grad_norm = clip_grad_norm(grads, s.max_grad_norm[r], fl[SWITCH.clip_grad])
            params.adam_step[r] += 1
            for k in range(K):
                row = r + k * R
                adam(theta[row], grads[k], params.exp_avg[row], params.exp_avg_sq[row],
                     params.adam_step[r], lr, s.adam_eps[r], 0.9, 0.999)
        epochs_run += 1
        # CleanRL checks the last minibatch's approx KL after each epoch
        if stats[STAT.approx_kl] > s.target_kl[r]:
            break
    # explained variance of the value predictions over the batch (population variances)
    my = mv = 0.0
    for b in range(B):
        my += b_cols[COL.ret, b]
        mv += b_cols[COL.ret, b] - b_cols[COL.value, b]
    my /= B
    mv /= B
    vy = vr = 0.0
    for b in range(B):
        vy += (b_cols[COL.ret, b] - my) ** 2
        vr += (b_cols[COL.ret, b] - b_cols[COL.value, b] - mv) ** 2
    row = debug[r]
    row[DEBUG.learning_rate] = lr
    row[DEBUG.value_loss], row[DEBUG.policy_loss] = stats[STAT.value_loss], stats[STAT.policy_loss]
    row[DEBUG.entropy] = stats[STAT.entropy]
    row[DEBUG.old_approx_kl] = stats[STAT.old_approx_kl]
    row[DEBUG.approx_kl] = stats[STAT.approx_kl]
    row[DEBUG.clipfrac] = clip_sum / n_mb
    row[DEBUG.explained_variance] = np.nan if vy == 0.0 else 1.0 - vr / vy
    row[DEBUG.grad_norm], row[DEBUG.epochs_run] = grad_norm, epochs_run


@numba.jit(**_JIT)
def run_iterations(r0, r1, first_iteration, n_iterations, sz, params, s, envs, keys, obs_stats, rew,
                   buf, log):
    """Iterations ``first_iteration … first_iteration + n_iterations − 1`` of runs ``r0 … r1 − 1``:
    per iteration the learning rate (annealed linearly over ``sz.iterations`` where
    ``s.anneal_lr``), the rollout, GAE and returns, then the update. The arguments are
    :mod:`toolbox.ppo.layout`'s :class:`Sizes`, :class:`Params`, :class:`Settings`, :class:`Envs`,
    :class:`Keys`, :class:`Moments`, :class:`RewardScale`, :class:`Rollout` and :class:`Log`;
    ``log.ep_end (n, T, R, E)`` and ``log.debug (n, R, 10)`` receive every iteration's episode ends
    and debug values; the rollout buffers hold the last iteration's batch.

    Several iterations per call because the GIL is taken back at every return to Python: on a
    server whose sessions keep Python busy, each of those waits cost milliseconds (see
    :class:`toolbox.ppo.compiled.CompiledGroup`)."""
    R, K, T, E = sz.runs, sz.towers, sz.steps, sz.envs
    for r in range(r0, r1):
        critic = params.theta[r + (K - 1) * R]
        for i in range(n_iterations):
            iteration = first_iteration + i
            frac = 1.0 - (iteration - 1.0) / sz.iterations
            lr0 = s.learning_rate[r]
            lr = lr0 * frac if s.anneal_lr[r] else lr0
            rollout_run(r, sz, params.theta, s, envs, envs.counter + i * T, keys, iteration,
                        obs_stats, rew, buf, log.ep_end[i])
            nv = np.empty(E, F32)
            values_of(critic, buf.next_obs[r], nv, np.empty((E, H), F32), np.empty((E, H), F32),
                      np.empty((E, 3), F32))
            gae_run(buf.rewards[:, r], buf.values[:, r], buf.dones[:, r], nv, buf.next_done[r],
                    s.gamma[r], s.gae_lambda[r], buf.advantages[:, r])
            for t in range(T):
                for e in range(E):
                    buf.returns[t, r, e] = buf.advantages[t, r, e] + buf.values[t, r, e]
            update_run(r, sz, params, s, lr, buf, keys.permutation[r], iteration, log.debug[i])
