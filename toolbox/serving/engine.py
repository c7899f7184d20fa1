"""Trainings run on a Dask distributed cluster, outside the web process.

Why Dask distributed (``benchmarks/engine_compare.py``, 2 cores): the web process with a local
cluster of one worker holds 366-442 MB (sum of PSS, the worker with torch imported; this module's
arrangement 402-442), where Ray holds 873-897 MB in 10 processes (its own daemons take ~300 MB
before any worker); it starts in 1.2 s on a quiet machine (Ray 7.7 s); and the scheduler's task
keys make identical requests from any number of app processes train once, with nothing to add
(Ray needs a named actor for each).

How it is used::

    result = run_remote(key, fn, report)      # the runner's drop-in for fn(report) (remote.py)

    job = ENGINE.submit(key, fn, threads=1)   # fn(report) runs in a worker process
    for fraction, partial in job.updates():   # until it ends, as the training reports
        ...
    result = job.result()                     # fn's return value, or its exception re-raised
    job.release()                             # this process no longer wants it (also: cancel)

``fn`` (a closure is fine) and what it returns and reports travel by cloudpickle.

- **Where**: ``RL_TOOLBOX_CLUSTER`` (e.g. ``tcp://10.0.0.5:8786``) points every app process at
  one cluster; unset, the first ``submit`` (or :meth:`Engine.warm`) starts a local one in a child
  process (:mod:`toolbox.serving.cluster`): one single-threaded worker process per training slot
  (:func:`toolbox.device.training_slots`), no dashboard; it ends with the app process.
- **Once per key**: the task's Dask key is the request's key; a second ``submit`` of the same key
  from this or another app process while the first is wanted gets the same task (and its result).
- **Progress**: ``report(fraction, partial)`` inside ``fn`` publishes the latest state in the
  scheduler's metadata under the key (cleared when the training ends); :meth:`RemoteJob.updates`
  polls it, from any app process (one round trip: ~2 ms idle).
- **Cancel**: Dask does not stop a running task when its future is cancelled; the training stops
  itself: ``report`` raises :class:`~toolbox.serving.job.Cancelled` once no client wants the key
  any more (the worker marks the task cancelled within ~30 ms of the last release). So one app
  process giving up a job that another one still watches does not stop it.
- **Pause**: :meth:`RemoteJob.pause` makes the training wait at its next report *outside* the
  worker's slot (Dask's ``secede``), so a short request can train meanwhile; :meth:`resume`.
- **Memory**: a worker is a separate process, and after a training that grew it by more than
  ``TRIM_ABOVE_MB`` it hands the memory the training freed back to the system (glibc
  ``malloc_trim``): without it ~400 MB freed in small tensors stayed in the worker (measured,
  both engines). A training that kills its worker fails with a sentence; the worker restarts.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

ENV_ADDRESS = "RL_TOOLBOX_CLUSTER"
PROGRESS = "rl-progress"
PAUSE = "rl-pause:"
TRIM_ABOVE_MB = 32.0
"""A training that left the worker this much larger hands its freed memory back when it ends."""
_LIVE = ("waiting", "ready", "constrained", "executing", "long-running", "resumed", "fetch",
         "flight", "memory")


# ------------------------------------------------------------------- in the worker process
def _released(worker: Any, key: str) -> bool:
    """True once the scheduler told this worker that no client wants ``key`` any more."""
    try:
        task = worker.state.tasks.get(key)
    except AttributeError:  # a distributed without the worker state machine: never cancelled here
        return False
    return task is None or task.state not in _LIVE


def resident_mb() -> float:
    """This process's resident memory in MB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def run_in_worker(key: str, fn: Callable, threads: int, kernels: str | None = None) -> Any:
    """The task a worker runs: ``fn(report)`` with ``threads`` torch threads; then, if it grew the
    worker, the freed memory goes back to the system.

    ``kernels``: the app process's compiled-kernel state when it submitted
    (``toolbox.kernel_state``). While the app's warm-up still compiles them (or they are
    unavailable), the worker must not load or compile them inside a student's training: the
    training takes the readable path, as it would have in the app process."""
    from distributed import Event, get_client, get_worker, rejoin, secede

    from toolbox import kernel_state
    from toolbox.device import thread_count
    from toolbox.serving.job import Cancelled

    if kernels in (kernel_state.COMPILING, kernel_state.UNAVAILABLE):
        kernel_state.set_kernel_status(kernels,
                                       "the app process's state when the training was asked for")
    elif kernel_state.kernel_status().state != kernel_state.READY:
        # the cache is ready: load from it on first use
        kernel_state.set_kernel_status(kernel_state.ON_DEMAND)

    worker, client = get_worker(), get_client()
    pause = Event(PAUSE + key, client=client)
    counter = itertools.count(1)
    before_mb = resident_mb()

    def check() -> None:
        if _released(worker, key):
            raise Cancelled(f"nobody wants {key[:40]!r} any more")

    def report(fraction: float, partial: Any = None) -> None:
        check()
        state = pickle.dumps((next(counter), float(fraction), partial))
        client.set_metadata([PROGRESS, key], state)
        if pause.is_set():
            secede()  # out of the worker's slot: another task may train meanwhile
            try:
                while pause.is_set():
                    check()
                    time.sleep(0.2)
            finally:
                rejoin()  # waits for a free slot
            check()

    try:
        with thread_count(threads):
            return fn(report)
    except (ValueError, Cancelled) as err:  # expected endings: returned, so no worker log
        return _Raised(err)
    finally:
        client.set_metadata([PROGRESS, key], None)  # the scheduler keeps no partial result
        if resident_mb() - before_mb > TRIM_ABOVE_MB:  # (a full gc takes ~0.3 s with torch)
            from toolbox import memory

            memory.collect_and_trim()


class _Raised:
    """What a training raised on purpose (a bad request, a cancel): the app re-raises it."""

    def __init__(self, error: BaseException):
        self.error = error


def _warm_worker(report: Callable[..., None]) -> None:
    """A training that does nothing: the worker imports torch and opens its scheduler link."""
    report(0.0)


class _Call:
    """Pickles as the call ``run_in_worker(*args)``: unpickling it runs the training."""

    def __init__(self, *args: Any):
        self.args = args

    def __reduce__(self) -> tuple:
        return run_in_worker, self.args


def _call(key: str, fn: Callable, threads: int) -> bytes:
    """The task's only argument: bytes that, given to ``pickle.loads`` in a worker, train ``fn``.

    Why bytes: the scheduler unpickles the tasks it receives, and a task naming ``fn`` or
    :func:`run_in_worker` would make it import the trainers and torch (+125 MB in the scheduler's
    process, measured); ``pickle.loads`` of bytes imports nothing there.
    """
    import cloudpickle

    from toolbox.kernel_state import kernel_status

    return cloudpickle.dumps(_Call(key, fn, threads, kernel_status().state))


# ------------------------------------------------------------------- in the app process
class RemoteJob:
    """One training on the cluster as this process sees it: progress, result, cancel."""

    def __init__(self, engine: Engine, key: str, future: Any):
        self.engine, self.key, self.future = engine, key, future
        self.progress, self.partial, self._seen = 0.0, None, 0

    def done(self) -> bool:
        """True once the training has ended (finished, failed or cancelled)."""
        return self.future.done()

    def poll(self) -> bool:
        """Read the latest progress into ``progress`` and ``partial``; True if it changed."""
        raw = self.engine.client().get_metadata([PROGRESS, self.key], default=None)
        if raw is None:  # not reported yet, or the training has ended
            return False
        seq, fraction, partial = pickle.loads(raw)
        if seq <= self._seen:
            return False
        self._seen, self.progress, self.partial = seq, fraction, partial
        return True

    def updates(self, interval: float = 0.25) -> Iterator[tuple[float, Any]]:
        """Yield ``(fraction, partial)`` each time the training reports, until it has ended."""
        while True:
            ended = self.done()
            if self.poll():
                yield self.progress, self.partial
            if ended:
                return
            time.sleep(interval)

    def result(self, timeout: float | None = None) -> Any:
        """``fn``'s return value (waits); its exception re-raised; ``Cancelled`` if cancelled."""
        from distributed import KilledWorker
        from distributed.client import FutureCancelledError

        from toolbox.serving.job import Cancelled

        try:
            value = self.future.result(timeout=timeout)
        except FutureCancelledError as err:
            raise Cancelled(f"{self.key[:40]!r} was cancelled") from err
        except KilledWorker as err:
            raise ValueError("The server stopped this training: its process ended, most likely "
                             "out of memory. Try a smaller request.") from err
        if isinstance(value, _Raised):
            raise value.error
        return value

    def cancel(self) -> None:
        """This process no longer wants the training: it stops once no process wants it."""
        self.future.release()

    def pause(self) -> None:
        """The training waits at its next report, outside its worker slot, until :meth:`resume`."""
        from distributed import Event

        Event(PAUSE + self.key, client=self.engine.client()).set()

    def resume(self) -> None:
        """Let a paused training go on (it takes the next free slot)."""
        from distributed import Event

        Event(PAUSE + self.key, client=self.engine.client()).clear()

    release = cancel


class Engine:
    """A Dask client for this app process, connected or started on first use (thread-safe).

    ``address``: the scheduler to use; default ``RL_TOOLBOX_CLUSTER``, and when that is unset a
    local cluster of ``workers`` single-threaded worker processes (default: the training slots).
    """

    def __init__(self, address: str | None = None, workers: int | None = None):
        self.address = address if address is not None else os.environ.get(ENV_ADDRESS) or None
        self.workers = workers
        self._client = None
        self._cluster = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        """True once this engine has a client (it connected or started its cluster)."""
        return self._client is not None

    def client(self) -> Any:
        """The Dask client, connecting to the cluster (or starting the local one) the first time,
        and again if the local cluster's process has ended."""
        with self._lock:
            if self._cluster is not None and self._cluster.proc.poll() is not None:
                self._client.close(timeout=2)
                self._client, self._cluster = None, None
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        from distributed import Client

        if not self.address:
            from toolbox.device import training_slots
            from toolbox.serving.cluster import LocalProcessCluster

            self._cluster = LocalProcessCluster(self.workers or training_slots())
            atexit.register(self.close)
        address = self.address or self._cluster.address
        return Client(address, timeout="20s", set_as_default=False)

    def submit(self, key: str, fn: Callable, threads: int = 1) -> RemoteJob:
        """Train ``fn(report)`` on the cluster under ``key``; the same key gives the same task.

        While any process holds a job of that key, a new submit gets that job, also when it
        ended in an error: release failed and cancelled jobs at once, finished ones when their
        result is no longer needed (then the next submit trains again).
        """
        client = self.client()
        return RemoteJob(self, key, client.submit(pickle.loads, _call(key, fn, threads), key=key))

    def warm(self) -> threading.Thread:
        """Connect (or start the local cluster) and import torch and the trainers in every worker,
        in a background thread: the app calls this at start so the first training does not wait
        for it (~2-5 s on 2 cores)."""

        def run() -> None:
            try:
                client = self.client()
                keys = [f"rl-warm-up-{addr}" for addr in client.scheduler_info()["workers"]]
                client.gather([client.submit(pickle.loads, _call(key, _warm_worker, 1), key=key,
                                             workers=[key[len("rl-warm-up-"):]])
                               for key in keys])
            except Exception as err:  # noqa: BLE001 - the first submit reports it to the student
                logging.getLogger(__name__).warning("training cluster warm-up failed: %s", err)

        thread = threading.Thread(target=run, name="engine-warm-up", daemon=True)
        thread.start()
        return thread

    def worker_pids(self) -> list[int]:
        """Process ids of the workers (empty before the first use)."""
        if self._client is None:
            return []
        return sorted(self._client.run(os.getpid).values())

    def close(self) -> None:
        """Disconnect, and shut the local cluster down if this engine started one."""
        with self._lock:
            client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.stop()


ENGINE = Engine()

ENV_ENGINE = "RL_TOOLBOX_ENGINE"
"""``cluster`` (default): trainings run on :data:`ENGINE`'s cluster, outside the web process;
``in-process``: in the runner's threads (the test suite, and a machine without room for workers)."""


def default_engine() -> Engine | None:
    """The engine the process-wide runner uses: :data:`ENGINE`, or None for ``in-process``."""
    mode = os.environ.get(ENV_ENGINE, "cluster").strip().lower()
    if mode not in ("cluster", "in-process"):
        raise ValueError(f"{ENV_ENGINE} must be 'cluster' or 'in-process'; got {mode!r}.")
    return ENGINE if mode == "cluster" else None
"""The app process's engine: nothing starts until the first training is submitted."""
