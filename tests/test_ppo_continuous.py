"""Continuous-action PPO: the batched tensor runner equals the readable reference for every toggle,
the running statistics equal Gymnasium's wrappers, and the Gaussian policy's densities are right."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from toolbox.envs.pendulum import BatchedPendulum
from toolbox.ppo.continuous.args import CONTINUOUS_DETAILS, CORE_TOGGLES, Args
from toolbox.ppo.continuous.policy import gaussian_entropy, gaussian_log_prob
from toolbox.ppo.continuous.reference import Observe, ReferencePPO
from toolbox.ppo.continuous.tensor import TensorPPO

# Small enough for a test (2 × 16 transitions, 2 iterations of 2 epochs × 4 minibatches), with a
# large learning rate, a small ε and a tight observation clip so that every clip acts within two
# iterations.
SMALL = Args(
    num_envs=2,
    num_steps=16,
    num_minibatches=4,
    update_epochs=2,
    total_timesteps=128,
    learning_rate=3e-3,
    clip_coef=0.05,
    obs_clip=1.0,
)
SEEDS = (0, 1)
VARIANTS = ["all on"] + [f"{name} flipped" for name in CONTINUOUS_DETAILS + CORE_TOGGLES]


def _variant(name: str) -> Args:
    if name == "all on":
        return SMALL
    field = name.removesuffix(" flipped")
    return SMALL.replace(**{field: not getattr(SMALL, field)})


def _two_iterations(args, dtype):
    batched = TensorPPO(args, SEEDS, dtype=dtype)
    runs = [ReferencePPO(args, s, dtype=dtype) for s in SEEDS]
    for _ in range(2):
        batched.run_iteration()
        for run in runs:
            run.run_iteration()
    return batched, runs


def _max_relative_error(batched, runs):
    err = 0.0
    for i, run in enumerate(runs):
        for name, p in run.agent.named_parameters():
            p, q = p.detach(), batched.params[name][i].detach()
            err = max(err, float((p - q).abs().max() / p.abs().max()))
        for buf in ("obs", "actions", "logprobs", "rewards", "values", "advantages"):
            want = getattr(run, buf)
            got = getattr(batched, buf)[i]
            err = max(err, float((want - got).abs().max() / want.abs().max().clamp_min(1e-12)))
    return err


@pytest.mark.parametrize("name", VARIANTS)
def test_tensor_runner_equals_reference_for_every_toggle(name):
    """float64, so the comparison sees the algorithm and not float32 rounding: the two paths do the
    same operations except that the batched runner multiplies by ``baddbmm`` and steps a fused Adam
    (another summation order, ~1e-16 relative per operation). Over 2 rollouts and 16 Adam steps the
    largest
    difference measured is 1.2e-13 (shared network); 1e-11 leaves room and still fails on any real
    difference (a wrong detail moves parameters by ≥ 1e-4 relative, see the next test)."""
    batched, runs = _two_iterations(_variant(name), torch.float64)
    assert _max_relative_error(batched, runs) < 1e-11
    assert len(batched.episode_returns[0]) == 0  # 32 steps per env: no episode has ended


@pytest.mark.slow
def test_variants_trained_together_equal_their_own_references():
    """Every toggle flipped in one TensorPPO (18 variants × 2 seeds, one computation: toggles are
    per-run columns, a shared trunk uses one of a run's two towers) and each run equal to the
    reference run of its own variant and seed."""
    names = VARIANTS
    batched = TensorPPO([_variant(n) for n in names], SEEDS, dtype=torch.float64)
    runs = [
        ReferencePPO(a, s, dtype=torch.float64) for a, s in zip(batched.run_args, batched.run_seeds)
    ]
    for _ in range(2):
        batched.run_iteration()
        for run in runs:
            run.run_iteration()
    assert len(runs) == 2 * len(names)
    assert _max_relative_error(batched, runs) < 1e-11


def test_variants_must_share_the_structure():
    with pytest.raises(ValueError, match="num_steps"):
        TensorPPO([SMALL, SMALL.replace(num_steps=32)], SEEDS)


def test_float32_tensor_runner_stays_near_the_reference():
    """In float32 the summation-order differences are ~1e-7 per operation and Adam's normalized
    steps
    carry them: measured ≤ 4e-6 relative after 2 iterations; 1e-4 bounds it."""
    batched, runs = _two_iterations(SMALL, torch.float32)
    assert _max_relative_error(batched, runs) < 1e-4


# independent_actions acts only with two or more action components (Pendulum has one): its
# mathematics is tested on the policy functions below.
INERT_ON_PENDULUM = {"independent_actions flipped"}


@pytest.mark.parametrize("name", [v for v in VARIANTS[1:] if v not in INERT_ON_PENDULUM])
def test_every_toggle_changes_the_run(name):
    """The equality test above would pass for a toggle that does nothing: each one must act here."""
    base = ReferencePPO(SMALL, 0, dtype=torch.float64)
    flipped = ReferencePPO(_variant(name), 0, dtype=torch.float64)
    for _ in range(2):
        base.run_iteration(), flipped.run_iteration()
    a, b = base.agent.state_dict(), flipped.agent.state_dict()
    moved = max(float((a[k] - b[k]).abs().max()) for k in a if k in b and a[k].shape == b[k].shape)
    assert moved > 1e-4 or float((base.rewards - flipped.rewards).abs().max()) > 1e-4


def test_gaussian_policy_functions_equal_torch_distributions():
    gen = torch.Generator().manual_seed(0)
    mean, log_std, a = (torch.randn(5, 2, generator=gen, dtype=torch.float64) for _ in range(3))
    normal = torch.distributions.Normal(mean, log_std.exp())
    torch.testing.assert_close(gaussian_log_prob(a, mean, log_std), normal.log_prob(a).sum(-1))
    torch.testing.assert_close(gaussian_entropy(log_std), normal.entropy().sum(-1))
    # correlated components: W = 0 is the independent case, W ≠ 0 a full-covariance Gaussian
    zero = torch.zeros(2, 2, dtype=torch.float64)
    torch.testing.assert_close(
        gaussian_log_prob(a, mean, log_std, zero), normal.log_prob(a).sum(-1)
    )
    w = torch.tensor(
        [[9.0, 9.0], [0.7, 9.0]], dtype=torch.float64
    )  # only the strict lower part counts
    tril = torch.diag_embed(log_std.exp()) + torch.tensor(
        [[0.0, 0.0], [0.7, 0.0]], dtype=torch.float64
    )
    mvn = torch.distributions.MultivariateNormal(mean, scale_tril=tril)
    torch.testing.assert_close(gaussian_log_prob(a, mean, log_std, w), mvn.log_prob(a))
    torch.testing.assert_close(gaussian_entropy(log_std), mvn.entropy())


def test_observation_and_reward_pipeline_equals_gymnasiums_wrappers():
    """CleanRL's per-environment wrapper stack on gym.make("Pendulum-v1") (normalize, clip ±10,
    scale
    rewards, clip ±10) against :class:`Observe` with one statistic per environment, from the same
    states, over 199 steps (before the time limit, where CleanRL's wrapped reset merges one more
    observation). Gymnasium keeps the observation statistics in float32 (the space's dtype), the
    toolbox in float64: 1e-5 relative covers float32 rounding of the running moments."""
    E, args = 2, Args()
    env = BatchedPendulum(E, env_keys=torch.tensor([11, 12]))
    observe = Observe(args, (E,))
    got = observe.obs(env.reset())
    stacks = []
    for e in range(E):
        base = gym.make("Pendulum-v1").unwrapped  # our start state, then the wrappers see its obs
        base.reset(seed=e)
        base.state = env.state[e].numpy().copy()
        norm = gym.wrappers.NormalizeObservation(base)
        first = np.clip(norm.observation(base._get_obs()), -10, 10)
        np.testing.assert_allclose(got[e].numpy(), first, rtol=1e-5, atol=1e-5)
        w = gym.wrappers.TransformObservation(
            norm, lambda o: np.clip(o, -10, 10), norm.observation_space
        )
        w = gym.wrappers.NormalizeReward(w, gamma=args.gamma)
        w = gym.wrappers.TransformReward(w, lambda r: np.clip(r, -10, 10))
        stacks.append(w)
    rs, largest = np.random.default_rng(0), 0.0
    for _ in range(199):
        a = rs.uniform(-2, 2, (E, 1)).astype(np.float32)
        raw, reward, term, trunc, _ = env.step(torch.as_tensor(a))
        got_obs, got_rew = observe.obs(raw), observe.reward(reward, term, trunc)
        outs = [w.step(a[e]) for e, w in enumerate(stacks)]
        want_obs = np.stack([o[0] for o in outs])
        np.testing.assert_allclose(got_obs.numpy(), want_obs, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(got_rew.numpy(), [o[1] for o in outs], rtol=1e-5, atol=1e-8)
        largest = max(largest, float(got_rew.abs().max()))
    assert largest == 10.0, "the reward clip must act (early returns have a tiny running variance)"


def test_args_defaults_are_cleanrls_and_bad_values_are_explained():
    a = Args()
    assert (a.learning_rate, a.num_envs, a.num_steps, a.num_minibatches, a.update_epochs) == (
        3e-4,
        1,
        2048,
        32,
        10,
    )
    assert (a.ent_coef, a.gamma, a.gae_lambda, a.clip_coef, a.max_grad_norm) == (
        0.0,
        0.99,
        0.95,
        0.2,
        0.5,
    )
    assert (
        all(getattr(a, d) for d in CONTINUOUS_DETAILS if d != "shared_network")
        and not a.shared_network
    )
    with pytest.raises(ValueError, match="num_minibatches"):
        Args(num_minibatches=3).validate()
    with pytest.raises(ValueError, match="target_kl"):
        TensorPPO(SMALL.replace(target_kl=0.01), [0])
