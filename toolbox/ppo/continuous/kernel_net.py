r"""The Gaussian actor-critic of the compiled continuous-PPO path and the reference's loss on one
minibatch with its gradient by hand, as compiled loops (the tensor twins:
:func:`toolbox.ppo.continuous.stacked.forward`,
:func:`toolbox.ppo.continuous.policy.gaussian_log_prob` and
:func:`toolbox.ppo.continuous.reference.ppo_loss` through autograd).

A tower is one row ``th (P,)`` of ``theta (K·R, P)`` laid out by
:data:`~toolbox.ppo.continuous.layout.TOWER`: ``3 → 64 → 64 → 3`` (tanh) ending in the columns
:data:`~toolbox.ppo.continuous.layout.OUT` ``[μ, log σ(s), V]``. A run with separate networks
takes μ (and the state-dependent log σ) from its actor tower and V from its critic tower; a shared
trunk takes all three from one tower. Activations are ``(rows, features)`` in the runner's
precision: float32 for speed, float64 for the equality tests (the blocks of
:mod:`toolbox.kernels` follow their arrays' dtype).

The gradient of :math:`L = L^{clip} - c_2 \bar H + c_1 L^V` with respect to one sample's outputs:

.. math::
    \frac{\partial L}{\partial \mu} = g_i \frac{a - \mu}{\sigma^2},\quad
    \frac{\partial L}{\partial \log\sigma} = g_i \Big(\frac{(a - \mu)^2}{\sigma^2} - 1\Big)
    - \frac{c_2}{M},\quad
    \frac{\partial L}{\partial V} = \frac{c_1}{M}\,(w_u (V - R) + w_c (V^{clip} - R))

with :math:`g_i = \partial L^{clip}/\partial \log\pi_i = -\hat A_i \rho_i / M` where the
unclipped term is the max (else 0), and :math:`w_u, w_c` the max's choice between the value
losses (ties split in half, as autograd splits them).
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba

from toolbox.jit import _INLINE, _JIT
from toolbox.kernels import like, tower_backward, tower_forward
from toolbox.ppo.continuous.layout import DEBUG, OUT, SWITCH, TOWER
from toolbox.ppo.continuous.reference import HIDDEN, OBS_DIM

H, D, NOUT = HIDDEN, OBS_DIM, len(OUT)
LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))

Minibatch = namedtuple("Minibatch", "x action logprob advantage ret value")
Minibatch.__doc__ = """One minibatch of ``M`` transitions: ``x (M, 3)``, and the stored ``action,
logprob, advantage, ret`` (the value target) and ``value (M,)``."""
Coefs = namedtuple("Coefs", "clip_coef ent_coef vf_coef")
Coefs.__doc__ = """One run's loss coefficients ε, c₂, c₁ (floats)."""
Work = namedtuple("Work", "h1 h2 y dy dh2 dh1")
Work.__doc__ = """Scratch of a minibatch step: per tower ``h1, h2 (2, M, 64)``, outputs ``y`` and
their gradients ``dy (2, M, 3)``; ``dh2, dh1 (M, 64)`` for the backward pass."""


@numba.jit(**_INLINE)
def log_std_of(fl, actor, y_row):
    """log σ of one state: 0 without a learned σ (``gaussian_policy`` off), the parameter
    ``actor[log_std]`` when state-independent, else the actor's head ``y_row[log_std]``."""
    if not fl[SWITCH.gaussian_policy]:  # [detail:gaussian_policy] σ = 1, fixed
        return like(actor, 0.0)
    if fl[SWITCH.state_independent_std]:  # [detail:state_independent_std]
        return actor[TOWER.log_std]
    return y_row[OUT.log_std]


@numba.jit(**_INLINE)
def gaussian_log_prob(a, mean, log_std):
    """``log N(a; μ, σ²)`` of one component, ``torch.distributions.Normal``'s formula."""
    d = a - mean
    s = math.exp(log_std)
    var = s * s
    return -(d * d) / (2 * var) - log_std - LOG_SQRT_2PI


@numba.jit(**_JIT)
def normalize_advantages(adv):
    """``adv ← (adv − mean)/(std + 1e-8)`` in place, ``std`` the sample one (``torch.std``)."""
    M = adv.shape[0]
    mean = 0.0
    for i in range(M):
        mean += adv[i]
    mean /= M
    ss = 0.0
    for i in range(M):
        ss += (adv[i] - mean) * (adv[i] - mean)
    std = math.sqrt(ss / (M - 1))
    for i in range(M):
        adv[i] = (adv[i] - mean) / (std + 1e-8)


@numba.jit(**_JIT)
def minibatch_grad(fl, c, mb, actor, critic, grads, work, stats):
    """The loss of one run on one minibatch and its gradient (what ``loss.backward()`` leaves).

    ``fl`` the run's switches (:data:`SWITCH`), ``c`` :class:`Coefs`, ``mb`` :class:`Minibatch`
    (its advantages normalized in place with ``norm_adv``), ``actor, critic (P,)`` the towers (the
    same row for a shared trunk), ``grads (2, P)`` receives the actor's gradient in row 0 and the
    critic's in row 1 (unused for a shared trunk), ``work`` :class:`Work`; ``stats (6,)`` receives
    the reference's logged values (columns :data:`~toolbox.ppo.continuous.layout.DEBUG`)."""
    M = mb.x.shape[0]
    shared = fl[SWITCH.shared_network]
    tower_forward(actor, TOWER, mb.x, work.h1[0], work.h2[0], work.y[0])
    if not shared:
        tower_forward(critic, TOWER, mb.x, work.h1[1], work.h2[1], work.y[1])
    y, dy = work.y[0], work.dy[0]
    yv, dyv = (work.y[0], work.dy[0]) if shared else (work.y[1], work.dy[1])
    if fl[SWITCH.norm_adv]:  # [detail:norm_adv] per minibatch
        normalize_advantages(mb.advantage)
    learned_std = fl[SWITCH.gaussian_policy]
    head_std = learned_std and not fl[SWITCH.state_independent_std]
    eps, inv_m = c.clip_coef, 1.0 / M
    pg_sum = v_sum = ent_sum = kl_sum = 0.0
    n_clip = 0
    g_log_std = 0.0
    for i in range(M):
        mean, log_std = y[i, OUT.mean], log_std_of(fl, actor, y[i])
        d = mb.action[i] - mean
        s = math.exp(log_std)
        var = s * s
        newlogprob = -(d * d) / (2 * var) - log_std - LOG_SQRT_2PI
        logratio = newlogprob - mb.logprob[i]
        ratio = math.exp(logratio)
        adv = mb.advantage[i]
        pg1, pg2 = -adv * ratio, -adv * min(max(ratio, 1.0 - eps), 1.0 + eps)
        if fl[SWITCH.clip_surrogate]:  # [detail:clip_surrogate] max(pg1, pg2)
            # the clipped term has no gradient where it is the max (outside the clip range)
            g_ratio = -adv if pg1 >= pg2 else 0.0
            pg_sum += max(pg1, pg2)
        else:
            g_ratio = -adv
            pg_sum += pg1
        g_logp = g_ratio * ratio * inv_m
        # d log π / dμ = (a − μ)/σ², d log π / d log σ = (a − μ)²/σ² − 1; the entropy's −c₂/M
        dy[i, OUT.mean] = g_logp * d / var
        g_std = g_logp * (d * d / var - 1.0) - c.ent_coef * inv_m
        if head_std:
            dy[i, OUT.log_std] = g_std
        else:
            dy[i, OUT.log_std] = 0.0
            g_log_std += g_std
        v = yv[i, OUT.value]
        diff = v - mb.ret[i]
        u = diff * diff
        dv_raw = v - mb.value[i]
        diff_c = mb.value[i] + min(max(dv_raw, -eps), eps) - mb.ret[i]
        uc = diff_c * diff_c
        if fl[SWITCH.clip_vloss]:  # [detail:clip_vloss]
            # autograd of max splits ties in half; the clipped branch passes gradient only inside
            # the clip range
            tie = 0.5 if u == uc else 0.0
            w_u = (1.0 if u > uc else 0.0) + tie
            inside = dv_raw >= -eps and dv_raw <= eps
            w_c = ((1.0 if uc > u else 0.0) + tie) if inside else 0.0
            v_sum += max(u, uc)
        else:
            w_u, w_c = 1.0, 0.0
            v_sum += u
        dyv[i, OUT.value] = c.vf_coef * inv_m * (w_u * diff + w_c * diff_c)
        if not shared:
            dy[i, OUT.value] = 0.0
            dyv[i, OUT.mean], dyv[i, OUT.log_std] = 0.0, 0.0
        ent_sum += 0.5 + LOG_SQRT_2PI + log_std
        kl_sum += (ratio - 1.0) - logratio
        if abs(ratio - 1.0) > eps:
            n_clip += 1
    tower_backward(actor, TOWER, grads[0], mb.x, work.h1[0], work.h2[0], dy, work.dh2, work.dh1)
    # log σ (state-independent) collects every sample's gradient; the correlation parameter of
    # one action component gets none
    grads[0, TOWER.log_std] = g_log_std if learned_std and not head_std else 0.0
    grads[0, TOWER.offdiag] = 0.0
    if not shared:
        tower_backward(critic, TOWER, grads[1], mb.x, work.h1[1], work.h2[1], dyv, work.dh2,
                       work.dh1)
        grads[1, TOWER.log_std], grads[1, TOWER.offdiag] = 0.0, 0.0
    stats[DEBUG.pg_loss], stats[DEBUG.v_loss] = pg_sum * inv_m, 0.5 * v_sum * inv_m
    stats[DEBUG.entropy], stats[DEBUG.approx_kl] = ent_sum * inv_m, kl_sum * inv_m
    stats[DEBUG.clipfrac] = n_clip * inv_m
