"""Compiled building blocks shared by the algorithms' Numba kernels (:mod:`toolbox.ppo.kernels`,
:mod:`toolbox.dial.kernel`): views of a flat parameter vector, a dense layer and its backward
pass, gradient-norm clipping, the optimizers (Adam, RMSprop) and :mod:`toolbox.rng`'s counter-based
random numbers.

Each is the formula of its torch twin, named in its docstring, and is written once here so that
every compiled path steps, clips and draws alike. Shapes: weights ``(in, out)`` for :func:`dense`,
activations ``(rows, features)``, float32; reductions (norms, moments) in float64. The same blocks
also run on float64 arrays (the continuous PPO kernel's equality tests): constants then take the
arrays' precision (:func:`like`) and tanh is the C library's (:func:`tanh_of`), while float32
arrays get exactly the float32 arithmetic they always had.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import overload

from toolbox.jit import _EXACT, _INLINE, _JIT, F32, tanh32
from toolbox.rng import counter_code, uniform_bits


# -- one precision per array: float32 arrays compute in float32, float64 arrays in float64 -------
def like(arr, x):
    """``x`` as a scalar of ``arr``'s dtype, so a constant neither rounds float64 arithmetic to
    float32 nor widens float32 arithmetic to float64 (compiled: resolved from the array's type)."""
    return arr.dtype.type(x)


@overload(like)
def _like(arr, x):
    dtype = arr.dtype
    return lambda arr, x: dtype(x)


def tanh_of(x):
    """tanh of a scalar: :func:`toolbox.jit.tanh32` (fast, within 3e-7) for float32, the C
    library's exact tanh for float64."""
    return math.tanh(x)


@overload(tanh_of)
def _tanh_of(x):
    if x == types.float32:
        return lambda x: tanh32(x)
    return lambda x: math.tanh(x)


# -- a flat parameter vector, block by block ---------------------------------------------------
@numba.jit(**_INLINE)
def mat(th, offset, rows, cols):
    """The ``(rows, cols)`` block of the flat vector ``th`` at ``offset`` (a view)."""
    return th[offset:offset + rows * cols].reshape((rows, cols))


@numba.jit(**_INLINE)
def vec(th, offset, size):
    """The ``(size,)`` block of ``th`` at ``offset`` (a view)."""
    return th[offset:offset + size]


# -- dense layers --------------------------------------------------------------------------------
@numba.jit(**_JIT)
def dense(x, W, b, out, activation):
    """``out (n, o) = f(x (n, i) @ W (i, o) + b (o,))`` with ``f = tanh`` when ``activation``, else
    the identity.

    The product is ``np.dot``, which Numba hands to BLAS (SciPy's OpenBLAS): about 10 µs for
    128×64×64 on one core, three times what a hand-written loop reached; the bias and tanh follow in
    one vectorized pass."""
    z = np.dot(x, W)
    n, o = z.shape
    for i in range(n):
        for j in range(o):
            v = z[i, j] + b[j]
            out[i, j] = tanh_of(v) if activation else v


@numba.jit(**_JIT)
def dense_backward(x, W, dz, dW, db, dx):
    """Backward of ``z = x W + b`` given ``dz (n, o)``: ``dW (i, o) = xᵀ dz``,
    ``db (o,) = Σ_rows dz`` and, when ``dx`` has rows, ``dx (n, i) = dz Wᵀ``; all three are
    overwritten."""
    copy2d(np.dot(x.T, dz), dW)
    n, o = dz.shape
    db[:] = 0.0
    for r in range(n):
        for j in range(o):
            db[j] += dz[r, j]
    if dx.shape[0] > 0:
        copy2d(np.dot(dz, W.T), dx)


# -- a tower: three dense layers, tanh between -------------------------------------------------
@numba.jit(**_JIT)
def tower_forward(th, at, x, h1, h2, y):
    """The tanh tower whose blocks sit in the flat row ``th (P,)`` at the offsets ``at`` (a
    named tuple ``W1 b1 W2 b2 W3 b3``, weights ``(in, out)``) on rows ``x (n, D)``:
    ``h1 = tanh(x W1 + b1)``, ``h2 = tanh(h1 W2 + b2)`` ``(n, H)``, ``y (n, O) = h2 W3 + b3``. The
    sizes are the arrays'. Both PPO paths' actor-critic towers (CartPole's and Pendulum's)."""
    D, H, NO = x.shape[1], h1.shape[1], y.shape[1]
    dense(x, mat(th, at.W1, D, H), vec(th, at.b1, H), h1, True)
    dense(h1, mat(th, at.W2, H, H), vec(th, at.b2, H), h2, True)
    dense(h2, mat(th, at.W3, H, NO), vec(th, at.b3, NO), y, False)


@numba.jit(**_JIT)
def tower_backward(th, at, g, x, h1, h2, dy, dh2, dh1):
    """The weight gradients of :func:`tower_forward` into ``g (P,)`` (same offsets ``at``) given
    ``dy (n, O)`` and the forward's ``h1, h2``; ``dh2, dh1 (n, H)`` are scratch."""
    D, H, NO = x.shape[1], h1.shape[1], dy.shape[1]
    dense_backward(h2, mat(th, at.W3, H, NO), dy, mat(g, at.W3, H, NO), vec(g, at.b3, NO),
                   dh2)
    tanh_backward_inplace(dh2, h2)
    dense_backward(h1, mat(th, at.W2, H, H), dh2, mat(g, at.W2, H, H), vec(g, at.b2, H), dh1)
    tanh_backward_inplace(dh1, h1)
    # the input needs no gradient: an empty dx skips that product
    dense_backward(x, mat(th, at.W1, D, H), dh1, mat(g, at.W1, D, H), vec(g, at.b1, H),
                   np.empty((0, D), x.dtype))


@numba.jit(**_INLINE)
def copy2d(src, dst):
    """``dst[:, :] = src`` as a loop: the slice assignment compiles Numba's shape-mismatch error
    message (string formatting) at every such line, seconds of compile time each."""
    n, m = src.shape
    for i in range(n):
        for j in range(m):
            dst[i, j] = src[i, j]


@numba.jit(**_JIT)
def tanh_backward_inplace(d, h):
    """``d ← d ⊙ (1 − h²)``: back through ``h = tanh(z)`` (``aten.tanh_backward``)."""
    n, m = d.shape
    for i in range(n):
        for j in range(m):
            d[i, j] *= F32(1.0) - h[i, j] * h[i, j]


# -- clipping and optimizers ---------------------------------------------------------------------
@numba.jit(**_JIT)
def clip_grad_norm(grads, max_norm, clip):
    """``torch.nn.utils.clip_grad_norm_`` over every row of ``grads (K, P)`` together: returns
    ``‖g‖ = sqrt(Σ g²)`` (squares in the gradient's precision, float64 sum) and, when ``clip``,
    scales ``g ← g · min(1, max_norm / (‖g‖ + 1e-6))``."""
    K, P = grads.shape
    sq = 0.0
    for k in range(K):
        for q in range(P):
            sq += grads[k, q] * grads[k, q]
    norm = math.sqrt(sq)
    if clip:
        coef = like(grads, min(max_norm / (norm + 1e-6), 1.0))
        for k in range(K):
            for q in range(P):
                grads[k, q] *= coef
    return norm


@numba.jit(**_JIT)
def adam(theta, grad, m, v, step, lr, eps, beta1, beta2):
    """``torch.optim.Adam`` (no weight decay, no amsgrad) on one parameter row ``theta (P,)`` with
    ``grad, m, v (P,)``; ``step`` is the new step count."""
    bc1 = 1.0 - beta1 ** step
    bc2_sqrt = math.sqrt(1.0 - beta2 ** step)
    step_size = like(theta, lr / bc1)
    b1, b2 = like(theta, beta1), like(theta, beta2)
    # 1 − β in float64, then rounded (as torch does): F32(1) − F32(0.999) is 1.3e-5 off 0.001
    c1, c2 = like(theta, 1.0 - beta1), like(theta, 1.0 - beta2)
    inv_bc2 = like(theta, 1.0 / bc2_sqrt)
    e = like(theta, eps)
    for i in range(theta.shape[0]):
        g = grad[i]
        m[i] = b1 * m[i] + c1 * g
        v[i] = b2 * v[i] + c2 * g * g
        theta[i] -= step_size * m[i] / (math.sqrt(v[i]) * inv_bc2 + e)


@numba.jit(**_JIT)
def clip_and_rmsprop(theta, grad, square_avg, momentum_buf, lr, alpha, eps, momentum, max_norm):
    """``clip_grad_norm_(max_norm)`` over the whole vector ``grad (P,)``, then one
    ``torch.optim.RMSprop`` step (not centred, with momentum) in place. Returns the gradient norm
    before clipping.

    The squares are summed in float64 where :func:`clip_grad_norm` sums float32 squares: each is
    what its path (DIAL, PPO) always computed, so neither path's results moved when they met
    here."""
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


# -- counter-based random numbers: toolbox.rng's hash, compiled where the kernels draw ----------
@numba.jit(**_INLINE)
def uniform32(key, code, j):
    """Entry ``j`` of ``toolbox.rng.uniform(key, counter, n)`` as float32 (24 random bits;
    ``code = toolbox.rng.counter_code(counter)``)."""
    return F32((uniform_bits(key, code, j) >> 8) * (1.0 / 16777216.0))


@numba.jit(**_EXACT)
def permutation(key, counter, n, out):
    """``out (n,) = torch.argsort(toolbox.rng.uniform(key, counter, n), stable=True)``: a shuffle.
    Sorting the 24-bit integers that make the float32 uniforms, stably (ties keep index order, as
    torch's CPU sort does): a least-significant-digit radix sort, two stable counting sorts on
    12-bit digits (plain loops: NumPy's mergesort took Numba seconds to compile)."""
    code = counter_code(np.int64(counter))
    bits = np.empty(n, np.int64)
    for j in range(n):
        bits[j] = uniform_bits(key, code, j) >> 8
        out[j] = j
    moved = np.empty(n, np.int64)
    start = np.empty(4097, np.int64)
    for digit in range(2):
        shift = 12 * digit
        for d in range(4097):
            start[d] = 0
        for j in range(n):
            start[((bits[j] >> shift) & 4095) + 1] += 1
        for d in range(4096):
            start[d + 1] += start[d]
        for j in range(n):  # in the current order: equal digits keep it (stable)
            d = (bits[out[j]] >> shift) & 4095
            moved[start[d]] = out[j]
            start[d] += 1
        for j in range(n):
            out[j] = moved[j]
