"""Admission control, queue position/ETA and the bound on jobs kept, with tiny fake jobs (no
trainings)."""

import threading
import time

import pytest

from toolbox.serving import AdmissionError, JobRunner, Limits, Throughput, duration


def blocked(gate: threading.Event):
    """A fake training that reports until ``gate`` opens."""
    def fn(report):
        while not gate.wait(0.01):
            report(0.0)
        return "ok"
    return fn


@pytest.fixture
def gate():
    g = threading.Event()
    yield g
    g.set()  # let every fake training end


def test_per_session_limit_names_the_limit_and_other_sessions_still_get_in(gate):
    runner = JobRunner(max_concurrent=1, limits=Limits(per_session=2))
    a = runner.submit("a", blocked(gate), session_id="s")
    runner.submit("b", blocked(gate), session_id="s")
    with pytest.raises(AdmissionError, match="You already have 2 training.*at once is 2"):
        runner.submit("c", blocked(gate), session_id="s")
    # the same request again: no new work
    assert runner.submit("a", blocked(gate), session_id="s") is a
    assert runner.submit("c", blocked(gate), session_id="t").status == "queued"  # another student
    gate.set()
    assert a.wait(5)
    assert runner.get("b").wait(5)
    # finished ones no longer count
    assert runner.submit("d", lambda report: 1, session_id="s").wait(5)


def test_server_queue_limit_refuses_with_the_queue_and_a_time():
    gate = threading.Event()
    runner = JobRunner(max_concurrent=1, rates={"x": 1.0},
                       limits=Limits(max_queue_s=10, max_request_s=10))
    try:
        runner.submit("a", blocked(gate), work=4, kind="x")
        runner.submit("b", blocked(gate), work=4, kind="x")
        with pytest.raises(AdmissionError) as err:
            runner.submit("c", blocked(gate), work=4, kind="x")
        text = str(err.value)
        assert "The server is full: 2 training(s) are waiting or running" in text
        assert "at most about 10 s" in text and "Try again in about" in text
        # small work still fits
        assert runner.submit("c", blocked(gate), work=1, kind="x").status == "queued"
    finally:
        gate.set()


def test_oversize_request_is_refused_with_a_message_naming_the_cap():
    runner = JobRunner(max_concurrent=1, rates={"ppo": 1000.0}, limits=Limits(max_request_s=100))
    with pytest.raises(AdmissionError) as err:
        runner.submit("big", lambda report: 1, work=200_000, kind="ppo")
    assert isinstance(err.value, ValueError)
    text = str(err.value)
    assert "needs about 3 min here" in text  # 200,000 steps at 1,000 steps/s
    assert "the cap is 100,000 steps per request" in text and "at most about 2 min" in text
    assert runner.get("big") is None and runner.kept_count() == 0
    # exactly the cap
    assert runner.submit("ok", lambda report: 1, work=100_000, kind="ppo").wait(5)


def test_queue_position_and_eta_follow_the_slots(gate):
    # small_job_s=1: every job here is long, so they take turns in the one slot
    runner = JobRunner(max_concurrent=1, rates={"x": 1.0}, limits=Limits(max_queue_s=1000,
                                                                         max_request_s=100,
                                                                         small_job_s=1))
    a = runner.submit("a", blocked(gate), work=10, kind="x")
    b = runner.submit("b", blocked(gate), work=5, kind="x")
    c = runner.submit("c", blocked(gate), work=20, kind="x")
    assert (a.queue_position, b.queue_position, c.queue_position) == (0, 1, 2)
    assert a.status == "running" and a.eta_seconds == pytest.approx(10, abs=1)
    assert b.eta_seconds == pytest.approx(10 + 5, abs=1)
    assert c.eta_seconds == pytest.approx(10 + 5 + 20, abs=1)
    gate.set()
    for j in (a, b, c):
        assert j.wait(5)
        assert j.eta_seconds is None and j.queue_position == 0


def test_throughput_is_a_running_average_of_finished_jobs():
    t = Throughput(rates={"x": 10.0}, weight=0.5, min_seconds=0.0)
    t.observe("x", 100, 5)  # measured 20 units/s
    assert t.rate("x") == pytest.approx(0.5 * 10 + 0.5 * 20)
    assert t.seconds("x", 30) == pytest.approx(2.0)
    t.observe("y", 50, 2)  # a new kind starts at its first measurement
    assert t.rate("y") == pytest.approx(25)
    slow_start = Throughput(rates={"x": 10.0})
    slow_start.observe("x", 1, 0.5)  # shorter than min_seconds: mostly start-up, ignored
    assert slow_start.rate("x") == 10.0


def test_duration_words():
    assert [duration(s) for s in (0.2, 12, 95, 7200, None)] == [
        "about 1 s", "about 12 s", "about 2 min", "about 2.0 h", "an unknown time"]


def test_kept_jobs_are_bounded_and_least_recently_used_finished_go_first(gate):
    runner = JobRunner(max_concurrent=1, limits=Limits(max_jobs=3))
    for key in ("a", "b"):
        assert runner.submit(key, lambda report: key).wait(5)
    runner.get("a")  # a was used more recently than b
    runner.submit("c", blocked(gate))
    runner.submit("d", blocked(gate))  # full: evicts the least recently used finished job, b
    assert runner.get("b") is None and runner.get("a").result == "a"
    runner.submit("e", blocked(gate))  # evicts a; now c, d, e are all queued or running
    assert runner.get("a") is None and runner.kept_count() == 3
    with pytest.raises(AdmissionError, match="holds at most 3 trainings"):
        runner.submit("f", blocked(gate))
    gate.set()
    assert all(runner.get(k).wait(5) for k in "cde")
    for i in range(10):
        assert runner.submit(f"k{i}", lambda report: i).wait(5)
    assert runner.kept_count() == 3


def test_finished_jobs_keep_only_the_result():
    runner = JobRunner(max_concurrent=1)

    def work(report):
        report(0.5, list(range(10_000)))
        return {"curve": [1, 2, 3]}

    job = runner.submit("k", work)
    assert job.wait(5)
    assert job.result == {"curve": [1, 2, 3]} and job.partial is None


def _wait_for(cond, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_a_long_training_yields_its_slot_to_a_short_one_and_resumes_after(gate):
    """One slot: a short request queued behind long ones starts at the running long training's next
    report, which pauses (no progress) until the short one is done; the queued long one still waits
    its turn."""
    runner = JobRunner(max_concurrent=1, rates={"x": 1.0},
                       limits=Limits(small_job_s=10, max_request_s=1000, max_queue_s=10_000))
    reports = [0]

    def long_fn(report):
        while not gate.wait(0.01):
            report(0.0)
            reports[0] += 1
        return "long"

    long_a = runner.submit("long-a", long_fn, work=100, kind="x")
    long_b = runner.submit("long-b", blocked(gate), work=100, kind="x")
    short_gate = threading.Event()
    short = runner.submit("short", blocked(short_gate), work=5, kind="x")
    assert _wait_for(lambda: short.status == "running")
    assert (long_a.status, long_b.status) == ("running", "queued")
    before = reports[0]
    time.sleep(0.2)
    assert reports[0] <= before + 1  # paused inside its report while the short one trains
    assert long_b.eta_seconds > 100  # behind long-a
    short_gate.set()
    assert short.wait(5)
    assert _wait_for(lambda: reports[0] > before + 5)  # resumed
    gate.set()
    assert long_a.wait(5) and long_b.wait(5)


def test_long_requests_cannot_fill_the_queue_of_short_ones(gate):
    runner = JobRunner(max_concurrent=1, rates={"x": 1.0},
                       limits=Limits(small_job_s=10, max_request_s=100, max_queue_s=60))
    runner.submit("long-a", blocked(gate), work=50, kind="x")
    with pytest.raises(AdmissionError, match="The server is full"):
        runner.submit("long-b", blocked(gate), work=50, kind="x")
    # admitted: only short work counts for it
    short = runner.submit("short", blocked(gate), work=5, kind="x")
    assert _wait_for(lambda: short.status == "running")


def test_a_batch_stops_at_its_time_budget(gate):
    calls = []

    def fake_batch(payloads, reports):
        calls.append(list(payloads))
        return list(payloads)

    runner = JobRunner(max_concurrent=1, rates={"ppo": 1.0},
                       limits=Limits(batch_max_s=15, small_job_s=30))
    runner.register_batcher("toy", fake_batch, capacity=100)
    # holds the slot (and never reports, so never yields)
    busy = runner.submit("busy", lambda report: gate.wait(10))
    jobs = [runner.submit(f"r{i}", batch=("toy", f"p{i}", 1), work=6, kind="ppo",
                          session_id=f"s{i}") for i in range(4)]
    gate.set()
    for j in [busy, *jobs]:
        assert j.wait(10)
    assert calls == [["p0", "p1"], ["p2", "p3"]]  # 6 + 6 s fit in 15 s; a third would not
