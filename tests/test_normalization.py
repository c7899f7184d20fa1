"""The Normalization lesson's data ①–③ (toolbox.lessons.normalization): streams, CartPole
observations, reward scaling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium.wrappers.utils import RunningMeanStd as GymRMS
from scipy import stats

from toolbox.lessons import normalization as N
from toolbox.reward_scaling import RewardScaler

CPU = torch.device("cpu")


def test_sample_stream_moments_and_seeding():
    big = {k: N.sample_stream(k, 200, 500, seed=1, device=CPU) for k in N.STREAM_KINDS}
    assert big["shifted"].x.mean().item() == pytest.approx(5.0, abs=0.01)
    assert big["scaled"].x.std().item() == pytest.approx(20.0, rel=0.01)
    d = big["drifting"]
    np.testing.assert_allclose(d.true_mean.numpy(), np.linspace(0, 10, 200))
    np.testing.assert_allclose((d.x - d.true_mean[:, None]).mean(1).numpy(), 0.0, atol=0.2)
    h = big["heavy-tailed"].x.numpy().ravel()
    q25, q50, q75 = np.quantile(h, [0.25, 0.5, 0.75])
    assert q50 == pytest.approx(2.0, abs=0.01)
    assert q75 - q25 == pytest.approx(2 * stats.t.ppf(0.75, 3), rel=0.02)
    assert np.abs(h - 2).max() > 10 * np.sqrt(3), "heavy tails produce outliers beyond ±10 std"
    a = N.sample_stream("shifted", 5, 4, seed=3, device=CPU).x
    assert torch.equal(a, N.sample_stream("shifted", 5, 4, seed=3, device=CPU).x)
    assert not torch.equal(a, N.sample_stream("shifted", 5, 4, seed=4, device=CPU).x)


@pytest.mark.parametrize("args, match", [
    (("uniform", 10, 10), "kind"), (("shifted", 0, 10), "batches"),
    (("shifted", 10, 0), "batch size"), (("shifted", 5000, 100_000), "server"),
])
def test_sample_stream_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        N.sample_stream(*args, device=CPU)


def test_running_trace_matches_gymnasium_step_by_step():
    s = N.sample_stream("heavy-tailed", 30, 8, seed=2, device=CPU)
    tr = N.running_trace(s.x, clip=3.0, epsilon=1e-8)
    ref = GymRMS()
    for t in range(30):
        x = s.x[t].numpy()
        ref.update(x)
        assert float(tr.mean[t]) == pytest.approx(ref.mean, rel=1e-12, abs=1e-14)
        assert float(tr.var[t]) == pytest.approx(ref.var, rel=1e-12)
        z = (x - ref.mean) / np.sqrt(ref.var + 1e-8)
        np.testing.assert_allclose(tr.normalized[t].numpy(), np.clip(z, -3, 3), rtol=1e-10,
                                   atol=1e-12)
        assert float(tr.clipped_fraction[t]) == pytest.approx(np.mean(np.abs(z) > 3))
        assert float(tr.max_abs_z[t]) == pytest.approx(np.abs(z).max(), rel=1e-10)
    with pytest.raises(ValueError, match="clip"):
        N.running_trace(s.x, clip=-1)
    with pytest.raises(ValueError, match="epsilon"):
        N.running_trace(s.x, epsilon=0.0)


def test_cumulative_moments_brute_force():
    x = np.random.default_rng(0).standard_normal((7, 3)) * 4 + 1
    m, v = N.cumulative_moments(torch.from_numpy(x))
    for t in range(7):
        seen = x[: t + 1].ravel()
        assert float(m[t]) == pytest.approx(seen.mean(), rel=1e-12)
        assert float(v[t]) == pytest.approx(seen.var(), rel=1e-12)


def test_observation_sample_normalizes_cartpole_dimensions():
    s = N.observation_sample(num_envs=8, steps=200, seed=0, clip=10.0, device=CPU)
    assert s.obs.shape == (201, 8, 4) and s.normalized.shape == (201, 8, 4)
    assert s.source == "toolbox.envs.cartpole.BatchedCartPole"
    raw, z = N.summary_stats(s.obs), N.summary_stats(s.normalized[20:])
    assert raw["std"].max() / raw[
        "std"].min() > 3, "raw CartPole dimensions live on different scales"
    np.testing.assert_allclose(z["std"].numpy(), 1.0, atol=0.25)
    np.testing.assert_allclose(z["mean"].numpy(), 0.0, atol=0.25)
    # the final normalized row equals the formula with the final statistics
    last = (s.obs[-1].double() - s.mean) / torch.sqrt(s.std**2 + 1e-8)
    torch.testing.assert_close(s.normalized[-1].double(), last.clamp(-10, 10), rtol=1e-5, atol=1e-5)


def test_summary_stats_against_numpy():
    x = np.random.default_rng(1).standard_normal((5, 6, 3))
    out = N.summary_stats(torch.from_numpy(x))
    flat = x.reshape(-1, 3)
    np.testing.assert_allclose(out["mean"].numpy(), flat.mean(0))
    np.testing.assert_allclose(out["std"].numpy(), flat.std(0))
    np.testing.assert_allclose(out["max"].numpy(), flat.max(0))


def test_reward_stream_kinds():
    r, d = N.reward_stream("constant", 50, 2000, 20.0, seed=0, device=CPU)
    assert torch.all(r == 1) and d.dtype == torch.bool
    assert d.double().mean().item() == pytest.approx(1 / 20, rel=0.05)
    r, d = N.reward_stream("sparse", 4, 100, 10.0, seed=0, device=CPU)
    assert torch.equal(r, d.double())
    with pytest.raises(ValueError, match="episode length"):
        N.reward_stream("constant", 4, 100, 0.5, device=CPU)
    with pytest.raises(ValueError, match="kind"):
        N.reward_stream("dense", device=CPU)


def test_return_scales_sweep_equals_separate_scalers_and_closed_form():
    # (almost surely) no episode end
    r, d = N.reward_stream("constant", 3, 300, 1e6, seed=0, device=CPU)
    assert not d.any()
    sc = N.return_scales(r, d, (0.9, 0.99), reward_clip=None, warmup=0.0)
    for i, g in enumerate((0.9, 0.99)):
        single = RewardScaler(3, gamma=g, device=CPU)
        for t in range(300):
            single.scale(r[t], d[t])
        assert float(sc.return_std[i]) == pytest.approx(float(single.return_rms.std), rel=1e-10)
        # return-to-go of +1 for the whole 300 steps: (1 − γ^300) / (1 − γ)
        assert float(sc.raw_target_abs_max[i]) == pytest.approx((1 - g**300) / (1 - g), rel=1e-12)
        assert float(sc.horizon[i]) == pytest.approx(1 / (1 - g))
    # with episodes, after warm-up, scaling brings γ = 0.999's value targets near unit scale
    r, d = N.reward_stream("constant", 8, 600, 50.0, seed=0, device=CPU)
    sc = N.return_scales(r, d, (0.9, 0.999))
    assert float(sc.raw_target_std[1]) > 15 and float(sc.scaled_target_std[1]) < 2
    assert float(sc.scaled_target_abs_max[1]) < float(sc.raw_target_abs_max[1]) / 10


def test_return_scales_with_episode_ends_equal_reward_scaler_class():
    r, d = N.reward_stream("gaussian", 5, 120, 12.0, seed=9, device=CPU)
    assert d.any()
    sc = N.return_scales(r, d, (0.5, 0.97), reward_clip=None)
    for i, g in enumerate((0.5, 0.97)):
        s = RewardScaler(5, gamma=g, device=CPU)
        outs = torch.stack([s.scale(r[t], d[t]) for t in range(120)])
        assert float(sc.return_std[i]) == pytest.approx(float(s.return_rms.std), rel=1e-10)
        tr = N.reward_scaling_trace(r, d, g, reward_clip=None)
        torch.testing.assert_close(tr.scaled, outs, rtol=1e-10, atol=1e-12)
        clipped = N.reward_scaling_trace(r, d, g, reward_clip=1.0)
        torch.testing.assert_close(clipped.scaled, outs.clamp(-1, 1), rtol=1e-10, atol=1e-12)

