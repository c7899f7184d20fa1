"""When each job of the runner starts and ends: the estimates behind "position 3 — done in 87 s".

A mixin of :class:`toolbox.serving.runner.JobRunner` (as :class:`~toolbox.serving.watchers.Watching`
is): it reads the runner's queue, running units, slots, measured throughput and limits, and never
changes them. Short jobs (estimated at most ``Limits.small_job_s``) have a lane of their own: a
long training yields to them within one report interval (``REPORT_S``); long jobs wait for the
slots long jobs may hold and for the short work queued before them.
"""

from __future__ import annotations

import heapq
import time

from toolbox.serving.job import QUEUED, RUNNING, Job

UNKNOWN_JOB_S = 60.0
"""Seconds assumed for a job submitted without ``work`` (only its estimates use it)."""
REPORT_S = 2.0
"""About how often a training reports progress (the trainers' ``callback_every``): how soon a long
one yields."""


class Schedule:
    """Estimates over the runner's queue (see the module docstring); the runner holds the state."""

    def queue_position(self, job: Job) -> int:
        with self._lock:
            return self._queue.index(job) + 1 if job in self._queue else 0

    def eta_seconds(self, job: Job) -> float | None:
        with self._lock:
            if job.status == RUNNING:
                return self._remaining(job, time.time())
            if job.status == QUEUED and job in self._queue:
                return self._schedule_locked()[id(job)][1]
            return None

    def _duration(self, job: Job) -> float:
        seconds = self.throughput.seconds(job.kind, job.work)
        return UNKNOWN_JOB_S if seconds is None else seconds

    def _short(self, job: Job) -> bool:
        """Short: its declared work is estimated at most ``Limits.small_job_s`` (a job of unknown
        size is not)."""
        return job.work is not None and self._duration(job) <= self.limits.small_job_s

    def _known_s(self, job: Job) -> float:
        seconds = self.throughput.seconds(job.kind, job.work)
        return 0.0 if seconds is None else seconds

    def _unit_short(self, unit: list[Job]) -> bool:
        return all(self._short(j) for j in unit)

    def _short_waiting_locked(self) -> bool:
        return any(self._short(j) and not self._orphaned_locked(j) for j in self._queue)

    def _remaining(self, job: Job, now: float) -> float:
        left = job._eta.remaining(now)
        # this job's own smoothed pace once it has one
        if job.progress >= 0.05 and left is not None:
            return left
        elapsed, full = now - (job.started_at or now), self._duration(job)
        return max(full - elapsed, 0.1 * full)

    def _schedule_locked(self) -> dict[int, tuple[float, float]]:
        """For each queued job, (seconds until it starts, seconds until it ends). Short jobs: every
        slot frees as its running training's remaining time says, and they take their lane in order;
        long jobs: the slots long jobs may hold, in their order (see the module docstring)."""
        now = time.time()
        n = self.max_concurrent
        units = [(max(self._remaining(j, now) for j in unit),
                  self._unit_short(unit)) for unit in self._units]

        def slots(ends: list[float]) -> list[float]:
            # a slot frees when enough running trainings
            # have ended: the n longest stand for the n slots
            ends = sorted(ends)
            return ends[-n:] if len(ends) >= n else ends + [0.0] * (n - len(ends))

        # short jobs: a long training yields within a report interval
        short_lane = slots([e if short else min(e, REPORT_S) for e, short in units])
        short_work = sum(self._duration(j) for j in self._queue if self._short(j))
        # long jobs also wait for the queued short work
        long_lane = slots([e + short_work / n for e, _ in units])
        for heap in (short_lane, long_lane):
            heapq.heapify(heap)
        out = {}
        for job in self._queue:
            free = short_lane if self._short(job) else long_lane
            start = heapq.heappop(free)
            end = start + self._duration(job)
            out[id(job)] = (start, end)
            heapq.heappush(free, end)
        return out

    def _pending_s_locked(self, short_only: bool = False) -> float:
        now = time.time()
        keep = (lambda j: self._short(j)) if short_only else (lambda j: True)  # noqa: E731
        return (sum(self._remaining(j, now) for j in self._running if keep(j))
                + sum(self._duration(j) for j in self._queue if keep(j)))
