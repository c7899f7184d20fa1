"""Every figure builder, fed what its page shows by default, obeys the projector rules of
``toolbox.figures.style``: the legend outside the plot with room of its own, subplot titles that
do not collide, titles that fit, log axes labelled by decades, visible sample points, notation
rendered (no raw ``a^j`` or ``u_{t-1}``), and one colour per named concept on a page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from toolbox import gumbel as G
from toolbox import influence as inf
from toolbox.figures import dial as FD
from toolbox.figures import gumbel as FG
from toolbox.figures import influence as FI
from toolbox.figures import normalization as FN
from toolbox.figures import ppo as FP
from toolbox.figures import style
from toolbox.figures.export import figure_csv
from toolbox.lessons import influence as influence_lesson
from toolbox.lessons import normalization as N
from toolbox.lessons.ppo import analysis

ROOT = Path(__file__).resolve().parent.parent
CPU = torch.device("cpu")


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---- each page's figures, built from toolbox calls at the page's default settings -----------


def normalization_figures() -> list[go.Figure]:
    s = N.sample_stream("drifting", 100, 16, device=CPU)
    tr = N.running_trace(s.x)
    o = N.observation_sample(4, 64, device=CPU)
    r, d = N.reward_stream("constant", 4, 200, 1.0, device=CPU)
    mb = N.minibatch_advantages(torch.randn(512, dtype=torch.float64, generator=gen(0)), 4)
    demo = N.message_norm_demo(steps=20, batch_size=32, device=CPU)
    return [
        FN.running_estimate_figure(s, tr, 100),
        FN.batch_histogram_figure(s.x[99], tr.normalized[99], 10.0),
        FN.observation_histograms_figure(o.obs, o.normalized, N.CARTPOLE_DIMENSIONS),
        FN.reward_trace_figure(r, N.reward_scaling_trace(r, d), 0, d),
        FN.return_scales_figure(N.return_scales(r, d)),
        FN.advantage_histogram_figure(mb.raw[0], mb.normalized[0], 0),
        FN.minibatch_stats_figure(mb),
        FN.minibatch_size_figure(N.minibatch_size_effect(mb.raw, (2, 8, 32, 128, 512))),
        FN.message_norm_figure(demo, 10),
        FN.message_histogram_figure(demo, 10),
    ]


def gumbel_figures() -> list[go.Figure]:
    logits = G.distribution_logits([0.4, 0.3, 0.2, 0.1], "probabilities", device=CPU)
    f, tau = G.default_f(4), 1.0
    ex = G.gumbel_max_experiment(logits, 10_000, gen(1))
    rx = G.relaxed_experiment(logits, tau, 2_000, gen(2))
    sw = G.temperature_sweep(logits, G.log_grid(0.01, 100.0, 9), 200, gen(3))
    three = G.relaxed_experiment(torch.log(torch.tensor([0.5, 0.3, 0.2])), tau, 400, gen(4))
    jac = G.relaxed_sample_jacobian(logits, tau, hard=False, generator=gen(5))
    cmp = G.compare_estimators(logits, list(f), tau, 500, gen(6))
    es = G.estimator_sweep(logits, list(f), G.log_grid(0.01, 100.0, 5), 200, generator=gen(7))
    return [
        FG.frequency_figure(ex.probs, ex.freqs, 10_000), FG.relaxed_samples_figure(rx.samples[:5],
                                                                                   tau),
        FG.compare_bars_figure({"target π": rx.probs, "mean of 2,000 samples y": rx.mean_sample,
                                "frequency of argmax y": rx.argmax_freqs},
                               {"target π": style.COLORS["target"],
                                "mean of 2,000 samples y": style.COLORS["empirical"],
                                "frequency of argmax y": style.COLORS["current"]},
                               f"E[y] at τ = {tau:g} vs π", "probability", legend_below=True),
        FG.ternary_figure(three.samples, three.probs, tau),
        FG.temperature_curve_figure(sw.taus, sw.mean_entropy, sw.mean_max, tau, 4),
        FG.jacobian_figure(jac.jacobian, tau, False), FG.jacobian_figure(jac.jacobian, 0.01, True),
        FG.gradient_bars_figure(cmp.exact, {k: v.mean for k, v in cmp.rows.items()},
                                {k: v.se for k, v in cmp.rows.items()}, tau),
        FG.estimator_sweep_figure(es.taus, es.bias, es.std, es.mc_error, tau),
    ]


def influence_figures() -> list[go.Figure]:
    p = influence_lesson.influence_preset(influence_lesson.INFLUENCE_PRESETS[-1], 2)
    pi_i, stack = torch.tensor(p.pi_i), np.asarray(p.pi_j_given_ai)
    labels = [f"influencee {k + 1}" for k in range(stack.shape[0])]
    marg = inf.counterfactual_marginal(pi_i, stack).numpy()
    rewards = inf.influence_rewards(pi_i, stack).numpy()
    g = inf.persuasion_preset("recommendation letter")
    steps = np.arange(0, 600, 10)
    runs = {"β = 0.5 (with bonus)": (np.random.default_rng(0).random((8, 60)),
                                     np.random.default_rng(1).random((8, 60))),
            "β = 0 (no bonus)": (np.random.default_rng(2).random((8, 60)),
                                 np.random.default_rng(3).random((8, 60)))}
    colors = {"β = 0.5 (with bonus)": style.COLORS["with"],
              "β = 0 (no bonus)": style.COLORS["without"]}
    return [
        FI.marginal_vs_conditional(marg, stack[:, 1, :], p.action_names_j, labels,
                                   p.action_names_i[1], rewards[1]),
        FI.reward_per_action(rewards, p.pi_i, p.action_names_i, labels, 1),
        FI.influence_heatmap(np.array([[0.69, np.inf], [0.0, 0.3]]), g.state_names, g.signal_names),
        FI.learning_curves(steps, runs, colors),
    ]


def ppo_figures() -> list[go.Figure]:
    payload = json.loads((ROOT / "results" / "ppo_grid500k.json").read_text())
    aggs = {name: analysis.aggregate(s, payload["grid"]) for name, s in payload["runs"].items()}
    return [FP.learning_curves(aggs),
            FP.score_differences(analysis.compare_to_baseline(payload["runs"]))]


def dial_figures() -> list[go.Figure]:
    x = list(range(0, 5000, 500))
    series = [{"label": f"DIAL, σ = {s:g}", "x": x, "mean": [0.5] * 10, "lo": [0.4] * 10,
               "hi": [0.6] * 10}
              for s in (2.0, 0.0)]
    edges = np.linspace(0, 1, 21)
    dist = {"edges": edges, "train": np.ones((5, 20)), "exec": [0, 0, 1, 1, 1]}
    grid = [[0.5 if k <= t else None for k in range(3)] for t in range(6)]
    return [
        FD.learning_curves(series), FD.dru_distribution(dist, [-4, -1, 0.5, 1, 4], 2.0),
        FD.message_heatmap(x, np.linspace(-3, 3, 11), np.ones((10, 10)) / 10),
        FD.protocol_heatmap(grid, "P(bit left on) by day and visitors", "P(on)"),
        FD.protocol_marginals([0.5] * 6, [0.5] * 3, "P(bit left on)"),
        FD.replay_strip([{"day": t + 1, "in_room": t % 3, "action": "None",
                          "bit_sent": 1} for t in range(6)], 3, 6),
    ]


PAGES = {"normalization": normalization_figures, "gumbel_softmax": gumbel_figures,
         "social_influence": influence_figures, "ppo_details": ppo_figures, "dial": dial_figures}


@pytest.fixture(scope="module", params=list(PAGES))
def built(request) -> tuple[str, list[go.Figure]]:
    return request.param, PAGES[request.param]()


@pytest.fixture
def page_figures(built) -> tuple[str, list[dict]]:
    page, figures = built
    return page, [fig.to_plotly_json() for fig in figures]


# ---- the rules --------------------------------------------------------------------------------


def _title(obj) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return str(obj or "")


def _width(layout: dict) -> float:
    return float((layout.get("meta") or {}).get("reference_width", style.REFERENCE_WIDTH))


def _axes(layout: dict, letter: str) -> dict:
    return {k: v for k, v in layout.items() if re.fullmatch(f"{letter}axis\\d*", k)}


def legend_problems(data: list[dict], layout: dict) -> list[str]:
    names = style.legend_names(data)
    if not names or layout.get("showlegend") is False or (len(names) == 1 and layout.get(
        "showlegend") is not True):
        return []
    legend, margin = layout.get("legend", {}), layout.get("margin", {})
    if legend.get("xref", "paper") != "paper" or legend.get("yref", "paper") != "paper":
        return [f"legend placed relative to the container, not the plot: {legend}"]
    if legend.get("orientation") == "v":  # to the right of the plot
        return [] if legend.get("x",
                                1.02) >= 1.0 and legend.get("xanchor") == "left" else [
                                    f"legend inside: {legend}"]
    width = _width(layout)
    needed = style.TICK_BAND + style.LEGEND_ROW * style.legend_rows(names, width - 10)
    if any(_title(a.get("title")) for a in _axes(layout, "x").values()):
        needed += style.AXIS_TITLE
    problems = []
    plot_h = layout["height"] - margin["t"] - margin["b"]
    below = needed - style.LEGEND_ROW * style.legend_rows(names, width - 10)  # ticks and axis title
    if not (legend.get("yanchor") == "top" and legend.get("y", 1) * plot_h <= -below):
        problems.append(f"legend not under the tick labels and axis title: {legend}")
    if margin.get("b", 0) < needed:
        problems.append(
            f"bottom margin {margin.get('b')} px < {needed} px for ticks, axis title and legend")
    return problems


def title_problems(layout: dict, title_fits: bool = True) -> list[str]:
    """``title_fits``: also check the title's length against the width the figure was made for
    (the DIAL page's builders do not say their width, so some full-width titles are long there)."""
    width, margin = _width(layout), layout.get("margin", {})
    problems = []
    title = _title(layout.get("title"))
    if title_fits and style.text_width(title, style.TITLE_SIZE) > width - 10:
        problems.append(f"title wider than {width:.0f} px: {title!r}")
    titles = style.subplot_titles(layout)
    plot_w = width - margin.get("l", 0) - margin.get("r", 0)
    plot_h = layout.get("height", 400) - margin.get("t", 0) - margin.get("b", 0)
    spans = []
    for note in titles:
        size = note.get("font", {}).get("size", style.FONT_SIZE)
        half = style.text_width(note["text"], size) / 2
        spans.append((note.get("y", 1.0), note["x"] * plot_w - half, note["x"] * plot_w + half,
                      note["text"]))
        lines = style.n_lines(note["text"])
        top_px = (1.0 - note.get("y", 1.0)) * plot_h - lines * 17  # px below the plot's top edge
        if note.get("y", 1.0) >= 1.0:
            if margin.get("t", 0) < style.TOOLBAR + 22 * style.n_lines(title) + 17 * lines:
                problems.append(
                    f"subplot title {note['text']!r} overlaps "
                    f"the title (top margin {margin.get('t')})")
        else:  # a lower row: room above it for the upper panel's tick labels
            uppers = [a["domain"][0] for a in _axes(layout, "y").values()
                      if "domain" in a and a["domain"][0] > note["y"] + 1e-9]
            if uppers and top_px < (1.0 - min(uppers)) * plot_h + style.TICK_BAND - 4:
                problems.append(
                    f"subplot title {note['text']!r} runs into the tick labels of the panel above")
    for i, a in enumerate(spans):
        for b in spans[i + 1:]:
            if abs(a[0] - b[0]) < 1e-6 and a[1] < b[2] and b[1] < a[2]:
                problems.append(f"subplot titles overlap: {a[3]!r} and {b[3]!r}")
    return problems


def axis_problems(data: list[dict], layout: dict) -> list[str]:
    problems = []
    for key, axis in [*_axes(layout, "x").items(), *_axes(layout, "y").items()]:
        if axis.get("type") == "log" and not (axis.get("dtick") == 1 and axis.get(
            "exponentformat") == "power"):
            problems.append(f"{key} is logarithmic but not labelled by decades: {axis}")
    for trace in data:
        size = (trace.get("marker") or {}).get("size")
        if (
            "markers" in str(trace.get("mode", ""))
            and isinstance(size, (int, float))
            and size < style.MIN_MARKER
        ):
            problems.append(f"markers of {trace.get('name')!r} are {size} px")
    return problems


RAW_NOTATION = re.compile(r"[\w)\]}|][_^][\w{(]|[_^]\{")


def shown_texts(data: list[dict], layout: dict) -> list[str]:
    """Text a reader sees: titles, axis titles, legend names, annotations, category labels."""
    texts = [_title(layout.get("title"))]
    texts += [_title(a.get("title")) for a in [*_axes(layout, "x").values(),
                                               *_axes(layout, "y").values()]]
    texts += [str(a.get("text", "")) for a in layout.get("annotations", []) or []]
    for trace in data:
        texts.append(str(trace.get("name") or ""))
        for key in ("x", "y"):
            values = trace.get(key)
            if values is not None and len(values) and isinstance(np.asarray(values,
                                                                            dtype=object).flat[0],
                                                                 str):
                texts += [str(v) for v in np.asarray(values, dtype=object).flat]
        colorbar = trace.get("colorbar") or {}
        texts.append(_title(colorbar.get("title")))
    return texts


def test_every_figure_of_every_page_is_readable_at_a_projector(page_figures):
    page, figures = page_figures
    problems = []
    for k, fig in enumerate(figures):
        data, layout = fig["data"], fig["layout"]
        where = f"{page} figure {k + 1} ({_title(layout.get('title'))[:50]!r})"
        found = (
            legend_problems(data, layout)
            + title_problems(layout, page != "dial")
            + axis_problems(data, layout)
        )
        found += [f"raw notation {t!r}" for t in shown_texts(data,
                                                             layout) if RAW_NOTATION.search(t)]
        problems += [f"{where}: {p}" for p in found]
    assert not problems, "\n".join(problems)


def test_one_colour_per_concept_on_a_page(page_figures):
    page, figures = page_figures
    seen: dict[str, set] = {}
    for fig in figures:
        for trace in fig["data"]:
            name = re.sub(r" \(n=\d+\)$", "", str(trace.get("name") or ""))
            color = (trace.get("line") or {}).get("color") or (trace.get("marker") or {}).get(
                "color")
            if name and isinstance(color, str) and trace.get("showlegend", True) is not False:
                seen.setdefault(name, set()).add(color.lower())
    assert {n: c for n, c in seen.items() if len(c) > 1} == {}


def test_no_two_legend_entries_of_a_figure_look_alike(page_figures):
    """Entries of one colour and dash cannot be told apart (two BatchNorm lines were orange)."""
    page, figures = page_figures
    problems = []
    for k, fig in enumerate(figures):
        if fig["layout"].get("showlegend") is False:
            continue
        looks: dict[tuple, str] = {}
        for trace in fig["data"]:
            line, marker = trace.get("line") or {}, trace.get("marker") or {}
            color = line.get("color") or marker.get("color")
            shown = trace.get("name") and trace.get("showlegend", True) is not False
            if not shown or not isinstance(color, str):
                continue
            look = (trace.get("type", "scatter"), color.lower(), line.get("dash", "solid"),
                    str(trace.get("mode", "")), marker.get("symbol"))
            if looks.get(look, trace["name"]) != trace["name"]:
                name = trace["name"]
                problems.append(f"{page} figure {k + 1}: {looks[look]!r}, {name!r} look alike")
            looks.setdefault(look, trace["name"])
    assert not problems, "\n".join(problems)


def test_recurring_concepts_share_their_colour_across_pages():
    payload = json.loads((ROOT / "results" / "ppo_grid500k.json").read_text())
    runs = payload["runs"]
    ppo = FP.learning_curves({name: analysis.aggregate(runs[name][:1], payload["grid"])
                              for name in ("no minibatches", "all on")})
    by_name = {t.name: t.line.color for t in ppo.data if t.showlegend is not False}
    # a variant keeps its colour whichever subset of the menu is shown, and "all on" is black
    assert by_name == {"no minibatches (n=1)": style.VARIANT_COLORS["no minibatches"],
                       "all on (n=1)": "#000000"}
    bars = FG.gradient_bars_figure([0.0, 0.0], {"reinforce": [0.0, 0.0]}, {"reinforce": [0.0, 0.0]},
                                   1.0)
    assert [b.marker.color for b in bars.data] == [style.ESTIMATOR_COLORS["exact"],
                                                   style.ESTIMATOR_COLORS["reinforce"]]


def test_projector_rules_on_a_small_figure():
    """``finish`` by itself: decades on log axes, markers at least 6 px, the legend below with
    room."""
    data = [dict(type="scatter", x=[1, 10, 100], y=[1, 2, 3], mode="markers", marker=dict(size=2),
                 name="a"),
            dict(type="scatter", x=[1, 10, 100], y=[3, 2, 1], mode="lines", name="b")]
    layout = style.layout_dict("t", "x (log)", "y", 300)
    layout["xaxis"]["type"] = "log"
    style.finish(data, layout, width=400)
    assert layout["xaxis"]["dtick"] == 1 and layout["xaxis"]["exponentformat"] == "power"
    assert data[0]["marker"]["size"] == style.MIN_MARKER
    assert layout["margin"]["b"] == style.TICK_BAND + style.AXIS_TITLE + style.LEGEND_ROW + 18
    assert layout["height"] == 300 + layout["margin"]["b"] - 110 + layout["margin"]["t"] - 50
    legend_top = -(style.TICK_BAND + style.AXIS_TITLE + 10)
    assert layout["legend"]["y"] * (300 - 110 - 50) == pytest.approx(legend_top)
    assert style.legend_rows(["x" * 40] * 3, 400) == 3 and style.legend_rows(["ab"] * 3, 400) == 1
    assert style.wrap("one two three four", 70) == "one two<br>three four"


def test_builders_pass_plotly_validation(page_figures):
    _, figures = page_figures
    for fig in figures:
        go.Figure(fig)


def test_every_figure_downloads_its_points_as_csv(built):
    _, figures = built
    for fig in figures:
        lines = figure_csv(fig).splitlines()
        assert lines[0].startswith("trace,") and len(lines) > 1
        # heatmaps export a row per cell, everything else
        # a row per drawn point (histograms: per sample)
        points = sum(np.size(t.z) if t.type == "heatmap" else len(t.a) if t.type == "scatterternary"
                     else len(t.y if t.y is not None else t.x) for t in fig.data)
        assert len(lines) - 1 == points
