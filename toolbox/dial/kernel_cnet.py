"""One day of the shared C-Net (``toolbox.dial.cnet.CNet``, summed embeddings) on ``N`` rows as
compiled loops: :func:`cnet_forward` and its gradient by hand, :func:`cnet_backward`.

Parameters are blocks of one flat float32 vector ``th`` located by a
:class:`toolbox.dial.layout.CNetLayout` ``lay`` (``lay.head_0_weight`` is the offset of
``head[0].weight``); :func:`toolbox.kernels.mat` and ``vec`` view a block. What the backward
reads of a day's forward is an :class:`Activations`. Sizes: ``n`` agents, ``H`` hidden, ``L`` GRU
layers, ``K`` outputs.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba
import numpy as np

from toolbox.jit import _INLINE, _JIT, F32, tanh32
from toolbox.kernels import mat, vec

BN_EPS = F32(1e-5)
BN_MOMENTUM = F32(0.1)

Activations = namedtuple("Activations", "msg_hat msg_istd e z rg ug ng ghn a1hat istd2 y3")
Activations.__doc__ = """What the backward reads of one day's forward: the normalised message
``msg_hat (N,)`` and ``msg_istd (1,)``, the message MLP's output ``e (N, H)``, the GRU input
``z (N, H)``, the gates ``rg, ug, ng (L, N, H)`` and ``ghn = W_hn h + b_hn``, the head's
normalised ``a1hat (N, H)``, ``istd2 (H,)`` and its ReLU output ``y3 (N, H)``."""


@numba.jit(**_INLINE)
def sigmoid32(x):
    """logistic(x) = (1 + tanh(x / 2)) / 2, with ``tanh32`` (vectorizes; within 2e-7 of
    torch.sigmoid)."""
    return F32(0.5) + F32(0.5) * tanh32(F32(0.5) * x)


@numba.jit(**_JIT)
def batchnorm_rows(x, gamma, beta, xhat, istd, out, run_mean, run_var, update):
    """Training-mode ``BatchNorm1d`` of ``x (N, F)``: statistics over the rows,
    ``out = gamma xhat + beta``.

    Stores ``xhat`` and ``istd (F,) = 1/sqrt(var + eps)`` (biased variance) for the backward; with
    ``update``, moves the running averages as torch does (momentum 0.1, unbiased variance).
    """
    N, Fn = x.shape
    for j in range(Fn):
        s = 0.0
        for r in range(N):
            s += x[r, j]
        mean = F32(s / N)
        v = 0.0
        for r in range(N):
            d = x[r, j] - mean
            v += d * d
        var = F32(v / N)
        istd[j] = F32(1.0) / math.sqrt(var + BN_EPS)
        for r in range(N):
            xhat[r, j] = (x[r, j] - mean) * istd[j]
            out[r, j] = gamma[j] * xhat[r, j] + beta[j]
        if update:
            run_mean[j] = (F32(1.0) - BN_MOMENTUM) * run_mean[j] + BN_MOMENTUM * mean
            run_var[j] = ((F32(1.0) - BN_MOMENTUM) * run_var[j]
                          + BN_MOMENTUM * F32(var * N / (N - 1)))


@numba.jit(**_JIT)
def batchnorm_rows_backward(dy, xhat, istd, gamma, dgamma, dbeta, dx):
    """Back through ``batchnorm_rows`` given ``dy (N, F)``: accumulates ``dgamma``, ``dbeta``;
    writes ``dx``."""
    N, Fn = dy.shape
    for j in range(Fn):
        s1 = 0.0
        s2 = 0.0
        for r in range(N):
            s1 += dy[r, j]
            s2 += dy[r, j] * xhat[r, j]
        dgamma[j] += s2
        dbeta[j] += s1
        m1, m2 = F32(s1 / N), F32(s2 / N)
        for r in range(N):
            dx[r, j] = istd[j] * (dy[r, j] * gamma[j] - gamma[j] * m1 - xhat[r, j] * gamma[j] * m2)


@numba.jit(**_JIT)
def cnet_forward(th, lay, comm, rial, obs, prev_a, prev_m, msg, h_in, h_out, act, out, stats,
                 update):
    """One day of the C-Net on ``N`` rows (row ``b n + i`` is agent ``i`` of episode ``b``).

    ``z = agent_embed[i] + obs_embed[obs] + action_embed[prev_a] (+ message_mlp(msg))
    (+ message_action_embed[prev_m] for RIAL)``, ``h_out = GRU(z, h_in)`` (``(L, N, H)``),
    ``out (N, K) = head(h_out[L - 1])``. Fills ``act`` (:class:`Activations`); moves the
    BatchNorm running averages ``stats`` when ``update``.
    """
    n, L, H, K = lay.n_agents, lay.rnn_layers, lay.rnn_size, lay.n_outputs
    N = obs.shape[0]
    agent = mat(th, lay.agent_embed_weight, n, H)
    obs_emb = mat(th, lay.obs_embed_weight, 2, H)
    action = mat(th, lay.action_embed_weight, 3, H)
    e, z = act.e, act.z
    if comm:  # message_mlp: BatchNorm1d(1) -> Linear(1, H) -> ReLU
        y1 = np.empty((N, 1), F32)
        batchnorm_rows(msg.reshape((N, 1)), vec(th, lay.message_mlp_0_weight, 1),
                       vec(th, lay.message_mlp_0_bias, 1), act.msg_hat.reshape((N, 1)),
                       act.msg_istd, y1, stats.msg_mean, stats.msg_var, update)
        wm, bm = vec(th, lay.message_mlp_1_weight, H), vec(th, lay.message_mlp_1_bias, H)
        for r in range(N):
            for j in range(H):
                e[r, j] = max(y1[r, 0] * wm[j] + bm[j], F32(0.0))
    if rial:
        message_action = mat(th, lay.message_action_embed_weight, 3, H)
    for r in range(N):
        i = r % n
        for j in range(H):
            v = agent[i, j] + obs_emb[obs[r], j] + action[prev_a[r], j]
            v = v + e[r, j] if comm else v
            z[r, j] = v + message_action[prev_m[r], j] if rial else v
    x = z
    for layer in range(L):  # GRU, torch's gate order (r, u, n)
        w_ih = mat(th, lay.rnn_weight_ih[layer], 3 * H, H)
        w_hh = mat(th, lay.rnn_weight_hh[layer], 3 * H, H)
        b_ih = vec(th, lay.rnn_bias_ih[layer], 3 * H)
        b_hh = vec(th, lay.rnn_bias_hh[layer], 3 * H)
        gi = np.dot(x, w_ih.T)
        gh = np.dot(h_in[layer], w_hh.T)
        for r in range(N):
            for j in range(H):
                rr = sigmoid32(gi[r, j] + b_ih[j] + (gh[r, j] + b_hh[j]))
                uu = sigmoid32(gi[r, H + j] + b_ih[H + j] + (gh[r, H + j] + b_hh[H + j]))
                hn = gh[r, 2 * H + j] + b_hh[2 * H + j]
                nn = tanh32(gi[r, 2 * H + j] + b_ih[2 * H + j] + rr * hn)
                act.rg[layer, r, j], act.ug[layer, r, j] = rr, uu
                act.ng[layer, r, j], act.ghn[layer, r, j] = nn, hn
                h_out[layer, r, j] = (h_in[layer, r, j] - nn) * uu + nn
        x = h_out[layer]
    # head: Linear -> BatchNorm -> ReLU -> Linear
    a1 = np.dot(x, mat(th, lay.head_0_weight, H, H).T)
    c1 = vec(th, lay.head_0_bias, H)
    for r in range(N):
        for j in range(H):
            a1[r, j] += c1[j]
    y2 = np.empty((N, H), F32)
    batchnorm_rows(a1, vec(th, lay.head_1_weight, H), vec(th, lay.head_1_bias, H), act.a1hat,
                   act.istd2, y2, stats.head_mean, stats.head_var, update)
    y3 = act.y3
    for r in range(N):
        for j in range(H):
            y3[r, j] = max(y2[r, j], F32(0.0))
    res = np.dot(y3, mat(th, lay.head_3_weight, K, H).T)
    c3 = vec(th, lay.head_3_bias, K)
    for r in range(N):
        for k in range(K):
            out[r, k] = res[r, k] + c3[k]


@numba.jit(**_JIT)
def cnet_backward(th, g, lay, comm, rial, obs, prev_a, prev_m, h_in, h_out, act, dout, dh, dmsg):
    """Back through one day's :func:`cnet_forward` given ``dout (N, K)``, the loss's gradient with
    respect to the day's outputs: accumulates the parameters' gradient into ``g`` (``th``'s
    layout); ``dh (L, N, H)`` carries the gradient reaching ``h_out`` in and leaves the one reaching
    ``h_in``; writes the gradient reaching the received message into ``dmsg (N,)`` (with ``comm``).
    """
    n, L, H, K = lay.n_agents, lay.rnn_layers, lay.rnn_size, lay.n_outputs
    N = obs.shape[0]
    f0 = F32(0.0)
    # head: Linear -> BatchNorm -> ReLU -> Linear
    gw3 = mat(g, lay.head_3_weight, K, H)
    gw3 += np.dot(dout.T, act.y3)
    gb3 = vec(g, lay.head_3_bias, K)
    for r in range(N):
        for k in range(K):
            gb3[k] += dout[r, k]
    dy3 = np.dot(dout, mat(th, lay.head_3_weight, K, H))
    for r in range(N):
        for j in range(H):
            if act.y3[r, j] <= f0:
                dy3[r, j] = f0
    da1 = np.empty((N, H), F32)
    batchnorm_rows_backward(dy3, act.a1hat, act.istd2, vec(th, lay.head_1_weight, H),
                            vec(g, lay.head_1_weight, H), vec(g, lay.head_1_bias, H), da1)
    gw1 = mat(g, lay.head_0_weight, H, H)
    gw1 += np.dot(da1.T, h_out[L - 1])
    gb1 = vec(g, lay.head_0_bias, H)
    for r in range(N):
        for j in range(H):
            gb1[j] += da1[r, j]
    dx = np.dot(da1, mat(th, lay.head_0_weight, H, H))
    # GRU layers, top to bottom
    dgi, dgh = np.empty((N, 3 * H), F32), np.empty((N, 3 * H), F32)
    for layer in range(L - 1, -1, -1):
        for r in range(N):
            for j in range(H):
                d_out = dx[r, j] + dh[layer, r, j]
                rr, uu = act.rg[layer, r, j], act.ug[layer, r, j]
                nn, hn = act.ng[layer, r, j], act.ghn[layer, r, j]
                d_n = d_out * (F32(1.0) - uu) * (F32(1.0) - nn * nn)
                d_u = d_out * (h_in[layer, r, j] - nn) * uu * (F32(1.0) - uu)
                d_r = d_n * hn * rr * (F32(1.0) - rr)
                dgi[r, j], dgi[r, H + j], dgi[r, 2 * H + j] = d_r, d_u, d_n
                dgh[r, j], dgh[r, H + j], dgh[r, 2 * H + j] = d_r, d_u, d_n * rr
                dh[layer, r, j] = d_out * uu
        x_in = act.z if layer == 0 else h_out[layer - 1]
        g_ih = mat(g, lay.rnn_weight_ih[layer], 3 * H, H)
        g_ih += np.dot(dgi.T, x_in)
        g_hh = mat(g, lay.rnn_weight_hh[layer], 3 * H, H)
        g_hh += np.dot(dgh.T, h_in[layer])
        gbi = vec(g, lay.rnn_bias_ih[layer], 3 * H)
        gbh = vec(g, lay.rnn_bias_hh[layer], 3 * H)
        for r in range(N):
            for j in range(3 * H):
                gbi[j] += dgi[r, j]
                gbh[j] += dgh[r, j]
        dh[layer] += np.dot(dgh, mat(th, lay.rnn_weight_hh[layer], 3 * H, H))
        dx = np.dot(dgi, mat(th, lay.rnn_weight_ih[layer], 3 * H, H))
    dz = dx
    # the embeddings' rows and the message MLP
    ga = mat(g, lay.agent_embed_weight, n, H)
    go = mat(g, lay.obs_embed_weight, 2, H)
    gu = mat(g, lay.action_embed_weight, 3, H)
    if rial:
        gma = mat(g, lay.message_action_embed_weight, 3, H)
    for r in range(N):
        for j in range(H):
            ga[r % n, j] += dz[r, j]
            go[obs[r], j] += dz[r, j]
            gu[prev_a[r], j] += dz[r, j]
            if rial:
                gma[prev_m[r], j] += dz[r, j]
    if comm:
        wm = vec(th, lay.message_mlp_1_weight, H)
        gm_w, gm_b = vec(g, lay.message_mlp_1_weight, H), vec(g, lay.message_mlp_1_bias, H)
        g1, b1 = th[lay.message_mlp_0_weight], th[lay.message_mlp_0_bias]
        dy1 = np.zeros((N, 1), F32)
        for r in range(N):
            y1 = g1 * act.msg_hat[r] + b1
            s = f0
            for j in range(H):
                if act.e[r, j] > f0:
                    de = dz[r, j]
                    gm_w[j] += de * y1
                    gm_b[j] += de
                    s += de * wm[j]
            dy1[r, 0] = s
        batchnorm_rows_backward(dy1, act.msg_hat.reshape((N, 1)), act.msg_istd,
                                vec(th, lay.message_mlp_0_weight, 1),
                                vec(g, lay.message_mlp_0_weight, 1),
                                vec(g, lay.message_mlp_0_bias, 1), dmsg.reshape((N, 1)))
