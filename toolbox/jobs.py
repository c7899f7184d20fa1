"""A process-wide runner for long computations (trainings) shared by every browser session.

Why: in a classroom thirty students press *Train* with the same settings at once. The work
must run once, every session must watch the same progress, distinct trainings must not
oversubscribe the server's cores, and finished results must not accumulate without bound.

``RUNNER.submit(key, fn)`` starts ``fn(report)`` in a background thread unless a job with the
same ``key`` already exists (then it returns that job). ``fn`` calls ``report(fraction,
partial)`` to publish progress; sessions read ``job.progress`` / ``job.partial`` while it runs
and ``job.result`` once ``job.done``. At most ``max_concurrent`` jobs compute at a time; the
others wait in ``"queued"``. A ``ValueError`` raised by ``fn`` is kept as ``job.error`` (a
message for the student); any other exception is kept with its type name.

Plain threading, no Streamlit: pages poll it, tests drive it directly.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

import torch

from toolbox.device import training_slots

ReportFn = Callable[[float, Any], None]


@dataclass
class Job:
    key: str
    status: str = "queued"  # queued | running | done | error
    progress: float = 0.0
    partial: Any = None
    result: Any = None
    error: str | None = None
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    _event: threading.Event = field(default_factory=threading.Event, repr=False)
    _derived: dict = field(default_factory=dict, repr=False)
    _derived_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def done(self) -> bool:
        return self.status in ("done", "error")

    def derived(self, name: Hashable, fn: Callable[[], Any]) -> Any:
        """``fn()`` computed once per job and ``name``, shared by every session watching the job.

        What a page derives from a shared training (decoded protocols, figure data) is the same
        for the whole class: thirty sessions computing it at once cost thirty times the CPU and
        memory (DIAL's protocol decoding: ~70 MB per session under the classroom load test).
        The first caller computes while the others wait; an exception is not cached.
        """
        with self._derived_lock:
            if name not in self._derived:
                self._derived[name] = fn()
            return self._derived[name]

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished (or ``timeout`` seconds); True if finished."""
        return self._event.wait(timeout)


def _default_concurrency() -> int:
    # the container's CPU quota, not the host's core count (see toolbox.device.training_slots)
    return training_slots()


def _log_start(key: str) -> None:
    # Lets a load test outside the server process count how many trainings really ran.
    path = os.environ.get("RL_TOOLBOX_JOB_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{time.time():.3f}\t{key.split(':', 1)[0]}\t{len(key)}\n")


class JobRunner:
    """Deduplicating, concurrency-limited background job runner (see module docstring)."""

    def __init__(self, max_concurrent: int | None = None, max_kept: int = 32):
        self.max_concurrent = max_concurrent or _default_concurrency()
        self.max_kept = max_kept
        env_threads = os.environ.get("RL_TOOLBOX_JOB_THREADS", "")
        self.threads_per_job = int(env_threads) if env_threads.isdigit() and int(env_threads) > 0 else 1
        self._slots = threading.Semaphore(self.max_concurrent)
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()

    def get(self, key: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                self._jobs.move_to_end(key)
            return job

    def submit(self, key: str, fn: Callable[[ReportFn], Any]) -> Job:
        """Return the job for ``key``, starting ``fn`` in the background if there is none.

        A job that ended in an error is retried on the next submit (the settings may have
        been a transient problem such as memory); a finished one is reused.
        """
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.status != "error":
                self._jobs.move_to_end(key)
                return job
            job = Job(key=key)
            self._jobs[key] = job
            self._evict_locked()
        thread = threading.Thread(target=self._run, args=(job, fn), name=f"job:{key[:40]}", daemon=True)
        thread.start()
        return job

    def _evict_locked(self) -> None:
        # Drop the least recently used *finished* jobs beyond the cap; never a running one.
        finished = [k for k, j in self._jobs.items() if j.done]
        while len(self._jobs) > self.max_kept and finished:
            self._jobs.pop(finished.pop(0), None)

    def _run(self, job: Job, fn: Callable[[ReportFn], Any]) -> None:
        def report(fraction: float, partial: Any = None) -> None:
            job.progress = float(min(max(fraction, 0.0), 1.0))
            if partial is not None:
                job.partial = partial

        with self._slots:
            # The trainings are thousands of tiny tensor ops; with torch's default of one OpenMP
            # thread per core they spin-wait against the server's page reruns and slow down
            # many-fold on a small machine. One thread per job (set for this thread only) keeps
            # a core free for the pages; more trainings use more cores through max_concurrent.
            torch.set_num_threads(self.threads_per_job)
            job.status = "running"
            job.started_at = time.time()
            _log_start(job.key)
            try:
                job.result = fn(report)
                job.progress = 1.0
                job.status = "done"
            except ValueError as err:
                job.error = str(err)
                job.status = "error"
            except Exception as err:  # noqa: BLE001 - shown to the user, never a traceback
                job.error = f"{type(err).__name__}: {err}"
                job.status = "error"
            finally:
                job.finished_at = time.time()
                job._event.set()

    def running_count(self) -> int:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.status == "running")


RUNNER = JobRunner()
"""The process-wide runner: one Streamlit server process serves every session from it."""
