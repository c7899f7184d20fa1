"""Numba settings shared by the compiled training paths (:mod:`toolbox.ppo.compiled`,
:mod:`toolbox.dial.compiled`): the on-disk cache of machine code, the compiler options, ``tanh32``,
and whether the compiled kernels may be used now (:func:`compiled_ready`).

Numba compiles loops with the LLVM inside its wheel (no C++ compiler needed) and keeps the machine
code on disk, so a server compiles once per machine (the Docker image at build time). The cache can
never stop the app: an entry that cannot be read is discarded (and rebuilt by the next compile), a
folder that cannot be written is replaced by a private one, and without any writable folder the
kernels compile without a disk cache."""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import pickletools
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numba
import numpy as np
import threadpoolctl

log = logging.getLogger(__name__)

KERNEL_SOURCES = ("jit.py", "kernels.py", "rng.py", "ppo/kernels.py", "ppo/compiled_kernel.py",
                  "ppo/kernel_net.py", "ppo/layout.py", "ppo/agent.py", "envs/cartpole.py",
                  "dial/kernel.py", "dial/kernel_cnet.py", "dial/layout.py", "dial/cnet.py",
                  "ppo/continuous/compiled_kernel.py", "ppo/continuous/kernel_net.py",
                  "ppo/continuous/layout.py", "ppo/continuous/stacked.py", "envs/pendulum.py")
"""Files (relative to ``toolbox/``) whose edits must invalidate the cache (see ``cache_dir``)."""
ENV_VAR = "RL_TOOLBOX_NUMBA_CACHE"
FOLDER_VAR = "_RL_TOOLBOX_NUMBA_CACHE_FOLDER"
"""Set by :func:`compile_in_child` for its child: the exact folder (already chosen and checked by
the parent, private fallback included), so that both processes compile into one cache."""
WARMED = "warmed"
"""File in the cache folder left by a warm-up that loaded or compiled every kernel there
(:mod:`toolbox.warm_up`); deleted with any discarded entry, since the kernels would then compile
again."""


def sources_hash(here: Path = Path(__file__).resolve().parent) -> str:
    """16 hex digits of a hash of the kernels' sources (in the package folder ``here``), of that
    folder's path and of the Numba version: the cache's sub-folder name.

    Why the sources: Numba checks a cached function against its own file only, and the compiled
    loops inline functions of other files (this one's ``tanh32``, PPO's kernels) and freeze
    constants of others (``toolbox/ppo/agent.py``, ``toolbox/envs/cartpole.py``), so an edit to one
    of those would otherwise run stale machine code. ``KERNEL_SOURCES`` lists them.

    Why the path: Numba files each kernel under its source folder's path, so a second checkout with
    the same sources (a fresh clone beside the server's) shares nothing with this one; sharing the
    folder, it shared the warm-up's marker (:data:`WARMED`) too, and a server trusted a marker
    another checkout had left: its first trainings compiled inside the training worker (+320 MB
    there, measured)."""
    digest = hashlib.sha256(numba.__version__.encode())
    digest.update(str(here).encode())
    for name in KERNEL_SOURCES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def unwritable_reason(path: Path) -> str | None:
    """Why Numba could not keep its cache in ``path`` (created if missing), or None when it can:
    Numba's own check (it writes a temporary file there) refuses the folder otherwise, and with no
    folder left it raised "no locator available" from the kernels' decorators, at import."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as err:
        return f"{type(err).__name__}: {err}"
    return None


def complete_pickles(data: bytes) -> int:
    """How many whole pickles follow each other in ``data``; ValueError when one is cut off or is
    not a pickle.

    The opcodes are read, never run (:func:`pickletools.genops`): running them would import the
    modules the machine code refers to, the kernels' own among them, while this module is still
    being imported."""
    count, stream = 0, io.BytesIO(data)
    while stream.tell() < len(data):
        last = None
        for opcode, _, _ in pickletools.genops(stream):  # stops after this pickle's STOP
            last = opcode.name
        if last != "STOP":
            raise ValueError("pickle exhausted before its STOP opcode")
        count += 1
    return count


def discard_unreadable(folder: Path) -> list[Path]:
    """Delete every cache file in ``folder`` (recursively) that is not made of whole pickles, with
    its function's other files; returns the deleted paths.

    A function's entry is an index ``<function>.nbi`` (Numba's version, then a pickled table) and
    data files ``<function>.<n>.nbc`` (one pickle). Numba unpickles them unguarded, so one truncated
    file made every call of its kernel raise, after a restart too, and even a recompile (saving
    reads the index first). Without the entry the next call compiles and writes it again."""
    bad: set[Path] = set()
    for path in sorted(folder.rglob("*.nb[ic]")):
        try:
            if complete_pickles(path.read_bytes()) != (2 if path.suffix == ".nbi" else 1):
                raise ValueError("not the number of pickles Numba writes")
        except (OSError, ValueError):
            bad.add(path)
    removed = []
    for path in bad:
        stem = path.name.split(".py", 1)[0]  # "<module>.<function>-<line>" of both kinds of file
        for other in path.parent.glob(stem + ".py*.nb[ic]"):
            try:
                other.unlink()
                removed.append(other)
            except OSError as err:
                log.warning("could not delete the unreadable kernel cache file %s: %s", other, err)
    if removed:
        (folder / WARMED).unlink(missing_ok=True)
        log.warning("discarded %d unreadable kernel cache file(s), rebuilt at the next compile: %s",
                    len(removed), ", ".join(p.name for p in sorted(removed)))
    return removed


def cache_dir() -> Path | None:
    """The folder Numba keeps the compiled kernels in, a sub-folder named by :func:`sources_hash`
    of: ``$RL_TOOLBOX_NUMBA_CACHE`` (the Docker image compiles into it at build time), else
    ``~/.cache/rl-toolbox/numba``. Unreadable entries are discarded (:func:`discard_unreadable`).

    When that folder cannot be written (a read-only home or ``docker run --read-only``), a private
    folder from ``tempfile.mkdtemp`` (readable by this user only) receives a copy of what the
    read-only folder holds, so a cache built with the image still saves the compile. Never a fixed
    name in the shared temporary folder: another local user could plant machine code there. None
    when no folder can be written at all: the kernels then compile without a disk cache (and the
    server trains on the readable paths, :func:`compiled_ready`). Every fallback is logged with its
    reason."""
    exact = os.environ.get(FOLDER_VAR)
    if exact and unwritable_reason(Path(exact)) is None:
        return Path(exact)
    root = Path(os.environ.get(ENV_VAR) or Path.home() / ".cache" / "rl-toolbox" / "numba")
    path = root / sources_hash()
    reason = unwritable_reason(path)
    if reason is None:
        discard_unreadable(path)
        return path
    try:
        private = Path(tempfile.mkdtemp(prefix="rl-toolbox-numba-")) / path.name
        if path.is_dir():
            shutil.copytree(path, private)  # the image's cache: loaded, not compiled again
        private.mkdir(exist_ok=True)
    except OSError as err:
        log.warning("the compiled kernels have no disk cache (%s is not writable: %s; no private "
                    "temporary folder either: %s): each process compiles them again, the server "
                    "trains on the readable paths", path, reason, err)
        # torch.optim imports torch._dynamo, whose import asks tempfile for a folder to name its
        # cache after (and makes it) and raises when none is writable; naming an existing folder
        # (never written: nothing here compiles with torch's compiler) lets the readable paths'
        # optimizers be built
        existing = next(p for p in (path, *path.parents) if p.is_dir())
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(existing))
        return None
    log.warning("kernel cache %s is not writable (%s): using the private folder %s", path, reason,
                private)
    discard_unreadable(private)
    return private


CACHE_DIR = cache_dir()
if CACHE_DIR is not None:
    numba.config.CACHE_DIR = str(CACHE_DIR)  # read when each kernel module's decorators run

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


_blas_lock = threading.Lock()
_blas_limited = False


def one_blas_thread() -> None:
    """Keep BLAS (the kernels' np.dot) on the calling thread. At these sizes a second BLAS thread
    adds CPU time and no speed, and with two trainings side by side (two threads of a group, or two
    jobs) OpenBLAS's own threads oversubscribed the cores: each training ran 2.5x slower than
    alone, so two threads were slower than one (measured: 20 runs, 48 ms an iteration on 1 thread,
    70-83 ms on 2 before this, 25 ms after)."""
    global _blas_limited
    with _blas_lock:
        if not _blas_limited:
            # threadpoolctl sees only loaded libraries: load SciPy's BLAS (the one np.dot calls)
            # first
            import scipy.linalg.cython_blas  # noqa: F401
            threadpoolctl.threadpool_limits(1, user_api="blas")
            _blas_limited = True


# ---- whether the compiled kernels may be used now ----------------------------------------------

ON_DEMAND, COMPILING, READY, UNAVAILABLE = "on demand", "compiling", "ready", "unavailable"


@dataclass(frozen=True)
class KernelStatus:
    """Where this process's compiled kernels stand.

    ``state``: ``"on demand"`` (nobody warms them in the background: the first compiled training
    loads or compiles them itself, as scripts and tests do), ``"compiling"`` (a background warm-up
    is building them, see :mod:`toolbox.warm_up`), ``"ready"`` (loaded in this process) or
    ``"unavailable"`` (the warm-up failed or there is no cache to compile into; ``reason`` says
    why). ``since``: ``time.time()`` of the change."""

    state: str
    reason: str | None = None
    since: float = 0.0


_status_lock = threading.Lock()
_history: list[KernelStatus] = [KernelStatus(ON_DEMAND)]


def kernel_status() -> KernelStatus:
    """The kernels' current :class:`KernelStatus`."""
    with _status_lock:
        return _history[-1]


def set_kernel_status(state: str, reason: str | None = None) -> KernelStatus:
    """Record that the kernels are now in ``state`` (one of :class:`KernelStatus`'s); returns the
    new status."""
    if state not in (ON_DEMAND, COMPILING, READY, UNAVAILABLE):
        raise ValueError(f"unknown kernel state {state!r}.")
    status = KernelStatus(state, reason, time.time())
    with _status_lock:
        _history.append(status)
        del _history[:-16]  # a handful of changes per process; bounded anyway
    return status


def compiled_ready() -> bool:
    """Whether ``backend="auto"`` may train on the compiled kernels now: yes once they are loaded,
    and when no background warm-up was started (the training then loads or compiles them itself); no
    while a background warm-up compiles them (a training would wait for the compiler: it runs on the
    readable path instead) and when they are unavailable."""
    return kernel_status().state in (ON_DEMAND, READY)


def readable_reason_at(t: float) -> str | None:
    """Why a training that chose its backend at ``time.time() == t`` trained on the readable path
    instead of the compiled kernels (``"compiling"`` or ``"unavailable"``), or None when it could
    use them."""
    with _status_lock:
        before = [s for s in _history if s.since <= t]
    state = before[-1].state if before else _history[0].state
    return state if state in (COMPILING, UNAVAILABLE) else None


def warm_once(warm: Callable[[], None]) -> Callable[[], float]:
    """``warm`` (loads, or on a machine's first use compiles, a kernel by training something tiny)
    as a warm-up: the first call in a process runs it and returns its seconds; later calls, from
    any thread, wait for that one and return 0. If ``warm`` raises, the next call tries again."""
    lock = threading.Lock()
    seconds: list[float] = []

    @functools.wraps(warm)
    def warm_up() -> float:
        with lock:
            if seconds:
                return 0.0
            t0 = time.perf_counter()
            warm()
            seconds.append(time.perf_counter() - t0)
            return seconds[0]

    warm_up.__annotations__ = {"return": "float"}
    return warm_up
