"""The continuous-control PPO lesson's data: variants, curves, the comparison, live requests,
scenes.

Every number is recomputed independently (NumPy for curves and scores, SciPy's Welch test and
Holm's definition for the comparison) from the stored grid the page shows.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats as sps

from toolbox.lessons.ppo_continuous import data as C
from toolbox.lessons.ppo_continuous import scenes as S
from toolbox.ppo.continuous.args import CONTINUOUS_DETAILS, CORE_TOGGLES, PENDULUM
from toolbox.ppo.continuous.compiled import CompiledPPO
from toolbox.ppo.continuous.tensor import STRUCTURE, TensorPPO
from toolbox.ppo.continuous.train import group_by_structure, train_variants


def test_every_toggle_is_a_detail_and_a_variant_flips_exactly_it():
    assert tuple(C.DETAILS)[:9] == CONTINUOUS_DETAILS and set(CORE_TOGGLES) <= set(C.DETAILS)
    base = C.variant_args(None).to_dict()
    assert base == PENDULUM.to_dict()
    for f in C.DETAILS:
        changed = {k for k, v in C.variant_args(f).to_dict().items() if base[k] != v}
        assert changed == {f}, f
        assert C.detail_of(C.label(f).split(" (")[0]) == f
    assert C.detail_of("all on") is None
    with pytest.raises(ValueError, match="unknown detail"):
        C.variant_args("bogus")
    with pytest.raises(ValueError, match="unknown variant"):
        C.detail_of("bogus off")


def test_a_missing_or_broken_grid_is_a_sentence(tmp_path):
    with pytest.raises(ValueError, match="missing: run benchmarks/ppo_continuous_precompute.py"):
        C.load_grid(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="is not a continuous-PPO grid"):
        C.load_grid(bad)
    bad.write_text(json.dumps({"runs": {"norm_obs off": []}, "budget": 1, "seeds": [0]}))
    with pytest.raises(ValueError, match="no “all on” runs"):
        C.load_grid(bad)


def test_curves_and_scores_equal_a_direct_computation():
    """Stored runs: the mean and 95% interval over seeds of their round curves and final scores.
    Live runs (episodes): a round's point is the mean of its 16 episodes, the score the last 32."""
    grid = C.load_grid()
    budget = grid["budget"]
    aggs = C.aggregates(grid["runs"], budget)
    rounds = list(range(C.ROUND, budget + 1, C.ROUND))
    for name, records in grid["runs"].items():
        curves = np.array([r["curve"] for r in records])
        assert all(r["curve_steps"] == rounds for r in records)
        np.testing.assert_allclose(aggs[name]["mean"], curves.mean(axis=0), rtol=1e-12)
        scores = [r["final_score"] for r in records]
        assert aggs[name]["scores"] == pytest.approx(scores, rel=1e-12)
        half = sps.t.ppf(0.975, len(scores) - 1) * np.std(scores, ddof=1) / math.sqrt(len(scores))
        assert aggs[name]["score_ci"] == pytest.approx(half, rel=1e-9)
    # a live run of 2 rounds + a half: 16 episodes end at every 200th step of each environment
    rng = np.random.default_rng(0)
    steps = sorted(s for k in range(1, 3) for s in [k * C.ROUND] * 16)
    returns = rng.normal(-1000, 100, len(steps)).tolist()
    live = C.summarize_run({"seed": 0, "episode_steps": steps, "episode_returns": returns,
                            "steps_trained": 2 * C.ROUND + C.ROUND // 2}, C.curve_grid(4 * C.ROUND))
    np.testing.assert_allclose(live["curve"][:2], [np.mean(returns[:16]), np.mean(returns[16:])])
    assert np.isnan(live["curve"][2:]).all() and live["score"] == pytest.approx(np.mean(returns))


def test_the_comparison_is_welch_with_holms_correction():
    grid = C.load_grid()
    aggs = C.aggregates(grid["runs"], grid["budget"])
    rows = C.comparison(aggs)
    base = aggs[C.BASELINE]["scores"]
    assert [r["variant"] for r in rows] == [n for n in aggs if n != C.BASELINE]
    p = []
    for r in rows:
        a = aggs[r["variant"]]["scores"]
        ref = sps.ttest_ind(a, base, equal_var=False)
        assert r["difference"] == pytest.approx(np.mean(a) - np.mean(base), rel=1e-12, abs=1e-9)
        # ν rounded down: a p-value at least SciPy's (fractional ν), equal with ν whole
        want = 2 * sps.t.sf(abs(ref.statistic), math.floor(ref.df))
        assert r["p_value"] == pytest.approx(want, rel=1e-6, abs=1e-12)
        p.append(r["p_value"])
    order, m = np.argsort(p), len(p)
    holm = np.maximum.accumulate([min(1.0, (m - k) * p[i]) for k, i in enumerate(order)])
    for k, i in enumerate(order):
        assert rows[i]["p_adjusted"] == pytest.approx(holm[k], rel=1e-12)
        assert (rows[i]["verdict"] != "not separated") == (holm[k] <= 0.05)
    text = C.finding(aggs, rows, grid["budget"])
    assert f"After {grid['budget']:,} steps" in text
    for name in C.separated(rows):
        assert name in text


def test_a_live_request_is_checked_and_named_by_its_settings():
    names, variants, seeds, key = C.live_request("norm_obs", 3)
    assert names == ["all on", C.label("norm_obs")] and seeds == [0, 1, 2]
    assert variants[1].norm_obs is False and variants[0].norm_obs is True
    assert key == C.live_request("norm_obs", 3)[3] != C.live_request("norm_obs", 2)[3]
    assert C.live_work(variants, seeds) == 2 * 3 * PENDULUM.total_timesteps
    with pytest.raises(ValueError, match="steps per run"):
        C.live_request("norm_obs", 1, 12_345)
    for bad in (0, C.MAX_LIVE_SEEDS + 1, 2.5, True):
        with pytest.raises(ValueError, match="1 to"):
            C.live_request("norm_obs", bad)
    with pytest.raises(ValueError, match="unknown detail"):
        C.live_request("bogus", 1)


@pytest.mark.slow
def test_train_variants_equals_the_batched_runner_and_reports_progress():
    """Two iterations (2,048 steps): variants of one structure train as one runner (on the CPU
    the compiled CompiledPPO), others as another (a different γ here); the records equal the
    runner's own, progress reaches 1; ``backend="tensor"`` trains on TensorPPO."""
    small = [C.variant_args(d, budget=2048) for d in (None, "norm_obs")]
    small.append(small[0].replace(gamma=0.95))
    assert "gamma" in STRUCTURE and group_by_structure(small) == [[0, 1], [2]]
    seen = []
    out = train_variants(small, [0, 1], report=lambda f, runs: seen.append((f, runs)))
    assert [round(f, 3) for f, _ in seen] == [0.25, 0.5, 0.75, 1.0]
    assert len({id(runs) for _, runs in seen}) == len(seen)  # a new list each time
    direct = CompiledPPO(small[:2], [0, 1])
    direct.run_iterations(2)
    for v in range(2):
        for j in range(2):
            assert out[v][j]["episode_returns"] == direct.episode_returns[v * 2 + j]
            assert out[v][j]["steps_trained"] == 2048
    tensor = TensorPPO(small[:1], [0])
    tensor.run_iteration(), tensor.run_iteration()
    on_tensor = train_variants(small[:1], [0], backend="tensor")
    assert on_tensor[0][0]["episode_returns"] == tensor.episode_returns[0]
    live = C.live_aggregates(["a", "b", "c"], out, 2048)
    assert set(live) == {"a", "b", "c"} and live["a"]["runs"] == 2


def test_scene_answers_come_from_the_stored_grid():
    grid = C.load_grid()
    aggs = C.aggregates(grid["runs"], grid["budget"])
    rows = {r["variant"]: r for r in C.comparison(aggs)}
    answers = {s.id: s.explanation(s.settings) for s in S.PPO_CONTINUOUS_SCENES}
    obs = answers["observation-normalization"]
    assert obs.numbers["difference"] == rows[C.label("norm_obs")]["difference"]
    assert f"{obs.numbers['off']:.0f}" in obs.text
    if all(C.label(f) in rows for f in S.COSTLIEST_OPTIONS):
        worst = min(S.COSTLIEST_OPTIONS, key=lambda f: rows[C.label(f)]["difference"])
        assert S.costliest(rows) == worst
        assert C.DETAILS[worst].name.lower() in answers["costliest-detail"].text
    count = answers["how-many-separate"].numbers["separated"]
    assert count == sum(r["verdict"] != "not separated" for r in rows.values())
    assert S.count_option(count) in range(len(S.COUNT_OPTIONS))


def test_each_scenes_right_option_is_what_the_stored_grid_says():
    grid = C.load_grid()
    aggs = C.aggregates(grid["runs"], grid["budget"])
    rows = {r["variant"]: r for r in C.comparison(aggs)}
    scenes = {s.id: s for s in S.PPO_CONTINUOUS_SCENES}
    obs = rows[C.label("norm_obs")]
    want = 1 if obs["verdict"] == "not separated" else 0 if obs["difference"] < 0 else 2
    assert scenes["observation-normalization"].question.correct == want
    assert scenes["costliest-detail"].question.correct == S.COSTLIEST_OPTIONS.index(
        S.costliest(rows))
    n = sum(r["verdict"] != "not separated" for r in rows.values())
    assert scenes["how-many-separate"].question.correct == S.count_option(n)


def test_the_stored_grid_has_the_seeds_the_texts_name():
    """The page's and the scenes' texts say ``GRID_SEEDS`` seeds: the stored file must have that
    many for every variant, and say which runner trained it."""
    grid = C.load_grid()
    assert len(grid["seeds"]) == C.GRID_SEEDS
    assert all(len(runs) == C.GRID_SEEDS for runs in grid["runs"].values())
    assert grid["meta"]["backend"] in ("compiled", "tensor")
