"""The continuous grid's statistics against independent computations (SciPy; Holm's step-down
procedure run directly)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from toolbox.ppo.continuous.analysis import compare, final_score, holm, sentence, welch


@pytest.mark.parametrize("seed", range(5))
def test_welch_equals_scipy_with_whole_degrees_of_freedom(seed):
    """SciPy's Welch t and ν; p and the 95% half-width with ν rounded down, as documented (and
    never below SciPy's exact-ν p: rounding down is conservative). Relative 1e-9 covers the
    closed-form t distribution against SciPy's incomplete beta."""
    rs = np.random.default_rng(seed)
    a, b = rs.normal(-300, 150, 10), rs.normal(-600, 300, 12)
    got = welch(a, b)
    res = stats.ttest_ind(a, b, equal_var=False)
    va, vb = a.var(ddof=1) / 10, b.var(ddof=1) / 12
    nu = (va + vb) ** 2 / (va**2 / 9 + vb**2 / 11)
    assert got["t"] == pytest.approx(res.statistic, rel=1e-12)
    assert got["df"] == math.floor(nu)
    p_floor = 2 * stats.t.sf(abs(res.statistic), math.floor(nu))
    assert got["p_value"] == pytest.approx(p_floor, rel=1e-9, abs=1e-15)
    assert got["p_value"] >= res.pvalue
    half = stats.t.ppf(0.975, math.floor(nu)) * math.sqrt(va + vb)
    assert got["half_width"] == pytest.approx(half, rel=1e-9)
    assert got["difference"] == pytest.approx(a.mean() - b.mean(), rel=1e-12)


def _holm_step_down(p, alpha):
    """Holm (1979) as a procedure: reject in ascending order while p_(k) ≤ α/(m − k + 1)."""
    order, m, rejected = np.argsort(p, kind="stable"), len(p), set()
    for k, i in enumerate(order):
        if p[i] > alpha / (m - k):
            break
        rejected.add(int(i))
    return rejected


@pytest.mark.parametrize("seed", range(5))
def test_holm_adjusted_p_values_reject_what_the_procedure_rejects(seed):
    p = np.random.default_rng(seed).uniform(0, 0.08, 9) ** 1.5
    adjusted = holm(p)
    for alpha in (0.001, 0.01, 0.02, 0.05, 0.1):
        assert {i for i, q in enumerate(adjusted) if q <= alpha} == _holm_step_down(p, alpha)
    assert all(q >= x for q, x in zip(adjusted, p)) and max(adjusted) <= 1


def test_compare_separates_only_real_differences_and_says_so():
    rs = np.random.default_rng(0)
    scores = {
        "all on": rs.normal(-250, 40, 10),
        "norm_obs off": rs.normal(-900, 60, 10),
        "clip_obs off": rs.normal(-250, 40, 10),
        "norm_reward off": rs.normal(-500, 80, 10),
    }
    rows = compare(scores)
    by = {r["variant"]: r for r in rows}
    assert [r["variant"] for r in rows] == ["norm_obs off", "clip_obs off", "norm_reward off"]
    assert by["norm_obs off"]["separates"] and by["norm_obs off"]["direction"] == "lower"
    assert by["norm_reward off"]["separates"] and not by["clip_obs off"]["separates"]
    raw = [by[v]["p_value"] for v in by]
    assert [by[v]["p_adjusted"] for v in by] == holm(raw)
    text = sentence(rows, scores["all on"], 200_000)
    assert "2 turned off score clearly lower" in text and "Not separated" in text
    assert "clip_obs off" in text.split("Not separated")[1]
    assert "200,000 steps" in text and "10 seeds" in text


def test_final_score_and_bad_input():
    assert final_score([1.0, 2.0, 3.0], last=2) == 2.5
    assert math.isnan(final_score([]))
    with pytest.raises(ValueError, match="at least 2 seeds"):
        welch([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="all on"):
        compare({"x": [1.0, 2.0]})
    with pytest.raises(ValueError, match="p-values"):
        holm([0.5, 1.5])
    assert welch([1.0, 1.0], [1.0, 1.0])["p_value"] == 1.0


def test_stored_grid_has_its_meta_and_its_sentence_follows_from_its_scores():
    """results/ppo_continuous_grid.json: the comparison and sentence recomputed from the stored
    final scores equal the stored ones, every run's score is the mean of its last two rounds of
    16 episodes (= 32 episodes), and the provenance is there."""
    import json
    from pathlib import Path

    grid = json.loads(
        (Path(__file__).parent.parent / "results" / "ppo_continuous_grid.json").read_text()
    )
    assert {"commit", "cpu", "torch", "wall_seconds"} <= set(grid["meta"])
    scores = {k: [r["final_score"] for r in v] for k, v in grid["runs"].items()}
    assert all(len(v) == len(grid["seeds"]) >= 10 for v in scores.values())
    rows = compare(scores)
    assert rows == grid["comparison"]
    assert sentence(rows, scores["all on"], grid["budget"]) == grid["sentence"]
    for runs in grid["runs"].values():
        for r in runs:
            assert r["final_score"] == pytest.approx(np.mean(r["curve"][-2:]), abs=0.01)
