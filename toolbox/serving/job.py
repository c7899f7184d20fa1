"""One shared training (:class:`Job`), what it reports, and how it stops.

A job is watched by browser sessions; each watcher sends a heartbeat (:meth:`Job.touch`) every
second while its session is connected. A job that had watchers and has none left (each pressed
Stop, or went silent for longer than the runner's timeout) is cancelled: the training sees it the
next time it reports progress (trainings report between batches): ``report`` raises
:class:`Cancelled`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from toolbox.serving.eta import EtaEstimator

ReportFn = Callable[..., None]
QUEUED, RUNNING, DONE, ERROR, CANCELLED = "queued", "running", "done", "error", "cancelled"
FINISHED = (DONE, ERROR, CANCELLED)


class Cancelled(Exception):
    """Raised by a job's ``report`` callback once nobody watches the job any more.

    Trainings need not catch it: it unwinds the training loop and the runner marks the job
    ``"cancelled"`` and gives its slot to the next queued job.
    """


class AdmissionError(ValueError):
    """A request the server refuses, with a sentence saying why and what to do instead."""


@dataclass
class Job:
    """A training shared by every session that asked for the same ``key``.

    ``status``: queued | running | done | error | cancelled. ``progress`` in [0, 1], ``partial``
    the latest partial result while running (dropped when the job ends, to keep memory small,
    except on cancel: a stopped training keeps what it had trained, at ``progress``),
    ``result`` once done, ``error`` a message for the student. ``work`` and ``kind`` size the job
    for admission and for the time estimates (``work`` in the kind's units, e.g. environment steps).
    """

    key: str
    status: str = QUEUED
    progress: float = 0.0
    partial: Any = None
    result: Any = None
    error: str | None = None
    work: float | None = None
    kind: str = ""
    memory_mb: float | None = None
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    _event: threading.Event = field(default_factory=threading.Event, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _derived: dict = field(default_factory=dict, repr=False)
    _derived_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _watchers: dict = field(default_factory=dict, repr=False)  # session -> last heartbeat
    _clients: dict = field(default_factory=dict, repr=False)  # session id -> client id
    _ever_watched: bool = field(default=False, repr=False)
    _runner: Any = field(default=None, repr=False)
    _fn: Callable | None = field(default=None, repr=False)
    # (group, payload, size) of a batchable job
    _batch: tuple | None = field(default=None, repr=False)
    _eta: EtaEstimator = field(default_factory=EtaEstimator, repr=False)

    @property
    def done(self) -> bool:
        """True once the job has ended: finished, failed or cancelled."""
        return self.status in FINISHED

    @property
    def cancelled(self) -> bool:
        """True when the job was cancelled (or has been asked to stop and will at its next
        report)."""
        return self.status == CANCELLED or self._cancel.is_set()

    @property
    def queue_position(self) -> int:
        """1 for the next job to start, 2 for the one after, …; 0 when not waiting."""
        return self._runner.queue_position(self) if self._runner is not None else 0

    @property
    def eta_seconds(self) -> float | None:
        """Estimated seconds until the job has finished (from measured throughput); None when ended
        or unknown."""
        return self._runner.eta_seconds(self) if self._runner is not None else None

    @property
    def watchers(self) -> int:
        """How many sessions watch the job now (heartbeats younger than the runner's timeout)."""
        return self._runner.live_watchers(self) if self._runner is not None else len(self._watchers)

    def touch(self, session_id: str, client_id: str | None = None) -> None:
        """Heartbeat from a watching session (the pages' timer: :mod:`toolbox.serving.watchers`)."""
        if self._runner is not None:
            self._runner.touch(self, session_id, client_id)
        else:
            self._watchers[session_id] = time.monotonic()
            self._ever_watched = True

    def detach(self, session_id: str) -> None:
        """``session_id`` stops watching (its Stop button); a job nobody watches any more is
        cancelled."""
        if self._runner is not None:
            self._runner.detach(self, session_id)
        else:
            self._watchers.pop(session_id, None)

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
        """Block until the job has ended (or ``timeout`` seconds); True if it ended."""
        return self._event.wait(timeout)

    def _compact(self) -> None:
        # Once ended, only the result (and what sessions derived from it) is needed: the last
        # partial result and the training closure (which holds its inputs) can be large. A
        # cancelled job keeps its last partial result: the page shows what was trained until Stop.
        if self.status != CANCELLED:
            self.partial = None
        self._fn = None
        self._batch = None
