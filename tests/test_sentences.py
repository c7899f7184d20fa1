"""Sentences issue 21 found wrong or misleading, each pinned with the property that makes it
true."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers.vector import NormalizeReward

import toolbox.influence as inf
from tests.apptest_helpers import open_page, texts
from toolbox.reward_scaling import RewardScaler

ROOT = Path(__file__).resolve().parents[1]


def _returns_around_a_reset(mode) -> tuple[float, float]:
    """Gymnasium's accumulated return at CartPole's first termination and at the first step of the
    next episode (the reset step of next-step autoreset skipped)."""
    env = NormalizeReward(gym.make_vec("CartPole-v1", num_envs=1, vectorization_mode="sync",
                                       vector_kwargs={"autoreset_mode": mode}), gamma=0.99)
    env.reset(seed=0)
    rng, at_end, skipped = np.random.default_rng(0), None, False
    for _ in range(500):
        _, _, term, _, _ = env.step(rng.integers(0, 2, 1))
        if at_end is not None and (mode == AutoresetMode.SAME_STEP or not skipped):
            return at_end, float(env.accumulated_reward[0])
        if at_end is not None:
            skipped = False
        elif term[0]:
            at_end, skipped = float(env.accumulated_reward[0]), True
    raise AssertionError("no episode ended")


def test_the_next_episode_starts_from_zero_only_with_same_step_autoreset():
    _, first = _returns_around_a_reset(AutoresetMode.SAME_STEP)
    assert first == pytest.approx(1.0)  # G = r_1: started from 0
    end, first = _returns_around_a_reset(AutoresetMode.NEXT_STEP)
    assert end == pytest.approx(1.0) and first == pytest.approx(0.99 * 1.0 + 1.0)  # G = γ r_t + r_1
    scaler = RewardScaler(1, gamma=0.99)  # the lesson's scaler: same-step (zeroed at the end)
    scaler.scale(torch.ones(1), torch.ones(1))
    assert float(scaler.accumulated_reward[0]) == 0.0
    at = open_page("app_pages/normalization/page.py", query={"panel": "rewards"})
    shown = texts(at)
    assert (
        "here, as with Gymnasium's same-step autoreset, G is zeroed and the next episode starts "
        "from 0; under Gymnasium's default next-step autoreset the reset step is skipped and the "
        "next episode starts from γ r_t." in shown
    )
    assert "keep running statistics and divide by them" not in shown
    assert (
        "for BatchNorm the batch's statistics while training and its running statistics only in "
        "evaluation" in shown
    )


def test_which_statistics_each_normalization_divides_by():
    """The Normalization header: advantages per minibatch, LayerNorm per sample, BatchNorm in train
    mode by the batch — none of them by running statistics."""
    x = torch.randn(64, 8, dtype=torch.float64) * 3 + 5
    bn = torch.nn.BatchNorm1d(8, affine=False, dtype=torch.float64)
    bn.running_mean.fill_(100.0)  # running statistics far off: train mode ignores them
    y = bn.train()(x)
    assert torch.allclose(y.mean(0), torch.zeros(8, dtype=torch.float64), atol=1e-12)
    assert not torch.allclose(bn.eval()(x).mean(0), torch.zeros(8, dtype=torch.float64), atol=1.0)
    ln = torch.nn.LayerNorm(8, elementwise_affine=False, dtype=torch.float64)
    assert torch.allclose(ln(x).mean(1), torch.zeros(64, dtype=torch.float64), atol=1e-12)


def test_the_minibatch_mean_baseline_is_the_leave_one_out_one_scaled():
    rng = np.random.default_rng(0)
    for n in (2, 5, 128):
        a = rng.normal(3, 2, n)
        loo = (a.sum() - a) / (n - 1)
        np.testing.assert_allclose(a - a.mean(), (1 - 1 / n) * (a - loo), atol=1e-12)
    # the O(1/n) bias, exactly: REINFORCE on a 2-armed bandit, n i.i.d. samples, enumerated
    p, f = 0.3, np.array([1.0, 0.0])
    grad_true = p * (1 - p) * (f[0] - f[1])  # d/dθ of E f for π_0 = sigmoid(θ)
    for n in (2, 3, 4):
        outcomes = np.array(np.meshgrid(*[[0, 1]] * n)).reshape(n, -1).T  # every draw of n samples
        probs = np.prod(np.where(outcomes == 0, p, 1 - p), axis=1)
        score = np.where(outcomes == 0, 1 - p, -p)  # d log π_z / dθ
        h = f[outcomes]
        mean_b = (probs[:, None] * (h - h.mean(1, keepdims=True)) * score).sum(0).mean()
        loo_b = (probs[:,
                       None] * (h - (h.sum(1, keepdims=True) - h) / (n - 1)) * score).sum(0).mean()
        assert loo_b == pytest.approx(grad_true) and mean_b == pytest.approx(
            (1 - 1 / n) * grad_true)
    at = open_page("app_pages/normalization/page.py", query={"panel": "advantages"})
    assert "the expected gradient is (1 − 1/n) times the true one, an O(1/n) bias that a " \
           "leave-one-out mean avoids" in texts(at)


def test_home_names_every_precomputed_result():
    at = open_page("app_pages/home.py")
    shown = texts(at)
    assert "every number on these pages is computed live" not in shown
    stored = sorted(p.name for p in (ROOT / "results").glob("*.json"))
    assert stored and all(f"results/{name}" in shown for name in stored), stored


@pytest.mark.parametrize("example", inf.PERSUASION_PRESETS)
def test_signalling_caption_speaks_of_the_signals_sent(example):
    """Never-sent signals can show ∞ (or a positive value): the caption's “positive nowhere / only
    where the scheme mixes” is about the signals the scheme sends, and says so."""
    for scheme in ("honest", "silent", "optimal"):
        g = inf.persuasion_preset(example, scheme)
        table = inf.receiver_best_response(g.prior, g.phi, g.u_sender, g.u_receiver).numpy()
        report = inf.evaluate_scheme(g.prior, g.phi, table, g.u_sender, g.u_receiver,
                                     marginal="state")
        text = inf.scheme_caption(g, g.phi, report)
        assert "influence reward of the signals the scheme sends is positive" in text
        phi = np.asarray(g.phi)
        sent_positive = {s for s in range(phi.shape[0])
                         if any(phi[s, k] > 0 and report.influence[s,
                                                                   k] > 1e-12 for k in range(
                                                                       phi.shape[1]))}
        mixing = {s for s in range(phi.shape[0]) if (phi[s] > 0).sum() > 1}
        assert sent_positive <= mixing
        if not mixing:
            assert "positive nowhere" in text
        if not np.isfinite(report.influence).all():
            assert "∞ marks a signal the scheme never sends" in text
