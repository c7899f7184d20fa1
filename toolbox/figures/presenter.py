"""A finished figure redrawn for another display (presenter mode at a projector), in Plotly itself.

Builders lay out for the screen (``style.SCREEN``). :func:`restyle` takes such a figure and sets, in
the figure's own layout, the projector's sizes (``style.PROJECTOR``): larger fonts everywhere text
is drawn, a taller plot, thicker lines and markers, margins and legend bands recomputed by
``style.finish`` for the larger text, and axes that grow their margins for their labels
(``automargin``). Nothing is left to CSS over a finished figure, which Plotly cannot lay out around.
"""

from __future__ import annotations

import copy
import re
from numbers import Real

import plotly.graph_objects as go

from toolbox.figures.style import (
    REFERENCE_WIDTH,
    SCREEN,
    Style,
    _panel_width,
    finish,
    n_lines,
    subplot_titles,
    wrap,
)


def _scaled(value, factor: float):
    """A size times ``factor`` (a number, or each number of a list); anything else unchanged."""
    if isinstance(value, Real) and not isinstance(value, bool):
        return round(float(value) * factor, 1)
    if isinstance(value, (list, tuple)):
        return [_scaled(v, factor) for v in value]
    return value


def _font(owner: dict, key: str, factor: float, default: float | None = None) -> None:
    """Scale ``owner[key]["size"]`` (a font) by ``factor``; set ``default`` where no size is
    given."""
    font = owner.get(key)
    if isinstance(font, dict) and font.get("size") is not None:
        font["size"] = _scaled(font["size"], factor)
    elif default is not None:
        owner[key] = dict(font or {}, size=default)


def _title_font(owner: dict, factor: float) -> None:
    title = owner.get("title")
    if isinstance(title, dict):
        _font(title, "font", factor)


def _restyle_layout(layout: dict, style: Style, factor: float) -> None:
    layout["font"] = dict(layout.get("font") or {}, size=style.font)
    title = layout.get("title")
    if isinstance(title, dict):
        title["font"] = dict(title.get("font") or {}, size=style.title)
    for key, axis in layout.items():
        if isinstance(axis, dict) and re.fullmatch(r"[xy]axis\d*", key):
            # explicit sizes: Streamlit's chart theme sizes ticks, axis titles and the legend in its
            # template, which outranks the layout's own font
            _font(axis, "tickfont", factor, default=style.font)
            title = axis.get("title")
            axis["title"] = title = title if isinstance(title, dict) else {"text": title or ""}
            _font(title, "font", factor, default=style.font)
            axis["automargin"] = True  # a margin too small for the labels grows, never cuts them
        elif isinstance(axis, dict) and key.startswith(("ternary", "polar", "scene")):
            for sub in axis.values():
                if isinstance(sub, dict):
                    _font(sub, "tickfont", factor)
                    _title_font(sub, factor)
    for note in layout.get("annotations") or []:
        _font(note, "font", factor)
    legend = layout.get("legend")
    if isinstance(legend, dict):
        _font(legend, "font", factor, default=style.font)
    coloraxis = layout.get("coloraxis")
    if isinstance(coloraxis, dict) and isinstance(coloraxis.get("colorbar"), dict):
        _font(coloraxis["colorbar"], "tickfont", factor)


def _restyle_trace(trace: dict, style: Style) -> None:
    factor = style.line_scale
    line = trace.get("line")
    if isinstance(line, dict):
        line["width"] = _scaled(line.get("width", 2), factor)
    marker = trace.get("marker")
    if isinstance(marker, dict) and marker.get("size") is not None:
        marker["size"] = _scaled(marker["size"], factor)
    _font(trace, "textfont", style.font / SCREEN.font)
    colorbar = trace.get("colorbar")
    if isinstance(colorbar, dict):
        _font(colorbar, "tickfont", style.font / SCREEN.font)
        _title_font(colorbar, style.font / SCREEN.font)


def _rows_need(layout: dict, style: Style, width: float) -> float:
    """The plot height in px at which the gaps between stacked panels hold, at ``style``'s sizes,
    the tick labels of the panel above and the next panel's (wrapped) title; 0 for one row."""
    domains = sorted({tuple(a.get("domain", (0.0, 1.0))) for k, a in layout.items()
                      if re.fullmatch(r"yaxis\d*", k) and isinstance(a, dict)})
    # each panel's gap to the nearest panel above it (overlaid axes share a domain: no gap)
    gaps = [min(b[0] - a[1] for b in above) for a in domains
            if (above := [b for b in domains if b[0] - a[1] > 0.005])]
    if not gaps:
        return 0.0
    margin = layout.get("margin") or {}
    plot_w = width - margin.get("l", 60) - margin.get("r", 20)
    lines = max((n_lines(wrap(n["text"], _panel_width(layout, n.get("x", 0.5), plot_w) - 4,
                               (n.get("font") or {}).get("size", style.font)))
                 for n in subplot_titles(layout) if n.get("y", 1.0) < 1.0), default=0)
    return (style.tick_band + style.subtitle_line * lines + 8) / min(gaps)


def _category_axes(data: list[dict]) -> set[str]:
    """Layout keys of the y axes that show text values (categories: every label must stay)."""
    keys = set()
    for trace in data:
        values = trace.get("y")  # a list, or numbers packed as {"dtype", "bdata"}
        if isinstance(values, (list, tuple)) and values and isinstance(values[0], str):
            keys.add("yaxis" + str(trace.get("yaxis", "y"))[1:])
    return keys


def _fewer_y_ticks(data: list[dict], layout: dict, plot_h: float, style: Style) -> None:
    """At most one y tick label per two lines of text on each numeric panel (Plotly spaces its
    automatic ticks by the axis's length, not by the font: at the projector's size they ran
    together); category axes keep every label."""
    categories = _category_axes(data)
    for key, axis in layout.items():
        if not (re.fullmatch(r"yaxis\d*", key) and isinstance(axis, dict)) or key in categories:
            continue
        if axis.get("type") in ("log", "category") or any(axis.get(k) is not None
                                                          for k in ("dtick", "tickvals", "nticks")):
            continue
        lo, hi = axis.get("domain", (0.0, 1.0))
        axis["nticks"] = max(2, int((hi - lo) * plot_h / (2 * style.font)))


def restyle(fig: go.Figure, style: Style = SCREEN) -> go.Figure:
    """``fig`` drawn for ``style``: the figure itself for ``SCREEN``, else a new figure.

    Fonts are set (layout, title) or scaled by ``style.font / SCREEN.font`` (fonts a builder sized:
    annotations, ticks, legend, colour bars, text on bars); the plot area is ``style.plot_scale`` as
    tall; lines and markers ``style.line_scale`` as thick; then ``finish`` recomputes the margins
    and legend band for ``style`` at the width the builder laid out for (``meta.reference_width``).
    """
    if style == SCREEN:
        return fig
    spec = copy.deepcopy(fig.to_plotly_json())
    data, layout = spec["data"], spec.setdefault("layout", {})
    factor = style.font / SCREEN.font
    _restyle_layout(layout, style, factor)
    for trace in data:
        _restyle_trace(trace, style)
    margin = layout.get("margin") or {}
    top, bottom = margin.get("t", 100), margin.get("b", 80)  # plotly's defaults
    plot_h = max(layout.get("height", 450) - top - bottom, 50)
    width = float((layout.get("meta") or {}).get("reference_width", REFERENCE_WIDTH))
    # stacked panels: taller still when the gaps between rows cannot hold the larger labels
    plot_h = max(plot_h * style.plot_scale, _rows_need(layout, style, width))
    layout["height"] = int(top + bottom + plot_h)
    _fewer_y_ticks(data, layout, plot_h, style)
    finish(data, layout, width, style)
    legend = layout.get("legend") or {}
    if legend.get("orientation") == "h" and legend.get("yanchor") == "top" and legend.get("y",
                                                                                          1) < 0:
        # the legend's band is the bottom of the figure: anchored there, it stays under the tick
        # labels and axis title even when ``automargin`` shrinks the plot for larger labels
        legend.update(yref="container", y=0.0, yanchor="bottom")
    return go.Figure(spec, _validate=False)
