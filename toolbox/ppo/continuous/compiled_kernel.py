r"""Whole continuous-PPO iterations (rollout, GAE, every epoch and minibatch step) of a run, as
three compiled loops.

This is :meth:`toolbox.ppo.continuous.reference.ReferencePPO.run_iteration` — the same formulas,
the same order, the same random numbers — written as loops over one run at a time that Numba
compiles (why loops: the reference's hundreds of small tensor operations per step cost
microseconds of dispatch each, most of the time at these sizes). Runs are independent, so threads
can take slices of them. :class:`toolbox.ppo.continuous.compiled.CompiledPPO` calls
:func:`start_runs` once and :func:`run_iterations` (a Python loop over the three compiled steps of
an iteration) for one or several iterations.

The arguments are the named tuples of :mod:`toolbox.ppo.continuous.layout`. The pendulum, the
running statistics and the random numbers keep IEEE order (``_EXACT``): in float64 they equal the
tensor path's numbers bit for bit; the networks and the loss's gradient are
:mod:`toolbox.ppo.continuous.kernel_net`'s.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from toolbox.envs import pendulum as pd
from toolbox.jit import _EXACT, _INLINE, _JIT, F32
from toolbox.kernels import adam, clip_grad_norm, like, permutation, tower_forward
from toolbox.ppo.continuous.kernel_net import (
    Coefs,
    Minibatch,
    Work,
    gaussian_log_prob,
    log_std_of,
    minibatch_grad,
)
from toolbox.ppo.continuous.layout import DEBUG, OUT, SWITCH, TOWER
from toolbox.ppo.continuous.reference import HIDDEN, OBS_DIM
from toolbox.ppo.kernels import gae_run
from toolbox.rng import counter_code, uniform_bits

H, D = HIDDEN, OBS_DIM
TWO_32 = 1.0 / 4294967296.0
EPS = 1e-8  # under the square roots of observation and reward normalization (Gymnasium's)
ADAM_BETAS = (0.9, 0.999)


# -- the environment: toolbox.envs.pendulum, one pendulum at a time ----------------------------
@numba.jit(**_EXACT)
def pendulum_step(state, u):
    r"""One step of :func:`toolbox.envs.pendulum.pendulum_step`: ``state (2,)`` float64
    ``[θ, θ̇]`` updated in place by the float32 torque ``u`` (clipped to ±2); returns the reward
    :math:`-(\operatorname{norm}(\theta)^2 + 0.1\dot\theta^2 + 0.001u^2)` of the state before."""
    u = min(max(u, F32(-pd.MAX_TORQUE)), F32(pd.MAX_TORQUE))
    th, thdot = state[0], state[1]
    th_n = (th + math.pi) % (2 * math.pi) - math.pi  # angle_normalize (Python's modulo)
    # 0.001·u² and 3u in float32, as Gymnasium computes them for its float32 action
    costs = th_n * th_n + 0.1 * (thdot * thdot) + np.float64(F32(0.001) * (u * u))
    torque = np.float64(F32(3.0 / (pd.M * pd.L ** 2)) * u)
    newthdot = thdot + (3 * pd.G / (2 * pd.L) * math.sin(th) + torque) * pd.DT
    newthdot = min(max(newthdot, -pd.MAX_SPEED), pd.MAX_SPEED)
    state[0], state[1] = th + newthdot * pd.DT, newthdot
    return -costs


@numba.jit(**_EXACT)
def reset_draw(key, counter, state):
    """The reset state ``state (2,)`` that :class:`~toolbox.envs.pendulum.BatchedPendulum` draws
    at its ``counter``-th reset: ``θ ∈ [−π, π], θ̇ ∈ [−1, 1]`` (``low + (high − low)·U``)."""
    code = counter_code(counter)
    for j in range(2):
        high = pd.RESET_HIGH[j]
        state[j] = -high + (high - -high) * (uniform_bits(key, code, j) * TWO_32)


@numba.jit(**_INLINE)
def standard_normal(key, code, j, n):
    """Entry ``j`` of :func:`toolbox.ppo.continuous.policy.standard_normal` ``(keys, counter, n)``
    (Box–Muller on uniforms ``j`` and ``n + j``), float32."""
    u1 = uniform_bits(key, code, j) * TWO_32
    u2 = uniform_bits(key, code, n + j) * TWO_32
    return F32(math.sqrt(-2.0 * math.log1p(-u1)) * math.cos(2 * math.pi * u2))


# -- what the agent sees and is paid: the reference's Observe, per (run, environment) ----------
@numba.jit(**_INLINE)
def push_moments(mean, var, count, x):
    r"""Chan's merge of one sample ``x`` into ``mean, var`` after ``count`` samples:
    :math:`\mu' = \mu + \delta/n',\ \sigma'^2 = (n\sigma^2 + \delta^2 n/n')/n'`; returns both."""
    delta = x - mean
    total = count + 1.0
    return mean + delta / total, (var * count + delta * delta * count / total) / total


@numba.jit(**_EXACT)
def observe_obs(r, e, state, fl, s, stats, out):
    """``out (3,)`` = the agent's observation of ``state``: ``[cos θ, sin θ, θ̇]`` as float32,
    normalized by its running statistics (updated first) and clipped, each where switched on."""
    raw = (F32(math.cos(state[0])), F32(math.sin(state[0])), F32(state[1]))
    count, bound = stats.obs_count[r], F32(s.obs_clip[r])
    for j in range(D):
        x = raw[j]
        if fl[SWITCH.norm_obs]:  # [detail:norm_obs] (o − μ)/√(σ² + 1e-8), statistics first
            mean, var = push_moments(stats.obs_mean[r, e, j], stats.obs_var[r, e, j], count,
                                     np.float64(raw[j]))
            stats.obs_mean[r, e, j], stats.obs_var[r, e, j] = mean, var
            x = F32((np.float64(raw[j]) - mean) / math.sqrt(var + EPS))
        if fl[SWITCH.clip_obs]:  # [detail:clip_obs]
            x = min(max(x, -bound), bound)
        out[j] = x


@numba.jit(**_EXACT)
def observe_reward(r, e, reward, gamma, fl, s, stats):
    r"""The reward the agent learns from: scaled by the running std of the discounted return
    :math:`G_t = \gamma G_{t-1} + r_t` (updated first; Pendulum never terminates, so G never
    restarts) and clipped, each where switched on."""
    if fl[SWITCH.norm_reward]:  # [detail:norm_reward]
        G = stats.discounted[r, e] * gamma * 1.0 + reward  # · (1 − terminated)
        mean, var = push_moments(stats.ret_mean[r, e], stats.ret_var[r, e], stats.ret_count[r], G)
        stats.ret_mean[r, e], stats.ret_var[r, e], stats.discounted[r, e] = mean, var, G
        reward = reward / math.sqrt(var + EPS)
    if fl[SWITCH.clip_reward]:  # [detail:clip_reward]
        reward = min(max(reward, -s.reward_clip[r]), s.reward_clip[r])
    return reward


@numba.jit(**_EXACT)
def start_runs(sz, s, envs, keys, stats, buf):
    """Reset every environment (reset draw 0) and observe it: the reference's ``__init__``."""
    for r in range(sz.runs):
        for e in range(sz.envs):
            i = r * sz.envs + e
            reset_draw(keys.env[i], np.int64(0), envs.state[i])  # not a literal: one specialization
            envs.resets[i], envs.elapsed[i] = 1, 0
            observe_obs(r, e, envs.state[i], s.switches[r], s, stats, buf.next_obs[r, e])
            buf.next_done[r, e] = 0.0
        stats.obs_count[r] += 1.0


# -- one iteration of one run -------------------------------------------------------------------
@numba.jit(**_EXACT)
def rollout_run(r, iteration, sz, theta, s, envs, keys, stats, buf, ep_end, ep_return):
    """Run ``r``'s rollout of ``T`` steps in its ``E`` environments (the reference's
    ``collect_rollout``) and its values; ``ep_end, ep_return (R, T, E)`` receive the episodes
    that end and their returns."""
    R, T, E = sz.runs, sz.steps, sz.envs
    fl = s.switches[r]
    shared = fl[SWITCH.shared_network]
    actor = theta[r]
    critic = actor if shared else theta[R + r]
    dtype = theta.dtype
    h1, h2, y = np.empty((E, H), dtype), np.empty((E, H), dtype), np.empty((E, 3), dtype)
    low, high = like(theta, -pd.MAX_TORQUE), like(theta, pd.MAX_TORQUE)
    code = counter_code(iteration)  # this rollout's action noise: one counter per iteration
    for step in range(T):
        # (loops, not slice assignments: each of those compiles Numba's shape-error message)
        for e in range(E):
            buf.dones[r, step, e] = buf.next_done[r, e]
            for j in range(D):
                buf.obs[r, step, e, j] = buf.next_obs[r, e, j]
        tower_forward(actor, TOWER, buf.next_obs[r], h1, h2, y)
        for e in range(E):
            mean, log_std = y[e, OUT.mean], log_std_of(fl, actor, y[e])
            z = like(theta, standard_normal(keys.action[r, e], code, step, T))
            action = mean + math.exp(log_std) * z
            logprob = gaussian_log_prob(action, mean, log_std)
            env_action = min(max(action, low), high)
            if not fl[SWITCH.clip_action]:  # [detail:clip_action] off: store the clipped action
                action, logprob = env_action, gaussian_log_prob(env_action, mean, log_std)
            buf.actions[r, step, e], buf.logprobs[r, step, e] = action, logprob
            if shared:
                buf.values[r, step, e] = y[e, OUT.value]
            i = r * E + e
            reward = pendulum_step(envs.state[i], F32(env_action))
            envs.elapsed[i] += 1
            envs.episode_return[i] += reward
            ended = envs.elapsed[i] >= pd.MAX_EPISODE_STEPS  # truncation; never terminated
            ep_end[r, step, e] = ended
            if ended:  # same-step autoreset
                ep_return[r, step, e] = envs.episode_return[i]
                envs.episode_return[i], envs.elapsed[i] = 0.0, 0
                reset_draw(keys.env[i], envs.resets[i], envs.state[i])
                envs.resets[i] += 1
            buf.next_done[r, e] = 1.0 if ended else 0.0
            buf.rewards[r, step, e] = observe_reward(r, e, reward, sz.gamma, fl, s, stats)
            observe_obs(r, e, envs.state[i], fl, s, stats, buf.next_obs[r, e])
        stats.ret_count[r] += 1.0
        stats.obs_count[r] += 1.0
    if not shared:  # the critic is not needed to act: one pass over the whole rollout afterwards
        flat, v = np.empty((T * E, D), dtype), np.empty(T * E, dtype)
        for t in range(T):
            for e in range(E):
                for j in range(D):
                    flat[t * E + e, j] = buf.obs[r, t, e, j]
        values_of(critic, flat, v)
        for t in range(T):
            for e in range(E):
                buf.values[r, t, e] = v[t * E + e]


@numba.jit(**_JIT)
def values_of(tower, x, out):
    """``out (n,) = V(x (n, 3))``, the value column of ``tower``."""
    n = x.shape[0]
    h1, h2, y = np.empty((n, H), x.dtype), np.empty((n, H), x.dtype), np.empty((n, 3), x.dtype)
    tower_forward(tower, TOWER, x, h1, h2, y)
    for i in range(n):
        out[i] = y[i, OUT.value]


@numba.jit(**_JIT)
def update_run(r, iteration, sz, params, s, buf, perm_key, debug):
    """Run ``r``'s epochs of minibatch steps with gradient clipping and Adam (the reference's
    ``update``): ``params`` :class:`Params`, shuffles from stream ``perm_key``; writes the last
    minibatch's logged values into ``debug (6,)``."""
    R, T, E, M = sz.runs, sz.steps, sz.envs, sz.minibatch
    B = T * E
    fl = s.switches[r]
    shared = fl[SWITCH.shared_network]
    rows = (r, r) if shared else (r, R + r)  # the actor's and the critic's row of theta
    towers = 1 if shared else 2
    theta, dtype = params.theta, params.theta.dtype
    lr = s.learning_rate[r]
    if fl[SWITCH.anneal_lr]:  # [detail:anneal_lr] α_k = (1 − (k − 1)/K) α
        lr = (1.0 - (iteration - 1.0) / sz.iterations) * lr
    coefs = Coefs(s.clip_coef[r], s.ent_coef[r], s.vf_coef[r])
    # the batch in CleanRL's order: transition b = t·E + e
    b_cols = (buf.actions[r], buf.logprobs[r], buf.advantages[r], buf.returns[r], buf.values[r])
    mb = Minibatch(np.empty((M, D), dtype), np.empty(M, dtype), np.empty(M, dtype),
                   np.empty(M, dtype), np.empty(M, dtype), np.empty(M, dtype))
    mb_cols = (mb.action, mb.logprob, mb.advantage, mb.ret, mb.value)
    work = Work(np.empty((2, M, H), dtype), np.empty((2, M, H), dtype),
                np.empty((2, M, 3), dtype), np.zeros((2, M, 3), dtype),
                np.empty((M, H), dtype), np.empty((M, H), dtype))
    grads = np.zeros((2, theta.shape[1]), dtype)
    stats = np.zeros(len(DEBUG), np.float64)
    perm = np.empty(B, np.int64)
    for epoch in range(sz.epochs):
        # [detail:num_minibatches] a fresh shuffle each epoch, cut into minibatches of M
        permutation(perm_key, (iteration - 1) * sz.epochs + epoch, B, perm)
        for start in range(0, B, M):
            for j in range(M):
                t, e = divmod(perm[start + j], E)
                for q in range(D):
                    mb.x[j, q] = buf.obs[r, t, e, q]
                for q in range(len(b_cols)):
                    mb_cols[q][j] = b_cols[q][t, e]
            minibatch_grad(fl, coefs, mb, theta[rows[0]], theta[rows[1]], grads, work, stats)
            # [detail:clip_grad] the norm over all the run's parameters; clipped where on
            stats[DEBUG.grad_norm] = clip_grad_norm(grads[:towers], s.max_grad_norm[r],
                                                    fl[SWITCH.clip_grad])
            params.adam_step[r] += 1
            for k in range(towers):
                adam(theta[rows[k]], grads[k], params.exp_avg[rows[k]],
                     params.exp_avg_sq[rows[k]], params.adam_step[r], lr, s.adam_eps[r],
                     ADAM_BETAS[0], ADAM_BETAS[1])
        if stats[DEBUG.approx_kl] > sz.target_kl:  # [detail:target_kl] stop the epochs
            break
    for q in range(len(DEBUG)):
        debug[q] = stats[q]


@numba.jit(**_JIT)
def advantages_run(r, sz, theta, s, buf):
    """Run ``r``'s GAE(λ) advantages and returns of its rollout (the reference's
    ``compute_advantages``), bootstrapped from the critic's value of the next observation."""
    R, E = sz.runs, sz.envs
    critic = theta[r] if s.switches[r][SWITCH.shared_network] else theta[R + r]
    next_value = np.empty(E, theta.dtype)
    values_of(critic, buf.next_obs[r], next_value)
    # [detail:gae] GAE(λ), λ = 1 when off (the layout's gae_lambda)
    gae_run(buf.rewards[r], buf.values[r], buf.dones[r], next_value, buf.next_done[r],
            sz.gamma, s.gae_lambda[r], buf.advantages[r])
    for t in range(sz.steps):
        for e in range(E):
            buf.returns[r, t, e] = buf.advantages[r, t, e] + buf.values[r, t, e]


def run_iterations(r0, r1, first_iteration, n_iterations, sz, params, s, envs, keys, stats, buf,
                   log):
    """Iterations ``first_iteration … first_iteration + n_iterations − 1`` of runs ``r0 … r1 − 1``:
    each the rollout, GAE(λ) and returns, then the update. ``log`` :class:`Log` receives every
    iteration's episode ends and logged values; the rollout buffers hold the last iteration's
    batch.

    Python, not compiled: three kernel calls an iteration cost microseconds against the
    milliseconds of a rollout, while one compiled loop around them made Numba optimize and emit the
    whole program once more (1.8 s of a first compile's 14 s), and it lets
    :data:`ROLLOUT_KERNELS` and :data:`UPDATE_KERNELS` compile in two processes at once."""
    for r in range(r0, r1):
        for i in range(n_iterations):
            iteration = first_iteration + i
            rollout_run(r, iteration, sz, params.theta, s, envs, keys, stats, buf,
                        log.ep_end[i], log.ep_return[i])
            advantages_run(r, sz, params.theta, s, buf)
            update_run(r, iteration, sz, params, s, buf, keys.permutation[r], log.debug[i, r])


ROLLOUT_KERNELS = (start_runs, rollout_run, advantages_run)
UPDATE_KERNELS = (update_run,)
"""The kernels in two groups of about equal compile time (~6 s each on one core), which share
only ``tower_forward``."""
