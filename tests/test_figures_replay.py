"""The slow replay of a finished training's curves (toolbox.figures.replay)."""

import numpy as np
import plotly.graph_objects as go
import pytest

from toolbox.figures import influence as FI
from toolbox.figures.replay import replay_figure


def _curves() -> go.Figure:
    steps = np.arange(0, 601, 20.0)
    runs = np.random.default_rng(0).random((3, len(steps)))
    return FI.learning_curves(steps, {"with": (runs, runs * 2)}, {"with": "#1f77b4"})


def test_frames_reveal_every_curve_up_to_the_same_progress():
    fig = _curves()
    out = replay_figure(fig, n_frames=10, duration_s=5)
    assert [f.name for f in out.frames] == [f"{k / 10:.0%}" for k in range(11)]
    half = out.frames[5]
    for k, trace in zip(half.traces, half.data):
        original = fig.data[k]
        assert max(trace.x) <= 300.0 and len(trace.x) < len(original.x)
        if (
            original.fill == "toself"
        ):  # a band: out along the top, back along the bottom, still closed
            assert trace.x[0] == trace.x[-1] == 0.0 and len(trace.x) == 2 * len(set(trace.x))
    last = out.frames[-1]
    for k, trace in zip(last.traces, last.data):  # the last frame is the finished figure
        assert list(trace.x) == list(fig.data[k].x) and list(trace.y) == list(fig.data[k].y)


def test_axes_keep_their_final_range_and_the_controls_are_there():
    out = replay_figure(_curves(), n_frames=4, duration_s=8)
    assert tuple(out.layout.xaxis.range) == (0.0, 600.0) and out.layout.xaxis.autorange is False
    assert (
        out.layout.yaxis2.range[1] > 2 * 0.9
    )  # the second panel's own range (its values go to ~2)
    play = out.layout.updatemenus[0].buttons[0]
    assert play.label.endswith("Replay") and play.args[1]["frame"]["duration"] == pytest.approx(
        2000.0
    )
    assert len(out.layout.sliders[0].steps) == 5
    assert out.data[1].x == (0.0,)  # the replay starts at the first point


def test_bad_replays_are_refused():
    with pytest.raises(ValueError, match="at least 2 frames"):
        replay_figure(_curves(), n_frames=1)
    with pytest.raises(ValueError, match="no curve"):
        replay_figure(go.Figure(go.Bar(x=[1], y=[1])))
