"""Pages and the shared job runner: submitting a training, watching it, stopping it.

The decisions (admission, queue, estimates, cancel) are in ``toolbox.serving``; here they become a
progress bar with the queue position and time left, a Stop button, and messages.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any, Callable

import streamlit as st
from streamlit.errors import StreamlitDuplicateElementId, StreamlitDuplicateElementKey
from streamlit.runtime.scriptrunner import get_script_run_ctx

from toolbox.figures.replay import replay_figure
from toolbox.kernel_state import COMPILING, readable_reason_at
from toolbox.serving import RUNNER, AdmissionError, Job, duration
from toolbox.serving.caps import MAX_RUNS
from toolbox.serving.ppo_batching import PPORequest, train_requests
from ui.figures import show_figure
from ui.text import plain

# PPO requests queued while the server is busy train together as one computation (issue: a class
# where everyone trains something different); one batch holds at most the trainer's run cap.
RUNNER.register_batcher("ppo", train_requests, capacity=MAX_RUNS)

COMPILED_KINDS = ("ppo", "dial")
"""Job kinds that train on the compiled kernels when they are ready (else on the readable paths)."""
_STOPPED = "_rl_toolbox_stopped_jobs"
"""Session key: job key → (progress, partial result) of each training this session stopped (until
Train)."""


def session_id() -> str:
    """This browser session's id (the runner counts requests and watchers per session)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "local"


def client_id() -> str:
    """What identifies this client across its sessions (the per-client limit): a hash of its
    address, which a new session of the same browser or script keeps; the session itself when
    there is no address (a connection from this machine: Streamlit gives None for localhost)."""
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001 - no request context (a bare script run): use the session
        ip = None
    if not isinstance(ip, str) or not ip:
        return "session:" + session_id()
    return "ip:" + hashlib.sha256(ip.encode()).hexdigest()[:16]


HEARTBEAT_S = 0.5
"""How often the heartbeat timer touches every job a connected session shows."""
FORGET_S = 60.0
"""A job the session's page has not shown for this long (its settings changed) is no longer watched
by it: long enough for a page rerun under load (tens of seconds), short of keeping stale ones."""
# (session, job key) -> (job, client, when the page last showed it)
_watched: dict[tuple[str, str], tuple[Job, str, float]] = {}
_watched_lock = threading.Lock()
_beating: list[threading.Thread] = []


def session_alive(sid: str) -> bool:
    """Whether ``sid`` is a connected session (True outside a server: AppTest, bare runs)."""
    from streamlit.runtime import Runtime

    return not Runtime.exists() or Runtime.instance().is_active_session(sid)


def heartbeat_once(now: float | None = None) -> int:
    """One beat of the timer: touch every job a connected session showed within ``FORGET_S``, forget
    the others (a closed tab's session is disconnected at once: its jobs get no more heartbeats,
    whatever their progress does, and the runner cancels them). Returns how many were touched."""
    now = time.monotonic() if now is None else now
    with _watched_lock:
        items = list(_watched.items())
    touched = 0
    for (sid, key), (job, client, shown) in items:
        if job.done or now - shown > FORGET_S or not session_alive(sid):
            with _watched_lock:
                _watched.pop((sid, key), None)
            continue
        job.touch(sid, client)
        touched += 1
    return touched


def _beat_forever() -> None:
    while True:
        time.sleep(HEARTBEAT_S)
        try:
            heartbeat_once()
        except Exception:  # noqa: BLE001 - a beat that failed must not end the timer
            logging.getLogger(__name__).exception("job heartbeat failed")


def watching(job: Job, sid: str, client: str | None = None) -> None:
    """``sid`` shows ``job`` now: the heartbeat timer touches it while the session is connected."""
    with _watched_lock:
        _watched[(sid, job.key)] = (job, client or client_id(), time.monotonic())
        if not _beating or not _beating[0].is_alive():
            beat = threading.Thread(target=_beat_forever, name="job-heartbeats", daemon=True)
            _beating[:] = [beat]
            _beating[0].start()
    job.touch(sid, _watched[(sid, job.key)][1])


def unwatch(job: Job, sid: str) -> None:
    with _watched_lock:
        _watched.pop((sid, job.key), None)


def _stopped() -> dict:
    return st.session_state.setdefault(_STOPPED, {})


def submit_ppo(key: str, request: PPORequest) -> Job | None:
    """Submit a PPO request: it trains batched with the other PPO requests queued beside it."""
    batch = ("ppo", request, request.size)
    return submit_job(key, None, work=request.work, kind="ppo", batch=batch,
                      memory_mb=request.memory_mb)


def submit_job(key: str, fn: Callable | None, work: float | None = None, kind: str = "",
               batch: tuple | None = None, memory_mb: float | None = None,
               advice: str = "") -> Job | None:
    """Submit a training for this session (only ever from a button press).

    Returns the job (a new one, or the one already training the same settings), or None after
    showing with ``st.error`` why the server refused it (too large, too many of this session's
    trainings, server full), with the queue and time figures the runner gave.
    """
    try:
        job = RUNNER.submit(key, fn, session_id=session_id(), work=work, kind=kind, batch=batch,
                            client_id=client_id(), memory_mb=memory_mb, advice=advice)
    except AdmissionError as err:
        st.error(f"Not started: {plain(err, limit=600)}", icon=":material/hourglass_disabled:")
        return None
    _stopped().pop(key, None)
    return job


def progress_text(job: Job, label: str) -> str:
    """The progress line: queue position and estimated times while queued, time left while
    running."""
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
        note = (
            "this server is still compiling its fast kernels (a minute or so after it starts), "
            "so this training runs on the readable PyTorch path meanwhile, several times slower"
        )
    else:
        note = ("the fast compiled kernels are unavailable on this server (its log says why), so "
                "this training runs on the readable PyTorch path, several times slower")
    return f"{label}: {job.progress:.0%}{left} · {note}"


def watch_job(job: Job, render_partial: Callable[[Any], None] | None, label: str,
              poll_s: float = 0.5, redraw_s: float = 2.0) -> bool:
    """Stream a shared background job (``toolbox.serving.Job``) until it ends, with a Stop button.

    Shows a progress bar with the queue position or the time left and, when the job has new
    partial results (at most every ``redraw_s`` seconds), calls ``render_partial(job.partial)``
    inside one placeholder (so a learning curve redraws in place). ``render_partial`` runs many
    times in one script run, so the elements it draws must not carry a ``key=``. While the page
    shows the job, a timer sends heartbeats every ``HEARTBEAT_S`` as long as the session is
    connected (:func:`heartbeat_once`): a closed tab's job is cancelled within seconds. Stop (the
    page's one Stop button, removed when the training ends) detaches this session; the job is
    cancelled when no session watches it. After Stop the curves trained so far stay on the page,
    labelled with the progress reached. Returns True when the job finished successfully; on
    failure it shows the job's message with ``st.error`` and returns False.
    """
    sid = session_id()
    if job.key in _stopped() and job.status != "done":
        _show_stopped(*_stopped()[job.key], render_partial, "You stopped this training")
        return False
    stop_slot = st.empty()
    if not job.done:
        watching(job, sid)
        stop_key = "job_stop_" + hashlib.sha1(job.key.encode()).hexdigest()[:12]
        if stop_slot.button(
            "Stop",
            key=stop_key,
            icon=":material/stop:",
            help="Stop watching this training; it "
            "stops when nobody else watches it, and its place goes to the next one.",
        ):
            stop_slot.empty()
            unwatch(job, sid)
            job.detach(sid)
            _stopped()[job.key] = (job.progress, job.partial)
            _show_stopped(job.progress, job.partial, render_partial, "You stopped this training")
            return False
    bar = st.progress(job.progress, text=label)
    area = st.empty()
    shown, drawn_at, last_text = None, float("-inf"), None
    while not job.done:
        if not session_alive(sid):  # the tab closed: no more heartbeats, the script ends here
            unwatch(job, sid)
            return False
        watching(job, sid)  # "still shown"; the heartbeats themselves come from the timer
        text = progress_text(job, label)
        if text != last_text:  # each update is a message to the browser: send only changes
            bar.progress(job.progress, text=text)
            last_text = text
        # a class watching one training shares the CPU
        # with it: the more watchers, the rarer the redraws
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
        _show_stopped(job.progress, job.partial, render_partial,
                      "This training was stopped (nobody was watching it)")
        return False
    return True


def _show_stopped(progress: float, partial: Any, render_partial: Callable[[Any], None] | None,
                  what: str) -> None:
    """The message of a stopped training and, below it, the curves it had trained by then."""
    kept = partial is not None and render_partial is not None
    st.info(f"{what} at {progress:.0%}." + (
        " The curves below are what it had trained by then." if kept else "")
            + " Press Train to start it again.", icon=":material/stop_circle:")
    if kept:
        render_partial(partial)


def show_replayable(fig, key: str, seconds: float = 20.0) -> None:
    """A finished training's figure with a toggle that replays its curves slowly (for narrating
    them)."""
    if st.toggle(
        "Replay the training slowly",
        key=f"{key}_replay",
        help=f"Animate the curves from the start of training to its end over {seconds:g} s: "
        "press ▶ Replay on the chart, or drag its progress slider.",
    ):
        show_figure(replay_figure(fig, duration_s=seconds), key=f"{key}_anim")
    else:
        show_figure(fig, key=key)
