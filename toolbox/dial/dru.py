"""The discretise/regularise unit (DRU) of DIAL (Foerster et al. 2016, Section 5).

During centralised training a message passes as a noisy, differentiable value

    DRU(m) = logistic(m + N(0, sigma^2)),

so that gradients flow from the receiver back into the sender; the noise pushes the sender to
make |m| large, i.e. to use messages that survive being rounded. At decentralised execution the
same message is discretised:

    DRU(m) = 1{m > 0}.

With sigma = 0 nothing punishes |m| near 0: the protocol can stay continuous during training and
break when rounded at execution.
"""

from __future__ import annotations

import torch


def dru(m: torch.Tensor, sigma: float, training: bool, generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None) -> torch.Tensor:
    """Apply the DRU to pre-DRU messages ``m`` (any shape); returns a tensor of ``m``'s shape.

    ``training=True``: ``sigmoid(m + sigma * eps)``, ``eps ~ N(0, 1)`` drawn with ``generator``
    (which must live on ``m``'s device), or taken from ``noise`` (standard normal, ``m``'s shape)
    when the caller drew it in advance. ``training=False``: ``(m > 0)`` as floats in {0, 1}.
    """
    if sigma < 0:
        raise ValueError(
            f"The DRU noise sigma is a standard deviation and cannot be negative; got {sigma}.")
    if not training:
        return (m > 0).to(m.dtype)
    if sigma == 0:
        return torch.sigmoid(m)
    if noise is None:
        noise = torch.randn(m.shape, generator=generator, device=m.device, dtype=m.dtype)
    return torch.sigmoid(m + sigma * noise)


def message_distribution(m: torch.Tensor, sigma: float, n_samples: int = 20_000, bins: int = 40,
                         generator: torch.Generator | None = None) -> dict:
    """Histogram of DRU outputs for each pre-DRU value in ``m: (K,)``, train vs execution.

    Returns ``{"edges": (bins+1,), "train": (K, bins) densities, "exec": (K,) in {0,1},
    "train_mean": (K,), "p_flip": (K,)}`` where ``p_flip`` is the probability that the noisy
    training message lands on the other side of 1/2 than the execution bit,
    ``P(m + sigma*eps > 0) `` vs ``1{m>0}`` — i.e. ``Phi(-|m|/sigma)`` for ``sigma > 0``.
    """
    if n_samples < 1:
        raise ValueError(f"Need at least one sample; got {n_samples}.")
    m = torch.as_tensor(m, dtype=torch.float32).reshape(-1)
    samples = dru(m[:, None].expand(-1, n_samples), sigma, True, generator)
    edges = torch.linspace(0.0, 1.0, bins + 1)
    idx = (samples * bins).long().clamp_(0, bins - 1)
    counts = torch.zeros(m.numel(), bins).scatter_add_(1, idx, torch.ones_like(samples))
    density = counts / (n_samples / bins)
    execution = dru(m, sigma, False)
    flip = ((samples > 0.5).float() != execution[:, None]).float().mean(1)
    return {"edges": edges, "train": density, "exec": execution, "train_mean": samples.mean(1),
            "p_flip": flip}


def flip_probability(m, sigma: float) -> torch.Tensor:
    """Exact probability that the noisy training message lands on the other bit: ``Φ(−|m|/σ)``.

    ``m: (K,)`` pre-DRU messages → ``(K,)``. The execution bit is ``1{m > 0}`` and the training
    message ``logistic(m + σε)`` is above ½ exactly when ``m + σε > 0``: m = 0 (bit 0) flips with
    probability ½. With σ = 0 nothing flips (logistic(m) > ½ exactly when m > 0).
    """
    if not sigma >= 0:
        raise ValueError(f"The DRU noise σ must be ≥ 0; got {sigma}.")
    m = torch.as_tensor(m, dtype=torch.float64).reshape(-1)
    if sigma == 0:
        return torch.zeros_like(m)
    p = torch.special.ndtr(-m.abs() / sigma)
    return torch.where(m == 0, torch.full_like(m, 0.5), p)
