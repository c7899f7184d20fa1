"""Unit tests of toolbox.gumbel.relaxation and toolbox.gumbel.reparameterization against independent
references: torch.nn.functional.gumbel_softmax, closed-form Jacobians, scipy.stats, and the figure
builders."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from tests.gumbel_helpers import F3, P4, P4D, THETA3, gen
from toolbox import gumbel as G


def test_relaxed_experiment_matches_gumbel_softmax():
    ex = G.relaxed_experiment(torch.log(P4), 0.3, 30_000, generator=gen(23))
    y = G.gumbel_softmax(torch.log(P4).expand(30_000, 4), 0.3, generator=gen(23))
    assert torch.allclose(ex.samples, y) and torch.allclose(ex.mean_sample, y.mean(0))
    # argmax of a relaxed sample is a Gumbel-max sample, whatever τ
    counts = (ex.argmax_freqs.numpy() * 30_000).round()
    assert stats.chisquare(counts, 30_000 * P4D).pvalue > 1e-3


# ---------------------------------------------------------------------------------------------
# Gumbel-Softmax


def test_gumbel_softmax_is_softmax_of_logits_plus_same_noise():
    logits = torch.randn(4, 5, generator=gen(6))
    for tau in (0.1, 1.0, 7.0):
        y = G.gumbel_softmax(logits, tau, generator=gen(7))
        g = G.sample_gumbel(logits.shape, generator=gen(7))
        assert torch.allclose(y, torch.softmax((logits + g) / tau, -1), atol=1e-6)


def test_gumbel_softmax_matches_torch_in_distribution():
    n, tau = 100_000, 0.7
    logits = torch.log(P4).expand(n, 4)
    ours = G.gumbel_softmax(logits, tau, generator=gen(8))
    torch.manual_seed(9)
    ref = F.gumbel_softmax(logits, tau=tau)
    # mean vectors agree within 5 standard errors of their difference
    se = torch.sqrt(ours.var(0) / n + ref.var(0) / n)
    assert ((ours.mean(0) - ref.mean(0)).abs() < 5 * se).all()
    # argmax frequencies: two-sample chi-square (contingency table)
    table = np.stack([np.bincount(ours.argmax(-1).numpy(), minlength=4),
                      np.bincount(ref.argmax(-1).numpy(), minlength=4)])
    assert stats.chi2_contingency(table).pvalue > 1e-3
    # a marginal as a whole: two-sample KS on the first coordinate
    assert stats.ks_2samp(ours[:20_000, 0].numpy(), ref[:20_000, 0].numpy()).pvalue > 1e-3
    # power: a different temperature is detected by the same KS test
    other = F.gumbel_softmax(logits[:20_000], tau=1.4)
    assert stats.ks_2samp(ours[:20_000, 0].numpy(), other[:, 0].numpy()).pvalue < 1e-3


def test_hard_samples_are_one_hot_with_the_soft_gradient():
    w = torch.tensor([0.3, -1.0, 2.0, 0.5])
    theta_h = torch.log(P4).expand(64, 4).clone().requires_grad_(True)
    theta_s = theta_h.detach().clone().requires_grad_(True)
    y_hard = G.gumbel_softmax(theta_h, 0.5, hard=True, generator=gen(10))
    y_soft = G.gumbel_softmax(theta_s, 0.5, hard=False, generator=gen(10))
    assert set(torch.unique(y_hard.detach()).tolist()) <= {0.0, 1.0}
    assert torch.equal(y_hard.detach().sum(-1), torch.ones(64))
    assert torch.equal(y_hard.detach().argmax(-1), y_soft.detach().argmax(-1))
    (y_hard * w).sum().backward()
    (y_soft * w).sum().backward()
    assert torch.allclose(theta_h.grad, theta_s.grad, atol=1e-6)
    assert theta_h.grad.abs().sum() > 0


def test_relaxed_sample_jacobian_closed_form_and_straight_through():
    logits = torch.log(P4)
    soft = G.relaxed_sample_jacobian(logits, 0.8, generator=gen(11))
    y = torch.softmax((logits + soft.g) / 0.8, -1)
    assert torch.allclose(soft.y, y, atol=1e-6)
    assert torch.allclose(soft.jacobian, (torch.diag(y) - torch.outer(y, y)) / 0.8, atol=1e-6)
    hard = G.relaxed_sample_jacobian(logits, 0.8, hard=True, generator=gen(11))
    assert torch.equal(hard.y, F.one_hot(y.argmax(), 4).float())
    assert torch.allclose(hard.jacobian, soft.jacobian, atol=1e-6)


def test_jacobian_size_and_its_trend_in_tau():
    logits = torch.log(P4)
    for tau in (0.01, 0.1, 1.0, 10.0):
        for seed in range(6):
            jac = G.relaxed_sample_jacobian(logits, tau, generator=gen(seed))
            top = (logits.double() + jac.g.double()).topk(2).values
            assert jac.top_gap == pytest.approx(float(top[0] - top[1]), rel=1e-6)
            assert jac.max_abs == pytest.approx(float(jac.jacobian.abs().max()), rel=1e-6)
            # independent: finite difference in τ of the float64 closed-form Jacobian's size
            def size(t):
                y = torch.softmax((logits.double() + jac.g.double()) / t, -1)
                return ((torch.diag(y) - torch.outer(y, y)) / t).abs().max().item()
            assert jac.grows_as_tau_shrinks == (size(0.95 * tau) > size(tau)), (tau, seed)
    # far from a tie at tiny τ: entries vanish (the
    # page's τ = 0.01 view), and shrinking τ shrinks them
    far = G.relaxed_sample_jacobian(torch.tensor([3.0, 0.0, -3.0]), 0.01, generator=gen(1))
    assert far.top_gap > 0.5 and far.max_abs < 1e-20 and not far.grows_as_tau_shrinks
    # at a near tie, entries are about 1/(4τ) and grow as τ shrinks
    near = G.relaxed_sample_jacobian(torch.zeros(2), 10.0, generator=gen(1))
    assert near.top_gap < 10.0 and near.grows_as_tau_shrinks


def test_jacobian_figure_shows_tiny_entries_relative_to_their_maximum():
    from toolbox.figures import gumbel as FG

    J = torch.tensor([[1e-34, -1e-34], [-1e-34, 1e-34]])
    fig = FG.jacobian_figure(J, 0.01, hard=False)
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.allclose(np.abs(z), 1.0) and np.sign(z[0, 1]) == -1  # the pattern shows at any scale
    assert "max |entry| = 1e-34" in fig.layout.title.text
    assert fig.data[0].text[0][1] == "-1e-34"  # the cells print the actual values
    zero = FG.jacobian_figure(torch.zeros(2, 2), 0.01, hard=False)
    assert "exactly 0" in zero.layout.title.text


def test_gaussian_reparameterization_gradients():
    r = G.gaussian_reparameterization(1.5, 0.4, 8, generator=gen(12))
    assert torch.allclose(r.z, 1.5 + 0.4 * r.eps)
    assert torch.equal(r.dz_dmu, torch.ones(8))
    assert torch.allclose(r.dz_dsigma, r.eps)
    # the bounds are valid
    big = G.gaussian_reparameterization(-G.REPARAM_MAX, G.REPARAM_MAX, 8, generator=gen(12))
    assert torch.isfinite(big.z).all() and torch.allclose(big.dz_dsigma, big.eps)


def test_computation_graph_dot():
    dot = G.computation_graph_dot("gumbel_softmax", K=3, hard=True)
    assert dot.startswith("digraph") and "SoftmaxBackward" in dot and "theta" in dot
    gauss = G.computation_graph_dot("gaussian")
    assert "mu" in gauss and "sigma" in gauss and "MulBackward" in gauss


def test_temperature_sweep_limits_and_monotonicity():
    p = P4
    taus = G.log_grid(0.01, 100, 21)
    sw = G.temperature_sweep(torch.log(p), taus, 20_000, generator=gen(13))
    K = 4
    # τ → 0: one-hot samples whose mean is π; τ → ∞: uniform samples
    assert sw.mean_entropy[0] < 0.02 and sw.mean_max[0] > 0.99
    assert torch.allclose(sw.mean_sample[0], p, atol=0.015)
    assert abs(sw.mean_entropy[-1] - math.log(K)) < 1e-3
    assert abs(sw.mean_max[-1] - 1 / K) < 1e-2
    assert torch.allclose(sw.mean_sample[-1], torch.full((K,), 1 / K), atol=1e-2)
    # with shared noise, tempering is monotone: entropy rises and the max falls with τ
    assert (sw.mean_entropy.diff() > 0).all()
    assert (sw.mean_max.diff() < 0).all()
    # an independent check of one point: entropy via scipy on the same relaxed samples
    g = G.sample_gumbel((500, K), generator=gen(14))
    y = torch.softmax((torch.log(p) + g) / 0.5, -1).double().numpy()
    ours = G.sample_entropy(torch.log_softmax((torch.log(p) + g) / 0.5, -1)).double().numpy()
    assert np.allclose(ours, stats.entropy(y, axis=-1), atol=1e-5)


# ---------------------------------------------------------------------------------------------
# figure builders (data in, figure out)


def test_figure_builders_carry_the_data():
    import plotly.graph_objects as go

    from toolbox.figures import gumbel as FG

    p = P4.numpy()
    fig = FG.frequency_figure(p, p[::-1], 1000)
    assert np.allclose(fig.data[0].y, p) and np.allclose(fig.data[1].y,
                                                         p[::-1]) and "1,000" in fig.data[1].name
    sw = G.temperature_sweep(torch.log(P4), G.log_grid(0.1, 10, 5), 100, generator=gen(30))
    curve = FG.temperature_curve_figure(sw.taus, sw.mean_entropy, sw.mean_max, 0.5, 4)
    assert np.allclose(curve.data[0].y,
                       sw.mean_entropy.numpy()) and curve.layout.xaxis.type == "log"
    assert curve.layout.shapes[0].x0 == 0.5
    rx = G.relaxed_experiment(torch.log(P4[:3] / P4[:3].sum()), 0.5, 50, generator=gen(31))
    tern = FG.ternary_figure(rx.samples, rx.probs, 0.5)
    assert tern.data[0].type == "scatterternary" and np.allclose(tern.data[0].a,
                                                                 rx.samples[:, 0].numpy())
    samples = FG.relaxed_samples_figure(rx.samples[:5], 0.5)
    assert np.allclose(np.asarray(samples.data[0].y), rx.samples[:5].numpy().reshape(-1))
    es = G.estimator_sweep(THETA3, F3, [0.1, 1.0], 100, generator=gen(32))
    sweep = FG.estimator_sweep_figure(es.taus, es.bias, es.std, es.mc_error, 1.0)
    # 6 estimators × 2 panels + noise level
    assert sweep.layout.yaxis.type == "log" and len(sweep.data) == 13
    # Bengio's straight-through is exact for linear f: its float32 rounding (≈ 1e-8) is not drawn
    bengio = [d for d in sweep.data if d.legendgroup == "straight_through"]
    assert len(bengio) == 2 and all(np.isnan(np.asarray(d.y, dtype=float)).all() for d in bengio)
    assert np.isfinite(np.asarray(sweep.data[0].y, dtype=float)).all()
    est = {k: G.summarize_estimates(G.estimate_gradients(THETA3, F3, 1.0, k, 50, generator=gen(33)))
           for k in G.ESTIMATORS}
    bars = FG.gradient_bars_figure(es.exact, {k: v.mean for k, v in est.items()},
                                   {k: v.se for k, v in est.items()}, 1.0)
    assert np.allclose(bars.data[1].error_y.array, 2 * est["reinforce"].se.numpy())
    jac = FG.jacobian_figure(torch.eye(3), 1.0, hard=False)
    assert jac.data[0].type == "heatmap"
    # builders skip plotly's validation for speed: re-validate every figure here
    for fig in (fig, curve, tern, samples, bars, sweep, jac):
        go.Figure(fig.to_dict())
    with pytest.raises(ValueError):  # the check has teeth
        go.Figure({"layout": {"xaxis": {"not_a_property": 1}}})
