"""The progress line a watching page shows: queue position and estimated times from the runner."""

import threading

from toolbox.serving import JobRunner, Limits
from ui.jobs import progress_text


def test_progress_text_says_position_and_time_left():
    gate, halfway = threading.Event(), threading.Event()
    runner = JobRunner(max_concurrent=1, rates={"x": 1.0}, limits=Limits(max_request_s=100,
                                                                         max_queue_s=1000))

    def fn(report):
        report(0.5)
        halfway.set()  # report has stored the progress
        gate.wait(30)
        return 1

    try:
        running = runner.submit("a", fn, work=40, kind="x")
        queued = runner.submit("b", fn, work=60, kind="x")
        assert progress_text(queued,
                             "Training").startswith("Training: queued, position 1 — done in about ")
        assert halfway.wait(30), f"no report of 50 % within 30 s ({running.status})"
        assert progress_text(running, "Training").startswith("Training: 50% — about ")
        assert progress_text(running, "Training").endswith(" left")
    finally:
        gate.set()
