"""Unit tests of toolbox.gumbel.sampling and toolbox.gumbel.inputs against independent references:
closed-form Gumbel moments and scipy.stats (chi-square, Kolmogorov–Smirnov)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from tests.gumbel_helpers import F3, P4, P4D, THETA3, gen
from toolbox import gumbel as G
from toolbox.lessons import gumbel as gumbel_lesson

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
        assert stats.chisquare(counts[b].numpy(),
                               50_000 * p.double().numpy() / p.double().sum().item()).pvalue > 1e-3


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


def test_category_counts_matches_numpy():
    z = torch.randint(0, 7, (1000, 3), generator=gen(5))
    counts = G.category_counts(z, 7)
    for b in range(3):
        assert np.array_equal(counts[b].numpy(), np.bincount(z[:, b].numpy(), minlength=7))


# ---------------------------------------------------------------------------------------------
# inputs and presets


def test_logits_from_probs_and_presets():
    p = torch.tensor([0.2, 0.3, 0.5])
    assert torch.allclose(torch.softmax(G.logits_from_probs(p), -1), p)
    # rounding within tolerance is renormalised
    assert torch.allclose(torch.softmax(G.logits_from_probs([0.333, 0.333, 0.333]), -1),
                          torch.full((3,), 1 / 3))
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
    assert torch.allclose(G.distribution_logits(p, "probabilities").double().softmax(-1),
                          torch.tensor(p, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(G.distribution_logits([1.0, 2.0], "logits"), torch.tensor([1.0, 2.0]))
    assert G.default_f(3) == [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="NaN"):
        G.distribution_logits([1.0, float("nan")], "logits")


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
    (lambda: G.estimate_gradients(LOGITS, F3, 1.0, "reinforce", 10, downstream="cube"),
     "Unknown downstream"),
    (lambda: G.temperature_sweep(LOGITS, [1.0, -1.0], 10), "greater than 0"),
    (lambda: G.estimator_sweep(LOGITS, F3, [1.0], 1), "at least 2 samples"),
    (lambda: G.preset_probabilities("spiky", 3), "Unknown preset"),
    (lambda: G.preset_values("uniform", 3, "odds"), "Unknown input mode"),
    (lambda: G.distribution_logits([0.5, 0.4], "probabilities"), "sum to 1"),
    (lambda: G.chi_square_test([1, 2], [0.5, 0.6]), "sum to 1"),
    (lambda: G.gaussian_reparameterization(0.0, 0.0, 3), "greater than 0"),
    (lambda: G.gaussian_reparameterization(1e39, 1.0, 3), "μ must lie between"),
    (lambda: G.gaussian_reparameterization(0.0, 1e39, 3), "σ must be at most"),
    (lambda: G.gaussian_reparameterization(-1e39, 1.0, 3), "μ must lie between"),
    (lambda: G.estimate_all_gradients(LOGITS, F3, 1.0, 1), "at least 2 samples"),
    (lambda: gumbel_lesson.estimator_script([0.5, 0.5], "probabilities", [1.0], 1.0, 10, 0),
     "one number per category"),
    (lambda: G.stream_seed(-1, 0), "0 or more"),
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
        lambda s: G.estimator_sweep(THETA3, F3, [0.1, 1.0], 50,
                                    generator=gen(s)).std["gumbel_softmax"],
    ):
        assert torch.equal(fn(1), fn(1))
        assert not torch.equal(fn(1), fn(2))
