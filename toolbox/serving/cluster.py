"""A local Dask cluster for the app, in a child process of the app process.

Why a child process, not ``distributed.LocalCluster`` inside the web process: Streamlit makes each
page script ``__main__``, and worker processes started from the web process (multiprocessing's
spawn) re-run that script; the child also keeps the scheduler's event loop off the web process's
GIL. The child is this file run as a script (``-m`` would import the ``toolbox.serving`` package,
and torch with it: the scheduler needs neither); it prints the scheduler's address, then reads its
stdin until the app closes it, or exits, or dies, and shuts the cluster down.

Only the standard library is imported at module level.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV_MEMORY = "RL_TOOLBOX_WORKER_MEMORY_MB"
WORKER_MEMORY_MB = 1000
"""A worker's memory limit (resident MB) unless ``RL_TOOLBOX_WORKER_MEMORY_MB`` says otherwise.

Dask's nanny restarts a worker above 95 % of it (the training it ran fails with a sentence, the
worker starts again) and the worker takes no new task above 80 %. Why 1000: a worker with torch
and the compiled kernels loaded holds 605-645 MB resident (470-510 MB PSS: torch's libraries are
shared with the app process), 707 MB during a DIAL training of n = 10 agents (measured on 2 cores,
benchmarks/classroom_load.py --scenario dial-abuse); admission lets one request add ~300 MB. At 850
the worker stopped taking tasks (80 %) during ordinary trainings, so a short request could not pass
a long one, and a worker compiling the kernels itself (no usable cache) was restarted. ``0``: Dask's
own default (the machine's memory shared by the workers)."""


NO_SPILL = {"distributed.worker.memory.target": False, "distributed.worker.memory.spill": False}
"""Dask settings of a training worker: nothing spilled to disk (``deploy/serve.sh`` sets the same
through ``DASK_DISTRIBUTED__WORKER__MEMORY__*``)."""


class LocalProcessCluster:
    """A cluster of ``workers`` single-threaded worker processes, run by a child process.

    ``address`` is its scheduler's address once started; :meth:`stop` shuts it down (and so does
    the end of this process, however it ends).
    """

    def __init__(self, workers: int, timeout: float = 60.0):
        path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
        # (here, in the app process: the child runs this file alone, on the standard library)
        from toolbox.memory import arenas_env

        # the scheduler and the workers (which inherit it): at most 2 glibc malloc arenas, so that
        # what a training freed is not kept in per-thread arenas (toolbox/memory.py)
        env = arenas_env(dict(os.environ, PYTHONPATH=path))
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), str(workers)],
                                     cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().strip() if ready else ""
        if not line.startswith("tcp://"):
            self.stop()
            raise RuntimeError(f"the local training cluster did not start ({line or 'timeout'})")
        self.address = line

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the child to shut the cluster down (close its stdin); kill it if it does not."""
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def worker_memory_limit(env: dict | None = None) -> int | None:
    """Bytes one worker may hold before its nanny restarts it (:data:`WORKER_MEMORY_MB` or
    ``RL_TOOLBOX_WORKER_MEMORY_MB``); None for Dask's default (``0``)."""
    value = (env if env is not None else os.environ).get(ENV_MEMORY, "").strip()
    mb = int(value) if value.isdigit() else WORKER_MEMORY_MB
    return mb * 2**20 if mb > 0 else None


def serve(workers: int) -> None:
    """Run a local cluster of ``workers`` single-threaded worker processes until stdin closes.

    Prints the scheduler's address on the first line of stdout. No dashboard; the scheduler's
    small HTTP server (health, metrics) on a free local port; a training that kills its worker
    (memory) fails once instead of being retried on another worker; each worker's memory is
    limited (:func:`worker_memory_limit`).
    """
    import dask
    from distributed import LocalCluster

    # No spilling to disk: a training's result is small and collected at once, while Dask named
    # the spill file after the task key, a request's key longer than a file name may be (OSError
    # and a traceback in the server's log, measured). The nannies pass this to their workers.
    dask.config.set({"distributed.scheduler.allowed-failures": 0, **NO_SPILL})
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           memory_limit=worker_memory_limit() or "auto",
                           dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False})
    print(cluster.scheduler_address, flush=True)
    try:
        sys.stdin.read()  # until the app process closes the pipe or ends
    finally:
        cluster.close()


if __name__ == "__main__":
    HERE = os.path.dirname(os.path.abspath(__file__))
    # the workers inherit this path: toolbox/serving/job.py must not be importable as `job`
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
    serve(int(sys.argv[1]))
