"""A fresh server trains at once while its kernels compile: ``backend="auto"`` takes the readable
paths until the background warm-up (toolbox/warm_up.py) has loaded the compiled kernels, and the
results and the progress line say which code trained them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from toolbox import jit, kernel_state
from toolbox.dial.compiled import choose_backend as dial_backend
from toolbox.dial.config import DialConfig
from toolbox.ppo.compiled import CompiledGroup
from toolbox.ppo.compiled import choose_backend as ppo_backend
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.group import Group
from toolbox.serving import JobRunner, Limits
from ui.jobs import progress_text

ROOT = Path(__file__).resolve().parent.parent
CPU = torch.device("cpu")


@pytest.fixture
def status():
    """Set the kernels' status for one test; the process's own status comes back afterwards."""
    saved = list(kernel_state._history)
    yield jit.set_kernel_status
    kernel_state._history[:] = saved


@pytest.mark.parametrize("state, ppo, dial", [
    (jit.ON_DEMAND, "compiled", "compiled"),  # scripts and tests: the first compiled call compiles
    (jit.COMPILING, "tensor", "tensor"),
    (jit.READY, "compiled", "compiled"),
    (jit.UNAVAILABLE, "tensor", "tensor"),
])
def test_auto_takes_the_readable_path_until_the_kernels_are_loaded(status, state, ppo, dial):
    status(state, "why" if state == jit.UNAVAILABLE else None)
    assert jit.compiled_ready() == (ppo == "compiled")
    assert ppo_backend("auto", CPU) == ppo and dial_backend(DialConfig(), CPU, "auto") == dial
    # asked for by name, the compiled path is still given (it compiles if it must)
    assert ppo_backend("compiled", CPU) == "compiled"
    assert dial_backend(DialConfig(), CPU, "compiled") == "compiled"


def test_readable_reason_at_the_time_a_training_started(status):
    compiling = status(jit.COMPILING)
    time.sleep(0.01)
    ready = status(jit.READY)
    assert jit.readable_reason_at(compiling.since) == jit.COMPILING
    assert jit.readable_reason_at((compiling.since + ready.since) / 2) == jit.COMPILING
    assert jit.readable_reason_at(ready.since) is None
    assert jit.readable_reason_at(ready.since + 60) is None
    with pytest.raises(ValueError):
        status("later")


def test_ppo_results_record_their_backend():
    c = PPOConfig(num_envs=2, num_steps=8, total_timesteps=32)
    assert Group([c], [0], CPU).results()[0].backend == "tensor"
    assert CompiledGroup([c], [0], CPU).results()[0].backend == "compiled"


def test_the_progress_line_says_the_kernels_compile_and_the_readable_path_trains(status):
    status(jit.COMPILING)
    limits = Limits(max_request_s=100, max_queue_s=1000)
    runner = JobRunner(max_concurrent=1, rates={"ppo": 1e6}, limits=limits)
    lines = {}

    def train(key):
        def fn(report):
            for fraction in (0.01, 0.5):
                report(fraction)
                lines[fraction] = progress_text(runner.get(key), "Training")
            return 1
        return fn

    job = runner.submit("a", train("a"), work=1000, kind="ppo")
    assert job.wait(10) and job.status == "done"
    for line in lines.values():
        assert "compiling" in line and "readable PyTorch path meanwhile" in line, line
    assert "estimated once it has trained a little" in lines[0.01]
    assert lines[0.5].startswith("Training: 50% — about ")
    status(jit.READY)
    later = runner.submit("b", train("b"), work=1000, kind="ppo")
    assert later.wait(10)
    assert "readable" not in lines[0.5] and lines[0.5].startswith("Training: 50% — about ")


# ---- the warm-up in a child process, on a small kernel and a private cache ---------------------

WARM = """
from toolbox import jit, kernel_state, warm_up
from toolbox.ppo.compiled import choose_backend
import torch
warm_up.start({targets!r}, load={load!r}).join()
s = jit.kernel_status()
from toolbox.dial import kernel
print('LOADED', len(kernel.clip_and_rmsprop.signatures))
print('STATUS', s.state, jit.compiled_ready(), choose_backend('auto', torch.device('cpu')))
print('REASON', s.reason)
print('HISTORY', ','.join(h.state for h in kernel_state._history))
"""


def warm_in_child(cache: Path, targets: list[str],
                  load: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               RL_TOOLBOX_NUMBA_CACHE=str(cache))
    code = "import logging\nlogging.basicConfig(level=logging.INFO)" + WARM.format(
        targets=targets, load=load)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.slow
def test_warm_up_compiles_in_a_child_then_loads_and_a_restart_loads_at_once(tmp_path):
    done = warm_in_child(tmp_path, ["tests.kernel_targets:small"])
    assert "STATUS ready True compiled" in done.stdout
    assert "compiling the kernels in a child process" in done.stderr
    assert "compiled kernels ready" in done.stderr
    assert len(list(tmp_path.rglob("*.nbc"))) == 2 and len(list(tmp_path.rglob("warmed"))) == 1
    # from start() on, trainings took the readable path until the kernels were loaded
    assert "HISTORY on demand,compiling,compiling,ready" in done.stdout
    again = warm_in_child(tmp_path, ["tests.kernel_targets:small"])
    assert "STATUS ready True compiled" in again.stdout
    assert "loaded from" in again.stderr and "child process" not in again.stderr, again.stderr
    # a warmed cache loads in a second: a training asked for meanwhile waits for it on the compiled
    # path instead of running on the readable one
    assert "HISTORY on demand,ready" in again.stdout
    assert "LOADED 1" in done.stdout and "LOADED 1" in again.stdout


@pytest.mark.slow
def test_a_web_process_with_a_cluster_fills_the_cache_without_loading_the_kernels(tmp_path):
    """``load=False`` (the app process when the workers train): the child compiles into the cache
    and the status is ready, but this process holds none of the kernels' machine code."""
    done = warm_in_child(tmp_path, ["tests.kernel_targets:small"], load=False)
    assert "STATUS ready True compiled" in done.stdout
    assert "compiling the kernels in a child process" in done.stderr
    assert len(list(tmp_path.rglob("*.nbc"))) == 2 and len(list(tmp_path.rglob("warmed"))) == 1
    assert "LOADED 0" in done.stdout, done.stdout
    again = warm_in_child(tmp_path, ["tests.kernel_targets:small"], load=False)
    assert "STATUS ready True compiled" in again.stdout and "LOADED 0" in again.stdout
    assert "child process" not in again.stderr and "loaded from" not in again.stderr
    assert "HISTORY on demand,ready" in again.stdout


@pytest.mark.slow
def test_a_kernel_that_cannot_be_built_leaves_the_readable_path_and_says_why(tmp_path):
    done = warm_in_child(tmp_path, ["tests.kernel_targets:broken"])
    assert "STATUS unavailable False tensor" in done.stdout
    assert "cannot be built" in done.stdout  # the reason
    assert "emptying the cache" in done.stderr and "failed twice" in done.stderr


@pytest.mark.slow
def test_a_cache_that_crashes_its_loader_is_emptied_and_rebuilt(tmp_path):
    """Damage the pickle check cannot see (the child dies while loading): the cache is emptied,
    compiled again, and the server never ran the bad code itself."""
    from tests.kernel_targets import POISON

    folder = tmp_path / jit.sources_hash()
    folder.mkdir()
    (folder / POISON).write_text("")
    done = warm_in_child(tmp_path, ["tests.kernel_targets:crash_if_poisoned"])
    assert "STATUS ready True compiled" in done.stdout
    assert "emptying the cache" in done.stderr and not (folder / POISON).exists()
