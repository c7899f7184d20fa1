"""Unit tests of toolbox.gumbel.estimators and toolbox.gumbel.estimator_stats against independent
computations: autograd and finite differences of J, closed-form per-sample estimates, and bias ≈ 0
within Monte Carlo error for the unbiased estimators."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.gumbel_helpers import F3, THETA3, gen
from toolbox import gumbel as G


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
        ((torch.softmax(THETA3.double() + h * e, -1) - torch.softmax(THETA3.double() - h * e,
                                                                     -1)) * v).sum() / (2 * h)
        for e in torch.eye(3, dtype=torch.float64)
    ])
    assert torch.allclose(ours, fd, atol=1e-7)


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
    stds = [G.estimate_gradients(THETA3, F3, t, "gumbel_softmax", 20_000,
                                 generator=gen(17)).std(0).norm()
            for t in (2.0, 0.5, 0.1)]
    assert stds[0] < stds[1] < stds[2]


def test_straight_through_gumbel_gradient_equals_gumbel_softmax_for_linear_f_only():
    gs = G.estimate_gradients(THETA3, F3, 0.5, "gumbel_softmax", 1000, generator=gen(18))
    st = G.estimate_gradients(THETA3, F3, 0.5, "straight_through_gumbel", 1000, generator=gen(18))
    assert torch.allclose(gs, st, atol=1e-6)
    gs2 = G.estimate_gradients(THETA3, F3, 0.5, "gumbel_softmax", 1000, generator=gen(18),
                               downstream="square")
    st2 = G.estimate_gradients(THETA3, F3, 0.5, "straight_through_gumbel", 1000, generator=gen(18),
                               downstream="square")
    assert not torch.allclose(gs2, st2, atol=1e-3)


def closed_form_estimates(theta, f, tau, g, downstream):
    """Every estimator's per-sample gradient written out by hand (no autograd): {name: (n, K)}."""
    n, K = g.shape
    v = f if downstream == "linear" else f**2
    dh = (lambda s: torch.ones_like(s)) if downstream == "linear" else (lambda s: 2 * s)  # h'
    pi = torch.softmax(theta, -1)
    J = (pi * v).sum()
    z = (theta + g).argmax(-1)
    score = F.one_hot(z, K) - pi  # ∇θ log π_z = e_z − π
    loo = (v[z].sum() - v[z]) / (n - 1)
    y = torch.softmax((theta + g) / tau, -1)
    jac_t_f = y * (f - (y * f).sum(-1, keepdim=True)) / tau  # fᵀ (diag y − y yᵀ)/τ
    y_hard = F.one_hot(y.argmax(-1), K).to(y.dtype)
    return {
        "reinforce": v[z, None] * score,
        "reinforce_baseline": (v[z] - J)[:, None] * score,
        "reinforce_loo": (v[z] - loo)[:, None] * score,
        "gumbel_softmax": dh((y * f).sum(-1))[:, None] * jac_t_f,
        "straight_through_gumbel": dh((y_hard * f).sum(-1))[:, None] * jac_t_f,
        "straight_through": dh(f[z])[:, None] * (pi * (f - (pi * f).sum())),  # h'(f_z) fᵀ ∂π/∂θ
    }


@pytest.mark.parametrize("downstream", G.DOWNSTREAM)
def test_every_estimator_matches_its_closed_form_sample_by_sample(downstream):
    n, tau = 500, 0.5
    theta, f = THETA3.double(), F3.double()
    g = G.sample_gumbel((n, 3), generator=gen(19)).double()
    ref = closed_form_estimates(theta, f, tau, g, downstream)
    ours = G.estimate_all_gradients(theta, f, tau, n, generator=gen(19), downstream=downstream)
    assert set(ours) == set(G.ESTIMATORS) == set(ref)
    for name in G.ESTIMATORS:
        assert torch.allclose(ours[name], ref[name], atol=1e-9), name


@pytest.mark.parametrize("downstream", G.DOWNSTREAM)
@pytest.mark.parametrize("name", G.UNBIASED)
def test_unbiased_estimators_have_zero_bias_within_monte_carlo_error(name, downstream):
    n = 100_000
    est = G.estimate_gradients(THETA3.double(), F3.double(), 1.0, name, n, generator=gen(15),
                               downstream=downstream)
    exact = G.exact_gradient(THETA3.double(), F3.double(), downstream)
    se = est.std(0) / math.sqrt(n)
    assert ((est.mean(0) - exact).abs() < 4 * se).all()


def test_bengio_straight_through_is_exact_for_a_linear_objective_and_biased_otherwise():
    est = G.estimate_gradients(THETA3, F3, 0.5, "straight_through", 2000, generator=gen(25))
    exact = G.exact_gradient(THETA3, F3)
    assert torch.allclose(est, exact.expand(2000, 3), atol=1e-6)  # every sample: zero variance
    sq = G.estimate_gradients(THETA3.double(), F3.double(), 0.5, "straight_through", 100_000,
                              generator=gen(26), downstream="square")
    exact_sq = G.exact_gradient(THETA3.double(), F3.double(), "square")
    se = sq.std(0) / math.sqrt(100_000)
    assert (sq.mean(0) - exact_sq).norm() > 20 * se.norm()


# the lesson's default view: decreasing preset with K = 4, f(k) = k, linear objective
PI_DEFAULT = torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64)
F_DEFAULT = torch.arange(4, dtype=torch.float64)


def test_baseline_cuts_the_reinforce_spread_on_the_default_preset():
    logits = G.distribution_logits(G.preset_values("decreasing", 4), device="cpu").double()
    assert torch.allclose(logits.exp(), PI_DEFAULT)
    assert G.default_f(4) == F_DEFAULT.tolist()
    J = G.expected_objective(logits, F_DEFAULT)
    assert J == pytest.approx(1.0)
    # the numbers the page states: the spread falls from 1.30 to 0.76 with b = J
    none, with_j = G.reinforce_spread(logits, F_DEFAULT), G.reinforce_spread(logits, F_DEFAULT, J)
    assert (round(none, 2), round(with_j, 2)) == (1.30, 0.76)
    # independent check of the enumeration: Monte Carlo spread of the per-sample estimates
    n = 200_000
    every = G.estimate_all_gradients(logits, F_DEFAULT, 1.0, n, generator=gen(27),
                                     estimators=("reinforce", "reinforce_baseline",
                                                 "reinforce_loo"))
    for name, exact in (("reinforce", none), ("reinforce_baseline", with_j),
                        ("reinforce_loo", with_j)):
        assert every[name].var(0).sum().sqrt().item() == pytest.approx(exact, rel=0.01), name


def test_reinforce_spread_by_enumeration_matches_a_direct_sum():
    theta, f = THETA3.double(), F3.double()
    pi = torch.softmax(theta, -1)
    exact = G.exact_gradient(theta, f)
    for b in (0.0, 0.7, -2.0):
        # E over z of ‖ĝ − ∇J‖², written as a loop over the K categories
        var = sum(
            pi[k] * (((f[k] - b) * (torch.eye(3, dtype=torch.float64)[k] - pi) - exact) ** 2).sum()
            for k in range(3)
        )
        assert G.reinforce_spread(theta, f, b) == pytest.approx(math.sqrt(var), rel=1e-12)


def test_compare_estimators_summarises_the_per_sample_estimates():
    cmp = G.compare_estimators(THETA3, F3, 0.7, 3000, generator=gen(28), downstream="square")
    every = G.estimate_all_gradients(THETA3, F3, 0.7, 3000, generator=gen(28), downstream="square")
    assert list(cmp.rows) == list(G.ESTIMATORS)
    assert cmp.J == pytest.approx(float((torch.softmax(THETA3, -1) * F3**2).sum()), rel=1e-6)
    for name, est in every.items():
        est = est.double()
        row = cmp.rows[name]
        assert torch.allclose(row.mean, est.mean(0), atol=1e-6)
        assert torch.allclose(row.se, est.std(0) / math.sqrt(3000), atol=1e-6)
        assert row.std == pytest.approx(est.var(0).sum().sqrt().item(), rel=1e-6, abs=1e-9)
        assert row.bias == pytest.approx((est.mean(0) - cmp.exact.double()).norm().item(), rel=1e-5,
                                         abs=1e-7)


@pytest.mark.parametrize("downstream", G.DOWNSTREAM)
def test_estimate_all_gradients_equals_one_at_a_time(downstream):
    every = G.estimate_all_gradients(THETA3, F3, 0.3, 400, generator=gen(24), downstream=downstream)
    for name in G.ESTIMATORS:
        one = G.estimate_gradients(THETA3, F3, 0.3, name, 400, generator=gen(24),
                                   downstream=downstream)
        assert torch.allclose(every[name], one, atol=1e-6), name


def test_estimator_sweep_agrees_with_single_tau_estimates():
    taus = torch.tensor([0.1, 1.0, 100.0])
    sw = G.estimator_sweep(THETA3, F3, taus, 4000, generator=gen(20))
    assert torch.allclose(sw.exact, G.exact_gradient(THETA3, F3))
    for name in G.ESTIMATORS:
        assert sw.bias[name].shape == (3,) and sw.std[name].shape == (3,)
    # the τ-free estimators are flat; GS = ST-GS sample by sample for linear f
    for name in G.TAU_FREE:
        assert torch.allclose(sw.std[name], sw.std[name][0].expand(3)), name
    assert torch.allclose(sw.bias["straight_through"], torch.zeros(3), atol=1e-6)
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
