"""The influence reward of a sender with a signalling scheme (Bayesian persuasion).

An adaptation of Jaques et al.'s (2019) counterfactual influence reward to the persuasion setting
of Kamenica & Gentzkow (2011): a sender (agent i) sees the state s and sends a signal σ drawn from
its scheme ``phi`` = φ(σ | s), shape ``(S, Σ)``; a receiver (agent j) acts with
``pi_j_given_sigma`` = π^j(a | σ), shape ``(Σ, A)``. Neither paper defines this reward; it is
Jaques et al.'s KL with the signal in place of i's action:

    r^i(s, σ) = KL[ π^j(· | σ) ‖ Σ_{σ'} w(σ') π^j(· | σ') ]

with one of two counterfactual marginals (``marginal=``):

* ``"state"``: w = φ(· | s), what the sender would have sent *in this state*. Its expectation is
  I(σ; a | s): it rewards only the sender's own randomness given the state (0 for an honest scheme).
* ``"prior"``: w = p(σ) = Σ_s μ0(s) φ(σ | s), the signal's marginal over the prior. Its
  expectation is I(σ; a): it also rewards passing on the state itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from toolbox.influence.reward import expectation, kl_divergence
from toolbox.influence.tables import DTYPE, as_tensor, check_distribution_rows, check_index

MARGINALS = ("state", "prior")
"""The two counterfactual marginals of the signalling reward (see the module docstring)."""

MARGINAL_MEANINGS = {
    "state": (
        "I(σ; a | s): what the sender's own randomness in a state changes in the receiver's move. "
        "An honest scheme scores 0 (its signal is fixed by the state); a scheme scores only where "
        "it mixes its signals."),
    "prior": ("I(σ; a): everything the signal changes in the receiver's move, passing on the state "
              "included. An honest scheme scores as much as the state can move the receiver."),
}
"""What the expected reward measures under each marginal, in a sentence for the page."""


def principal_influence(phi_s: Any, pi_j_given_sigma: Any, sigma: Any, device=None) -> float:
    """r^i = KL[π^j(· | σ) ‖ Σ_{σ'} w(σ') π^j(· | σ')] for the signal σ that was sent.

    ``phi_s (Σ,)`` is the counterfactual weighting w of the signals: φ(· | s) for the marginal
    given the state, or p(σ) (``signal_marginal``) for the marginal over the prior;
    ``pi_j_given_sigma (Σ, A_j)``.
    """
    phi = check_distribution_rows(phi_s, "φ(·|s) (the sender's scheme in this state)", 1,
                                  device=device)
    n_sig = phi.shape[0]
    raw = as_tensor(pi_j_given_sigma, "π^j(·|σ) (the receiver's table)", phi.device)
    pi_j = check_distribution_rows(
        raw, "π^j(·|σ) (the receiver's table)", 2,
        row_names=[f"row σ={k}" for k in range(n_sig)] if raw.dim() == 2 and raw.shape[
            0] == n_sig else None,
        device=phi.device,
    )
    if pi_j.shape[0] != n_sig:
        raise ValueError(
            f"π^j(·|σ) has {pi_j.shape[0]} row(s) but φ(·|s) has {n_sig} signal(s): the receiver's "
            f"table needs exactly one row per signal."
        )
    k = check_index(sigma, n_sig, "The signal σ")
    return float(kl_divergence(pi_j[k], phi @ pi_j))


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
        raise ValueError(
            f"Unknown example {name!r}; choose one of {', '.join(PERSUASION_PRESETS)}.")
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
            story=(
                "A professor writes a letter for a student who is good with probability 1/3. The "
                "employer hires only if it believes the student is at least as likely good as bad; "
                "the professor wants every student hired."),
        )
    schemes = {
        "honest": np.array([[0.0, 1.0], [1.0, 0.0]]),
        "silent": np.array([[0.0, 1.0], [0.0, 1.0]]),
        "optimal": np.array([[3 / 7, 4 / 7], [1.0, 0.0]]),
    }
    return PersuasionGame(
        name, ("innocent", "guilty"), ('report "guilty"', 'report "innocent"'),
        ("convict", "acquit"), prior=np.array([0.7, 0.3]), phi=schemes[scheme],
        u_sender=np.array([[1.0, 0.0], [1.0, 0.0]]),
        u_receiver=np.array([[0.0, 1.0], [1.0, 0.0]]),
        schemes=schemes,
        story=(
            "A prosecutor chooses what investigation to run on a defendant who is guilty with "
            "probability 0.3. The judge convicts only if guilt is at least as likely as innocence; "
            "the prosecutor wants a conviction."),
    )


@dataclass
class SchemeReport:
    """Everything the page shows about a scheme, all computed from the tables."""

    p_sigma: np.ndarray
    """Probability of each signal, p(σ) = Σ_s μ0(s) φ(σ|s), shape (Σ,)."""
    posterior: np.ndarray
    """μ(s | σ), shape (Σ, S) (the prior for a signal never sent)."""
    influence: np.ndarray
    """r^i(s, σ) = KL[π^j(·|σ) ‖ Σ_σ' w(σ') π^j(·|σ')], shape (S, Σ), with w = φ(·|s)
    (``marginal="state"``) or p(σ) (``"prior"``); inf for a pair whose σ the marginal gives
    probability 0."""
    expected_influence: np.ndarray
    """E_{σ~φ(·|s)}[r^i(s, σ)] per state, shape (S,)."""
    mutual_information: float
    """E_{s~μ0, σ~φ(·|s)}[r^i(s, σ)] (nats): I(σ; a | s) for ``marginal="state"``, I(σ; a) for
    ``"prior"``."""
    marginal: str
    """Which counterfactual marginal the reward uses, one of ``MARGINALS``."""
    action_probs: np.ndarray
    """P(a) = Σ_s μ0(s) Σ_σ φ(σ|s) π^j(a|σ), shape (A,)."""
    sender_utility: float
    """E[u^i(s, a)]."""
    receiver_utility: float
    """E[u^j(s, a)]."""
    obedience_gap: np.ndarray
    """Per signal: best posterior-expected receiver utility minus that of π^j(·|σ) (≥ 0), shape
    (Σ,)."""
    obedient: bool
    """True when the receiver's table is a best response to every signal that is sent."""


def _check_persuasion(prior, phi, pi_j_given_sigma, u_sender, u_receiver, device=None):
    prior_t = check_distribution_rows(prior, "the prior μ0(s)", 1, device=device)
    device = prior_t.device
    n_s = prior_t.shape[0]
    raw_phi = as_tensor(phi, "the scheme φ(σ|s)", device)
    phi_t = check_distribution_rows(
        raw_phi, "the scheme φ(σ|s)", 2,
        row_names=[f"row s={k}" for k in range(n_s)] if raw_phi.dim() == 2 and raw_phi.shape[
            0] == n_s else None,
        device=device,
    )
    if phi_t.shape[0] != n_s:
        raise ValueError(
            f"The scheme φ(σ|s) has {phi_t.shape[0]} row(s) "
            f"but there are {n_s} state(s): one row per state.")
    n_sig = phi_t.shape[1]
    u_s = as_tensor(u_sender, "the sender's utility", device)
    u_r = as_tensor(u_receiver, "the receiver's utility", device)
    for u, label in ((u_s, "the sender's utility"), (u_r, "the receiver's utility")):
        if u.dim() != 2 or u.shape[0] != n_s or u.numel() == 0:
            raise ValueError(
                f"{label} must have one row per state ({n_s}) and "
                f"one column per action; got shape {tuple(u.shape)}.")
        if not torch.isfinite(u).all():
            raise ValueError(f"{label} has a missing or non-finite entry.")
    if u_s.shape != u_r.shape:
        raise ValueError(
            "The sender's and the receiver's utilities must have the same shape (states × actions)."
        )
    pi_t = None
    if pi_j_given_sigma is not None:
        raw = as_tensor(pi_j_given_sigma, "the receiver's table π^j(a|σ)", device)
        pi_t = check_distribution_rows(
            raw, "the receiver's table π^j(a|σ)", 2,
            row_names=[f"row σ={k}" for k in range(n_sig)] if raw.dim() == 2 and raw.shape[
                0] == n_sig else None,
            device=device,
        )
        if pi_t.shape != (n_sig, u_r.shape[1]):
            raise ValueError(
                f"The receiver's table π^j(a|σ) has shape {tuple(pi_t.shape)}, but it needs one "
                f"row per signal ({n_sig}) and one column per action ({u_r.shape[1]})."
            )
    return prior_t, phi_t, pi_t, u_s, u_r


def _posteriors(prior: torch.Tensor, phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    joint = prior[:, None] * phi  # (S, Σ): μ0(s) φ(σ|s)
    p_sigma = joint.sum(0)
    sent = p_sigma > 0
    post = torch.where(sent[:, None], joint.T / torch.where(sent, p_sigma,
                                                            torch.ones_like(p_sigma))[:, None],
                       prior[None, :])
    return p_sigma, post


TIE_TOLERANCE = 1e-9
"""Receiver utilities closer than this count as a tie (then the sender's favourite is chosen)."""


def receiver_best_response(prior: Any, phi: Any, u_sender: Any, u_receiver: Any,
                           device=None) -> torch.Tensor:
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


def signal_marginal(prior: Any, phi: Any, device=None) -> torch.Tensor:
    """p(σ) = Σ_s μ0(s) φ(σ | s): ``prior (S,)``, ``phi (S, Σ)`` → ``(Σ,)``."""
    prior_t = check_distribution_rows(prior, "the prior μ0(s)", 1, device=device)
    phi_t = check_distribution_rows(phi, "the scheme φ(σ|s)", 2, device=prior_t.device)
    if phi_t.shape[0] != prior_t.shape[0]:
        raise ValueError(
            f"The scheme φ(σ|s) has {phi_t.shape[0]} row(s) but there are {prior_t.shape[0]} "
            f"state(s): one row per state.")
    return prior_t @ phi_t


def evaluate_scheme(prior: Any, phi: Any, pi_j_given_sigma: Any, u_sender: Any, u_receiver: Any,
                    device=None, marginal: str = "state") -> SchemeReport:
    """Evaluate a scheme φ(σ|s) against a receiver table π^j(a|σ) (see ``SchemeReport``).

    ``marginal`` picks the counterfactual weighting of the signals in the influence reward:
    ``"state"`` (φ(·|s), expectation I(σ; a | s)) or ``"prior"`` (p(σ), expectation I(σ; a)).
    """
    if marginal not in MARGINALS:
        raise ValueError(f"Unknown marginal {marginal!r}; choose one of {', '.join(MARGINALS)}.")
    prior_t, phi_t, pi_t, u_s, u_r = _check_persuasion(prior, phi, pi_j_given_sigma, u_sender,
                                                       u_receiver, device)
    p_sigma, post = _posteriors(prior_t, phi_t)
    weights = phi_t if marginal == "state" else p_sigma.expand_as(phi_t)  # (S, Σ)
    marg = weights @ pi_t  # (S, A): Σ_σ' w(σ') π^j(·|σ')
    influence = kl_divergence(pi_t[None, :, :], marg[:, None, :])  # (S, Σ)
    exp_inf = expectation(phi_t, influence)
    state_action = phi_t @ pi_t  # P(a | s)
    action_probs = prior_t @ state_action
    sender = float((prior_t[:, None] * state_action * u_s).sum())
    receiver = float((prior_t[:, None] * state_action * u_r).sum())
    value_r = post @ u_r  # (Σ, A)
    gap = value_r.amax(-1) - (pi_t * value_r).sum(-1)
    gap = torch.where(p_sigma > 0, gap, torch.zeros_like(gap)).clamp_min(0.0)
    return SchemeReport(
        p_sigma=p_sigma.cpu().numpy(), posterior=post.cpu().numpy(),
        influence=influence.cpu().numpy(), expected_influence=exp_inf.cpu().numpy(),
        mutual_information=float((prior_t * exp_inf).sum()), marginal=marginal,
        action_probs=action_probs.cpu().numpy(), sender_utility=sender, receiver_utility=receiver,
        obedience_gap=gap.cpu().numpy(), obedient=bool((gap <= TIE_TOLERANCE * 10).all()),
    )



def _named_scheme(game: PersuasionGame, phi: np.ndarray) -> str | None:
    for name, table in game.schemes.items():
        if table.shape == phi.shape and np.allclose(table, phi, atol=1e-9):
            return name
    return None


def scheme_caption(game: PersuasionGame, phi: Any, report: SchemeReport) -> str:
    """What the page says under the scheme's results: true for the scheme on screen and its numbers.

    ``phi (S, Σ)`` is the scheme on screen (a preset's honest / silent / optimal, or one the student
    typed); ``report`` is its ``evaluate_scheme`` result. The sentences about the influence reward
    follow ``report.marginal``.
    """
    phi = np.asarray(phi, dtype=np.float64)
    name = _named_scheme(game, phi)
    a0 = game.action_names[0]
    outcome = (f"P({a0}) = {report.action_probs[0]:.3f}, sender {report.sender_utility:.3f}, "
               f"receiver {report.receiver_utility:.3f}.")
    if name == "honest":
        text = f"The honest scheme reveals the state: the receiver acts on the truth. {outcome}"
    elif name == "silent":
        text = (
            "The silent scheme sends the same signal in every state: the receiver acts on the "
            f"prior alone. {outcome}")
    elif name == "optimal":
        text = (
            "The optimal scheme makes the receiver exactly indifferent after the favourable signal "
            "(posterior 1/2) and breaks the tie for the sender: Kamenica & Gentzkow's "
            f"concavification. {outcome} The sender gains; the "
            "receiver gets no more than with no information.")
    else:
        text = f"Your scheme (edited; none of the preset's). {outcome}"
    mixes = [game.state_names[s] for s in range(phi.shape[0]) if (phi[s] > 0).sum() > 1]
    mi = report.mutual_information
    if report.marginal == "state":
        if mixes:
            where = f"only where the scheme mixes its signals (s = {', '.join(mixes)})"
        else:
            where = ("nowhere: in every state one signal is sent, and the move it causes is the "
                     "marginal itself")
        text += (" With the marginal given the state the influence reward of the signals the "
                 f"scheme sends is positive {where}; I(σ; a | s) = {mi:.3f} nats.")
    else:
        text += (
            " With the marginal over the prior the reward counts everything the signal changes in "
            f"the receiver's move: I(σ; a) = {mi:.3f} nats.")
    if not np.isfinite(report.influence).all():
        text += (
            " ∞ marks a signal the scheme never sends in that state: were it sent, the receiver "
            "would act in a way the marginal gives probability 0.")
    return text
