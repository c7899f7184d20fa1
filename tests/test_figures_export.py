"""``figure_csv``: every point of every trace as one CSV row, checked against the data the
figure was built from (scatter, bars with error bars, heatmaps, histograms, panels, simplex)."""

from __future__ import annotations

import csv
import io

import numpy as np
import plotly.graph_objects as go
import torch

from toolbox.figures import gumbel as FG
from toolbox.figures import influence as FI
from toolbox.figures import normalization as FN
from toolbox.figures.export import figure_csv


def rows(fig: go.Figure) -> list[dict]:
    return list(csv.DictReader(io.StringIO(figure_csv(fig))))


def test_scatter_one_row_per_point_with_the_trace_name():
    fig = go.Figure([go.Scatter(x=[1, 2, 3], y=[0.5, float("nan"), 2.25],
                                name="π<sup>i</sup>(a<sup>i</sup>)"),
                     go.Scatter(x=[1, 2], y=[4, 5])])
    text = figure_csv(fig)
    assert text.splitlines()[0] == "trace,x,y"
    got = rows(fig)
    # HTML notation becomes plain text; a gap (NaN) is
    # an empty cell; an unnamed trace gets its number
    assert [(r["trace"], r["x"], r["y"]) for r in got] == [
        ("πi(ai)", "1", "0.5"), ("πi(ai)", "2", ""), ("πi(ai)", "3", "2.25"), ("trace 2", "1", "4"),
        ("trace 2", "2", "5")]


def test_bars_keep_categories_and_error_bars():
    p, se = np.array([0.5, 0.3, 0.2]), np.array([0.01, 0.02, 0.03])
    fig = FG.compare_bars_figure({"target π": p, "sampled": p[::-1]}, {}, "t", "probability",
                                 errors={"sampled": se})
    got = rows(fig)
    assert set(got[0]) == {"trace", "x", "y", "error"}
    assert [(r["trace"], r["x"], float(r["y"])) for r in got[:3]] == [("target π", f"k = {k}",
                                                                       p[k]) for k in range(3)]
    assert [float(r["error"]) for r in got[3:]] == se.tolist() and [
        r["error"] for r in got[:3]] == ["", "", ""]


def test_heatmap_one_row_per_cell_with_z():
    z = np.array([[0.69, np.inf], [0.0, 0.3]])
    fig = FI.influence_heatmap(z, ["bad", "good"], ["rec", "not"])
    got = rows(fig)
    assert list(got[0]) == ["trace", "x", "y", "z"]
    cells = {(r["y"], r["x"]): r["z"] for r in got}
    # the never-sent pair (∞, drawn as a gap) is an empty cell
    assert cells == {("bad", "rec"): "0.69", ("bad", "not"): "", ("good", "rec"): "0.0",
                     ("good", "not"): "0.3"}


def test_panels_histograms_and_the_simplex():
    raw, normalized = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([-1.0, 0.0, 1.0])
    got = rows(FN.batch_histogram_figure(raw, normalized, None))
    # histograms export the samples they count, each with the title of its panel
    assert [(r["trace"], r["panel"], float(r["x"])) for r in got] == (
        [("raw", "raw batch", v) for v in (1, 2, 3)] + [("normalized", "normalized batch",
                                                         v) for v in (-1, 0, 1)])
    y = np.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])
    tern = rows(FG.ternary_figure(y, np.array([0.4, 0.3, 0.3]), 1.0))
    assert [tuple(float(r[c]) for c in "abc") for r in tern[:2]] == [tuple(v) for v in y.tolist()]
    multi = rows(FG.relaxed_samples_figure(y[:1], 1.0))
    assert [(r["x"], float(r["y"])) for r in multi] == [("sample 1 / 0", 0.2),
                                                        ("sample 1 / 1", 0.3),
                                                        ("sample 1 / 2", 0.5)]
