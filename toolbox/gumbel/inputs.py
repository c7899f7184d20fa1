"""Inputs of the Gumbel-Softmax lesson: validation, typed numbers, presets and the random streams.

Every function here raises ``ValueError`` with a sentence a student understands; the other
modules of ``toolbox.gumbel`` call the ``check_*`` helpers before computing anything.
"""

from __future__ import annotations

import math
import numbers
from typing import Sequence

import torch

from toolbox.device import resolve_device

PRESETS = ("decreasing", "uniform", "one dominant", "zipf")
"""Named probability vectors for any K (see ``preset_probabilities``)."""

K_MIN, K_MAX = 2, 10
"""Number of categories the lesson accepts (the backend itself only needs K ≥ 2)."""

MAX_ELEMENTS = 50_000_000
"""Server cap on samples × categories drawn in one call (about 200 MB of float32 noise)."""

PROB_TOL = 1e-3
"""How far typed probabilities may sum away from 1 (rounding when typing 1/3 as 0.333)."""


# ----------------------------------------------------------------------------------------------
# validation


def check_tau(tau) -> torch.Tensor | float:
    """τ must be a finite positive number (or a tensor of them)."""
    if isinstance(tau, torch.Tensor):
        if tau.numel() == 0:
            raise ValueError("The temperature τ is empty; give at least one value.")
        if not bool(torch.isfinite(tau).all()):
            raise ValueError("The temperature τ must be a finite number (not NaN or infinity).")
        if not bool((tau > 0).all()):
            raise ValueError("The temperature τ must be greater than 0: softmax(x/τ) divides by τ.")
        return tau
    try:
        value = float(tau)
    except (TypeError, ValueError):
        raise ValueError(f"The temperature τ must be a number, got {tau!r}.") from None
    if not math.isfinite(value):
        raise ValueError("The temperature τ must be a finite number (not NaN or infinity).")
    if value <= 0:
        raise ValueError(
            f"The temperature τ must be greater than 0 (got {value:g}): softmax(x/τ) divides by τ."
        )
    return value


def check_logits(logits) -> torch.Tensor:
    """Logits are a float tensor ``(..., K)`` with K ≥ 2 and only finite entries."""
    if not isinstance(logits, torch.Tensor):
        try:
            logits = torch.as_tensor(logits, dtype=torch.get_default_dtype())
        except (TypeError, ValueError, RuntimeError):
            raise ValueError("The logits must be a list of numbers, one per category.") from None
    if logits.dim() == 0:
        raise ValueError(
            "The logits must be a vector with one number per category, not a single number.")
    if not logits.is_floating_point():
        logits = logits.to(torch.get_default_dtype())
    if logits.shape[-1] < 2:
        raise ValueError(
            "A categorical distribution needs at least "
            f"K = 2 categories; got K = {logits.shape[-1]}."
        )
    if not bool(torch.isfinite(logits).all()):
        raise ValueError(
            "The logits contain NaN or infinity; every logit must be a finite number "
            "(a category you never want drawn needs a very negative logit, not -inf)."
        )
    return logits


def check_n(n, what: str = "number of samples") -> int:
    """A whole number ≥ 1 (a float like 3.0 is accepted), else ``ValueError`` naming ``what``."""
    if isinstance(n, bool) or not (
        isinstance(n, numbers.Integral) or (isinstance(n, float) and n.is_integer())
    ):
        raise ValueError(f"The {what} must be a whole number, got {n!r}.")
    n = int(n)
    if n < 1:
        raise ValueError(f"The {what} must be at least 1, got {n}.")
    return n


def check_budget(n: int, numel: int) -> None:
    """Refuse draws of more than ``MAX_ELEMENTS`` numbers (n samples × numel categories)."""
    if n * numel > MAX_ELEMENTS:
        raise ValueError(
            f"Drawing {n:,} samples of {numel:,} categories is more than this server does at once "
            f"({MAX_ELEMENTS:,} numbers); ask for fewer samples."
        )


def check_f(f, logits: torch.Tensor) -> torch.Tensor:
    """f: one finite value per category, shape (K,)."""
    if not isinstance(f, torch.Tensor):
        try:
            f = torch.as_tensor(f, dtype=logits.dtype)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(
                "The values f(k) must be a list of numbers, one per category.") from None
    f = f.to(device=logits.device, dtype=logits.dtype)
    if f.dim() != 1 or f.shape[0] != logits.shape[-1]:
        raise ValueError(
            f"The values f(k) need one number per category: there are K = {logits.shape[-1]} "
            f"categories but f has {f.numel()} value(s)."
        )
    if not bool(torch.isfinite(f).all()):
        raise ValueError("The values f(k) must be finite numbers (not NaN or infinity).")
    return f


def check_f_values(f: Sequence[float], K: int) -> list[float]:
    """Validate typed objective values f(k): K finite numbers. Returns them as floats."""
    return check_f(f, torch.zeros(check_n(K, "number of categories K"))).tolist()


def parse_numbers(text: str, what: str = "values") -> list[float]:
    """Parse ``"0.5, 0.3; 0.2"`` (commas, semicolons or spaces) into floats.

    NaN and infinity parse (so that the caller's validation can name the problem); anything
    that is not a number raises ``ValueError`` naming the offending piece.
    """
    pieces = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    if not pieces:
        raise ValueError(f"Type the {what} as numbers separated by commas, e.g. 0.5, 0.3, 0.2.")
    out = []
    for p in pieces:
        try:
            out.append(float(p))
        except ValueError:
            raise ValueError(f"{p.strip()!r} in the {what} is not a number.") from None
    return out


def logits_from_probs(probs, device: str | torch.device | None = None) -> torch.Tensor:
    """θ = log π for a probability vector π ``(..., K)``; softmax(θ) = π.

    Raises ``ValueError`` unless every entry is finite and strictly positive, the entries sum to 1
    (within ``PROB_TOL``) and K ≥ 2. Small rounding is renormalised away.
    """
    dev = resolve_device(device)
    probs = torch.as_tensor(probs, dtype=torch.get_default_dtype(), device=dev)
    if probs.dim() == 0 or probs.shape[-1] < 2:
        k = 1 if probs.dim() == 0 else probs.shape[-1]
        raise ValueError(
            f"A categorical distribution needs at least K = 2 categories; got K = {k}.")
    if not bool(torch.isfinite(probs).all()):
        raise ValueError(
            "The probabilities contain NaN or infinity; each must be a number between 0 and 1.")
    if bool((probs < 0).any()):
        raise ValueError("Probabilities cannot be negative.")
    if bool((probs == 0).any()):
        raise ValueError(
            "Every probability must be greater than 0: a category with probability 0 can never be "
            "drawn (its logit log 0 is -inf). Remove it or give it a small probability."
        )
    total = probs.sum(-1)
    if bool(((total - 1).abs() > PROB_TOL).any()):
        bad = float(total.flatten()[((total - 1).abs() > PROB_TOL).flatten()][0])
        raise ValueError(f"The probabilities must sum to 1, but they sum to {bad:.4g}.")
    return torch.log(probs / total.unsqueeze(-1))


def preset_probabilities(name: str, K: int,
                         device: str | torch.device | None = None) -> torch.Tensor:
    """A named probability vector of length K (shape ``(K,)``), for the lesson's presets.

    ``decreasing``: π_k ∝ K − k;  ``uniform``: π_k = 1/K;  ``one dominant``: π_0 = 0.7, the rest
    share 0.3;  ``zipf``: π_k ∝ 1/(k + 1).
    """
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    K = check_n(K, "number of categories K")
    if K < 2:
        raise ValueError(
            f"A categorical distribution needs at least K = 2 categories; got K = {K}.")
    dev = resolve_device(device)
    k = torch.arange(K, dtype=torch.get_default_dtype(), device=dev)
    if name == "decreasing":
        w = K - k
    elif name == "uniform":
        w = torch.ones_like(k)
    elif name == "one dominant":
        w = torch.full_like(k, 0.3 / (K - 1))
        w[0] = 0.7
    else:
        w = 1.0 / (k + 1)
    return w / w.sum()


MODES = ("probabilities", "logits")
"""How a student types a distribution: probabilities π, or logits θ (π = softmax θ)."""


def preset_values(name: str, K: int, mode: str = "probabilities") -> list[float]:
    """The preset ``name`` as the numbers a student would type: π (``probabilities``) or log π."""
    if mode not in MODES:
        raise ValueError(f"Unknown input mode {mode!r}; choose {' or '.join(MODES)}.")
    p = preset_probabilities(name, K, device="cpu").double()
    return (p if mode == "probabilities" else p.log()).tolist()


def distribution_logits(values: Sequence[float], mode: str = "probabilities",
                        device: str | torch.device | None = None) -> torch.Tensor:
    """Typed numbers → validated logits θ ``(K,)``: log π for probabilities, as-is for logits."""
    if mode not in MODES:
        raise ValueError(f"Unknown input mode {mode!r}; choose {' or '.join(MODES)}.")
    if mode == "probabilities":
        return logits_from_probs(values, device=device)
    return check_logits(torch.as_tensor(values, dtype=torch.get_default_dtype(),
                                        device=resolve_device(device)))


def default_f(K: int) -> list[float]:
    """The lesson's default objective values f(k) = k: later categories are worth more."""
    return [float(k) for k in range(check_n(K, "number of categories K"))]


def stream_seed(seed: int, part: int) -> int:
    """The seed of the random stream of one part of the lesson: ``16 · seed + part`` (0 ≤ part
    < 16).

    One stream per part, so moving one control does not reshuffle the samples of the others; the
    "Run it yourself" script seeds its generator with the same number.
    """
    seed, part = int(seed), int(part)
    if seed < 0:
        raise ValueError(f"The random seed must be 0 or more, got {seed}.")
    if not 0 <= part < 16:
        raise ValueError(f"A stream part must lie in 0..15, got {part}.")
    return 16 * seed + part
