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


@pytest.hookimpl(trylast=True)  # after ``-m``/``-k`` deselected: ``-m "not slow"`` builds no venv
def pytest_collection_modifyitems(session, config, items):
    """DIAL's tests after the other unit tests, browser tests after those, and the fresh-install
    test last.

    The fresh-install test builds its own venv in the background while the other tests run
    (see tests/e2e/fresh_venv.py), so it is started at collection and waited for last.
    """
    def rank(item) -> float:
        path = str(item.fspath)
        if "test_fresh_install" in path:
            return 2
        if f"{os.sep}e2e{os.sep}" in path:
            return 1
        # DIAL's files come alphabetically early, and their first compiled training compiled the
        # kernels itself while the warm-up child (below) compiled the same ones (~25 s of CPU
        # twice); after the other unit tests the child has written them to the cache
        return 0.5 if os.path.basename(path).startswith("test_dial") else 0

    items.sort(key=rank)  # stable: the order within each group is kept
    # under pytest-xdist every worker collects every test: one of them warms the kernels (the others
    # load them from Numba's disk cache, or compile what they need first themselves)
    first_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0") == "gw0"
    if first_worker and any(k in str(item.fspath) for item in items for k in ("ppo", "dial")):
        # On a fresh machine the compiled PPO, DIAL and continuous-PPO kernels take ~18 s each to
        # compile: do it on the idle second core while the first tests run (the tests run on one
        # thread); a test that needs a kernel first compiles it itself, or loads it from the cache
        # once this has written it. In the order the suite's files (alphabetical) first need them.
        # A child process, not a thread of this worker: the warm-ups build networks, and
        # nn.Linear's constructor draws from torch's process-wide generator, which a test here may
        # have seeded (torch.manual_seed) for its own draws: a thread beside it would change that
        # test's numbers. (DIAL's make_team, which once seeded it too and failed
        # tests/test_dial_golden.py this way, now draws from a generator of its own.)
        import atexit
        import subprocess

        code = ("from toolbox.dial.compiled import warm_up as a; "
                "from toolbox.ppo.compiled import warm_up as b; "
                "from toolbox.ppo.continuous.compiled import warm_up as c; a(); b(); c()")
        child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                                 env=dict(os.environ, PYTHONPATH=str(ROOT)),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        atexit.register(child.kill)  # Numba writes each cache file whole (by rename)
    if any("test_fresh_install" in str(item.fspath) for item in items):
        from tests.e2e import fresh_venv

        fresh_venv.start_background_build()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    terminalreporter.write_line(
        f"suite wall time: {time.monotonic() - _STARTED:.1f} s "
        f"(torch threads: {torch.get_num_threads()}, cores: {os.cpu_count()})"
    )
