"""``toolbox.figures.presenter.restyle``: every builder's figure redrawn for the projector in Plotly
itself: larger fonts wherever text is drawn, a taller plot, the legend in a band of its own under
the axis labels sized for the larger text, axes that grow their margins, the screen figure
intact."""

from __future__ import annotations

import re

import pytest

from tests.test_figures import PAGES
from toolbox.figures import style
from toolbox.figures.presenter import restyle
from toolbox.figures.style import PROJECTOR, SCREEN


@pytest.fixture(scope="module", params=list(PAGES))
def pairs(request):
    figures = PAGES[request.param]()
    return request.param, [(f.to_plotly_json(),
                            restyle(f, PROJECTOR).to_plotly_json()) for f in figures]


def _axes(layout: dict) -> dict:
    return {k: v for k, v in layout.items() if re.fullmatch(r"[xy]axis\d*", k)}


def _plot_height(layout: dict) -> float:
    margin = layout.get("margin", {})
    return layout["height"] - margin.get("t", 100) - margin.get("b", 80)


def projector_problems(screen: dict, shown: dict) -> list[str]:
    layout, old = shown["layout"], screen["layout"]
    problems = []
    if (layout.get("font") or {}).get("size") != PROJECTOR.font:
        problems.append(
            f"text at {(layout.get('font') or {}).get('size')} px, not {PROJECTOR.font}")
    if (old.get("title") or {}).get("text") and (layout["title"].get("font") or {}).get(
        "size") != PROJECTOR.title:
        problems.append("title not at the projector's size")
    for old_note, note in zip(old.get("annotations") or [], layout.get("annotations") or []):
        before = (old_note.get("font") or {}).get("size")
        if before and note["font"]["size"] < before * PROJECTOR.font / SCREEN.font - 0.1:
            problems.append(f"annotation {note.get('text')!r} kept its screen size {before}")
    if _plot_height(layout) < _plot_height(old) * PROJECTOR.plot_scale - 2:
        problems.append(f"plot {_plot_height(layout)} px tall, screen {_plot_height(old)} px")
    if any(not axis.get("automargin") for axis in _axes(layout).values()):
        problems.append("an axis does not grow its margin for its labels")
    names = style.legend_names(shown["data"])
    legend = layout.get("legend") or {}
    if names and legend.get("orientation") == "h" and layout.get("showlegend", len(names) > 1):
        width = layout["meta"]["reference_width"]
        rows = style.legend_rows(names, width - 10, PROJECTOR.font)
        needed = PROJECTOR.tick_band + PROJECTOR.legend_row * rows
        if any((a.get("title") or {}).get("text") for k, a in _axes(layout).items() if k[0] == "x"):
            needed += PROJECTOR.axis_title
        if not (legend.get("yref") == "container" and legend.get("y") == 0 and legend.get(
            "yanchor") == "bottom"):
            problems.append(f"legend not at the bottom of the figure: {legend}")
        if layout["margin"]["b"] < needed:
            problems.append(
                f"bottom margin {layout['margin']['b']} px < {needed} px for labels and legend")
    return problems


def test_every_figure_is_redrawn_for_the_projector(pairs):
    page, figures = pairs
    problems = []
    for k, (screen, shown) in enumerate(figures):
        problems += [f"{page} figure {k + 1}: {p}" for p in projector_problems(screen, shown)]
    assert not problems, "\n".join(problems)


def test_the_screen_figure_is_left_as_it_is():
    fig = PAGES["gumbel_softmax"]()[0]
    before = fig.to_plotly_json()
    assert restyle(fig, SCREEN) is fig
    shown = restyle(fig, PROJECTOR)
    assert fig.to_plotly_json() == before  # the projector's copy does not change the cached figure
    assert shown.layout.font.size == PROJECTOR.font


def test_a_figure_left_at_screen_size_is_caught():
    """The check fails on a figure that was not redrawn (a test that cannot fail is a defect)."""
    screen = PAGES["ppo_details"]()[0].to_plotly_json()
    found = projector_problems(screen, screen)
    assert any("text at" in p for p in found) and any("plot" in p for p in found)
    assert any("legend not at the bottom" in p for p in found)


def test_projector_rows_hold_their_labels_and_categories_keep_theirs():
    """Stacked panels grow until each gap holds a tick band and a subplot title; numeric y axes
    get at most one tick per two text lines; a category axis keeps every label."""
    layout = style.layout_dict("two rows", height=300)
    layout.update(yaxis=dict(domain=[0.55, 1.0]), yaxis2=dict(domain=[0.0, 0.45]),
                  xaxis2=dict(anchor="y2"), yaxis3=dict(domain=[0.0, 1.0]))
    layout["annotations"] = [dict(text="lower panel", x=0.5, y=0.45, xref="paper", yref="paper",
                                  xanchor="center", yanchor="bottom", showarrow=False)]
    data = [dict(type="scatter", x=[0, 1], y=[0, 1]),
            dict(type="scatter", x=[0, 1], y=[0, 1], xaxis="x2", yaxis="y2"),
            dict(type="bar", x=[1, 2], y=["a", "b"], orientation="h", yaxis="y3")]
    fig = restyle(style.figure(data, layout), PROJECTOR).to_plotly_json()["layout"]
    gap_px = 0.10 * _plot_height(fig)
    assert gap_px >= PROJECTOR.tick_band + PROJECTOR.subtitle_line
    assert fig["yaxis"]["nticks"] <= 0.45 * _plot_height(fig) / (2 * PROJECTOR.font) + 1e-9
    assert "nticks" not in fig["yaxis3"]
