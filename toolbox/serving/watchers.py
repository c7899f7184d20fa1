"""Who watches a job, from which client, and when nobody does any more.

A watching session sends heartbeats (:meth:`Watching.touch`, the pages' heartbeat timer: every
0.5 s while the session is connected, whatever the job's progress does). A watcher whose last
heartbeat is older than ``Limits.watcher_timeout_s`` is gone; a job that had watchers and has none
left is *orphaned*: :meth:`Watching.reap` cancels it, queued or running. Nothing waits for a
training's next progress report or for a page to poll: a watchdog thread reaps every
``REAP_EVERY_S`` seconds, so a closed tab's job ends within ``watcher_timeout_s + REAP_EVERY_S``.

Time comes from ``self.clock`` (``time.monotonic`` by default): tests inject a fake clock and call
:meth:`Watching.reap` themselves instead of sleeping.

A *client* is what a new browser session keeps (the pages give a hash of the client's address, or
the session itself when there is none): the per-client limit counts every session of that client.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable

from toolbox.serving.job import CANCELLED

REAP_EVERY_S = 0.5
"""How often the watchdog thread looks for jobs nobody watches."""


class Watching:
    """The watcher bookkeeping of :class:`toolbox.serving.runner.JobRunner` (a mixin: it uses the
    runner's ``_lock``, ``_queue``, ``_running``, ``limits`` and its end and dispatch methods)."""

    clock: Callable[[], float] = staticmethod(time.monotonic)
    _watchdog: threading.Thread | None = None

    def touch(self, job, session_id: str, client_id: str | None = None) -> None:
        """A heartbeat from ``session_id`` (of ``client_id``) watching ``job``."""
        with self._lock:
            job._watchers[session_id] = self.clock()
            if client_id is not None:
                job._clients[session_id] = client_id
            job._ever_watched = True

    def _live_locked(self, job) -> list[str]:
        cutoff = self.clock() - self.limits.watcher_timeout_s
        for sid in [s for s, seen in job._watchers.items() if seen < cutoff]:
            del job._watchers[sid]  # no heartbeat from that session for too long: it is gone
        return list(job._watchers)

    def _orphaned_locked(self, job) -> bool:
        return job._cancel.is_set() or (job._ever_watched and not self._live_locked(job))

    def _reap_locked(self) -> None:
        """Cancel every queued or running job nobody watches any more."""
        reaped = False
        for job in list(self._queue):
            if self._orphaned_locked(job):
                self._queue.remove(job)
                self._end_locked(job, CANCELLED)
                reaped = True
        for job in self._running:
            if self._orphaned_locked(job) and not job._cancel.is_set():
                job._cancel.set()  # the training stops at its next report (between two batches)
                reaped = True
        if reaped:
            self._cond.notify_all()  # a training paused for short ones re-checks: it may be one

    def reap(self) -> None:
        """Cancel the jobs nobody watches now (the watchdog calls it; tests with a fake clock)."""
        with self._lock:
            self._reap_locked()
            self._dispatch_locked()

    def _active_of_locked(self, session_id: str | None, client_id: str | None) -> tuple[int, int]:
        """(jobs queued or running that ``session_id`` watches, those any session of ``client_id``
        watches)."""
        by_session = by_client = 0
        for job in self._running + self._queue:
            live = self._live_locked(job)
            by_session += session_id in live
            mine = client_id is not None and any(job._clients.get(s) == client_id for s in live)
            by_client += mine
        return by_session, by_client

    def _start_watchdog_locked(self) -> None:
        if self._watchdog is not None and self._watchdog.is_alive():
            return
        ref = weakref.ref(self)  # the thread ends with its runner (tests make many runners)

        def loop() -> None:
            while True:
                time.sleep(REAP_EVERY_S)
                runner = ref()
                if runner is None:
                    return
                runner.reap()
                del runner

        self._watchdog = threading.Thread(target=loop, name="jobs-watchdog", daemon=True)
        self._watchdog.start()
