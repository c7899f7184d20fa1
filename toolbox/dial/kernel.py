"""One DIAL / no-communication training batch as compiled loops (Numba): the forward pass of the C-Net
day by day for the team and its target network, the TD loss, and its gradient by hand back through the
days and across the channel. The readable version of the same batch is ``toolbox.dial.rollout`` (autograd
does the backward there); ``tests/test_dial_compiled.py`` ties the two together.

Why: a batch of the default n = 3 lesson is about 1 GFLOP of 96-row matrix products, and PyTorch spent
as long again dispatching its ~3,000 small operations (a batch of *one* episode still took 11.6 ms of
26). Here the products go to BLAS (``np.dot``) and everything between them is one pass of compiled code.

Shapes: rows ``N = B n`` (episode-major: row ``b n + i`` is agent ``i`` of episode ``b``), hidden ``H``,
``L`` GRU layers, ``K`` outputs (Q(None), Q(Tell)[, m]). The parameters are one flat float32 vector in
the order of ``OFFSET_NAMES`` (``toolbox.dial.compiled`` builds it from the torch module); weights are
stored as in torch, ``(out, in)``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from toolbox.jit import _INLINE, _JIT, F32, tanh32

OFFSET_NAMES = ("agent_embed", "obs_embed", "action_embed", "msg_bn_w", "msg_bn_b", "msg_w", "msg_b",
                "head0_w", "head0_b", "head_bn_w", "head_bn_b", "head3_w", "head3_b", "msg_action_embed")
"""Then, per GRU layer l: weight_ih, weight_hh, bias_ih, bias_hh at ``14 + 4 l + (0..3)``."""
BN_EPS = F32(1e-5)
BN_MOMENTUM = F32(0.1)


@numba.jit(**_INLINE)
def sigmoid32(x):
    """logistic(x) = (1 + tanh(x / 2)) / 2, with ``tanh32`` (vectorizes; within 2e-7 of torch.sigmoid)."""
    return F32(0.5) + F32(0.5) * tanh32(F32(0.5) * x)


@numba.jit(**_JIT)
def batchnorm_rows(x, gamma, beta, xhat, istd, out, run_mean, run_var, update):
    """Training-mode ``BatchNorm1d`` of ``x (N, F)``: statistics over the rows, ``out = gamma xhat + beta``.

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
            run_var[j] = (F32(1.0) - BN_MOMENTUM) * run_var[j] + BN_MOMENTUM * F32(var * N / (N - 1))


@numba.jit(**_JIT)
def batchnorm_rows_backward(dy, xhat, istd, gamma, dgamma, dbeta, dx):
    """Back through ``batchnorm_rows`` given ``dy (N, F)``: accumulates ``dgamma``, ``dbeta``; writes ``dx``."""
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
def cnet_forward(th, off, n, L, H, K, comm, rial, obs, prev_a, prev_m, msg, h_in, h_out, msg_hat, msg_istd, e, z, rg, ug, ng,
                 ghn, a1hat, istd2, y3, out, bn1_mean, bn1_var, bn2_mean, bn2_var, update):
    """One day of the C-Net (``toolbox.dial.cnet.CNet.forward``, sum of embeddings, shared network) on ``N`` rows.

    Inputs ``obs, prev_a (N,)`` int, ``prev_m (N,)`` int (RIAL's previous message action, read when ``rial``), ``msg (N,)``, ``h_in (L, N, H)``; writes ``h_out (L, N, H)``, ``out (N, K)``
    and what the backward needs (normalised message, message-MLP output ``e``, GRU input ``z``, gates
    ``rg, ug, ng`` and ``ghn`` = W_hn h + b_hn per layer, the head's normalised ``a1hat``, ``istd2``, ReLU ``y3``).
    """
    N = obs.shape[0]
    A = th[off[0]:off[0] + n * H].reshape((n, H))
    O = th[off[1]:off[1] + 2 * H].reshape((2, H))
    U = th[off[2]:off[2] + 3 * H].reshape((3, H))
    MA = th[off[13]:off[13] + 3 * H].reshape((3, H))
    if comm:
        y1 = np.empty((N, 1), F32)
        batchnorm_rows(msg.reshape((N, 1)), th[off[3]:off[3] + 1], th[off[4]:off[4] + 1], msg_hat.reshape((N, 1)),
                       msg_istd, y1, bn1_mean, bn1_var, update)
        wm, bm = th[off[5]:off[5] + H], th[off[6]:off[6] + H]
        for r in range(N):
            for j in range(H):
                e[r, j] = max(y1[r, 0] * wm[j] + bm[j], F32(0.0))
    for r in range(N):
        i = r % n
        for j in range(H):
            v = A[i, j] + O[obs[r], j] + U[prev_a[r], j]
            v = v + e[r, j] if comm else v
            z[r, j] = v + MA[prev_m[r], j] if rial else v
    x = z
    for layer in range(L):
        o = off[14 + 4 * layer]
        w_ih = th[o:o + 3 * H * H].reshape((3 * H, H))
        o = off[15 + 4 * layer]
        w_hh = th[o:o + 3 * H * H].reshape((3 * H, H))
        b_ih = th[off[16 + 4 * layer]:off[16 + 4 * layer] + 3 * H]
        b_hh = th[off[17 + 4 * layer]:off[17 + 4 * layer] + 3 * H]
        gi = np.dot(x, w_ih.T)
        gh = np.dot(h_in[layer], w_hh.T)
        for r in range(N):
            for j in range(H):
                rr = sigmoid32(gi[r, j] + b_ih[j] + (gh[r, j] + b_hh[j]))
                uu = sigmoid32(gi[r, H + j] + b_ih[H + j] + (gh[r, H + j] + b_hh[H + j]))
                hn = gh[r, 2 * H + j] + b_hh[2 * H + j]
                nn = tanh32(gi[r, 2 * H + j] + b_ih[2 * H + j] + rr * hn)
                rg[layer, r, j], ug[layer, r, j], ng[layer, r, j], ghn[layer, r, j] = rr, uu, nn, hn
                h_out[layer, r, j] = (h_in[layer, r, j] - nn) * uu + nn
        x = h_out[layer]
    a1 = np.dot(x, th[off[7]:off[7] + H * H].reshape((H, H)).T)
    c1 = th[off[8]:off[8] + H]
    for r in range(N):
        for j in range(H):
            a1[r, j] += c1[j]
    y2 = np.empty((N, H), F32)
    batchnorm_rows(a1, th[off[9]:off[9] + H], th[off[10]:off[10] + H], a1hat, istd2, y2, bn2_mean, bn2_var, update)
    for r in range(N):
        for j in range(H):
            y3[r, j] = max(y2[r, j], F32(0.0))
    res = np.dot(y3, th[off[11]:off[11] + K * H].reshape((K, H)).T)
    c3 = th[off[12]:off[12] + K]
    for r in range(N):
        for k in range(K):
            out[r, k] = res[r, k] + c3[k]


@numba.jit(**_JIT)
def batch_gradient(th, target, grad, off, n, L, H, K, comm, rial, gamma, eps, sigma, active, explore, noise,
                   bn1_mean, bn1_var, bn2_mean, bn2_var):
    """Play ``active: (B, T)`` episodes and write the gradient of their TD loss into ``grad`` (overwritten).

    The same batch as :func:`toolbox.dial.rollout.rollout_loss` given its random draws (``explore (B, T, 4)``
    uniforms, DRU ``noise (B, T, 2)``): the target network ``target`` reads the same days with its own
    lights, the team ``th`` acts eps-greedily, DIAL's message is ``logistic(m + sigma noise)`` and its
    gradient crosses into the sender. ``comm`` is False for no communication (``K = 2``); with ``rial`` the bit
    is an eps-greedy action learned by Q-learning (``K = 4``, the average of the action and message heads as
    the target, as ``rollout_loss``) and no gradient crosses the channel. The team's
    BatchNorm running averages move as in torch. Returns the loss.
    """
    B, T = active.shape
    N = B * n
    f0 = F32(0.0)
    # what the backward reads, per day (team)
    obs = np.zeros((T, N), np.int64)
    prev_a = np.zeros((T, N), np.int64)     # 0 = no action yet, 1 = None, 2 = Tell
    prev_m = np.zeros((T, N), np.int64)     # RIAL: 0 = none, 1 + the bit the visitor sent
    bit_taken = np.zeros((T, B), np.int64)
    msg = np.zeros((T, N), F32)
    msg_hat = np.zeros((T, N), F32)
    msg_istd = np.zeros((T, 1), F32)
    e = np.zeros((T, N, H), F32)
    z = np.empty((T, N, H), F32)
    hs = np.zeros((T + 1, L, N, H), F32)
    rg, ug, ng, ghn = (np.empty((T, L, N, H), F32), np.empty((T, L, N, H), F32), np.empty((T, L, N, H), F32),
                       np.empty((T, L, N, H), F32))
    a1hat, istd2, y3 = np.empty((T, N, H), F32), np.empty((T, H), F32), np.empty((T, N, H), F32)
    out = np.empty((T, N, K), F32)
    # the target network's day (overwritten every day)
    t_h, t_h2 = np.zeros((L, N, H), F32), np.zeros((L, N, H), F32)
    t_msg = np.zeros(N, F32)
    t_mh, t_mi, t_e, t_z = np.zeros(N, F32), np.zeros(1, F32), np.zeros((N, H), F32), np.empty((N, H), F32)
    t_r, t_u, t_n, t_g = (np.empty((L, N, H), F32), np.empty((L, N, H), F32), np.empty((L, N, H), F32),
                          np.empty((L, N, H), F32))
    t_a, t_i, t_y, t_out = np.empty((N, H), F32), np.empty(H, F32), np.empty((N, H), F32), np.empty((N, K), F32)
    dummy1, dummy2 = np.empty(1, F32), np.empty(H, F32)
    # the episodes
    taken = np.zeros((T, N), np.int64)       # the action whose Q is learned (1 = Tell, only the visitor)
    q_next = np.zeros((T, N), F32)           # max over valid actions of the target's Q
    reward = np.zeros((T, B), F32)
    alive_t = np.zeros((T, B), F32)
    term = np.zeros((T, B), F32)
    sent = np.zeros((T, B), F32)
    alive = np.ones(B, np.bool_)
    seen = np.zeros((B, n), np.bool_)
    n_seen = np.zeros(B, np.int64)
    for t in range(T):
        for b in range(B):
            who = active[b, t]
            if not seen[b, who]:
                seen[b, who] = True
                n_seen[b] += 1
            obs[t, b * n + who] = 1
        cnet_forward(target, off, n, L, H, K, comm, rial, obs[t], prev_a[t], prev_m[t], t_msg, t_h, t_h2, t_mh, t_mi, t_e, t_z,
                     t_r, t_u, t_n, t_g, t_a, t_i, t_y, t_out, dummy1, dummy1, dummy2, dummy2, False)
        t_h, t_h2 = t_h2, t_h
        cnet_forward(th, off, n, L, H, K, comm, rial, obs[t], prev_a[t], prev_m[t], msg[t], hs[t], hs[t + 1], msg_hat[t], msg_istd[t],
                     e[t], z[t], rg[t], ug[t], ng[t], ghn[t], a1hat[t], istd2[t], y3[t], out[t],
                     bn1_mean, bn1_var, bn2_mean, bn2_var, True)
        last = t == T - 1
        for b in range(B):
            who = active[b, t]
            v = b * n + who
            tell = out[t, v, 1] > out[t, v, 0]
            if explore[b, t, 0] < eps:
                tell = explore[b, t, 1] < 0.5
            if alive[b] and tell:
                reward[t, b] = 1.0 if n_seen[b] == n else -1.0
            alive_t[t, b] = 1.0 if alive[b] else 0.0
            term[t, b] = 1.0 if (tell or last) else 0.0
            alive[b] = alive[b] and not tell
            bit = False
            if rial:
                bit = out[t, v, 3] > out[t, v, 2]
                if explore[b, t, 2] < eps:
                    bit = explore[b, t, 3] < 0.5
                bit_taken[t, b] = 1 if bit else 0
            for i in range(n):
                r = b * n + i
                taken[t, r] = 1 if (i == who and tell) else 0
                q0, q1 = t_out[r, 0], t_out[r, 1]
                q_next[t, r] = max(q0, q1) if i == who else q0
                if rial:  # the reference's model_avg_q: the mean of the action and message heads' values
                    qm = max(t_out[r, 2], t_out[r, 3]) if i == who else max(q0, q1)
                    q_next[t, r] = F32(0.5) * (q_next[t, r] + qm)
                if not last:
                    prev_a[t + 1, r] = 2 if (i == who and tell) else 1
                    if rial:
                        prev_m[t + 1, r] = (2 if bit else 1) if i == who else 0
            if rial and not last:
                msg[t + 1, b * n + active[b, t + 1]] = F32(1.0) if bit else f0
            if comm and not rial and not last:
                nxt = b * n + active[b, t + 1]
                s = sigmoid32(out[t, v, 2] + F32(sigma) * noise[b, t, 0])
                sent[t, b] = s
                msg[t + 1, nxt] = s
        if rial and not last:
            t_msg[:] = msg[t + 1]            # the target reads the team's bits
        if comm and not rial and not last:
            t_msg[:] = f0
            for b in range(B):
                nxt = b * n + active[b, t + 1]
                t_msg[nxt] = sigmoid32(t_out[b * n + active[b, t], 2] + F32(sigma) * noise[b, t, 1])

    # the TD loss and its gradient with respect to the taken Q-values
    loss = 0.0
    dq = np.zeros((T, N), F32)
    dqm = np.zeros((T, B), F32)
    scale = F32(1.0 / (B * n))
    for t in range(T):
        for b in range(B):
            for i in range(n):
                r = b * n + i
                qn = q_next[t + 1, r] if t < T - 1 else f0
                y = reward[t, b] + F32(gamma) * (F32(1.0) - term[t, b]) * qn
                d = (y - out[t, r, taken[t, r]]) * alive_t[t, b]
                loss += d * d
                dq[t, r] = F32(-2.0) * d * scale
            if rial:  # the visitor's message Q-value, towards its own next value
                v = b * n + active[b, t]
                yn = q_next[t + 1, v] if t < T - 1 else f0
                ym = reward[t, b] + F32(gamma) * (F32(1.0) - term[t, b]) * yn
                d = (ym - out[t, v, 2 + bit_taken[t, b]]) * alive_t[t, b]
                loss += d * d
                dqm[t, b] = F32(-2.0) * d * scale

    # back through the days
    grad[:] = f0
    g = grad
    dh = np.zeros((L, N, H), F32)
    dout = np.empty((N, K), F32)
    dm = np.zeros(B, F32)                     # gradient reaching yesterday's sent message
    dy3 = np.empty((N, H), F32)
    da1 = np.empty((N, H), F32)
    dgi, dgh = np.empty((N, 3 * H), F32), np.empty((N, 3 * H), F32)
    dz = np.empty((N, H), F32)
    w1 = th[off[7]:off[7] + H * H].reshape((H, H))
    w3 = th[off[11]:off[11] + K * H].reshape((K, H))
    for t in range(T - 1, -1, -1):
        dout[:, :] = f0
        for r in range(N):
            dout[r, taken[t, r]] += dq[t, r]
        if rial:
            for b in range(B):
                dout[b * n + active[b, t], 2 + bit_taken[t, b]] += dqm[t, b]
        elif comm and t < T - 1:
            for b in range(B):
                dout[b * n + active[b, t], 2] += dm[b]
        # head: Linear -> BatchNorm -> ReLU -> Linear
        gw3 = g[off[11]:off[11] + K * H].reshape((K, H))
        gw3 += np.dot(dout.T, y3[t])
        gb3 = g[off[12]:off[12] + K]
        for r in range(N):
            for k in range(K):
                gb3[k] += dout[r, k]
        dy3[:, :] = np.dot(dout, w3)
        for r in range(N):
            for j in range(H):
                if y3[t, r, j] <= f0:
                    dy3[r, j] = f0
        batchnorm_rows_backward(dy3, a1hat[t], istd2[t], th[off[9]:off[9] + H], g[off[9]:off[9] + H],
                                g[off[10]:off[10] + H], da1)
        gw1 = g[off[7]:off[7] + H * H].reshape((H, H))
        gw1 += np.dot(da1.T, hs[t + 1, L - 1])
        gb1 = g[off[8]:off[8] + H]
        for r in range(N):
            for j in range(H):
                gb1[j] += da1[r, j]
        dx = np.dot(da1, w1)
        # GRU layers, top to bottom
        for layer in range(L - 1, -1, -1):
            o_ih, o_hh, o_bi, o_bh = off[14 + 4 * layer], off[15 + 4 * layer], off[16 + 4 * layer], off[17 + 4 * layer]
            for r in range(N):
                for j in range(H):
                    d_out = dx[r, j] + dh[layer, r, j]
                    rr, uu, nn, hn = rg[t, layer, r, j], ug[t, layer, r, j], ng[t, layer, r, j], ghn[t, layer, r, j]
                    d_n = d_out * (F32(1.0) - uu) * (F32(1.0) - nn * nn)
                    d_u = d_out * (hs[t, layer, r, j] - nn) * uu * (F32(1.0) - uu)
                    d_r = d_n * hn * rr * (F32(1.0) - rr)
                    dgi[r, j], dgi[r, H + j], dgi[r, 2 * H + j] = d_r, d_u, d_n
                    dgh[r, j], dgh[r, H + j], dgh[r, 2 * H + j] = d_r, d_u, d_n * rr
                    dh[layer, r, j] = d_out * uu
            x_in = z[t] if layer == 0 else hs[t + 1, layer - 1]
            g_ih = g[o_ih:o_ih + 3 * H * H].reshape((3 * H, H))
            g_ih += np.dot(dgi.T, x_in)
            g_hh = g[o_hh:o_hh + 3 * H * H].reshape((3 * H, H))
            g_hh += np.dot(dgh.T, hs[t, layer])
            gbi, gbh = g[o_bi:o_bi + 3 * H], g[o_bh:o_bh + 3 * H]
            for r in range(N):
                for j in range(3 * H):
                    gbi[j] += dgi[r, j]
                    gbh[j] += dgh[r, j]
            dh[layer] += np.dot(dgh, th[o_hh:o_hh + 3 * H * H].reshape((3 * H, H)))
            dx = np.dot(dgi, th[o_ih:o_ih + 3 * H * H].reshape((3 * H, H)))
        dz[:, :] = dx
        # the embeddings' rows and the message MLP
        ga = g[off[0]:off[0] + n * H].reshape((n, H))
        go = g[off[1]:off[1] + 2 * H].reshape((2, H))
        gu = g[off[2]:off[2] + 3 * H].reshape((3, H))
        gma = g[off[13]:off[13] + 3 * H].reshape((3, H))
        for r in range(N):
            for j in range(H):
                ga[r % n, j] += dz[r, j]
                go[obs[t, r], j] += dz[r, j]
                gu[prev_a[t, r], j] += dz[r, j]
                if rial:
                    gma[prev_m[t, r], j] += dz[r, j]
        if comm:
            wm = th[off[5]:off[5] + H]
            gm_w, gm_b = g[off[5]:off[5] + H], g[off[6]:off[6] + H]
            g1, b1 = th[off[3]], th[off[4]]
            dy1 = np.zeros((N, 1), F32)
            for r in range(N):
                y1 = g1 * msg_hat[t, r] + b1
                s = f0
                for j in range(H):
                    if e[t, r, j] > f0:
                        de = dz[r, j]
                        gm_w[j] += de * y1
                        gm_b[j] += de
                        s += de * wm[j]
                dy1[r, 0] = s
            dmsg = np.empty((N, 1), F32)
            batchnorm_rows_backward(dy1, msg_hat[t].reshape((N, 1)), msg_istd[t], th[off[3]:off[3] + 1],
                                    g[off[3]:off[3] + 1], g[off[4]:off[4] + 1], dmsg)
            if t > 0 and not rial:
                for b in range(B):
                    s = sent[t - 1, b]
                    dm[b] = dmsg[b * n + active[b, t], 0] * s * (F32(1.0) - s)
    return loss * scale


@numba.jit(**_JIT)
def clip_and_rmsprop(theta, grad, square_avg, momentum_buf, lr, alpha, eps, momentum, max_norm):
    """``clip_grad_norm_(max_norm)`` over the whole vector, then one ``torch.optim.RMSprop`` step (not
    centred, with momentum) in place. Returns the gradient norm before clipping."""
    total = 0.0
    for i in range(grad.shape[0]):
        total += float(grad[i]) * float(grad[i])
    norm = math.sqrt(total)
    coef = min(max_norm / (norm + 1e-6), 1.0)
    c, a, lr32, m32 = F32(coef), F32(alpha), F32(lr), F32(momentum)
    for i in range(grad.shape[0]):
        gi = grad[i] * c
        square_avg[i] = a * square_avg[i] + (F32(1.0) - a) * gi * gi
        momentum_buf[i] = m32 * momentum_buf[i] + gi / (math.sqrt(square_avg[i]) + F32(eps))
        theta[i] -= lr32 * momentum_buf[i]
    return norm
