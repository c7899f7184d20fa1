"""AppTest of the Gumbel-Softmax page: every part renders, every main control reruns cleanly,
bad inputs show an error beside the input while the rest of the page keeps working, and the
view round-trips through the URL."""

from __future__ import annotations

import base64
import importlib
import json

import numpy as np
import pytest
import torch

from tests.apptest_helpers import assert_clean, errors, open_page, texts
from toolbox import gumbel as G
from toolbox.lessons import gumbel as gumbel_lesson

pytestmark = pytest.mark.slow  # the page under AppTest; the fast run keeps test_pages.py

PAGE = "app_pages/gumbel_softmax/page.py"
TABS = {
    "sampling": "① Gumbel-max sampling", "temperature": "② Temperature",
    "reparameterization": "③ Reparameterization", "estimators": "④ Gradient estimators",
    "rl": "⑤ In RL · references",
}


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def arr(v) -> np.ndarray:
    """A figure array from the JSON spec: a list, or plotly's base64 typed array."""
    if isinstance(v, dict) and "bdata" in v:
        shape = v.get("shape", -1)
        if isinstance(shape, str):  # "4, 4" for a 2-d array
            shape = tuple(int(n) for n in shape.split(","))
        return np.frombuffer(base64.b64decode(v["bdata"]),
                             dtype=np.dtype(v["dtype"])).reshape(shape)
    return np.asarray(v, dtype=float)


def chart_titles(at) -> list[str]:
    return [c["layout"]["title"]["text"] for c in charts(at)]


def error_text(at) -> str:
    return "\n".join(errors(at))


def open_tab(at, name: str):
    """Select a (lazy) tab the way a click does, and rerun."""
    at.session_state["gs_tab"] = TABS[name]
    at.run()
    assert_clean(at, f"tab {name}")
    return at


@pytest.fixture(scope="module")
def page():
    return open_page(PAGE)


def test_all_five_parts_render(page):
    at = page
    assert [t.label for t in at.tabs] == list(TABS.values())
    assert len(at.error) == 0
    expected = {
        "sampling": ["Gumbel-max samples"],
        "temperature": ["Gumbel-Softmax samples", "E[y]", "Sharpness vs temperature"],
        "reparameterization": ["∂y/∂θ"],
        "estimators": ["∇θ J", "Gradient estimators across τ"],
        "rl": [],
    }
    for name, needles in expected.items():
        open_tab(at, name)
        assert len(at.error) == 0
        titles = chart_titles(at)
        assert len(titles) == len(needles), (name, titles)  # lazy: only the open tab draws
        for needle in needles:
            assert any(needle in t for t in titles), (needle, titles)
        assert dict(at.query_params).get("tab") in (name, [name])
        if name == "sampling":
            assert 0.0 <= float(at.metric[1].value) <= 1.0 and len(at.latex) >= 6
        if name == "reparameterization":
            assert len(at.get("graphviz_chart")) == 1  # torchviz graph of a reparameterized sample
            assert "SoftmaxBackward" in at.get("graphviz_chart")[0].proto.spec
            assert "| ε | z | ∂z/∂μ | ∂z/∂σ |" in texts(at)
        if name == "rl":
            body = texts(at) + " ".join(s.value for s in at.subheader)
            for ref in ("Gumbel (1954)", "Jang", "Maddison", "When do I use this in RL"):
                assert ref in body
    open_tab(at, "sampling")


def test_frequencies_match_target_on_the_chart(page):
    spec = charts(open_tab(page, "sampling"))[0]
    target, empirical = arr(spec["data"][0]["y"]), arr(spec["data"][1]["y"])
    assert abs(target.sum() - 1) < 1e-6 and abs(empirical.sum() - 1) < 1e-6
    assert np.abs(target - empirical).max() < 0.03  # 10,000 samples by default


def test_main_controls_rerun_and_update_the_view():
    at = open_page(PAGE)
    at.slider(key="gs_n").set_value(100_000).run()
    assert_clean(at, "N slider")
    assert "100,000 samples" in json.dumps(charts(at)[0]["data"][1]["name"])

    open_tab(at, "temperature")
    at.select_slider(key="gs_tau").set_value(0.01).run()
    assert_clean(at, "tau slider")
    curve = next(c for c in charts(at) if "Sharpness" in c["layout"]["title"]["text"])
    assert curve["layout"]["shapes"][0]["x0"] == pytest.approx(0.01)
    samples = next(c for c in charts(at) if "Gumbel-Softmax samples" in c["layout"]["title"][
        "text"])
    # nearly one-hot at small τ
    assert arr(samples["data"][0]["y"]).reshape(5, -1).max(1).min() > 0.99

    at.slider(key="gs_K").set_value(3).run()
    assert_clean(at, "K slider")
    assert len(at.text_input(key="gs_values").value.split(",")) == 3
    assert any(trace["type"] == "scatterternary" for c in charts(at) for trace in c["data"])

    at.selectbox(key="gs_preset").set_value("uniform").run()
    assert_clean(at, "preset")
    assert at.text_input(key="gs_values").value == "0.3333, 0.3333, 0.3333"

    at.radio(key="gs_mode").set_value("logits").run()
    assert_clean(at, "mode")
    assert at.text_input(key="gs_values").value.startswith("-1.099")

    open_tab(at, "reparameterization")
    at.number_input(key="gs_seed").set_value(7).run()
    at.toggle(key="gs_hard").set_value(True).run()
    assert_clean(at, "seed and straight-through toggle")
    assert "straight-through" in " ".join(chart_titles(at))
    # straight-through adds the one-hot as a constant:
    # one more Add, and the gradient path stays soft
    assert at.get("graphviz_chart")[0].proto.spec.count("AddBackward0") == 2
    at.radio(key="gs_graph").set_value("gaussian").run()
    assert "MulBackward" in at.get("graphviz_chart")[0].proto.spec
    at.number_input(key="gs_mu").set_value(2.0).run()
    at.number_input(key="gs_sigma").set_value(0.5).run()
    assert "| -" in texts(at) or "| 0." in texts(at) or "| 1." in texts(at)

    open_tab(at, "estimators")
    assert len(at.text_input(key="gs_f").value.split(",")) == 3
    at.text_input(key="gs_f").set_value("1, 0, 5").run()
    at.radio(key="gs_downstream").set_value("square").run()
    at.select_slider(key="gs_n_est").set_value(500).run()
    at.select_slider(key="gs_tau").set_value(3.16).run()
    assert_clean(at, "estimator controls")
    assert len(at.error) == 0
    grad = next(c for c in charts(at) if "∇θ J" in c["layout"]["title"]["text"])
    assert len(grad["data"]) == 1 + len(G.ESTIMATORS) and "τ = 3.16" in grad["layout"]["title"][
        "text"]

    # controls in closed tabs keep their values when the tab reopens
    open_tab(at, "reparameterization")
    assert at.toggle(key="gs_hard").value is True and at.number_input(key="gs_mu").value == 2.0
    open_tab(at, "sampling")
    assert at.slider(key="gs_n").value == 100_000

    # the view is mirrored into the URL
    q = {k: (v[0] if isinstance(v, list) else v) for k, v in dict(at.query_params).items()}
    assert (q["K"], q["preset"], q["tau"], q["N"], q["tab"]) == ("3", "uniform", "3.16", "100000",
                                                                 "sampling")


@pytest.mark.parametrize("text,message", [
    ("0.5, 0.6, 0.1, 0.1", "sum to 1"),
    ("0.5, nan, 0.3, 0.2", "NaN"),
    ("0.5, -0.1, 0.4, 0.2", "negative"),
    ("0.5, 0.5", "K = 4"),
    ("0.5, abc, 0.3, 0.2", "not a number"),
])
def test_bad_probabilities_show_an_error_and_the_page_keeps_working(page, text, message):
    at = open_tab(page, "temperature")
    before = len(at.get("plotly_chart"))
    at.text_input(key="gs_values").set_value(text).run()
    assert_clean(at, f"values {text!r}")
    assert message in error_text(at)
    assert len(at.get("plotly_chart")) == before  # every figure still drawn (with the preset)
    at.text_input(key="gs_values").set_value("0.4, 0.3, 0.2, 0.1").run()
    assert len(at.error) == 0


def test_other_bad_inputs(page):
    at = open_tab(page, "estimators")
    at.radio(key="gs_mode").set_value("logits").run()
    at.text_input(key="gs_values").set_value("0, inf, 1, 2").run()
    assert_clean(at, "inf logit")
    assert "NaN or infinity" in error_text(at)
    at.text_input(key="gs_values").set_value("0, 1, 2, 3").run()
    assert len(at.error) == 0
    at.text_input(key="gs_f").set_value("1, 2").run()
    assert_clean(at, "short f")
    assert "one number per category" in error_text(at)
    assert len(at.get("plotly_chart")) == 2  # the estimators still run, with f(k) = k
    at.text_input(key="gs_f").set_value("1, nan, 2, 3").run()
    assert "finite" in error_text(at)
    at.text_input(key="gs_f").set_value("0, 1, 2, 3").run()
    open_tab(at, "reparameterization")
    at.number_input(key="gs_sigma").set_value(0.0).run()
    assert_clean(at, "sigma 0")
    assert "σ must be greater than 0" in error_text(at)
    assert len(at.get("plotly_chart")) == 1 and len(at.get("graphviz_chart")) == 1
    at.number_input(key="gs_sigma").set_value(1.0).run()
    at.radio(key="gs_mode").set_value("probabilities").run()
    assert len(at.error) == 0


def test_url_sets_the_view_and_malformed_links_still_open():
    at = open_page(PAGE, query={"K": "3", "tau": "0.1", "N": "5000", "preset": "uniform",
                                "seed": "3", "tab": "temperature"})
    assert at.slider(key="gs_K").value == 3
    assert at.select_slider(key="gs_tau").value == pytest.approx(0.1)
    assert at.text_input(key="gs_values").value == "0.3333, 0.3333, 0.3333"
    assert any("Sharpness" in t for t in chart_titles(at))  # the linked tab is the open one
    open_tab(at, "sampling")
    assert at.slider(key="gs_n").value == 5000
    shared = open_page(PAGE, query={"K": "2", "values": "0.9, 0.1"})
    assert shared.text_input(key="gs_values").value == "0.9, 0.1"
    assert len(shared.error) == 0
    bad = open_page(PAGE, query={"K": "99", "tau": "zzz", "N": "-5", "mode": "odds",
                                 "values": "1, nan", "tab": "nowhere"})
    assert len(bad.warning) >= 5
    assert bad.slider(key="gs_K").value == 4 and bad.select_slider(key="gs_tau").value == 1.0
    assert "K = 4" in error_text(bad)  # the two typed values do not match the default K
    assert len(bad.get("plotly_chart")) == 1


def test_leaving_and_returning_keeps_the_page_working():
    at = open_tab(open_page(PAGE), "estimators")
    at.text_input(key="gs_f").set_value("3, 1, 0, 2").run()
    at.switch_page("app_pages/home.py")
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert_clean(at, "return to the page")
    assert len(at.error) == 0
    assert len(at.text_input(key="gs_values").value.split(",")) == at.slider(key="gs_K").value


# ---- issue 14: every claim true; issue 11: the code behind each equation; issue 13: bad input ----


def captions(at) -> list[str]:
    return [str(c.value) for c in at.caption]


@pytest.mark.parametrize("tab", ["sampling", "temperature", "reparameterization", "estimators"])
def test_every_equation_names_the_function_that_computes_it(page, tab):
    at = open_tab(page, tab)
    named = [c for c in captions(at) if c.startswith("computed by ")]
    graphs = len(at.get("graphviz_chart"))  # the graph's caption names its builder too
    assert len(named) == len(at.latex) + graphs and len(named) > 0
    for caption in named:
        for name in caption.removeprefix("computed by ").replace("`", "").split(", "):
            module, _, attr = name.rpartition(".")
            fn = getattr(importlib.import_module(module), attr)
            assert callable(fn) and gumbel_lesson.qualified_name(fn) == name
    open_tab(at, "sampling")


def test_rl_uses_are_stated_correctly(page):
    at = open_tab(page, "rl")
    body = texts(at)
    # DIAL uses the DRU (no Gumbel noise); SAC-Discrete takes the expectation exactly
    assert "DIAL (Foerster et al. 2016) solves the same problem *without* Gumbel noise" in body
    assert "logistic(m + noise) during training and 1{m > 0} at execution" in body
    assert "SAC-discrete style relaxations" not in body and "e.g. DIAL" not in body
    assert "takes the expectation over actions exactly" in body
    assert (
        "straight-through estimator of Bengio et al. (sample + π − sg(π)), not Gumbel-Softmax"
        in body
    )
    open_tab(at, "sampling")


def test_estimators_are_named_correctly_and_the_baseline_numbers_are_shown(page):
    at = open_tab(page, "estimators")
    body = texts(at)
    assert "**Straight-through Gumbel-Softmax** (Jang et al. 2017, §2.2)" in body
    assert "**Straight-through** as Bengio et al. (2013) define it" in body
    assert "one_hot(z) − sg(π) + π" in body and "zero bias, zero variance" in body
    # default preset: the exact spread of REINFORCE falls from 1.30 to 0.76 with b = J
    assert "from **1.30** to **0.76**" in body
    # the table: one row per estimator, with the numbers compare_estimators gives on this seed
    cmp = G.compare_estimators(G.distribution_logits(G.preset_values("decreasing", 4),
                                                     device="cpu"),
                               G.default_f(4), 1.0, 1000,
                               torch.Generator().manual_seed(G.stream_seed(0, 6)))
    from toolbox.figures.gumbel import ESTIMATOR_LABELS
    for name, row in cmp.rows.items():
        assert (
            f"| {ESTIMATOR_LABELS[name]} | {row.bias:.4f} | {row.mc_error:.4f} | {row.std:.4f} |"
            in body
        )
    assert cmp.rows["straight_through"].std == 0.0 and cmp.rows["straight_through"].bias < 1e-6
    # run it yourself: a download button with the script, written by the toolbox
    # not the figures' CSVs
    buttons = [b for b in at.get("download_button") if not b.key.endswith("_csv")]
    assert len(buttons) == 1 and "Run it yourself" in buttons[0].proto.label
    assert any(gumbel_lesson.qualified_name(gumbel_lesson.estimator_script) in c for c in captions(
        at))
    open_tab(at, "sampling")


@pytest.mark.parametrize("tau,seed,grows,max_below", [
    (0.01, 6, False, 1e-30),   # the view: every entry about 1e-33, once drawn as all zeros
    (0.01, 5, False, 1e-300),  # so far from a tie that every entry is exactly 0 in float32
    (10.0, 0, True, 1.0),      # near a tie (gap < τ): a smaller τ gives larger entries
])
def test_jacobian_is_readable_at_every_scale_and_honestly_captioned(tau, seed, grows, max_below):
    at = open_tab(open_page(PAGE, query={"tau": str(tau), "seed": str(seed)}), "reparameterization")
    jac = G.relaxed_sample_jacobian(G.distribution_logits(G.preset_values("decreasing", 4),
                                                          device="cpu"), tau,
                                    generator=torch.Generator().manual_seed(G.stream_seed(seed, 5)))
    assert jac.grows_as_tau_shrinks is grows and jac.max_abs < max_below
    spec = next(c for c in charts(at) if "∂y/∂θ" in c["layout"]["title"]["text"])
    title = spec["layout"]["title"]["text"]
    if jac.max_abs > 0:
        assert f"max |entry| = {jac.max_abs:.2g}" in title
        # colours relative to the largest
        assert np.abs(arr(spec["data"][0]["z"])).max() == pytest.approx(1.0)
    else:
        assert "every entry is exactly 0" in title
    caption = next(c for c in captions(at) if "Smaller τ, larger gradients" in c)
    assert "holds only near ties" in caption and f"differ by {jac.top_gap:.3g}" in caption
    assert ("a smaller τ makes these entries larger" in caption) is grows
    assert ("a smaller τ makes these entries *smaller*" in caption) is not grows


def test_graph_follows_the_radio_and_the_toggle_with_a_fresh_chart():
    at = open_tab(open_page(PAGE), "reparameterization")
    seen = {}
    for which in ("gumbel_softmax", "gaussian"):
        for hard in (False, True):
            at.radio(key="gs_graph").set_value(which)
            at.toggle(key="gs_hard").set_value(hard).run()
            assert_clean(at, f"graph {which} {hard}")
            chart = at.get("graphviz_chart")
            assert len(chart) == 1
            seen[(which, hard)] = (chart[0].proto.element_id, chart[0].proto.spec)
    # a distinct browser element for every view, so the browser draws the new graph from scratch
    assert len({element_id for element_id, _ in seen.values()}) == 4
    assert seen[("gumbel_softmax", True)][1].count("AddBackward0") == 2
    assert "SoftmaxBackward" not in seen[("gaussian", False)][1]


@pytest.mark.parametrize("widget,message", [("gs_mu", "μ must lie between"),
                                            ("gs_sigma", "σ must be at most")])
def test_huge_gaussian_parameters_give_a_message_and_the_page_keeps_working(widget, message):
    at = open_tab(open_page(PAGE), "reparameterization")
    at.number_input(key=widget).set_value(1e39).run()
    assert_clean(at, f"{widget} = 1e39")
    assert any(message in e for e in errors(at)), errors(at)
    assert len(errors(at)) == 1
    # the rest still works
    assert len(at.get("plotly_chart")) == 1 and len(at.get("graphviz_chart")) == 1
    at.number_input(key=widget).set_value(1.0).run()
    assert errors(at) == []
