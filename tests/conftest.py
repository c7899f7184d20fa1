"""Shared pytest setup: the repo root on sys.path, CPU by default, one torch thread, suite timing.

One torch thread for every test, set here and nowhere else: the trainings under test are
thousands of tiny tensor ops, and OpenMP threads spin-waiting for each other on a 2-core machine
made the suite several times slower (PPO learning test 319 s -> 11 s, DIAL 203 s -> 12 s) with
identical PPO numbers. DIAL's numbers do depend on the thread count (its reductions are split
across threads), which is why results/ and the reproducibility tests fix it to one.
``OMP_NUM_THREADS`` is set before torch is imported, so subprocesses the tests start (scripts,
servers) inherit it too.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ["OMP_NUM_THREADS"] = "1"
# Trainings run in the runner's threads here (tests drive the runner directly, and each AppTest
# would otherwise start a training cluster); tests/test_serving_engine.py tests the cluster path.
os.environ.setdefault("RL_TOOLBOX_ENGINE", "in-process")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402  (after the thread variables, on purpose)

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Tests never depend on a GPU: unless a developer asks otherwise, compute on the CPU.
os.environ.setdefault("RL_TOOLBOX_DEVICE", "cpu")

# app.py starts the kernels' background warm-up (toolbox/warm_up.py); under AppTest that is this
# process, and backend="auto" would then depend on how far its child had got when a later test asks.
# The suite warms the kernels itself (below) and tests the warm-up in tests/test_warm_up.py.
from toolbox import warm_up  # noqa: E402

warm_up.start = lambda *args, **kwargs: None

_STARTED = time.monotonic()


WARM_UPS = (("toolbox.dial.compiled",), ("toolbox.ppo.compiled", "toolbox.ppo.continuous.compiled"))
"""The kernels' warm-ups the full suite runs before its workers start: two processes side by side,
each running its warm-ups in turn (DIAL's compile takes about as long as CartPole's and the
continuous one's, which itself compiles in two processes)."""


def pytest_configure(config):
    """Before a parallel run's workers start (the xdist controller, never a worker): load, or on a
    fresh machine compile, every compiled kernel once (~36 s on 2 cores on an empty cache, a few
    seconds on a filled one), so that no test compiles one.

    Why up front: compiled in the background beside the tests, each kernel family was compiled
    twice or three times at once on a fresh machine — by the background process and by the first
    test of each worker that needed it (Numba has no lock between processes) — and the suite took
    314-334 s on 2 cores. A run without ``-n`` (one file, one test) skips this: its tests compile
    what they need themselves. Child processes, so no network is built in a test process (a
    warm-up's nn.Linear draws from torch's process-wide generator, which tests seed). A warm-up
    that fails is ignored: the tests that need its kernels then compile them and report."""
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", None):
        return
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    codes = ["; ".join(f"from {m} import warm_up as w{i}; w{i}()" for i, m in enumerate(group))
             for group in WARM_UPS]
    children = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for code in codes]
    for child in children:
        try:
            child.wait(timeout=600)
        except subprocess.TimeoutExpired:
            child.kill()


@pytest.hookimpl(trylast=True)  # after ``-m``/``-k`` deselected: ``-m "not slow"`` builds no venv
def pytest_collection_modifyitems(session, config, items):
    """Browser tests after the rest, and the fresh-install test last.

    The fresh-install test builds its own venv in the background while the other tests run
    (see tests/e2e/fresh_venv.py), so it is started at collection and waited for last.
    """
    def rank(item) -> int:
        path = str(item.fspath)
        if "test_fresh_install" in path:
            return 2
        return 1 if f"{os.sep}e2e{os.sep}" in path else 0

    items.sort(key=rank)  # stable: the order within each group is kept
    if any("test_fresh_install" in str(item.fspath) for item in items):
        from tests.e2e import fresh_venv

        fresh_venv.start_background_build()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminalreporter.write_line(
        f"suite wall time: {time.monotonic() - _STARTED:.1f} s "
        f"(torch threads: {torch.get_num_threads()}, cores: {os.cpu_count()})"
    )
