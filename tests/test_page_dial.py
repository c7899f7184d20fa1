"""AppTest of the DIAL page: every main control, bad settings shown as st.error, a live training."""

from __future__ import annotations

import pytest

from tests.apptest_helpers import assert_clean, errors, open_page, texts
from toolbox.dial.cnet import CNet
from toolbox.dial.config import DialConfig
from toolbox.dial.dru import dru, message_distribution
from toolbox.dial.evaluate import batchnorm_comparison
from toolbox.dial.protocol import decode_protocol, replay_episode
from toolbox.dial.rollout import rollout_loss
from toolbox.dial.train import train
from toolbox.lessons.dial.precomputed import load_results
from toolbox.serving import RUNNER

pytestmark = pytest.mark.slow  # the page under AppTest; the fast run keeps test_pages.py

PAGE = "app_pages/dial/page.py"


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE, timeout=120)


def test_opens_with_all_five_parts(at):
    assert len(at.header) == 5
    assert not at.error
    assert len(at.latex) >= 5
    assert "Foerster" in texts(at)


def test_cnet_mode_switches_graph_and_shapes(at):
    at.radio(key="cnet_mode").set_value("concat").run()
    assert_clean(at, "concat")
    assert at.query_params["mode"] == ["concat"] or at.query_params["mode"] == "concat"
    assert "| input_layer: Linear |" in texts(at)
    at.radio(key="cnet_mode").set_value("sum").run()
    assert "| agent_embed($a$) |" in texts(at)
    assert "| previous action $u_{t-1}$ |" in texts(at), "stage names are written as maths"


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
    assert words in " ".join(errors(at)), errors(at)
    assert len(at.header) == 5, "the rest of the page still renders"
    at.number_input(key=key).set_value(old).run()
    assert not at.error


def test_no_method_is_an_error(at):
    at.multiselect(key="curve_methods").set_value([]).run()
    assert "at least one method" in " ".join(errors(at))
    at.multiselect(key="curve_methods").set_value(["dial", "rial", "nocomm"]).run()


def test_replay_controls(at):
    at.number_input(key="replay_episode").set_value(3).run()
    assert_clean(at, "replay 3")
    at.slider(key="replay_day").set_value(1).run()
    assert "Day 1" in texts(at)
    at.number_input(key="replay_episode").set_value(-1).run()
    assert "Episode numbers start at 0" in " ".join(errors(at))
    at.number_input(key="replay_episode").set_value(0).run()


def test_message_run_selector(at):
    box = at.selectbox(key="message_run")
    for option in box.options[:2]:
        at.selectbox(key="message_run").set_value(option).run()
        assert_clean(at, option)


@pytest.mark.slow
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
    assert "trained live (n = 3)" in texts(
        at), "the live team is tested with both kinds of BatchNorm statistics"
    # the live replay is computed once for the class (cached per job and episode): it must still be
    # the replay of the episode asked for, played by this session's live team
    at.number_input(key="replay_episode").set_value(2).run()
    assert_clean(at, "live replay 2")
    run = RUNNER.get(at.session_state["dial_job"]).result["dial"][0]
    days = replay_episode(run.policy, DialConfig(**run.config), seed=2)
    shown = at.dataframe[-1].value
    assert list(shown["day"]) == [d["day"] for d in days[:len(shown)]]
    assert list(shown["message m"]) == pytest.approx([d["m"] for d in days[:len(shown)]])


def test_precomputed_comparisons_show_both_variants(at):
    import json

    by_title = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        by_title[spec["layout"].get("title",
                                    {}).get("text")] = [d.get("name") or "" for d in spec["data"]]
    sums = by_title["Embedding-sum vs raw concatenation (n = 3, precomputed)"]
    assert any(n.startswith("DIAL, sum") for n in sums) and any(
        n.startswith("DIAL, concat") for n in sums)
    sigmas = by_title["What σ does to learning (test at execution, n = 3, precomputed)"]
    assert any(n.startswith("DIAL, σ = 2") for n in sigmas) and any(
        n.startswith("DIAL, σ = 0") for n in sigmas)


def test_each_equation_names_the_function_that_computes_it(at):
    captions = [str(c.value) for c in at.caption if str(c.value).startswith("computed by")]
    assert len(captions) == len(at.latex)
    for f in (CNet.embed, CNet.forward, dru, message_distribution, rollout_loss,
              batchnorm_comparison, decode_protocol, train):
        name = f"{f.__module__}.{f.__qualname__}"
        assert any(name in c for c in captions), name
    assert "toolbox.dial.rollout.rollout_loss" in " ".join(captions)


def test_text_says_where_the_head_and_the_code_come_from(at):
    t = texts(at)
    assert "Linear → BatchNorm → ReLU → Linear is the head of the Colab notebook" in t
    assert "(iassael/learning-to-communicate) are Linear → ReLU → Linear" in t
    assert "minqi/learning-to-communicate-pytorch, is an unofficial port" in t
    assert "**not** decentralised execution" in t


def test_batchnorm_shown_both_ways_for_the_precomputed_teams(at):
    stored = load_results()["batchnorm"]
    assert sorted(stored) == [3, 4]
    batch = [m.value for m in at.metric if m.label == "batch statistics"]
    running = [m.value for m in at.metric if m.label == "running averages (eval mode)"]
    assert batch == [f"{stored[n]['batch']:.3f}" for n in (3, 4)]
    assert running == [f"{stored[n]['running']:.3f}" for n in (3, 4)]


def test_bad_link_values_give_messages_and_the_page_keeps_working():
    """Issue 13: ``/dial?n=9007199254740992`` stopped the page; link values are shown back as plain
    text."""
    mode = "`**x** [link](https://example.com)` ![i](https://example.com/i.png)" + "y" * 100_000
    at = open_page(PAGE, timeout=120, query={"n": "9007199254740992", "mode": mode,
                                             "sigma": "1e39"})
    msgs = errors(at)
    assert len(msgs) == 3, msgs
    n_msg, = [m for m in msgs if "n = " in m]
    assert "9007199254740992, outside the range this page accepts (2 to 10)" in n_msg
    mode_msg, = [m for m in msgs if "mode = " in m]
    assert "`**x** [link](https://example.com)`" in mode_msg, "shown as typed"
    raw_markdown = " ".join(e.value for e in at.error)
    # escaped, and a word joiner inside :// so that no autolink forms (ui.text.plain)
    escaped = r"\*\*x\*\* \[link\]\(https\:" "\u2060" r"\/\/example\.com\)"
    assert escaped in raw_markdown and "**x**" not in raw_markdown
    assert len(mode_msg) < 300, "a 100 kB value is cut"
    sigma_msg, = [m for m in msgs if "sigma = " in m]
    assert "1e39, outside the range" in sigma_msg
    assert len(at.header) == 5, "the rest of the page renders"
    assert at.number_input(key="curve_n").value == 3
    assert at.radio(key="cnet_mode").value == "sum"
    assert at.slider(key="dru_sigma").value == 2.0


def test_cnet_graph_is_condensed_by_default_and_full_on_request():
    at = open_page(PAGE, timeout=120)
    condensed = at.get("graphviz_chart")[0].proto.spec
    assert "agent_embed\\nEmbedding" in condensed and condensed.count("[label") <= 25
    at.radio(key="cnet_graph_view").set_value("full autograd graph").run()
    assert_clean(at, "full graph")
    assert at.get("graphviz_chart")[0].proto.spec.count("[label") > 75


def test_every_stored_figure_offers_its_data_as_csv():
    at = open_page(PAGE, timeout=120)
    csv_keys = {b.key for b in at.get("download_button") if b.key and b.key.endswith("_csv")}
    # the precomputed comparisons, the DRU, the protocol and the replay/messages figures
    for key in ("fig_dru_csv", "fig_p_on_csv", "fig_p_tell_csv", "fig_on_marg_csv",
                "fig_tell_marg_csv"):
        assert key in csv_keys, (key, sorted(csv_keys))
