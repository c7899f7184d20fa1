"""Start the real app (`streamlit run app.py`) on a free loopback port, for e2e tests and load
runs."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository root
LOGS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("streamlit did not become healthy in time")


@contextlib.contextmanager
def streamlit_server(log_name: str = "streamlit.log", env: dict | None = None,
                     python: str | None = None):
    """Yield ``(url, process)`` of a running server; stop it afterwards.

    ``python``: the interpreter that runs streamlit (default: this one), e.g. a fresh venv's.
    """
    LOGS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = dict(os.environ, RL_TOOLBOX_DEVICE="cpu", PYTHONUNBUFFERED="1", **(env or {}))
    with open(LOGS / log_name, "w") as log:
        proc = subprocess.Popen(
            [python or sys.executable, "-m", "streamlit", "run", "app.py", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false",
             # as deployed: no file watcher (watching a checkout with its .venv overflowed inotify)
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        with _serving(proc, [url], grace_s=10):
            yield url, proc


@contextlib.contextmanager
def _serving(proc: subprocess.Popen, urls: list[str], grace_s: float):
    """Wait until every url answers (:func:`wait_healthy`), run the body, then stop ``proc``:
    terminate, and kill it if it has not ended after ``grace_s`` seconds."""
    try:
        for url in urls:
            wait_healthy(url, proc)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def forked_servers(apps: int, log_name: str = "streamlit-forked.log", env: dict | None = None):
    """Yield ``(urls, process)``: ``apps`` app processes forked from one that imported the app's
    modules once (``deploy/fork_apps.py``, as ``deploy/serve.sh`` starts them), each on a free
    loopback port; ``process`` is the launcher (the apps are its children). Stopped afterwards."""
    LOGS.mkdir(parents=True, exist_ok=True)
    ports = [free_port() for _ in range(apps)]
    while len(set(ports)) < apps:
        ports = [free_port() for _ in range(apps)]
    full_env = dict(os.environ, RL_TOOLBOX_DEVICE="cpu", PYTHONUNBUFFERED="1", **(env or {}))
    with open(LOGS / log_name, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "deploy/fork_apps.py", "--ports", ",".join(map(str, ports)), "--",
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
        )
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        with _serving(proc, urls, grace_s=15):
            yield urls, proc


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a live process, in MB."""
    return _status_mb(pid, "VmHWM")


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) a live process holds now, in MB."""
    return _status_mb(pid, "VmRSS")


SETTLE_S = 10.0
"""Seconds a load test leaves the server alone before reading its memory "after" (sessions
closed)."""
