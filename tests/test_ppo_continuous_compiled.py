"""The compiled continuous-PPO path (toolbox.ppo.continuous.compiled) computes the readable
reference's iterations for every toggle, in float64, to rounding; its hand-written minibatch
gradient equals ``torch.func.grad`` of the reference's loss per parameter block; runs are
independent of their batch and threads; episodes and ``target_kl`` are the reference's; float32
stays near; and "all on" learns Pendulum on it.

Numba compiles the kernels twice here (float64 for the equality checks, float32 for speed), about
20 s each on an empty cache; the disk cache (:func:`toolbox.jit.cache_dir`) makes later runs load
them in about a second."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from torch.func import functional_call, grad

from tests.test_ppo_continuous import SEEDS, SMALL, VARIANTS, _max_relative_error, _variant
from toolbox.ppo.continuous import layout as L
from toolbox.ppo.continuous import stacked
from toolbox.ppo.continuous.analysis import final_score
from toolbox.ppo.continuous.args import PENDULUM
from toolbox.ppo.continuous.compiled import CompiledPPO
from toolbox.ppo.continuous.kernel_net import Coefs, Minibatch, Work, minibatch_grad
from toolbox.ppo.continuous.reference import Agent, ReferencePPO, ppo_loss

F64 = torch.float64
TOL = 1e-11
"""float64, two iterations (2 rollouts, 16 Adam steps): the kernel does the reference's operations
in other orders (BLAS products, fused multiply-adds in the networks, its own sums), ~1e-16 relative
per operation. Measured per toggle: at most 1.3e-13 (state-dependent σ); 1e-11 leaves room and
fails on any real difference (a wrong detail moves parameters by ≥ 1e-4 relative,
``tests/test_ppo_continuous.py::test_every_toggle_changes_the_run``)."""


@functools.cache
def _reference_runs(name: str, dtype: torch.dtype = F64) -> tuple[ReferencePPO, ...]:
    """The reference's runs of variant ``name`` after two iterations (shared by tests)."""
    runs = tuple(ReferencePPO(_variant(name), s, dtype=dtype) for s in SEEDS)
    for _ in range(2):
        for run in runs:
            run.run_iteration()
    return runs


@pytest.mark.parametrize("name", VARIANTS)
def test_compiled_runner_equals_reference_for_every_toggle(name):
    compiled = CompiledPPO(_variant(name), SEEDS, dtype=F64)
    compiled.run_iterations(2)
    assert _max_relative_error(compiled, _reference_runs(name)) < TOL


def test_variants_trained_together_equal_their_own_references():
    """Every toggle flipped in one call (18 variants × 2 seeds: shared trunks beside separate
    networks, fixed beside learned σ), each run equal to its own variant's reference run."""
    compiled = CompiledPPO([_variant(n) for n in VARIANTS], SEEDS, dtype=F64)
    for _ in range(2):
        compiled.run_iteration()
    runs = [run for n in VARIANTS for run in _reference_runs(n)]
    assert compiled.K == 2 and len(runs) == compiled.R == 2 * len(VARIANTS)
    assert _max_relative_error(compiled, runs) < TOL


def test_episodes_and_target_kl_are_the_references():
    """256 steps per environment (one 200-step episode each) and early stopping: episode returns
    and steps equal the reference's, and the epochs stop where the reference stops (after the
    first of two: approx KL exceeds the tiny target at once)."""
    args = SMALL.replace(num_steps=128, total_timesteps=512, target_kl=1e-5)
    compiled = CompiledPPO(args, SEEDS, dtype=F64)
    compiled.run_iterations(2)
    runs = [ReferencePPO(args, s, dtype=F64) for s in SEEDS]
    for run in runs:
        run.run_iteration(), run.run_iteration()
    assert (compiled.debug["approx_kl"] > args.target_kl).all()
    assert _max_relative_error(compiled, runs) < TOL
    for r, run in enumerate(runs):
        assert compiled.episode_steps[r] == run.episode_steps == [400, 400]
        np.testing.assert_allclose(compiled.episode_returns[r], run.episode_returns, rtol=1e-12)


def test_a_run_is_the_same_alone_and_in_a_batch_split_across_threads():
    """Runs are independent in the compiled loop: a run inside a 6-run batch trained by two
    threads gets exactly the numbers it gets alone (float32)."""
    variants = [SMALL, SMALL.replace(norm_obs=False), SMALL.replace(shared_network=True)]
    batch = CompiledPPO(variants, SEEDS, threads=2)
    alone = CompiledPPO(variants[2], SEEDS[1:])
    batch.run_iterations(2), alone.run_iterations(2)
    for name, p in alone.params.items():
        np.testing.assert_array_equal(batch.params[name][5], p[0], err_msg=name)
    np.testing.assert_array_equal(batch.advantages[5], alone.advantages[0])


def test_float32_stays_near_the_reference():
    """float32 rounds each operation at 6e-8 (and tanh is a rational approximation within 3e-7);
    Adam's normalized steps carry those differences: measured 1.5e-6 relative after 2
    iterations; 1e-4 bounds it, as for the tensor runner. (Against the float32 reference: the
    initial parameters are drawn in the runner's precision, other numbers in float32 and
    float64.)"""
    compiled = CompiledPPO(SMALL, SEEDS)
    compiled.run_iterations(2)
    assert _max_relative_error(compiled, _reference_runs("all on", torch.float32)) < 1e-4


# --- the hand-written gradient, per parameter block ----------------------------------------------
M = 64
GRAD_TOL = 1e-12
"""Per-block relative error ``‖g − g_ref‖ / ‖g_ref‖`` of the kernel's float64 gradient against
``torch.func.grad`` of the reference loss, float64: measured ≤ 1.4e-15 over the cases below (sums
of 64 rows in another order); 1e-12 leaves a factor 700."""
CASES = {
    "all on": SMALL,
    "state-dependent σ": SMALL.replace(state_independent_std=False),
    "σ fixed at 1": SMALL.replace(gaussian_policy=False),
    "shared trunk": SMALL.replace(shared_network=True),
    "no clipping, no normalization": SMALL.replace(clip_surrogate=False, clip_vloss=False,
                                                   norm_adv=False),
    "other coefficients": SMALL.replace(ent_coef=0.05, vf_coef=1.0, clip_coef=0.1),
}


def _minibatch(args, seed: int = 0):
    """The reference's initial parameters moved off zero (heads included) as ``theta (K, P)``,
    and a minibatch whose ratios and values fall on both sides of the clip ranges."""
    gen = torch.Generator().manual_seed(seed)
    K = 1 if args.shared_network else 2
    theta = stacked.init_theta([args], [seed], K, F64, "cpu")
    theta += 0.05 * torch.randn(theta.shape, generator=gen, dtype=F64) * (theta != 0)
    x = torch.randn(M, 3, generator=gen, dtype=F64)
    agent = Agent(args, seed, F64)
    agent.load_state_dict(_named(theta, args), strict=False)
    with torch.no_grad():
        action = agent(x, z=torch.randn(M, 1, generator=gen, dtype=F64))[0]
        _, logp, _, value = agent(x, action)
    noise = [torch.randn(M, generator=gen, dtype=F64) for _ in range(4)]
    mb = dict(x=x, action=action[:, 0], logprob=logp + 0.3 * noise[0], advantage=noise[1],
              ret=value[:, 0] + noise[2], value=value[:, 0] + 0.3 * noise[3])
    return theta, mb


def _named(theta: torch.Tensor, args) -> dict[str, torch.Tensor]:
    """One run's rows ``(K, P)`` in the reference's parameter names and shapes."""
    return {k: v[0] for k, v in stacked.reference_params(theta, theta.shape[0],
                                                          [args.shared_network]).items()}


def reference_grad(args, theta, mb) -> dict[str, torch.Tensor]:
    """``torch.func.grad`` of :func:`~toolbox.ppo.continuous.reference.ppo_loss` at ``theta``."""
    agent = Agent(args, 0, F64)
    names = dict(agent.named_parameters())

    def loss(params):
        _, newlogprob, entropy, newvalue = functional_call(agent, params, (mb["x"], mb["action"]
                                                                           .unsqueeze(-1)))
        return ppo_loss(newlogprob, entropy, newvalue.view(-1), mb["logprob"], mb["advantage"],
                        mb["ret"], mb["value"], args)[0]

    return grad(loss)({k: v for k, v in _named(theta, args).items() if k in names})


def kernel_grad(args, theta, mb) -> dict[str, torch.Tensor]:
    """``minibatch_grad``'s gradient, in the reference's names."""
    th = theta.numpy().copy()
    grads, f = np.zeros((2, th.shape[1])), np.float64
    work = Work(np.empty((2, M, 64)), np.empty((2, M, 64)), np.empty((2, M, 3)),
                np.zeros((2, M, 3)), np.empty((M, 64)), np.empty((M, 64)))
    batch = Minibatch(*(mb[k].numpy().astype(f).copy() for k in Minibatch._fields))
    fl = L.settings([args]).switches[0]
    minibatch_grad(fl, Coefs(args.clip_coef, args.ent_coef, args.vf_coef), batch, th[0],
                   th[-1], grads, work, np.zeros(len(L.DEBUG)))
    return _named(torch.from_numpy(grads[:theta.shape[0]]), args)


def rel_errors(ours, ref) -> dict[str, float]:
    """``{block: ‖ours − ref‖ / ‖ref‖}`` (the absolute error for a block that is zero)."""
    out = {}
    for name, r in ref.items():
        diff, norm = float((ours[name] - r).norm()), float(r.norm())
        out[name] = diff / norm if norm > 0 else diff
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_minibatch_gradient_per_block_equals_torch_func_grad(name):
    args = CASES[name]
    theta, mb = _minibatch(args)
    errors = rel_errors(kernel_grad(args, theta, mb), reference_grad(args, theta, mb))
    assert max(errors.values()) <= GRAD_TOL, errors


def test_the_check_fails_on_a_wrong_block():
    """Mutation: the actor's second-layer bias gradient 1e-11 too large. The whole-vector relative
    error stays under the tolerance (the block is 1.7 % of the gradient's norm); the per-block
    check names the block."""
    args = CASES["all on"]
    theta, mb = _minibatch(args)
    ref, ours = reference_grad(args, theta, mb), kernel_grad(args, theta, mb)
    ours["actor_trunk.2.bias"] = ours["actor_trunk.2.bias"] * (1 + 1e-11)
    flat = [torch.cat([g[k].reshape(-1) for k in ref]) for g in (ours, ref)]
    assert float((flat[0] - flat[1]).norm() / flat[1].norm()) < GRAD_TOL
    errors = rel_errors(ours, ref)
    assert [n for n, e in errors.items() if e > GRAD_TOL] == ["actor_trunk.2.bias"]


@pytest.mark.slow
def test_all_on_learns_pendulum_on_the_compiled_path():
    """Seed 0, the whole PENDULUM budget (102,400 steps), float32, about 1 s of one core once
    compiled. Bounds far from both ends (the tensor path, float32, scored −800 on seed 0; measured
    here: the first 16 episodes −1,2xx, the last 32 −716)."""
    compiled = CompiledPPO(PENDULUM, [0])
    compiled.run_iterations(PENDULUM.num_iterations)
    returns = compiled.episode_returns[0]
    assert len(returns) == PENDULUM.total_timesteps // 200
    first, last = float(np.mean(returns[:16])), final_score(returns)
    assert first < -1100 and last > -1000 and last - first > 250


def test_the_kernels_built_ahead_are_the_ones_a_run_calls():
    """``_build_kernels`` compiles (in two processes on a machine's first use) the signatures the
    run then calls: a run adds no specialization, and the two groups cover every kernel."""
    from toolbox.ppo.continuous import compiled_kernel as CK

    tiny = PENDULUM.replace(num_envs=2, num_steps=8, num_minibatches=2, update_epochs=1,
                            total_timesteps=32)
    ppo = CompiledPPO([tiny, tiny.replace(shared_network=True)], [3])
    kernels = [k for k, _ in ppo._kernel_calls()]
    assert set(kernels) == set(CK.ROLLOUT_KERNELS) | set(CK.UPDATE_KERNELS)
    assert not set(CK.ROLLOUT_KERNELS) & set(CK.UPDATE_KERNELS)
    before = {k: len(k.signatures) for k in kernels}
    ppo.run_iterations(2)
    assert {k: len(k.signatures) for k in kernels} == before
