"""Numba settings shared by the compiled training paths (:mod:`toolbox.ppo.compiled`, :mod:`toolbox.dial.compiled`):
the on-disk cache of machine code, the compiler options, and ``tanh32``.

Numba compiles loops with the LLVM inside its wheel (no C++ compiler needed) and keeps the machine code on
disk, so a server compiles once per machine (the Docker image at build time).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

import numba
import numpy as np
import threadpoolctl

KERNEL_SOURCES = ("jit.py", "ppo/kernels.py", "ppo/compiled_kernel.py", "ppo/agent.py", "envs/cartpole.py",
                  "dial/kernel.py")
"""Files (relative to ``toolbox/``) whose edits must invalidate the cache (see ``cache_dir``)."""


def cache_dir() -> Path:
    """Where Numba keeps the compiled kernels: ``$RL_TOOLBOX_NUMBA_CACHE`` (the Docker image compiles into it at
    build time), else ``~/.cache/rl-toolbox/numba`` (a temporary folder if home is not writable), in a
    sub-folder named by a hash of the kernels' sources and the Numba version.

    Why the hash: Numba checks a cached function against its own file only, and the compiled loops inline
    functions of other files (this one's ``tanh32``, PPO's kernels) and freeze constants of others
    (``toolbox/ppo/agent.py``, ``toolbox/envs/cartpole.py``), so an edit to one of those would otherwise run
    stale machine code. ``KERNEL_SOURCES`` lists them."""
    here = Path(__file__).resolve().parent
    sources = [here / name for name in KERNEL_SOURCES]
    digest = hashlib.sha256(numba.__version__.encode())
    for src in sources:
        digest.update(src.read_bytes())
    root = os.environ.get("RL_TOOLBOX_NUMBA_CACHE") or str(Path.home() / ".cache" / "rl-toolbox" / "numba")
    path = Path(root) / digest.hexdigest()[:16]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        path = Path(tempfile.gettempdir()) / "rl-toolbox-numba" / digest.hexdigest()[:16]
        path.mkdir(parents=True, exist_ok=True)
    return path


numba.config.CACHE_DIR = str(cache_dir())  # read when each kernel module's decorators run

F32 = np.float32
# error_model="numpy": a float division by zero gives inf/nan instead of raising, which removes a branch
# from every loop with a division (the branch alone kept the tanh loop from vectorizing: 17 µs -> 2.7 µs).
_JIT = dict(nopython=True, nogil=True, cache=True, fastmath=True, error_model="numpy")
_INLINE = dict(_JIT, inline="always")
# the environment, the running statistics and the random numbers keep IEEE order (no fused multiply-adds), so
# they equal the tensor path's float64 numbers bit for bit; only the network's arithmetic is reassociated
_EXACT = dict(_JIT, fastmath=False)

# tanh as a rational function (Eigen's float approximation: odd degree-13 numerator, even degree-6
# denominator, argument clamped to ±7.9053): pure arithmetic, so the compiler vectorizes it, where a
# call to the C library's tanhf per element is five times slower. Within 3e-7 of torch.tanh.
_TA = [F32(v) for v in (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08,
                        -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16)]
_TB = [F32(v) for v in (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06)]
A1, A3, A5, A7, A9, A11, A13 = _TA
B0, B2, B4, B6 = _TB
TANH_CLAMP = F32(7.90531110763549805)


@numba.jit(**_INLINE)
def tanh32(x):
    """tanh of a float32 scalar (rational approximation, see above)."""
    x = min(max(x, -TANH_CLAMP), TANH_CLAMP)
    x2 = x * x
    p = ((((((A13 * x2 + A11) * x2 + A9) * x2 + A7) * x2 + A5) * x2 + A3) * x2 + A1) * x
    q = ((B6 * x2 + B4) * x2 + B2) * x2 + B0
    return p / q


_blas_lock = threading.Lock()
_blas_limited = False


def one_blas_thread() -> None:
    """Keep BLAS (the kernels' np.dot) on the calling thread. At these sizes a second BLAS thread adds CPU time
    and no speed, and with two trainings side by side (two threads of a group, or two jobs) OpenBLAS's own
    threads oversubscribed the cores: each training ran 2.5x slower than alone, so two threads were slower
    than one (measured: 20 runs, 48 ms an iteration on 1 thread, 70-83 ms on 2 before this, 25 ms after)."""
    global _blas_limited
    with _blas_lock:
        if not _blas_limited:
            # threadpoolctl sees only loaded libraries: load SciPy's BLAS (the one np.dot calls) first
            import scipy.linalg.cython_blas  # noqa: F401
            threadpoolctl.threadpool_limits(1, user_api="blas")
            _blas_limited = True
