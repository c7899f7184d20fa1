"""BatchedCartPole against Gymnasium's CartPole-v1, step by step from the same states and
actions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from toolbox.envs.cartpole import BatchedCartPole, CartPoleVectorEnv


def _gym_envs(n, seed):
    envs = [gym.make("CartPole-v1") for _ in range(n)]
    for i, e in enumerate(envs):
        e.reset(seed=seed + i)
    return envs


def test_matches_gymnasium_step_by_step_with_random_actions():
    n, steps = 16, 120
    envs = _gym_envs(n, 0)
    bat = BatchedCartPole(n, seed=0)
    bat.reset()
    bat.state = torch.tensor(np.stack([e.unwrapped.state for e in envs]), dtype=torch.float64)
    rs = np.random.default_rng(0)
    alive = np.ones(n, bool)
    n_terminated = 0
    for _ in range(steps):
        actions = rs.integers(0, 2, n)
        obs, rew, term, trunc, info = bat.step(torch.as_tensor(actions))
        for i, e in enumerate(envs):
            if not alive[i]:
                continue
            o, r, te, tr, _ = e.step(int(actions[i]))
            np.testing.assert_allclose(info["final_obs"][i].numpy(), o, rtol=0, atol=1e-6)
            assert float(rew[i]) == r == 1.0
            assert bool(term[i]) == te and bool(trunc[i]) == tr
            if te or tr:
                alive[i] = False
                n_terminated += te
                # same-step autoreset: the returned observation starts a fresh episode
                assert torch.all(obs[i].abs() <= 0.05) and int(bat.elapsed[i]) == 0
            else:
                np.testing.assert_allclose(obs[i].numpy(), o, rtol=0, atol=1e-6)
                # float64 state agrees to rounding with Gymnasium's
                np.testing.assert_allclose(bat.state[i].numpy(), e.unwrapped.state, rtol=1e-12,
                                           atol=1e-12)
    assert n_terminated >= n // 2, "random actions should end most episodes within 120 steps"


def test_truncation_at_500_steps_like_timelimit():
    env = gym.make("CartPole-v1")
    env.reset(seed=3)
    bat = BatchedCartPole(1, seed=0)
    bat.reset()
    bat.state = torch.tensor(env.unwrapped.state, dtype=torch.float64).unsqueeze(0)
    # a balancing controller keeps the pole up for the whole episode
    for t in range(1, 501):
        s = bat.state[0]
        action = int(s[2] + 0.5 * s[3] + 0.01 * s[0] + 0.1 * s[1] > 0)
        o, r, te, tr, _ = env.step(action)
        obs, rew, term, trunc, info = bat.step(torch.tensor([action]))
        np.testing.assert_allclose(info["final_obs"][0].numpy(), o, atol=1e-5)
        assert bool(term[0]) == te and bool(trunc[0]) == tr
        if t < 500:
            assert not tr
    assert tr and not te, "the controller should survive to the time limit"
    assert int(bat.elapsed[0]) == 0 and torch.all(obs[0].abs() <= 0.05)


@pytest.mark.parametrize(
    "state,terminal",
    [
        ([2.39, 1.0, 0.0, 0.0], True),   # x crosses 2.4 after one step
        ([-2.39, -1.0, 0.0, 0.0], True),
        ([0.0, 0.0, 0.205, 1.0], True),  # θ crosses 12°
        ([0.0, 0.0, 0.1, 0.0], False),
    ],
)
def test_termination_thresholds_agree(state, terminal):
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    env.unwrapped.state = np.array(state, dtype=np.float64)
    _, _, te, _, _ = env.step(1)
    bat = BatchedCartPole(1, seed=0)
    bat.reset()
    bat.state = torch.tensor([state], dtype=torch.float64)
    _, _, term, _, _ = bat.step(torch.tensor([1]))
    assert te == terminal == bool(term[0])


def test_resets_uniform_and_env_streams_independent_of_batch_size():
    a = BatchedCartPole(3, seed=7).reset()
    b = BatchedCartPole(50, seed=7).reset()
    assert torch.equal(a,
                       b[:3]), "env i's reset noise must not depend on how many envs run alongside"
    assert not torch.equal(BatchedCartPole(3, seed=8).reset(), a)
    big = BatchedCartPole(4000, seed=1).reset()
    assert big.abs().max() <= 0.05 and abs(float(big.mean())) < 0.003
    assert abs(float(big.var()) - 0.1**2 / 12) < 1e-4  # variance of U(-0.05, 0.05)
    assert big.dtype == torch.float32 and big.shape == (4000, 4)


def test_vector_env_interface():
    env = CartPoleVectorEnv(5, seed=0)
    assert isinstance(env, gym.vector.VectorEnv)
    obs, info = env.reset(seed=1)
    assert obs.shape == (5, 4) and env.observation_space.contains(obs)
    total = 0
    for _ in range(60):
        obs, rew, term, trunc, info = env.step(env.action_space.sample())
        assert obs.shape == (5, 4) and rew.shape == (5,) and info["final_obs"].shape == (5, 4)
        total += int((term | trunc).sum())
    assert total > 0


def test_bad_inputs():
    with pytest.raises(ValueError):
        BatchedCartPole(0)
    env = BatchedCartPole(2, seed=0)
    env.reset()
    with pytest.raises(ValueError):
        env.step(torch.tensor([0, 1, 1]))


def test_numpy_cpu_path_equals_the_tensor_path():
    """step_fast uses NumPy on the CPU (fewer per-op costs) and tensors elsewhere: same numbers."""
    n = 64
    a, b = BatchedCartPole(n, seed=3), BatchedCartPole(n, seed=3)
    a.reset(), b.reset()
    rs = np.random.default_rng(1)
    for _ in range(700):  # many terminations and same-step resets (truncation: test above)
        actions = torch.as_tensor(rs.integers(0, 2, n))
        got = a._step_numpy(actions)
        want = b._step_tensor(actions)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.shape == w.shape
            torch.testing.assert_close(g, w, rtol=1e-15, atol=1e-15)
        torch.testing.assert_close(a.state, b.state, rtol=1e-15, atol=1e-15)
        assert torch.equal(a.elapsed, b.elapsed)
        a.state, b.state = a.state.clone(), a.state.clone()  # keep both on one trajectory


def test_spaces_equal_gymnasium_cartpole():
    import gymnasium as gym

    from toolbox.envs.cartpole import CartPoleVectorEnv

    reference = gym.make("CartPole-v1")
    env = CartPoleVectorEnv(3)
    assert env.single_observation_space == reference.observation_space
    assert env.single_action_space == reference.action_space
