"""Two small kernels of the app (one from each compiled path) for the kernel-cache tests: a child
process compiles them in seconds, where the app's full warm-up takes a minute on a cold cache."""

from __future__ import annotations

import time

import numpy as np


def outputs() -> dict[str, list[float]]:
    """Run ``toolbox.dial.kernel.clip_and_rmsprop`` and ``toolbox.ppo.kernels.adam`` on fixed
    inputs; returns the parameters each produced."""
    from toolbox.dial import kernel
    from toolbox.ppo import kernels

    theta = np.linspace(-1, 1, 64, dtype=np.float32)
    grad = np.cos(np.arange(64, dtype=np.float32))
    zeros = np.zeros(64, np.float32)
    kernel.clip_and_rmsprop(theta, grad, zeros, zeros.copy(), 1e-2, 0.99, 1e-8, 0.9, 1.0)
    row = np.linspace(-1, 1, 8, dtype=np.float32)
    ones, zeros = np.ones(8, np.float32), np.zeros(8, np.float32)
    kernels.adam(row, ones, zeros, zeros.copy(), 1, 1e-3, 1e-5, 0.9, 0.999)
    return {"rmsprop": theta.tolist(), "adam": row.tolist()}


def small() -> float:
    """A warm-up target (``"tests.kernel_targets:small"``): :func:`outputs`; returns its seconds."""
    t0 = time.perf_counter()
    outputs()
    return time.perf_counter() - t0


def broken() -> float:
    """A warm-up target that always fails, as a kernel that cannot be built would."""
    raise RuntimeError("this kernel cannot be built")


POISON = "poison"
"""A file in the cache folder that makes :func:`crash_if_poisoned` crash: damage the pickle check
cannot see."""


def crash_if_poisoned() -> float:
    """A warm-up target that kills its process (as loading damaged machine code can) while the cache
    folder holds :data:`POISON`, and otherwise runs :func:`small`."""
    import os

    from toolbox import jit

    if (jit.CACHE_DIR / POISON).exists():
        os.abort()
    return small()
