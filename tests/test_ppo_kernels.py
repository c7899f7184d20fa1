"""Each compiled PPO kernel (toolbox.ppo.kernels, toolbox.ppo.compiled_kernel) against the readable
function it stands for, per parameter block with a relative error ``‖x − x_ref‖ / ‖x_ref‖``:

* ``minibatch_grad`` (forward, loss, hand-written backward) against ``torch.func.grad`` of the
  reference's loss (:mod:`toolbox.ppo.loss` on :class:`toolbox.ppo.reference.Agent` through
  ``functional_call``), in float64, per ``nn.Linear`` weight and bias of the reference agent;
* ``clip_grad_norm`` against ``torch.nn.utils.clip_grad_norm_``; ``adam`` against
``torch.optim.Adam``;
* ``gae_run`` against :func:`toolbox.ppo.loss.gae`; ``merge_moments`` against
  :func:`toolbox.running_stats.merge_moments`.

A per-block check is needed because a whole-vector error is dominated by the large weight matrices:
``test_the_check_fails_on_a_wrong_block`` shows a gradient wrong by 1e-4 on one bias passing the
whole-vector check and failing this one.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import functional_call, grad

from toolbox.ppo import agent as A
from toolbox.ppo import compiled_kernel as K
from toolbox.ppo import kernels
from toolbox.ppo import loss as L
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.reference import Agent
from toolbox.running_stats import merge_moments, normalize_advantages

M = 128
GRAD_TOL = 5e-6
"""Per-block relative error of the kernel's float32 gradient against float64 autograd. Argument:
each
entry is a sum over M = 128 rows of products through three layers; float32 rounds each term at
6e-8 and the sums' errors add like a random walk (√128 · 3 layers · 6e-8 ≈ 2e-6 of the block's
norm).
Measured over the four cases below: at most 6.6e-7 (a first-layer bias); 5e-6 leaves a factor 7.5,
while a block wrong by 1e-5 of its norm or more fails."""
ADAM_TOL = 1e-6
"""Adam's three steps from zero in float32 against torch's float32 Adam: the same formula rounded in
another order, a few float32 units (measured ≤ 1e-7 per block). This check found the kernel
computing
``1 − β₂`` in float32 (1.3e-5 off 0.001: errors of 9e-6 per block), fixed in the kernel."""


def _blocks(theta_k: np.ndarray | torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-tower rows ``(K, P)`` as the reference agent's named weights and biases
    (``module_parameters``)."""
    t = torch.as_tensor(np.asarray(theta_k)).to(torch.float64)
    return A.module_parameters(t, 1, 0)


def rel_errors(ours: dict[str, torch.Tensor], ref: dict[str, torch.Tensor]) -> dict[str, float]:
    """``{block: ‖ours − ref‖ / ‖ref‖}`` (0 for a block that is zero in both)."""
    out = {}
    for name, r in ref.items():
        diff = float(torch.linalg.vector_norm(ours[name].double() - r.double()))
        norm = float(torch.linalg.vector_norm(r.double()))
        out[name] = diff / norm if norm > 0 else diff
    return out


class _Call(torch.nn.Module):
    """``Agent.get_action_and_value`` as a module's forward, for ``functional_call``."""

    def __init__(self, agent):
        super().__init__()
        self.agent = agent

    def forward(self, x, action):
        return self.agent.get_action_and_value(x, action)


def reference_grad(
    cfg: PPOConfig, theta: np.ndarray, mb: dict[str, np.ndarray]
) -> dict[str, torch.Tensor]:
    """``torch.func.grad`` of the reference loss at parameters ``theta (K, P)``, float64, per
    block."""
    call = _Call(Agent(cfg, 0).double())
    d = {k: torch.as_tensor(v).double() for k, v in mb.items()}

    def loss(params):
        _, newlogprob, entropy, newvalue = functional_call(call, params, (d["x"], d["a"].long()))
        logratio = newlogprob - d["old_logp"]
        adv = normalize_advantages(d["adv"], 1e-8) if cfg.norm_adv else d["adv"]
        pg = L.pg_loss(logratio.exp(), adv, cfg.clip_coef, cfg.clip_surrogate)
        vl = L.v_loss(newvalue.view(-1), d["old_v"], d["ret"], cfg.clip_coef, cfg.clip_vloss)
        return L.total_loss(pg, vl, entropy.mean(), cfg.ent_coef, cfg.vf_coef)

    params = {f"agent.{n}": p for n, p in _blocks(theta).items()}
    g = grad(loss)(params)
    return {n.removeprefix("agent."): t for n, t in g.items()}


def _minibatch(cfg: PPOConfig, seed: int = 0):
    """Random parameters (heads away from zero) and a minibatch whose ratios and values fall on both
    sides of the clip ranges."""
    gen = torch.Generator().manual_seed(seed)
    Kt = 1 if cfg.shared_network else 2
    theta = A.init_params([seed], cfg.shared_network, True)
    theta = theta + 0.05 * torch.randn(theta.shape, generator=gen) * (theta != 0)
    x = torch.randn(1, M, 4, generator=gen)
    with torch.no_grad():
        out = A.forward(theta, x, Kt)[0]
    logp = torch.log_softmax(out[:, :2], -1)
    a = torch.randint(0, 2, (M,), generator=gen).float()
    cur = torch.where(a > 0, logp[:, 1], logp[:, 0])
    mb = {
        "x": x[0],
        "a": a,
        "old_logp": cur + 0.3 * torch.randn(M, generator=gen),
        "adv": torch.randn(M, generator=gen),
        "ret": out[:, 2] + torch.randn(M, generator=gen),
        "old_v": out[:, 2] + 0.3 * torch.randn(M, generator=gen),
    }
    return theta.numpy().copy(), {k: v.numpy().astype(np.float32).copy() for k, v in mb.items()}


def kernel_grad(cfg: PPOConfig, theta: np.ndarray, mb: dict[str, np.ndarray]) -> np.ndarray:
    """``minibatch_grad``'s gradient ``(K, P)``."""
    Kt, H = theta.shape[0], A.HIDDEN
    fl = np.array(
        [cfg.norm_adv, cfg.clip_surrogate, cfg.clip_vloss, cfg.clip_grad, False, False, False]
    )
    grads = np.zeros_like(theta)
    f32 = np.float32
    K.minibatch_grad(
        Kt,
        mb["x"],
        mb["a"],
        mb["old_logp"],
        mb["adv"].copy(),
        mb["ret"],
        mb["old_v"],
        cfg.clip_coef,
        cfg.ent_coef,
        cfg.vf_coef,
        fl,
        theta,
        np.empty((Kt, M, H), f32),
        np.empty((Kt, M, H), f32),
        np.empty((Kt, M, 3), f32),
        np.zeros((Kt, M, 3), f32),
        np.empty((M, H), f32),
        np.empty((M, H), f32),
        grads,
        np.zeros(6),
    )
    return grads


CASES = {
    "defaults": PPOConfig(),
    "shared trunk": PPOConfig(shared_network=True),
    "no clipping, no normalization": PPOConfig(
        clip_surrogate=False, clip_vloss=False, norm_adv=False
    ),
    "other coefficients": PPOConfig(ent_coef=0.05, vf_coef=1.0, clip_coef=0.1),
}


@pytest.mark.parametrize("name", list(CASES))
def test_minibatch_gradient_per_block_equals_torch_func_grad_of_the_reference_loss(name):
    cfg = CASES[name]
    theta, mb = _minibatch(cfg)
    ref = reference_grad(cfg, theta, mb)
    errors = rel_errors(_blocks(kernel_grad(cfg, theta, mb)), ref)
    assert len(errors) == (8 if cfg.shared_network else 12)
    assert max(errors.values()) <= GRAD_TOL, errors


def test_the_check_fails_on_a_wrong_block():
    """Mutation: the actor's second-layer bias gradient 1e-4 too large (2 % of the gradient's norm).
    The whole-vector relative error stays under the tolerance; the per-block check names the
    block."""
    cfg = CASES["defaults"]
    theta, mb = _minibatch(cfg)
    ref = reference_grad(cfg, theta, mb)
    g = kernel_grad(cfg, theta, mb)
    o, _, _ = A.OFFSETS["b2"]
    g[0, o : o + A.HIDDEN] *= 1 + 1e-4  # tower 0 is the actor
    errors = rel_errors(_blocks(g), ref)
    flat_ours = torch.cat([t.reshape(-1) for t in _blocks(g).values()])
    flat_ref = torch.cat([t.reshape(-1) for t in ref.values()])
    assert float((flat_ours - flat_ref).norm() / flat_ref.norm()) < GRAD_TOL
    assert [n for n, e in errors.items() if e > GRAD_TOL] == ["actor.2.bias"]


def test_clip_grad_norm_equals_torch():
    gen = torch.Generator().manual_seed(0)
    for max_norm, clip in ((0.5, True), (1e3, True), (0.5, False)):
        g = torch.randn(2, A.PARAMS_PER_TOWER, generator=gen)
        ours = g.numpy().copy()
        norm = kernels.clip_grad_norm(ours, max_norm, clip)
        rows = [g[k].clone() for k in range(2)]
        for t in rows:
            t.grad = t.clone()
        ref = torch.nn.utils.clip_grad_norm_(rows, max_norm if clip else float("inf"))
        assert abs(norm - float(ref)) <= 1e-6 * float(ref)
        errors = rel_errors(_blocks(ours), _blocks(torch.stack([t.grad for t in rows]).numpy()))
        assert max(errors.values()) <= 1e-6, errors


def test_adam_per_block_equals_torch_optim_adam():
    gen = torch.Generator().manual_seed(0)
    # from zero, so that each block's sum of updates is compared without the rounding of a large θ
    theta = torch.zeros(2, A.PARAMS_PER_TOWER)
    p = theta.clone().requires_grad_(True)
    opt = torch.optim.Adam([p], lr=2.5e-3, eps=1e-5)
    ours, m, v = theta.numpy().copy(), np.zeros_like(theta.numpy()), np.zeros_like(theta.numpy())
    scale = torch.ones(2, A.PARAMS_PER_TOWER)
    o, r, c = A.OFFSETS["b3"]
    scale[:, o : o + r * c] = 1e-4  # a block of tiny gradients: Adam's ε matters there
    for step in range(1, 4):
        g = torch.randn(theta.shape, generator=gen) * 1e-2 * scale
        p.grad = g.clone()
        opt.step()
        for k in range(2):
            kernels.adam(ours[k], g[k].numpy().copy(), m[k], v[k], step, 2.5e-3, 1e-5, 0.9, 0.999)
    errors = rel_errors(_blocks(ours), _blocks(p.detach().numpy()))
    assert max(errors.values()) <= ADAM_TOL, errors


def test_gae_run_equals_the_reference_gae():
    gen = torch.Generator().manual_seed(0)
    T, E = 64, 4
    rewards, values = torch.rand(T, E, generator=gen), torch.randn(T, E, generator=gen)
    dones = (torch.rand(T, E, generator=gen) < 0.05).float()
    next_value, next_done = torch.randn(E, generator=gen), torch.tensor([0.0, 1.0, 0.0, 0.0])
    for lam in (0.95, 1.0):
        ref = L.gae(
            rewards.double(),
            values.double(),
            dones.double(),
            next_value.double(),
            next_done.double(),
            0.99,
            lam,
        )
        ours = np.empty((T, E), np.float32)
        kernels.gae_run(
            rewards.numpy(),
            values.numpy(),
            dones.numpy(),
            next_value.numpy(),
            next_done.numpy(),
            0.99,
            lam,
            ours,
        )
        err = float((torch.from_numpy(ours).double() - ref).norm() / ref.norm())
        assert err <= 1e-6, (lam, err)  # float32 recursion over 64 steps: measured ~1e-7


def test_merge_moments_equals_the_running_statistics():
    rng_ = np.random.default_rng(0)
    mean, var, count = np.zeros(4), np.ones(4), np.array([1e-4])
    rm, rv, rc = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64), 1e-4
    for _ in range(5):
        x = rng_.normal(3.0, 2.0, (16, 4))
        kernels.merge_moments(mean, var, count, x)
        xt = torch.from_numpy(x)
        rm, rv, rc = merge_moments(rm, rv, rc, xt.mean(0), xt.var(0, correction=0), 16)
    assert abs(count[0] - rc) == 0
    for ours, ref in ((mean, rm), (var, rv)):
        assert (
            float((torch.from_numpy(ours) - ref).norm() / ref.norm()) <= 1e-12
        )  # float64, same order
