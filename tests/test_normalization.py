"""toolbox.normalization against independent references: Gymnasium's wrappers and NumPy."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.spaces import Box, Discrete
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from gymnasium.wrappers.utils import RunningMeanStd as GymRMS
from gymnasium.wrappers.vector import NormalizeObservation, NormalizeReward

from toolbox.normalization import (
    ObsNormalizer,
    RewardScaler,
    RunningMeanStd,
    merge_moments,
    normalize_advantages,
)

CPU = torch.device("cpu")


class ReplayVectorEnv(VectorEnv):
    """A vector env that replays a fixed stream of (obs, reward, terminated, truncated).

    Lets Gymnasium's wrappers and ours see exactly the same numbers, including episode ends.
    """

    def __init__(self, obs, rewards, terminated, truncated, mode=AutoresetMode.SAME_STEP):
        self.num_envs = rewards.shape[1]
        self.single_observation_space = Box(-np.inf, np.inf, shape=obs.shape[2:], dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.single_action_space = Discrete(2)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {"autoreset_mode": mode}
        self._obs, self._r, self._te, self._tr = obs, rewards, terminated, truncated
        self._t = 0

    def reset(self, *, seed=None, options=None):
        self._t = 0
        return self._obs[0], {}

    def step(self, actions):
        self._t += 1
        t = self._t
        return self._obs[t], self._r[t - 1], self._te[t - 1], self._tr[t - 1], {}


def _stream(T=200, E=5, D=4, seed=0, p_term=0.05, p_trunc=0.02):
    rng = np.random.default_rng(seed)
    obs = (rng.standard_normal((T + 1, E, D)) * np.array([0.1, 2.0, 30.0, 1.0]) + np.array([5, -3, 0, 100])).astype(np.float32)
    rewards = rng.exponential(1.0, size=(T, E)) + 1.0
    terminated = rng.random((T, E)) < p_term
    truncated = (rng.random((T, E)) < p_trunc) & ~terminated
    return obs, rewards, terminated, truncated


# ------------------------------------------------------------------ RunningMeanStd


def test_running_mean_std_matches_gymnasium_float64_exactly():
    rng = np.random.default_rng(1)
    ours = RunningMeanStd(shape=(3,), device=CPU)
    ref = GymRMS(shape=(3,))
    for n in [1, 7, 64, 3, 200]:
        x = rng.standard_normal((n, 3)) * [1.0, 50.0, 1e-3] + [10.0, -4.0, 0.5]
        ours.update(torch.from_numpy(x))
        ref.update(x)
        np.testing.assert_allclose(ours.mean.numpy(), ref.mean, rtol=1e-13, atol=0)
        np.testing.assert_allclose(ours.var.numpy(), ref.var, rtol=1e-12, atol=0)
        assert float(ours.count) == pytest.approx(ref.count, rel=1e-15)
    assert ours.mean.dtype == torch.float64


def test_running_mean_std_initial_state_and_scalar_shape():
    rms = RunningMeanStd(device=CPU)
    assert rms.mean.shape == () and float(rms.mean) == 0.0 and float(rms.var) == 1.0
    assert float(rms.count) == pytest.approx(1e-4)
    x = np.arange(10.0)
    rms.update(x)
    ref = GymRMS()
    ref.update(x)
    assert float(rms.mean) == pytest.approx(ref.mean, rel=1e-14)
    assert float(rms.var) == pytest.approx(ref.var, rel=1e-14)


def test_running_mean_std_converges_to_numpy_moments_of_whole_stream():
    rng = np.random.default_rng(2)
    data = rng.standard_normal((5000, 2)) * [3.0, 0.2] + [1.0, -7.0]
    rms = RunningMeanStd((2,), device=CPU)
    for chunk in np.array_split(data, 37):
        rms.update(chunk)
    # the prior is a pseudo-sample of weight 1e-4 with mean 0 and variance 1: weighted moments, brute force
    w, n = 1e-4, len(data)
    mean = data.sum(0) / (n + w)
    var = (w * 1.0 + w * mean**2 + ((data - mean) ** 2).sum(0)) / (n + w)
    np.testing.assert_allclose(rms.mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(rms.var.numpy(), var, rtol=1e-12)
    np.testing.assert_allclose(rms.var.numpy(), data.var(0), rtol=1e-4)


def test_parallel_update_is_merge_order_invariant():
    rng = np.random.default_rng(3)
    chunks = [rng.standard_normal((int(n), 2)) * s + m for n, s, m in zip(rng.integers(1, 50, 12), rng.uniform(0.1, 9, 12), rng.uniform(-20, 20, 12))]
    results = []
    for perm in [range(12), reversed(range(12)), rng.permutation(12)]:
        rms = RunningMeanStd((2,), device=CPU)
        for i in perm:
            rms.update(chunks[i])
        results.append((rms.mean.numpy().copy(), rms.var.numpy().copy()))
    for m, v in results[1:]:
        np.testing.assert_allclose(m, results[0][0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(v, results[0][1], rtol=1e-12)
    # merging partial statistics in a tree (as parallel workers would): each part carries its own
    # prior pseudo-sample (weight 1e-4, mean 0, var 1), so compare with brute force at prior weight 2e-4
    parts = []
    for group in (chunks[:5], chunks[5:]):
        r = RunningMeanStd((2,), device=CPU)
        for c in group:
            r.update(c)
        parts.append(r)
    parts[1].merge(parts[0])
    data = np.concatenate(chunks)
    w, n = 2e-4, len(data)
    mean = data.sum(0) / (n + w)
    var = (w + w * mean**2 + ((data - mean) ** 2).sum(0)) / (n + w)
    np.testing.assert_allclose(parts[1].mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(parts[1].var.numpy(), var, rtol=1e-12)
    assert float(parts[1].count) == pytest.approx(n + w)


def test_merge_moments_closed_form():
    a = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    b = torch.tensor([10.0, 20.0], dtype=torch.float64)
    both = torch.cat([a, b])
    m, v, n = merge_moments(a.mean(), a.var(correction=0), 3.0, b.mean(), b.var(correction=0), 2.0)
    assert float(m) == pytest.approx(float(both.mean()), rel=1e-14)
    assert float(v) == pytest.approx(float(both.var(correction=0)), rel=1e-14)
    assert n == 5.0


def test_batched_runs_keep_independent_statistics():
    rng = np.random.default_rng(4)
    R = 3
    ours = RunningMeanStd((4,), batch_shape=(R,), device=CPU)
    refs = [GymRMS(shape=(4,)) for _ in range(R)]
    for n in [5, 1, 17]:
        x = rng.standard_normal((R, n, 4)) * rng.uniform(0.1, 10, (R, 1, 4)) + rng.uniform(-5, 5, (R, 1, 4))
        ours.update(torch.from_numpy(x))
        for r in range(R):
            refs[r].update(x[r])
    assert ours.mean.shape == (R, 4) and ours.count.shape == (R,)
    for r in range(R):
        np.testing.assert_allclose(ours.mean[r].numpy(), refs[r].mean, rtol=1e-13)
        np.testing.assert_allclose(ours.var[r].numpy(), refs[r].var, rtol=1e-12)
        assert float(ours.count[r]) == pytest.approx(refs[r].count)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((5, 3)), "shape"),
        (np.zeros((0, 4)), "shape"),
        (np.zeros(4), "shape"),
        (np.array([[0.0, np.nan, 1.0, 2.0]]), "NaN"),
        (np.array([[0.0, np.inf, 1.0, 2.0]]), "NaN"),
    ],
)
def test_running_mean_std_rejects_bad_batches(bad, match):
    rms = RunningMeanStd((4,), device=CPU)
    with pytest.raises(ValueError, match=match):
        rms.update(bad)
    assert float(rms.count) == pytest.approx(1e-4), "a rejected batch leaves the statistics untouched"


def test_constructor_rejects_bad_arguments():
    with pytest.raises(ValueError, match="epsilon"):
        RunningMeanStd((2,), epsilon=0.0, device=CPU)
    with pytest.raises(ValueError, match="shape"):
        RunningMeanStd((2, -1), device=CPU)
    with pytest.raises(ValueError, match="clip"):
        ObsNormalizer((2,), clip=-1.0, device=CPU)
    with pytest.raises(ValueError, match="num_envs"):
        RewardScaler(0, device=CPU)


# ------------------------------------------------------------------ observations


@pytest.mark.parametrize("clip", [None, 10.0, 1.5])
def test_obs_normalizer_matches_gymnasium_vector_wrapper(clip):
    obs, rewards, term, trunc = _stream(seed=5)
    env = NormalizeObservation(ReplayVectorEnv(obs, rewards, term, trunc, mode=AutoresetMode.NEXT_STEP))
    # Gymnasium keeps CartPole-style float32 observation statistics in float32
    ours = ObsNormalizer((4,), clip=clip, device=CPU, dtype=torch.float32)
    o, _ = env.reset()
    got = ours(torch.from_numpy(obs[0]))
    expect = o if clip is None else np.clip(o, -clip, clip)
    np.testing.assert_allclose(got.numpy(), expect, rtol=2e-4, atol=2e-5)
    for t in range(len(rewards)):
        o, *_ = env.step(np.zeros(5, dtype=np.int64))
        got = ours(torch.from_numpy(obs[t + 1]))
        assert got.dtype == torch.float32
        expect = o if clip is None else np.clip(o, -clip, clip)
        np.testing.assert_allclose(got.numpy(), expect, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(ours.rms.mean.numpy(), env.obs_rms.mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.rms.var.numpy(), env.obs_rms.var, rtol=1e-4)


def test_obs_normalizer_float64_against_numpy_reference_and_clip():
    # float64 statistics against Gymnasium's RunningMeanStd in float64: agreement to 1e-12
    obs, *_ = _stream(seed=6)
    ours = ObsNormalizer((4,), clip=10.0, device=CPU)
    ref = GymRMS(shape=(4,))
    for t in range(len(obs)):
        x = obs[t].astype(np.float64)
        ref.update(x)
        expect = np.clip((x - ref.mean) / np.sqrt(ref.var + 1e-8), -10, 10)
        np.testing.assert_allclose(ours(torch.from_numpy(x)).numpy(), expect, rtol=1e-12, atol=1e-12)
    # an outlier far outside the stream is clipped to exactly ±10
    far = torch.tensor([[1e6, -1e6, 0.0, 100.0]], dtype=torch.float64)
    z = ours.normalize(far)
    assert float(z[0, 0]) == 10.0 and float(z[0, 1]) == -10.0


def test_obs_normalizer_on_real_cartpole_matches_gymnasium():
    envs = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="sync")
    wrapped = NormalizeObservation(gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="sync"))
    ours = ObsNormalizer((4,), clip=None, device=CPU, dtype=torch.float32)
    raw, _ = envs.reset(seed=11)
    norm, _ = wrapped.reset(seed=11)
    np.testing.assert_allclose(ours(raw).numpy(), norm, rtol=1e-4, atol=1e-5)
    rng = np.random.default_rng(0)
    for _ in range(150):
        a = rng.integers(0, 2, 4)
        raw, *_ = envs.step(a)
        norm, *_ = wrapped.step(a)
        np.testing.assert_allclose(ours(raw).numpy(), norm, rtol=1e-3, atol=1e-4)


def test_obs_normalizer_eval_mode_does_not_update():
    n = ObsNormalizer((2,), device=CPU)
    n(np.ones((3, 2)))
    before = n.rms.state_dict()
    n.update_running_mean = False
    n(np.full((3, 2), 50.0))
    assert torch.equal(n.rms.mean, before["mean"]) and torch.equal(n.rms.count, before["count"])


def test_obs_normalizer_batched_runs_equal_separate_normalizers():
    rng = np.random.default_rng(7)
    R, E = 4, 3
    batched = ObsNormalizer((4,), batch_shape=(R,), device=CPU)
    single = [ObsNormalizer((4,), device=CPU) for _ in range(R)]
    for _ in range(20):
        x = rng.standard_normal((R, E, 4)) * rng.uniform(0.5, 20, (R, 1, 4))
        out = batched(torch.from_numpy(x))
        for r in range(R):
            torch.testing.assert_close(out[r], single[r](torch.from_numpy(x[r])), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ rewards


@pytest.mark.parametrize("gamma", [0.0, 0.9, 0.99])
def test_reward_scaler_matches_gymnasium_vector_wrapper_with_episode_ends(gamma):
    obs, rewards, term, trunc = _stream(T=300, E=6, seed=8, p_term=0.08, p_trunc=0.04)
    env = NormalizeReward(ReplayVectorEnv(obs, rewards, term, trunc), gamma=gamma)
    ours = RewardScaler(6, gamma=gamma, device=CPU)
    env.reset()
    assert term.any() and trunc.any()
    for t in range(len(rewards)):
        _, r_gym, *_ = env.step(np.zeros(6, dtype=np.int64))
        r_ours = ours.scale(torch.from_numpy(rewards[t]), torch.from_numpy(term[t]), torch.from_numpy(trunc[t]))
        # Gymnasium accumulates the return in float32; ours in float64
        np.testing.assert_allclose(r_ours.numpy(), r_gym, rtol=1e-5)
    np.testing.assert_allclose(float(ours.return_rms.var), env.return_rms.var, rtol=1e-5)
    np.testing.assert_allclose(ours.accumulated_reward.numpy(), env.accumulated_reward, rtol=1e-5, atol=1e-6)


def test_reward_scaler_divides_by_return_std_not_reward_std():
    # constant reward 1 for long episodes: reward std is 0, return std is large (returns grow to 1/(1-γ))
    s = RewardScaler(2, gamma=0.99, device=CPU)
    for _ in range(500):
        out = s.scale(torch.ones(2, dtype=torch.float64), torch.zeros(2))
    G = (1 - 0.99 ** np.arange(1, 501)) / 0.01
    assert float(s.return_rms.var) == pytest.approx(G.var(), rel=1e-3)
    assert float(out[0]) == pytest.approx(1 / np.sqrt(G.var()), rel=1e-3)


def test_reward_scaler_batched_runs_equal_separate_scalers():
    rng = np.random.default_rng(9)
    R, E = 3, 4
    batched = RewardScaler(E, gamma=0.95, batch_shape=(R,), device=CPU)
    single = [RewardScaler(E, gamma=0.95, device=CPU) for _ in range(R)]
    for _ in range(60):
        r = rng.standard_normal((R, E)) * np.array([[0.1], [1.0], [10.0]])
        d = rng.random((R, E)) < 0.1
        out = batched.scale(torch.from_numpy(r), torch.from_numpy(d))
        for i in range(R):
            torch.testing.assert_close(out[i], single[i].scale(torch.from_numpy(r[i]), torch.from_numpy(d[i])), rtol=1e-12, atol=1e-12)


def test_reward_scaler_rejects_bad_input():
    for g in [-0.1, 1.0, 1.5, float("nan")]:
        with pytest.raises(ValueError, match="gamma"):
            RewardScaler(2, gamma=g, device=CPU)
    s = RewardScaler(3, device=CPU)
    with pytest.raises(ValueError, match="shape"):
        s.scale(torch.ones(2), torch.zeros(2))
    with pytest.raises(ValueError, match="NaN"):
        s.scale(torch.tensor([1.0, float("nan"), 0.0]), torch.zeros(3))
    with pytest.raises(ValueError, match="terminated"):
        s.scale(torch.ones(3), torch.zeros(4))


# ------------------------------------------------------------------ advantages


def test_normalize_advantages_is_cleanrl_formula():
    rng = np.random.default_rng(10)
    adv = rng.standard_normal(64) * 7 + 3
    out = normalize_advantages(torch.from_numpy(adv))
    expect = (adv - adv.mean()) / (adv.std(ddof=1) + 1e-8)
    np.testing.assert_allclose(out.numpy(), expect, rtol=1e-12)
    assert float(out.mean()) == pytest.approx(0.0, abs=1e-12)
    assert float(out.std()) == pytest.approx(1.0, rel=1e-6)


def test_normalize_advantages_per_run_dim():
    rng = np.random.default_rng(11)
    adv = rng.standard_normal((3, 32)) * np.array([[0.1], [1], [100]])
    out = normalize_advantages(torch.from_numpy(adv), dim=-1)
    for r in range(3):
        np.testing.assert_allclose(out[r].numpy(), (adv[r] - adv[r].mean()) / (adv[r].std(ddof=1) + 1e-8), rtol=1e-12)


def test_normalize_advantages_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        normalize_advantages(torch.ones(1))
    with pytest.raises(ValueError, match="NaN"):
        normalize_advantages(torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="eps"):
        normalize_advantages(torch.ones(4), eps=-1)


# ================================================================== lesson computations

from scipy import stats  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from toolbox import normalization as N  # noqa: E402
from toolbox.figures import normalization as FN  # noqa: E402


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
    (("uniform", 10, 10), "kind"), (("shifted", 0, 10), "batches"), (("shifted", 10, 0), "batch size"),
    (("shifted", 5000, 100_000), "server"),
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
        np.testing.assert_allclose(tr.normalized[t].numpy(), np.clip(z, -3, 3), rtol=1e-10, atol=1e-12)
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
    raw, z = N.summary_stats(s.obs), N.summary_stats(s.normalized[20:])
    assert raw["std"].max() / raw["std"].min() > 3, "raw CartPole dimensions live on different scales"
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


def test_reward_scaling_trace_matches_gymnasium():
    r, d = N.reward_stream("gaussian", 4, 200, 15.0, seed=3, device=CPU)
    tr = N.reward_scaling_trace(r, d, gamma=0.95, reward_clip=None)
    obs = np.zeros((201, 4, 1), dtype=np.float32)
    env = NormalizeReward(ReplayVectorEnv(obs, r.numpy(), d.numpy(), np.zeros_like(d.numpy())), gamma=0.95)
    env.reset()
    for t in range(200):
        _, rg, *_ = env.step(np.zeros(4, dtype=np.int64))
        np.testing.assert_allclose(tr.scaled[t].numpy(), rg, rtol=1e-5)
    assert float(tr.return_std[-1]) == pytest.approx(np.sqrt(env.return_rms.var), rel=1e-5)
    clipped = N.reward_scaling_trace(r, d, gamma=0.95, reward_clip=1.0)
    torch.testing.assert_close(clipped.scaled, tr.scaled.clamp(-1, 1))


def test_discounted_returns_brute_force():
    rng = np.random.default_rng(4)
    r = rng.standard_normal((30, 3))
    d = rng.random((30, 3)) < 0.2
    out = N.discounted_returns(torch.from_numpy(r), torch.from_numpy(d), 0.9).numpy()
    for e in range(3):
        for t in range(30):
            total, disc = 0.0, 1.0
            for s in range(t, 30):
                total += disc * r[s, e]
                if d[s, e]:
                    break
                disc *= 0.9
            assert out[t, e] == pytest.approx(total, rel=1e-12, abs=1e-12)


def test_return_scales_sweep_equals_separate_scalers_and_closed_form():
    r, d = N.reward_stream("constant", 3, 300, 1e6, seed=0, device=CPU)  # (almost surely) no episode end
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


def test_reward_scaler_per_run_gamma_validation():
    with pytest.raises(ValueError, match="gamma"):
        RewardScaler(2, gamma=torch.tensor([0.9, 1.0]), batch_shape=(2,), device=CPU)
    with pytest.raises(ValueError, match="shape"):
        RewardScaler(2, gamma=torch.tensor([0.9, 0.99, 0.5]), batch_shape=(2,), device=CPU)


def test_minibatch_advantages_against_numpy():
    adv = np.random.default_rng(5).standard_normal(64) * 3 + 1
    mb = N.minibatch_advantages(torch.from_numpy(adv), 4, seed=0)
    assert mb.raw.shape == (4, 16)
    np.testing.assert_allclose(np.sort(mb.raw.numpy().ravel()), np.sort(adv))
    for i in range(4):
        a = mb.raw[i].numpy()
        np.testing.assert_allclose(mb.normalized[i].numpy(), (a - a.mean()) / (a.std(ddof=1) + 1e-8), rtol=1e-12)
        np.testing.assert_allclose(mb.globally_normalized[i].numpy(), (a - adv.mean()) / (adv.std(ddof=1) + 1e-8), rtol=1e-12)
        assert float(mb.sign_flips[i]) == pytest.approx(np.mean(np.sign(a) != np.sign(a - a.mean())))
    one = N.minibatch_advantages(torch.from_numpy(adv), 1)
    assert float(one.deviation[0]) < 1e-12
    with pytest.raises(ValueError, match="equal minibatches"):
        N.minibatch_advantages(torch.from_numpy(adv), 5)
    with pytest.raises(ValueError, match="at least 2"):
        N.minibatch_advantages(torch.from_numpy(adv), 64)


def test_minibatch_size_effect_shrinks_with_size():
    adv = torch.from_numpy(np.random.default_rng(6).standard_normal(512))
    eff = N.minibatch_size_effect(adv, (4, 16, 64, 512, 3))
    assert eff["size"].tolist() == [4, 16, 64, 512]
    dev = eff["deviation"].tolist()
    assert dev[0] > dev[1] > dev[2] > dev[3] and dev[3] < 1e-12


def test_gae_limits():
    rng = np.random.default_rng(7)
    r = torch.from_numpy(rng.standard_normal((20, 2)))
    v = torch.from_numpy(rng.standard_normal((20, 2)))
    dones = torch.from_numpy((rng.random((20, 2)) < 0.2).astype(np.float64))
    last = torch.from_numpy(rng.standard_normal(2))
    nxt_v = torch.cat([v[1:], last[None]])
    nxt_nt = 1 - torch.cat([dones[1:], torch.zeros(1, 2, dtype=torch.float64)])
    delta = r + 0.9 * nxt_v * nxt_nt - v
    torch.testing.assert_close(N.gae(r, v, dones, last, 0.9, 0.0), delta)  # λ = 0: one-step TD error
    # λ = 1: discounted return-to-go (bootstrapped with last value at the end) minus the value
    ret = torch.zeros_like(r)
    g = last.clone()
    for t in range(19, -1, -1):
        g = r[t] + 0.9 * nxt_nt[t] * g
        ret[t] = g
    torch.testing.assert_close(N.gae(r, v, dones, last, 0.9, 1.0), ret - v)


def test_ppo_batch_shapes():
    batch, source = N.ppo_batch(0, device=CPU)
    assert set(batch) >= {"obs", "rewards", "dones", "values", "advantages", "returns"}
    T, E = batch["advantages"].shape
    assert batch["obs"].shape == (T, E, 4) and T * E >= 64
    assert torch.isfinite(batch["advantages"]).all()
    torch.testing.assert_close(batch["returns"], batch["advantages"] + batch["values"])
    assert "rollout_batch" in source or "substitute" in source


def test_ppo_batch_rejects_too_many_updates():
    with pytest.raises(ValueError, match="PPO updates"):
        N.ppo_batch(0, updates=N.MAX_PPO_UPDATES + 1, device=CPU)
    with pytest.raises(ValueError, match="PPO updates"):
        N.ppo_batch(0, updates=-1, device=CPU)


def test_substitute_ppo_batch_gae():
    b = N._substitute_ppo_batch(0, CPU, num_envs=2, num_steps=40)
    assert b["advantages"].shape == (40, 2)
    # zero value function and λ-return: advantages are bounded by the discounted sum of +1 rewards
    assert float(b["advantages"].max()) <= 1 / (1 - 0.99) and float(b["advantages"].min()) >= 1.0


def test_message_norm_demo_against_stepped_batchnorm_module():
    K, B = 12, 16
    demo = N.message_norm_demo(comm_bits=1, batch_size=B, steps=K, noise_std=1.0, momentum=0.2, seed=0, device=CPU)
    # reference: the C-Net's own message_mlp (same init seed), stepped through train/eval mode in a loop
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        try:
            from toolbox.dial.cnet import CNet

            mlp = CNet(n_agents=3, comm_bits=1).message_mlp.double()
        except ImportError:
            mlp = torch.nn.Sequential(torch.nn.BatchNorm1d(1), torch.nn.Linear(1, 128), torch.nn.ReLU()).double()
    mlp[0].momentum = 0.2
    with torch.no_grad():
        for k in range(K):
            x = demo.raw[k]
            mlp.train()
            torch.testing.assert_close(demo.bn_train[k], mlp[0](x))
            h_train = mlp[1:](demo.bn_train[k])
            torch.testing.assert_close(demo.running_mean[k], mlp[0].running_mean)
            torch.testing.assert_close(demo.running_var[k], mlp[0].running_var)
            mlp.eval()
            torch.testing.assert_close(demo.bn_eval[k], mlp[0](x))
            torch.testing.assert_close(N.message_mlp_gap(demo, k), (mlp(x) - h_train).abs().mean())
    x = demo.raw[0]  # and the textbook formula at init (γ = 1, β = 0, ε = 1e-5)
    torch.testing.assert_close(demo.bn_train[0], (x - x.mean(0)) / torch.sqrt(x.var(0, correction=0) + 1e-5))
    assert torch.all(demo.layer_norm == 0), "LayerNorm over one channel erases the message"
    sep = {n: N.message_separation(getattr(demo, n), demo.bits) for n in ("raw", "bn_train", "layer_norm")}
    torch.testing.assert_close(sep["bn_train"], sep["raw"])  # d′ is invariant to a positive affine map
    assert torch.all(sep["layer_norm"] == 0)


def test_message_separation_brute_force():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 40, 1)) + 0.5
    bits = rng.integers(0, 2, (3, 40))
    x[..., 0] += 2.0 * bits
    got = N.message_separation(torch.from_numpy(x), torch.from_numpy(bits)).numpy()
    for k in range(3):
        a, b = x[k, bits[k] == 1, 0], x[k, bits[k] == 0, 0]
        pooled = np.sqrt((((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()) / 40)
        assert got[k] == pytest.approx((a.mean() - b.mean()) / pooled, rel=1e-12)


def test_message_norm_demo_layernorm_several_bits_and_drift():
    demo = N.message_norm_demo(comm_bits=3, batch_size=64, steps=40, noise_std=2.0, dru=False, seed=1, device=CPU)
    x = demo.raw
    torch.testing.assert_close(demo.layer_norm, F.layer_norm(x, (3,)))
    raw_sd = x[..., 0].std(1)
    bn_sd = demo.bn_train[..., 0].std(1, correction=0)
    assert raw_sd[-1] / raw_sd[0] > 2, "the message scale drifts"
    np.testing.assert_allclose(bn_sd.numpy(), 1.0, atol=1e-3)  # train-mode BatchNorm: unit scale at every step
    # eval mode lags: at the end it is off unit scale more than train mode
    assert abs(float(demo.bn_eval[-1, :, 0].std()) - 1) > abs(float(bn_sd[-1]) - 1)


@pytest.mark.parametrize("kwargs, match", [
    ({"momentum": 0.0}, "momentum"), ({"momentum": 1.5}, "momentum"), ({"noise_std": -1}, "noise"),
    ({"batch_size": 1}, "batch size"), ({"comm_bits": 0}, "bits"), ({"scale_start": 0}, "scales"),
])
def test_message_norm_demo_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        N.message_norm_demo(steps=2, device=CPU, **kwargs)


def test_figures_build():
    s = N.sample_stream("drifting", 10, 4, device=CPU)
    tr = N.running_trace(s.x)
    assert len(FN.running_estimate_figure(s, tr, 5).data) >= 4
    assert len(FN.batch_histogram_figure(s.x[0], tr.normalized[0], 10.0).data) == 2
    o = N.observation_sample(2, 10, device=CPU)
    assert len(FN.observation_histograms_figure(o.obs, o.normalized, N.CARTPOLE_DIMENSIONS).data) == 8
    r, d = N.reward_stream("constant", 2, 30, 5.0, device=CPU)
    assert len(FN.reward_trace_figure(r, N.reward_scaling_trace(r, d), 0, d).data) == 5
    assert len(FN.return_scales_figure(N.return_scales(r, d)).data) == 3
    mb = N.minibatch_advantages(torch.randn(32, dtype=torch.float64), 4)
    assert len(FN.advantage_histogram_figure(mb.raw[0], mb.normalized[0], 0).data) == 2
    assert len(FN.minibatch_stats_figure(mb).data) == 2
    assert len(FN.minibatch_size_figure(N.minibatch_size_effect(mb.raw, (2, 8))).data) == 3
    demo = N.message_norm_demo(steps=3, batch_size=8, device=CPU)
    assert len(FN.message_norm_figure(demo, 1).data) == 8
    assert len(FN.message_histogram_figure(demo, 1).data) == 8


@pytest.mark.parametrize("T", [1, 2, 7, 33])
def test_prefix_moments_scan_equals_sequential_updates(T):
    rng = np.random.default_rng(T)
    x = rng.standard_normal((T, 5, 3)) * rng.uniform(0.1, 30, (T, 1, 3)) + rng.uniform(-50, 50, (T, 1, 3))
    bvar, bmean = x.var(1), x.mean(1)
    mean, var, count = N.prefix_moments(torch.from_numpy(bmean), torch.from_numpy(bvar), 5)
    ref = GymRMS(shape=(3,))
    for t in range(T):
        ref.update(x[t])
        np.testing.assert_allclose(mean[t].numpy(), ref.mean, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(var[t].numpy(), ref.var, rtol=1e-11)
        np.testing.assert_allclose(count[t].numpy(), ref.count, rtol=1e-14)


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
