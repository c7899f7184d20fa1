"""toolbox.running_stats and toolbox.reward_scaling against independent references: Gymnasium's
wrappers and NumPy."""

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

from toolbox.reward_scaling import RewardScaler, reward_scaling_scan
from toolbox.running_stats import (
    ObsNormalizer,
    RunningMeanStd,
    merge_moments,
    normalize_advantages,
    prefix_moments,
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
    obs = (
        rng.standard_normal((T + 1, E, D)) * np.array([0.1, 2.0, 30.0, 1.0])
        + np.array([5, -3, 0, 100])
    ).astype(np.float32)
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
    # the prior is a pseudo-sample of weight 1e-4 with
    # mean 0 and variance 1: weighted moments, brute force
    w, n = 1e-4, len(data)
    mean = data.sum(0) / (n + w)
    var = (w * 1.0 + w * mean**2 + ((data - mean) ** 2).sum(0)) / (n + w)
    np.testing.assert_allclose(rms.mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(rms.var.numpy(), var, rtol=1e-12)
    np.testing.assert_allclose(rms.var.numpy(), data.var(0), rtol=1e-4)


def test_parallel_update_is_merge_order_invariant():
    rng = np.random.default_rng(3)
    chunks = [rng.standard_normal((int(n), 2)) * s + m for n, s, m in zip(rng.integers(1, 50, 12),
                                                                          rng.uniform(0.1, 9, 12),
                                                                          rng.uniform(-20, 20, 12))]
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
    # prior pseudo-sample (weight 1e-4, mean 0, var 1), so compare with brute force at prior weight
    # 2e-4
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


@pytest.mark.parametrize("T", [1, 2, 7, 33])
def test_prefix_moments_scan_equals_sequential_updates(T):
    rng = np.random.default_rng(T)
    x = rng.standard_normal((T, 5, 3)) * rng.uniform(0.1, 30, (T, 1, 3)) + rng.uniform(-50, 50,
                                                                                       (T, 1, 3))
    bvar, bmean = x.var(1), x.mean(1)
    mean, var, count = prefix_moments(torch.from_numpy(bmean), torch.from_numpy(bvar), 5)
    ref = GymRMS(shape=(3,))
    for t in range(T):
        ref.update(x[t])
        np.testing.assert_allclose(mean[t].numpy(), ref.mean, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(var[t].numpy(), ref.var, rtol=1e-11)
        np.testing.assert_allclose(count[t].numpy(), ref.count, rtol=1e-14)


def test_batched_runs_keep_independent_statistics():
    rng = np.random.default_rng(4)
    R = 3
    ours = RunningMeanStd((4,), batch_shape=(R,), device=CPU)
    refs = [GymRMS(shape=(4,)) for _ in range(R)]
    for n in [5, 1, 17]:
        x = rng.standard_normal((R, n, 4)) * rng.uniform(0.1, 10, (R, 1, 4)) + rng.uniform(
            -5, 5, (R, 1, 4)
        )
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
    assert float(rms.count) == pytest.approx(
        1e-4), "a rejected batch leaves the statistics untouched"


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
    env = NormalizeObservation(ReplayVectorEnv(obs, rewards, term, trunc,
                                               mode=AutoresetMode.NEXT_STEP))
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
        np.testing.assert_allclose(ours(torch.from_numpy(x)).numpy(), expect, rtol=1e-12,
                                   atol=1e-12)
    # an outlier far outside the stream is clipped to exactly ±10
    far = torch.tensor([[1e6, -1e6, 0.0, 100.0]], dtype=torch.float64)
    z = ours.normalize(far)
    assert float(z[0, 0]) == 10.0 and float(z[0, 1]) == -10.0


def test_obs_normalizer_on_real_cartpole_matches_gymnasium():
    envs = gym.make_vec("CartPole-v1", num_envs=4, vectorization_mode="sync")
    wrapped = NormalizeObservation(gym.make_vec("CartPole-v1", num_envs=4,
                                                vectorization_mode="sync"))
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
            torch.testing.assert_close(out[r], single[r](torch.from_numpy(x[r])), rtol=1e-12,
                                       atol=1e-12)



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
        r_ours = ours.scale(torch.from_numpy(rewards[t]), torch.from_numpy(term[t]),
                            torch.from_numpy(trunc[t]))
        # Gymnasium accumulates the return in float32; ours in float64
        np.testing.assert_allclose(r_ours.numpy(), r_gym, rtol=1e-5)
    np.testing.assert_allclose(float(ours.return_rms.var), env.return_rms.var, rtol=1e-5)
    np.testing.assert_allclose(ours.accumulated_reward.numpy(), env.accumulated_reward, rtol=1e-5,
                               atol=1e-6)


def test_reward_scaler_divides_by_return_std_not_reward_std():
    # constant reward 1 for long episodes: reward std is
    # 0, return std is large (returns grow to 1/(1-γ))
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
            torch.testing.assert_close(out[i], single[i].scale(torch.from_numpy(r[i]),
                                                               torch.from_numpy(d[i])), rtol=1e-12,
                                       atol=1e-12)


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


def test_reward_scaler_per_run_gamma_validation():
    with pytest.raises(ValueError, match="gamma"):
        RewardScaler(2, gamma=torch.tensor([0.9, 1.0]), batch_shape=(2,), device=CPU)
    with pytest.raises(ValueError, match="shape"):
        RewardScaler(2, gamma=torch.tensor([0.9, 0.99, 0.5]), batch_shape=(2,), device=CPU)


def test_reward_scaling_scan_matches_gymnasium():
    rng = np.random.default_rng(3)
    r = 0.5 + 2.0 * rng.standard_normal((200, 4))
    d = rng.random((200, 4)) < 1 / 15
    G, var, scaled = reward_scaling_scan(torch.from_numpy(r), torch.from_numpy(d), 0.95)
    obs = np.zeros((201, 4, 1), dtype=np.float32)
    env = NormalizeReward(ReplayVectorEnv(obs, r, d, np.zeros_like(d)), gamma=0.95)
    env.reset()
    for t in range(200):
        _, rg, *_ = env.step(np.zeros(4, dtype=np.int64))
        np.testing.assert_allclose(scaled[t].numpy(), rg, rtol=1e-5)
    assert float(var[-1]) == pytest.approx(env.return_rms.var, rel=1e-5)
    # a leading batch of discounts: each row equals the scan with that γ alone
    gammas = torch.tensor([0.5, 0.95], dtype=torch.float64)
    rb, db = torch.from_numpy(r).expand(2, 200, 4), torch.from_numpy(d).expand(2, 200, 4)
    _, _, scaled_b = reward_scaling_scan(rb, db, gammas[:, None, None])
    torch.testing.assert_close(scaled_b[1], scaled, rtol=1e-12, atol=1e-12)



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
        np.testing.assert_allclose(
            out[r].numpy(), (adv[r] - adv[r].mean()) / (adv[r].std(ddof=1) + 1e-8), rtol=1e-12
        )


def test_normalize_advantages_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        normalize_advantages(torch.ones(1))
    with pytest.raises(ValueError, match="NaN"):
        normalize_advantages(torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="eps"):
        normalize_advantages(torch.ones(4), eps=-1)

