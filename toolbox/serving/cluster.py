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


class LocalProcessCluster:
    """A cluster of ``workers`` single-threaded worker processes, run by a child process.

    ``address`` is its scheduler's address once started; :meth:`stop` shuts it down (and so does
    the end of this process, however it ends).
    """

    def __init__(self, workers: int, timeout: float = 60.0):
        path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), str(workers)],
                                     cwd=ROOT, env=dict(os.environ, PYTHONPATH=path),
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


def serve(workers: int) -> None:
    """Run a local cluster of ``workers`` single-threaded worker processes until stdin closes.

    Prints the scheduler's address on the first line of stdout. No dashboard; the scheduler's
    small HTTP server (health, metrics) on a free local port; a training that kills its worker
    (memory) fails once instead of being retried on another worker.
    """
    import dask
    from distributed import LocalCluster

    dask.config.set({"distributed.scheduler.allowed-failures": 0})
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
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
