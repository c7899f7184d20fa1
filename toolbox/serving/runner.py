"""The job runner: admission, a queue with a lane for short requests, bounded training threads,
cancel, eviction.

Only running jobs have a thread (a queued job is a record in the queue), so a class that queues
forty trainings costs forty records, not forty threads. All bookkeeping happens under one lock;
the trainings themselves run outside it.

Fairness: a request estimated to need at most ``Limits.small_job_s`` is *short*. A short request
passes the long ones waiting in the queue, and a running long training *yields*: at its next
progress report (every couple of seconds) it pauses while short requests wait, and its slot trains
them; it resumes when none is left. So a student's short training waits only for the short trainings
ahead of it plus one report interval, whatever a client that floods the server with long ones does,
and the CPUs are never oversubscribed; the queue limit of a short request counts only short work.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from typing import Any, Callable

from toolbox.device import thread_count, training_slots, training_threads
from toolbox.serving import admission as adm
from toolbox.serving.job import (
    CANCELLED,
    DONE,
    ERROR,
    QUEUED,
    RUNNING,
    AdmissionError,
    Cancelled,
    Job,
    ReportFn,
)
from toolbox.serving.remote import train_unit
from toolbox.serving.schedule import UNKNOWN_JOB_S, Schedule
from toolbox.serving.watchers import Watching


def _log_start(key: str, env: str = "RL_TOOLBOX_JOB_LOG", status: str = "") -> None:
    # Lets a load test outside the server process count how many trainings really ran (and, with
    # RL_TOOLBOX_JOB_END_LOG, when and how each ended: benchmarks/abandoned_jobs.py).
    path = os.environ.get(env)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{time.time():.3f}\t{key.split(':', 1)[0]}\t{len(key)}{status}\n")


class JobRunner(Watching, Schedule):
    """Deduplicating, admission-controlled, cancellable background job runner.

    ``submit(key, fn, session_id=..., work=..., kind=...)`` returns the job for ``key``: the
    existing one when the same request is already queued, running or done (the class trains it
    once and every session watches it), else a new one queued behind the others, or raises
    :class:`AdmissionError` saying why it is refused. ``fn(report)`` runs in a training thread;
    it calls ``report(fraction, partial)`` to publish progress, and ``report`` raises
    :class:`Cancelled` once nobody watches the job any more. At most ``max_concurrent`` jobs run
    at once; a ``ValueError`` from ``fn`` becomes ``job.error`` (a message for the student).
    """

    def __init__(self, max_concurrent: int | None = None, max_kept: int | None = None,
                 limits: adm.Limits | None = None, rates: dict | None = None,
                 threads_per_job: int | None = None, clock: Callable[[], float] | None = None,
                 engine: Any = None):
        self.engine = engine  # trainings on its cluster (toolbox.serving.engine), or here if None
        if clock is not None:
            self.clock = clock  # heartbeats and watcher timeouts (tests: a fake clock, watchers.py)
        self.max_concurrent = max_concurrent or training_slots()
        self.limits = limits or adm.Limits()
        if max_kept is not None:
            self.limits.max_jobs = max_kept
        self.throughput = adm.Throughput(dict(adm.DEFAULT_RATES, **(rates or {})))
        self.threads_per_job = threads_per_job or training_threads()
        self._lock = threading.RLock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()  # least recently used first
        self._queue: list[Job] = []
        self._running: list[Job] = []
        # what each busy training thread trains (a job, or a batch of jobs)
        self._units: list[list[Job]] = []
        # long units waiting inside a report while short ones train
        self._paused: list[list[Job]] = []
        self._cond = threading.Condition(self._lock)
        self._paused_s: dict[int, float] = {}  # seconds each running unit spent paused
        self._batchers: dict[str, tuple[Callable, int]] = {}

    @property
    def max_kept(self) -> int:
        return self.limits.max_jobs

    # ------------------------------------------------------------------ sessions
    def get(self, key: str) -> Job | None:
        """The job for ``key`` (queued, running or ended and still kept), or None."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                self._jobs.move_to_end(key)
            return job

    def register_batcher(self, group: str, run_batch: Callable[[list, list[ReportFn]], list],
                         capacity: int) -> None:
        """Let queued jobs of ``group`` train together: ``run_batch(payloads, reports) -> results``.

        When a slot frees and the next queued job belongs to ``group``, every other queued job of
        that group (up to ``capacity`` in total size) starts with it as ONE computation: requests
        that arrived while the server was busy cost one batched training, not one each.
        ``reports[i]`` is job i's own report (it raises :class:`Cancelled` when that job is
        cancelled: the batch function drops that job and goes on with the others).
        """
        with self._lock:
            self._batchers[group] = (run_batch, int(capacity))

    def submit(self, key: str, fn: Callable[[ReportFn], Any] | None = None,
               session_id: str | None = None, work: float | None = None, kind: str = "",
               batch: tuple[str, Any, int] | None = None, client_id: str | None = None,
               memory_mb: float | None = None, advice: str = "") -> Job:
        """Return the job for ``key``, queueing ``fn`` if there is none (see the class docstring).

        A job that failed or was cancelled is replaced by a new one; a finished one is reused.
        ``session_id`` (the asking browser session) becomes a watcher of the job and counts
        against the per-session limit; ``work`` (in units of ``kind``) is checked against the
        per-request cap and the server's queue limit. ``batch = (group, payload, size)`` instead of
        ``fn``: the job trains with whatever else of that group is queued
        (:meth:`register_batcher`). ``client_id`` (what a new session of the same client keeps)
        counts against the per-client limit;
        ``memory_mb`` (the request's estimated peak) against the memory budgets; ``advice`` is the
        sentence a refusal for size adds (what to change).
        """
        if (fn is None) == (batch is None):
            raise ValueError("submit needs exactly one of fn and batch.")
        if batch is not None and batch[0] not in self._batchers:
            raise ValueError(f"no batch runner is registered for {batch[0]!r}.")
        with self._lock:
            self._reap_locked()
            job = self._jobs.get(key)
            if job is not None and job.status in (QUEUED, RUNNING, DONE):
                self._jobs.move_to_end(key)
                if session_id is not None:
                    job._cancel.clear()  # someone wants it again before it reached its next report
                    self.touch(job, session_id, client_id)
                return job
            self._admit_locked(session_id, work, kind, client_id, memory_mb, advice)
            job = Job(key=key, work=work, kind=kind, memory_mb=memory_mb, _runner=self, _fn=fn)
            job._batch = batch
            if session_id is not None:
                self.touch(job, session_id, client_id)
                self._start_watchdog_locked()
            self._jobs.pop(key, None)
            self._jobs[key] = job
            self._queue.append(job)
            self._dispatch_locked()
            return job

    def detach(self, job: Job, session_id: str) -> None:
        """``session_id`` stops watching ``job`` (its Stop button); a job nobody watches is
        cancelled."""
        with self._lock:
            job._watchers.pop(session_id, None)
            self._reap_locked()
            self._dispatch_locked()

    def live_watchers(self, job: Job) -> int:
        with self._lock:
            return len(self._live_locked(job))

    def queued_count(self) -> int:
        with self._lock:
            return len(self._queue)

    def kept_count(self) -> int:
        """Jobs held in memory: queued, running and ended ones not yet evicted."""
        with self._lock:
            return len(self._jobs)

    # ------------------------------------------------------------------ admission
    def _admit_locked(self, session_id: str | None, work: float | None, kind: str,
                      client_id: str | None = None, memory_mb: float | None = None,
                      advice: str = "") -> None:
        lim = self.limits
        seconds = self.throughput.seconds(kind, work)
        if seconds is not None and seconds > lim.max_request_s:
            cap_work = lim.max_request_s * self.throughput.rate(kind)
            raise AdmissionError(adm.too_large(seconds, lim.max_request_s, cap_work, kind, advice))
        if memory_mb is not None and memory_mb > lim.max_request_mb:
            raise AdmissionError(adm.too_much_memory(memory_mb, lim.max_request_mb, advice))
        by_session, by_client = self._active_of_locked(session_id, client_id)
        if session_id is not None and by_session >= lim.per_session:
            raise AdmissionError(adm.session_busy(by_session, lim.per_session))
        if client_id is not None and by_client >= lim.per_client:
            raise AdmissionError(adm.client_busy(by_client, lim.per_client))
        own = seconds if seconds is not None else UNKNOWN_JOB_S
        # a short request is measured against the short
        # work only: long requests cannot fill its lane
        pending = self._pending_s_locked(short_only=own <= lim.small_job_s)
        if self._running and pending + own > lim.max_queue_s:
            wait = (pending + own - lim.max_queue_s) / self.max_concurrent
            raise AdmissionError(adm.queue_full(pending, lim.max_queue_s,
                                                len(self._running) + len(self._queue), wait))
        self._evict_locked(room=1)
        if len(self._jobs) >= lim.max_jobs:
            now = time.time()
            ends = [self._remaining(j, now) for j in self._running]
            raise AdmissionError(adm.too_many_jobs(lim.max_jobs, min(ends) if ends else None))

    # ------------------------------------------------------------------ queue and threads
    def _next_locked(self) -> Job | None:
        """The first queued job that may start now: a short one while fewer than ``max_concurrent``
        trainings are active (a paused long one does not count), a long one while fewer than that
        many hold a slot."""
        active = len(self._units) - len(self._paused)
        held_mb = sum(j.memory_mb or 0.0 for j in self._running)  # a paused one keeps its memory
        for job in self._queue:
            if self._running and held_mb + (job.memory_mb or 0.0) > self.limits.max_running_mb:
                continue  # it starts once trainings holding memory end (alone, it always fits)
            if active < self.max_concurrent if self._short(job) else len(
                self._units) < self.max_concurrent:
                return job
        return None

    def _dispatch_locked(self) -> None:
        while self._queue:
            job = self._next_locked()
            if job is None:
                return
            self._queue.remove(job)
            if self._orphaned_locked(job):
                self._end_locked(job, CANCELLED)
                continue
            jobs = [job] + (self._take_batch_locked(job) if job._batch is not None else [])
            for j in jobs:
                j.status, j.started_at = RUNNING, time.time()
                self._running.append(j)
            self._units.append(jobs)
            threading.Thread(target=self._run_unit, args=(jobs,), name=f"job:{job.key[:40]}",
                             daemon=True).start()

    def _take_batch_locked(self, first: Job) -> list[Job]:
        """The queued jobs of ``first``'s batch group that fit beside it, taken out of the queue in
        order: of the same lane (short with short), within the group's capacity, and while the
        batch's estimated time stays within ``Limits.batch_max_s`` (or ``first``'s own time, if
        longer): batching must not make a short request wait for much more than itself."""
        group, _, size = first._batch
        room = self._batchers[group][1] - size
        budget = max(self.limits.batch_max_s, self._known_s(first)) - self._known_s(first)
        taken = []
        for job in list(self._queue):
            if job._batch is None or job._batch[0] != group or self._orphaned_locked(job):
                continue
            if self._short(job) != self._short(first):
                continue
            if job._batch[2] <= room and self._known_s(job) <= budget:
                room -= job._batch[2]
                budget -= self._known_s(job)
                taken.append(job)
                self._queue.remove(job)
        return taken

    def _end_locked(self, job: Job, status: str) -> None:
        self._cond.notify_all()  # a paused long training may resume
        job.status, job.finished_at = status, time.time()
        job._compact()
        self._evict_locked(room=0)
        job._event.set()

    def _evict_locked(self, room: int) -> None:
        # Drop the least recently used ended jobs until
        # there is room; never a queued or running one.
        ended = [k for k, j in self._jobs.items() if j.done]
        while len(self._jobs) > self.limits.max_jobs - room and ended:
            self._jobs.pop(ended.pop(0), None)

    def _reporter(self, job: Job) -> ReportFn:
        def cancel_if_orphaned() -> None:
            if self._orphaned_locked(job):
                job._cancel.set()
                raise Cancelled(f"nobody watches {job.key[:40]!r} any more")

        def report(fraction: float, partial: Any = None) -> None:
            with self._lock:
                cancel_if_orphaned()
                unit = next((u for u in self._units if job in u), None)
                if unit is not None and not self._unit_short(unit) and self._short_waiting_locked():
                    # a long training yields its slot to the
                    # short ones waiting, and resumes after them
                    self._paused.append(unit)
                    paused_at = time.time()
                    try:
                        self._dispatch_locked()
                        while self._short_waiting_locked() or len(self._units) - len(
                            self._paused) >= self.max_concurrent:
                            self._cond.wait(0.5)
                            cancel_if_orphaned()
                    finally:
                        self._paused.remove(unit)
                        self._paused_s[id(unit)] = self._paused_s.get(id(unit),
                                                                      0.0) + time.time() - paused_at
            job.progress = float(min(max(fraction, 0.0), 1.0))
            job._eta.observe(time.time(), job.progress, job.started_at or time.time())
            if partial is not None:
                job.partial = partial

        return report

    def _run_unit(self, jobs: list[Job]) -> None:
        """One training thread: a job's ``fn``, or several queued jobs of one batch group trained as
        one computation (:meth:`register_batcher`); then each job's outcome and the measured
        throughput."""
        t0 = time.time()
        results, failure = None, None
        with thread_count(self.threads_per_job):
            _log_start(jobs[0].key)
            try:
                results = train_unit(jobs, self._reporter, self._batchers, self.threads_per_job,
                                     self.engine)
            except Cancelled:
                failure = CANCELLED
            except ValueError as err:
                failure = str(err)
            except Exception as err:  # noqa: BLE001 - shown to the user, never a traceback
                failure = f"{type(err).__name__}: {err}"
        _log_start(jobs[0].key, "RL_TOOLBOX_JOB_END_LOG", f"\t{failure or 'done'}")
        with self._lock:
            self._units.remove(jobs)
            for i, job in enumerate(jobs):
                self._running.remove(job)
                if results is not None and not job._cancel.is_set():
                    job.result, job.progress = results[i], 1.0
                    self._end_locked(job, DONE)
                elif failure not in (None, CANCELLED):
                    job.error = failure
                    self._end_locked(job, ERROR)
                else:
                    self._end_locked(job, CANCELLED)
            work = [j.work for j in jobs if j.work is not None]
            # time paused for short trainings is not training
            if results is not None and len(work) == len(jobs):
                self.throughput.observe(jobs[0].kind, sum(work),
                                        time.time() - t0 - self._paused_s.pop(id(jobs), 0.0))
            self._dispatch_locked()
