"""'Run it yourself': a short standalone NumPy script for the influence reward of the tables on
screen.

The script holds the tables as literals, recomputes the counterfactual marginal, the KL of every
influencee for the chosen action, the influence reward, its expectation and the mutual information
(through entropies, an independent route), and prints them with the same rounding as the page.
It imports nothing but NumPy, so a student can run it in a fresh environment.
"""

from __future__ import annotations

from typing import Any, Sequence

from toolbox.influence.tables import check_index, check_pair

_BODY = '''
def kl(p, q):
    """KL[p || q] over the last axis in nats, with 0 * log 0 = 0 (inf where p > 0 = q)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)
    return np.maximum(terms.sum(-1), 0.0)


def entropy(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0).sum(-1)


# p(a^j | s) = sum_a' pi^j(a^j | s, a') pi^i(a' | s): j's counterfactual marginal, per influencee
marginal = np.einsum("a,nab->nb", pi_i, pi_j)                      # (n_j, A_j)
# r^i(a) = sum_j KL[pi^j(. | s, a) || p(a^j | s)] for every action a of i
kl_per_action = kl(pi_j, marginal[:, None, :])                      # (n_j, A_i)
reward = kl_per_action[:, a_i].sum()
# E_{a ~ pi^i}[r^i(a)]; an action never played adds nothing (0 * inf = 0)
expected = np.where(pi_i > 0, pi_i * np.where(pi_i > 0, kl_per_action.sum(0), 0.0), 0.0).sum()
# I(a^i; a^j) = H(a^j) - H(a^j | a^i): from the joint, no KL involved
mutual_information = (entropy(marginal) - (pi_i * entropy(pi_j)).sum(-1)).sum()


def fmt(x):
    return "inf" if np.isinf(x) else f"{x:.4f}"


print(f"chosen action a^i = {a_i} ({names_i[a_i]})")
for j in range(pi_j.shape[0]):
    print(f"influencee {j + 1}: marginal p(a^j) = {np.round(marginal[j], 4).tolist()}, "
          f"KL = {fmt(kl_per_action[j, a_i])} nats")
print(f"influence reward r^i = {fmt(reward)} nats")
print(f"expected influence E[r^i] = {fmt(expected)} nats")
print(f"mutual information sum_j I(a^i; a^j) = {fmt(mutual_information)} nats")
'''


def influence_script(pi_i: Any, pi_j_given_ai: Any, a_i: Any,
                     action_names_i: Sequence[str] | None = None) -> str:
    """Python source of a NumPy-only script that prints the influence numbers of these tables.

    ``pi_i (A_i,)``, ``pi_j_given_ai (A_i, A_j)`` or ``(n_j, A_i, A_j)``, ``a_i`` the chosen action.
    The tables are checked (``ValueError`` for a bad one) and written as exact float literals;
    the script prints the KL per influencee, r^i, E[r^i] and Σ_j I(a^i; a^j) to 4 decimals, as the
    page.
    """
    p_i, p_j, several = check_pair(pi_i, pi_j_given_ai, device="cpu")
    if not several:
        p_j = p_j.unsqueeze(0)
    k = check_index(a_i, p_i.shape[0], "The chosen action a^i")
    names = tuple(str(n) for n in (action_names_i or [f"a{n}" for n in range(p_i.shape[0])]))
    if len(names) != p_i.shape[0]:
        raise ValueError(
            f"{len(names)} action name(s) given for {p_i.shape[0]} action(s) of agent i.")

    def literal(t) -> str:
        return repr(t.tolist()).replace("], [", "],\n    [")

    head = (
        '"""Social influence reward (Jaques et al., ICML 2019) of the tables shown on the RL '
        'Toolbox page.\n\n'
        "Run with: python influence_reward.py   (needs only NumPy)\n"
        '"""\n\nimport numpy as np\n\n'
        f"# pi^i(a^i | s): agent i's policy, shape (A_i,)\npi_i = np.array({literal(p_i)})\n"
        f"# pi^j(a^j | s, a^i): one (A_i, A_j) table per influencee, shape (n_j, A_i, A_j)\n"
        f"pi_j = np.array({literal(p_j)})\n"
        f"a_i = {k}  # the action i took\nnames_i = {list(names)!r}\n"
    )
    return head + _BODY
