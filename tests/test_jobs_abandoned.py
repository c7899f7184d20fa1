"""Abandoned work ends: a job whose heartbeats stopped is cancelled, queued or running, whatever its
progress does. Event-driven with a fake clock (``JobRunner(clock=...)``, ``runner.reap()``): no
sleep races a timeout."""

import threading

import pytest

import ui.jobs as ui_jobs
from toolbox.serving import JobRunner, Limits


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def gate():
    g = threading.Event()
    yield g
    g.set()


def spinning(started: threading.Event, gate: threading.Event):
    """A training reporting the same progress and partial result over and over until ``gate``."""
    def fn(report):
        while not gate.is_set():
            report(0.5, {"curve": [1, 2]})  # its progress text never changes
            started.set()
            gate.wait(0.002)
        return "ended by the gate"
    return fn


def test_running_job_is_cancelled_once_heartbeats_stop_for_longer_than_the_timeout(gate):
    clock, started = FakeClock(), threading.Event()
    runner = JobRunner(max_concurrent=1, clock=clock, limits=Limits(watcher_timeout_s=4.0))
    job = runner.submit("a", spinning(started, gate), session_id="tab")
    assert started.wait(5)
    clock.t += 3.9
    runner.reap()
    assert not job.cancelled  # 3.9 s without a heartbeat: still watched
    job.touch("tab")  # a heartbeat (the timer's), progress unchanged
    clock.t += 3.9
    runner.reap()
    assert not job.cancelled
    clock.t += 0.2  # 4.1 s since the last heartbeat: the tab is gone
    runner.reap()
    assert job.cancelled
    assert job.wait(5) and job.status == "cancelled" and not gate.is_set()


def test_queued_job_of_a_closed_tab_is_cancelled_without_waiting_for_the_queue(gate):
    clock = FakeClock()
    runner = JobRunner(max_concurrent=1, clock=clock, limits=Limits(watcher_timeout_s=4.0))
    runner.submit("busy", lambda report: gate.wait(30))  # no session: never reaped
    queued = runner.submit("q", lambda report: "never", session_id="tab")
    other = runner.submit("r", lambda report: "never", session_id="other")
    assert queued.status == "queued" and other.queue_position == 2
    clock.t += 3.0
    other.touch("other")
    clock.t += 1.5
    runner.reap()
    assert queued.status == "cancelled" and runner.queued_count() == 1  # at once, not at a report
    assert other.status == "queued" and other.queue_position == 1


def test_a_job_lives_while_one_of_its_watchers_beats(gate):
    clock, started = FakeClock(), threading.Event()
    runner = JobRunner(max_concurrent=1, clock=clock, limits=Limits(watcher_timeout_s=4.0))
    job = runner.submit("a", spinning(started, gate), session_id="s1")
    runner.submit("a", spinning(started, gate), session_id="s2")
    for _ in range(5):
        clock.t += 3.0
        job.touch("s2")
        runner.reap()
    assert not job.cancelled and job.watchers == 1
    clock.t += 5.0
    runner.reap()
    assert job.cancelled


def test_the_heartbeat_timer_touches_only_for_connected_sessions(monkeypatch, gate):
    clock, started = FakeClock(), threading.Event()
    runner = JobRunner(max_concurrent=1, clock=clock, limits=Limits(watcher_timeout_s=4.0))
    job = runner.submit("hb", spinning(started, gate), session_id="tab")
    connected = {"tab": True}
    monkeypatch.setattr(ui_jobs, "session_alive", lambda sid: connected.get(sid, False))
    ui_jobs.watching(job, "tab", client="c")
    try:
        clock.t += 3.0
        assert ui_jobs.heartbeat_once() == 1 and job._watchers["tab"] == clock.t
        clock.t += 3.0
        runner.reap()
        assert not job.cancelled  # the beat 3 s ago keeps it
        connected["tab"] = False  # the tab closed: the session is disconnected
        assert ui_jobs.heartbeat_once() == 0 and ("tab", job.key) not in ui_jobs._watched
        clock.t += 1.1  # 4.1 s after the last beat
        runner.reap()
        assert job.cancelled and job.wait(5) and job.status == "cancelled"
    finally:
        ui_jobs.unwatch(job, "tab")


def test_a_page_that_no_longer_shows_a_job_stops_watching_it(monkeypatch, gate):
    runner = JobRunner(max_concurrent=1, clock=FakeClock())
    job = runner.submit("shown", spinning(threading.Event(), gate), session_id="tab")
    monkeypatch.setattr(ui_jobs, "session_alive", lambda sid: True)
    ui_jobs.watching(job, "tab", client="c")
    shown_at = ui_jobs._watched[("tab", job.key)][2]
    assert ui_jobs.heartbeat_once(now=shown_at + ui_jobs.FORGET_S - 1) >= 1
    ui_jobs.heartbeat_once(now=shown_at + ui_jobs.FORGET_S + 1)
    assert ("tab", job.key) not in ui_jobs._watched


def test_the_default_timings_end_a_closed_tabs_training_within_5_s():
    """Last heartbeat (at the latest when the tab closed) + timeout + watchdog period + the longest
    gap between a training's reports (PPO's callback_every; DIAL reports every batch)."""
    import inspect

    from toolbox.serving.ppo_batching import train_requests
    from toolbox.serving.watchers import REAP_EVERY_S

    report_every = inspect.signature(train_requests).parameters["callback_every"].default
    timeout = Limits().watcher_timeout_s
    assert timeout + REAP_EVERY_S + report_every <= 5.0
    assert timeout >= 5 * ui_jobs.HEARTBEAT_S  # a few beats may be late under load
