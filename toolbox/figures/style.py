"""Colours and layout shared by every figure, so a concept keeps its colour across pages."""

from __future__ import annotations

import re
from dataclasses import dataclass

import plotly.graph_objects as go

COLORS = {
    # comparisons that recur across lessons: one colour per concept on every page
    "with": "#1f77b4",        # with the trick / variant on / normalized / influence bonus on
    "without": "#d62728",     # without the trick / baseline / raw
    "target": "#7f7f7f",      # a reference or exact value
    "empirical": "#1f77b4",   # what was measured / sampled
    "current": "#ff7f0e",     # the value the slider currently selects
    # estimators / methods
    "reinforce": "#9467bd",
    "gumbel_softmax": "#2ca02c",
    "straight_through": "#ff7f0e",
    "dial": "#1f77b4",
    "rial": "#2ca02c",
    "nocomm": "#7f7f7f",
}

# A qualitative palette for many variants (ablations, agents, categories).
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
)

ESTIMATOR_COLORS = {
    "exact": COLORS["target"],
    "reinforce": COLORS["reinforce"], "reinforce_baseline": "#8c564b", "reinforce_loo": "#e377c2",
    "gumbel_softmax": COLORS["gumbel_softmax"], "straight_through_gumbel": "#17becf",
    "straight_through": "#bcbd22",
}
"""One colour per gradient estimator, the same in every figure that shows it."""

VARIANT_COLORS = {
    "all on": "#000000",  # the reference every ablation is read against: black, drawn widest
    "no vectorized envs": "#8c564b", "no orthogonal init": "#e377c2", "Adam ε = 1e-8": "#7f7f7f",
    "no LR annealing": "#1f77b4", "no GAE (MC returns)": "#2ca02c", "no minibatches": "#bcbd22",
    "no advantage norm": "#9467bd", "no clipped surrogate": "#d62728",
    "no value clipping": "#17becf", "no entropy bonus": "#393b79", "no grad clipping": "#637939",
    "shared network": "#8c6d31", "+ obs normalization": "#843c39", "+ reward scaling": "#7b4173",
    "+ target KL 0.015": "#3182bd", "+ truncation bootstrap": "#ff7f0e",
}
"""One colour per PPO variant (names of ``toolbox.ppo.config.variants``), whichever subset is
shown."""


def variant_color(name: str, index: int) -> str:
    """The colour of a PPO variant; a name outside the menu takes the palette colour at
    ``index``."""
    return VARIANT_COLORS.get(name, PALETTE[index % len(PALETTE)])


# --- readable at a projector -------------------------------------------------------------------
# Builders do not know how wide the browser draws them; they lay out for the narrowest width a
# figure gets at 1280 × 800 (a half-width column: about 420 px of plot), so at every wider size
# titles fit, the legend does not cover the axis titles and subplot titles do not collide.
REFERENCE_WIDTH = 400
"""Width in px a figure in a column is laid out for (the narrowest it is drawn at 1280 × 800)."""
FULL_WIDTH = 800
"""Width in px a figure spanning the main block is laid out for (820 px at 1280 × 800)."""


@dataclass(frozen=True)
class Style:
    """Text sizes and the bands a figure reserves for them (px), for one kind of display.

    ``finish`` lays a figure out from these; :func:`toolbox.figures.presenter.restyle` redraws a
    finished figure for another ``Style``. ``SCREEN`` is a laptop; ``PROJECTOR`` is presenter mode.
    """

    font: float = 12          # tick labels, axis titles, legend, annotations
    title: float = 15         # the figure's title (Streamlit's chart theme draws about this)
    title_line: float = 22    # height of one line of the title
    subtitle_line: float = 18  # height of one line of a subplot title
    legend_row: float = 22    # height of one row of a horizontal legend
    tick_band: float = 28     # tick labels under an x axis
    axis_title: float = 24    # an x-axis title under the tick labels
    min_marker: float = 6     # sample points smaller than this vanish on a projector
    toolbar: float = 30       # Plotly's toolbar row at the top of the figure: titles start under it
    plot_scale: float = 1.0   # the plot area's height relative to the screen's
    line_scale: float = 1.0   # line widths and marker sizes relative to the screen's


SCREEN = Style()
"""A laptop or desktop screen: what every builder lays out for."""
PROJECTOR = Style(font=18, title=22, title_line=30, subtitle_line=26, legend_row=30, tick_band=40,
                  axis_title=34, min_marker=9, plot_scale=1.3, line_scale=1.5)
"""Presenter mode: text read from the back of a lecture hall (1.5× the screen's), a taller plot."""

# the screen's sizes under their historical names (tests and builders use them)
FONT_SIZE = SCREEN.font
TITLE_SIZE = SCREEN.title
LEGEND_ROW = SCREEN.legend_row
TICK_BAND = SCREEN.tick_band
AXIS_TITLE = SCREEN.axis_title
MIN_MARKER = SCREEN.min_marker
TOOLBAR = SCREEN.toolbar


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Estimated width in px of the longest line of ``text`` (HTML tags and <br> understood)."""
    lines = re.split(r"<br\s*/?>", str(text))
    plain = [re.sub(r"<[^>]+>", "", line) for line in lines]
    # 0.52 em: the average glyph of Source Sans (Streamlit's font), a little over its measured 0.48
    return max((0.52 * size * len(line) for line in plain), default=0.0)


def wrap(text: str, max_px: float, size: float = FONT_SIZE) -> str:
    """``text`` with <br> between words so that no line is wider than ``max_px`` (estimated)."""
    if text_width(text, size) <= max_px:  # every line fits (a builder's own <br> kept)
        return text
    text = re.sub(r"<br\s*/?>", " ", str(text))  # a line too wide: wrap the whole text again
    lines, line = [], ""
    for word in str(text).split(" "):
        trial = f"{line} {word}" if line else word
        if line and text_width(trial, size) > max_px:
            lines.append(line)
            line = word
        else:
            line = trial
    lines.append(line)
    return "<br>".join(lines)


def n_lines(text) -> int:
    return len(re.split(r"<br\s*/?>", str(text or "")))


def legend_names(data: list[dict]) -> list[str]:
    """Names of the traces the legend lists (Plotly hides the legend of a single trace by
    default)."""
    return [str(t.get("name")) for t in data if t.get("showlegend",
                                                      True) is not False and t.get("name")]


def legend_rows(names: list[str], width: float, size: float = FONT_SIZE) -> int:
    """Rows a horizontal legend with these entries takes in ``width`` px (greedy, as Plotly packs
    it)."""
    rows, used = (1 if names else 0), 0.0
    for name in names:
        item = 45 + text_width(name, size)  # symbol, gap, text
        if used and used + item > width:
            rows, used = rows + 1, 0.0
        used += item
    return rows


def _axes(layout: dict, letter: str) -> dict[str, dict]:
    return {k: v for k, v in layout.items() if re.fullmatch(f"{letter}axis\\d*",
                                                            k) and isinstance(v, dict)}


def subplot_titles(layout: dict) -> list[dict]:
    """The annotations that title a panel: paper-anchored text just above a panel, no arrow."""
    return [a for a in layout.get("annotations", []) or []
            if a.get("xref") == "paper" and a.get("yref") == "paper" and a.get(
                "yanchor") == "bottom"
            and not a.get("showarrow", True)]


def _panel_width(layout: dict, x: float, plot_w: float) -> float:
    """Width in px of the panel whose x domain holds paper coordinate ``x`` (the whole plot if
    none)."""
    for axis in _axes(layout, "x").values():
        lo, hi = axis.get("domain", [0.0, 1.0])
        if lo <= x <= hi and (lo, hi) != (0.0, 1.0):
            return (hi - lo) * plot_w
    return plot_w


def _has_bottom_title(layout: dict) -> bool:
    for axis in _axes(layout, "x").values():
        title = axis.get("title")
        text = title.get("text") if isinstance(title, dict) else title
        if text:
            return True
    return False


def finish(data: list[dict], layout: dict, width: float = REFERENCE_WIDTH,
           style: Style = SCREEN) -> dict:
    """Apply the projector rules to a figure given as dicts; returns ``layout`` (changed in place).

    - log axes label decades only (``dtick=1``, exponents as powers: 10⁻², not "10, 5, 2, 1");
    - the legend sits under the tick labels and axis title, the bottom margin grown by the rows
      it needs at ``width`` px, so it never covers tick labels or axis titles; the figure grows by
      as much, so the plot keeps its size;
    - subplot titles wrap to their panel's width, and the top margin holds them and the title (the
      title itself is not wrapped: builders keep it short enough for ``width``, a test checks);
    - sample points are at least ``style.min_marker`` px.

    ``style``: the sizes of text and bands (``SCREEN``, or ``PROJECTOR`` in presenter mode).
    """
    for axis in [*_axes(layout, "x").values(), *_axes(layout, "y").values()]:
        if axis.get("type") == "log":
            axis.update(dtick=1, exponentformat="power")
    for trace in data:
        mode = str(trace.get("mode", ""))
        marker = trace.get("marker")
        if "markers" in mode and isinstance(marker, dict):
            size = marker.get("size")
            if size is None or (isinstance(size, (int, float)) and size < style.min_marker):
                marker["size"] = style.min_marker
    margin = dict(layout.get("margin") or {})
    margin.setdefault("l", 60)
    margin.setdefault("r", 20)
    plot_w = width - margin["l"] - margin["r"]
    old_b, old_t = margin.get("b", 80), margin.get("t", 60)
    # title and subplot titles: wrapped to fit, the top margin grown to hold them
    title = layout.get("title")
    if isinstance(title, dict) and title.get("text"):
        # below the chart's toolbar (kept visible for the PNG download), which would cover its end
        title.update(y=1.0, yref="container", yanchor="top", pad=dict(t=style.toolbar))
    top_lines = 0
    for note in subplot_titles(layout):
        size = note.get("font", {}).get("size", style.font)
        note["text"] = wrap(note["text"], _panel_width(layout, note["x"], plot_w) - 4, size)
        if note.get("y", 1.0) >= 1.0:
            top_lines = max(top_lines, n_lines(note["text"]))
    title_text = title.get("text") if isinstance(title, dict) else title
    title_px = style.toolbar + (style.title_line * n_lines(title_text) if title_text else 0)
    margin["t"] = max(int(title_px + style.subtitle_line * top_lines + 10), 30)
    # legend: below, in its own band of the bottom margin
    bottom = style.tick_band + (style.axis_title if _has_bottom_title(layout) else 0)
    if any(a.get("type") == "multicategory" for a in _axes(layout, "x").values()):
        bottom += style.tick_band
    legend = layout.get("legend") or {}
    names = legend_names(data)
    shows_legend = layout.get("showlegend", len(names) > 1) and names
    if shows_legend and legend.get("orientation") == "h":
        rows = legend_rows(names, width - 10, legend.get("font", {}).get("size", style.font))
        margin["b"] = int(bottom + style.legend_row * rows + 18)
    elif not (shows_legend and legend.get("orientation") == "v"):
        margin["b"] = int(bottom + 8)
    else:
        margin["b"] = max(int(bottom + 8), old_b)
    height = layout.get("height", 450)
    plot_h = max(height - old_t - old_b, 50)  # kept: the figure grows with its margins
    layout["height"] = int(plot_h + margin["t"] + margin["b"])
    if shows_legend and legend.get("orientation") == "h":
        # top of the legend just under the tick labels and axis title (paper units: plot heights),
        # so a builder that later moves the legend (to the right, say) keeps paper coordinates
        # 10 px of slack: a legend of several rows is drawn ~4 px higher than its anchor
        legend.update(y=-(bottom + 10) / plot_h, yanchor="top", x=0.0, xanchor="left")
        layout["legend"] = legend
    layout["margin"] = margin
    # recorded for the tests, which check the layout at the width it was made for
    layout["meta"] = dict(layout.get("meta") or {}, reference_width=width)
    return layout


def layout_dict(title: str, x_title: str = "", y_title: str = "", height: int = 360,
                **extra) -> dict:
    """The common look as a plain layout dict (title left, labelled axes, legend under the plot).

    Figure builders that assemble ``go.Figure`` from dicts (skipping plotly's validation, which
    costs tens of milliseconds per figure on a page rerun) use this, then ``finish`` (the
    projector rules) once every trace is known; ``extra`` overrides keys.
    """
    layout = dict(
        title=dict(text=title, x=0.0, xanchor="left"),
        xaxis=dict(title=dict(text=x_title)),
        yaxis=dict(title=dict(text=y_title)),
        height=height,
        # legend under the plot: above it, a long or wrapped legend collides with the title
        margin=dict(l=60, r=20, t=50, b=110),
        legend=dict(orientation="h", yanchor="top", y=-0.28, xanchor="left", x=0.0),
    )
    layout.update(extra)
    return layout


def figure(data: list[dict], layout: dict, validate: bool = False,
           width: float = REFERENCE_WIDTH) -> go.Figure:
    """``go.Figure`` from trace and layout dicts after the projector rules (``finish``).

    Without ``validate`` plotly's per-property checks are skipped (most of a figure's construction
    time; the specs are fixed by code and the tests validate every builder's output). ``width``:
    the narrowest the page draws this figure (``REFERENCE_WIDTH`` in a column, ``FULL_WIDTH``).
    """
    finish(data, layout, width)
    return go.Figure(dict(data=data, layout=layout), _validate=validate)


def hline(y: float, line: dict, text: str = "") -> tuple[dict, dict | None]:
    """A horizontal line across the plot at ``y`` (and its label at the right end), as plotly's
    ``add_hline`` makes them: ``(shape, annotation or None)`` for a layout dict."""
    shape = dict(type="line", line=line, x0=0, x1=1, xref="x domain", y0=y, y1=y, yref="y")
    note = dict(showarrow=False, text=text, x=1, xanchor="right", xref="x domain", y=y,
                yanchor="bottom", yref="y") if text else None
    return shape, note


def vline(x: float, line: dict) -> dict:
    """A vertical line over the plot's height at ``x`` (plotly's ``add_vline``), as a shape."""
    return dict(type="line", line=line, x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain")


def base_layout(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 360,
                width: float = REFERENCE_WIDTH) -> go.Figure:
    """Apply the common look (``layout_dict``) and the projector rules (``finish``) to a figure.

    Call it after the traces are added: the legend's size depends on them. No template is set:
    every figure keeps the one Streamlit registers as plotly's default, so all pages look alike
    (and validating the plotly_white template cost ~7 ms of a ~11 ms call).
    """
    fig.update_layout(**layout_dict(title, x_title, y_title, height))
    return finish_figure(fig, width)


def finish_figure(fig: go.Figure, width: float = REFERENCE_WIDTH) -> go.Figure:
    """``finish`` applied to a ``go.Figure`` built through plotly's API (traces and layout)."""
    data = [t.to_plotly_json() for t in fig.data]
    keys = ("title", "margin", "legend", "height", "annotations", "showlegend", "meta")
    layout = {k: v for k, v in fig.layout.to_plotly_json().items() if k in keys or re.fullmatch(
        r"[xy]axis\d*", k)}
    finish(data, layout, width)
    fig.update_layout(**layout)
    for trace, spec in zip(fig.data, data):
        if "marker" in spec and "markers" in str(spec.get("mode", "")):
            trace.marker.size = spec["marker"].get("size")
    return fig


def hex_to_rgba(color: str, alpha: float) -> str:
    """``"#1f77b4", 0.2 -> "rgba(31,119,180,0.2)"`` for confidence bands."""
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
