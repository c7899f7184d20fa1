"""deploy/fork_apps.py: several app processes forked from one that imported the app once (the
multi-process deployment of deploy/serve.sh)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from harness.live_server import forked_servers, rss_mb
from harness.procs import pss_mb, tree

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("engine, numba", [("in-process", True), ("cluster", False)])
def test_the_launcher_imports_the_app_without_starting_a_thread(engine, numba):
    # a forked child has only the thread that forked: nothing may run in another one before it.
    # With a training cluster the apps never call a kernel: Numba stays out (as in ui/preload.py)
    code = ("import sys, threading\nsys.path.insert(0, 'deploy')\nimport fork_apps\n"
            "names = fork_apps.preload()\n"
            "print('THREADS', threading.active_count())\n"
            "print('MODULES', 'torch' in sys.modules, 'toolbox.lessons' in sys.modules, "
            "'ui.jobs' in sys.modules, 'ui.preload' in sys.modules)\n"
            "print('NUMBA', 'numba' in sys.modules)\n")
    env = dict(os.environ, RL_TOOLBOX_ENGINE=engine)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "THREADS 1" in done.stdout and "MODULES True True True False" in done.stdout
    assert f"NUMBA {numba}" in done.stdout


@pytest.mark.parametrize("ports", ["", "8501,x", "8501,8501", "0", "70000"])
def test_bad_ports_are_refused_with_a_sentence(ports):
    done = subprocess.run([sys.executable, "deploy/fork_apps.py", "--ports", ports], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--ports takes" in done.stderr


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc/self").exists(),
                    reason="os.fork, /proc")
def test_two_forked_apps_answer_on_their_ports_and_stop_together():
    with forked_servers(2, "streamlit-forked-test.log",
                        env={"RL_TOOLBOX_ENGINE": "in-process"}) as (urls, proc):
        for url in urls:
            with urllib.request.urlopen(url, timeout=10) as page:
                assert page.status == 200 and b"<html" in page.read().lower()
        apps = [p for p in tree(proc.pid) if p != proc.pid]
        assert len(apps) >= 2  # the two apps (and maybe their kernel compilers)
        # the modules imported before the fork are shared: the launcher and its apps together
        # hold little more than the launcher's own pages (~400 MB resident); copies would be
        # three times that
        assert sum(pss_mb(p) for p in [proc.pid, *apps]) < 1.6 * rss_mb(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) in (0, -signal.SIGTERM, 128 + signal.SIGTERM)
        end = time.monotonic() + 10
        while time.monotonic() < end and any(Path(f"/proc/{p}").exists() for p in apps):
            time.sleep(0.1)
        assert not any(Path(f"/proc/{p}").exists() and
                       "zombie" not in Path(f"/proc/{p}/status").read_text() for p in apps)
