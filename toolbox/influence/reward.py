"""The counterfactual influence reward (Jaques et al., ICML 2019) and the mutual information.

Agent i's policy ``pi_i`` is π^i(a^i | s), shape ``(A_i,)``; an influencee j's policy conditioned
on i's action is ``pi_j_given_ai`` = π^j(a^j | s, a^i), shape ``(A_i, A_j)`` (one influencee) or
``(n_j, A_i, A_j)`` (several). The influence reward of i for the action it took is

    r^i_t = Σ_{j≠i} KL[ π^j(· | s, a^i_t) ‖ Σ_{a'} π^j(· | s, a') π^i(a' | s) ]
          = Σ_{j≠i} KL[ π^j(· | s, a^i_t) ‖ p(a^j | s) ],

the divergence between what j does given i's actual action and j's *counterfactual marginal*
(what j would do on average had i acted from its own policy). Its expectation over a^i ~ π^i is
Σ_j I(a^i; a^j | s), the mutual information between the two actions.

Conventions: natural logarithm (nats); 0 · log 0 = 0; a result is never NaN. A KL is ``inf``
exactly when the conditional puts mass on an action the marginal gives probability 0, which can
only happen for an action (or signal) i itself plays with probability 0.
"""

from __future__ import annotations

from typing import Any

import torch

from toolbox.influence.tables import check_distribution_rows, check_index, check_pair


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL[p ‖ q] = Σ_a p(a) (log p(a) − log q(a)) over the last axis, in nats.

    Terms with p(a) = 0 are 0 (0 · log 0 = 0); a term with p(a) > 0 and q(a) = 0 is +inf.
    ``p, q``: ``(..., A)`` → ``(...)``.
    """
    pos = p > 0
    # log of 0 only where p = 0 is masked out, so no 0 · (−inf) = NaN reaches the sum.
    safe_p = torch.where(pos, p, torch.ones_like(p))
    log_q = torch.log(q)
    terms = torch.where(pos, safe_p * (torch.log(safe_p) - log_q), torch.zeros_like(p))
    return terms.sum(-1).clamp_min(0.0)


def entropy(p: torch.Tensor) -> torch.Tensor:
    """H(p) = −Σ_a p(a) log p(a) over the last axis (nats); ``(..., A)`` → ``(...)``."""
    pos = p > 0
    safe_p = torch.where(pos, p, torch.ones_like(p))
    return -(torch.where(pos, safe_p * torch.log(safe_p), torch.zeros_like(p))).sum(-1)


def _marginal(pi_i: torch.Tensor, pi_j: torch.Tensor) -> torch.Tensor:
    # p(a^j) = Σ_{a'} π^i(a') π^j(a^j | a'): (A_i,) · (..., A_i, A_j) → (..., A_j)
    # broadcast-and-sum rather than einsum (bmm): see ``softmax`` on thread-pool costs at tiny sizes
    return (pi_i[:, None] * pi_j).sum(-2)


def counterfactual_marginal(pi_i: Any, pi_j_given_ai: Any, device=None) -> torch.Tensor:
    """p(a^j | s) = Σ_{a'} π^j(a^j | s, a') π^i(a' | s).

    ``pi_i (A_i,)``, ``pi_j_given_ai (A_i, A_j)`` → ``(A_j,)``, or
    ``(n_j, A_i, A_j)`` → ``(n_j, A_j)``.
    """
    pi_i, pi_j, _ = check_pair(pi_i, pi_j_given_ai, device)
    return _marginal(pi_i, pi_j)


def influence_rewards(pi_i: Any, pi_j_given_ai: Any, device=None) -> torch.Tensor:
    """The per-influencee reward for every action of i: ``R[a, j] = KL[π^j(·|a) ‖ p(a^j)]``.

    Returns ``(A_i, n_j)`` (``n_j = 1`` for a single ``(A_i, A_j)`` table). Entries may be inf
    (only for actions with π^i(a) = 0, see the module docstring).
    """
    pi_i, pi_j, several = check_pair(pi_i, pi_j_given_ai, device)
    if not several:
        pi_j = pi_j.unsqueeze(0)
    marg = _marginal(pi_i, pi_j)  # (n_j, A_j)
    return kl_divergence(pi_j, marg.unsqueeze(1)).transpose(0, 1)  # (n_j, A_i) → (A_i, n_j)


def influence_reward(pi_i: Any, pi_j_given_ai: Any, a_i: Any, device=None) -> float:
    """r^i = Σ_j KL[π^j(· | a^i) ‖ p(a^j)] for the action ``a_i`` that i took (nats, may be inf)."""
    rewards = influence_rewards(pi_i, pi_j_given_ai, device)
    k = check_index(a_i, rewards.shape[0], "The chosen action a^i")
    return float(rewards[k].sum())


def expectation(pi: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    # E_{a~pi}[values(a)] with 0 · inf = 0: an action never taken contributes nothing.
    return torch.where(pi > 0, pi * values, torch.zeros_like(values)).sum(-1)


def expected_influence(pi_i: Any, pi_j_given_ai: Any, device=None) -> float:
    """E_{a^i ~ π^i}[r^i] = Σ_j I(a^i; a^j) (nats; always finite)."""
    pi_i_t = check_distribution_rows(pi_i, "π^i (agent i's policy)", 1, device=device)
    rewards = influence_rewards(pi_i_t, pi_j_given_ai, device=pi_i_t.device)  # (A_i, n_j)
    return float(expectation(pi_i_t, rewards.sum(1)))


def mutual_information(pi_i: Any, pi_j_given_ai: Any, device=None) -> torch.Tensor:
    """I(a^i; a^j) = H(a^j) − H(a^j | a^i) from the joint π^i(a^i) π^j(a^j | a^i), per influencee.

    An independent route to the expected influence (entropies, no KL). Returns ``(n_j,)``.
    """
    pi_i, pi_j, several = check_pair(pi_i, pi_j_given_ai, device)
    if not several:
        pi_j = pi_j.unsqueeze(0)
    joint = pi_i[None, :, None] * pi_j  # (n_j, A_i, A_j)
    h_aj = entropy(joint.sum(1))  # H(a^j)
    h_aj_given_ai = (pi_i * entropy(pi_j)).sum(-1)  # Σ_a π^i(a) H(π^j(·|a))
    return (h_aj - h_aj_given_ai).clamp_min(0.0)



def batched_influence(pi_i: torch.Tensor, pi_j: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Influence reward of every action and the mutual information, for a batch of policy pairs.

    ``pi_i (B, A_i)``, ``pi_j (B, A_i, A_j)`` → ``(B, A_i)`` rewards KL[π^j(·|a) ‖ p(a^j)] and
    ``(B,)`` I(a^i; a^j). No validation: for training loops, whose policies are softmaxes.
    """
    marg = (pi_i[..., None] * pi_j).sum(1)  # no einsum→bmm in the training loop (see softmax)
    rewards = kl_divergence(pi_j, marg[:, None, :])
    return rewards, expectation(pi_i, rewards)
