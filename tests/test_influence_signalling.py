"""The signalling form of the influence reward against independent computations: the mutual
information of the joint (σ, a) by SciPy entropies, with either counterfactual marginal, and the
caption the page shows under each scheme."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import entropy as sp_entropy

from toolbox import influence as inf


def _report(example: str, scheme: str, marginal: str):
    g = inf.persuasion_preset(example, scheme)
    table = inf.receiver_best_response(g.prior, g.phi, g.u_sender, g.u_receiver).numpy()
    return g, table, inf.evaluate_scheme(g.prior, g.phi, table, g.u_sender, g.u_receiver,
                                         marginal=marginal)


def _mi_sigma_action(prior, phi, pi):
    """I(σ; a) and I(σ; a | s) from the joint μ0(s) φ(σ|s) π(a|σ), by entropies (no KL)."""
    joint = prior[:, None, None] * phi[:, :, None] * pi[None, :, :]  # (S, Σ, A)
    p_sa = joint.sum(0)
    i_total = sp_entropy(p_sa.sum(1)) + sp_entropy(p_sa.sum(0)) - sp_entropy(p_sa.ravel())
    i_given_s = 0.0
    for s in range(len(prior)):
        cond = joint[s] / prior[s]
        i_given_s += prior[s] * (sp_entropy(cond.sum(1)) + sp_entropy(cond.sum(0)) - sp_entropy(
            cond.ravel()))
    return i_total, i_given_s


@pytest.mark.parametrize("example", inf.PERSUASION_PRESETS)
@pytest.mark.parametrize("scheme", inf.SCHEME_NAMES)
def test_expected_reward_is_the_conditional_or_plain_mutual_information(example, scheme):
    g, table, state = _report(example, scheme, "state")
    _, _, prior = _report(example, scheme, "prior")
    i_total, i_given_s = _mi_sigma_action(g.prior, g.phi, table)
    assert state.mutual_information == pytest.approx(i_given_s, abs=1e-12)
    assert prior.mutual_information == pytest.approx(i_total, abs=1e-12)
    assert (state.marginal, prior.marginal) == ("state", "prior")


def test_recommendation_letter_numbers_of_both_marginals():
    h = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))
    assert h == pytest.approx(0.6365141682948128, abs=1e-15)
    # given the state, the honest scheme's signal is
    # fixed: reward 0; the optimal one scores its coin flip
    assert _report("recommendation letter", "honest",
                   "state")[2].mutual_information == pytest.approx(0.0, abs=1e-15)
    optimal = _report("recommendation letter", "optimal", "state")[2]
    assert optimal.mutual_information == pytest.approx(2 / 3 * math.log(2), abs=1e-12)
    assert optimal.expected_influence == pytest.approx([math.log(2), 0.0], abs=1e-12)
    # over the prior both give I(σ; a) = H(a) = 0.637 nats: the receiver's move is a function of σ
    for scheme in ("honest", "optimal"):
        report = _report("recommendation letter", scheme, "prior")[2]
        assert report.mutual_information == pytest.approx(h, abs=1e-12)
        assert f"{report.mutual_information:.3f}" == "0.637"
    assert _report("recommendation letter", "silent",
                   "prior")[2].mutual_information == pytest.approx(0.0, abs=1e-15)


def test_prior_marginal_reward_matches_principal_influence_with_p_sigma():
    g, table, report = _report("courtroom", "optimal", "prior")
    p_sigma = inf.signal_marginal(g.prior, g.phi).numpy()
    np.testing.assert_allclose(p_sigma, g.prior @ g.phi, atol=1e-15)
    for s in range(2):
        for sig in range(2):
            ref = sp_entropy(table[sig], p_sigma @ table)
            assert report.influence[s, sig] == pytest.approx(ref, abs=1e-12)
            assert inf.principal_influence(p_sigma, table, sig) == pytest.approx(ref, abs=1e-12)
    # the state marginal: φ(·|s) as the weights
    _, _, state = _report("courtroom", "optimal", "state")
    assert state.influence[0, 0] == pytest.approx(inf.principal_influence(g.phi[0], table, 0),
                                                  abs=1e-12)


def test_bad_marginal_and_bad_tables_are_readable_errors():
    g = inf.persuasion_preset("courtroom")
    table = inf.receiver_best_response(g.prior, g.phi, g.u_sender, g.u_receiver)
    with pytest.raises(ValueError, match="Unknown marginal 'posterior'"):
        inf.evaluate_scheme(g.prior, g.phi, table, g.u_sender, g.u_receiver, marginal="posterior")
    with pytest.raises(ValueError, match="one row per state"):
        inf.signal_marginal(g.prior, g.phi[:1])
    with pytest.raises(ValueError, match="prior.*negative"):
        inf.signal_marginal([1.2, -0.2], g.phi)
    with pytest.raises(ValueError, match="non-finite"):
        inf.signal_marginal(g.prior, [[float("nan"), 1.0], [0.5, 0.5]])


@pytest.mark.parametrize("example", inf.PERSUASION_PRESETS)
def test_scheme_caption_follows_the_scheme_and_the_marginal(example):
    starts = {"honest": "The honest scheme", "silent": "The silent scheme",
              "optimal": "The optimal scheme"}
    for scheme, start in starts.items():
        for marginal in inf.MARGINALS:
            g, _, report = _report(example, scheme, marginal)
            text = inf.scheme_caption(g, g.phi, report)
            assert text.startswith(start)
            assert f"P({g.action_names[0]}) = {report.action_probs[0]:.3f}" in text
            name = "I(σ; a | s)" if marginal == "state" else "I(σ; a)"
            assert f"{name} = {report.mutual_information:.3f} nats" in text
            assert ("concavification" in text) == (scheme == "optimal")
    g, table, _ = _report(example, "optimal", "state")
    typed = np.array([[0.2, 0.8], [0.9, 0.1]])
    report = inf.evaluate_scheme(g.prior, typed, table, g.u_sender, g.u_receiver)
    assert inf.scheme_caption(g, typed, report).startswith("Your scheme (edited")


def test_optimal_scheme_numbers_in_its_caption_hold_for_both_examples():
    for example in inf.PERSUASION_PRESETS:
        _, _, opt = _report(example, "optimal", "state")
        _, _, silent = _report(example, "silent", "state")
        assert opt.posterior[0, 1] == pytest.approx(0.5)  # μ(good | favourable signal) = 1/2
        assert opt.sender_utility > silent.sender_utility  # "the sender gains"
        # "no more than with no information"
        assert opt.receiver_utility == pytest.approx(silent.receiver_utility)
