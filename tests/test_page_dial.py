"""AppTest of the DIAL page: every main control, bad settings shown as st.error, a live training."""

from __future__ import annotations

import pytest

from tests.apptest_helpers import assert_clean, open_page, texts

PAGE = "pages/dial.py"


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE, timeout=120)


def errors(at) -> str:
    return " ".join(e.value for e in at.error)


def test_opens_with_all_five_parts(at):
    assert len(at.header) == 5
    assert not at.error
    assert len(at.latex) >= 5
    assert "Foerster" in texts(at)


def test_cnet_mode_switches_graph_and_shapes(at):
    at.radio(key="cnet_mode").set_value("concat").run()
    assert_clean(at, "concat")
    assert at.query_params["mode"] == ["concat"] or at.query_params["mode"] == "concat"
    assert any("input_layer" in str(t.value) for t in at.table)
    at.radio(key="cnet_mode").set_value("sum").run()
    assert any("agent_embed" in str(t.value) for t in at.table)


def test_dru_slider_changes_flip_probability(at):
    at.slider(key="dru_sigma").set_value(0.0).run()
    zero = at.metric[0].value
    at.slider(key="dru_sigma").set_value(4.0).run()
    assert_clean(at, "sigma 4")
    assert zero == "0.0%" and at.metric[0].value != zero


@pytest.mark.parametrize("key,value,words", [
    ("curve_n", 1, "at least 2 agents"),
    ("curve_sigma", -1.0, "sigma"),
    ("curve_batches", 10**7, "cap"),
    ("curve_seeds", 0, "seeds"),
])
def test_bad_settings_show_an_error_and_page_keeps_working(at, key, value, words):
    old = at.number_input(key=key).value
    at.number_input(key=key).set_value(value).run()
    assert_clean(at, f"{key}={value}")
    assert words in errors(at), errors(at)
    assert len(at.header) == 5, "the rest of the page still renders"
    at.number_input(key=key).set_value(old).run()
    assert not at.error


def test_no_method_is_an_error(at):
    at.multiselect(key="curve_methods").set_value([]).run()
    assert "at least one method" in errors(at)
    at.multiselect(key="curve_methods").set_value(["dial", "rial", "nocomm"]).run()


def test_replay_controls(at):
    at.number_input(key="replay_episode").set_value(3).run()
    assert_clean(at, "replay 3")
    at.slider(key="replay_day").set_value(1).run()
    assert "Day 1" in texts(at)
    at.number_input(key="replay_episode").set_value(-1).run()
    assert "Episode numbers start at 0" in errors(at)
    at.number_input(key="replay_episode").set_value(0).run()


def test_message_run_selector(at):
    box = at.selectbox(key="message_run")
    for option in box.options[:2]:
        at.selectbox(key="message_run").set_value(option).run()
        assert_clean(at, option)


def test_train_now_streams_and_decodes_live_team():
    at = open_page(PAGE, timeout=180)
    at.multiselect(key="curve_methods").set_value(["dial"]).run()
    at.number_input(key="curve_batches").set_value(20).run()
    at.number_input(key="curve_seeds").set_value(1).run()
    at.button(key="train_now").click().run()
    assert_clean(at, "train now")
    assert not at.error, errors(at)
    assert "trained live" in texts(at)
    assert "trained live" in at.selectbox(key="message_run").options


def test_precomputed_comparisons_show_both_variants(at):
    import json

    by_title = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        by_title[spec["layout"].get("title", {}).get("text")] = [d.get("name") or "" for d in spec["data"]]
    sums = by_title["Embedding-sum vs raw concatenation (n = 3, precomputed)"]
    assert any(n.startswith("DIAL, sum") for n in sums) and any(n.startswith("DIAL, concat") for n in sums)
    sigmas = by_title["What σ does to learning (test at execution, n = 3, precomputed)"]
    assert any(n.startswith("DIAL, σ = 2") for n in sigmas) and any(n.startswith("DIAL, σ = 0") for n in sigmas)
