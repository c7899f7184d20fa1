"""The compiled PPO path (toolbox.ppo.compiled) computes the readable reference's iterations
(toolbox.ppo.reference) for every variant of the ablation menu, to float rounding; its building
blocks equal their tensor twins; a run learns CartPole on it; a run inside a split group (two
threads) equals the run alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.ppo_paths import SEED, Tolerances, compare
from toolbox import rng
from toolbox.envs.cartpole import BatchedCartPole
from toolbox.lessons.ppo.variants import variants
from toolbox.ppo import agent as A
from toolbox.ppo import compiled_kernel as K
from toolbox.ppo import kernels
from toolbox.ppo.compiled import CompiledGroup, choose_backend
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.layout import TOWER
from toolbox.ppo.result import DEBUG_KEYS
from toolbox.ppo.train import train, train_pairs

CPU = torch.device("cpu")


# Later iterations start from parameters that Adam moved by ±lr wherever a gradient is at rounding
# level (lr is 20x CleanRL's in these tests), and the kernel's sums run in another order than
# torch's: 1e-4.
COMPILED_TOLERANCES = Tolerances(later=1e-4)


def _compare(config: PPOConfig):
    def compiled_group(c: PPOConfig) -> CompiledGroup:
        return CompiledGroup([c], [SEED], CPU)

    return compare(config, make_group=compiled_group, tol=COMPILED_TOLERANCES)


@pytest.mark.parametrize("name", list(variants()))
def test_compiled_equals_reference(name):
    result = _compare(variants()[name])
    if name == "all on":
        assert result.debug["clipfrac"][-1] > 0.05


def test_a_run_is_the_same_alone_and_in_a_group_split_across_threads():
    """Runs are independent in the compiled loop: run (config, seed) inside a 3-run group trained by
    two threads gets exactly the numbers it gets alone."""
    configs = [PPOConfig(total_timesteps=4 * 512), PPOConfig(total_timesteps=4 * 512,
                                                             norm_obs=True),
               PPOConfig(total_timesteps=4 * 512, ent_coef=0.0)]
    group = train_pairs([(c, 5) for c in configs], device="cpu", backend="compiled", threads=2)
    alone = train_pairs([(configs[1], 5)], device="cpu", backend="compiled")
    np.testing.assert_array_equal(group[1].episode_returns, alone[0].episode_returns)
    for key in DEBUG_KEYS:
        np.testing.assert_array_equal(group[1].debug[key], alone[0].debug[key], err_msg=key)


@pytest.mark.slow
def test_compiled_run_learns_cartpole():
    """Learning is the test of learning code: CleanRL's defaults, 100k steps, seed 1, on the
    compiled path reach a mean return over the last 10 episodes far above a random policy's ~22
    (measured: see the assertion)."""
    (res,) = train(PPOConfig(total_timesteps=100_000), [1], device="cpu", backend="compiled")
    assert np.mean(res.episode_returns[-10:]) > 150


def test_blocks_equal_their_tensor_twins():
    """The kernels' tower forward/backward equal toolbox.ppo.agent's (the tensor path's) on random
    parameters, and the in-loop random numbers equal toolbox.rng's bit for bit (uniforms, shuffles,
    reset noise)."""
    torch.manual_seed(0)
    theta = torch.randn(1, A.PARAMS_PER_TOWER) * 0.3
    x = torch.randn(1, 37, 4)
    theta.requires_grad_(True)
    out = A.forward(theta, x, 1)
    th = theta[0].detach().numpy().copy()
    h1, h2, y = (np.empty((37, n), np.float32) for n in (64, 64, 3))
    K.tower_forward(th, TOWER, x[0].numpy().copy(), h1, h2, y)
    np.testing.assert_allclose(y, out[0].detach().numpy(), rtol=1e-5, atol=1e-6)
    dout = torch.randn(1, 37, 3)
    (grad,) = torch.autograd.grad((out * dout).sum(), theta)  # the vector-Jacobian product
    g = np.zeros_like(th)
    K.tower_backward(th, TOWER, g, x[0].numpy().copy(), h1, h2, dout[0].numpy().copy(),
                     np.empty((37, 64), np.float32), np.empty((37, 64), np.float32))
    np.testing.assert_allclose(g, grad[0].numpy(), rtol=1e-4, atol=1e-5)
    keys = torch.tensor([12345, 2**32 - 7, 0])
    for counter in (0, 1, 977, 2**31 + 3):
        ref = rng.uniform(keys, counter, 300)
        code = kernels.counter_code(counter)
        ours = np.array([[kernels.uniform32(int(k), code, j) for j in range(300)] for k in keys])
        np.testing.assert_array_equal(ours, ref.numpy())
        perm = np.empty(300, np.int64)
        kernels.permutation(int(keys[0]), counter, 300, perm)
        np.testing.assert_array_equal(perm, torch.argsort(ref[0], stable=True).numpy())
    env = BatchedCartPole(3, env_keys=keys)
    out = np.empty(4)
    for counter in range(130):
        expected = env._reset_noise()
        for i in range(3):
            kernels.reset_noise(int(keys[i]), counter, out)
            np.testing.assert_array_equal(out, expected[i].numpy())


def test_tanh_is_within_rounding_of_torch():
    z = np.linspace(-20, 20, 200_001, dtype=np.float32).reshape(1, -1)
    ours = np.empty_like(z)
    K.dense(z.reshape(-1, 1), np.ones((1, 1), np.float32), np.zeros(1, np.float32),
            ours.reshape(-1, 1), True)
    np.testing.assert_allclose(ours, torch.tanh(torch.from_numpy(z)).numpy(), rtol=0, atol=4e-7)


def test_backend_choice():
    assert choose_backend("auto", torch.device("cpu")) == "compiled"
    assert choose_backend("auto", torch.device("cuda")) == "tensor"
    with pytest.raises(ValueError, match="CPU only"):
        choose_backend("compiled", torch.device("cuda"))
    with pytest.raises(ValueError, match="backend must be one of"):
        choose_backend("jax", torch.device("cpu"))


def test_cartpole_step_equals_the_tensor_environment():
    """kernels.cartpole_step plus the caller's same-step reset is BatchedCartPole.step_fast: the
    same flags on every step and the same float64 states to the last bit or two (the C library's
    sin/cos here, NumPy's SIMD ones there; Gymnasium itself calls the C library's through Python's
    math module), with the trajectory re-synchronised each step so a difference cannot grow."""
    keys = torch.tensor([11, 22, 33, 44])
    env = BatchedCartPole(4, env_keys=keys)
    env.reset()
    state = env.state.numpy().copy()
    elapsed = np.zeros(4, np.int64)
    fin = np.empty(4, np.float32)
    actions = torch.from_numpy(np.random.default_rng(0).integers(0, 2, (600, 4)))
    ends = 0
    for t in range(600):
        obs, term, trunc, final = env.step_fast(actions[t])
        for i in range(4):
            te, tr = kernels.cartpole_step(state[i], bool(actions[t, i]), elapsed[i:i + 1], fin)
            np.testing.assert_allclose(fin, final[i].numpy(), rtol=1e-6, atol=1e-7)
            assert (te, tr) == (bool(term[i]), bool(trunc[i]))
            if te or tr:
                # counter 0 was the initial reset
                kernels.reset_noise(int(keys[i]), t + 1, state[i])
                elapsed[i] = 0
                ends += 1
        np.testing.assert_allclose(state, env.state.numpy(), rtol=1e-14, atol=1e-15)
        state[:] = env.state.numpy()
    assert ends > 20
