"""Unit tests of toolbox.gumbel against independent references.

References used: closed-form Gumbel moments, scipy.stats (chi-square, Kolmogorov–Smirnov),
torch.nn.functional.gumbel_softmax, torch.autograd, and finite differences.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from toolbox import gumbel as G


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


P4 = torch.tensor([0.5, 0.3, 0.15, 0.05])
P4D = np.array([0.5, 0.3, 0.15, 0.05])  # float64 for scipy's sum check


# ---------------------------------------------------------------------------------------------
# Gumbel noise


def test_gumbel_moments_match_closed_form():
    n = 1_000_000
    g = G.sample_gumbel((n,), generator=gen(1)).double()
    var_true = math.pi**2 / 6
    se_mean = math.sqrt(var_true / n)
    # Gumbel excess kurtosis is 12/5, so Var(sample variance) ≈ (2 + 12/5) σ⁴ / n
    se_var = var_true * math.sqrt((2 + 12 / 5) / n)
    assert abs(g.mean().item() - np.euler_gamma) < 5 * se_mean
    assert abs(g.var().item() - var_true) < 5 * se_var
    assert torch.isfinite(g).all()


def test_gumbel_distribution_ks_against_scipy():
    g = G.sample_gumbel((20_000,), generator=gen(2)).numpy()
    assert stats.kstest(g, "gumbel_r").pvalue > 1e-3
    # a shifted distribution is rejected: the test has power
    assert stats.kstest(g + 0.1, "gumbel_r").pvalue < 1e-3


def test_sample_gumbel_shape_and_device():
    g = G.sample_gumbel((3, 4), generator=gen(), device="cpu")
    assert g.shape == (3, 4) and g.device.type == "cpu"


# ---------------------------------------------------------------------------------------------
# Gumbel-max sampling and the chi-square test


def test_gumbel_max_frequencies_match_probabilities():
    n = 100_000
    z = G.gumbel_max_sample(torch.log(P4), n, generator=gen(3))
    assert z.dtype == torch.long and z.shape == (n,)
    counts = np.bincount(z.numpy(), minlength=4)
    assert stats.chisquare(counts, n * P4D).pvalue > 1e-3
    # power: the same counts are rejected against a slightly different π
    wrong = np.array([0.48, 0.32, 0.15, 0.05])
    assert stats.chisquare(counts, n * wrong).pvalue < 1e-3


def test_gumbel_max_batched_logits():
    logits = torch.log(torch.stack([P4, P4.flip(0)]))  # (2, 4)
    z = G.gumbel_max_sample(logits, 50_000, generator=gen(4))
    assert z.shape == (50_000, 2)
    counts = G.category_counts(z, 4)
    assert counts.shape == (2, 4)
    for b, p in enumerate([P4, P4.flip(0)]):
        assert np.array_equal(counts[b].numpy(), np.bincount(z[:, b].numpy(), minlength=4))
        assert stats.chisquare(counts[b].numpy(), 50_000 * p.double().numpy() / p.double().sum().item()).pvalue > 1e-3


@pytest.mark.parametrize("counts,probs", [
    ([5034, 2926, 2040], [0.5, 0.3, 0.2]),
    ([60, 20, 20], [0.4, 0.3, 0.3]),
    ([10, 12, 9, 30, 7], [0.2] * 5),
])
def test_chi_square_matches_scipy(counts, probs):
    ours = G.chi_square_test(torch.tensor(counts), torch.tensor(probs, dtype=torch.float64))
    ref = stats.chisquare(np.array(counts), np.sum(counts) * np.array(probs, dtype=np.float64))
    assert ours.dof == len(counts) - 1
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-12)


def test_gumbel_max_experiment_summary():
    ex = G.gumbel_max_experiment(torch.log(P4), 40_000, generator=gen(22))
    z = G.gumbel_max_sample(torch.log(P4), 40_000, generator=gen(22))
    assert np.array_equal(ex.counts.numpy(), np.bincount(z.numpy(), minlength=4))
    assert np.allclose(ex.freqs.numpy(), ex.counts.numpy() / 40_000)
    assert np.allclose(ex.probs.numpy(), P4D, atol=1e-6)
    ref = stats.chisquare(ex.counts.numpy(), 40_000 * ex.probs.numpy())
    assert ex.chi_square.p_value == pytest.approx(ref.pvalue, rel=1e-6)


def test_relaxed_experiment_matches_gumbel_softmax():
    ex = G.relaxed_experiment(torch.log(P4), 0.3, 30_000, generator=gen(23))
    y = G.gumbel_softmax(torch.log(P4).expand(30_000, 4), 0.3, generator=gen(23))
    assert torch.allclose(ex.samples, y) and torch.allclose(ex.mean_sample, y.mean(0))
    # argmax of a relaxed sample is a Gumbel-max sample, whatever τ
    counts = (ex.argmax_freqs.numpy() * 30_000).round()
    assert stats.chisquare(counts, 30_000 * P4D).pvalue > 1e-3


def test_category_counts_matches_numpy():
    z = torch.randint(0, 7, (1000, 3), generator=gen(5))
    counts = G.category_counts(z, 7)
    for b in range(3):
        assert np.array_equal(counts[b].numpy(), np.bincount(z[:, b].numpy(), minlength=7))


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


def test_gaussian_reparameterization_gradients():
    r = G.gaussian_reparameterization(1.5, 0.4, 8, generator=gen(12))
    assert torch.allclose(r.z, 1.5 + 0.4 * r.eps)
    assert torch.equal(r.dz_dmu, torch.ones(8))
    assert torch.allclose(r.dz_dsigma, r.eps)


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
# gradient estimators


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
    st = G.estimate_gradients(THETA3, F3, 0.5, "straight_through", 1000, generator=gen(18))
    assert torch.allclose(gs, st, atol=1e-6)
    gs2 = G.estimate_gradients(THETA3, F3, 0.5, "gumbel_softmax", 1000, generator=gen(18), downstream="square")
    st2 = G.estimate_gradients(THETA3, F3, 0.5, "straight_through", 1000, generator=gen(18), downstream="square")
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
    assert torch.allclose(sw.bias["gumbel_softmax"], sw.bias["straight_through"])
    # the sweep's noise is the first draw of the generator, so τ = 1 reproduces estimate_gradients
    est = G.estimate_gradients(THETA3, F3, 1.0, "gumbel_softmax", 4000, generator=gen(20))
    assert torch.allclose(sw.mean["gumbel_softmax"][1], est.mean(0), atol=1e-6)
    assert torch.allclose(sw.std["gumbel_softmax"][1], est.var(0).sum().sqrt(), atol=1e-5)
    # at large τ the relaxation's gradient vanishes, so its bias tends to ‖exact‖
    assert sw.bias["gumbel_softmax"][2] == pytest.approx(sw.exact.norm().item(), rel=0.05)


# ---------------------------------------------------------------------------------------------
# inputs and presets


def test_logits_from_probs_and_presets():
    p = torch.tensor([0.2, 0.3, 0.5])
    assert torch.allclose(torch.softmax(G.logits_from_probs(p), -1), p)
    # rounding within tolerance is renormalised
    assert torch.allclose(torch.softmax(G.logits_from_probs([0.333, 0.333, 0.333]), -1), torch.full((3,), 1 / 3))
    for name in G.PRESETS:
        for K in (2, 3, 10):
            q = G.preset_probabilities(name, K)
            assert q.shape == (K,) and torch.isclose(q.sum(), torch.tensor(1.0)) and (q > 0).all()
    assert torch.allclose(G.preset_probabilities("decreasing", 3), torch.tensor([3, 2, 1]) / 6)
    assert G.preset_probabilities("one dominant", 4)[0] == pytest.approx(0.7)


def test_preset_values_and_distribution_logits():
    p = G.preset_values("zipf", 5, "probabilities")
    logits = G.preset_values("zipf", 5, "logits")
    assert np.allclose(np.exp(logits), p)
    assert torch.allclose(G.distribution_logits(p, "probabilities").double().softmax(-1), torch.tensor(p, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(G.distribution_logits([1.0, 2.0], "logits"), torch.tensor([1.0, 2.0]))
    assert G.default_f(3) == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="NaN"):
        G.distribution_logits([1.0, float("nan")], "logits")


def test_summarize_estimates_against_numpy():
    x = torch.randn(400, 3, generator=gen(21))
    s = G.summarize_estimates(x)
    assert np.allclose(s.mean.numpy(), x.numpy().mean(0), atol=1e-6)
    assert np.allclose(s.std.numpy(), x.numpy().std(0, ddof=1), atol=1e-5)
    assert np.allclose(s.se.numpy(), x.numpy().std(0, ddof=1) / 20, atol=1e-6)


def test_parse_numbers():
    assert G.parse_numbers("0.5, 0.3;0.2  1e-1") == [0.5, 0.3, 0.2, 0.1]
    assert math.isnan(G.parse_numbers("nan, 1")[0])
    with pytest.raises(ValueError, match="not a number"):
        G.parse_numbers("0.5, abc")
    with pytest.raises(ValueError, match="separated by commas"):
        G.parse_numbers(" , ")


LOGITS = torch.zeros(3)


@pytest.mark.parametrize("call,match", [
    (lambda: G.gumbel_softmax(LOGITS, 0.0), "greater than 0"),
    (lambda: G.gumbel_softmax(LOGITS, -1.0), "greater than 0"),
    (lambda: G.gumbel_softmax(LOGITS, float("nan")), "finite"),
    (lambda: G.gumbel_softmax(LOGITS, float("inf")), "finite"),
    (lambda: G.gumbel_softmax(torch.tensor([0.0, float("nan")]), 1.0), "NaN or infinity"),
    (lambda: G.gumbel_max_sample(torch.tensor([0.0, float("inf")]), 10), "NaN or infinity"),
    (lambda: G.gumbel_max_sample(torch.tensor([0.0, -float("inf")]), 10), "NaN or infinity"),
    (lambda: G.gumbel_max_sample(torch.zeros(1), 10), "at least K = 2"),
    (lambda: G.gumbel_max_sample(LOGITS, 0), "at least 1"),
    (lambda: G.gumbel_max_sample(LOGITS, 2.5), "whole number"),
    (lambda: G.gumbel_max_sample(LOGITS, 10**9), "fewer samples"),
    (lambda: G.logits_from_probs([0.5, 0.6]), "sum to 1"),
    (lambda: G.logits_from_probs([1.2, -0.2]), "negative"),
    (lambda: G.logits_from_probs([1.0, 0.0]), "greater than 0"),
    (lambda: G.logits_from_probs([float("nan"), 0.5]), "NaN"),
    (lambda: G.logits_from_probs([1.0]), "at least K = 2"),
    (lambda: G.exact_gradient(torch.zeros(1), [1.0]), "at least K = 2"),
    (lambda: G.exact_gradient(LOGITS, [1.0, 2.0]), "one number per category"),
    (lambda: G.exact_gradient(LOGITS, [1.0, 2.0, float("nan")]), "finite"),
    (lambda: G.estimate_gradients(LOGITS, F3, 1.0, "reinforcement", 10), "Unknown estimator"),
    (lambda: G.estimate_gradients(LOGITS, F3, 0.0, "gumbel_softmax", 10), "greater than 0"),
    (lambda: G.estimate_gradients(LOGITS, F3, 1.0, "reinforce", 0), "at least 1"),
    (lambda: G.estimate_gradients(LOGITS, F3, 1.0, "reinforce", 10, downstream="cube"), "Unknown downstream"),
    (lambda: G.temperature_sweep(LOGITS, [1.0, -1.0], 10), "greater than 0"),
    (lambda: G.estimator_sweep(LOGITS, F3, [1.0], 1), "at least 2 samples"),
    (lambda: G.preset_probabilities("spiky", 3), "Unknown preset"),
    (lambda: G.preset_values("uniform", 3, "odds"), "Unknown input mode"),
    (lambda: G.distribution_logits([0.5, 0.4], "probabilities"), "sum to 1"),
    (lambda: G.chi_square_test([1, 2], [0.5, 0.6]), "sum to 1"),
    (lambda: G.gaussian_reparameterization(0.0, 0.0, 3), "greater than 0"),
])
def test_bad_inputs_raise_readable_value_errors(call, match):
    with pytest.raises(ValueError, match=match) as info:
        call()
    message = str(info.value)
    assert message[0].isupper() and message.rstrip().endswith((".", ")")), message


def test_seeded_reproducibility():
    for fn in (
        lambda s: G.sample_gumbel((5, 3), generator=gen(s)),
        lambda s: G.gumbel_max_sample(THETA3, 50, generator=gen(s)),
        lambda s: G.gumbel_softmax(THETA3, 0.5, generator=gen(s)),
        lambda s: G.estimate_gradients(THETA3, F3, 0.5, "reinforce", 50, generator=gen(s)),
        lambda s: G.temperature_sweep(THETA3, [0.1, 1.0], 50, generator=gen(s)).mean_entropy,
        lambda s: G.estimator_sweep(THETA3, F3, [0.1, 1.0], 50, generator=gen(s)).std["gumbel_softmax"],
    ):
        assert torch.equal(fn(1), fn(1))
        assert not torch.equal(fn(1), fn(2))


# ---------------------------------------------------------------------------------------------
# figure builders (data in, figure out)


def test_figure_builders_carry_the_data():
    import plotly.graph_objects as go

    from toolbox.figures import gumbel as FG

    p = P4.numpy()
    fig = FG.frequency_figure(p, p[::-1], 1000)
    assert np.allclose(fig.data[0].y, p) and np.allclose(fig.data[1].y, p[::-1]) and "1,000" in fig.data[1].name
    sw = G.temperature_sweep(torch.log(P4), G.log_grid(0.1, 10, 5), 100, generator=gen(30))
    curve = FG.temperature_curve_figure(sw.taus, sw.mean_entropy, sw.mean_max, 0.5, 4)
    assert np.allclose(curve.data[0].y, sw.mean_entropy.numpy()) and curve.layout.xaxis.type == "log"
    assert curve.layout.shapes[0].x0 == 0.5
    rx = G.relaxed_experiment(torch.log(P4[:3] / P4[:3].sum()), 0.5, 50, generator=gen(31))
    tern = FG.ternary_figure(rx.samples, rx.probs, 0.5)
    assert tern.data[0].type == "scatterternary" and np.allclose(tern.data[0].a, rx.samples[:, 0].numpy())
    samples = FG.relaxed_samples_figure(rx.samples[:5], 0.5)
    assert np.allclose(np.asarray(samples.data[0].y), rx.samples[:5].numpy().reshape(-1))
    es = G.estimator_sweep(THETA3, F3, [0.1, 1.0], 100, generator=gen(32))
    sweep = FG.estimator_sweep_figure(es.taus, es.bias, es.std, es.mc_error, 1.0)
    assert sweep.layout.yaxis.type == "log" and len(sweep.data) == 7  # 3 estimators × 2 panels + noise level
    est = {k: G.summarize_estimates(G.estimate_gradients(THETA3, F3, 1.0, k, 50, generator=gen(33)))
           for k in G.ESTIMATORS}
    bars = FG.gradient_bars_figure(es.exact, {k: v.mean for k, v in est.items()}, {k: v.se for k, v in est.items()}, 1.0)
    assert np.allclose(bars.data[1].error_y.array, 2 * est["reinforce"].se.numpy())
    jac = FG.jacobian_figure(torch.eye(3), 1.0, hard=False)
    assert jac.data[0].type == "heatmap"
    # builders skip plotly's validation for speed: re-validate every figure here
    for fig in (fig, curve, tern, samples, bars, sweep, jac):
        go.Figure(fig.to_dict())
    with pytest.raises(ValueError):  # the check has teeth
        go.Figure({"layout": {"xaxis": {"not_a_property": 1}}})
