"""glibc malloc's arenas and trimming (toolbox/memory.py): applied on Linux with glibc, nothing and
no error elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolbox import memory

ROOT = Path(__file__).resolve().parent.parent
GLIBC = sys.platform.startswith("linux") and bool(
    getattr(os, "confstr_names", {}).get("CS_GNU_LIBC_VERSION") and
    os.confstr("CS_GNU_LIBC_VERSION"))


@pytest.fixture
def no_glibc(monkeypatch):
    """A C library that is not glibc (macOS, musl): as :func:`memory.glibc` finds it."""
    monkeypatch.setattr(memory, "_libc", None)


def test_without_glibc_everything_is_a_quiet_no_op(no_glibc, monkeypatch):
    monkeypatch.delenv(memory.ENV_ARENAS, raising=False)
    assert memory.glibc() is None
    assert memory.limit_arenas() is False and memory.trim() is False
    assert memory.collect_and_trim() is False  # the collection still runs


def test_the_periodic_collection_frees_cycles_an_idle_process_keeps():
    import gc
    import weakref

    class Session:
        pass

    memory.stop_trimming()  # the app's own (ui/preload.py), if a test imported it
    gc.collect()
    gc.disable()  # as an idle server: no allocations, so no automatic collection
    try:
        s = Session()
        s.self = s  # a cycle, as a dropped session's objects are
        alive = weakref.ref(s)
        del s
        assert alive() is not None
        calls = []

        def before():
            calls.append(1)
            raise RuntimeError("logged, and the collection goes on")

        thread = memory.trim_every(0.02, before=before)
        assert memory.trim_every(5.0) is thread and thread.daemon
        for _ in range(200):
            if alive() is None:
                break
            thread.join(0.01)
        assert alive() is None and calls
    finally:
        gc.enable()
        memory.stop_trimming()
    assert not thread.is_alive() and memory.trim_every(5.0) is not thread
    memory.stop_trimming()


def test_the_lookup_never_raises_where_confstr_knows_no_glibc(monkeypatch):
    def unknown(name):
        raise ValueError("unrecognized configuration name")

    monkeypatch.setattr(memory, "_libc", False)
    monkeypatch.setattr(os, "confstr", unknown)
    assert memory.glibc() is None and memory.trim() is False


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_on_glibc_the_arenas_are_capped_and_freed_pages_go_back():
    code = """
import ctypes, os
from toolbox import memory
assert memory.glibc() is not None
print('LIMIT', memory.limit_arenas(2))
print('TRIM', memory.trim())
"""
    env = {k: v for k, v in os.environ.items() if k != memory.ENV_ARENAS}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                          env=dict(env, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "LIMIT True" in done.stdout and "TRIM" in done.stdout
    # an environment that names the arenas wins over the call
    done = subprocess.run([sys.executable, "-c", "from toolbox import memory\n"
                           "print('LIMIT', memory.limit_arenas(2))"], cwd=ROOT,
                          env=dict(env, PYTHONPATH=str(ROOT), MALLOC_ARENA_MAX="4"),
                          capture_output=True, text=True, timeout=60)
    assert "LIMIT False" in done.stdout, done.stderr


@pytest.mark.skipif(not GLIBC or not Path("/proc/self/status").exists(), reason="glibc, /proc")
def test_trim_returns_freed_heap_pages_to_the_system():
    # many small blocks (below mmap's threshold: they live in the heap), most freed, one kept at
    # the top so the heap cannot simply shrink: only malloc_trim gives the middle back
    code = """
import ctypes
from toolbox import memory
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
blocks = [libc.malloc(64 * 1024) for _ in range(3000)]
for b in blocks:
    ctypes.memset(b, 1, 64 * 1024)
for b in blocks[:-1]:
    libc.free(b)
before = rss()
memory.trim()
print('FREED', before - rss())
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT), MALLOC_MMAP_THRESHOLD_="1048576")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    freed = float(done.stdout.split("FREED")[1])
    assert freed > 100, done.stdout  # ~190 MB were freed but kept by malloc


def test_a_child_s_environment_gets_the_arenas_unless_it_names_them():
    assert memory.arenas_env({})[memory.ENV_ARENAS] == "2"
    assert memory.arenas_env({memory.ENV_ARENAS: "8"})[memory.ENV_ARENAS] == "8"
    with pytest.raises(ValueError):
        memory.limit_arenas(0)
    with pytest.raises(ValueError):
        memory.trim_every(0)
