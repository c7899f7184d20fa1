"""The scenes' data: ids, questions, and every number an answer states, recomputed with the toolbox
function the page shows it with; every widget key a scene sets exists on its page (AppTest).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from tests.apptest_helpers import assert_clean, open_page
from toolbox import gumbel as G
from toolbox import influence as inf
from toolbox.dial.dru import message_distribution
from toolbox.lessons import normalization as N
from toolbox.lessons.catalogue import LESSONS
from toolbox.lessons.scenes import Question, Scene, check_scenes
from toolbox.lessons.scenes_index import SCENES, find_scene, lesson_scenes, neighbour, scene_ids
from toolbox.ppo import analysis
from toolbox.ppo.config import DEFAULT_BUDGET, DEFAULT_SEEDS, DEFAULT_VARIANTS

ROOT = Path(__file__).resolve().parent.parent
WIDGET_KINDS = ("slider", "select_slider", "selectbox", "radio", "toggle", "number_input", "multiselect",
                "text_input", "checkbox")


def widgets_by_key(at) -> dict:
    """Every keyed input widget the page drew, by key."""
    return {w.key: w for kind in WIDGET_KINDS for w in at.get(kind) if getattr(w, "key", None)}


def scene(slug: str, scene_id: str) -> Scene:
    return find_scene(slug, scene_id)


# ---- the data itself -------------------------------------------------------------------------


def test_every_lesson_has_at_least_three_scenes():
    assert set(SCENES) == {lesson.slug for lesson in LESSONS}
    for slug, scenes in SCENES.items():
        assert len(scenes) >= 3, slug
        for s in scenes:
            assert s.title and s.text and s.explanation and s.settings, (slug, s.id)
            assert s.question.answer in s.question.options
            assert s.question.options.index(s.question.answer) == s.question.correct


def test_questions_and_scenes_reject_bad_data():
    with pytest.raises(ValueError, match="not an option"):
        Question("?", ("a", "b"), 2)
    with pytest.raises(ValueError, match="two distinct"):
        Question("?", ("a", "a"), 0)
    q = Question("?", ("a", "b"), 1)
    with pytest.raises(ValueError, match="lower case"):
        Scene("Bad Id", "t", "x", q, "e")
    with pytest.raises(ValueError, match="hides the tab it opens"):
        Scene("s", "t", "x", q, "e", tab="a", hide_tabs=("a",))
    with pytest.raises(ValueError, match="repeat"):
        check_scenes((Scene("s", "t", "x", q, "e"), Scene("s", "t", "x", q, "e")))


def test_lookups_and_neighbours():
    ids = scene_ids("normalization")
    assert neighbour("normalization", None, 1) == ids[0]
    assert neighbour("normalization", ids[0], 1) == ids[1]
    assert neighbour("normalization", ids[0], -1) == ids[0]
    assert neighbour("normalization", ids[-1], 1) == ids[-1]
    with pytest.raises(ValueError, match="no scene 'nope'"):
        find_scene("normalization", "nope")
    with pytest.raises(ValueError, match="No scenes"):
        lesson_scenes("nope")


# ---- the numbers the answers state -----------------------------------------------------------


def test_normalization_running_lag():
    s = scene("normalization", "running-lag").settings
    stream = N.sample_stream(s["nz_kind"], s["nz_batches"], s["stream_batch_size"], s["nz_seed"], device="cpu")
    trace = N.running_trace(stream.x, clip=s["nz_clip"], epsilon=s["nz_eps"])
    assert float(stream.true_mean[-1]) == pytest.approx(10.0)
    assert f"{float(trace.mean[-1]):.2f}" == "5.02"
    assert float(stream.true_mean[-1] - trace.mean[-1]) > 4.9  # "lags by almost 5"
    assert f"{float(trace.var[-1]) ** 0.5:.2f}" == "3.11" and float(stream.true_std[-1]) == pytest.approx(1.0)
    newest = trace.normalized[-1]  # what the page's histogram shows for the last batch
    assert (f"{float(newest.mean()):.2f}", f"{float(newest.std()):.2f}") == ("1.77", "0.30")


def test_normalization_heavy_tail_outliers_reach_the_clip():
    s = scene("normalization", "heavy-tails-clip").settings
    stream = N.sample_stream(s["nz_kind"], s["nz_batches"], s["stream_batch_size"], s["nz_seed"], device="cpu")
    trace = N.running_trace(stream.x, clip=s["nz_clip"], epsilon=s["nz_eps"])
    assert f"{float(trace.max_abs_z.max()):.1f}" == "12.6"
    assert [k + 1 for k in (trace.max_abs_z > 10).nonzero().flatten().tolist()] == [25, 32]
    assert float(trace.clipped_fraction[24]) > 0 and float(trace.clipped_fraction[31]) > 0


def test_normalization_reward_scale():
    s = scene("normalization", "reward-scale").settings
    # the page's stream: 8 environments × 500 steps (ui/normalization.py, rewards panel)
    r, d = N.reward_stream(s["nz_rew_kind"], 8, 500, float(s["nz_rew_len"]), s["nz_rew_seed"], device="cpu")
    trace = N.reward_scaling_trace(r, d, s["nz_rew_gamma"], reward_clip=s["nz_rew_clip"])
    assert f"{float(trace.return_std[-1]):.1f}" == "20.9"
    assert f"{float(trace.scaled[-1].mean()):.3f}" == "0.048"
    assert torch.allclose(trace.scaled[-1], r[-1] / trace.return_std[-1], rtol=1e-3)


def _page_generator(seed: int, part: int) -> torch.Generator:
    return torch.Generator().manual_seed(G.stream_seed(seed, part))  # as pages/gumbel_softmax.py


def _gumbel_logits(s: dict) -> torch.Tensor:
    return G.distribution_logits(G.preset_values(s["gs_preset"], s["gs_K"], s["gs_mode"]), s["gs_mode"], device="cpu")


def test_gumbel_max_is_exact():
    s = scene("gumbel_softmax", "gumbel-max-exact").settings
    ex = G.gumbel_max_experiment(_gumbel_logits(s), s["gs_n"], _page_generator(s["gs_seed"], 1))
    assert ex.probs.tolist() == pytest.approx([0.4, 0.3, 0.2, 0.1])
    assert abs(float(ex.freqs[0]) - 0.4) < 0.005 and f"{float(ex.freqs[0]):.1%}" == "40.0%"
    assert ex.chi_square.p_value > 0.05  # "finds no difference from π"


def test_gumbel_temperature_curves():
    taus = G.log_grid(0.01, 100.0, 41, device="cpu").tolist()  # the page's SWEEP_TAUS, N_CURVE = 2000
    cold = scene("gumbel_softmax", "temperature-sharpness").settings
    hot = scene("gumbel_softmax", "temperature-hot").settings
    assert cold["gs_tau"] == 0.1 and hot["gs_tau"] == 10.0
    sweep = G.temperature_sweep(_gumbel_logits(cold), taus, 2000, _page_generator(0, 3))
    at = {round(t, 6): k for k, t in enumerate(sweep.taus.tolist())}
    assert f"{float(sweep.mean_max[at[0.1]]):.2f}" == "0.95"
    assert f"{float(sweep.mean_max[at[1.0]]):.2f}" == "0.61"
    assert f"{float(sweep.mean_max[at[10.0]]):.2f}" == "0.29"
    rx = G.relaxed_experiment(_gumbel_logits(hot), hot["gs_tau"], 2000, _page_generator(0, 2))  # N_RELAXED
    assert f"{float(rx.mean_sample[0]):.2f}" == "0.26"


def _preset_rewards(name: str):
    p = inf.influence_preset(name, 1)
    return p, inf.influence_rewards(p.pi_i, p.pi_j_given_ai, device="cpu")[:, 0]


def test_influence_presets():
    p, r = _preset_rewards(scene("social_influence", "j-ignores-i").settings["inf_preset"])
    assert r.tolist() == [0.0, 0.0, 0.0]
    assert float(inf.mutual_information(p.pi_i, p.pi_j_given_ai, device="cpu").sum()) == pytest.approx(0.0, abs=1e-12)
    s = scene("social_influence", "j-copies-i").settings
    p, r = _preset_rewards(s["inf_preset"])
    assert p.pi_i.tolist() == pytest.approx([0.5, 0.3, 0.2])
    assert int(r.argmax()) == s["a_i"] == 2
    assert f"{float(r[0]):.3f}" == "0.693" and f"{float(r[2]):.3f}" == "1.609"
    assert r.tolist() == pytest.approx([-math.log(x) for x in p.pi_i])
    assert f"{float(inf.expected_influence(p.pi_i, p.pi_j_given_ai, device='cpu')):.3f}" == "1.030"


def _sweep(game: str) -> dict:
    store = inf.load_precomputed(str(ROOT / "results" / "influence_learning.json"))
    sw = inf.beta_sweep(store, game)
    return {b: (r, e) for b, r, e in zip(sw.betas, sw.returns, sw.effects)}


def test_influence_beta_scenes_match_the_precomputed_grid():
    defaults = inf.InfluenceTrainConfig()
    for sid, beta, r0, rb, effect in (("stag-hunt-helps", 0.5, "2.999", "3.835", "helps"),
                                      ("distortion-large-beta", 5.0, "1.997", "1.549", "distorts")):
        s = scene("social_influence", sid).settings
        assert (s["learn_seeds"], s["learn_updates"]) == (defaults.n_seeds, defaults.iterations) == (8, 600)
        assert s["learn_beta"] == beta
        sw = _sweep(s["learn_game"])
        assert f"{sw[0.0][0]:.3f}" == r0 and f"{sw[beta][0]:.3f}" == rb and sw[beta][1] == effect
    stag = _sweep("stag hunt")
    assert all(e == "helps" for b, (_, e) in stag.items() if b > 0)  # "every β on the grid helps"
    assert max(stag, key=lambda b: stag[b][0]) == 0.5
    coord = _sweep("pure coordination")
    assert [b for b, (_, e) in coord.items() if e == "distorts"] == [0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0]


def _flip(sigma: float, m: float) -> float:
    m_values = (-4.0, -1.0, 0.5, 1.0, 4.0)  # the page's figure (pages/dial.py), 20,000 samples, seed 0
    d = message_distribution(list(m_values), sigma, n_samples=20_000, generator=torch.Generator().manual_seed(0))
    return float(d["p_flip"][m_values.index(m)])


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def test_dial_flip_probabilities():
    assert scene("dial", "dru-noise").settings["dru_sigma"] == 2.0
    assert f"{_phi(-0.5):.3f}" == "0.309" and abs(_flip(2.0, 1.0) - _phi(-0.5)) < 0.01
    assert scene("dial", "dru-large-message").settings["dru_sigma"] == 2.0
    assert f"{_phi(-2.0):.3f}" == "0.023" and abs(_flip(2.0, 4.0) - _phi(-2.0)) < 0.005
    assert scene("dial", "dru-no-noise").settings["dru_sigma"] == 0.0
    assert all(_flip(0.0, m) == 0.0 for m in (-4.0, -1.0, 0.5, 1.0, 4.0))


def test_ppo_scenes_match_the_precomputed_runs():
    from toolbox.ppo import precomputed

    payload = precomputed.load()
    aggs = {name: analysis.aggregate(s, payload["grid"]) for name, s in payload["runs"].items()}
    diff = {r["variant"]: r for r in analysis.compare_to_baseline(payload["runs"])}
    for s in lesson_scenes("ppo_details"):  # the default view: precomputed, no training
        assert s.settings == {"ppo_variants": list(DEFAULT_VARIANTS), "ppo_seeds": DEFAULT_SEEDS,
                              "ppo_budget": DEFAULT_BUDGET}
    assert payload["budget"] == 500_000 and len(payload["seeds"]) == 10
    last = {n: f"{a['last20_mean']:.1f}" for n, a in aggs.items()}
    ci = {n: f"{a['last20_ci']:.1f}" for n, a in aggs.items()}
    options = scene("ppo_details", "which-details-matter").question.options
    assert min(options, key=lambda n: aggs[n]["last20_mean"]) == "no minibatches"
    assert min(aggs, key=lambda n: aggs[n]["last20_mean"]) == "no minibatches"
    assert (last["no minibatches"], last["all on"], last["no GAE (MC returns)"], last["no LR annealing"]) == \
        ("379.2", "492.7", "483.7", "485.0")
    assert aggs["no minibatches"]["reached_475"] == 4
    assert diff["no GAE (MC returns)"]["verdict"] == diff["no LR annealing"]["verdict"] == "not separated"
    clip = diff["no clipped surrogate"]
    assert (last["no clipped surrogate"], ci["no clipped surrogate"], ci["all on"]) == ("492.7", "10.6", "6.9")
    assert (f"{clip['difference']:+.1f}", f"{clip['half_width']:.1f}", clip["verdict"]) == ("+0.0", "11.9", "not separated")
    grad = diff["no grad clipping"]
    assert (last["no grad clipping"], ci["no grad clipping"]) == ("442.1", "85.5")
    assert (f"{grad['difference']:.1f}", f"{grad['half_width']:.1f}") == ("-50.5", "85.8")
    assert grad["difference"] - grad["half_width"] < 0 < grad["difference"] + grad["half_width"]


# ---- every key a scene sets is a widget of its page, and takes the scene's value ------------


SCENE_BAR_PAGES = ("normalization", "gumbel_softmax", "social_influence", "ppo_details")
"""Pages that draw the scene bar; pages/dial.py gets it later (its scenes are set directly here)."""


def _check_widgets(at, s: Scene, where: str) -> None:
    assert_clean(at, where)
    found = widgets_by_key(at)
    for key, value in s.settings.items():
        assert key in found, f"scene {s.id}: no widget with key {key!r} on {where}"
        shown = found[key].value
        assert (list(shown) if isinstance(value, list) else shown) == value, (s.id, key, shown)


@pytest.mark.parametrize("slug, scene_id", [(slug, s.id) for slug in SCENE_BAR_PAGES for s in SCENES[slug]])
def test_scene_link_sets_widgets_of_the_page(slug, scene_id):
    at = open_page(f"pages/{slug}.py", query={"scene": scene_id})
    _check_widgets(at, find_scene(slug, scene_id), f"pages/{slug}.py?scene={scene_id}")
    assert at.query_params["scene"] == scene_id


def test_dial_scene_keys_are_widgets_of_the_page():
    at = open_page("pages/dial.py")
    for s in lesson_scenes("dial"):
        for key, value in s.settings.items():
            at.session_state[key] = value
        at.run()
        _check_widgets(at, s, f"pages/dial.py ({s.id})")
