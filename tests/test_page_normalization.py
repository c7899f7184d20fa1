"""AppTest of app_pages/normalization/page.py: every panel, every main control, bad values,
links."""

from __future__ import annotations

import pkgutil

import pytest

from app_pages.normalization.settings import PANELS, SETTINGS
from tests.apptest_helpers import assert_clean, errors, open_page, texts, warnings

pytestmark = pytest.mark.slow  # the page under AppTest; the fast run keeps test_pages.py

PAGE = "app_pages/normalization/page.py"


def _switch(at, panel: str):
    at.session_state["nz_panel"] = PANELS[panel]
    at.run()
    assert_clean(at, panel)
    assert at.query_params["panel"] == panel
    return at


def _rejects_then_recovers(at, key: str, bad: float, word: str, good: float) -> None:
    """A bad value in number input ``key`` shows an st.error mentioning ``word``; a good one clears
    it."""
    at.number_input(key=key).set_value(bad).run()
    assert any(word in e for e in errors(at)), (key, bad, errors(at))
    at.number_input(key=key).set_value(good).run()
    assert not at.error


@pytest.fixture(scope="module")
def at():
    return open_page(PAGE)


def test_default_view_running_statistics(at):
    assert at.title[0].value == "Normalization"
    shown = " ".join(x.value for x in at.latex)  # the merge's three lines are one gathered equation
    assert (
        r"\mu \leftarrow" in shown
        and r"\sigma^2 \leftarrow" in shown
        and r"\operatorname{clip}" in shown
    )
    body = texts(at)
    assert "Gymnasium" in body and "Huang et al. 2022" in body and "Ioffe & Szegedy 2015" in body
    assert not at.error
    assert {"panel", "kind", "batch", "batches", "clip", "eps", "seed"} <= set(at.query_params)
    assert "running mean" in body


def test_running_panel_controls_and_play(at):
    _switch(at, "running")
    for kind in ("shifted", "scaled", "heavy-tailed", "drifting"):
        at.selectbox(key="nz_kind").set_value(kind).run()
        assert_clean(at, kind)
        assert at.query_params["kind"] == kind
    at.select_slider(key="stream_batch_size").set_value(64).run()
    at.slider(key="nz_batches").set_value(20).run()
    at.slider(key="nz_step").set_value(5).run()
    assert_clean(at, "step")
    assert any(m.label == "running mean" for m in at.metric)
    at.slider(key="nz_speed").set_value(100).run()
    at.button(key="nz_play").click().run()
    assert_clean(at, "play")
    assert at.query_params["batch"] == "64" and at.query_params["batches"] == "20"
    metric_labels = [m.label for m in at.metric]
    assert "running mean" in metric_labels and "clipped in batch" in metric_labels


@pytest.mark.parametrize("key, value, word",
                         [("nz_clip", -1.0, "clip"), ("nz_eps", 0.0, "epsilon")])
def test_running_panel_bad_values_show_error(key, value, word):
    page = open_page(PAGE)
    page.number_input(key=key).set_value(value).run()
    assert_clean(page, key)
    assert any(word in e for e in errors(page))
    # the rest of the page keeps working: other panels still render
    _switch(page, "rewards")
    assert not page.error


# issue 11: beside each equation, the backend function
# that computes it (names read from the objects)
EQUATION_FUNCTIONS = {
    "running": ["toolbox.running_stats.merge_moments", "toolbox.running_stats.prefix_moments",
                "toolbox.lessons.normalization.streams.running_trace"],
    "observations": ["toolbox.running_stats.ObsNormalizer.normalize",
                     "toolbox.lessons.normalization.observations.normalize_observation_stream"],
    "rewards": ["toolbox.reward_scaling.reward_scaling_scan",
                "toolbox.lessons.normalization.rewards.reward_scaling_trace"],
    "advantages": ["toolbox.running_stats.normalize_advantages",
                   "toolbox.lessons.normalization.advantages.minibatch_advantages"],
    "batchnorm": ["toolbox.lessons.normalization.messages.message_norm_demo"],
}


@pytest.mark.parametrize("panel", list(EQUATION_FUNCTIONS))
def test_every_equation_names_the_backend_function_that_computes_it(at, panel):
    _switch(at, panel)
    named = [str(c.value) for c in at.caption if str(c.value).startswith("computed by ")]
    assert 1 <= len(named) <= len(at.latex)
    shown = [n for caption in named for n in caption.removeprefix("computed by ").replace("`",
                                                                                          "").split(
                                                                                              ", ")]
    assert shown == EQUATION_FUNCTIONS[panel]
    for name in shown:
        f = pkgutil.resolve_name(name)
        assert callable(f) and f"{f.__module__}.{f.__qualname__}" == name


def test_observation_panel(at):
    _switch(at, "observations")
    at.slider(key="nz_obs_envs").set_value(4).run()
    at.slider(key="nz_obs_steps").set_value(50).run()
    at.number_input(key="nz_obs_seed").set_value(3).run()
    assert_clean(at, "observations")
    assert not at.error
    assert len(at.dataframe) == 1 and len(at.latex) >= 1
    assert "toolbox.envs.cartpole.BatchedCartPole" in texts(at)
    assert at.query_params["envs"] == "4" and at.query_params["steps"] == "50"
    _rejects_then_recovers(at, "nz_obs_clip", -3.0, "clip", 5.0)


def test_reward_panel(at):
    _switch(at, "rewards")
    for kind in ("sparse", "gaussian", "constant"):
        at.selectbox(key="nz_rew_kind").set_value(kind).run()
        assert_clean(at, kind)
        assert not at.error
    at.slider(key="nz_rew_len").set_value(20).run()
    at.number_input(key="nz_rew_gamma").set_value(0.9).run()
    assert at.query_params["gamma"] == "0.9"
    assert any(m.label == "effective horizon 1/(1−γ)" and m.value == "10" for m in at.metric)
    assert len(at.dataframe) == 1
    at.number_input(key="nz_rew_gamma").set_value(1.0).run()
    assert_clean(at, "gamma 1")
    assert any("gamma" in e for e in errors(at))
    assert len(at.dataframe) == 1, "the γ sweep below still renders"
    at.number_input(key="nz_rew_gamma").set_value(0.99).run()
    _rejects_then_recovers(at, "nz_rew_clip", -1.0, "clip", 10.0)


def test_advantage_panel(at):
    _switch(at, "advantages")
    assert not at.error
    at.number_input(key="nz_adv_mb").set_value(8).run()
    at.slider(key="nz_adv_idx").set_value(7).run()
    assert_clean(at, "minibatch 7")
    assert any(m.label == "minibatch size" and m.value == "64" for m in at.metric)
    assert at.query_params["minibatches"] == "8"
    at.number_input(key="nz_adv_mb").set_value(3).run()
    assert_clean(at, "3 minibatches")
    assert any("equal minibatches" in e for e in errors(at))
    at.number_input(key="nz_adv_mb").set_value(512).run()
    assert any("at least 2" in e for e in errors(at))
    at.number_input(key="nz_adv_mb").set_value(4).run()
    assert not at.error


def test_batchnorm_panel(at):
    _switch(at, "batchnorm")
    assert not at.error
    assert "toolbox.dial.cnet.CNet(n_agents=3).message_mlp" in texts(at)
    at.slider(key="nz_bn_step").set_value(150).run()
    assert_clean(at, "bn step")
    assert any(m.label == "d′ after LayerNorm" and m.value == "0" for m in at.metric)
    at.slider(key="nz_bn_bits").set_value(3).run()
    at.slider(key="nz_bn_batch").set_value(16).run()
    at.toggle(key="nz_bn_dru").set_value(False).run()
    at.number_input(key="nz_bn_sigma").set_value(1.0).run()
    assert_clean(at, "bn controls")
    assert not at.error
    assert at.query_params["dru"] == "off" and at.query_params["bits"] == "3"
    _rejects_then_recovers(at, "nz_bn_momentum", 0.0, "momentum", 0.1)


def test_link_opens_panel_with_settings():
    page = open_page(PAGE, query={"panel": "rewards", "gamma": "0.95", "reward": "gaussian"})
    assert page.number_input(key="nz_rew_gamma").value == pytest.approx(0.95)
    assert page.selectbox(key="nz_rew_kind").value == "gaussian"
    page = open_page(PAGE, query={"panel": "nonsense", "kind": "abc", "batch": "NaN"})
    assert_clean(page, "garbage link")
    assert len(page.warning) >= 2
    assert page.selectbox(key="nz_kind").value == "drifting"


def test_every_setting_default_is_allowed_and_mirrored_in_the_link(at):
    for panel, settings in SETTINGS.items():
        _switch(at, panel)
        for s in settings:
            assert s.valid(s.default), f"{s.key}: default {s.default!r} is outside its own bounds"
            assert at.query_params[s.url] == s.to_url(at.session_state[s.key]), s.url


def test_link_sets_toggle_and_rejects_out_of_range():
    page = open_page(PAGE, query={"panel": "batchnorm", "dru": "off", "bits": "9"})
    assert page.toggle(key="nz_bn_dru").value is False
    assert page.slider(key="nz_bn_bits").value == 1, "bits=9 is outside 1..4: the default is used"
    assert any("bits=9" in w for w in warnings(page))
    assert page.query_params["dru"] == "off" and page.query_params["bits"] == "1"


def test_text_on_advantage_centring_and_gymnasium_return(at):
    _switch(at, "advantages")
    body = texts(at)
    assert "only normalization tells" not in body
    assert "unbiased" in body and "baseline" in body
    _switch(at, "rewards")
    body = texts(at)
    assert "backward" in body and "resets on the terminal step" in body
