"""Where the compiled kernels stand, without importing Numba: their disk cache folder
(:data:`CACHE_DIR`), whether they may be used now (:func:`kernel_status`, :func:`compiled_ready`),
and what the processes that run them share (:func:`one_blas_thread`, :func:`warm_once`).

Numba itself (~56 MB resident once imported) is imported by :mod:`toolbox.jit` and the kernel
modules (:data:`KERNEL_MODULES`) only: the web process of a training cluster reports the kernels'
state and checks their cache but never calls them, so it imports this module and not those.
:mod:`toolbox.jit` re-exports every name here.

The cache can never stop the app: an entry that cannot be read is discarded (and rebuilt by the
next compile), a folder that cannot be written is replaced by a private one, and without any
writable folder the kernels compile without a disk cache."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import io
import logging
import os
import pickletools
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import threadpoolctl

log = logging.getLogger(__name__)

KERNEL_MODULES = (
    "toolbox.jit", "toolbox.kernels", "toolbox.ppo.kernels", "toolbox.ppo.kernel_net",
    "toolbox.ppo.compiled_kernel", "toolbox.ppo.continuous.kernel_net",
    "toolbox.ppo.continuous.compiled_kernel", "toolbox.ppo.continuous.compiled",
    "toolbox.dial.kernel", "toolbox.dial.kernel_cnet")
"""The modules that import Numba (directly, or through another of these): the compiled kernels and
what builds them. A process that never calls a kernel (the web process of a training cluster,
``ui/preload.py``) leaves them out; every other module of ``toolbox`` imports without Numba
(``tests/test_web_process_imports.py`` checks both)."""

KERNEL_SOURCES = ("jit.py", "kernels.py", "rng.py", "ppo/kernels.py", "ppo/compiled_kernel.py",
                  "ppo/kernel_net.py", "ppo/layout.py", "ppo/agent.py", "envs/cartpole.py",
                  "dial/kernel.py", "dial/kernel_cnet.py", "dial/layout.py", "dial/cnet.py",
                  "ppo/continuous/compiled_kernel.py", "ppo/continuous/kernel_net.py",
                  "ppo/continuous/layout.py", "ppo/continuous/stacked.py", "envs/pendulum.py")
"""Files (relative to ``toolbox/``) whose edits must invalidate the cache (see ``cache_dir``)."""
ENV_VAR = "RL_TOOLBOX_NUMBA_CACHE"
FOLDER_VAR = "_RL_TOOLBOX_NUMBA_CACHE_FOLDER"
"""Set by :func:`toolbox.jit.compile_in_child` for its child: the exact folder (already chosen and
checked by the parent, private fallback included), so that both processes compile into one
cache."""
WARMED = "warmed"
"""File in the cache folder left by a warm-up that loaded or compiled every kernel there
(:mod:`toolbox.warm_up`); deleted with any discarded entry, since the kernels would then compile
again."""


def sources_hash(here: Path = Path(__file__).resolve().parent) -> str:
    """16 hex digits of a hash of the kernels' sources (in the package folder ``here``), of that
    folder's path and of the Numba version: the cache's sub-folder name.

    Why the sources: Numba checks a cached function against its own file only, and the compiled
    loops inline functions of other files (``toolbox/jit.py``'s ``tanh32``, PPO's kernels) and
    freeze constants of others (``toolbox/ppo/agent.py``, ``toolbox/envs/cartpole.py``), so an edit
    to one of those would otherwise run stale machine code. ``KERNEL_SOURCES`` lists them.

    Why the path: Numba files each kernel under its source folder's path, so a second checkout with
    the same sources (a fresh clone beside the server's) shares nothing with this one; sharing the
    folder, it shared the warm-up's marker (:data:`WARMED`) too, and a server trusted a marker
    another checkout had left: its first trainings compiled inside the training worker (+320 MB
    there, measured)."""
    # the installed version, read without importing Numba
    digest = hashlib.sha256(importlib.metadata.version("numba").encode())
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
"""This process's cache folder (None: no disk cache); :mod:`toolbox.jit` points Numba at it."""


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
