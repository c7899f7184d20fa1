"""Warm the compiled kernels in the background without making anyone wait for the compiler.

On a machine whose kernel cache is empty (a fresh clone, a new cloud container) Numba compiles the
PPO and DIAL kernels for 25-65 s. Compiled inside the web process, the compiler held the GIL that
every page shares, and a training pressed meanwhile waited for it. Here a child process (``python -m
toolbox.warm_up``) compiles them into the disk cache (:data:`toolbox.kernel_state.CACHE_DIR`) at a
lower priority, while ``backend="auto"`` trains on the readable paths
(:func:`toolbox.kernel_state.compiled_ready` is False); once the child is done the server loads
the machine code from the cache (under a second) and the next training is compiled.

The child also protects the server from a damaged cache: if it fails (or crashes) the cache folder
is emptied and the child runs once more; if it fails again the kernels are marked unavailable, with
the reason in the log, and the server keeps training on the readable paths.

The kernels to warm are named ``"module:function"`` by the caller (the app names PPO's and DIAL's
``warm_up``): the child imports them by name, and this module stays below the algorithms."""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Callable, Sequence

from toolbox import kernel_state as state

log = logging.getLogger(__name__)

KERNELS = ("toolbox.ppo.compiled:warm_up", "toolbox.dial.compiled:warm_up",
           "toolbox.ppo.continuous.compiled:warm_up")
"""The app's kernels: PPO's, DIAL's and continuous PPO's ``warm_up`` (each trains a tiny run of
every structure it offers)."""
MARKER = state.WARMED
"""File in the cache folder, written by a child that loaded or compiled the kernels in it without
error: the next start loads them in its own process at once (no child, no seconds on the readable
path)."""
CHILD_NICE = 10
"""The child's niceness: on a busy server the students' trainings get the cores first."""
_lock = threading.Lock()
_thread: threading.Thread | None = None
_children: set[subprocess.Popen] = set()
_stopping = threading.Event()


def resolve(target: str) -> Callable[[], float]:
    """The function named ``"module:function"``."""
    module, _, name = target.partition(":")
    if not module or not name:
        raise ValueError(f"a kernel is named 'module:function'; got {target!r}.")
    return getattr(importlib.import_module(module), name)


def run_child(targets: Sequence[str], python: str = sys.executable,
              timeout_s: float = 900.0) -> tuple[bool, str]:
    """Run ``python -m toolbox.warm_up targets...`` against this process's cache folder; returns
    whether it succeeded and the end of what it printed (the reason when it did not)."""
    path = os.pathsep.join(p for p in (_root(), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, PYTHONPATH=path)
    env[state.ENV_VAR] = str(state.CACHE_DIR.parent)  # the same folder, also a private fallback
    try:
        proc = subprocess.Popen([python, "-m", "toolbox.warm_up", *targets], env=env, cwd=_root(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except OSError as err:
        return False, f"{type(err).__name__}: {err}"
    _children.add(proc)
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as err:
        proc.kill()
        proc.communicate()
        return False, f"{type(err).__name__}: {err}"
    finally:
        _children.discard(proc)
    out = out.strip()[-2000:]
    if proc.returncode != 0:
        return False, f"exit code {proc.returncode}: {out}"
    return True, out


@atexit.register
def _stop_children() -> None:
    # a server that stops mid-compile takes its compiler with it (Numba writes each cache file
    # whole, by rename, so a compile cut short leaves no damaged entry)
    _stopping.set()
    for proc in list(_children):
        proc.kill()


def _root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _empty_cache() -> None:
    """Delete everything in the cache folder (the folder stays)."""
    for entry in state.CACHE_DIR.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _load(targets: Sequence[str]) -> float:
    """Load the kernels into this process (from the cache the child filled); returns the seconds."""
    t0 = time.perf_counter()
    for target in targets:
        resolve(target)()
    return time.perf_counter() - t0


def warmed(targets: Sequence[str]) -> bool:
    """Whether the cache folder holds a child's complete warm-up of ``targets`` (:data:`MARKER`)."""
    if state.CACHE_DIR is None:
        return False
    marker = state.CACHE_DIR / MARKER
    return marker.is_file() and marker.read_text() == "\n".join(targets)


def warm(targets: Sequence[str] = KERNELS, python: str = sys.executable,
         load: bool = True) -> state.KernelStatus:
    """Make ``targets`` ready in this process without compiling here; returns the final status (also
    set with :func:`toolbox.kernel_state.set_kernel_status`: ``"ready"`` or ``"unavailable"`` with
    the reason, which is logged).

    A cache a child already warmed (:data:`MARKER`) is loaded at once; otherwise a child compiles
    into it (:func:`run_child`), once more after emptying the cache if it failed, and this process
    loads it.

    ``load=False``: the process that trains is another one (the web process of a training cluster:
    its workers load the kernels from the cache on their first compiled training), so this one only
    makes sure the cache is complete, and ``"ready"`` means the cache is. Loading the app's kernels
    costs a process ~115 MB (anonymous: Numba's typed functions and machine code), measured."""
    if state.CACHE_DIR is None:
        reason = "no writable folder for the kernel cache (see the warning above)"
        log.warning("compiled kernels unavailable: %s; training on the readable paths", reason)
        return state.set_kernel_status(state.UNAVAILABLE, reason)
    marker = state.CACHE_DIR / MARKER
    if warmed(targets):
        if not load:
            log.info("compiled kernels ready in %s (the training workers load them)",
                     state.CACHE_DIR)
            return state.set_kernel_status(state.READY)
        try:
            seconds = _load(targets)
            log.info("compiled kernels loaded from %s in %.1f s", state.CACHE_DIR, seconds)
            return state.set_kernel_status(state.READY)
        except Exception:  # noqa: BLE001 - a cache that loads badly is rebuilt by the child below
            log.exception("loading the compiled kernels from %s failed: rebuilding them",
                          state.CACHE_DIR)
            marker.unlink(missing_ok=True)
    state.set_kernel_status(state.COMPILING)
    log.info("compiling the kernels in a child process into %s; trainings use the readable paths "
             "meanwhile", state.CACHE_DIR)
    t0 = time.perf_counter()
    ok, detail = run_child(targets, python)
    if not ok and _stopping.is_set():  # the process is exiting: keep the cache as it is
        return state.set_kernel_status(state.UNAVAILABLE, "the server stopped during the compile")
    if not ok:
        log.warning("the kernel compile failed (%s); emptying the cache %s and compiling again",
                    detail, state.CACHE_DIR)
        _empty_cache()
        ok, detail = run_child(targets, python)
    if not ok:
        log.error("compiled kernels unavailable: the compile failed twice (%s); training on the "
                  "readable paths", detail)
        return state.set_kernel_status(state.UNAVAILABLE, f"the compile failed: {detail[-300:]}")
    if not load:
        log.info("compiled kernels ready: compiled in a child process in %.1f s (the training "
                 "workers load them)", time.perf_counter() - t0)
        return state.set_kernel_status(state.READY)
    try:
        loaded = _load(targets)
    except Exception as err:  # noqa: BLE001 - the server goes on with the readable paths
        log.exception("loading the compiled kernels failed; training on the readable paths")
        reason = f"loading failed: {type(err).__name__}: {err}"
        return state.set_kernel_status(state.UNAVAILABLE, reason)
    log.info("compiled kernels ready: compiled in a child process in %.1f s, loaded in %.1f s",
             time.perf_counter() - t0 - loaded, loaded)
    return state.set_kernel_status(state.READY)


def start(targets: Sequence[str] = KERNELS, python: str = sys.executable,
          load: bool = True) -> threading.Thread:
    """:func:`warm` in a background thread, once per process (later calls return the same thread).
    Unless the cache is already warmed (then loading takes a second, and a training asked for
    meanwhile waits for it rather than run several times slower), the status is ``"compiling"``
    from this call on, so a training asked for at once already takes the readable path."""
    global _thread
    with _lock:
        if _thread is None:
            if state.kernel_status().state == state.ON_DEMAND and not warmed(targets):
                state.set_kernel_status(state.COMPILING)
            _thread = threading.Thread(target=warm, args=(tuple(targets), python, load),
                                       name="kernel-warm-up", daemon=True)
            _thread.start()
        return _thread


def main(targets: Sequence[str]) -> int:
    """The child: load or compile ``targets`` into the cache, print the seconds each took, leave
    :data:`MARKER`; returns the exit code."""
    if hasattr(os, "nice"):
        os.nice(CHILD_NICE)
    if state.CACHE_DIR is None:
        print("no writable kernel cache: nothing to compile into", file=sys.stderr)
        return 2
    for target in targets:
        print(f"{target}: {resolve(target)():.1f} s", flush=True)
    (state.CACHE_DIR / MARKER).write_text("\n".join(targets))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main(sys.argv[1:] or KERNELS))
