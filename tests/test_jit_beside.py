"""Compiling beside (toolbox.jit.compile_in_child): a child process compiles a kernel into this
process's disk cache, and this process then loads it instead of compiling; ``is_built`` sees the
cache; a child that fails is logged, never raised. On a toy kernel in a fresh interpreter with its
own cache (the app's kernels use it in ``CompiledPPO._build_kernels``)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from toolbox import jit

ROOT = Path(__file__).resolve().parent.parent
TOY = '''
import numba
from toolbox import jit  # noqa: F401 - points Numba at the toolbox's cache folder


@numba.njit(cache=True)
def twice(x):
    return 2.0 * x


if __name__ == "__main__":
    twice(1.5)
'''
PARENT = '''
import json
from toolbox import jit
import toy_kernel as toy
before = jit.is_built(toy.twice, (1.5,))
child = jit.compile_in_child("toy_kernel")
jit.join_child(child)
after = jit.is_built(toy.twice, (1.5,))
value = toy.twice(1.5)
stats = toy.twice.stats
print("OUT" + json.dumps([before, after, child.returncode, value,
                          sum(stats.cache_hits.values()), sum(stats.cache_misses.values())]))
'''


def test_a_child_compiles_into_the_cache_this_process_loads(tmp_path):
    (tmp_path / "toy_kernel.py").write_text(TOY)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]),
               RL_TOOLBOX_NUMBA_CACHE=str(tmp_path / "cache"))
    env.pop(jit.FOLDER_VAR, None)
    done = subprocess.run([sys.executable, "-c", PARENT], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("OUT"))
    before, after, code, value, hits, misses = json.loads(line[3:])
    assert (before, after, code, value) == (False, True, 0, 3.0)
    assert (hits, misses) == (1, 0)  # loaded what the child compiled, compiled nothing itself


def test_a_failing_child_is_logged_not_raised(caplog):
    child = jit.compile_in_child("toolbox.no_such_module_here")
    if jit.CACHE_DIR is None:
        assert child is None
        return
    with caplog.at_level(logging.WARNING, logger="toolbox.jit"):
        jit.join_child(child)
    assert child.returncode != 0
    assert "compiling child process failed" in caplog.text
    assert "no_such_module_here" in caplog.text


def test_is_built_cannot_tell_means_built():
    """A dispatcher without Numba's cache internals (another Numba version): nothing is compiled
    ahead for it."""
    class Odd:
        overloads: dict = {}
    assert jit.is_built(Odd(), (1.0,)) is True
