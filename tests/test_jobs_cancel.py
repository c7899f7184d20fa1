"""Cancel: a job nobody watches any more stops at its next report and its slot goes to the next job.

No test sleeps for a race to settle: watcher timeouts read a fake clock the test advances, the
trainings signal what they reached with events, and every wait is bounded (``WAIT_S``, far above
what a loaded 2-core machine needs) and says what did not happen.
"""

import threading
import time

import pytest

from toolbox.serving import Cancelled, JobRunner, Limits

WAIT_S = 30.0


def ended(job, what: str) -> None:
    assert job.wait(WAIT_S), f"{what} did not end within {WAIT_S} s (status {job.status})"


class Looping:
    """A fake training that reports until it is told to stop (it never ends on its own);
    ``reports`` counts its reports, :meth:`reported` waits for more of them."""

    def __init__(self):
        self.state, self.reports = "not started", 0
        self._cond = threading.Condition()

    def __call__(self, report):
        self.state = "started"
        try:
            while True:
                report(0.5)
                with self._cond:
                    self.reports += 1
                    self._cond.notify_all()
                time.sleep(0.001)
        except Cancelled:
            self.state = "cancelled"
            raise

    def reported(self, more: int) -> None:
        """Block until ``more`` reports beyond the count now have passed (each a chance to stop)."""
        with self._cond:
            target = self.reports + more
            assert self._cond.wait_for(lambda: self.reports >= target, WAIT_S), (
                f"the training made {self.reports} reports, not {target}, within {WAIT_S} s")


def test_job_whose_every_watcher_stopped_is_cancelled_and_the_next_starts():
    now = [0.0]  # a fake clock: no heartbeat times out while the test runs, however slowly
    runner = JobRunner(max_concurrent=1, clock=lambda: now[0])
    a_fn = Looping()
    a = runner.submit("a", a_fn, session_id="s1")
    assert runner.submit("a", Looping(), session_id="s2") is a  # a second student watches it
    b = runner.submit("b", lambda report: "b done", session_id="s3")
    assert a.watchers == 2 and b.status == "queued" and b.queue_position == 1
    a.detach("s1")
    a_fn.reported(3)  # three reports after the detach: each would have raised Cancelled
    assert a.status == "running" and a_fn.state == "started"  # s2 still watches
    a.detach("s2")
    ended(a, "the job nobody watches")
    assert a.status == "cancelled" and a_fn.state == "cancelled"
    ended(b, "the queued job")
    assert b.result == "b done"  # the freed slot went to the next job


def test_a_watcher_that_stops_polling_is_gone():
    now = [0.0]  # a fake clock: the runner's heartbeats and timeouts read it (no sleep races)
    runner = JobRunner(max_concurrent=1, limits=Limits(watcher_timeout_s=0.2), clock=lambda: now[0])
    fn = Looping()
    job = runner.submit("a", fn, session_id="s")
    for _ in range(5):  # heartbeats keep it alive past the timeout
        now[0] += 0.1
        job.touch("s")
        runner.reap()
    assert job.status == "running" and not job.cancelled
    now[0] += 0.3
    runner.reap()
    ended(job, "the job whose watcher went silent")
    assert job.status == "cancelled"  # no heartbeat for 0.3 s: cancelled


def test_queued_job_nobody_watches_never_runs():
    gate = threading.Event()
    runner = JobRunner(max_concurrent=1)
    runner.submit("busy", lambda report: gate.wait(WAIT_S))
    ran = []
    queued = runner.submit("q", lambda report: ran.append(1), session_id="s")
    queued.detach("s")  # ends it at once, under the runner's lock: no wait needed
    assert queued.done and queued.status == "cancelled" and runner.queued_count() == 0
    gate.set()
    ended(runner.get("busy"), "the busy job")
    assert ran == []
    # Train again: a new job
    again = runner.submit("q", lambda report: "second try", session_id="s")
    assert again is not queued
    ended(again, "the resubmitted job")
    assert again.result == "second try"


def test_jobs_without_sessions_are_never_cancelled():
    now = [0.0]
    runner = JobRunner(max_concurrent=1, limits=Limits(watcher_timeout_s=0.05),
                       clock=lambda: now[0])

    def fn(report):
        for i in range(10):
            report(i / 10)
            now[0] += 1.0  # twenty timeouts pass between two reports
            runner.reap()
        return "ok"

    job = runner.submit("a", fn)
    ended(job, "the job without sessions")
    assert job.status == "done"


def test_influence_training_stops_at_the_next_report():
    from toolbox.influence import InfluenceTrainConfig, train_influence_game

    calls = []

    def report(fraction, partial):
        calls.append(fraction)
        if len(calls) == 2:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        train_influence_game(InfluenceTrainConfig(n_seeds=2, iterations=200), report=report,
                             device="cpu")
    assert len(calls) == 2 and calls[-1] < 1.0


def test_ppo_training_stops_at_the_next_callback():
    from toolbox.ppo.config import PPOConfig
    from toolbox.ppo.train import train

    calls = []

    def callback(fraction, partial):
        calls.append(fraction)
        raise Cancelled("stop")

    # the tensor path (no kernel compile) on a small batch; both paths share the callback loop
    config = PPOConfig(num_envs=4, num_steps=32, total_timesteps=4 * 128)
    with pytest.raises(Cancelled):
        train(config, [0], device="cpu", callback=callback, callback_every=0.0, backend="tensor")
    assert len(calls) == 1 and calls[0] < 1.0


def test_a_cancelled_job_keeps_what_it_had_trained():
    now = [0.0]
    runner = JobRunner(max_concurrent=1, clock=lambda: now[0])
    at_04 = threading.Event()

    def fn(report):
        k = 0
        while True:
            k += 1
            report(min(0.1 * k, 0.4), {"curve": list(range(min(k, 4)))})
            if k >= 4:
                at_04.set()  # report has stored progress 0.4 and the 4-point curve
            time.sleep(0.001)

    job = runner.submit("a", fn, session_id="s")
    assert at_04.wait(WAIT_S), f"the training did not reach 0.4 within {WAIT_S} s ({job.progress})"
    job.detach("s")
    ended(job, "the detached job")
    assert job.status == "cancelled"
    assert job.partial == {"curve": [0, 1, 2, 3]} and job.progress == pytest.approx(0.4)
    assert job.result is None
