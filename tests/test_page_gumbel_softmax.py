"""AppTest of the Gumbel-Softmax page: every part renders, every main control reruns cleanly,
bad inputs show an error beside the input while the rest of the page keeps working, and the
view round-trips through the URL."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from tests.apptest_helpers import assert_clean, open_page, texts

PAGE = "pages/gumbel_softmax.py"
TABS = {
    "sampling": "① Gumbel-max sampling", "temperature": "② Temperature", "reparameterization": "③ Reparameterization",
    "estimators": "④ Gradient estimators", "rl": "⑤ In RL · references",
}


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def arr(v) -> np.ndarray:
    """A figure array from the JSON spec: a list, or plotly's base64 typed array."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).reshape(v.get("shape", -1))
    return np.asarray(v, dtype=float)


def chart_titles(at) -> list[str]:
    return [c["layout"]["title"]["text"] for c in charts(at)]


def errors(at) -> str:
    return "\n".join(e.value for e in at.error)


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
    samples = next(c for c in charts(at) if "Gumbel-Softmax samples" in c["layout"]["title"]["text"])
    assert arr(samples["data"][0]["y"]).reshape(5, -1).max(1).min() > 0.99  # nearly one-hot at small τ

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
    # straight-through adds the one-hot as a constant: one more Add, and the gradient path stays soft
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
    assert len(grad["data"]) == 4 and "τ = 3.16" in grad["layout"]["title"]["text"]

    # controls in closed tabs keep their values when the tab reopens
    open_tab(at, "reparameterization")
    assert at.toggle(key="gs_hard").value is True and at.number_input(key="gs_mu").value == 2.0
    open_tab(at, "sampling")
    assert at.slider(key="gs_n").value == 100_000

    # the view is mirrored into the URL
    q = {k: (v[0] if isinstance(v, list) else v) for k, v in dict(at.query_params).items()}
    assert (q["K"], q["preset"], q["tau"], q["N"], q["tab"]) == ("3", "uniform", "3.16", "100000", "sampling")


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
    assert message in errors(at)
    assert len(at.get("plotly_chart")) == before  # every figure still drawn (with the preset)
    at.text_input(key="gs_values").set_value("0.4, 0.3, 0.2, 0.1").run()
    assert len(at.error) == 0


def test_other_bad_inputs(page):
    at = open_tab(page, "estimators")
    at.radio(key="gs_mode").set_value("logits").run()
    at.text_input(key="gs_values").set_value("0, inf, 1, 2").run()
    assert_clean(at, "inf logit")
    assert "NaN or infinity" in errors(at)
    at.text_input(key="gs_values").set_value("0, 1, 2, 3").run()
    assert len(at.error) == 0
    at.text_input(key="gs_f").set_value("1, 2").run()
    assert_clean(at, "short f")
    assert "one number per category" in errors(at)
    assert len(at.get("plotly_chart")) == 2  # the estimators still run, with f(k) = k
    at.text_input(key="gs_f").set_value("1, nan, 2, 3").run()
    assert "finite" in errors(at)
    at.text_input(key="gs_f").set_value("0, 1, 2, 3").run()
    open_tab(at, "reparameterization")
    at.number_input(key="gs_sigma").set_value(0.0).run()
    assert_clean(at, "sigma 0")
    assert "σ must be greater than 0" in errors(at)
    assert len(at.get("plotly_chart")) == 1 and len(at.get("graphviz_chart")) == 1
    at.number_input(key="gs_sigma").set_value(1.0).run()
    at.radio(key="gs_mode").set_value("probabilities").run()
    assert len(at.error) == 0


def test_url_sets_the_view_and_malformed_links_still_open():
    at = open_page(PAGE, query={"K": "3", "tau": "0.1", "N": "5000", "preset": "uniform", "seed": "3",
                                "tab": "temperature"})
    assert at.slider(key="gs_K").value == 3
    assert at.select_slider(key="gs_tau").value == pytest.approx(0.1)
    assert at.text_input(key="gs_values").value == "0.3333, 0.3333, 0.3333"
    assert any("Sharpness" in t for t in chart_titles(at))  # the linked tab is the open one
    open_tab(at, "sampling")
    assert at.slider(key="gs_n").value == 5000
    shared = open_page(PAGE, query={"K": "2", "values": "0.9, 0.1"})
    assert shared.text_input(key="gs_values").value == "0.9, 0.1"
    assert len(shared.error) == 0
    bad = open_page(PAGE, query={"K": "99", "tau": "zzz", "N": "-5", "mode": "odds", "values": "1, nan",
                                 "tab": "nowhere"})
    assert len(bad.warning) >= 5
    assert bad.slider(key="gs_K").value == 4 and bad.select_slider(key="gs_tau").value == 1.0
    assert "K = 4" in errors(bad)  # the two typed values do not match the default K
    assert len(bad.get("plotly_chart")) == 1


def test_leaving_and_returning_keeps_the_page_working():
    at = open_tab(open_page(PAGE), "estimators")
    at.text_input(key="gs_f").set_value("3, 1, 0, 2").run()
    at.switch_page("pages/home.py")
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert_clean(at, "return to the page")
    assert len(at.error) == 0
    assert len(at.text_input(key="gs_values").value.split(",")) == at.slider(key="gs_K").value
