"""Social influence as an intrinsic reward (Jaques et al., ICML 2019) and its signalling form.

Agent i's policy ``pi_i`` is ``π^i(a^i | s)``, shape ``(A_i,)``; an influencee j's policy
conditioned on i's action is ``pi_j_given_ai`` = ``π^j(a^j | s, a^i)``, shape ``(A_i, A_j)`` (one
influencee) or ``(n_j, A_i, A_j)`` (several). The influence reward of i for the action it took is

    r^i_t = Σ_{j≠i} KL[ π^j(· | s, a^i_t) ‖ Σ_{a'} π^j(· | s, a') π^i(a' | s) ]
          = Σ_{j≠i} KL[ π^j(· | s, a^i_t) ‖ p(a^j | s) ],

the divergence between what j does given i's actual action and j's *counterfactual marginal*
(what j would do on average had i acted from its own policy). Its expectation over a^i ~ π^i is
Σ_j I(a^i; a^j | s), the mutual information between the two actions.

The principal–agent (information design) form (Kamenica & Gentzkow 2011; Lin et al., NeurIPS
2023): a sender with scheme ``phi`` = φ(σ | s), shape ``(S, Σ)``, and a receiver responding with
``pi_j_given_sigma`` = π^j(a | σ), shape ``(Σ, A)``:

    r^i(s, σ) = KL[ π^j(· | σ) ‖ Σ_{σ'} φ(σ' | s) π^j(· | σ') ].

Conventions: natural logarithm (nats); 0 · log 0 = 0; a result is never NaN. A KL is ``inf``
exactly when the conditional puts mass on an action the marginal gives probability 0, which can
only happen for an action (or signal) i itself plays with probability 0. Every table is checked
(``check_distribution_rows``) and bad input raises ``ValueError`` naming the table, the row and
the problem.

The last part trains two softmax policies by policy gradient on a sequential matrix game (i
moves, j sees a^i, both are paid) with i's reward = extrinsic + β · influence, many seeds as one
batched computation (``train_influence_game``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch

from toolbox.device import default_device

ROW_TOLERANCE = 1e-6
"""How far a row of probabilities may sum from 1 before it is rejected."""

MAX_ACTIONS = 6
MAX_INFLUENCEES = 3
DTYPE = torch.float64

# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _to_tensor(x: Any, name: str, device: torch.device | None) -> torch.Tensor:
    """Lists, NumPy arrays or tensors → float64 tensor; anything else → a readable ValueError."""
    if isinstance(x, torch.Tensor):
        t = x.detach()
        if t.is_complex():
            raise ValueError(f"{name} contains complex numbers; probabilities are real numbers.")
        return t.to(device=device or t.device, dtype=DTYPE)
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} could not be read as a table of numbers: every row must have the same "
            f"length and every entry must be a number."
        ) from None
    return torch.tensor(arr, dtype=DTYPE, device=device or default_device())


def _row_label(name: str, index: tuple[int, ...], row_names: Sequence[str] | None) -> str:
    if row_names is not None and len(index) >= 1:
        return f"{name}, {row_names[index[-1]]}" if len(index) == 1 else (
            f"{name} (influencee {index[0] + 1}), {row_names[index[-1]]}"
        )
    if not index:
        return name
    return f"{name}, row {', '.join(str(i) for i in index)}"


def check_distribution_rows(
    x: Any,
    name: str,
    ndim: int | Sequence[int] = 1,
    row_names: Sequence[str] | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Check that every row (last axis) of ``x`` is a probability distribution; return it.

    ``ndim`` is the allowed number of dimensions (an int or several). ``row_names`` names the
    rows of the last-but-one axis for messages (e.g. ``["a^i=0", "a^i=1"]``). Rows are
    renormalized exactly after the check, so a row inside the 1e-6 tolerance behaves as a
    distribution (and KLs cannot come out slightly negative).

    Raises ``ValueError`` for: an unreadable or empty table, a wrong number of dimensions,
    negative or non-finite entries, rows not summing to 1 within ``ROW_TOLERANCE``.
    """
    t = _to_tensor(x, name, device)
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if t.numel() == 0:
        raise ValueError(f"{name} is empty: it needs at least one row with at least one action.")
    if t.dim() not in allowed:
        want = " or ".join(str(d) for d in allowed)
        raise ValueError(
            f"{name} has {t.dim()} dimension(s) (shape {tuple(t.shape)}), but {want} are expected."
        )
    bad = ~torch.isfinite(t)
    if bad.any():
        idx = tuple(int(i) for i in torch.nonzero(bad)[0])
        raise ValueError(
            f"{_row_label(name, idx[:-1], row_names)} has a missing or non-finite entry (column "
            f"{idx[-1]}): every entry must be a finite number."
        )
    neg = t < 0
    if neg.any():
        idx = tuple(int(i) for i in torch.nonzero(neg)[0])
        raise ValueError(
            f"{_row_label(name, idx[:-1], row_names)} has a negative entry ({t[idx].item():g} in "
            f"column {idx[-1]}): probabilities cannot be negative."
        )
    sums = t.sum(-1)
    off = (sums - 1.0).abs() > ROW_TOLERANCE
    if off.any():
        idx = tuple(int(i) for i in torch.nonzero(off)[0]) if off.dim() else ()
        s = sums[idx].item() if idx else sums.item()
        raise ValueError(
            f"{_row_label(name, idx, row_names)} sums to {s:.6g}, not 1 (tolerance "
            f"{ROW_TOLERANCE:g}): a row of probabilities must add up to 1. Use 'Normalize rows'."
        )
    return t / sums.unsqueeze(-1)


def _check_pair(pi_i: Any, pi_j_given_ai: Any, device=None) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Validate π^i (A_i,) and π^j(·|a^i) (A_i, A_j) or (n_j, A_i, A_j). Returns (pi_i, pi_j, several)."""
    pi_i = check_distribution_rows(pi_i, "π^i (agent i's policy)", 1, device=device)
    device = pi_i.device
    a_i = pi_i.shape[0]
    row_names = [f"row a^i={a}" for a in range(a_i)]
    raw = _to_tensor(pi_j_given_ai, "π^j(·|a^i) (the influencee's table)", device)
    several = raw.dim() == 3
    pi_j = check_distribution_rows(
        raw, "π^j(·|a^i) (the influencee's table)", (2, 3),
        row_names=row_names if raw.dim() >= 2 and raw.shape[-2] == a_i else None, device=device,
    )
    if pi_j.shape[-2] != a_i:
        raise ValueError(
            f"π^j(·|a^i) has {pi_j.shape[-2]} row(s) but π^i has {a_i} action(s): the influencee's "
            f"table needs exactly one row per action of agent i."
        )
    return pi_i, pi_j, several


def _check_index(index: Any, n: int, what: str) -> int:
    try:
        k = int(index)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a whole number between 0 and {n - 1}, not {index!r}.") from None
    if k != index and not (isinstance(index, float) and float(k) == index):
        raise ValueError(f"{what} must be a whole number between 0 and {n - 1}, not {index!r}.")
    if not 0 <= k < n:
        raise ValueError(f"{what} is {k}, out of range: there are {n} of them (0 to {n - 1}).")
    return k


# --------------------------------------------------------------------------------------------
# Information quantities (0 · log 0 = 0, never NaN)
# --------------------------------------------------------------------------------------------


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

    ``pi_i (A_i,)``, ``pi_j_given_ai (A_i, A_j)`` → ``(A_j,)``, or ``(n_j, A_i, A_j)`` → ``(n_j, A_j)``.
    """
    pi_i, pi_j, _ = _check_pair(pi_i, pi_j_given_ai, device)
    return _marginal(pi_i, pi_j)


def influence_rewards(pi_i: Any, pi_j_given_ai: Any, device=None) -> torch.Tensor:
    """The per-influencee reward for every action of i: ``R[a, j] = KL[π^j(·|a) ‖ p(a^j)]``.

    Returns ``(A_i, n_j)`` (``n_j = 1`` for a single ``(A_i, A_j)`` table). Entries may be inf
    (only for actions with π^i(a) = 0, see the module docstring).
    """
    pi_i, pi_j, several = _check_pair(pi_i, pi_j_given_ai, device)
    if not several:
        pi_j = pi_j.unsqueeze(0)
    marg = _marginal(pi_i, pi_j)  # (n_j, A_j)
    return kl_divergence(pi_j, marg.unsqueeze(1)).transpose(0, 1)  # (n_j, A_i) → (A_i, n_j)


def influence_reward(pi_i: Any, pi_j_given_ai: Any, a_i: Any, device=None) -> float:
    """r^i = Σ_j KL[π^j(· | a^i) ‖ p(a^j)] for the action ``a_i`` that i took (nats, may be inf)."""
    rewards = influence_rewards(pi_i, pi_j_given_ai, device)
    k = _check_index(a_i, rewards.shape[0], "The chosen action a^i")
    return float(rewards[k].sum())


def _expect(pi: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    # E_{a~pi}[values(a)] with 0 · inf = 0: an action never taken contributes nothing.
    return torch.where(pi > 0, pi * values, torch.zeros_like(values)).sum(-1)


def expected_influence(pi_i: Any, pi_j_given_ai: Any, device=None) -> float:
    """E_{a^i ~ π^i}[r^i] = Σ_j I(a^i; a^j) (nats; always finite)."""
    pi_i_t = check_distribution_rows(pi_i, "π^i (agent i's policy)", 1, device=device)
    rewards = influence_rewards(pi_i_t, pi_j_given_ai, device=pi_i_t.device)  # (A_i, n_j)
    return float(_expect(pi_i_t, rewards.sum(1)))


def mutual_information(pi_i: Any, pi_j_given_ai: Any, device=None) -> torch.Tensor:
    """I(a^i; a^j) = H(a^j) − H(a^j | a^i) from the joint π^i(a^i) π^j(a^j | a^i), per influencee.

    An independent route to the expected influence (entropies, no KL). Returns ``(n_j,)``.
    """
    pi_i, pi_j, several = _check_pair(pi_i, pi_j_given_ai, device)
    if not several:
        pi_j = pi_j.unsqueeze(0)
    joint = pi_i[None, :, None] * pi_j  # (n_j, A_i, A_j)
    h_aj = entropy(joint.sum(1))  # H(a^j)
    h_aj_given_ai = (pi_i * entropy(pi_j)).sum(-1)  # Σ_a π^i(a) H(π^j(·|a))
    return (h_aj - h_aj_given_ai).clamp_min(0.0)


def principal_influence(phi_s: Any, pi_j_given_sigma: Any, sigma: Any, device=None) -> float:
    """r^i = KL[π^j(· | σ) ‖ Σ_{σ'} φ(σ' | s) π^j(· | σ')] for the signal σ sent in state s.

    ``phi_s (Σ,)`` is φ(· | s) for the current state; ``pi_j_given_sigma (Σ, A_j)``.
    """
    phi = check_distribution_rows(phi_s, "φ(·|s) (the sender's scheme in this state)", 1, device=device)
    n_sig = phi.shape[0]
    raw = _to_tensor(pi_j_given_sigma, "π^j(·|σ) (the receiver's table)", phi.device)
    pi_j = check_distribution_rows(
        raw, "π^j(·|σ) (the receiver's table)", 2,
        row_names=[f"row σ={k}" for k in range(n_sig)] if raw.dim() == 2 and raw.shape[0] == n_sig else None,
        device=phi.device,
    )
    if pi_j.shape[0] != n_sig:
        raise ValueError(
            f"π^j(·|σ) has {pi_j.shape[0]} row(s) but φ(·|s) has {n_sig} signal(s): the receiver's "
            f"table needs exactly one row per signal."
        )
    k = _check_index(sigma, n_sig, "The signal σ")
    return float(kl_divergence(pi_j[k], phi @ pi_j))


def normalize_rows(x: Any, name: str = "table", device=None) -> torch.Tensor:
    """Divide every row (last axis) by its sum. Entries must be finite and ≥ 0, rows not all zero."""
    t = _to_tensor(x, name, device)
    if t.numel() == 0:
        raise ValueError(f"{name} is empty: nothing to normalize.")
    bad = ~torch.isfinite(t)
    if bad.any():
        idx = tuple(int(i) for i in torch.nonzero(bad)[0])
        raise ValueError(f"{_row_label(name, idx[:-1], None)} has a missing or non-finite entry; fix it before normalizing.")
    if (t < 0).any():
        idx = tuple(int(i) for i in torch.nonzero(t < 0)[0])
        raise ValueError(f"{_row_label(name, idx[:-1], None)} has a negative entry; probabilities cannot be negative.")
    sums = t.sum(-1, keepdim=True)
    if (sums == 0).any():
        idx = tuple(int(i) for i in torch.nonzero(sums.squeeze(-1) == 0)[0]) if t.dim() > 1 else ()
        raise ValueError(f"{_row_label(name, idx, None)} is all zeros: it cannot be normalized to sum to 1.")
    return t / sums


def resize_rows(x: Any, shape: Sequence[int]) -> np.ndarray:
    """Crop or pad a table to ``shape`` (new cells 0, new rows uniform) and renormalize rows that were valid.

    A convenience for the page when the number of actions changes; rows that cannot be
    normalized (all zero after cropping, negative, non-finite) are replaced by uniform rows.
    """
    src = np.asarray(x, dtype=np.float64)
    out = np.zeros(shape, dtype=np.float64)
    common = tuple(slice(0, min(a, b)) for a, b in zip(src.shape, shape))
    out[common] = src[common]
    rows = out.reshape(-1, shape[-1])
    sums = rows.sum(-1, keepdims=True)
    ok = np.isfinite(rows).all(-1, keepdims=True) & (rows >= 0).all(-1, keepdims=True) & (sums > 0)
    rows = np.where(ok, rows / np.where(ok, sums, 1.0), 1.0 / shape[-1])
    return rows.reshape(shape)


# --------------------------------------------------------------------------------------------
# Presets for the single-state influence tables
# --------------------------------------------------------------------------------------------

INFLUENCE_PRESETS = ("j ignores i", "j copies i", "partial influence", "signal changes a move (paper)")


@dataclass(frozen=True)
class InfluencePreset:
    """Tables for the influence section of the page."""

    name: str
    """Preset name (one of ``INFLUENCE_PRESETS``)."""
    pi_i: np.ndarray
    """π^i, shape (A_i,)."""
    pi_j_given_ai: np.ndarray
    """π^j(·|a^i) per influencee, shape (n_j, A_i, A_j)."""
    action_names_i: tuple[str, ...]
    action_names_j: tuple[str, ...]
    explanation: str
    """What to look at, one or two sentences."""


def influence_preset(name: str, n_influencees: int = 1) -> InfluencePreset:
    """Return a preset by name, with ``n_influencees`` (1..3) influencee tables."""
    if name not in INFLUENCE_PRESETS:
        raise ValueError(f"Unknown preset {name!r}; choose one of {', '.join(INFLUENCE_PRESETS)}.")
    n = _check_index(n_influencees - 1, MAX_INFLUENCEES, "The number of influencees minus one") + 1
    if name == "j ignores i":
        pi_i = np.array([0.5, 0.3, 0.2])
        row = np.array([0.2, 0.5, 0.3])
        tables = np.broadcast_to(row, (n, 3, 3)).copy()
        names_i = names_j = tuple(f"a{k}" for k in range(3))
        text = "Every row of π^j is the same: j's behaviour does not depend on a^i, so the reward is 0 for every action."
    elif name == "j copies i":
        pi_i = np.array([0.5, 0.3, 0.2])
        tables = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
        names_i = names_j = tuple(f"a{k}" for k in range(3))
        text = ("j repeats i's action, so the marginal is π^i itself and r^i = −log π^i(a^i) per influencee: "
                "rare actions are more influential; the expectation is the entropy H(π^i).")
    elif name == "partial influence":
        pi_i = np.array([0.5, 0.3, 0.2])
        alpha = 0.5
        tables = np.broadcast_to((1 - alpha) / 3 + alpha * np.eye(3), (n, 3, 3)).copy()
        names_i = names_j = tuple(f"a{k}" for k in range(3))
        text = "j copies i half of the time and otherwise acts uniformly at random: the reward lies between 'ignores' and 'copies'."
    else:
        # Jaques et al.'s intuition: i's move carries information (it turns towards apples it
        # sees), and j changes its move when it sees i turn.
        pi_i = np.array([0.6, 0.2, 0.2])
        base = np.array([[0.6, 0.2, 0.2], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
        tables = np.broadcast_to(base, (n, 3, 3)).copy()
        names_i = ("stay", "turn left", "turn right")
        names_j = ("stay", "go left", "go right")
        text = ("As in Jaques et al.'s Cleanup/Harvest agents: i turns towards apples it sees, and j, seeing i "
                "turn, follows. Turning is rewarded (it changes j's move); staying is barely rewarded.")
    return InfluencePreset(name, pi_i, tables, names_i, names_j, text)


# --------------------------------------------------------------------------------------------
# Principal–agent (Bayesian persuasion) form
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersuasionGame:
    """A sender (agent i, the principal) who sees the state and a receiver (agent j) who acts.

    Shapes: S states, Σ signals, A receiver actions.
    """

    name: str
    """Title of the preset."""
    state_names: tuple[str, ...]
    """Names of the S states."""
    signal_names: tuple[str, ...]
    """Names of the Σ signals."""
    action_names: tuple[str, ...]
    """Names of the receiver's A actions."""
    prior: np.ndarray
    """μ0(s), shape (S,)."""
    phi: np.ndarray
    """The signalling scheme φ(σ | s), shape (S, Σ)."""
    u_sender: np.ndarray
    """Sender's utility u^i(s, a), shape (S, A)."""
    u_receiver: np.ndarray
    """Receiver's utility u^j(s, a), shape (S, A)."""
    schemes: dict = field(default_factory=dict)
    """Named schemes of the preset (name → (S, Σ) array); ``phi`` is one of them."""
    story: str = ""
    """One paragraph that tells the example."""


PERSUASION_PRESETS = ("recommendation letter", "courtroom")
SCHEME_NAMES = ("honest", "silent", "optimal")


def persuasion_preset(name: str, scheme: str = "optimal") -> PersuasionGame:
    """The two textbook examples, with honest / silent / optimal schemes.

    *Recommendation letter* (Lin et al. 2023, after Dughmi): a professor (sender) writes letters;
    a student is good with prior 1/3; the employer (receiver) gains 1 by hiring a good student,
    loses 1 by hiring a bad one, 0 by not hiring; the professor gains 1 whenever the student is
    hired. The optimal scheme recommends every good student and a bad one with probability 1/2.

    *Courtroom* (Kamenica & Gentzkow 2011): a prosecutor (sender) chooses an investigation; the
    defendant is guilty with prior 0.3; the judge (receiver) gains 1 for a correct verdict; the
    prosecutor gains 1 for a conviction. The optimal investigation reports "guilty" for every
    guilty defendant and for an innocent one with probability 3/7.

    Outcomes (hire / conviction rates, utilities) are *computed* by ``evaluate_scheme``.
    """
    if name not in PERSUASION_PRESETS:
        raise ValueError(f"Unknown example {name!r}; choose one of {', '.join(PERSUASION_PRESETS)}.")
    if scheme not in SCHEME_NAMES:
        raise ValueError(f"Unknown scheme {scheme!r}; choose one of {', '.join(SCHEME_NAMES)}.")
    if name == "recommendation letter":
        schemes = {
            "honest": np.array([[0.0, 1.0], [1.0, 0.0]]),
            "silent": np.array([[0.0, 1.0], [0.0, 1.0]]),
            "optimal": np.array([[0.5, 0.5], [1.0, 0.0]]),
        }
        return PersuasionGame(
            name, ("bad", "good"), ("recommend", "don't recommend"), ("hire", "don't hire"),
            prior=np.array([2 / 3, 1 / 3]), phi=schemes[scheme],
            u_sender=np.array([[1.0, 0.0], [1.0, 0.0]]),
            u_receiver=np.array([[-1.0, 0.0], [1.0, 0.0]]),
            schemes=schemes,
            story=("A professor writes a letter for a student who is good with probability 1/3. The employer "
                   "hires only if it believes the student is at least as likely good as bad; the professor "
                   "wants every student hired."),
        )
    schemes = {
        "honest": np.array([[0.0, 1.0], [1.0, 0.0]]),
        "silent": np.array([[0.0, 1.0], [0.0, 1.0]]),
        "optimal": np.array([[3 / 7, 4 / 7], [1.0, 0.0]]),
    }
    return PersuasionGame(
        name, ("innocent", "guilty"), ('report "guilty"', 'report "innocent"'), ("convict", "acquit"),
        prior=np.array([0.7, 0.3]), phi=schemes[scheme],
        u_sender=np.array([[1.0, 0.0], [1.0, 0.0]]),
        u_receiver=np.array([[0.0, 1.0], [1.0, 0.0]]),
        schemes=schemes,
        story=("A prosecutor chooses what investigation to run on a defendant who is guilty with probability "
               "0.3. The judge convicts only if guilt is at least as likely as innocence; the prosecutor wants "
               "a conviction."),
    )


@dataclass
class SchemeReport:
    """Everything the page shows about a scheme, all computed from the tables."""

    p_sigma: np.ndarray
    """Probability of each signal, p(σ) = Σ_s μ0(s) φ(σ|s), shape (Σ,)."""
    posterior: np.ndarray
    """μ(s | σ), shape (Σ, S) (the prior for a signal never sent)."""
    influence: np.ndarray
    """r^i(s, σ) = KL[π^j(·|σ) ‖ Σ_σ' φ(σ'|s) π^j(·|σ')], shape (S, Σ); inf for pairs never sent."""
    expected_influence: np.ndarray
    """E_{σ~φ(·|s)}[r^i(s, σ)] per state, shape (S,)."""
    action_probs: np.ndarray
    """P(a) = Σ_s μ0(s) Σ_σ φ(σ|s) π^j(a|σ), shape (A,)."""
    sender_utility: float
    """E[u^i(s, a)]."""
    receiver_utility: float
    """E[u^j(s, a)]."""
    obedience_gap: np.ndarray
    """Per signal: best posterior-expected receiver utility minus that of π^j(·|σ) (≥ 0), shape (Σ,)."""
    obedient: bool
    """True when the receiver's table is a best response to every signal that is sent."""


def _check_persuasion(prior, phi, pi_j_given_sigma, u_sender, u_receiver, device=None):
    prior_t = check_distribution_rows(prior, "the prior μ0(s)", 1, device=device)
    device = prior_t.device
    n_s = prior_t.shape[0]
    raw_phi = _to_tensor(phi, "the scheme φ(σ|s)", device)
    phi_t = check_distribution_rows(
        raw_phi, "the scheme φ(σ|s)", 2,
        row_names=[f"row s={k}" for k in range(n_s)] if raw_phi.dim() == 2 and raw_phi.shape[0] == n_s else None,
        device=device,
    )
    if phi_t.shape[0] != n_s:
        raise ValueError(f"The scheme φ(σ|s) has {phi_t.shape[0]} row(s) but there are {n_s} state(s): one row per state.")
    n_sig = phi_t.shape[1]
    u_s = _to_tensor(u_sender, "the sender's utility", device)
    u_r = _to_tensor(u_receiver, "the receiver's utility", device)
    for u, label in ((u_s, "the sender's utility"), (u_r, "the receiver's utility")):
        if u.dim() != 2 or u.shape[0] != n_s or u.numel() == 0:
            raise ValueError(f"{label} must have one row per state ({n_s}) and one column per action; got shape {tuple(u.shape)}.")
        if not torch.isfinite(u).all():
            raise ValueError(f"{label} has a missing or non-finite entry.")
    if u_s.shape != u_r.shape:
        raise ValueError("The sender's and the receiver's utilities must have the same shape (states × actions).")
    pi_t = None
    if pi_j_given_sigma is not None:
        raw = _to_tensor(pi_j_given_sigma, "the receiver's table π^j(a|σ)", device)
        pi_t = check_distribution_rows(
            raw, "the receiver's table π^j(a|σ)", 2,
            row_names=[f"row σ={k}" for k in range(n_sig)] if raw.dim() == 2 and raw.shape[0] == n_sig else None,
            device=device,
        )
        if pi_t.shape != (n_sig, u_r.shape[1]):
            raise ValueError(
                f"The receiver's table π^j(a|σ) has shape {tuple(pi_t.shape)}, but it needs one row per signal "
                f"({n_sig}) and one column per action ({u_r.shape[1]})."
            )
    return prior_t, phi_t, pi_t, u_s, u_r


def _posteriors(prior: torch.Tensor, phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    joint = prior[:, None] * phi  # (S, Σ): μ0(s) φ(σ|s)
    p_sigma = joint.sum(0)
    sent = p_sigma > 0
    post = torch.where(sent[:, None], joint.T / torch.where(sent, p_sigma, torch.ones_like(p_sigma))[:, None], prior[None, :])
    return p_sigma, post


TIE_TOLERANCE = 1e-9
"""Receiver utilities closer than this count as a tie (then the sender's favourite is chosen)."""


def receiver_best_response(prior: Any, phi: Any, u_sender: Any, u_receiver: Any, device=None) -> torch.Tensor:
    """π^j(a | σ): a deterministic best response to each posterior μ(·|σ), shape (Σ, A).

    Ties are broken in the sender's favour (the convention of Kamenica & Gentzkow), then by the
    lowest action index.
    """
    prior_t, phi_t, _, u_s, u_r = _check_persuasion(prior, phi, None, u_sender, u_receiver, device)
    _, post = _posteriors(prior_t, phi_t)
    value_r = post @ u_r  # (Σ, A): E_{μ(·|σ)} u^j(s, a)
    value_s = post @ u_s
    best = value_r >= value_r.amax(-1, keepdim=True) - TIE_TOLERANCE
    score = torch.where(best, value_s, torch.full_like(value_s, -math.inf))
    choice = score.argmax(-1)  # first index among the sender's favourites
    return torch.nn.functional.one_hot(choice, u_r.shape[1]).to(DTYPE)


def evaluate_scheme(prior: Any, phi: Any, pi_j_given_sigma: Any, u_sender: Any, u_receiver: Any, device=None) -> SchemeReport:
    """Evaluate a scheme φ(σ|s) against a receiver table π^j(a|σ) (see ``SchemeReport``)."""
    prior_t, phi_t, pi_t, u_s, u_r = _check_persuasion(prior, phi, pi_j_given_sigma, u_sender, u_receiver, device)
    p_sigma, post = _posteriors(prior_t, phi_t)
    marg = phi_t @ pi_t  # (S, A): Σ_σ' φ(σ'|s) π^j(·|σ')
    influence = kl_divergence(pi_t[None, :, :], marg[:, None, :])  # (S, Σ)
    exp_inf = _expect(phi_t, influence)
    state_action = phi_t @ pi_t  # P(a | s)
    action_probs = prior_t @ state_action
    sender = float((prior_t[:, None] * state_action * u_s).sum())
    receiver = float((prior_t[:, None] * state_action * u_r).sum())
    value_r = post @ u_r  # (Σ, A)
    gap = value_r.amax(-1) - (pi_t * value_r).sum(-1)
    gap = torch.where(p_sigma > 0, gap, torch.zeros_like(gap)).clamp_min(0.0)
    return SchemeReport(
        p_sigma=p_sigma.cpu().numpy(), posterior=post.cpu().numpy(), influence=influence.cpu().numpy(),
        expected_influence=exp_inf.cpu().numpy(), action_probs=action_probs.cpu().numpy(),
        sender_utility=sender, receiver_utility=receiver, obedience_gap=gap.cpu().numpy(),
        obedient=bool((gap <= TIE_TOLERANCE * 10).all()),
    )


# --------------------------------------------------------------------------------------------
# Learning with an influence bonus
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatrixGame:
    """A sequential matrix game: i picks a^i, j sees a^i and picks a^j, both are paid."""

    name: str
    """Short name shown on the page."""
    action_names_i: tuple[str, ...]
    action_names_j: tuple[str, ...]
    r_i: tuple[tuple[float, ...], ...]
    """i's payoff R^i(a^i, a^j), shape (A_i, A_j)."""
    r_j: tuple[tuple[float, ...], ...]
    """j's payoff R^j(a^i, a^j), shape (A_i, A_j)."""
    lesson: str
    """What the game shows about the bonus."""


GAMES: dict[str, MatrixGame] = {
    "stag hunt": MatrixGame(
        "stag hunt", ("stag", "hare"), ("stag", "hare"),
        r_i=((4.0, 0.0), (3.0, 3.0)),
        r_j=((3.25, 3.0), (0.0, 3.0)),
        lesson=(
            "Hunting hare is safe for i (3 whatever j does); stag pays 4 only if j follows. Early on j is "
            "random, so stag looks worse (2 < 3) and i stops playing it before j has learned to answer stag "
            "with stag: without the bonus the pair is stuck at hare (3). A moderate β keeps i playing the "
            "action that changes j's move, j learns to follow, and the pair reaches stag (≈4): the bonus "
            "helps coordination. A large β makes i randomise to stay influential and the extrinsic return "
            "falls again: the bonus distorts."
        ),
    ),
    "pure coordination": MatrixGame(
        "pure coordination", ("A", "B"), ("A", "B"),
        r_i=((2.0, 0.0), (0.0, 1.0)),
        r_j=((2.0, 0.0), (0.0, 1.0)),
        lesson=(
            "Both are paid when j matches i, 2 on A and 1 on B. Without the bonus i settles on A and j copies: "
            "return 2 and no influence is needed. The bonus pays i for keeping j's move uncertain, so i keeps "
            "playing B too, and the extrinsic return drops below 2 as β grows: the bonus only distorts."
        ),
    ),
}

MAX_SEEDS = 64
MAX_ITERATIONS = 3000
MAX_EPISODES = 4096
MAX_BETA = 20.0


@dataclass(frozen=True)
class InfluenceTrainConfig:
    """Policy-gradient training of two tabular softmax policies with an influence bonus."""

    game: str = "stag hunt"
    """Key of ``GAMES``."""
    beta: float = 0.5
    """Weight β of the influence bonus in i's reward r = R^i + β · KL[π^j(·|a^i) ‖ p(a^j)]."""
    n_seeds: int = 8
    """Independent runs trained together as one batched computation."""
    iterations: int = 600
    """Policy-gradient updates."""
    episodes: int = 128
    """Episodes sampled per seed per update."""
    lr: float = 0.5
    """Step size of plain gradient ascent on the logits."""
    init_scale: float = 0.1
    """Standard deviation of the initial logits (symmetry breaking between seeds)."""
    seed: int = 0
    """Seed of the torch.Generator (initial logits and sampling)."""
    record_every: int = 20
    """Record the curves every this many updates."""

    def validate(self) -> None:
        """Raise ValueError for settings outside the server's budget or meaningless ones."""
        if self.game not in GAMES:
            raise ValueError(f"Unknown game {self.game!r}; choose one of {', '.join(GAMES)}.")
        if not (math.isfinite(self.beta) and 0.0 <= self.beta <= MAX_BETA):
            raise ValueError(f"β must be a number between 0 and {MAX_BETA:g}, not {self.beta}.")
        for value, lo, hi, label in (
            (self.n_seeds, 1, MAX_SEEDS, "The number of seeds"),
            (self.iterations, 1, MAX_ITERATIONS, "The number of updates"),
            (self.episodes, 1, MAX_EPISODES, "The number of episodes per update"),
            (self.record_every, 1, MAX_ITERATIONS, "The recording interval"),
        ):
            if not (isinstance(value, (int, np.integer)) and lo <= value <= hi):
                raise ValueError(f"{label} must be a whole number between {lo} and {hi} (server limit), not {value}.")
        if not (math.isfinite(self.lr) and 0.0 < self.lr <= 10.0):
            raise ValueError(f"The step size must be between 0 and 10, not {self.lr}.")
        if not (math.isfinite(self.init_scale) and 0.0 <= self.init_scale <= 5.0):
            raise ValueError(f"The initial logit scale must be between 0 and 5, not {self.init_scale}.")

    def key(self) -> str:
        """A string that identifies the run (for the shared job runner and caches)."""
        return "influence-train:" + ",".join(f"{k}={v}" for k, v in asdict(self).items())


@dataclass
class InfluenceTrainResult:
    """Curves recorded during training; ``(n_seeds, n_records)`` unless stated."""

    steps: np.ndarray
    """Update index of each record, shape (n_records,)."""
    extrinsic_i: np.ndarray
    """Expected extrinsic return of i, E[R^i(a^i, a^j)], exact under the current policies."""
    extrinsic_j: np.ndarray
    """Expected extrinsic return of j."""
    mutual_information: np.ndarray
    """I(a^i; a^j) in nats (= E[influence reward]) under the current policies."""
    pi_i: np.ndarray
    """Final π^i, shape (n_seeds, A_i)."""
    pi_j_given_ai: np.ndarray
    """Final π^j(·|a^i), shape (n_seeds, A_i, A_j)."""

    def to_json(self) -> dict:
        return {k: np.asarray(v).tolist() for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict) -> "InfluenceTrainResult":
        return cls(**{k: np.asarray(data[k], dtype=np.float64) for k in cls.__dataclass_fields__})

    def truncated(self, n: int) -> "InfluenceTrainResult":
        """The first ``n`` records (for streaming partial curves)."""
        return InfluenceTrainResult(self.steps[:n], self.extrinsic_i[:, :n], self.extrinsic_j[:, :n],
                                    self.mutual_information[:, :n], self.pi_i, self.pi_j_given_ai)


def batched_influence(pi_i: torch.Tensor, pi_j: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Influence reward of every action and the mutual information, for a batch of policy pairs.

    ``pi_i (B, A_i)``, ``pi_j (B, A_i, A_j)`` → ``(B, A_i)`` rewards KL[π^j(·|a) ‖ p(a^j)] and
    ``(B,)`` I(a^i; a^j). No validation: for training loops, whose policies are softmaxes.
    """
    marg = (pi_i[..., None] * pi_j).sum(1)  # no einsum→bmm in the training loop (see softmax)
    rewards = kl_divergence(pi_j, marg[:, None, :])
    return rewards, _expect(pi_i, rewards)


def softmax(logits: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis, written out.

    The training loop avoids ops that enter torch's thread pool (``torch.softmax``, ``max(dim)``,
    ``einsum``→``bmm``) even for (8, 2) tensors: on a busy 2-core server that synchronisation cost
    up to 40× the arithmetic (9 s instead of 0.2 s per training). Elementwise ops and ``sum``/``amax``
    run inline at these sizes.
    """
    e = torch.exp(logits - logits.amax(-1, keepdim=True))
    return e / e.sum(-1, keepdim=True)


def reinforce_gradients(
    pi_i: torch.Tensor, pi_j: torch.Tensor, a_i: torch.Tensor, a_j: torch.Tensor,
    adv_i: torch.Tensor, adv_j: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """∇ of (1/B) Σ_b A_b log π(a_b) w.r.t. the logits, for both tabular softmax policies.

    For a softmax, ∇_logits log π(a) = e_a − π, so the gradient of i is
    (1/B) Σ_b A^i_b (e_{a^i_b} − π^i) and that of j's row a^i is (1/B) Σ_{b: a^i_b = a^i} A^j_b (e_{a^j_b} − π^j(·|a^i)).
    Shapes: pi_i (S, A_i), pi_j (S, A_i, A_j), a_i, a_j, adv_i, adv_j (S, B) → (S, A_i), (S, A_i, A_j).
    Equal to autograd through log_softmax (tested), without its per-op overhead.
    """
    n_b = a_i.shape[1]
    onehot_i = torch.nn.functional.one_hot(a_i, pi_i.shape[1]).to(pi_i.dtype)  # (S, B, A_i)
    onehot_j = torch.nn.functional.one_hot(a_j, pi_j.shape[2]).to(pi_j.dtype)  # (S, B, A_j)
    grad_i = ((adv_i[..., None] * onehot_i).sum(1) - adv_i.sum(1, keepdim=True) * pi_i) / n_b
    weighted = onehot_i * adv_j[..., None]  # (S, B, A_i): A^j_b on the row a^i_b
    counts = (weighted[..., None] * onehot_j[:, :, None, :]).sum(1)  # (S, A_i, A_j); no bmm (see softmax)
    grad_j = (counts - weighted.sum(1)[..., None] * pi_j) / n_b
    return grad_i, grad_j


def train_influence_game(
    config: InfluenceTrainConfig,
    report: Callable[[float, Any], None] | None = None,
    device: torch.device | str | None = None,
) -> InfluenceTrainResult:
    """REINFORCE for both agents, all seeds at once; i's reward is R^i + β · influence.

    Per update and seed: sample ``episodes`` pairs a^i ~ π^i, a^j ~ π^j(·|a^i); i's return is
    R^i(a^i, a^j) + β KL[π^j(·|a^i) ‖ Σ_a' π^j(·|a') π^i(a')] (the exact influence of its action under
    j's current policy, treated as a reward: no gradient flows through it, as in Jaques et al.);
    j's return is R^j(a^i, a^j). Gradient ascent on Σ_b (G_b − mean G) ∇ log π(a_b), per seed.
    Shapes: logits_i (S, A_i), logits_j (S, A_i, A_j). ``report(fraction, partial_result)`` is
    called every ``record_every`` updates.
    """
    config.validate()
    device = torch.device(device) if device is not None else default_device()
    game = GAMES[config.game]
    r_i = torch.tensor(game.r_i, dtype=torch.float32, device=device)
    r_j = torch.tensor(game.r_j, dtype=torch.float32, device=device)
    n_ai, n_aj = r_i.shape
    s, b = config.n_seeds, config.episodes
    gen = torch.Generator(device=device).manual_seed(config.seed)
    logits_i = config.init_scale * torch.randn(s, n_ai, generator=gen, device=device)
    logits_j = config.init_scale * torch.randn(s, n_ai, n_aj, generator=gen, device=device)
    seed_idx = torch.arange(s, device=device)[:, None].expand(s, b)
    n_rec = config.iterations // config.record_every + 1
    steps = np.zeros(n_rec)
    ext_i = np.zeros((s, n_rec))
    ext_j = np.zeros((s, n_rec))
    mi = np.zeros((s, n_rec))

    def record(k: int, it: int, pi_i: torch.Tensor, pi_j: torch.Tensor) -> None:
        with torch.no_grad():
            p64, q64 = pi_i.double(), pi_j.double()
            joint = p64[:, :, None] * q64  # (S, A_i, A_j)
            steps[k] = it
            ext_i[:, k] = (joint * r_i.double()).sum((1, 2)).cpu().numpy()
            ext_j[:, k] = (joint * r_j.double()).sum((1, 2)).cpu().numpy()
            mi[:, k] = batched_influence(p64, q64)[1].cpu().numpy()

    k = 0
    for it in range(config.iterations + 1):
        pi_i = softmax(logits_i)
        pi_j = softmax(logits_j)
        if it % config.record_every == 0:
            record(k, it, pi_i, pi_j)
            k += 1
            if report is not None:
                report(it / config.iterations, _partial(steps, ext_i, ext_j, mi, k, pi_i, pi_j))
        if it == config.iterations:
            break
        with torch.no_grad():
            a_i = torch.multinomial(pi_i, b, replacement=True, generator=gen)  # (S, B)
            probs_j = pi_j[seed_idx, a_i]  # (S, B, A_j)
            a_j = torch.multinomial(probs_j.reshape(s * b, n_aj), 1, generator=gen).view(s, b)
            influence, _ = batched_influence(pi_i, pi_j)  # (S, A_i)
            g_i = r_i[a_i, a_j] + config.beta * influence.gather(1, a_i)
            g_j = r_j[a_i, a_j]
            adv_i = g_i - g_i.mean(1, keepdim=True)
            adv_j = g_j - g_j.mean(1, keepdim=True)
            grad_i, grad_j = reinforce_gradients(pi_i, pi_j, a_i, a_j, adv_i, adv_j)
            logits_i += config.lr * grad_i
            logits_j += config.lr * grad_j
    return _partial(steps, ext_i, ext_j, mi, k, softmax(logits_i), softmax(logits_j))


def _partial(steps, ext_i, ext_j, mi, k, pi_i, pi_j) -> InfluenceTrainResult:
    return InfluenceTrainResult(
        steps[:k].copy(), ext_i[:, :k].copy(), ext_j[:, :k].copy(), mi[:, :k].copy(),
        pi_i.detach().double().cpu().numpy(), pi_j.detach().double().cpu().numpy(),
    )


BETA_GRID = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
"""The β values the page's slider offers; precomputed for the default budget (results/)."""


def precomputed_configs() -> list[InfluenceTrainConfig]:
    """Every (game, β) on the grid with the default budget: what ``results/influence_learning.json`` holds."""
    return [InfluenceTrainConfig(game=g, beta=b) for g in GAMES for b in BETA_GRID]


def save_precomputed(path: str, results: dict[str, InfluenceTrainResult], decimals: int = 4) -> None:
    """Write results keyed by ``config.key()`` as compact JSON (rounded to ``decimals``)."""
    import json

    payload = {"torch": torch.__version__, "runs": {
        key: {k: np.round(np.asarray(v), decimals).tolist() for k, v in asdict(res).items()}
        for key, res in results.items()
    }}
    with open(path, "w") as fh:
        json.dump(payload, fh, separators=(",", ":"))


def load_precomputed(path: str) -> dict[str, InfluenceTrainResult]:
    """Read ``save_precomputed``'s file; a missing or unreadable file gives an empty dict."""
    import json

    try:
        with open(path) as fh:
            runs = json.load(fh)["runs"]
        return {key: InfluenceTrainResult.from_json(data) for key, data in runs.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def final_summary(with_bonus: InfluenceTrainResult, without_bonus: InfluenceTrainResult) -> dict[str, float]:
    """Means over seeds at the end of training: what the page's metrics show.

    Keys: ``extrinsic_with``, ``extrinsic_without``, ``extrinsic_gain`` (with − without),
    ``mi_with``, ``mi_without`` (nats), ``p_first_action_with`` (π^i of i's first action).
    """
    ext_on = float(with_bonus.extrinsic_i[:, -1].mean())
    ext_off = float(without_bonus.extrinsic_i[:, -1].mean())
    return dict(
        extrinsic_with=ext_on, extrinsic_without=ext_off, extrinsic_gain=ext_on - ext_off,
        mi_with=float(with_bonus.mutual_information[:, -1].mean()),
        mi_without=float(without_bonus.mutual_information[:, -1].mean()),
        p_first_action_with=float(with_bonus.pi_i[:, 0].mean()),
    )


def bonus_effect(with_bonus: InfluenceTrainResult, without_bonus: InfluenceTrainResult, tol: float = 0.05) -> str:
    """"helps", "distorts" or "neutral": i's final extrinsic return (mean over seeds) with vs without the bonus."""
    diff = final_summary(with_bonus, without_bonus)["extrinsic_gain"]
    return "helps" if diff > tol else "distorts" if diff < -tol else "neutral"
