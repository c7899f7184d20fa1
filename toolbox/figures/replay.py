"""A finished learning-curve figure replayed slowly: Plotly animation frames over training progress.

A short training (a 100k-step PPO comparison ends in about 6 s) is over before a lecturer can say
what the curves do. :func:`replay_figure` turns any figure of line and band traces into an
animation: frame k shows every trace up to fraction k/n of its x range (bands, drawn as a closed
polygon out along the top and back along the bottom, stay closed), the axes keep their final
ranges so nothing rescales, and a Play button and a "training progress" slider drive it.
"""

from __future__ import annotations

import copy

import numpy as np
import plotly.graph_objects as go


def _cut(x: np.ndarray, y: np.ndarray, upto: float) -> tuple[list, list]:
    keep = x <= upto
    return x[keep].tolist(), y[keep].tolist()


def _axis_ranges(fig: go.Figure) -> dict[str, list[float]]:
    """Final data range of every x and y axis the traces use (layout names: ``xaxis``, ``yaxis2``,
    …)."""
    spans: dict[str, list[float]] = {}
    for trace in fig.data:
        for letter in ("x", "y"):
            values = np.asarray(getattr(trace, letter), dtype=float)
            values = values[np.isfinite(values)]
            if values.size == 0:
                continue
            ref = getattr(trace, f"{letter}axis", None) or letter
            name = f"{letter}axis{ref[1:]}"
            lo, hi = spans.get(name, [np.inf, -np.inf])
            spans[name] = [min(lo, float(values.min())), max(hi, float(values.max()))]
    out = {}
    for name, (lo, hi) in spans.items():
        pad = 0.03 * (hi - lo) if hi > lo else 0.5
        out[name] = [
            lo - (pad if name.startswith("y") else 0.0),
            hi + (pad if name.startswith("y") else 0.0),
        ]
    return out


def replay_figure(fig: go.Figure, n_frames: int = 40, duration_s: float = 20.0) -> go.Figure:
    """``fig``'s curves drawn progressively over ``duration_s`` seconds in ``n_frames`` steps.

    Every scatter trace with x values is cut at the same fraction of the overall x range; other
    traces are kept whole. Raises ``ValueError`` for a figure without such traces or a bad count.
    """
    if n_frames < 2 or not duration_s > 0:
        raise ValueError(
            f"A replay needs at least 2 frames and a positive duration; got {n_frames}, "
            f"{duration_s}."
        )
    cut = [
        k
        for k, t in enumerate(fig.data)
        if t.type == "scatter" and t.x is not None and len(t.x) > 0
    ]
    if not cut:
        raise ValueError("This figure has no curve to replay.")
    xs = {k: np.asarray(fig.data[k].x, dtype=float) for k in cut}
    ys = {k: np.asarray(fig.data[k].y, dtype=float) for k in cut}
    lo = min(float(np.nanmin(x)) for x in xs.values())
    hi = max(float(np.nanmax(x)) for x in xs.values())
    out = go.Figure(copy.deepcopy(fig))
    out.update_layout(
        {name: dict(range=r, autorange=False) for name, r in _axis_ranges(fig).items()}
    )
    frames, steps = [], []
    for i in range(n_frames + 1):
        frac = i / n_frames
        upto = lo + frac * (hi - lo)
        data = []
        for k in cut:
            x, y = _cut(xs[k], ys[k], upto)
            data.append(go.Scatter(x=x, y=y))
        name = f"{frac:.0%}"
        frames.append(go.Frame(data=data, traces=cut, name=name))
        steps.append(
            dict(
                method="animate",
                label=name,
                args=[[name], dict(mode="immediate", frame=dict(duration=0, redraw=False))],
            )
        )
    first = frames[0]
    for k, trace in zip(cut, first.data):
        out.data[k].x, out.data[k].y = trace.x, trace.y
    out.frames = frames
    frame_ms = 1000.0 * duration_s / n_frames
    play = dict(
        label="▶ Replay",
        method="animate",
        args=[
            None,
            dict(
                frame=dict(duration=frame_ms, redraw=False),
                transition=dict(duration=0),
                fromcurrent=True,
                mode="immediate",
            ),
        ],
    )
    pause = dict(
        label="❚❚ Pause",
        method="animate",
        args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")],
    )
    margin = out.layout.margin
    bottom = (margin.b if margin and margin.b is not None else 80) + 70
    out.update_layout(
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                buttons=[play, pause],
                x=0.0,
                xanchor="left",
                y=1.0,
                yanchor="bottom",
                pad=dict(t=0, r=10),
                showactive=False,
            )
        ],
        sliders=[
            dict(
                steps=steps,
                active=0,
                x=0.0,
                len=1.0,
                y=0.0,
                yanchor="top",
                pad=dict(t=bottom - 60),
                currentvalue=dict(prefix="training progress: "),
            )
        ],
        margin=dict(b=bottom),
        height=(out.layout.height or 450) + 70,
    )
    return out
