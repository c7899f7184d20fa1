"""How much work the server accepts, and the sentences that say why it waits or refuses.

Work is measured per job kind in the kind's own units (PPO: environment steps over all runs;
influence: seed-updates); a running estimate of each kind's throughput (units per second,
measured on this server from the jobs that finished) turns work into seconds, so every limit
and every estimate is in seconds of this server's time.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

DEFAULT_RATES = {
    # First guesses (units per second with one training slot on a 2-core CPU), replaced by the
    # measured throughput after the first job of each kind finishes.
    # environment steps over all runs of the request (compiled path: 214k/s measured on one thread)
    "ppo": 150_000.0,
    "influence": 200_000.0,  # seed × update pairs, both trainings of the request
    # Pendulum environment steps over all runs of the request, variants × seeds batched (compiled
    # path on one thread: 71k/s for 5 runs, 107k/s for one, measured under a load of 4-8; the
    # tensor path a server uses while its kernels compile trains ~7k/s)
    "ppo_continuous": 70_000.0,
    # DIAL: seconds of the measured table (toolbox.lessons.dial.requests.request_cost); the rate
    # becomes this server's speed relative to the table's machine
    "dial": 1.0,
    "": 1.0,                 # no kind: work is given in estimated seconds
}


def _env_count(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else default


@dataclass
class Limits:
    """The admission limits of one server.

    per_session: trainings one session may have queued or running at once.
    per_client: trainings all sessions of one client (its address) may have queued or running at
        once: a script opening new sessions cannot bypass ``per_session``. A class behind one
        address (one NAT, or a proxy that hides addresses) shares it: ``RL_TOOLBOX_PER_CLIENT``.
    max_request_s: estimated seconds one request may need at most (its cap on work).
    max_queue_s: estimated seconds of work the server may have waiting or running at once.
    max_jobs: jobs kept at all (queued, running and finished): bounds memory whatever the queue
    does. watcher_timeout_s: a watcher without a heartbeat for this long is gone (heartbeats come
    every
        0.5 s: six may be lost under load; with the watchdog's 0.5 s and a training's report every
        1.5 s at most, a closed tab's training has ended within 5 s).
    max_request_mb: estimated peak memory one request may add, as measured in a fresh process
        (benchmarks/job_costs.py: one DIAL run with n = 10 separate networks adds ~340 MB there,
        and took a server from 515 to 1,348 MB: freed memory stays with the process).
    max_running_mb: estimated memory the trainings running at once may hold; a queued job that
        would pass it waits for running ones to end.
    small_job_s: requests estimated at most this long are short: they have a slot of their own and
    pass
        long ones in the queue (see :mod:`toolbox.serving.runner`).
    batch_max_s: queued requests join one batched training only up to this many estimated seconds in
    all.
    """

    per_session: int = 2
    per_client: int = field(default_factory=lambda: _env_count("RL_TOOLBOX_PER_CLIENT", 8))
    max_request_s: float = 600.0
    max_queue_s: float = 2400.0
    max_jobs: int = 32
    watcher_timeout_s: float = 3.0
    max_request_mb: float = 300.0
    max_running_mb: float = 450.0
    small_job_s: float = 30.0
    # every request of a batch gets its result when the whole batch ends, and on the compiled CPU
    # path a batch costs the sum of its runs. 30 distinct classroom requests
    # (benchmarks/classroom_load.py --scenario distinct): p95 28.8 s with 4 s batches vs 28.9 s with
    # 15 s, page latency p95 1.9 s vs 7.6 s
    batch_max_s: float = 4.0

    def __post_init__(self) -> None:
        if self.per_session < 1 or self.per_client < 1 or self.max_jobs < 1:
            raise ValueError("per_session, per_client and max_jobs must be at least 1.")
        if min(self.max_request_s, self.max_queue_s, self.watcher_timeout_s) <= 0:
            raise ValueError("max_request_s, max_queue_s and watcher_timeout_s must be positive.")


@dataclass
class Throughput:
    """Running estimate of units per second per job kind: an exponential average of finished
    jobs."""

    rates: dict = field(default_factory=lambda: dict(DEFAULT_RATES))
    weight: float = 0.5  # how much the latest measurement counts
    # shorter jobs are mostly start-up cost: they would make the estimate far too slow
    min_seconds: float = 5.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def rate(self, kind: str) -> float:
        with self._lock:
            return self.rates.get(kind, self.rates.get("", 1.0))

    def seconds(self, kind: str, work: float | None) -> float | None:
        """Estimated seconds for ``work`` units of ``kind`` (None when the work is unknown)."""
        if work is None:
            return None
        return float(work) / self.rate(kind)

    def observe(self, kind: str, work: float | None, seconds: float) -> None:
        """Fold one finished job (``work`` units in ``seconds``) into the kind's estimate."""
        if work is None or work <= 0 or seconds <= 0 or seconds < self.min_seconds:
            return
        measured = float(work) / seconds
        with self._lock:
            old = self.rates.get(kind)
            self.rates[kind] = measured if old is None else (
                1 - self.weight) * old + self.weight * measured


def duration(seconds: float | None) -> str:
    """``95`` → ``"about 2 min"``, ``12`` → ``"about 12 s"``; None → ``"an unknown time"``."""
    if seconds is None:
        return "an unknown time"
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


def too_large(seconds: float, cap_s: float, cap_work: float, kind: str, advice: str = "") -> str:
    unit = "steps" if kind == "ppo" else "units of work"
    advice = advice or "Use fewer seeds, variants or steps."
    return (
        f"This training is too large for this server: it needs {duration(seconds)} here, and one "
        f"request may use at most {duration(cap_s)} (the cap is {cap_work:,.0f} {unit} per "
        f"request). {advice}")


def too_much_memory(memory_mb: float, cap_mb: float, advice: str = "") -> str:
    return (f"This training needs about {memory_mb:,.0f} MB of memory, and one request may use at "
            f"most {cap_mb:,.0f} MB on this server. {advice or 'Make it smaller.'}")


def session_busy(active: int, limit: int) -> str:
    return (
        f"You already have {active} training(s) queued or running, the most one session may have "
        f"at once is {limit}. Wait until one finishes, or press Stop on one.")


def client_busy(active: int, limit: int) -> str:
    return (f"Your browser (all its tabs and sessions together) already has {active} training(s) "
            f"queued or running, the most one client may have at once is {limit}. Wait until one "
            "finishes, or press Stop on one.")


def queue_full(queued_s: float, cap_s: float, waiting: int, wait_s: float | None) -> str:
    return (
        f"The server is full: {waiting} training(s) are waiting or running, {duration(queued_s)} "
        f"of work, and it accepts at most {duration(cap_s)}. Try again in {duration(wait_s)}.")


def too_many_jobs(limit: int, wait_s: float | None) -> str:
    return (
        f"The server is full: it holds at most {limit} trainings at once and all of them are still "
        f"queued or running. Try again in {duration(wait_s)}.")
