"""toolbox.influence against independent computations: SciPy KL and entropies, the joint
distribution, closed forms of the presets, Kamenica–Gentzkow's persuasion numbers (and a SciPy
linear program for the optimal scheme), permutations, batched vs single, and a learning test."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import linprog
from scipy.stats import entropy as sp_entropy

from toolbox import influence as inf
from toolbox.lessons import influence as influence_lesson


def _random_tables(rng, a_i, a_j, n_j, zeros=False):
    pi_i = rng.dirichlet(np.ones(a_i))
    pi_j = rng.dirichlet(np.ones(a_j), size=(n_j, a_i))
    if zeros:
        pi_j[pi_j < 0.15] = 0.0
        pi_j /= pi_j.sum(-1, keepdims=True)
    return pi_i, pi_j


def _brute_reward(pi_i, pi_j, a):
    """Σ_j KL[π^j(·|a) ‖ Σ_a' π^i(a') π^j(·|a')] by explicit loops and scipy.stats.entropy."""
    total = 0.0
    for table in pi_j:
        marginal = np.zeros(table.shape[1])
        for a_prime in range(len(pi_i)):
            marginal += pi_i[a_prime] * table[a_prime]
        total += sp_entropy(table[a], marginal)
    return total


@pytest.mark.parametrize("a_i,a_j,n_j", [(2, 2, 1), (3, 5, 2), (6, 4, 3), (5, 6, 1)])
def test_reward_and_marginal_match_brute_force(a_i, a_j, n_j):
    rng = np.random.default_rng(a_i * 100 + a_j * 10 + n_j)
    for zeros in (False, True):
        pi_i, pi_j = _random_tables(rng, a_i, a_j, n_j, zeros)
        marg = inf.counterfactual_marginal(pi_i, pi_j).numpy()
        assert marg.shape == (n_j, a_j)
        np.testing.assert_allclose(marg, np.einsum("a,nab->nb", pi_i, pi_j), atol=1e-12)
        for a in range(a_i):
            assert inf.influence_reward(pi_i, pi_j, a) == pytest.approx(_brute_reward(pi_i, pi_j,
                                                                                      a), abs=1e-10)
        # the single-table form gives the (A_j,) marginal
        assert inf.counterfactual_marginal(pi_i, pi_j[0]).shape == (a_j,)


@pytest.mark.parametrize("seed", range(4))
def test_expected_influence_is_mutual_information_of_the_joint(seed):
    rng = np.random.default_rng(seed)
    pi_i, pi_j = _random_tables(rng, 4, 3, 2, zeros=seed % 2 == 1)
    mi_total = 0.0
    for table in pi_j:
        joint = pi_i[:, None] * table
        # I = H(a^i) + H(a^j) − H(a^i, a^j), all from the joint (scipy entropies)
        mi = sp_entropy(joint.sum(1)) + sp_entropy(joint.sum(0)) - sp_entropy(joint.ravel())
        mi_total += mi
    assert inf.expected_influence(pi_i, pi_j) == pytest.approx(mi_total, abs=1e-10)
    assert float(inf.mutual_information(pi_i, pi_j).sum()) == pytest.approx(mi_total, abs=1e-10)


def test_accepts_lists_numpy_and_tensors_alike():
    rng = np.random.default_rng(7)
    pi_i, pi_j = _random_tables(rng, 3, 3, 1)
    ref = inf.influence_reward(pi_i, pi_j[0], 1)
    assert inf.influence_reward(pi_i.tolist(), pi_j[0].tolist(), 1) == pytest.approx(ref, abs=1e-12)
    assert inf.influence_reward(torch.tensor(pi_i, dtype=torch.float32), torch.tensor(pi_j[0]),
                                1) == pytest.approx(ref, abs=1e-6)
    assert isinstance(ref, float)


def test_presets_closed_forms():
    for n_j in (1, 2, 3):
        ignore = influence_lesson.influence_preset("j ignores i", n_j)
        for a in range(len(ignore.pi_i)):
            assert inf.influence_reward(ignore.pi_i, ignore.pi_j_given_ai, a) == pytest.approx(
                0.0, abs=1e-12
            )
        copy = influence_lesson.influence_preset("j copies i", n_j)
        for a, p in enumerate(copy.pi_i):
            assert inf.influence_reward(copy.pi_i, copy.pi_j_given_ai,
                                        a) == pytest.approx(-n_j * math.log(p), abs=1e-12)
        h = -sum(p * math.log(p) for p in copy.pi_i)
        assert inf.expected_influence(copy.pi_i, copy.pi_j_given_ai) == pytest.approx(n_j * h,
                                                                                      abs=1e-12)
    partial = influence_lesson.influence_preset("partial influence", 1)
    alpha, k = 0.5, 3
    for a in range(k):
        cond = [(1 - alpha) / k + alpha * (b == a) for b in range(k)]
        marg = [(1 - alpha) / k + alpha * partial.pi_i[b] for b in range(k)]
        closed = sum(c * math.log(c / m) for c, m in zip(cond, marg))
        assert inf.influence_reward(partial.pi_i, partial.pi_j_given_ai, a) == pytest.approx(
            closed, abs=1e-12
        )
    # partial influence lies strictly between ignoring and copying
    copy1 = influence_lesson.influence_preset("j copies i", 1)
    e_partial = inf.expected_influence(partial.pi_i, partial.pi_j_given_ai)
    assert 0 < e_partial < inf.expected_influence(copy1.pi_i, copy1.pi_j_given_ai)
    paper = influence_lesson.influence_preset("i's move as a signal (illustrative)", 1)
    r = inf.influence_rewards(paper.pi_i, paper.pi_j_given_ai)[:, 0]
    assert r[1] > r[0] and r[2] > r[0], "turning (the signal) influences more than staying"
    with pytest.raises(ValueError, match="Unknown preset"):
        influence_lesson.influence_preset("nope")


def test_permutation_invariance():
    rng = np.random.default_rng(3)
    pi_i, pi_j = _random_tables(rng, 5, 4, 2)
    perm_i, perm_j = rng.permutation(5), rng.permutation(4)
    pi_i_p = pi_i[perm_i]
    pi_j_p = pi_j[:, perm_i][:, :, perm_j]
    base = inf.influence_rewards(pi_i, pi_j).numpy()
    permuted = inf.influence_rewards(pi_i_p, pi_j_p).numpy()
    np.testing.assert_allclose(permuted, base[perm_i], atol=1e-12)
    assert inf.expected_influence(pi_i_p, pi_j_p) == pytest.approx(
        inf.expected_influence(pi_i, pi_j), abs=1e-12
    )


def test_batched_and_single_agree():
    rng = np.random.default_rng(11)
    pi_i, pi_j = _random_tables(rng, 4, 3, 3)
    several = inf.influence_rewards(pi_i, pi_j).numpy()  # (A_i, n_j)
    for j in range(3):
        np.testing.assert_allclose(
            several[:, j], inf.influence_rewards(pi_i, pi_j[j]).numpy()[:, 0], atol=1e-12
        )
        for a in range(4):
            assert several[a, j] == pytest.approx(inf.influence_reward(pi_i, pi_j[j], a), abs=1e-12)
    # the training-loop version over a batch of policy pairs
    batch_i = rng.dirichlet(np.ones(4), size=6)
    batch_j = rng.dirichlet(np.ones(3), size=(6, 4))
    rewards, mi = inf.batched_influence(torch.tensor(batch_i), torch.tensor(batch_j))
    for b in range(6):
        np.testing.assert_allclose(rewards[b].numpy(), inf.influence_rewards(batch_i[b],
                                                                             batch_j[b]).numpy()[:,
                                                                                                 0],
                                   atol=1e-12)
        assert float(mi[b]) == pytest.approx(inf.expected_influence(batch_i[b], batch_j[b]),
                                             abs=1e-12)


def test_zero_probabilities_give_zero_or_inf_never_nan():
    # 0 · log 0 = 0: deterministic rows are fine
    assert inf.influence_reward([0.5, 0.5], [[1, 0], [0, 1]], 0) == pytest.approx(math.log(2))
    # action 1 is never played, yet j would do something new after it: infinite surprise
    rewards = inf.influence_rewards([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]])
    assert math.isinf(float(rewards[1, 0])) and float(rewards[0, 0]) == 0.0
    assert inf.influence_reward([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], 1) == math.inf
    # its expectation ignores the never-played action (0 · inf = 0)
    assert inf.expected_influence([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]]) == 0.0
    assert not math.isnan(inf.principal_influence([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], 1))


GOOD_I = [0.5, 0.5]
GOOD_J = [[0.9, 0.1], [0.2, 0.8]]


@pytest.mark.parametrize(
    "pi_i,pi_j,a_i,needle",
    [
        ([0.5, -0.5, 1.0], [[1, 0]] * 3, 0, r"π\^i.*negative"),
        ([0.5, float("nan")], GOOD_J, 0, r"π\^i.*non-finite"),
        ([0.5, float("inf")], GOOD_J, 0, r"π\^i.*non-finite"),
        ([0.5, 0.6], GOOD_J, 0, r"π\^i.*sums to 1.1"),
        ([], GOOD_J, 0, r"π\^i.*empty"),
        (GOOD_I, [[0.9, 0.1], [0.3, 0.8]], 0, r"row a\^i=1 sums to 1.1"),
        (GOOD_I, [[0.9, 0.1], [-0.2, 1.2]], 0, r"row a\^i=1 has a negative"),
        (GOOD_I, [[[0.9, 0.1], [0.2, 0.8]], [[0.9, 0.1], [0.2, 0.7]]], 0,
         r"influencee 2\), row a\^i=1 sums"),
        (GOOD_I, [[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]], 0, "one row per action"),
        (GOOD_I, [[]], 0, "empty"),
        (GOOD_I, [[0.9, 0.1], [0.2]], 0, "could not be read"),
        (GOOD_I, GOOD_J, 2, "out of range"),
        (GOOD_I, GOOD_J, -1, "out of range"),
        (GOOD_I, GOOD_J, 0.5, "whole number"),
        ([[0.5, 0.5]], GOOD_J, 0, "dimension"),
    ],
)
def test_bad_tables_raise_readable_errors(pi_i, pi_j, a_i, needle):
    with pytest.raises(ValueError, match=needle):
        inf.influence_reward(pi_i, pi_j, a_i)


def test_rows_within_tolerance_are_accepted_and_outside_rejected():
    assert inf.expected_influence([0.5, 0.5 + 5e-7], GOOD_J) >= 0
    with pytest.raises(ValueError, match="sums to"):
        inf.expected_influence([0.5, 0.5 + 5e-6], GOOD_J)


def test_principal_influence_against_scipy_and_errors():
    rng = np.random.default_rng(5)
    phi_s = rng.dirichlet(np.ones(3))
    pi = rng.dirichlet(np.ones(4), size=3)
    for sigma in range(3):
        ref = sp_entropy(pi[sigma], phi_s @ pi)
        assert inf.principal_influence(phi_s, pi, sigma) == pytest.approx(ref, abs=1e-12)
    with pytest.raises(ValueError, match="one row per signal"):
        inf.principal_influence(phi_s, pi[:2], 0)
    with pytest.raises(ValueError, match="out of range"):
        inf.principal_influence(phi_s, pi, 3)
    with pytest.raises(ValueError, match=r"receiver's table.*row σ=1.*negative"):
        inf.principal_influence(phi_s, [pi[0], [-0.1, 0.5, 0.3, 0.3], pi[2]], 0)


def _outcome(game: str, scheme: str):
    g = inf.persuasion_preset(game, scheme)
    table = inf.receiver_best_response(g.prior, g.phi, g.u_sender, g.u_receiver)
    return g, table, inf.evaluate_scheme(g.prior, g.phi, table, g.u_sender, g.u_receiver)


def _lp_optimum(g) -> float:
    """Sender's best value over obedient recommendation schemes (revelation principle), by scipy
    linprog.

    Variables x[s, a] = μ0(s) φ(a|s) ≥ 0 with Σ_a x[s, a] = μ0(s); obedience: for each
    recommended a and alternative a', Σ_s x[s, a] (u^j(s, a) − u^j(s, a')) ≥ 0.
    """
    n_s, n_a = g.u_sender.shape
    c = -g.u_sender.ravel()
    a_eq = np.zeros((n_s, n_s * n_a))
    for s in range(n_s):
        a_eq[s, s * n_a:(s + 1) * n_a] = 1
    rows = []
    for a in range(n_a):
        for alt in range(n_a):
            if alt != a:
                row = np.zeros(n_s * n_a)
                for s in range(n_s):
                    row[s * n_a + a] = -(g.u_receiver[s, a] - g.u_receiver[s, alt])
                rows.append(row)
    res = linprog(c, A_ub=np.array(rows), b_ub=np.zeros(len(rows)), A_eq=a_eq, b_eq=g.prior,
                  bounds=(0, None))
    assert res.success
    return -res.fun


def test_recommendation_letter_numbers():
    g, _, honest = _outcome("recommendation letter", "honest")
    assert g.prior[1] == pytest.approx(1 / 3)
    assert honest.action_probs[0] == pytest.approx(1 / 3)  # hires exactly the good students
    _, _, silent = _outcome("recommendation letter", "silent")
    assert silent.action_probs[0] == pytest.approx(0.0)  # prior 1/3 < 1/2: nobody hired
    g, table, opt = _outcome("recommendation letter", "optimal")
    assert opt.action_probs[0] == pytest.approx(2 / 3)
    assert opt.sender_utility == pytest.approx(2 / 3)
    assert opt.posterior[0, 1] == pytest.approx(0.5)  # P(good | recommend) = 1/2 exactly
    assert opt.obedient
    # Kamenica–Gentzkow closed form for a binary state with threshold 1/2: min(1, prior / 1/2)
    assert opt.sender_utility == pytest.approx(min(1.0, g.prior[1] / 0.5))
    assert opt.sender_utility == pytest.approx(_lp_optimum(g), abs=1e-7)
    # a bad student who is recommended: j's hiring decision moves from 1/2 to certain, KL = log 2
    assert opt.influence[0, 0] == pytest.approx(math.log(2))
    assert opt.influence[1, 0] == pytest.approx(0.0)
    assert math.isinf(opt.influence[1, 1])  # a good student never gets "don't recommend"


def test_courtroom_numbers():
    g, _, honest = _outcome("courtroom", "honest")
    assert g.prior[1] == pytest.approx(0.3)
    assert honest.action_probs[0] == pytest.approx(0.3)
    assert honest.receiver_utility == pytest.approx(1.0)
    g, _, opt = _outcome("courtroom", "optimal")
    assert opt.action_probs[0] == pytest.approx(0.6)
    assert opt.sender_utility == pytest.approx(min(1.0, 0.3 / 0.5))
    assert opt.sender_utility == pytest.approx(_lp_optimum(g), abs=1e-7)
    assert opt.obedient
    _, _, silent = _outcome("courtroom", "silent")
    assert silent.sender_utility == pytest.approx(0.0)
    assert silent.receiver_utility == pytest.approx(0.7)


def test_obedience_fails_for_a_table_that_ignores_the_posterior():
    g = inf.persuasion_preset("recommendation letter", "honest")
    always_hire = np.array([[1.0, 0.0], [1.0, 0.0]])
    report = inf.evaluate_scheme(g.prior, g.phi, always_hire, g.u_sender, g.u_receiver)
    assert not report.obedient
    # "don't recommend" → surely bad: hiring costs 1
    assert report.obedience_gap[1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"scheme φ\(σ\|s\), row s=1 sums"):
        inf.evaluate_scheme(g.prior, [[0.0, 1.0], [0.7, 0.7]], always_hire, g.u_sender,
                            g.u_receiver)
    with pytest.raises(ValueError, match="prior"):
        inf.evaluate_scheme([0.5, 0.6], g.phi, always_hire, g.u_sender, g.u_receiver)


def test_normalize_and_resize():
    np.testing.assert_allclose(inf.normalize_rows([[1, 3], [2, 2]]).numpy(),
                               [[0.25, 0.75], [0.5, 0.5]])
    with pytest.raises(ValueError, match="all zeros"):
        inf.normalize_rows([[1, 3], [0, 0]])
    with pytest.raises(ValueError, match="negative"):
        inf.normalize_rows([[1, -3]])
    out = inf.resize_rows([[0.5, 0.5], [0.1, 0.9]], (3, 3))
    np.testing.assert_allclose(out.sum(-1), 1.0)
    np.testing.assert_allclose(out[0], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(out[2], [1 / 3] * 3)


def test_config_enforces_server_caps():
    with pytest.raises(ValueError, match="server limit"):
        inf.InfluenceTrainConfig(n_seeds=inf.MAX_SEEDS + 1).validate()
    with pytest.raises(ValueError, match="β"):
        inf.InfluenceTrainConfig(beta=float("nan")).validate()
    with pytest.raises(ValueError, match="Unknown game"):
        inf.InfluenceTrainConfig(game="chess").validate()


MI_THRESHOLD = 0.2
"""Nats of I(a^i; a^j) that the bonus-trained stag-hunt pair exceeds and the plain pair does not."""


@pytest.mark.slow
def test_influence_bonus_is_learned_and_changes_the_outcome():
    base = dict(game="stag hunt", n_seeds=8, iterations=600, seed=0)
    plain = inf.train_influence_game(inf.InfluenceTrainConfig(beta=0.0, **base), device="cpu")
    bonus = inf.train_influence_game(inf.InfluenceTrainConfig(beta=0.5, **base), device="cpu")
    assert plain.mutual_information.shape == (8, 31)
    # β = 0: i abandons stag before j learns to follow it; MI collapses, return stuck at hare (3)
    assert plain.mutual_information[:, -1].max() < MI_THRESHOLD / 2
    assert plain.extrinsic_i[:, -1].mean() < 3.1
    # β = 0.5: i stays influential, j learns to answer stag with stag, and the return improves
    assert bonus.mutual_information[:, -1].min() > MI_THRESHOLD
    assert bonus.extrinsic_i[:, -1].mean() > 3.6
    # the stationary point of i's shaped reward: π^i(stag) = 1 / (1 + e^{−1/β}) when j copies
    p_stag = 1 / (1 + math.exp(-1 / 0.5))
    assert bonus.pi_i[:, 0].mean() == pytest.approx(p_stag, abs=0.06)


@pytest.mark.slow
def test_large_beta_distorts_pure_coordination_and_training_is_seeded():
    cfg = inf.InfluenceTrainConfig(game="pure coordination", beta=3.0, n_seeds=4, iterations=300,
                                   record_every=10)
    a = inf.train_influence_game(cfg, device="cpu")
    b = inf.train_influence_game(cfg, device="cpu")
    np.testing.assert_array_equal(a.extrinsic_i, b.extrinsic_i)
    plain = inf.train_influence_game(inf.InfluenceTrainConfig(game="pure coordination", beta=0.0,
                                                              n_seeds=4, iterations=300),
                                     device="cpu")
    assert plain.extrinsic_i[:, -1].mean() > 1.9
    assert a.extrinsic_i[:, -1].mean() < 1.75  # i mixes in the worse action B to stay influential
    partial_seen = []
    inf.train_influence_game(cfg, report=lambda f, p: partial_seen.append((f, p.steps.shape[0])),
                             device="cpu")
    assert partial_seen[0][0] == 0.0 and partial_seen[-1][0] == pytest.approx(1.0)
    assert partial_seen[-1][1] == 31


def test_reinforce_gradients_equal_autograd():
    gen = torch.Generator().manual_seed(0)
    s, b, n_ai, n_aj = 3, 50, 4, 3
    logits_i = torch.randn(s, n_ai, generator=gen, dtype=torch.float64, requires_grad=True)
    logits_j = torch.randn(s, n_ai, n_aj, generator=gen, dtype=torch.float64, requires_grad=True)
    a_i = torch.randint(n_ai, (s, b), generator=gen)
    a_j = torch.randint(n_aj, (s, b), generator=gen)
    adv_i = torch.randn(s, b, generator=gen, dtype=torch.float64)
    adv_j = torch.randn(s, b, generator=gen, dtype=torch.float64)
    rows = torch.arange(s)[:, None].expand(s, b)
    logp_i = torch.log_softmax(logits_i, -1).gather(1, a_i)
    logp_j = torch.log_softmax(logits_j, -1)[rows, a_i].gather(2, a_j[..., None]).squeeze(-1)
    objective = (adv_i * logp_i).mean(1).sum() + (adv_j * logp_j).mean(1).sum()
    ref_i, ref_j = torch.autograd.grad(objective, (logits_i, logits_j))
    with torch.no_grad():
        got_i, got_j = inf.reinforce_gradients(
            torch.softmax(logits_i, -1), torch.softmax(logits_j, -1), a_i, a_j, adv_i, adv_j
        )
    torch.testing.assert_close(got_i, ref_i)
    torch.testing.assert_close(got_j, ref_j)
    torch.testing.assert_close(inf.softmax(logits_j.detach()), torch.softmax(logits_j.detach(), -1))


def test_precomputed_results_match_a_fresh_run_and_bonus_effect():
    from pathlib import Path

    store = influence_lesson.load_precomputed(
        str(Path(__file__).resolve().parent.parent / "results" / "influence_learning.json"))
    assert {c.key() for c in influence_lesson.precomputed_configs()} <= set(store)
    cfg = inf.InfluenceTrainConfig(beta=0.5)
    fresh = inf.train_influence_game(cfg, device="cpu")
    np.testing.assert_allclose(store[cfg.key()].extrinsic_i, fresh.extrinsic_i, atol=1e-3)
    np.testing.assert_allclose(store[cfg.key()].mutual_information, fresh.mutual_information,
                               atol=1e-3)
    off = store[inf.InfluenceTrainConfig(beta=0.0).key()]
    assert influence_lesson.bonus_effect(fresh, off) == "helps"
    big = store[inf.InfluenceTrainConfig(game="pure coordination", beta=3.0).key()]
    assert (
        influence_lesson.bonus_effect(
            big, store[inf.InfluenceTrainConfig(game="pure coordination", beta=0.0).key()]
        )
        == "distorts"
    )
    assert influence_lesson.bonus_effect(off, off) == "neutral"
    summary = influence_lesson.final_summary(fresh, off)
    assert summary["extrinsic_gain"] == pytest.approx(
        fresh.extrinsic_i[:, -1].mean() - off.extrinsic_i[:, -1].mean()
    )
    assert summary["mi_with"] == pytest.approx(np.mean(fresh.mutual_information[:, -1]))
    # π^i(stag) from the final policy equals the probability mass behind the recorded extrinsic
    # return: with j following (π^j(stag|stag) ≈ 1, π^j(hare|hare) ≈ 1), E[R^i] ≈ 4 p + 3 (1 − p)
    assert summary["extrinsic_with"] == pytest.approx(3 + summary["p_first_action_with"], abs=0.05)
    assert influence_lesson.load_precomputed("/nonexistent.json") == {}


def test_figures_pass_plotly_validation_and_mark_infinity():
    import plotly.graph_objects as go

    from toolbox.figures import influence as figs

    rewards = inf.influence_rewards([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]]).numpy()
    built = [
        figs.marginal_vs_conditional(np.full((3, 2), 0.5), np.eye(2)[[0, 1, 0]], ["a", "b"],
                                     ["1", "2", "3"], "x", [0.1, np.inf, 0.0]),
        figs.reward_per_action(rewards, np.array([1.0, 0.0]), ["a", "b"], ["influencee 1"], 1),
        figs.influence_heatmap(np.array([[0.69, np.inf], [0.0, 0.3]]), ["bad", "good"],
                               ["rec", "not"]),
        figs.learning_curves(np.arange(5), {"on": (np.ones((2, 5)), np.zeros((2, 5)))},
                             {"on": "#1f77b4"}),
    ]
    for fig in built:
        go.Figure(fig.to_dict())  # the full validating constructor accepts every property
        assert fig.layout.title.text
        # notation is written as HTML superscripts, never as raw a^j
        shown = [fig.layout.title.text] + [t.name or "" for t in fig.data]
        shown += [a.text for a in fig.layout.annotations or ()]
        layout = fig.to_dict()["layout"]
        shown += [v.get("title", {}).get("text",
                                         "") for k, v in layout.items() if k.startswith(("xaxis",
                                                                                         "yaxis"))]
        assert not [t for t in shown if "^" in t], shown
    assert "∞" in built[0].layout.annotations[1].text
    assert "∞" in built[1].data[1].text[1]
    assert built[2].data[0].text[0][1].startswith("∞")
