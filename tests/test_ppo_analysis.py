"""Learning-curve statistics against brute-force references (loops, scipy)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from toolbox.ppo import analysis
from toolbox.ppo.details import CHECKLIST, DETAILS
from toolbox.ppo.train import TrainResult
from toolbox.ppo.config import PPOConfig, VARIANT_IDS
from toolbox.figures.ppo import learning_curves


def _brute_running(steps, rets, grid, window=20):
    out = []
    for g in grid:
        ended = [r for s, r in zip(steps, rets) if s <= g]
        out.append(np.mean(ended[-window:]) if ended else np.nan)
    return np.array(out)


def test_running_return_matches_brute_force():
    rng = np.random.default_rng(0)
    steps = np.sort(rng.choice(10_000, 300, replace=False))
    rets = rng.uniform(0, 500, 300)
    grid = analysis.step_grid(10_000, 37)
    np.testing.assert_allclose(analysis.running_return(steps, rets, grid), _brute_running(steps, rets, grid))
    assert math.isnan(analysis.running_return(steps, rets, [0])[0]) or steps[0] == 0


def test_steps_to_threshold_brute_force():
    rets = np.r_[np.full(30, 100.0), np.full(25, 500.0)]
    steps = np.arange(1, 56) * 10
    # the 20-episode mean first reaches 475 when at most one of the last 20 is 100: episode index 48
    expected = next(steps[i] for i in range(19, 55) if rets[i - 19 : i + 1].mean() >= 475)
    assert analysis.steps_to_threshold(steps, rets) == expected
    assert math.isnan(analysis.steps_to_threshold(steps[:30], rets[:30]))


def test_mean_ci_is_student_t():
    x = np.array([[1.0, 2.0], [3.0, 5.0], [2.0, 8.0]])
    m, h = analysis.mean_ci(x, axis=0)
    for j in range(2):
        lo, hi = stats.t.interval(0.95, 2, loc=x[:, j].mean(), scale=stats.sem(x[:, j]))
        assert abs(m[j] - x[:, j].mean()) < 1e-12 and abs(h[j] - (hi - lo) / 2) < 1e-9


def _fake(seed, level):
    steps = np.arange(1, 101) * 100
    rets = np.full(100, float(level))
    its = np.arange(1, 21) * 512
    dbg = {k: np.linspace(0, 1, 20) for k in analysis.DEBUG_SHOWN}
    return TrainResult(PPOConfig(), seed, steps, rets, its, dbg)


def test_summaries_aggregate_and_csv():
    grid = analysis.step_grid(10_000, 10)
    runs = analysis.summarize([_fake(1, 100), _fake(2, 300), _fake(1, 480), _fake(2, 500)], ["a", "b"], [1, 2], grid)
    agg_a, agg_b = analysis.aggregate(runs["a"], grid), analysis.aggregate(runs["b"], grid)
    assert agg_a["last20_mean"] == 200 and agg_b["reached_475"] == 2 and agg_a["reached_475"] == 0
    assert abs(agg_a["last20_ci"] - stats.t.ppf(0.975, 1) * np.std([100, 300], ddof=1) / np.sqrt(2)) < 1e-9
    assert abs(agg_b["auc_mean"] - 490) < 1e-9
    # debug variables are read at the last iteration completed by each grid step (10,000 -> iteration 19 of 20)
    assert abs(agg_a["debug"]["approx_kl"] - 18 / 19) < 1e-6
    csv = analysis.curves_csv(runs, grid)
    assert csv.splitlines()[0] == "variant,seed,step,return_last20" and len(csv.splitlines()) == 1 + 4 * 10
    fig = learning_curves({"a": agg_a, "b": agg_b})
    assert len(fig.data) == 6 and fig.layout.xaxis.title.text


def test_detail_catalogue_complete():
    assert len([d for d in DETAILS if d.number.startswith("core")]) == 13
    assert len(DETAILS) + len(CHECKLIST) >= 37
    for d in DETAILS:
        assert d.variant is None or d.variant in VARIANT_IDS
        assert d.field == "—" or hasattr(PPOConfig(), d.field)
