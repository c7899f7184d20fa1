"""One whole PPO iteration (rollout, GAE, every epoch and minibatch step) of a run, as one compiled loop.

This is :meth:`toolbox.ppo.group.Group.run_iteration` — the same formulas, the same buffers, the same
random numbers — written as loops over one run at a time that Numba compiles (see :mod:`toolbox.ppo.kernels`
for why). :class:`toolbox.ppo.compiled.CompiledGroup` calls :func:`run_iterations` for one or several iterations of its
runs ``r0 ≤ r < r1``; runs are independent, so two threads can take two halves of a group.

Per-run settings arrive as columns: ``hp (R, 9)`` float64 = [learning rate this iteration, Adam ε, clip ε,
entropy coefficient, value coefficient, max gradient norm, target KL (inf: none), γ, λ (1 without GAE)];
``flags (R, 7)`` = [norm_adv, clip_surrogate, clip_vloss, clip_grad, norm_obs, norm_reward,
bootstrap_truncation]. Buffers are the group's ``(T, R, E[, 4])`` tensors seen as NumPy arrays.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from toolbox.jit import _JIT
from toolbox.ppo import agent as A
from toolbox.ppo.kernels import (
    adam, cartpole_step, clip_grad_norm, counter_code, dense, dense_backward, gae_run, merge_moments, normalize_obs, permutation,
    reset_noise, tanh_backward_inplace, uniform32,
)

F32 = np.float32
H, D = A.HIDDEN, A.OBS_DIM
O_W1, O_B1, O_W2, O_B2, O_W3, O_B3 = (A.OFFSETS[n][0] for n in ("W1", "b1", "W2", "b2", "W3", "b3"))
P = A.PARAMS_PER_TOWER
NORM_ADV, CLIP_SURR, CLIP_VLOSS, CLIP_GRAD, NORM_OBS, NORM_REW, BOOTSTRAP = range(7)
DEBUG_COLUMNS = ("learning_rate", "value_loss", "policy_loss", "entropy", "old_approx_kl", "approx_kl",
                 "clipfrac", "explained_variance", "grad_norm", "epochs_run")


@numba.jit(**_JIT)
def tower_forward(th, x, h1, h2, y):
    """One tower ``th (P,)`` on rows ``x (n, 4)``: ``h1 = tanh(x W1 + b1)``, ``h2 = tanh(h1 W2 + b2)``,
    ``y (n, 3) = h2 W3 + b3`` (:func:`toolbox.ppo.agent.forward`)."""
    dense(x, th[O_W1:O_W1 + D * H].reshape((D, H)), th[O_B1:O_B1 + H], h1, True)
    dense(h1, th[O_W2:O_W2 + H * H].reshape((H, H)), th[O_B2:O_B2 + H], h2, True)
    dense(h2, th[O_W3:O_W3 + H * 3].reshape((H, 3)), th[O_B3:O_B3 + 3], y, False)


@numba.jit(**_JIT)
def tower_backward(th, g, x, h1, h2, dy, dh2, dh1):
    """Gradient of one tower into ``g (P,)`` given ``dy (n, 3)`` (autograd of :func:`toolbox.ppo.agent.forward`)."""
    dense_backward(h2, th[O_W3:O_W3 + H * 3].reshape((H, 3)), dy, g[O_W3:O_W3 + H * 3].reshape((H, 3)),
                   g[O_B3:O_B3 + 3], dh2)
    tanh_backward_inplace(dh2, h2)
    dense_backward(h1, th[O_W2:O_W2 + H * H].reshape((H, H)), dh2, g[O_W2:O_W2 + H * H].reshape((H, H)),
                   g[O_B2:O_B2 + H], dh1)
    tanh_backward_inplace(dh1, h1)
    dense_backward(x, th[O_W1:O_W1 + D * H].reshape((D, H)), dh1, g[O_W1:O_W1 + D * H].reshape((D, H)),
                   g[O_B1:O_B1 + H], np.empty((0, D), F32))


@numba.jit(**_JIT)
def values_of(th_critic, obs, out, scratch1, scratch2, scratch_y):
    """``out (n,) = V(obs (n, 4))`` with the value tower (for a shared trunk: the trunk's value column)."""
    tower_forward(th_critic, obs, scratch1, scratch2, scratch_y)
    for i in range(obs.shape[0]):
        out[i] = scratch_y[i, 2]


@numba.jit(**_JIT)
def rollout_run(r, R, K, T, E, theta, hp, flags, env_state, env_elapsed, env_keys, env_counter, action_keys, iteration,
                obs_mean, obs_var,
                obs_count, rew_acc, rew_mean, rew_var, rew_count, next_obs, next_raw, next_done, obs_buf, raw_buf,
                write_raw, actions, logprobs, rewards, dones, values, ep_end):
    """Run ``r``'s rollout of ``T`` steps in its ``E`` environments (:meth:`Group.rollout`); then its values."""
    actor, critic = theta[r], theta[r + (K - 1) * R]
    h1, h2, y = np.empty((E, H), F32), np.empty((E, H), F32), np.empty((E, 3), F32)
    f1, f2, fy = np.empty((1, H), F32), np.empty((1, H), F32), np.empty((1, 3), F32)
    fin, fin_n, vfin = np.empty((E, D), F32), np.empty((1, D), F32), np.empty(1, F32)
    term, trunc = np.zeros(E, np.bool_), np.zeros(E, np.bool_)
    raw64 = np.empty((E, D), np.float64)
    gamma = hp[r, 7]
    code = counter_code(iteration)  # this rollout's action noise: toolbox.rng.uniform(action_keys, iteration, T)
    for e in range(E):
        dones[0, r, e] = next_done[r, e]
    for step in range(T):
        obs_buf[step, r] = next_obs[r]
        if write_raw:
            raw_buf[step, r] = next_raw[r]
        tower_forward(actor, next_obs[r], h1, h2, y)
        for e in range(E):
            l0, l1 = y[e, 0], y[e, 1]
            mx = max(l0, l1)
            lse = mx + math.log(math.exp(l0 - mx) + math.exp(l1 - mx))
            lp0, lp1 = l0 - lse, l1 - lse
            a = uniform32(action_keys[r, e], code, step) < math.exp(lp1)  # P(a = 1) = softmax_1: inverse-CDF sampling
            actions[step, r, e] = F32(1.0) if a else F32(0.0)
            logprobs[step, r, e] = lp1 if a else lp0
            if K == 1:
                values[step, r, e] = y[e, 2]
            i = r * E + e
            term[e], trunc[e] = cartpole_step(env_state[i], a, env_elapsed[i:i + 1], fin[e])
            ep_end[step, r, e] = term[e] or trunc[e]
            if ep_end[step, r, e]:  # same-step autoreset
                reset_noise(env_keys[i], env_counter + step, env_state[i])
                env_elapsed[i] = 0
            for j in range(D):
                next_raw[r, e, j] = env_state[i, j]
                raw64[e, j] = F32(env_state[i, j])
        scale = 1.0
        if flags[r, NORM_REW]:
            for e in range(E):
                rew_acc[r, e] = rew_acc[r, e] * gamma * (0.0 if term[e] else 1.0) + 1.0
            merge_moments(rew_mean[r:r + 1], rew_var[r:r + 1], rew_count[r:r + 1], rew_acc[r].reshape((E, 1)))
            for e in range(E):
                if term[e] or trunc[e]:
                    rew_acc[r, e] = 0.0
            scale = math.sqrt(rew_var[r] + 1e-8)
        for e in range(E):
            rew = F32(1.0 / scale)
            if flags[r, BOOTSTRAP] and trunc[e] and not term[e]:
                # a time limit is not a terminal state: r + γ V(s_final) stands in for the lost future
                if flags[r, NORM_OBS]:
                    normalize_obs(fin[e:e + 1], obs_mean[r], obs_var[r], fin_n)
                else:
                    fin_n[0] = fin[e]
                values_of(critic, fin_n, vfin, f1, f2, fy)
                rew = rew + F32(gamma) * vfin[0]
            rewards[step, r, e] = rew
        if flags[r, NORM_OBS]:
            merge_moments(obs_mean[r], obs_var[r], obs_count[r:r + 1], raw64)
            normalize_obs(next_raw[r], obs_mean[r], obs_var[r], next_obs[r])
        else:
            next_obs[r] = next_raw[r]
        if step + 1 < T:
            for e in range(E):
                dones[step + 1, r, e] = F32(1.0) if ep_end[step, r, e] else F32(0.0)
    for e in range(E):
        next_done[r, e] = F32(1.0) if ep_end[T - 1, r, e] else F32(0.0)
    if K == 2:  # the value tower is not needed to act: one pass over the whole rollout afterwards
        flat = np.empty((T * E, D), F32)
        for t in range(T):
            flat[t * E:(t + 1) * E] = obs_buf[t, r]
        v = np.empty(T * E, F32)
        values_of(critic, flat, v, np.empty((T * E, H), F32), np.empty((T * E, H), F32), np.empty((T * E, 3), F32))
        for t in range(T):
            for e in range(E):
                values[t, r, e] = v[t * E + e]


@numba.jit(**_JIT)
def minibatch_grad(K, x, a, old_logp, adv, ret, old_v, c, ent_coef, vf_coef, fl, towers, hs1, hs2, ys, dys, dh2, dh1,
                   grads, stats):
    """CleanRL's loss on one minibatch and its gradient into ``grads (K, P)`` (:meth:`GroupUpdate.loss` and its autograd gradient).

    ``stats`` receives [policy loss, value loss, entropy, old approx KL, approx KL, clip fraction]."""
    M = x.shape[0]
    for k in range(K):
        tower_forward(towers[k], x, hs1[k], hs2[k], ys[k])
    ly = ys[0]
    vy = ys[K - 1]
    if fl[NORM_ADV]:
        mean = 0.0
        for i in range(M):
            mean += adv[i]
        mean /= M
        ss = 0.0
        for i in range(M):
            ss += (adv[i] - mean) * (adv[i] - mean)
        std = math.sqrt(ss / (M - 1))  # torch.std: the sample standard deviation
        for i in range(M):
            adv[i] = F32((adv[i] - mean) / (std + 1e-8))
    inv_m = F32(1.0 / M)
    c32 = F32(c)
    pg_sum = vl_sum = ent_sum = okl_sum = kl_sum = 0.0
    n_clip = 0
    for i in range(M):
        l0, l1 = ly[i, 0], ly[i, 1]
        mx = max(l0, l1)
        lse = mx + math.log(math.exp(l0 - mx) + math.exp(l1 - mx))
        lp0, lp1 = F32(l0 - lse), F32(l1 - lse)
        p0, p1 = F32(math.exp(lp0)), F32(math.exp(lp1))
        new_logp = lp1 if a[i] > 0.5 else lp0
        entropy = -(p0 * lp0 + p1 * lp1)
        logratio = new_logp - old_logp[i]
        ratio = F32(math.exp(logratio))
        if abs(ratio - F32(1.0)) > c32:
            n_clip += 1
        A_ = adv[i]
        pg1 = -A_ * ratio
        pg2 = -A_ * min(max(ratio, F32(1.0) - c32), F32(1.0) + c32)
        if fl[CLIP_SURR]:
            g_ratio = -A_ if pg1 >= pg2 else F32(0.0)
            pg_sum += max(pg1, pg2)
        else:
            g_ratio = -A_
            pg_sum += pg1
        v = vy[i, 2]
        diff = v - ret[i]
        u = diff * diff
        dv_raw = v - old_v[i]
        diff_c = old_v[i] + min(max(dv_raw, -c32), c32) - ret[i]
        uc = diff_c * diff_c
        if fl[CLIP_VLOSS]:
            # autograd of max splits ties in half; the clipped branch passes gradient only inside the clip range
            tie = F32(0.5) if u == uc else F32(0.0)
            w_u = (F32(1.0) if u > uc else F32(0.0)) + tie
            w_c = ((F32(1.0) if uc > u else F32(0.0)) + tie) if (dv_raw >= -c32 and dv_raw <= c32) else F32(0.0)
            vl_sum += max(u, uc)
        else:
            w_u, w_c = F32(1.0), F32(0.0)
            vl_sum += u
        ent_sum += entropy
        okl_sum += -logratio
        kl_sum += (ratio - F32(1.0)) - logratio
        d_logp = g_ratio * ratio * inv_m
        e_w = F32(ent_coef) * inv_m
        # d log π_a / d logits = onehot − p ; d H / d logits = −p (log p + H)
        d0 = d_logp * ((F32(1.0) if a[i] <= 0.5 else F32(0.0)) - p0) + e_w * p0 * (lp0 + entropy)
        d1 = d_logp * ((F32(1.0) if a[i] > 0.5 else F32(0.0)) - p1) + e_w * p1 * (lp1 + entropy)
        dv = F32(vf_coef) * inv_m * (w_u * diff + w_c * diff_c)
        dys[0, i, 0], dys[0, i, 1] = d0, d1
        dys[K - 1, i, 2] = dv
        if K == 2:
            dys[0, i, 2] = F32(0.0)
            dys[1, i, 0], dys[1, i, 1] = F32(0.0), F32(0.0)
    for k in range(K):
        tower_backward(towers[k], grads[k], x, hs1[k], hs2[k], dys[k], dh2, dh1)
    stats[0], stats[1], stats[2] = pg_sum / M, 0.5 * vl_sum / M, ent_sum / M
    stats[3], stats[4], stats[5] = okl_sum / M, kl_sum / M, n_clip / M


@numba.jit(**_JIT)
def update_run(r, R, K, T, E, M, epochs, theta, exp_avg, exp_avg_sq, adam_step, hp, flags, obs_buf, actions,
               logprobs, advantages, returns, values, perm_keys, iteration, debug):
    """Run ``r``'s epochs of minibatch steps, gradient clipping and Adam (:meth:`GroupUpdate.update`);
    writes its row of ``debug`` (columns :data:`DEBUG_COLUMNS`)."""
    B = T * E
    fl = flags[r]
    lr, eps, c, ent_coef, vf_coef, max_norm, target_kl = hp[r, 0], hp[r, 1], hp[r, 2], hp[r, 3], hp[r, 4], hp[r, 5], hp[r, 6]
    # the batch in CleanRL's order: transition t·E + e
    b_obs = np.empty((B, D), F32)
    b_cols = np.empty((5, B), F32)  # action, log-prob, advantage, return, value
    for t in range(T):
        for e in range(E):
            b = t * E + e
            b_obs[b] = obs_buf[t, r, e]
            b_cols[0, b], b_cols[1, b], b_cols[2, b] = actions[t, r, e], logprobs[t, r, e], advantages[t, r, e]
            b_cols[3, b], b_cols[4, b] = returns[t, r, e], values[t, r, e]
    x = np.empty((M, D), F32)
    mb = np.empty((5, M), F32)
    hs1, hs2, ys, dys = np.empty((K, M, H), F32), np.empty((K, M, H), F32), np.empty((K, M, 3), F32), np.zeros((K, M, 3), F32)
    dh2, dh1 = np.empty((M, H), F32), np.empty((M, H), F32)
    grads = np.empty((K, P), F32)
    towers = np.empty((K, P), F32)
    stats = np.zeros(6, np.float64)
    clip_sum, n_mb, epochs_run, grad_norm = 0.0, 0, 0, 0.0
    perm = np.empty(B, np.int64)
    for epoch in range(epochs):
        # a fresh shuffle each epoch: toolbox.rng.uniform(perm_keys, (iteration − 1)·epochs + epoch, B), argsorted
        permutation(perm_keys[r], (iteration - 1) * epochs + epoch, B, perm)
        for start in range(0, B, M):
            for j in range(M):
                b = perm[start + j]
                x[j] = b_obs[b]
                for q in range(5):
                    mb[q, j] = b_cols[q, b]
            for k in range(K):
                towers[k] = theta[r + k * R]
            minibatch_grad(K, x, mb[0], mb[1], mb[2], mb[3], mb[4], c, ent_coef, vf_coef, fl, towers, hs1, hs2,
                           ys, dys, dh2, dh1, grads, stats)
            clip_sum += stats[5]
            n_mb += 1
            grad_norm = clip_grad_norm(grads, max_norm, fl[CLIP_GRAD])
            adam_step[r] += 1
            for k in range(K):
                row = r + k * R
                adam(theta[row], grads[k], exp_avg[row], exp_avg_sq[row], adam_step[r], lr, eps, 0.9, 0.999)
        epochs_run += 1
        if stats[4] > target_kl:  # CleanRL checks the last minibatch's approx KL after each epoch
            break
    # explained variance of the value predictions over the batch (population variances)
    my = mv = 0.0
    for b in range(B):
        my += b_cols[3, b]
        mv += b_cols[3, b] - b_cols[4, b]
    my /= B
    mv /= B
    vy = vr = 0.0
    for b in range(B):
        vy += (b_cols[3, b] - my) ** 2
        vr += (b_cols[3, b] - b_cols[4, b] - mv) ** 2
    debug[r, 0] = lr
    debug[r, 1], debug[r, 2], debug[r, 3] = stats[1], stats[0], stats[2]
    debug[r, 4], debug[r, 5] = stats[3], stats[4]
    debug[r, 6] = clip_sum / n_mb
    debug[r, 7] = np.nan if vy == 0.0 else 1.0 - vr / vy
    debug[r, 8], debug[r, 9] = grad_norm, epochs_run


@numba.jit(**_JIT)
def run_iterations(r0, r1, R, K, T, E, M, epochs, theta, exp_avg, exp_avg_sq, adam_step, hp, flags, lr0, anneal,
                   num_iterations, env_state, env_elapsed, env_keys, env_counter, action_keys, perm_keys, first_iteration,
                   n_iterations, obs_mean, obs_var, obs_count, rew_acc, rew_mean, rew_var, rew_count, next_obs, next_raw,
                   next_done, obs_buf, raw_buf, write_raw, actions, logprobs, rewards, dones, values, advantages, returns,
                   ep_end, debug):
    """Iterations ``first_iteration … first_iteration + n_iterations − 1`` of runs ``r0 … r1 − 1``: per iteration the
    learning rate (annealed linearly over ``num_iterations`` where ``anneal``), the rollout, GAE and returns, then the
    update. ``ep_end (n_iterations, T, R, E)`` and ``debug (n_iterations, R, 10)`` receive every iteration's episode
    ends and debug values; the rollout buffers hold the last iteration's batch.

    Several iterations per call because the GIL is taken back at every return to Python: on a server whose
    sessions keep Python busy, each of those waits cost milliseconds (see :class:`toolbox.ppo.compiled.CompiledGroup`)."""
    for r in range(r0, r1):
        critic = theta[r + (K - 1) * R]
        for i in range(n_iterations):
            iteration = first_iteration + i
            frac = 1.0 - (iteration - 1.0) / num_iterations
            hp[r, 0] = lr0[r] * frac if anneal[r] else lr0[r]
            rollout_run(r, R, K, T, E, theta, hp, flags, env_state, env_elapsed, env_keys, env_counter + i * T,
                        action_keys, iteration, obs_mean, obs_var, obs_count, rew_acc, rew_mean, rew_var, rew_count,
                        next_obs, next_raw, next_done, obs_buf, raw_buf, write_raw, actions, logprobs, rewards, dones,
                        values, ep_end[i])
            nv = np.empty(E, F32)
            values_of(critic, next_obs[r], nv, np.empty((E, H), F32), np.empty((E, H), F32), np.empty((E, 3), F32))
            gae_run(rewards[:, r], values[:, r], dones[:, r], nv, next_done[r], hp[r, 7], hp[r, 8], advantages[:, r])
            for t in range(T):
                for e in range(E):
                    returns[t, r, e] = advantages[t, r, e] + values[t, r, e]
            update_run(r, R, K, T, E, M, epochs, theta, exp_avg, exp_avg_sq, adam_step, hp, flags, obs_buf, actions,
                       logprobs, advantages, returns, values, perm_keys, iteration, debug[i])
