"""Cancel: a job nobody watches any more stops at its next report and its slot goes to the next job."""

import threading
import time

import pytest

from toolbox.serving import Cancelled, JobRunner, Limits


def looping(seen: dict, name: str):
    """A fake training that reports until it is told to stop (it never ends on its own)."""
    def fn(report):
        seen[name] = "started"
        try:
            while True:
                report(0.5)
                time.sleep(0.01)
        except Cancelled:
            seen[name] = "cancelled"
            raise
    return fn


def test_job_whose_every_watcher_stopped_is_cancelled_and_the_next_starts():
    runner = JobRunner(max_concurrent=1)
    seen: dict = {}
    a = runner.submit("a", looping(seen, "a"), session_id="s1")
    assert runner.submit("a", looping(seen, "a"), session_id="s2") is a  # a second student watches it
    b = runner.submit("b", lambda report: "b done", session_id="s3")
    assert a.watchers == 2 and b.status == "queued" and b.queue_position == 1
    a.detach("s1")
    time.sleep(0.1)
    assert a.status == "running"  # s2 still watches
    a.detach("s2")
    assert a.wait(5) and a.status == "cancelled" and seen["a"] == "cancelled"
    assert b.wait(5) and b.result == "b done"  # the freed slot went to the next job


def test_a_watcher_that_stops_polling_is_gone():
    now = [0.0]  # a fake clock: the runner's heartbeats and timeouts read it (no sleep races)
    runner = JobRunner(max_concurrent=1, limits=Limits(watcher_timeout_s=0.2), clock=lambda: now[0])
    seen: dict = {}
    job = runner.submit("a", looping(seen, "a"), session_id="s")
    for _ in range(5):  # heartbeats keep it alive past the timeout
        now[0] += 0.1
        job.touch("s")
        runner.reap()
    assert job.status == "running" and not job.cancelled
    now[0] += 0.3
    runner.reap()
    assert job.wait(5) and job.status == "cancelled"  # no heartbeat for 0.3 s: cancelled


def test_queued_job_nobody_watches_never_runs():
    gate = threading.Event()
    runner = JobRunner(max_concurrent=1)
    runner.submit("busy", lambda report: gate.wait(5))
    ran = []
    queued = runner.submit("q", lambda report: ran.append(1), session_id="s")
    queued.detach("s")
    assert queued.wait(1) and queued.status == "cancelled" and runner.queued_count() == 0
    gate.set()
    assert runner.get("busy").wait(5)
    assert ran == []
    again = runner.submit("q", lambda report: "second try", session_id="s")  # Train again: a new job
    assert again is not queued and again.wait(5) and again.result == "second try"


def test_jobs_without_sessions_are_never_cancelled():
    runner = JobRunner(max_concurrent=1, limits=Limits(watcher_timeout_s=0.05))

    def fn(report):
        for i in range(10):
            report(i / 10)
            time.sleep(0.02)
        return "ok"

    job = runner.submit("a", fn)
    assert job.wait(5) and job.status == "done"


def test_influence_training_stops_at_the_next_report():
    from toolbox.influence import InfluenceTrainConfig, train_influence_game

    calls = []

    def report(fraction, partial):
        calls.append(fraction)
        if len(calls) == 2:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        train_influence_game(InfluenceTrainConfig(n_seeds=2, iterations=200), report=report, device="cpu")
    assert len(calls) == 2 and calls[-1] < 1.0


def test_ppo_training_stops_at_the_next_callback():
    from toolbox.ppo.config import PPOConfig
    from toolbox.ppo.train import train

    calls = []

    def callback(fraction, partial):
        calls.append(fraction)
        raise Cancelled("stop")

    with pytest.raises(Cancelled):
        train(PPOConfig(total_timesteps=4 * 512), [0], device="cpu", callback=callback, callback_every=0.0)
    assert len(calls) == 1 and calls[0] < 1.0


def test_a_cancelled_job_keeps_what_it_had_trained():
    runner = JobRunner(max_concurrent=1)
    started = threading.Event()

    def fn(report):
        k = 0
        while True:
            k += 1
            report(min(0.1 * k, 0.4), {"curve": list(range(min(k, 4)))})
            started.set()
            time.sleep(0.01)

    job = runner.submit("a", fn, session_id="s")
    assert started.wait(5)
    while job.progress < 0.4:
        time.sleep(0.01)
    job.detach("s")
    assert job.wait(5) and job.status == "cancelled"
    assert job.partial == {"curve": [0, 1, 2, 3]} and job.progress == pytest.approx(0.4)
    assert job.result is None
