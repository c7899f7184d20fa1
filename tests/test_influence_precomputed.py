"""The stored β grid and what the page says about it: every 'helps' / 'distorts' is read from the
runs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from toolbox import influence as inf
from toolbox.lessons import influence as influence_lesson

RESULTS = Path(__file__).resolve().parent.parent / "results" / "influence_learning.json"


@pytest.fixture(scope="module")
def store():
    data = influence_lesson.load_precomputed(str(RESULTS))
    assert len(data) == len(influence_lesson.precomputed_configs())
    return data


def _final(store, game, beta) -> float:
    return float(
        np.mean(store[inf.InfluenceTrainConfig(game=game, beta=beta).key()].extrinsic_i[:, -1])
    )


def test_stag_hunt_every_beta_helps_with_the_numbers_of_the_issue(store):
    sweep = influence_lesson.beta_sweep(store, "stag hunt")
    assert sweep.betas == influence_lesson.BETA_GRID
    assert sweep.returns == pytest.approx(
        [_final(store, "stag hunt", b) for b in influence_lesson.BETA_GRID], abs=1e-12
    )
    assert sweep.effects == ("neutral",) + ("helps",) * (len(influence_lesson.BETA_GRID) - 1)
    assert (round(sweep.returns[0], 3), round(sweep.returns[3], 3),
            round(sweep.returns[-1], 3)) == (2.999, 3.835, 3.507)
    assert sweep.sentence == (
        "On the precomputed runs (8 seeds × 600 updates), i's final extrinsic return is 2.999 at "
        "β = 0, and every β on the grid helps: it peaks at 3.835 (β = 0.5) and is 3.507 at β = 5. "
        "A larger β gives back part of the gain but never falls to the β = 0 return.")
    # the game's own text no longer claims that a large β distorts the stag hunt
    assert "distort" not in inf.GAMES["stag hunt"].lesson


def test_pure_coordination_shows_distortion(store):
    sweep = influence_lesson.beta_sweep(store, "pure coordination")
    gains = [r - sweep.returns[0] for r in sweep.returns]
    expected = ["neutral"] + [
        "helps" if g > 0.05 else "distorts" if g < -0.05 else "neutral" for g in gains[1:]]
    assert list(sweep.effects) == expected
    assert sweep.effects[influence_lesson.BETA_GRID.index(0.5):] == ("distorts",) * 7
    assert sweep.sentence == (
        "On the precomputed runs (8 seeds × 600 updates), i's final extrinsic return is 1.997 at "
        "β = 0; β from 0.5 to 5 distorts (down to 1.549), "
        "β from 0.1 to 0.25 changes it by less than 0.05.")
    for b in influence_lesson.BETA_GRID[1:]:
        cfg = inf.InfluenceTrainConfig(game="pure coordination", beta=b)
        on, off = store[cfg.key()], store[replace(cfg, beta=0.0).key()]
        assert influence_lesson.bonus_effect(on,
                                             off) == sweep.effects[influence_lesson.BETA_GRID.index(
                                                 b)]


def test_beta_sweep_errors(store):
    with pytest.raises(ValueError, match="Unknown game"):
        influence_lesson.beta_sweep(store, "chess")
    with pytest.raises(ValueError, match="No precomputed β = 0 run"):
        influence_lesson.beta_sweep({}, "stag hunt")


def test_precomputed_runs_exact_default_budget_or_none(store):
    cfg = inf.InfluenceTrainConfig(game="stag hunt", beta=1.0)
    on, off, shown = influence_lesson.precomputed_runs(store, cfg)
    assert shown == cfg and on is store[cfg.key()] and off is store[replace(cfg, beta=0.0).key()]
    other = replace(cfg, n_seeds=3, iterations=700)
    on2, _, shown2 = influence_lesson.precomputed_runs(store, other)
    assert shown2 == cfg and on2 is on  # the same game and β at the default budget
    assert influence_lesson.precomputed_runs(store, replace(cfg, beta=0.3)) is None  # off the grid
    assert influence_lesson.precomputed_runs({}, cfg) is None
    assert influence_lesson.learning_job_key(other) != influence_lesson.learning_job_key(cfg)
    assert influence_lesson.learning_job_key(cfg).startswith(cfg.key())
