"""Pages and the shared job runner: submitting a training, watching it, stopping it.

The decisions (admission, queue, estimates, cancel) are in ``toolbox.jobs``; here they become a
progress bar with the queue position and time left, a Stop button, and messages.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Callable

import streamlit as st
from streamlit.errors import StreamlitDuplicateElementId, StreamlitDuplicateElementKey
from streamlit.runtime.scriptrunner import get_script_run_ctx

from toolbox.figures.replay import replay_figure
from toolbox.jit import COMPILING, readable_reason_at
from toolbox.jobs import RUNNER, AdmissionError, Job, duration
from toolbox.ppo.batching import PPORequest, train_requests
from toolbox.ppo.config import MAX_RUNS
from ui.figures import show_figure
from ui.text import plain

# PPO requests queued while the server is busy train together as one computation (issue: a class
# where everyone trains something different); one batch holds at most the trainer's run cap.
RUNNER.register_batcher("ppo", train_requests, capacity=MAX_RUNS)

COMPILED_KINDS = ("ppo", "dial")
"""Job kinds that train on the compiled kernels when they are ready (else on the readable paths)."""
_STOPPED = "_rl_toolbox_stopped_jobs"
"""Session key: job key → (progress, partial result) of each training this session stopped (until Train)."""


def session_id() -> str:
    """This browser session's id (the runner counts requests and watchers per session)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "local"


def _stopped() -> dict:
    return st.session_state.setdefault(_STOPPED, {})


def submit_ppo(key: str, request: PPORequest) -> Job | None:
    """Submit a PPO request: it trains batched with the other PPO requests queued beside it."""
    return submit_job(key, None, work=request.work, kind="ppo", batch=("ppo", request, request.size))


def submit_job(key: str, fn: Callable | None, work: float | None = None, kind: str = "",
               batch: tuple | None = None) -> Job | None:
    """Submit a training for this session (only ever from a button press).

    Returns the job (a new one, or the one already training the same settings), or None after
    showing with ``st.error`` why the server refused it (too large, too many of this session's
    trainings, server full), with the queue and time figures the runner gave.
    """
    try:
        job = RUNNER.submit(key, fn, session_id=session_id(), work=work, kind=kind, batch=batch)
    except AdmissionError as err:
        st.error(f"Not started: {plain(err, limit=600)}", icon=":material/hourglass_disabled:")
        return None
    _stopped().pop(key, None)
    return job


def progress_text(job: Job, label: str) -> str:
    """The progress line: queue position and estimated times while queued, time left while running."""
    if job.status == "queued":
        position, eta = job.queue_position, job.eta_seconds
        return (f"{label}: queued, position {position} — done in {duration(eta)} "
                "(the server trains a few requests at a time)")
    eta = job.eta_seconds
    left = f" — {duration(eta)} left" if eta is not None else ""
    started = job.started_at if job.kind in COMPILED_KINDS else None
    why = readable_reason_at(started) if started else None
    if why is None:
        return f"{label}: {job.progress:.0%}{left}"
    if job.progress < 0.05:  # the first guess assumes the compiled kernels' speed
        left = " — time left estimated once it has trained a little"
    if why == COMPILING:
        note = ("this server is still compiling its fast kernels (a minute or so after it starts), "
                "so this training runs on the readable PyTorch path meanwhile, several times slower")
    else:
        note = ("the fast compiled kernels are unavailable on this server (its log says why), so "
                "this training runs on the readable PyTorch path, several times slower")
    return f"{label}: {job.progress:.0%}{left} · {note}"


def watch_job(job: Job, render_partial: Callable[[Any], None] | None, label: str, poll_s: float = 0.5,
              redraw_s: float = 2.0) -> bool:
    """Stream a shared background job (``toolbox.jobs.Job``) until it ends, with a Stop button.

    Shows a progress bar with the queue position or the time left and, when the job has new
    partial results (at most every ``redraw_s`` seconds), calls ``render_partial(job.partial)``
    inside one placeholder (so a learning curve redraws in place). ``render_partial`` runs many
    times in one script run, so the elements it draws must not carry a ``key=``. Every poll is a
    heartbeat: a session that stops polling (tab closed, page left) is gone after the runner's
    timeout. Stop (the page's one Stop button, removed when the training ends) detaches this
    session; the job is cancelled when no session watches it. After Stop the curves trained so far
    stay on the page, labelled with the progress reached. Returns True when the job finished
    successfully; on failure it shows the job's message with ``st.error`` and returns False.
    """
    sid = session_id()
    if job.key in _stopped() and job.status != "done":
        _show_stopped(*_stopped()[job.key], render_partial, "You stopped this training")
        return False
    stop_slot = st.empty()
    if not job.done:
        job.touch(sid)
        stop_key = "job_stop_" + hashlib.sha1(job.key.encode()).hexdigest()[:12]
        if stop_slot.button("Stop", key=stop_key, icon=":material/stop:", help="Stop watching this training; it "
                            "stops when nobody else watches it, and its place goes to the next one."):
            stop_slot.empty()
            job.detach(sid)
            _stopped()[job.key] = (job.progress, job.partial)
            _show_stopped(job.progress, job.partial, render_partial, "You stopped this training")
            return False
    bar = st.progress(job.progress, text=label)
    area = st.empty()
    shown, drawn_at, last_text = None, float("-inf"), None
    while not job.done:
        job.touch(sid)
        text = progress_text(job, label)
        if text != last_text:  # each update is a message to the browser: send only changes
            bar.progress(job.progress, text=text)
            last_text = text
        # a class watching one training shares the CPU with it: the more watchers, the rarer the redraws
        redraw_every = max(redraw_s, 0.25 * job.watchers)
        # A classroom of watchers each rebuild and send the figure: redrawing at most every
        # redraw_s keeps their share of the server's CPU small next to the training itself.
        partial = job.partial
        fresh = partial is not None and partial is not shown
        if render_partial is not None and fresh and time.monotonic() - drawn_at >= redraw_every:
            try:
                with area.container():
                    render_partial(partial)
            except (StreamlitDuplicateElementId, StreamlitDuplicateElementKey):
                pass  # this drawing already exists in this run (same content or key): keep it
            shown, drawn_at = partial, time.monotonic()
        time.sleep(poll_s)
    stop_slot.empty()  # the training has ended: no Stop button any more
    bar.empty()
    area.empty()
    if job.status == "error":
        st.error(f"{label} failed: {plain(job.error, limit=600)}", icon=":material/warning:")
        return False
    if job.status == "cancelled":
        _show_stopped(job.progress, job.partial, render_partial, "This training was stopped (nobody was watching it)")
        return False
    return True


def _show_stopped(progress: float, partial: Any, render_partial: Callable[[Any], None] | None, what: str) -> None:
    """The message of a stopped training and, below it, the curves it had trained by then."""
    kept = partial is not None and render_partial is not None
    st.info(f"{what} at {progress:.0%}." + (" The curves below are what it had trained by then." if kept else "")
            + " Press Train to start it again.", icon=":material/stop_circle:")
    if kept:
        render_partial(partial)


def show_replayable(fig, key: str, seconds: float = 20.0) -> None:
    """A finished training's figure with a toggle that replays its curves slowly (for narrating them)."""
    if st.toggle("Replay the training slowly", key=f"{key}_replay",
                 help=f"Animate the curves from the start of training to its end over {seconds:g} s: "
                      "press ▶ Replay on the chart, or drag its progress slider."):
        show_figure(replay_figure(fig, duration_s=seconds), key=f"{key}_anim")
    else:
        show_figure(fig, key=key)
