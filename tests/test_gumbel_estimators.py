"""Unit tests of toolbox.gumbel.estimators and toolbox.gumbel.estimator_stats against independent
computations: autograd and finite differences of J, closed-form per-sample estimates, and bias ≈ 0
within Monte Carlo error for the unbiased estimators."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from toolbox import gumbel as G


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


F3 = torch.tensor([1.0, 0.0, 2.0])
THETA3 = torch.log(torch.tensor([0.5, 0.3, 0.2]))

@pytest.mark.parametrize("downstream", G.DOWNSTREAM)
def test_exact_gradient_matches_autograd_and_finite_differences(downstream):
    theta = THETA3.clone().double().requires_grad_(True)
    f = F3.double()
    v = f if downstream == "linear" else f**2
    J = (torch.softmax(theta, -1) * v).sum()
    (auto,) = torch.autograd.grad(J, theta)
    ours = G.exact_gradient(THETA3.double(), f, downstream)
    assert torch.allclose(ours, auto, atol=1e-12)
    h = 1e-6
    fd = torch.stack([
        ((torch.softmax(THETA3.double() + h * e, -1) - torch.softmax(THETA3.double() - h * e, -1)) * v).sum() / (2 * h)
        for e in torch.eye(3, dtype=torch.float64)
    ])
    assert torch.allclose(ours, fd, atol=1e-7)


@pytest.mark.parametrize("downstream", G.DOWNSTREAM)
def test_reinforce_is_unbiased_within_its_confidence_interval(downstream):
    n = 200_000
    est = G.estimate_gradients(THETA3, F3, 1.0, "reinforce", n, generator=gen(15), downstream=downstream)
    assert est.shape == (n, 3)
    exact = G.exact_gradient(THETA3, F3, downstream)
    se = est.std(0) / math.sqrt(n)
    assert ((est.mean(0) - exact).abs() < 4 * se).all()


def test_gumbel_softmax_bias_shrinks_as_tau_shrinks():
    n = 200_000
    exact = G.exact_gradient(THETA3, F3)
    biases, errs = [], []
    for tau in (2.0, 0.5, 0.1):
        est = G.estimate_gradients(THETA3, F3, tau, "gumbel_softmax", n, generator=gen(16))
        biases.append((est.mean(0) - exact).norm().item())
        errs.append((est.var(0).sum() / n).sqrt().item())
    assert biases[0] > biases[1] > biases[2]
    # the decrease is far outside Monte Carlo error, and the relaxation at τ = 2 is clearly biased
    assert biases[0] - biases[1] > 10 * (errs[0] + errs[1])
    assert biases[0] > 20 * errs[0]
    # …while the variance grows as τ shrinks: the bias-variance trade
    stds = [G.estimate_gradients(THETA3, F3, t, "gumbel_softmax", 20_000, generator=gen(17)).std(0).norm()
            for t in (2.0, 0.5, 0.1)]
    assert stds[0] < stds[1] < stds[2]


def test_straight_through_gradient_equals_gumbel_softmax_for_linear_f_only():
    gs = G.estimate_gradients(THETA3, F3, 0.5, "gumbel_softmax", 1000, generator=gen(18))
    st = G.estimate_gradients(THETA3, F3, 0.5, "straight_through_gumbel", 1000, generator=gen(18))
    assert torch.allclose(gs, st, atol=1e-6)
    gs2 = G.estimate_gradients(THETA3, F3, 0.5, "gumbel_softmax", 1000, generator=gen(18), downstream="square")
    st2 = G.estimate_gradients(THETA3, F3, 0.5, "straight_through_gumbel", 1000, generator=gen(18), downstream="square")
    assert not torch.allclose(gs2, st2, atol=1e-3)


def test_estimator_per_sample_values_match_closed_forms():
    n, tau = 500, 0.5
    g = G.sample_gumbel((n, 3), generator=gen(19))
    pi = torch.softmax(THETA3, -1)
    z = (THETA3 + g).argmax(-1)
    reinforce = F3[z, None] * (F.one_hot(z, 3) - pi)  # f_z (e_z − π)
    y = torch.softmax((THETA3 + g) / tau, -1)
    gs = y * (F3 - (y * F3).sum(-1, keepdim=True)) / tau  # fᵀ (diag y − y yᵀ)/τ
    assert torch.allclose(G.estimate_gradients(THETA3, F3, tau, "reinforce", n, generator=gen(19)), reinforce, atol=1e-5)
    assert torch.allclose(G.estimate_gradients(THETA3, F3, tau, "gumbel_softmax", n, generator=gen(19)), gs, atol=1e-5)


@pytest.mark.parametrize("downstream", G.DOWNSTREAM)
def test_estimate_all_gradients_equals_one_at_a_time(downstream):
    every = G.estimate_all_gradients(THETA3, F3, 0.3, 400, generator=gen(24), downstream=downstream)
    for name in G.ESTIMATORS:
        one = G.estimate_gradients(THETA3, F3, 0.3, name, 400, generator=gen(24), downstream=downstream)
        assert torch.allclose(every[name], one, atol=1e-6), name


def test_estimator_sweep_agrees_with_single_tau_estimates():
    taus = torch.tensor([0.1, 1.0, 100.0])
    sw = G.estimator_sweep(THETA3, F3, taus, 4000, generator=gen(20))
    assert torch.allclose(sw.exact, G.exact_gradient(THETA3, F3))
    for name in G.ESTIMATORS:
        assert sw.bias[name].shape == (3,) and sw.std[name].shape == (3,)
    # REINFORCE ignores τ; GS = ST sample by sample for linear f
    assert torch.allclose(sw.std["reinforce"], sw.std["reinforce"][0].expand(3))
    assert torch.allclose(sw.bias["gumbel_softmax"], sw.bias["straight_through_gumbel"])
    # the sweep's noise is the first draw of the generator, so τ = 1 reproduces estimate_gradients
    est = G.estimate_gradients(THETA3, F3, 1.0, "gumbel_softmax", 4000, generator=gen(20))
    assert torch.allclose(sw.mean["gumbel_softmax"][1], est.mean(0), atol=1e-6)
    assert torch.allclose(sw.std["gumbel_softmax"][1], est.var(0).sum().sqrt(), atol=1e-5)
    # at large τ the relaxation's gradient vanishes, so its bias tends to ‖exact‖
    assert sw.bias["gumbel_softmax"][2] == pytest.approx(sw.exact.norm().item(), rel=0.05)


def test_summarize_estimates_against_numpy():
    x = torch.randn(400, 3, generator=gen(21))
    s = G.summarize_estimates(x)
    assert np.allclose(s.mean.numpy(), x.numpy().mean(0), atol=1e-6)
    assert np.allclose(s.std.numpy(), x.numpy().std(0, ddof=1), atol=1e-5)
    assert np.allclose(s.se.numpy(), x.numpy().std(0, ddof=1) / 20, atol=1e-6)
