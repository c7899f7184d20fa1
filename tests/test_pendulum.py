"""BatchedPendulum against Gymnasium's Pendulum-v1, step by step from the same states and
actions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from toolbox.envs.pendulum import BatchedPendulum, PendulumVectorEnv, angle_normalize


def _gym_envs(n, seed):
    envs = [gym.make("Pendulum-v1") for _ in range(n)]
    for i, e in enumerate(envs):
        e.reset(seed=seed + i)
    return envs


def test_matches_gymnasium_step_by_step_through_a_whole_episode():
    """Random torques beyond ±2 (so the in-env clip is exercised) for 200 steps, from Gymnasium's
    state each step. States agree to 1e-14 relative: the same operations in the same order, 3u in
    float32, but torch's vectorized ``sin`` may differ from libm's by one float64 ulp. Rewards agree
    to 1e-9: Gymnasium squares the float32 torque with NumPy's *scalar* power (libm ``powf``),
    which in about 1 case in 1000 differs by one float32 ulp from the correctly rounded ``u·u``;
    0.001·ulp(4) < 1e-9."""
    n = 16
    envs = _gym_envs(n, 0)
    bat = BatchedPendulum(n, seed=0)
    bat.reset()
    bat.state = torch.tensor(np.stack([e.unwrapped.state for e in envs]), dtype=torch.float64)
    rs = np.random.default_rng(0)
    clipped = 0
    for t in range(1, 201):
        actions = rs.uniform(-3.0, 3.0, (n, 1)).astype(np.float32)
        clipped += int((np.abs(actions) > 2).sum())
        obs, rew, term, trunc, info = bat.step(torch.as_tensor(actions))
        for i, e in enumerate(envs):
            o, r, te, tr, _ = e.step(actions[i])
            np.testing.assert_allclose(info["final_obs"][i].numpy(), o, rtol=0, atol=1e-6)
            assert float(rew[i]) == pytest.approx(r, rel=0, abs=1e-9) and rew.dtype == torch.float64
            assert bool(term[i]) == te is False and bool(trunc[i]) == tr == (t == 200)
            if t < 200:
                np.testing.assert_allclose(
                    bat.state[i].numpy(), e.unwrapped.state, rtol=1e-14, atol=0
                )
                np.testing.assert_allclose(obs[i].numpy(), o, rtol=0, atol=1e-6)
        if t < 200:  # continue from Gymnasium's exact state, so ulp differences cannot grow
            bat.state = torch.tensor(
                np.stack([e.unwrapped.state for e in envs]), dtype=torch.float64
            )
    assert clipped > 500, "the test must drive the torque clip"
    # same-step autoreset: a fresh episode begins, θ̇ within the reset range
    assert torch.all(bat.elapsed == 0) and torch.all(bat.state[:, 1].abs() <= 1.0)


def test_speed_clip_and_angle_wrap_match_gymnasium():
    """States at the speed limit and angles far outside [-π, π] (several turns)."""
    states = [
        [3.1, 7.9],
        [-3.1, -7.9],
        [20.0, 8.0],
        [-20.0, -8.0],
        [np.pi, 0.0],
        [-np.pi, 0.0],
        [7.5, 3.0],
    ]
    for s in states:
        for a in (2.0, -2.0, 0.5):
            env = gym.make("Pendulum-v1")
            env.reset(seed=0)
            env.unwrapped.state = np.array(s, dtype=np.float64)
            o, r, _, _, _ = env.step(np.array([a], np.float32))
            bat = BatchedPendulum(1, seed=0)
            bat.reset()
            bat.state = torch.tensor([s], dtype=torch.float64)
            obs, rew, _, _, _ = bat.step(torch.tensor([[a]], dtype=torch.float32))
            assert float(rew[0]) == pytest.approx(r, rel=0, abs=1e-9)  # see the test above
            np.testing.assert_allclose(obs[0].numpy(), o, rtol=0, atol=1e-6)
            np.testing.assert_allclose(
                bat.state[0].numpy(), env.unwrapped.state, rtol=1e-14, atol=0
            )
    x = torch.linspace(-40, 40, 10001, dtype=torch.float64)
    want = ((x.numpy() + np.pi) % (2 * np.pi)) - np.pi
    np.testing.assert_array_equal(angle_normalize(x).numpy(), want)


def test_resets_uniform_and_env_streams_independent_of_batch_size():
    a = BatchedPendulum(3, seed=7).reset()
    b = BatchedPendulum(50, seed=7).reset()
    assert torch.equal(a, b[:3]), (
        "env i's reset draw must not depend on how many envs run alongside"
    )
    assert not torch.equal(BatchedPendulum(3, seed=8).reset(), a)
    env = BatchedPendulum(4000, seed=1)
    env.reset()
    th, thdot = env.state.unbind(-1)
    assert th.abs().max() <= np.pi and thdot.abs().max() <= 1.0
    assert abs(float(th.var()) - np.pi**2 / 3) < 0.1 and abs(float(thdot.var()) - 1 / 3) < 0.02


def test_spaces_equal_gymnasium_pendulum():
    reference = gym.make("Pendulum-v1")
    env = PendulumVectorEnv(3)
    assert env.single_observation_space == reference.observation_space
    assert env.single_action_space == reference.action_space
    assert reference.spec.max_episode_steps == 200


def test_vector_env_under_gymnasiums_own_vector_wrappers():
    """Gymnasium's vector wrappers accept it (they check the VectorEnv API), and the results keep
    the spaces: 400 steps cross one truncation with its same-step reset."""
    env = PendulumVectorEnv(5, seed=0)
    assert isinstance(env, gym.vector.VectorEnv)
    wrapped = gym.wrappers.vector.ClipAction(gym.wrappers.vector.RecordEpisodeStatistics(env))
    obs, _ = wrapped.reset(seed=1)
    assert obs.shape == (5, 3) and env.observation_space.contains(obs)
    ends = 0
    for _ in range(400):
        obs, rew, term, trunc, _ = wrapped.step(np.full((5, 1), 5.0, np.float32))
        assert env.observation_space.contains(obs) and rew.shape == (5,) and rew.dtype == np.float64
        ends += int(trunc.sum())
        assert not term.any()
    assert ends == 10


def test_bad_inputs():
    with pytest.raises(ValueError):
        BatchedPendulum(0)
    env = BatchedPendulum(2, seed=0)
    env.reset()
    with pytest.raises(ValueError):
        env.step(torch.zeros(2))
    with pytest.raises(ValueError):
        env.step(torch.tensor([[0.0], [float("nan")]]))
