"""The runner's side of the engine: drop-ins that train on the cluster what it would train here.

:func:`run_remote` replaces ``fn(report)`` and :func:`run_remote_batch` replaces
``run_batch(payloads, reports)`` in :class:`~toolbox.serving.runner.JobRunner`'s training thread,
which then only waits and forwards: each progress the remote training reports is passed to the
local report callback(s), with their contract kept:

- a local report that raises ``Cancelled`` (nobody watches) gives that job up on the cluster: it
  stops at its next report, unless another app process still wants it; in a batch only that
  request is dropped (``run_batch`` sees ``Cancelled`` from its report, as here);
- a local report that blocks for more than ``pause_after`` seconds (the runner makes a long
  training yield to short ones there) pauses the remote training until it returns, so that its
  worker trains the short ones meanwhile.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

from toolbox.serving.engine import ENGINE, Engine, RemoteJob
from toolbox.serving.job import Cancelled

DROPPED = "rl-dropped"
"""Scheduler metadata ``[DROPPED, key]``: the requests of a remote batch nobody wants any more."""


def _forward(job: RemoteJob, call: Callable[[], None], pause_after: float) -> None:
    """``call()`` (a local report); the remote training is paused while it blocks."""
    paused = threading.Event()
    timer = threading.Timer(pause_after, lambda: (job.pause(), paused.set()))
    timer.start()
    try:
        call()
    finally:
        timer.cancel()
        timer.join()
        if paused.is_set():
            job.resume()


def run_remote(key: str, fn: Callable, report: Callable[..., None], threads: int = 1,
               engine: Engine | None = None, interval: float = 0.25,
               pause_after: float = 0.5) -> Any:
    """Train ``fn`` on the cluster under ``key`` as if it ran here: a drop-in for ``fn(report)``.

    Returns ``fn``'s result; re-raises what it raised. Nothing stays on the cluster.
    """
    job = (engine or ENGINE).submit(key, fn, threads)
    try:
        for fraction, partial in job.updates(interval):
            _forward(job, lambda f=fraction, p=partial: report(f, p), pause_after)
        return job.result()
    finally:
        job.release()


def batch_key(keys: Sequence[str]) -> str:
    """The cluster key of a batch: the same requests batched in any app process give the same."""
    return "batch:" + hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]


def train_batch_in_worker(key: str, run_batch: Callable, payloads: list, report) -> list:
    """In the worker: ``run_batch(payloads, reports)`` with one report per request. Each publishes
    ``{i: (count, fraction, partial)}`` for every request through the task's ``report``, and
    raises ``Cancelled`` for a request the app processes dropped (``[DROPPED, key]``)."""
    from distributed import get_client

    client, latest, counts = get_client(), {}, [0] * len(payloads)

    def member(i: int) -> Callable[..., None]:
        def member_report(fraction: float, partial: Any = None) -> None:
            if i in (client.get_metadata([DROPPED, key], default=None) or ()):
                raise Cancelled(f"request {i} of {key[:20]!r} was dropped")
            counts[i] += 1
            latest[i] = (counts[i], float(fraction), partial)
            report(min((latest.get(j, (0, 0.0))[1] for j in range(len(payloads)))), dict(latest))

        return member_report

    try:
        return run_batch(payloads, [member(i) for i in range(len(payloads))])
    finally:
        client.set_metadata([DROPPED, key], None)


def run_remote_batch(keys: Sequence[str], run_batch: Callable, payloads: list,
                     reports: Sequence[Callable[..., None]], threads: int = 1,
                     engine: Engine | None = None, interval: float = 0.25,
                     pause_after: float = 0.5) -> list:
    """Train a batch on the cluster as if it ran here: a drop-in for ``run_batch(payloads,
    reports)`` (``keys``: the requests' keys; ``run_batch`` must be importable, e.g. a module's
    function). Returns its results; re-raises what it raised."""
    import functools

    eng = engine or ENGINE
    key = batch_key(keys)
    job = eng.submit(key, functools.partial(train_batch_in_worker, key, run_batch, list(payloads)),
                     threads)
    seen, dropped = [0] * len(keys), set()
    try:
        for _, states in job.updates(interval):
            for i, (count, fraction, partial) in sorted(states.items()):
                if i in dropped or count <= seen[i]:
                    continue
                seen[i] = count
                try:
                    _forward(job, lambda r=reports[i], f=fraction, p=partial: r(f, p), pause_after)
                except Cancelled:
                    dropped.add(i)
                    eng.client().set_metadata([DROPPED, key], sorted(dropped))
            if len(dropped) == len(keys):
                raise Cancelled("every request of this batch was stopped")
        return job.result()
    finally:
        job.release()


def train_unit(jobs: list, reporter: Callable, batchers: dict, threads: int,
               engine: Engine | None) -> list:
    """Train one unit of the runner: a job's ``fn(report)``, or the jobs of one batch group with
    the group's ``run_batch(payloads, reports)``; in this thread when ``engine`` is None, else on
    the engine's cluster (:func:`run_remote`, :func:`run_remote_batch`). Returns one result per
    job."""
    first = jobs[0]
    if first._batch is None:
        report = reporter(first)
        if engine is None:
            return [first._fn(report)]
        return [run_remote(first.key, first._fn, report, threads, engine)]
    run_batch = batchers[first._batch[0]][0]
    payloads, reports = [j._batch[1] for j in jobs], [reporter(j) for j in jobs]
    if engine is None:
        return run_batch(payloads, reports)
    return run_remote_batch([j.key for j in jobs], run_batch, payloads, reports, threads, engine)
