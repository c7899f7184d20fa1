import threading
import time

import pytest

from toolbox.serving import Job, JobRunner

WAIT_S = 30.0
"""Bound on every wait: far above what a loaded 2-core machine needs, so only a bug reaches it."""


def test_same_key_runs_once_and_shares_result():
    runner = JobRunner(max_concurrent=2)
    calls = []

    def work(report):
        calls.append(1)
        for i in range(5):
            report((i + 1) / 5, {"step": i})
            time.sleep(0.01)
        return 42

    jobs = [runner.submit("k", work) for _ in range(30)]
    assert all(j is jobs[0] for j in jobs)
    assert jobs[0].wait(WAIT_S), f"the shared job did not end within {WAIT_S} s"
    assert jobs[0].result == 42 and jobs[0].progress == 1.0
    assert jobs[0].partial is None  # dropped once finished: only the result is kept
    assert len(calls) == 1


def test_concurrency_is_bounded():
    runner = JobRunner(max_concurrent=2)
    active, peak = [0], [0]
    cond = threading.Condition()
    release = threading.Event()

    def work(report):
        with cond:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            cond.notify_all()
        assert release.wait(WAIT_S), "the test never released the jobs"
        with cond:
            active[0] -= 1
        return True

    jobs = [runner.submit(f"k{i}", work) for i in range(6)]
    with cond:  # two run at once (both held until released), the other four wait in the queue
        assert cond.wait_for(lambda: active[0] == 2, WAIT_S), f"{active[0]} of 2 jobs started"
    assert runner.queued_count() == 4 and [j.status for j in jobs].count("running") == 2
    release.set()
    for j in jobs:
        assert j.wait(WAIT_S), f"job {j.key} did not end within {WAIT_S} s ({j.status})"
    assert peak[0] == 2 and all(j.result is True for j in jobs)


def test_errors_are_messages_and_retried():
    runner = JobRunner(max_concurrent=1)

    def bad(report):
        raise ValueError("budget too large: at most 10 steps")

    job = runner.submit("bad", bad)
    assert job.wait(WAIT_S), "the failing job did not end"
    assert job.status == "error" and "budget too large" in job.error
    job2 = runner.submit("bad", lambda report: 1)
    assert job2.wait(WAIT_S), "the retried job did not end"
    assert job2 is not job and job2.result == 1


def test_finished_jobs_are_evicted_beyond_cap():
    runner = JobRunner(max_concurrent=2, max_kept=3)
    for i in range(10):
        assert runner.submit(f"k{i}", lambda report: i).wait(WAIT_S), f"job k{i} did not end"
    assert runner.kept_count() == 3


def test_jobs_run_with_one_torch_thread_and_leave_the_caller_alone():
    import torch

    before = torch.get_num_threads()
    runner = JobRunner(max_concurrent=1)
    job = runner.submit("threads", lambda report: torch.get_num_threads())
    assert job.wait(WAIT_S), "the job did not end"
    assert job.result == 1
    assert torch.get_num_threads() == before


def test_derived_is_computed_once_for_concurrent_callers():
    import threading

    job = Job(key="k")
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.05)
        return {"value": 42}

    got = []
    threads = [threading.Thread(target=lambda: got.append(job.derived("x",
                                                                      slow))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert all(g is got[0] for g in got) and got[0] == {"value": 42}
    assert job.derived("y", lambda: 7) == 7  # another name, computed separately


def test_derived_does_not_cache_an_exception():
    job = Job(key="k")

    def fail():
        raise ValueError("bad")

    with pytest.raises(ValueError):
        job.derived("x", fail)
    assert job.derived("x", lambda: 1) == 1
