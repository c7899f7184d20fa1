"""Gumbel noise and the Gumbel-max trick: exact samples of a categorical distribution.

- g = −log(−log U), U ~ Uniform(0, 1), is Gumbel(0, 1) (Gumbel 1954).
- z = argmax_k (θ_k + g_k) is distributed as Cat(softmax θ) (the Gumbel-max trick).

Every function takes a ``torch.Generator``: the same inputs and seed give the same numbers on
the same device; noise is drawn on the device of the logits (or ``device=``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from toolbox.device import resolve_device
from toolbox.gumbel.inputs import PROB_TOL, check_budget, check_logits, check_n


def sample_gumbel(shape: Sequence[int] | torch.Size, generator: torch.Generator | None = None,
                  device: str | torch.device | None = None) -> torch.Tensor:
    """Standard Gumbel(0, 1) noise of ``shape``: g = −log(−log U), U ~ Uniform(0, 1).

    Mean γ (Euler–Mascheroni, ≈ 0.5772), variance π²/6. The device is ``device`` if given, else
    the generator's device, else ``toolbox.device.default_device()``.
    """
    if device is not None:
        dev = resolve_device(device)
    elif generator is not None:
        dev = generator.device
    else:
        dev = resolve_device(None)
    u = torch.rand(tuple(shape), generator=generator, device=dev)
    # torch.rand can return exactly 0, whose double log is -inf; the smallest normal float keeps
    # g finite (≈ −4.5) without changing the distribution measurably.
    u = u.clamp_min(torch.finfo(u.dtype).tiny)
    return -torch.log(-torch.log(u))


def gumbel_max_sample(logits, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """n categorical samples by the Gumbel-max trick: z = argmax_k (θ_k + g_k).

    ``logits (..., K)`` → ``LongTensor (n, ...)`` of category indices in 0..K−1, each row an
    independent draw from Cat(softmax θ).
    """
    logits = check_logits(logits)
    n = check_n(n)
    check_budget(n, logits.numel())
    g = sample_gumbel((n, *logits.shape), generator=generator, device=logits.device)
    return (logits.to(g.dtype) + g).argmax(dim=-1)


def category_counts(samples: torch.Tensor, K: int) -> torch.Tensor:
    """How often each category occurs along dim 0: ``samples (n, ...)`` → ``counts (..., K)``."""
    if samples.numel() and (int(samples.min()) < 0 or int(samples.max()) >= K):
        raise ValueError(f"Sample indices must lie in 0..{K - 1}.")
    flat = samples.reshape(samples.shape[0], -1)  # (n, B)
    B = flat.shape[1]
    offset = torch.arange(B, device=samples.device) * K
    counts = torch.bincount((flat + offset).reshape(-1), minlength=B * K)
    return counts.reshape(*samples.shape[1:], K)


@dataclass(frozen=True)
class ChiSquareResult:
    """Pearson's goodness-of-fit test of observed counts against probabilities π."""

    statistic: float
    """X² = Σ_k (O_k − n π_k)² / (n π_k)."""
    dof: int
    """Degrees of freedom, K − 1."""
    p_value: float
    """P(χ²_{K−1} ≥ X²) = Q((K−1)/2, X²/2), the regularised upper incomplete gamma function."""


def chi_square_test(counts, probs) -> ChiSquareResult:
    """Pearson chi-square goodness of fit of ``counts (K,)`` against ``probs (K,)``.

    Large p-values mean the counts are consistent with π; a correct sampler gives p-values that
    are uniform on [0, 1] over repeated experiments.
    """
    counts = torch.as_tensor(counts, dtype=torch.float64)
    probs = torch.as_tensor(probs, dtype=torch.float64, device=counts.device)
    if counts.dim() != 1 or counts.shape != probs.shape:
        raise ValueError("Counts and probabilities must be vectors of the same length K.")
    if counts.shape[0] < 2:
        raise ValueError("A chi-square test needs at least K = 2 categories.")
    if bool((counts < 0).any()) or float(counts.sum()) < 1:
        raise ValueError("Counts must be non-negative and contain at least one sample.")
    if bool((probs <= 0).any()) or abs(float(probs.sum()) - 1) > PROB_TOL:
        raise ValueError("The probabilities of a chi-square test must be positive and sum to 1.")
    n = counts.sum()
    expected = n * probs / probs.sum()
    stat = ((counts - expected) ** 2 / expected).sum()
    dof = counts.shape[0] - 1
    p = torch.special.gammaincc(torch.tensor(dof / 2, dtype=torch.float64), stat / 2)
    return ChiSquareResult(float(stat), dof, float(p))


@dataclass(frozen=True)
class GumbelMaxExperiment:
    """n Gumbel-max draws from Cat(π) summarised for display (CPU tensors)."""

    probs: torch.Tensor
    """(K,) the target π = softmax(θ)."""
    counts: torch.Tensor
    """(K,) how many of the n samples fell in each category."""
    freqs: torch.Tensor
    """(K,) counts / n."""
    chi_square: ChiSquareResult
    """Pearson's test of the counts against π."""


def gumbel_max_experiment(logits, n: int,
                          generator: torch.Generator | None = None) -> GumbelMaxExperiment:
    """Draw n samples z = argmax(θ + g) for ``logits (K,)``, count them and test them against π."""
    logits = check_logits(logits)
    if logits.dim() != 1:
        raise ValueError("gumbel_max_experiment takes one logit vector of shape (K,).")
    z = gumbel_max_sample(logits, n, generator=generator)
    K = logits.shape[0]
    counts = category_counts(z, K).cpu()
    probs = torch.softmax(logits.double(), -1).cpu()
    return GumbelMaxExperiment(probs, counts, counts.double() / counts.sum(),
                               chi_square_test(counts, probs))
