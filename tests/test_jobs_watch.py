"""The page side of a live training (ui.jobs.watch_job): one Stop button, gone once the training
ends; the curves trained before a Stop stay on the page with the progress reached; the replay
toggle."""

import threading

from streamlit.testing.v1 import AppTest

from toolbox.serving import RUNNER

GATE = threading.Event()


def _app(key: str, stopped: bool = False) -> AppTest:
    def script():
        import streamlit as st

        from toolbox.serving import RUNNER
        from ui.jobs import watch_job

        job = RUNNER.get(st.session_state["job_key"])
        ok = watch_job(job, lambda p: st.text(f"curve {p}"), "Training", poll_s=0.01)
        st.text(f"finished: {ok}")

    at = AppTest.from_function(script, default_timeout=30)
    at.session_state["job_key"] = key
    if stopped:
        at.session_state["_rl_toolbox_stopped_jobs"] = {key: (0.4, [1, 2])}
    return at


def _stop_buttons(at) -> list:
    return [b for b in at.button if b.key and b.key.startswith("job_stop_")]


def test_the_stop_button_is_gone_once_the_training_ends():
    holder: dict = {}

    def fn(report):  # ends only once the page watches it: the page drew its Stop button first
        while not (holder.get("job") and holder["job"]._watchers):
            GATE.wait(0.01)
        report(0.5, [1])
        return [1, 2]

    job = holder["job"] = RUNNER.submit("test-watch-done", fn)
    at = _app(job.key).run()
    assert job.status == "done" and "finished: True" in [t.value for t in at.text]
    assert not _stop_buttons(at)


def test_after_stop_the_partial_curves_stay_labelled_with_the_progress():
    gate = threading.Event()
    job = RUNNER.submit("test-watch-stopped", lambda report: gate.wait(10))
    try:
        at = _app(job.key, stopped=True).run()
        assert [i.value for i in at.info if "You stopped this training at 40%" in i.value]
        assert "curve [1, 2]" in [t.value for t in at.text] and not _stop_buttons(at)
    finally:
        gate.set()


def test_a_cancelled_training_shows_what_it_had_trained():
    started = threading.Event()

    def fn(report):
        while True:
            report(0.25, [7])
            started.set()
            GATE.wait(0.01)

    job = RUNNER.submit("test-watch-cancelled", fn, session_id="gone")
    assert started.wait(5)
    job.detach("gone")
    assert job.wait(5) and job.status == "cancelled"
    at = _app(job.key).run()
    assert [i.value for i in at.info if "stopped" in i.value and "at 25%" in i.value]
    assert "curve [7]" in [t.value for t in at.text]


def test_replay_toggle_swaps_in_the_animated_figure():
    def script():
        import numpy as np

        from toolbox.figures import influence as FI
        from ui.jobs import show_replayable

        steps = np.arange(0, 101, 10.0)
        runs = np.ones((2, len(steps)))
        show_replayable(FI.learning_curves(steps, {"a": (runs, runs)}, {"a": "#1f77b4"}), key="fig")

    at = AppTest.from_function(script).run()
    assert [c.proto.id for c in at.get("plotly_chart")][0].endswith("-fig")
    at.toggle(key="fig_replay").set_value(True).run()
    chart = at.get("plotly_chart")[0]
    assert chart.proto.id.endswith("-fig_anim") and '"frames"' in chart.proto.spec
