"""The time left shown while a job runs: smoothed, counting down between reports
(toolbox.serving.eta).

Driven with explicit times (no sleeps): a job that progresses at a steady 1 % per second and reports
at uneven intervals (every 1 to 3 s, as a training whose batches vary), polled every second.
"""

import threading

import pytest

from toolbox.serving import JobRunner
from toolbox.serving.eta import EtaEstimator

RATE = 0.01  # progress per second: a 100 s training
REPORTS = [1.0, 3.0, 1.5, 2.5, 1.0, 3.0, 2.0, 1.0, 3.0, 2.0] * 4  # seconds between reports


def _polls(estimate) -> list[tuple[float, float]]:
    """(time, time left) at every second from 10 s to 80 s, reports arriving as in ``REPORTS``."""
    eta = EtaEstimator()
    times, t = [], 0.0
    for gap in REPORTS:
        t += gap
        times.append(t)
    out, k, last = [], 0, (0.0, 0.0)
    for now in range(1, 81):
        while k < len(times) and times[k] <= now:
            last = (times[k], RATE * times[k])
            eta.observe(last[0], last[1], 0.0)
            k += 1
        if now >= 10:
            out.append((float(now), estimate(eta, float(now), last)))
    return out


def _smoothed(eta, now, last):
    return eta.remaining(now)


def _naive(eta, now, last):
    # the runner's former estimate: this job's progress so far extrapolated from the time elapsed
    return now * (1 - last[1]) / last[1]


def _worst_jump(polls) -> float:
    """Largest departure from counting down by 1 s per second between two polls one second apart."""
    return max(abs((b - a) + 1.0) for (_, a), (_, b) in zip(polls, polls[1:]))


def test_smoothed_time_left_counts_down_without_jumps():
    polls = _polls(_smoothed)
    assert _worst_jump(polls) < 1.5
    for now, left in polls:  # and it is right: a steady job ends at 100 s
        assert left == pytest.approx(100.0 - now, abs=3.0)


def test_the_naive_estimate_jumps_on_the_same_reports():
    # the same reports through the old formula: the
    # display jumped by many seconds (what the issue saw)
    assert _worst_jump(_polls(_naive)) > 5.0


def test_a_slowdown_moves_the_estimate_within_a_few_half_lives():
    eta = EtaEstimator(half_life_s=8.0)
    t, p = 0.0, 0.0
    for _ in range(20):  # 40 s at 1 %/s …
        t, p = t + 2.0, p + 0.02
        eta.observe(t, p, 0.0)
    for _ in range(15):  # … then 30 s at 0.5 %/s: 45 % left at 0.5 %/s = 90 s
        t, p = t + 2.0, p + 0.01
        eta.observe(t, p, 0.0)
    assert eta.remaining(t) == pytest.approx((1 - p) / 0.005, rel=0.1)


def test_no_rate_yet_and_no_progress_keep_counting_down():
    eta = EtaEstimator()
    assert eta.remaining(5.0) is None
    eta.observe(2.0, 0.0, 0.0)  # a report without progress gives no rate
    assert eta.remaining(5.0) is None
    eta.observe(10.0, 0.1, 0.0)
    assert eta.remaining(10.0) == pytest.approx(90.0)
    eta.observe(12.0, 0.1, 0.0)  # stalled: the countdown goes on, never below 0
    assert eta.remaining(15.0) == pytest.approx(85.0) and eta.remaining(1e6) == 0.0


def test_runner_reports_the_smoothed_time_left():
    gate, reported = threading.Event(), threading.Event()
    runner = JobRunner(max_concurrent=1)

    def fn(report):
        report(0.5)
        reported.set()
        gate.wait(5)
        return 1

    try:
        job = runner.submit("a", fn, work=None)
        assert reported.wait(5)
        left = job.eta_seconds
        assert left == pytest.approx(job._eta.remaining(job._eta.t_last), abs=1.0)
    finally:
        gate.set()
