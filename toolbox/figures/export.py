"""A figure's data as CSV, so that every chart a page shows can be downloaded as numbers.

One row per drawn point: the trace's name, the panel it sits in (the subplot title, when the
figure has several panels), x, y, and the columns only some traces have: z for heatmaps (one row
per cell), a/b/c for points on a simplex (ternary), error for error bars. Histograms are exported
as their raw samples (x, or y for a horizontal one), which is what the bars count.
"""

from __future__ import annotations

import csv
import io
import math
import re

import plotly.graph_objects as go

from toolbox.figures.style import subplot_titles


def _text(value) -> str:
    """A cell: numbers as Python writes them, NaN/None empty, HTML tags (<sup>…) removed."""
    if value is None:
        return ""
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, (list, tuple)):  # a multicategory x: ("sample 1", "0")
        return " / ".join(_text(v) for v in value)
    return re.sub(r"<[^>]+>", "", str(value))


def _values(x) -> list:
    if x is None:
        return []
    if hasattr(x, "tolist"):
        return x.tolist()
    return list(x)


def _panel_names(layout: dict) -> dict[str, str]:
    """x-axis id ('x', 'x2', …) → the subplot title centred over that axis's domain."""
    names = {}
    for key, axis in layout.items():
        if not (re.fullmatch(r"xaxis\d*", key) and isinstance(axis, dict) and "domain" in axis):
            continue
        lo, hi = axis["domain"]
        ids = "x" + key[5:]
        y_axis = layout.get("yaxis" + key[5:], {})
        y_top = y_axis.get("domain", [0, 1])[1] if isinstance(y_axis, dict) else 1
        for note in subplot_titles(layout):
            if lo <= note["x"] <= hi and abs(note.get("y", 1) - y_top) < 0.02:
                names[ids] = _text(note["text"].replace("<br>", " "))
    return names


def _multicategory(x) -> list:
    """Plotly's multicategory x ([[outer…], [inner…]]) as one (outer, inner) pair per point."""
    outer, inner = (_values(level) for level in x)
    return list(zip(outer, inner))


def _get(trace, key: str):
    """A trace property as plotly holds it (numpy arrays stay arrays), None where the type has
    none."""
    return trace[key] if key in trace else None


def _trace_dict(trace) -> dict:
    keys = ("name", "type", "xaxis", "x", "y", "z", "a", "b", "c")
    spec = {k: _get(trace, k) for k in keys}
    error = _get(trace, "error_y")
    spec["error_y"] = {"array": error["array"]} if error is not None and error[
        "array"] is not None else None
    return {k: v for k, v in spec.items() if v is not None}


def figure_rows(fig: go.Figure) -> tuple[list[str], list[dict]]:
    """The column names and one dict per point of every trace of ``fig``."""
    # the layout as plain dicts; the traces read through plotly's objects, whose JSON form
    # would encode numpy arrays as base64
    layout = fig.layout.to_plotly_json()
    panels = _panel_names(layout)
    rows: list[dict] = []
    for i, trace in enumerate(_trace_dict(t) for t in fig.data):
        name = _text(trace.get("name")) or f"trace {i + 1}"
        panel = panels.get(trace.get("xaxis", "x"), "")
        kind = trace.get("type", "scatter")
        base = {"trace": name, "panel": panel}
        if kind == "heatmap":
            z = [_values(r) for r in _values(trace.get("z"))]
            xs = _values(trace.get("x")) or list(range(len(z[0]) if z else 0))
            ys = _values(trace.get("y")) or list(range(len(z)))
            rows += [dict(base, x=xs[c], y=ys[r],
                          z=v) for r, row in enumerate(z) for c, v in enumerate(row)]
        elif kind == "scatterternary":
            a, b, c = (_values(trace.get(k)) for k in "abc")
            rows += [dict(base, a=p, b=q, c=r) for p, q, r in zip(a, b, c)]
        elif kind == "histogram":
            axis = "y" if trace.get("x") is None else "x"
            rows += [dict(base, **{axis: v}) for v in _values(trace.get(axis))]
        else:
            x, y = _values(trace.get("x")), _values(trace.get("y"))
            xs = _multicategory(x) if x and isinstance(x[0],
                                                       (list, tuple)) else x or list(range(len(y)))
            err = _values((trace.get("error_y") or {}).get("array"))
            for k, (xv, yv) in enumerate(zip(xs, y)):
                row = dict(base, x=xv, y=yv)
                if err:
                    row["error"] = err[k]
                rows.append(row)
    present = {key for row in rows for key in row}
    columns = ["trace"] + (["panel"] if any(r["panel"] for r in rows) else [])
    columns += [c for c in ("x", "y", "z", "a", "b", "c", "error") if c in present]
    return columns, rows


def figure_csv(fig: go.Figure) -> str:
    """The data of every trace of ``fig`` as CSV text (header row, then one row per point)."""
    columns, rows = figure_rows(fig)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_text(row.get(c)) for c in columns])
    return out.getvalue()
