"""Figures of the PPO implementation-details lesson: learning curves with 95% CI bands per
variant."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from toolbox.figures.style import (
    COLORS,
    FULL_WIDTH,
    figure,
    hex_to_rgba,
    hline,
    layout_dict,
    variant_color,
    vline,
)


def _clean(xs):
    return [None if (x is None or (isinstance(x, float) and math.isnan(x))) else x for x in xs]


HIGHLIGHT_COLORS = ("#E69F00", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442",
                    "#882255")
"""Okabe–Ito's colour-blind-safe colours (and a wine red): the highlighted variants take them in
order, so the few lines discussed never share a hue (the 17-variant palette has near-blacks)."""
FADED = "#c8c8c8"
"""The colour of the variants not highlighted: present for context, read against nothing."""
BASELINE = "all on"


def learning_curves(aggregates: dict[str, dict],
                    title: str = "Mean episodic return (last 20 episodes) vs steps",
                    highlight: list[str] | None = None, solved: float | None = 475.0,
                    y_range: tuple[float, float] | None = (0.0, 520.0)) -> go.Figure:
    """One line per variant (mean over seeds) with its 95% confidence band; ``aggregates`` from
    ``toolbox.lessons.ppo.analysis.aggregate``; a dotted line marks the ``solved`` threshold
    (CartPole's 475; None: no line) and ``y_range`` fixes the return axis (None: automatic).

    ``highlight``: the variants to read against “all on” — drawn in distinct colours with their
    bands, “all on” in black, every other variant a thin grey line without a band (one legend entry
    for all of them). None draws every variant in its own colour."""
    data = []
    chosen = None if highlight is None else [
        n for n in highlight if n in aggregates and n != BASELINE]
    faded = [] if chosen is None else [n for n in aggregates if n != BASELINE and n not in chosen]
    for k, name in enumerate(faded):  # first, so that the highlighted lines are drawn over them
        agg = aggregates[name]
        data.append(dict(type="scatter", x=agg["grid"], y=_clean(agg["mean"]), mode="lines",
                         name="other variants", line=dict(color=FADED, width=1.2),
                         legendgroup="faded", showlegend=k == 0,
                         hovertemplate=f"{name}: %{{y:.0f}}<extra></extra>"))
    for i, (name, agg) in enumerate(aggregates.items()):
        x = agg["grid"]
        if name in faded:
            continue
        if chosen is None or name == BASELINE:
            color = variant_color(name, i)
        else:
            color = HIGHLIGHT_COLORS[chosen.index(name) % len(HIGHLIGHT_COLORS)]
        data.append(dict(type="scatter", x=x, y=_clean(agg["hi"]), mode="lines",
                         line=dict(width=0), hoverinfo="skip", showlegend=False,
                         legendgroup=name, name=f"{name}: upper 95% CI"))
        data.append(dict(type="scatter", x=x, y=_clean(agg["lo"]), mode="lines",
                         line=dict(width=0), fill="tonexty", fillcolor=hex_to_rgba(color, 0.18),
                         hoverinfo="skip", showlegend=False, legendgroup=name,
                         name=f"{name}: lower 95% CI"))
        data.append(dict(type="scatter", x=x, y=_clean(agg["mean"]), mode="lines",
                         name=f"{name} (n={agg['runs']})",
                         line=dict(color=color, width=3.5 if name == BASELINE else 2.5),
                         legendgroup=name))
    # the legend sits under the plot: a taller figure keeps a long legend off the axis
    entries = len(aggregates) if chosen is None else len(chosen) + 2
    layout = layout_dict(title, "environment steps per run", "episodic return",
                         height=440 if entries <= 6 else 540)
    if solved is not None:
        shape, note = hline(solved, dict(color=COLORS["target"], dash="dot"),
                            f"{solved:g} (solved)")
        layout.update(shapes=[shape], annotations=[note])
    if y_range is not None:
        layout["yaxis"]["range"] = list(y_range)
    # dicts, not plotly's validating API: ~40 ms less on every PPO page load (style.figure)
    return figure(data, layout, width=FULL_WIDTH)


VERDICT_COLORS = {"clearly lower": COLORS["without"], "clearly higher": COLORS["with"],
                  "not separated": COLORS["target"]}


def score_differences(rows: list[dict], baseline: str = "all on",
                      episodes: int = 20) -> go.Figure:
    """Each variant's final-score difference to ``baseline`` with its 95% interval (horizontal
    bars), coloured by verdict (after the Holm–Bonferroni correction over the rows); ``rows`` from
    ``toolbox.lessons.ppo.analysis.compare_to_baseline``; the score is the mean return of the
    last ``episodes`` episodes. A line marks zero."""
    data = []
    for verdict, color in VERDICT_COLORS.items():
        sel = [r for r in rows if r["verdict"] == verdict]
        if not sel:
            continue
        data.append(dict(
            type="scatter", x=[r["difference"] for r in sel], y=[r["variant"] for r in sel],
            mode="markers", name=verdict, marker=dict(color=color, size=10),
            error_x=dict(type="data", array=[r["half_width"] for r in sel], color=color,
                         thickness=2, width=6),
        ))
    layout = layout_dict(f"Final score minus “{baseline}” (95% interval)",
                         f"difference in mean return of the last {episodes} episodes", "",
                         height=max(300, 60 + 34 * len(rows)))
    layout["shapes"] = [vline(0, dict(color=COLORS["target"], dash="dot"))]
    layout["yaxis"].update(categoryorder="array",
                           categoryarray=[r["variant"] for r in rows][::-1])
    if len(rows) > 1:  # the colours are the verdicts after the multiple-comparison correction
        layout["legend"]["title"] = dict(text="verdict (Holm–Bonferroni)")
    return figure(data, layout)
