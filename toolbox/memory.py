"""What a long-lived process does so that memory it freed goes back to the system (glibc malloc).

glibc's ``malloc`` gives each thread that contends for the heap an arena of its own (up to 8 per
core) and keeps what is freed inside them for later: a Streamlit server runs each session's script
in a thread, so after a class the web process kept ~80-100 MB more than before it, with nothing
alive in it. :func:`limit_arenas` caps the arenas (``mallopt(M_ARENA_MAX)``, as the
``MALLOC_ARENA_MAX`` environment variable does for a process started with it) and :func:`trim`
hands free pages back (``malloc_trim(0)``); :func:`trim_every` collects garbage and trims from a
background thread.

The malloc calls act on Linux with glibc only: elsewhere (macOS, musl, Windows) they do nothing and
return False; none of them raises.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import threading
from typing import Callable

log = logging.getLogger(__name__)
M_ARENA_MAX = -8
"""``mallopt``'s parameter for the most arenas (glibc's ``malloc.h``)."""
ARENAS = 2
"""Arenas for a process of the app (the web process, the training workers): two let two threads
allocate at once (2-core machines), without one arena per script thread."""
ENV_ARENAS = "MALLOC_ARENA_MAX"
"""The environment variable glibc reads at start-up: set for the processes the app starts."""
_libc: ctypes.CDLL | None | bool = False  # False: not looked up yet


def glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc, else None."""
    global _libc
    if _libc is False:
        _libc = None
        try:
            if os.confstr("CS_GNU_LIBC_VERSION"):  # raises, or is empty, without glibc
                lib = ctypes.CDLL(None)
                if hasattr(lib, "mallopt") and hasattr(lib, "malloc_trim"):
                    _libc = lib
        except (AttributeError, ValueError, OSError):
            pass
    return _libc


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``arenas`` for the threads that allocate from now on; returns
    whether it was applied. A ``MALLOC_ARENA_MAX`` already in the environment wins."""
    if arenas < 1:
        raise ValueError(f"arenas must be at least 1; got {arenas}.")
    lib = glibc()
    if lib is None or os.environ.get(ENV_ARENAS, "").strip():
        return False
    return bool(lib.mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(arenas)))


def trim() -> bool:
    """Hand the free pages of every malloc arena back to the system; returns whether any were."""
    lib = glibc()
    return bool(lib.malloc_trim(ctypes.c_size_t(0))) if lib is not None else False


def arenas_env(env: dict[str, str] | None = None, arenas: int = ARENAS) -> dict[str, str]:
    """``env`` (default: this process's) with ``MALLOC_ARENA_MAX`` for a child process, unless it
    already names one."""
    out = dict(os.environ if env is None else env)
    out.setdefault(ENV_ARENAS, str(arenas))
    return out


_trimmer: threading.Thread | None = None
_trimmer_stop = threading.Event()
_trimmer_lock = threading.Lock()


def collect_and_trim() -> bool:
    """A full garbage collection, then :func:`trim`; returns whether pages went back."""
    gc.collect()
    return trim()


def trim_every(seconds: float = 20.0, before: Callable[[], object] | None = None
               ) -> threading.Thread:
    """:func:`collect_and_trim` every ``seconds`` in a daemon thread, once per process (later calls
    return the same thread); ``before()`` first, if given (the web process drops its expired
    sessions: ui/sessions.py). An error in ``before`` is logged and the collection goes on.

    Why the collection too: the sessions a web process drops (closed tabs) are cycles of objects,
    freed only by a collection, and an idle server allocates too little to start one: 60 s after
    60 sessions the app still held ~130 MB more than before them (measured). With the app's
    modules frozen (``gc.freeze``, ui/preload.py) a full collection of a web process takes a few
    milliseconds, a trim 2-20 ms."""
    global _trimmer, _trimmer_stop
    if seconds <= 0:
        raise ValueError(f"seconds must be positive; got {seconds}.")
    with _trimmer_lock:
        if _trimmer is None:
            stop = _trimmer_stop = threading.Event()

            def run() -> None:
                while not stop.wait(seconds):
                    if before is not None:
                        try:
                            before()
                        except Exception:  # noqa: BLE001 - the collection must go on
                            log.exception("before the periodic collection")
                    collect_and_trim()

            _trimmer = threading.Thread(target=run, name="gc-and-malloc-trim", daemon=True)
            _trimmer.start()
        return _trimmer


def stop_trimming() -> None:
    """Stop :func:`trim_every`'s thread (if any) and wait for it; a later call starts a new one."""
    global _trimmer
    with _trimmer_lock:
        thread, _trimmer = _trimmer, None
        _trimmer_stop.set()
    if thread is not None:
        thread.join()
