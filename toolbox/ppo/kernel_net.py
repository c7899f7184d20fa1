"""The actor-critic towers of the compiled PPO path and CleanRL's loss on one minibatch with its
gradient by hand, as compiled loops (the tensor twins: :func:`toolbox.ppo.agent.forward` and
:mod:`toolbox.ppo.loss` through autograd). :mod:`toolbox.ppo.compiled_kernel` calls them in its
rollout and update loops; ``tests/test_ppo_kernels.py`` checks the gradient against
``torch.func.grad`` per parameter block.

A tower is one row ``th (P,)`` of ``theta (K·R, P)``, its blocks at the offsets :data:`TOWER`
names (weights ``(in, out)``); activations are ``(rows, features)`` float32.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba

from toolbox.jit import _JIT, F32
from toolbox.kernels import tower_backward, tower_forward
from toolbox.ppo import agent as A
from toolbox.ppo.layout import SWITCH, TOWER

H, D, OUT = A.HIDDEN, A.OBS_DIM, A.OUT
LOSS_STATS = ("policy_loss", "value_loss", "entropy", "old_approx_kl", "approx_kl", "clipfrac")
STAT = namedtuple("LossStat", LOSS_STATS)(*range(len(LOSS_STATS)))
"""The entries of ``minibatch_grad``'s ``stats (6,)``."""


@numba.jit(**_JIT)
def values_of(th_critic, obs, out, scratch1, scratch2, scratch_y):
    """``out (n,) = V(obs (n, 4))`` with the value tower (for a shared trunk: the trunk's value
    column); ``scratch1, scratch2 (n, 64)``, ``scratch_y (n, 3)``."""
    tower_forward(th_critic, TOWER, obs, scratch1, scratch2, scratch_y)
    for i in range(obs.shape[0]):
        out[i] = scratch_y[i, 2]


@numba.jit(**_JIT)
def minibatch_grad(K, x, a, old_logp, adv, ret, old_v, c, ent_coef, vf_coef, fl, towers, hs1, hs2,
                   ys, dys, dh2, dh1, grads, stats):
    """CleanRL's loss on one minibatch of ``M`` rows and its gradient into ``grads (K, P)``
    (:meth:`GroupUpdate.loss` and its autograd gradient).

    ``x (M, 4)``; ``a, old_logp, adv, ret, old_v (M,)`` (``adv`` is normalized in place with
    ``fl[SWITCH.norm_adv]``); ``c`` the clip ε; ``fl`` one run's switches (columns :data:`SWITCH`);
    ``towers (K, P)``; scratch ``hs1, hs2 (K, M, 64)``, ``ys, dys (K, M, 3)``, ``dh2, dh1 (M, 64)``.
    ``stats (6,)`` receives the losses, named by :data:`STAT`."""
    M = x.shape[0]
    for k in range(K):
        tower_forward(towers[k], TOWER, x, hs1[k], hs2[k], ys[k])
    ly = ys[0]
    vy = ys[K - 1]
    if fl[SWITCH.norm_adv]:
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
        if fl[SWITCH.clip_surrogate]:
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
        if fl[SWITCH.clip_vloss]:
            # autograd of max splits ties in half; the clipped branch passes gradient only inside
            # the clip range
            tie = F32(0.5) if u == uc else F32(0.0)
            w_u = (F32(1.0) if u > uc else F32(0.0)) + tie
            inside = dv_raw >= -c32 and dv_raw <= c32
            w_c = ((F32(1.0) if uc > u else F32(0.0)) + tie) if inside else F32(0.0)
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
        tower_backward(towers[k], TOWER, grads[k], x, hs1[k], hs2[k], dys[k], dh2, dh1)
    stats[STAT.policy_loss], stats[STAT.value_loss] = pg_sum / M, 0.5 * vl_sum / M
    stats[STAT.entropy], stats[STAT.old_approx_kl] = ent_sum / M, okl_sum / M
    stats[STAT.approx_kl], stats[STAT.clipfrac] = kl_sum / M, n_clip / M
