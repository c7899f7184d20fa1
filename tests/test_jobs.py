import threading
import time

import pytest

from toolbox.serving import Job, JobRunner


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
    assert jobs[0].wait(5)
    assert jobs[0].result == 42 and jobs[0].progress == 1.0
    assert jobs[0].partial is None  # dropped once finished: only the result is kept
    assert len(calls) == 1


def test_concurrency_is_bounded():
    runner = JobRunner(max_concurrent=2)
    active, peak = [0], [0]
    lock = threading.Lock()

    def work(report):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return True

    jobs = [runner.submit(f"k{i}", work) for i in range(6)]
    for j in jobs:
        assert j.wait(5)
    assert peak[0] == 2


def test_errors_are_messages_and_retried():
    runner = JobRunner(max_concurrent=1)

    def bad(report):
        raise ValueError("budget too large: at most 10 steps")

    job = runner.submit("bad", bad)
    job.wait(5)
    assert job.status == "error" and "budget too large" in job.error
    job2 = runner.submit("bad", lambda report: 1)
    job2.wait(5)
    assert job2 is not job and job2.result == 1


def test_finished_jobs_are_evicted_beyond_cap():
    runner = JobRunner(max_concurrent=2, max_kept=3)
    for i in range(10):
        runner.submit(f"k{i}", lambda report: i).wait(5)
    assert runner.kept_count() == 3


def test_jobs_run_with_one_torch_thread_and_leave_the_caller_alone():
    import torch

    before = torch.get_num_threads()
    runner = JobRunner(max_concurrent=1)
    job = runner.submit("threads", lambda report: torch.get_num_threads())
    job.wait(5)
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
    threads = [threading.Thread(target=lambda: got.append(job.derived("x", slow))) for _ in range(8)]
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
