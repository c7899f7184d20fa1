"""Every scene answer of the Normalization, Gumbel-Softmax, Social-influence and DIAL lessons is
computed at display time (``Scene.answer``); here each one is compared with independent code:
numpy moments and Monte Carlo, closed forms, scipy's chi-square, the stored JSON read directly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from toolbox import gumbel as G
from toolbox import influence as inf
from toolbox.dial.dru import flip_probability
from toolbox.figures.scenes import evidence_figure
from toolbox.figures.style import COLORS
from toolbox.lessons import influence as influence_lesson
from toolbox.lessons import normalization as N
from toolbox.lessons import shared as SK
from toolbox.lessons.scenes import Answer, Scene
from toolbox.lessons.scenes_index import SCENES, find_scene

ROOT = Path(__file__).resolve().parent.parent
ANSWERED = ("normalization", "gumbel_softmax", "social_influence", "dial", "ppo_details")
"""Lessons whose answers are computed at display time (every lesson's; PPO's are checked against
the stored JSON in tests/test_scenes.py)."""


def scene(slug: str, scene_id: str) -> Scene:
    return find_scene(slug, scene_id)


# ---- the numbers the answers state: computed at
# display time, compared here with independent code ----


def _numbers_in_text(answer, **formats) -> None:
    """Each named number of ``answer`` appears in its text with the given format."""
    for name, fmt in formats.items():
        assert format(answer.numbers[name], fmt) in answer.text, (name, answer.text)


def _stream(v: dict) -> np.ndarray:
    stream = N.sample_stream(
        v[SK.NZ_KIND], v[SK.NZ_BATCHES], v[SK.NZ_BATCH], v[SK.NZ_SEED], device="cpu"
    )
    return stream.x.numpy()


def _running_z(x: np.ndarray, eps: float) -> list[np.ndarray]:
    """Each batch normalized with the moments of every sample up to and including it (plain numpy).

    Gymnasium's statistic also holds a 1e-4 pseudo-count (μ = 0, σ² = 1): against 1,600 samples it
    moves the moments by ~1e-7 relative, far below the 2-3 digits an answer states.
    """
    return [(x[t] - x[: t + 1].mean()) / np.sqrt(x[: t + 1].var() + eps) for t in range(len(x))]


def test_normalization_running_lag():
    s = scene("normalization", "running-lag")
    v = s.widget_values()
    a = s.answer()
    x = _stream(v)
    assert (
        v[SK.NZ_STEP] == v[SK.NZ_BATCHES] == len(x)
    )  # the page shows the batch the answer speaks of
    assert a.numbers["mean"] == pytest.approx(x.mean(), rel=1e-5)
    assert a.numbers["std"] == pytest.approx(x.std(), rel=1e-5)
    z = _running_z(x, v[SK.NZ_EPS])[-1]
    assert (a.numbers["z_mean"], a.numbers["z_std"]) == pytest.approx(
        (z.mean(), z.std(ddof=1)), rel=1e-4
    )
    assert (
        a.numbers["truth"] == 10.0 and 4.5 < a.numbers["truth"] - a.numbers["mean"] < 5.5
    )  # "about 5"
    _numbers_in_text(a, mean=".2f", std=".2f", z_mean=".2f", z_std=".2f")


def test_normalization_heavy_tail_outliers_reach_the_clip():
    s = scene("normalization", "heavy-tails-clip")
    v = s.widget_values()
    a = s.answer()
    z = np.stack(_running_z(_stream(v), v[SK.NZ_EPS]))
    worst = np.abs(z).max(1)
    k = int(worst.argmax()) + 1
    assert v[SK.NZ_STEP] == a.numbers["batch"] == k  # the page shows the batch with the largest |z|
    assert (
        a.numbers["max_z"] == pytest.approx(worst.max(), rel=1e-4) and worst.max() > v[SK.NZ_CLIP]
    )
    assert a.numbers["n_over"] == int((worst > v[SK.NZ_CLIP]).sum()) >= 1
    assert (
        a.numbers["clipped"] == pytest.approx((np.abs(z[k - 1]) > v[SK.NZ_CLIP]).mean())
        and a.numbers["clipped"] > 0
    )
    assert s.question.answer.startswith("Yes")
    assert "first updates the running statistics" in s.text and "before" not in s.text
    _numbers_in_text(a, max_z=".3g", clipped=".1%")
    assert f"batch **{k}**" in a.text


def test_normalization_reward_scale():
    s = scene("normalization", "reward-scale")
    v = s.widget_values()
    a = s.answer()
    r, d = N.reward_stream(
        v[SK.NZ_REW_KIND],
        SK.NZ_REWARD_ENVS,
        SK.NZ_REWARD_STEPS,
        float(v[SK.NZ_REW_LEN]),
        v[SK.NZ_REW_SEED],
        device="cpu",
    )
    r, d = r.numpy(), d.numpy().astype(float)
    acc = np.zeros(r.shape[1])
    returns = []
    for t in range(len(r)):  # NormalizeReward's backward-looking return, same-step autoreset
        G = v[SK.NZ_REW_GAMMA] * (1 - d[t]) * acc + r[t]  # the terminal step cuts the bootstrap…
        returns.append(G)
        acc = G * (1 - d[t])  # …and the environment's next step starts a fresh return
    std = np.stack(returns).std()
    assert a.numbers["std"] == pytest.approx(std, rel=1e-3)
    assert a.numbers["scaled"] == pytest.approx(1 / std, rel=1e-3)
    assert (
        0.03 < a.numbers["scaled"] < 0.07 and 15 < a.numbers["std"] < 25
    )  # the right option's "0.05", "21"
    _numbers_in_text(a, std=".3g", scaled=".2g")


def _probs(v: dict) -> np.ndarray:
    return np.asarray(G.preset_values(v[SK.GS_PRESET], v[SK.GS_K], v[SK.GS_MODE]), dtype=float)


def _relaxed_numpy(p: np.ndarray, tau: float, n: int = 40_000) -> np.ndarray:
    """n relaxed samples softmax((log p + g)/τ) from numpy's own generator: an independent Monte
    Carlo."""
    g = -np.log(-np.log(np.random.default_rng(1).uniform(size=(n, len(p)))))
    y = (np.log(p) + g) / tau
    y = np.exp(y - y.max(1, keepdims=True))
    return y / y.sum(1, keepdims=True)


def test_gumbel_max_is_exact():
    s = scene("gumbel_softmax", "gumbel-max-exact")
    v = s.widget_values()
    a = s.answer()
    p = _probs(v)
    assert p.tolist() == pytest.approx([0.4, 0.3, 0.2, 0.1]) and a.numbers["pi"] == pytest.approx(
        0.4
    )
    se = (0.4 * 0.6 / v[SK.GS_N]) ** 0.5  # a correct sampler lands within 4 standard errors
    assert abs(a.numbers["freq"] - 0.4) < 4 * se
    counts = np.round(np.asarray(a.data["freqs"], dtype=float) * v[SK.GS_N])
    expected = p / p.sum() * counts.sum()
    assert a.numbers["p_value"] == pytest.approx(stats.chisquare(counts, expected).pvalue, rel=1e-3)
    _numbers_in_text(a, freq=".1%", p_value=".2f")


@pytest.mark.parametrize("scene_id", ["temperature-sharpness", "temperature-hot"])
def test_temperature_scenes_show_the_simplex(scene_id):
    v = scene("gumbel_softmax", scene_id).widget_values()
    assert v[SK.GS_K] == 3  # the page draws the triangle only for K = 3


def test_gumbel_cold_temperature():
    s = scene("gumbel_softmax", "temperature-sharpness")
    v = s.widget_values()
    a = s.answer()
    y = _relaxed_numpy(_probs(v), v[SK.GS_TAU])
    # 2,000 samples per τ on the page: the mean of a
    # coordinate in [0, 1] is within ±0.02 of the truth
    assert (
        a.numbers["max_cold"] == pytest.approx(y.max(1).mean(), abs=0.02)
        and a.numbers["max_cold"] > 0.9
    )
    assert a.numbers["max_one"] == pytest.approx(
        _relaxed_numpy(_probs(v), 1.0).max(1).mean(), abs=0.02
    )
    _numbers_in_text(a, max_cold=".2f", max_one=".2f")


def test_gumbel_hot_temperature():
    s = scene("gumbel_softmax", "temperature-hot")
    v = s.widget_values()
    a = s.answer()
    y = _relaxed_numpy(_probs(v), v[SK.GS_TAU])
    assert a.numbers["mean_first"] == pytest.approx(y[:, 0].mean(), abs=0.01)
    assert (
        abs(a.numbers["mean_first"] - 1 / 3) < 0.05 < abs(a.numbers["mean_first"] - a.numbers["pi"])
    )
    assert a.numbers["max_hot"] == pytest.approx(y.max(1).mean(), abs=0.01)
    _numbers_in_text(a, mean_first=".2f", max_hot=".2f")


def test_influence_presets():
    s = scene("social_influence", "j-ignores-i")
    a = s.answer()
    assert a.numbers == {"reward": 0.0, "largest": 0.0, "mi": pytest.approx(0.0, abs=1e-12)}
    s = scene("social_influence", "j-copies-i")
    a = s.answer()
    p = influence_lesson.influence_preset(s.settings[SK.INF_PRESET], 1)
    pi = np.asarray(p.pi_i, dtype=float)
    assert pi.tolist() == pytest.approx([0.5, 0.3, 0.2])
    # j copies i: the KL is −log πⁱ(aⁱ), its average the entropy of πⁱ (closed forms)
    assert a.numbers["best"] == int(np.argmax(-np.log(pi))) == 2
    assert s.question.answer.startswith(f"a{a.numbers['best']}")
    assert (a.numbers["r_first"], a.numbers["r_best"]) == pytest.approx(
        (-math.log(0.5), -math.log(0.2))
    )
    assert a.numbers["expected"] == pytest.approx(-(pi * np.log(pi)).sum())
    assert (
        s.settings[SK.INF_AI] != a.numbers["best"]
    )  # the chosen action does not give the answer away
    _numbers_in_text(a, r_first=".3f", r_best=".3f", expected=".3f")


def _final_mean(game: str, beta: float) -> float:
    """i's final extrinsic return, mean over seeds, read from the stored JSON directly."""
    runs = json.loads((ROOT / "results" / "influence_learning.json").read_text())["runs"]
    key = next(
        k
        for k in runs
        if f"game={game}," in k and f",beta={beta}," in k and ",n_seeds=8,iterations=600," in k
    )
    return float(np.mean([seed[-1] for seed in runs[key]["extrinsic_i"]]))


@pytest.mark.parametrize(
    "scene_id, effect", [("stag-hunt-helps", "helps"), ("distortion-large-beta", "distorts")]
)
def test_influence_beta_scenes_match_the_stored_runs(scene_id, effect):
    s = scene("social_influence", scene_id)
    v = s.widget_values()
    defaults = inf.InfluenceTrainConfig()
    assert (
        (v[SK.LEARN_SEEDS], v[SK.LEARN_UPDATES])
        == (defaults.n_seeds, defaults.iterations)
        == (8, 600)
    )
    a = s.answer()
    on, off = _final_mean(v[SK.LEARN_GAME], v[SK.LEARN_BETA]), _final_mean(v[SK.LEARN_GAME], 0.0)
    assert (a.numbers["with_bonus"], a.numbers["without"]) == pytest.approx((on, off), abs=1e-9)
    assert a.numbers["effect"] == effect and (on > off if effect == "helps" else on < off)
    assert s.question.answer == {"helps": "higher", "distorts": "lower"}[effect]
    _numbers_in_text(a, with_bonus=".3f", without=".3f")


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _sampled_flip(m: float, sigma: float, n: int = 200_000) -> float:
    noise = np.random.default_rng(2).standard_normal(n)
    return float(((m + sigma * noise > 0) != (m > 0)).mean())


@pytest.mark.parametrize("scene_id", ["dru-noise", "dru-large-message"])
def test_dial_flip_probabilities(scene_id):
    s = scene("dial", scene_id)
    v = s.widget_values()
    a = s.answer()
    m, sigma = v[SK.DRU_M], v[SK.DRU_SIGMA]
    assert a.numbers["exact"] == pytest.approx(_phi(-abs(m) / sigma), rel=1e-9)
    # 20,000 draws on the page: the sampled frequency is within 4 standard errors of the exact value
    se = (a.numbers["exact"] * (1 - a.numbers["exact"]) / SK.DRU_SAMPLES) ** 0.5
    assert abs(a.numbers["sampled"] - a.numbers["exact"]) < 4 * se
    assert abs(_sampled_flip(m, sigma) - a.numbers["exact"]) < 0.005
    _numbers_in_text(a, exact=".3f", sampled=".1%")
    assert "sampled" in a.text and "exactly" in a.text


def test_dial_without_noise_nothing_flips():
    s = scene("dial", "dru-no-noise")
    assert s.widget_values()[SK.DRU_SIGMA] == 0.0 and s.answer().numbers["largest"] == 0.0
    assert all(_sampled_flip(m, 0.0) == 0.0 for m in SK.DRU_M_VALUES)


def test_flip_probability_matches_the_normal_tail_and_rejects_bad_sigma():
    got = flip_probability([-4.0, -1.0, 0.0, 0.5, 4.0], 2.0).tolist()
    assert got == pytest.approx([_phi(-2.0), _phi(-0.5), 0.5, _phi(-0.25), _phi(-2.0)], rel=1e-9)
    assert flip_probability([0.0, 1.0], 0.0).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="σ must be ≥ 0"):
        flip_probability([1.0], -1.0)


@pytest.mark.parametrize(
    "slug, scene_id", [(slug, s.id) for slug in ANSWERED for s in SCENES[slug]]
)
def test_every_answer_is_computed_and_has_its_evidence(slug, scene_id):
    s = scene(slug, scene_id)
    assert callable(s.explanation)  # computed at display time, not a literal
    fig = evidence_figure(s.answer())
    assert fig is not None and fig.layout.title.text and len(fig.data) >= 1


def test_evidence_marks_what_the_answer_names():
    a = scene("normalization", "heavy-tails-clip").answer()
    bars = evidence_figure(a).data[0]
    colors = list(bars.marker.color)
    assert (
        colors.count(COLORS["current"]) == 1
        and colors.index(COLORS["current"]) + 1 == a.numbers["batch"]
    )
    a = scene("dial", "dru-large-message").answer()
    marked = evidence_figure(a).data[-1]
    assert marked.x == (4.0,) and marked.y[0] == pytest.approx(a.numbers["exact"], rel=1e-6)
    assert f"sampled {a.numbers['sampled']:.1%}" in marked.text[0]
    with pytest.raises(ValueError, match="No evidence figure"):
        evidence_figure(Answer("x", "nope"))
