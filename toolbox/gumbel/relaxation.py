"""The Gumbel-Softmax (Concrete) relaxation and its temperature τ.

- Gumbel-Softmax sample: y = softmax((θ + g)/τ), a point of the probability simplex
  (Jang, Gu & Poole 2017; Maddison, Mnih & Teh 2017).
- Straight-through Gumbel-Softmax: forward one_hot(argmax y), backward ∂y/∂θ (Jang et al. 2017,
  §2.2).
- τ → 0: samples approach one-hot vectors (argmax y is a Gumbel-max sample at every τ);
  τ → ∞: they approach the uniform vector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from toolbox.device import resolve_device
from toolbox.gumbel.inputs import check_budget, check_logits, check_n, check_tau
from toolbox.gumbel.sampling import category_counts, sample_gumbel


def gumbel_softmax_from_noise(logits: torch.Tensor, g: torch.Tensor, tau) -> torch.Tensor:
    """y = softmax((θ + g)/τ) for given noise ``g`` (broadcastable to ``logits`` ``(..., K)``)."""
    return torch.softmax((logits + g) / tau, dim=-1)


def gumbel_softmax(logits, tau, hard: bool = False,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """A Gumbel-Softmax (Concrete) sample y = softmax((θ + g)/τ), shape ``(..., K)`` like
    ``logits``.

    Same distribution as ``torch.nn.functional.gumbel_softmax(logits, tau, hard)``. With
    ``hard=True`` the forward value is one_hot(argmax y) and the gradient is ∂y/∂θ
    (straight-through Gumbel-Softmax, Jang et al. 2017: y_hard − stop_grad(y) + y). ``tau`` may be a
    tensor broadcastable to ``(..., 1)`` to use several temperatures at once. The noise is one call
    ``sample_gumbel(logits.shape, generator, logits.device)``.
    """
    logits = check_logits(logits)
    tau = check_tau(tau)
    g = sample_gumbel(logits.shape, generator=generator, device=logits.device).to(logits.dtype)
    y = gumbel_softmax_from_noise(logits, g, tau)
    if not hard:
        return y
    return straight_through_gumbel(y)


def straight_through_gumbel(y: torch.Tensor) -> torch.Tensor:
    """Straight-through Gumbel-Softmax (Jang et al. 2017, §2.2) of relaxed samples ``y (..., K)``.

    Forward value one_hot(argmax y); gradient ∂y/∂θ: y_hard − stop_grad(y) + y. (The estimator of
    Bengio et al. 2013 back-propagates through π instead, see ``toolbox.gumbel.estimators``.)
    """
    index = y.argmax(dim=-1, keepdim=True)
    y_hard = torch.zeros_like(y).scatter_(-1, index, 1.0)
    return y_hard - y.detach() + y


@dataclass(frozen=True)
class RelaxedExperiment:
    """Relaxed samples at one temperature, for display (CPU tensors)."""

    probs: torch.Tensor
    """(K,) π = softmax(θ)."""
    samples: torch.Tensor
    """(n, K) samples y = softmax((θ + g)/τ)."""
    mean_sample: torch.Tensor
    """(K,) the average of the n samples, an estimate of E[y]."""
    argmax_freqs: torch.Tensor
    """(K,) how often each category is the largest coordinate: π at every τ (Gumbel-max)."""


def relaxed_experiment(logits, tau, n: int,
                       generator: torch.Generator | None = None) -> RelaxedExperiment:
    """Draw n relaxed samples from ``logits (K,)`` at temperature τ (one batched softmax)."""
    logits = check_logits(logits)
    if logits.dim() != 1:
        raise ValueError("relaxed_experiment takes one logit vector of shape (K,).")
    n = check_n(n)
    check_budget(n, logits.numel())
    y = gumbel_softmax(logits.expand(n, -1), tau, generator=generator)
    K = logits.shape[0]
    freqs = category_counts(y.argmax(-1), K).double() / n
    return RelaxedExperiment(torch.softmax(logits, -1).cpu(), y.cpu(), y.mean(0).cpu(), freqs.cpu())


@dataclass(frozen=True)
class TemperatureSweep:
    """Statistics of relaxed samples y = softmax((θ + g)/τ) on a grid of τ (all as CPU tensors)."""

    taus: torch.Tensor
    """(T,) the temperatures."""
    mean_entropy: torch.Tensor
    """(T,) E[H(y)] with H(y) = −Σ_k y_k log y_k, in nats: 0 for one-hot, log K for uniform."""
    mean_max: torch.Tensor
    """(T,) E[max_k y_k]: 1 for one-hot, 1/K for uniform."""
    mean_sample: torch.Tensor
    """(T, K) E[y]: π as τ → 0, the uniform vector as τ → ∞."""


def sample_entropy(y_log: torch.Tensor) -> torch.Tensor:
    """H(y) = −Σ_k y_k log y_k from log y ``(..., K)`` → ``(...)`` (log-space avoids 0·log 0)."""
    return -(y_log.exp() * y_log).sum(-1)


def temperature_sweep(logits, taus, n_samples: int,
                      generator: torch.Generator | None = None) -> TemperatureSweep:
    """Mean entropy, mean max-coordinate and mean of relaxed samples for every τ in ``taus``.

    One noise draw ``g (n, K)`` is shared by all temperatures (common random numbers), so the
    curves are smooth in τ; the work is one batched softmax of shape ``(T, n, K)``.
    """
    logits = check_logits(logits)
    if logits.dim() != 1:
        raise ValueError("temperature_sweep takes one logit vector of shape (K,).")
    taus = torch.as_tensor(taus, dtype=logits.dtype, device=logits.device).reshape(-1)
    check_tau(taus)
    n = check_n(n_samples)
    check_budget(n * taus.numel(), logits.numel())
    g = sample_gumbel((n, logits.shape[0]), generator=generator,
                      device=logits.device).to(logits.dtype)
    log_y = torch.log_softmax((logits + g).unsqueeze(0) / taus[:, None, None], dim=-1)  # (T, n, K)
    y = log_y.exp()
    return TemperatureSweep(
        taus=taus.cpu(),
        mean_entropy=sample_entropy(log_y).mean(1).cpu(),
        mean_max=y.amax(-1).mean(1).cpu(),
        mean_sample=y.mean(1).cpu(),
    )


def log_grid(low: float, high: float, num: int,
             device: str | torch.device | None = None) -> torch.Tensor:
    """``num`` points from ``low`` to ``high`` evenly spaced in log10 (like numpy.geomspace)."""
    if not (low > 0 and high > low and num >= 2):
        raise ValueError("A log grid needs 0 < low < high and at least 2 points.")
    return torch.logspace(math.log10(low), math.log10(high), num, device=resolve_device(device))
