"""One DIAL / RIAL / no-communication training batch as compiled loops (Numba), step by step
beside the readable ``toolbox.dial.rollout.rollout_loss`` (autograd does the backward there;
``tests/test_dial_compiled.py`` ties the two together, per parameter block):

1. :func:`play_days`: the team plays the ``B`` episodes day by day (the C-Net's forward,
   ``toolbox.dial.kernel_cnet.cnet_forward``), eps-greedy, with DIAL's message through the DRU;
2. :func:`target_values`: the target network reads the same days with its own lights and gives
   each day's ``max_u Q^-``;
3. :func:`td_loss`: the TD loss and its gradient with respect to the Q-values taken;
4. :func:`backward_days`: back through the days (``cnet_backward``), across the channel into
   yesterday's sender for DIAL (autograd's ``loss.backward()`` in the reference);

:func:`batch_gradient` calls 1-4 in that order.

Why: a batch of the default n = 3 lesson is about 1 GFLOP of 96-row matrix products, and PyTorch
spent as long again dispatching its ~3,000 small operations (a batch of *one* episode still took
11.6 ms of 26). Here the products go to BLAS (``np.dot``) and everything between them is compiled.

Shapes: rows ``N = B n`` (episode-major: row ``b n + i`` is agent ``i`` of episode ``b``), hidden
``H``, ``L`` GRU layers, ``K`` outputs (Q(None), Q(Tell)[, m]). The parameters are one flat float32
vector laid out by a :class:`toolbox.dial.layout.CNetLayout`; the other arguments are the named
tuples of :mod:`toolbox.dial.layout`.
"""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np

from toolbox.dial.kernel_cnet import Activations, cnet_backward, cnet_forward, sigmoid32
from toolbox.jit import _JIT, F32
from toolbox.kernels import clip_and_rmsprop  # noqa: F401 (the trainer's step, shared module)

Episodes = namedtuple("Episodes", "obs prev_a prev_m msg taken bit_taken reward alive term sent")
Episodes.__doc__ = """The batch as the team played it, per day ``t``: its inputs ``obs, prev_a
(T, N)`` (0 = no action yet, 1 = None, 2 = Tell), RIAL's ``prev_m (T, N)`` (0 = none, 1 + the bit
the visitor sent) and the received message ``msg (T, N)``; the action whose Q is learned
``taken (T, N)`` (1 = Tell, the visitor only) and RIAL's bit ``bit_taken (T, B)``; ``reward``,
``alive`` (the episode was running), ``term`` (it ended that day) and DIAL's DRU output ``sent``,
all ``(T, B)``."""


@numba.jit(**_JIT)
def new_activations(T, L, N, H):
    """:class:`Activations` with a leading day axis, for the team's ``T`` days."""
    return Activations(np.zeros((T, N), F32), np.zeros((T, 1), F32), np.zeros((T, N, H), F32),
                       np.empty((T, N, H), F32), np.empty((T, L, N, H), F32),
                       np.empty((T, L, N, H), F32), np.empty((T, L, N, H), F32),
                       np.empty((T, L, N, H), F32), np.empty((T, N, H), F32),
                       np.empty((T, H), F32), np.empty((T, N, H), F32))


@numba.jit(**_JIT)
def day(acts, t):
    """Day ``t`` of ``new_activations``' arrays (views)."""
    return Activations(acts.msg_hat[t], acts.msg_istd[t], acts.e[t], acts.z[t], acts.rg[t],
                       acts.ug[t], acts.ng[t], acts.ghn[t], acts.a1hat[t], acts.istd2[t],
                       acts.y3[t])


@numba.jit(**_JIT)
def play_days(th, lay, hp, draws, stats):
    """The team plays ``draws.active (B, T)``'s episodes (``rollout_loss``'s ``ep.day``).

    Acts eps-greedily on ``draws.explore``; DIAL's message is ``logistic(m + sigma noise)``; RIAL's
    bit is a second eps-greedy action. Moves the BatchNorm running averages ``stats``. Returns
    (:class:`Episodes`, hidden states ``hs (T + 1, L, N, H)``, :class:`Activations` per day,
    outputs ``out (T, N, K)``).
    """
    n, L, H, K = lay.n_agents, lay.rnn_layers, lay.rnn_size, lay.n_outputs
    active, explore, noise = draws.active, draws.explore, draws.noise
    B, T = active.shape
    N = B * n
    ep = Episodes(np.zeros((T, N), np.int64), np.zeros((T, N), np.int64),
                  np.zeros((T, N), np.int64), np.zeros((T, N), F32), np.zeros((T, N), np.int64),
                  np.zeros((T, B), np.int64), np.zeros((T, B), F32), np.zeros((T, B), F32),
                  np.zeros((T, B), F32), np.zeros((T, B), F32))
    hs = np.zeros((T + 1, L, N, H), F32)
    acts = new_activations(T, L, N, H)
    out = np.empty((T, N, K), F32)
    alive = np.ones(B, np.bool_)
    seen = np.zeros((B, n), np.bool_)
    n_seen = np.zeros(B, np.int64)
    for t in range(T):
        for b in range(B):
            who = active[b, t]
            if not seen[b, who]:
                seen[b, who] = True
                n_seen[b] += 1
            ep.obs[t, b * n + who] = 1
        cnet_forward(th, lay, hp.comm, hp.rial, ep.obs[t], ep.prev_a[t], ep.prev_m[t], ep.msg[t],
                     hs[t], hs[t + 1], day(acts, t), out[t], stats, True)
        last = t == T - 1
        for b in range(B):
            v = b * n + active[b, t]
            tell = out[t, v, 1] > out[t, v, 0]
            if explore[b, t, 0] < hp.eps:
                tell = explore[b, t, 1] < 0.5
            if alive[b] and tell:
                ep.reward[t, b] = 1.0 if n_seen[b] == n else -1.0
            ep.alive[t, b] = 1.0 if alive[b] else 0.0
            ep.term[t, b] = 1.0 if (tell or last) else 0.0
            alive[b] = alive[b] and not tell
            bit = False
            if hp.rial:
                bit = out[t, v, 3] > out[t, v, 2]
                if explore[b, t, 2] < hp.eps:
                    bit = explore[b, t, 3] < 0.5
                ep.bit_taken[t, b] = 1 if bit else 0
            for i in range(n):
                r = b * n + i
                ep.taken[t, r] = 1 if (r == v and tell) else 0
                if not last:
                    ep.prev_a[t + 1, r] = 2 if (r == v and tell) else 1
                    if hp.rial:
                        ep.prev_m[t + 1, r] = (2 if bit else 1) if r == v else 0
            if last:
                continue
            nxt = b * n + active[b, t + 1]
            if hp.rial:
                ep.msg[t + 1, nxt] = F32(1.0) if bit else F32(0.0)
            elif hp.comm:
                s = sigmoid32(out[t, v, 2] + F32(hp.sigma) * noise[b, t, 0])
                ep.sent[t, b] = s
                ep.msg[t + 1, nxt] = s
    return ep, hs, acts, out


@numba.jit(**_JIT)
def target_values(target, lay, hp, draws, ep, stats):
    """``q_next (T, N)``: the target network's ``max`` over valid actions of day ``t`` (the visitor
    has {None, Tell}, everyone else None; RIAL: the mean with the message heads' max, the
    reference's ``model_avg_q``). It reads the team's days with its own hidden state and, for
    DIAL, its own lights (``draws.noise[..., 1]``); RIAL's target reads the team's bits. Its
    BatchNorms use batch statistics and leave the running averages ``stats`` alone."""
    n, L, H, K = lay.n_agents, lay.rnn_layers, lay.rnn_size, lay.n_outputs
    active = draws.active
    B, T = active.shape
    N = B * n
    h, h2 = np.zeros((L, N, H), F32), np.zeros((L, N, H), F32)
    msg = np.zeros(N, F32)
    act = Activations(np.zeros(N, F32), np.zeros(1, F32), np.zeros((N, H), F32),
                      np.empty((N, H), F32), np.empty((L, N, H), F32), np.empty((L, N, H), F32),
                      np.empty((L, N, H), F32), np.empty((L, N, H), F32), np.empty((N, H), F32),
                      np.empty(H, F32), np.empty((N, H), F32))
    out = np.empty((N, K), F32)
    q_next = np.zeros((T, N), F32)
    for t in range(T):
        cnet_forward(target, lay, hp.comm, hp.rial, ep.obs[t], ep.prev_a[t], ep.prev_m[t], msg, h,
                     h2, act, out, stats, False)
        h, h2 = h2, h
        for b in range(B):
            for i in range(n):
                r = b * n + i
                visitor = i == active[b, t]
                q0, q1 = out[r, 0], out[r, 1]
                q_next[t, r] = max(q0, q1) if visitor else q0
                if hp.rial:
                    qm = max(out[r, 2], out[r, 3]) if visitor else max(q0, q1)
                    q_next[t, r] = F32(0.5) * (q_next[t, r] + qm)
        if t == T - 1:
            continue
        if hp.rial:
            msg[:] = ep.msg[t + 1]
        elif hp.comm:
            msg[:] = F32(0.0)
            for b in range(B):
                m = out[b * n + active[b, t], 2] + F32(hp.sigma) * draws.noise[b, t, 1]
                msg[b * n + active[b, t + 1]] = sigmoid32(m)
    return q_next


@numba.jit(**_JIT)
def td_loss(ep, out, q_next, hp, active):
    """``L = sum_{t, b, i alive} (y - Q(taken))^2 / (B n)`` with ``y = r + gamma (1 - term)
    q_next[t + 1]`` (and RIAL's message Q of the visitor towards its own next value). Returns
    ``(L, dq (T, N), dqm (T, B))``: the gradients with respect to the Q-values taken and RIAL's
    message Q-values."""
    T, N = ep.taken.shape
    B = active.shape[0]
    n = N // B
    f0 = F32(0.0)
    loss = 0.0
    dq = np.zeros((T, N), F32)
    dqm = np.zeros((T, B), F32)
    scale = F32(1.0 / (B * n))
    for t in range(T):
        for b in range(B):
            for i in range(n):
                r = b * n + i
                qn = q_next[t + 1, r] if t < T - 1 else f0
                y = ep.reward[t, b] + F32(hp.gamma) * (F32(1.0) - ep.term[t, b]) * qn
                d = (y - out[t, r, ep.taken[t, r]]) * ep.alive[t, b]
                loss += d * d
                dq[t, r] = F32(-2.0) * d * scale
            if hp.rial:
                v = b * n + active[b, t]
                yn = q_next[t + 1, v] if t < T - 1 else f0
                ym = ep.reward[t, b] + F32(hp.gamma) * (F32(1.0) - ep.term[t, b]) * yn
                d = (ym - out[t, v, 2 + ep.bit_taken[t, b]]) * ep.alive[t, b]
                loss += d * d
                dqm[t, b] = F32(-2.0) * d * scale
    return loss * scale, dq, dqm


@numba.jit(**_JIT)
def backward_days(th, grad, lay, hp, active, ep, hs, acts, dq, dqm):
    """Back through the days, last to first, writing the loss's gradient into ``grad`` (the flat
    parameter vector's shape; overwritten): what autograd does for ``rollout_loss``'s
    ``loss.backward()``. Reads :func:`play_days`' ``ep``, ``hs (T + 1, L, N, H)`` and ``acts``
    and :func:`td_loss`'s ``dq (T, N)`` and ``dqm (T, B)``; ``active`` is ``(B, T)``.

    Day ``t``'s output gradient ``dout (N, K)`` is its TD terms plus, for DIAL, what tomorrow's
    visitor sent back across the channel (``dm (B,)``, into the message head ``m`` of today's
    visitor); ``cnet_backward`` takes it through the C-Net into ``grad``, into yesterday's hidden
    state (``dh (L, N, H)``, carried) and into today's received message (``dmsg (N,)``), which
    yesterday's DRU (``s (1 - s)``) turns into yesterday's ``dm``. RIAL's bit is a Q-learned
    action: no gradient crosses the channel."""
    n, L, H, K = lay.n_agents, lay.rnn_layers, lay.rnn_size, lay.n_outputs
    B, T = active.shape
    N = B * n
    grad[:] = F32(0.0)
    dh = np.zeros((L, N, H), F32)           # gradient reaching tomorrow's hidden input
    dm = np.zeros(B, F32)                   # gradient reaching the message sent today (DIAL)
    dout = np.empty((N, K), F32)
    dmsg = np.zeros(N, F32)
    for t in range(T - 1, -1, -1):
        dout[:, :] = F32(0.0)
        for r in range(N):
            dout[r, ep.taken[t, r]] += dq[t, r]
        if hp.rial:
            for b in range(B):
                dout[b * n + active[b, t], 2 + ep.bit_taken[t, b]] += dqm[t, b]
        elif hp.comm and t < T - 1:
            for b in range(B):
                dout[b * n + active[b, t], 2] += dm[b]
        cnet_backward(th, grad, lay, hp.comm, hp.rial, ep.obs[t], ep.prev_a[t], ep.prev_m[t],
                      hs[t], hs[t + 1], day(acts, t), dout, dh, dmsg)
        if hp.comm and not hp.rial and t > 0:  # back through yesterday's DRU
            for b in range(B):
                s = ep.sent[t - 1, b]
                dm[b] = dmsg[b * n + active[b, t]] * s * (F32(1.0) - s)


@numba.jit(**_JIT)
def batch_gradient(th, target, grad, lay, hp, draws, stats):
    """Play ``draws``' episodes with the team ``th`` and write the gradient of their TD loss into
    ``grad`` (overwritten); ``target`` is the target network (same layout ``lay``). The same
    batch as ``rollout_loss`` given the same draws; the team's BatchNorm running averages
    ``stats`` move as in torch. For DIAL the gradient crosses the channel into the sender; RIAL
    (``K = 4``) learns its bit by Q-learning, no gradient crossing. Returns the loss.

    The module's four steps in order: play, target values, TD loss, backward."""
    ep, hs, acts, out = play_days(th, lay, hp, draws, stats)
    q_next = target_values(target, lay, hp, draws, ep, stats)
    loss, dq, dqm = td_loss(ep, out, q_next, hp, draws.active)
    backward_days(th, grad, lay, hp, draws.active, ep, hs, acts, dq, dqm)
    return loss
