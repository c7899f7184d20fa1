"""Numba settings shared by the compiled training paths (:mod:`toolbox.ppo.compiled`,
:mod:`toolbox.dial.compiled`): the on-disk cache of machine code, the compiler options, ``tanh32``,
the compiled form of :mod:`toolbox.rng`'s hash, and compiling beside this process
(:func:`compile_in_child`).

Numba compiles loops with the LLVM inside its wheel (no C++ compiler needed) and keeps the machine
code on disk, so a server compiles once per machine (the Docker image at build time). Where that
cache lives and whether the kernels may be used now is :mod:`toolbox.kernel_state`'s (no Numba
there: the web process of a training cluster imports it, and never this module); its names are
re-exported here."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
from numba.extending import register_jitable

from toolbox import rng
from toolbox.kernel_state import (  # noqa: F401 - re-exported: the kernels' state, one place
    CACHE_DIR,
    COMPILING,
    ENV_VAR,
    FOLDER_VAR,
    KERNEL_MODULES,
    KERNEL_SOURCES,
    ON_DEMAND,
    READY,
    UNAVAILABLE,
    WARMED,
    KernelStatus,
    cache_dir,
    compiled_ready,
    complete_pickles,
    discard_unreadable,
    kernel_status,
    one_blas_thread,
    readable_reason_at,
    set_kernel_status,
    sources_hash,
    unwritable_reason,
    warm_once,
)

log = logging.getLogger(__name__)

if CACHE_DIR is not None:
    numba.config.CACHE_DIR = str(CACHE_DIR)  # read when each kernel module's decorators run

# toolbox.rng's hash, callable from compiled code and inlined there: registered here, where every
# kernel module's imports pass first, so that rng.py (the readable paths' random numbers) imports
# without Numba. register_jitable returns the function itself: the Python callers are unchanged.
for _fn in (rng.hash32, rng.counter_code, rng.uniform_bits):
    register_jitable(inline="always")(_fn)
del _fn

F32 = np.float32
# error_model="numpy": a float division by zero gives inf/nan instead of raising, which removes a
# branch from every loop with a division (the branch alone kept the tanh loop from vectorizing:
# 17 µs -> 2.7 µs).
# cache=False without a writable folder: Numba would refuse to decorate the kernels at all
_JIT = dict(nopython=True, nogil=True, cache=CACHE_DIR is not None, fastmath=True,
            error_model="numpy")
_INLINE = dict(_JIT, inline="always")
# the environment, the running statistics and the random numbers keep IEEE order (no fused
# multiply-adds), so they equal the tensor path's float64 numbers bit for bit; only the network's
# arithmetic is reassociated
_EXACT = dict(_JIT, fastmath=False)

# tanh as a rational function (Eigen's float approximation: odd degree-13 numerator, even degree-6
# denominator, argument clamped to ±7.9053): pure arithmetic, so the compiler vectorizes it, where a
# call to the C library's tanhf per element is five times slower. Within 3e-7 of torch.tanh.
_TA = [F32(v) for v in (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05,
                        5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13,
                        -2.76076847742355e-16)]
_TB = [F32(v) for v in (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
                        1.19825839466702e-06)]
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


# ---- compiling on two cores --------------------------------------------------------------------

def _signature(args) -> tuple:
    return tuple(numba.typeof(a) for a in args)


def is_built(dispatcher, args) -> bool:
    """Whether calling the Numba ``dispatcher`` with ``args`` would run machine code that exists —
    compiled in this process or in the disk cache — instead of compiling. A look at Numba's cache
    index (not a public API): True when it cannot tell, so that nothing is compiled ahead for it."""
    sig = _signature(args)
    if sig in dispatcher.overloads:
        return True
    try:
        cache = dispatcher._cache
        key = cache._index_key(sig, dispatcher.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # noqa: BLE001 - another Numba's internals: assume built, do nothing ahead
        return True


def build(dispatcher, args) -> None:
    """Load or compile ``dispatcher``'s machine code for ``args``' types without calling it."""
    dispatcher.compile(_signature(args))


def compile_in_child(module: str, *argv: str) -> subprocess.Popen | None:
    """Start ``python -m module *argv`` in a child process compiling into this process's disk
    cache (the child's kernels are then loaded here from the cache), or None without a disk cache.

    Why: Numba compiles under one lock per process, and a machine's first training spends ~12 s
    of one core in the compiler; two kernels that share little compile in about half that on two
    cores."""
    if CACHE_DIR is None or not sys.executable:  # no cache to share, or an embedded interpreter
        return None
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, **{FOLDER_VAR: str(CACHE_DIR)},
               PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    try:
        return subprocess.Popen([sys.executable, "-m", module, *argv], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as err:
        log.warning("could not start a process to compile %s beside this one: %s", module, err)
        return None


def join_child(child: subprocess.Popen | None, timeout: float = 600.0) -> None:
    """Wait for a :func:`compile_in_child` process; a failure is logged, never raised (what it did
    not compile, the first call compiles here)."""
    if child is None:
        return
    try:
        _, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        _, err = child.communicate()
    if child.returncode:
        log.warning("the compiling child process failed (exit %s): %s", child.returncode,
                    (err or b"").decode(errors="replace")[-2000:])
