"""A process-wide runner for long computations (trainings) shared by every browser session.

Why: in a classroom thirty students press *Train*, some with the same settings, most with
different ones. Identical requests must train once with every session watching the same
progress; distinct ones wait in a bounded queue that says where they stand and how long it
will take; a request too large for the server, or one session asking for too much, is refused
with a sentence saying why; a training nobody watches any more stops; finished results are kept
compactly and the number of jobs held is bounded.

``RUNNER.submit(key, fn, session_id=..., work=..., kind=...)`` → :class:`Job` (or raises
:class:`AdmissionError`); ``fn(report)`` calls ``report(fraction, partial)``, which raises
:class:`Cancelled` once the job is cancelled. Sessions read ``job.progress``, ``job.partial``,
``job.queue_position``, ``job.eta_seconds`` while it runs, ``job.result`` once ``job.done``,
send heartbeats with ``job.touch(session_id)`` and stop watching with ``RUNNER.detach``.

Plain threading, no Streamlit: pages poll it, tests drive it directly.
"""

from toolbox.serving.admission import Limits, Throughput, duration
from toolbox.serving.engine import default_engine
from toolbox.serving.job import AdmissionError, Cancelled, Job, ReportFn
from toolbox.serving.runner import JobRunner

__all__ = ["RUNNER", "AdmissionError", "Cancelled", "Job", "JobRunner", "Limits", "ReportFn",
           "Throughput", "duration"]

RUNNER = JobRunner(engine=default_engine())
"""The process-wide runner: one Streamlit server process serves every session from it."""
