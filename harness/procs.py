"""What a server and its training cluster hold, read from /proc (Linux): memory and CPU time.

The server is ``streamlit run app.py`` *and* the processes it starts (the local Dask cluster's
child, its scheduler, nannies and workers), or, for several app processes on one cluster, every
app process, the scheduler and the workers. Memory is the **sum of PSS** (proportional set size,
``/proc/<pid>/smaps_rollup``): pages shared between processes (the workers' torch libraries, forked
or mapped from one file) count once in all, so the sum is what the machine really holds; RSS would
count them once per process.

:class:`MemorySampler` samples that sum in a background thread (peak, latest); :func:`cpu_s` is the
CPU seconds (user + system, every thread) a set of processes has used so far.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

_CLK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            kids += [int(c) for c in text.split()]
    except OSError:  # the process has ended
        pass
    return kids


def tree(*roots: int) -> list[int]:
    """``roots`` and all their live descendants (children's children too)."""
    seen: list[int] = []
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid in seen or not Path(f"/proc/{pid}").exists():
            continue
        seen.append(pid)
        stack += _children(pid)
    return seen


def pss_mb(pid: int) -> float:
    """PSS of one process in MB (0 if it has ended or cannot be read)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def tree_pss_mb(*roots: int) -> float:
    """Sum of PSS over ``roots`` and their descendants, in MB."""
    return sum(pss_mb(p) for p in tree(*roots))


def cpu_s(pids: list[int] | tuple[int, ...]) -> float:
    """CPU seconds (user + system, all threads) the processes have used so far (live ones)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except (OSError, ValueError, IndexError):
            pass
    return total / _CLK


def role(pid: int) -> str:
    """A short name for a process of the deployment, from its command line."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "ended"
    for needle, name in (("streamlit", "app"), ("fork_apps", "app"), ("cluster.py", "cluster"),
                         ("warm_up", "compile"),
                         ("resource_tracker", "tracker"), ("spawn_main", "worker"),
                         ("dask worker", "worker"), ("dask scheduler", "scheduler")):
        if needle in cmd:
            return name
    return cmd.split(" ", 1)[0].rsplit("/", 1)[-1]


class MemorySampler:
    """Samples :func:`tree_pss_mb` of ``roots`` every ``interval`` s in a thread: ``peak_mb``,
    ``last_mb``, ``processes`` (the most seen at once). Use as a context manager, or start/stop."""

    def __init__(self, *roots: int, interval: float = 0.5):
        self.roots, self.interval = roots, interval
        self.peak_mb = self.last_mb = 0.0
        self.processes = 0
        self.peak_parts: dict[str, float] = {}  # role -> MB at the peak
        self.last_parts: dict[str, float] = {}  # role -> MB at the latest sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pss-sampler", daemon=True)

    def sample(self) -> float:
        pids = tree(*self.roots)
        self.processes = max(self.processes, len(pids))
        parts = [(role(p), pss_mb(p)) for p in pids]
        self.last_mb = sum(mb for _, mb in parts)
        self.last_parts = {}
        for name, mb in parts:
            self.last_parts[name] = self.last_parts.get(name, 0.0) + mb
        if self.last_mb >= self.peak_mb:
            self.peak_mb, self.peak_parts = self.last_mb, self.last_parts
        return self.last_mb

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def reset(self) -> None:
        """Forget the peak (e.g. after measuring idle)."""
        self.peak_mb = 0.0
        self.sample()

    def start(self) -> "MemorySampler":
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> "MemorySampler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def settle_mb(sampler: MemorySampler, seconds: float) -> float:
    """Wait ``seconds`` (the class has left), then the sum of PSS now."""
    time.sleep(seconds)
    return sampler.sample()
