"""The time left of a running job, smoothed: it counts down between progress reports.

The plain estimate ``elapsed · (1 − p) / p`` read at every poll grows while no report arrives
(``p`` stays put, ``elapsed`` grows) and falls back at the next one: with a report every couple of
seconds the displayed time left jumped by ±10 s every second. :class:`EtaEstimator` instead keeps
an exponentially smoothed rate (progress per second, weighted by the time each report covers,
half-life ``half_life_s``) and, between reports, counts the last estimate down by the time passed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EtaEstimator:
    """Seconds left from ``(time, progress)`` reports: ``observe`` each report, ``remaining(now)``
    at any time."""

    half_life_s: float = 8.0
    """Time after which an old rate counts half as much as the newest one."""
    rate: float | None = None
    """Smoothed progress per second (None until a report with progress)."""
    t_last: float | None = None
    """Time of the last report that moved the progress."""
    p_last: float = 0.0
    """Progress at that report."""

    def observe(self, t: float, progress: float, started_at: float) -> None:
        """A report at time ``t`` (seconds) with ``progress`` in [0, 1] of a job started at
        ``started_at``."""
        if self.t_last is None:
            self.t_last, self.p_last = started_at, 0.0
        dt, dp = t - self.t_last, progress - self.p_last
        if dt <= 0 or dp <= 0:  # no new information: the countdown goes on
            return
        measured = dp / dt
        weight = 1.0 - 0.5 ** (dt / self.half_life_s)
        self.rate = measured if self.rate is None else self.rate + weight * (measured - self.rate)
        self.t_last, self.p_last = t, progress

    def remaining(self, now: float) -> float | None:
        """Seconds left at time ``now``: the last estimate minus the time since it (≥ 0); None
        before any rate."""
        if self.rate is None or self.t_last is None:
            return None
        return max((1.0 - self.p_last) / self.rate - (now - self.t_last), 0.0)
