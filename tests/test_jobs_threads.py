"""Thread counts: a training's torch threads stay in its own thread (issue 13's leak)."""

import threading

import pytest
import torch

from toolbox.device import available_cpus, thread_count, training_threads
from toolbox.serving import JobRunner


def threads_in_a_new_thread() -> int:
    out = []
    t = threading.Thread(target=lambda: out.append(torch.get_num_threads()))
    t.start()
    t.join()
    return out[0]


def test_a_job_uses_its_thread_count_and_new_threads_keep_the_default():
    original = threads_in_a_new_thread()
    main_before = torch.get_num_threads()
    count = original + 1  # differs from the default, so a leak would show
    runner = JobRunner(max_concurrent=1, threads_per_job=count)
    during = []
    gate = threading.Event()

    def fn(report):
        during.append(threads_in_a_new_thread())  # a page rerun starting while the job runs
        gate.wait(5)
        return torch.get_num_threads()

    job = runner.submit("threads", fn)
    gate.set()
    assert job.wait(5)
    assert job.result == count
    assert during == [original]
    assert threads_in_a_new_thread() == original
    assert torch.get_num_threads() == main_before


def test_thread_count_restores_and_rejects_nonsense():
    original, before = threads_in_a_new_thread(), torch.get_num_threads()
    with thread_count(before + 2) as restored:
        assert restored == before
        assert torch.get_num_threads() == before + 2
        assert threads_in_a_new_thread() == original
    assert threads_in_a_new_thread() == original and torch.get_num_threads() == before
    with pytest.raises(ValueError, match="positive whole number"):
        with thread_count(0):
            pass


def test_training_threads_policy():
    assert training_threads({}) == 1
    assert training_threads({"RL_TOOLBOX_JOB_THREADS": "lots"}) == 1
    # never beyond the quota
    assert training_threads({"RL_TOOLBOX_JOB_THREADS": "1000"}) == available_cpus()
