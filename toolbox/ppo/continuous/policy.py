r"""The Gaussian policy's density, entropy and sampling as pure functions (batched, no checks).

With mean :math:`\mu(s) \in \mathbb R^d`, log standard deviations :math:`\log\sigma \in \mathbb R^d`
and, for correlated components, a lower-triangular scale :math:`L = \operatorname{diag}(\sigma) +
\operatorname{tril}(W, -1)`:

.. math::
    \log\pi(a|s) = -\tfrac12\lVert L^{-1}(a-\mu)\rVert^2 - \textstyle\sum_i \log\sigma_i
    - \tfrac d2\log 2\pi,\qquad
    H = \textstyle\sum_i \big(\tfrac12 + \tfrac12\log 2\pi + \log\sigma_i\big)

which for independent components (:math:`W = 0`) is the sum of one-dimensional Normal log-densities,
written as ``torch.distributions.Normal.log_prob`` writes it.
"""

from __future__ import annotations

import math

import torch

from toolbox import rng

_LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))


def gaussian_log_prob(action, mean, log_std, offdiag=None) -> torch.Tensor:
    """``log π(a|s)``: ``action, mean, log_std (..., N, d)``, ``offdiag (d, d)`` or ``None``
    -> ``(..., N)``."""
    if offdiag is None:
        # [detail:independent_actions] Σ_i log N(a_i; μ_i, σ_i²): components independent
        var = torch.exp(log_std) ** 2
        return (-((action - mean) ** 2) / (2 * var) - log_std - _LOG_SQRT_2PI).sum(-1)
    scale = torch.diag_embed(torch.exp(log_std)) + torch.tril(offdiag, -1)  # (N, d, d)
    y = torch.linalg.solve_triangular(scale, (action - mean).unsqueeze(-1), upper=False).squeeze(-1)
    return -0.5 * (y**2).sum(-1) - log_std.sum(-1) - action.shape[-1] * _LOG_SQRT_2PI


def gaussian_entropy(log_std) -> torch.Tensor:
    """``H[π(·|s)]`` (the same with or without correlations: det L = Π σ_i):
    ``(..., N, d)`` -> ``(..., N)``."""
    return (0.5 + _LOG_SQRT_2PI + log_std).sum(-1)


def gaussian_sample(mean, log_std, z, offdiag=None) -> torch.Tensor:
    """``a = μ + L z`` (``L = diag σ`` for independent components); ``z (N, d)`` standard normal."""
    if offdiag is None:
        return mean + torch.exp(log_std) * z
    scale = torch.diag_embed(torch.exp(log_std)) + torch.tril(offdiag, -1)
    return mean + (scale @ z.unsqueeze(-1)).squeeze(-1)


def standard_normal(keys: torch.Tensor, counter: int, n: int) -> torch.Tensor:
    r"""Standard normal numbers from the run's random stream (Box–Muller on
    :func:`toolbox.rng.uniform`).

    ``keys (...,)`` -> ``(..., n)`` float32: :math:`z = \sqrt{-2\ln(1-u_1)}\,\cos(2\pi u_2)`;
    entry j depends only on ``(keys, counter, j)``, so a run draws the same noise alone or in a
    batch.
    """
    u = rng.uniform(keys, counter, 2 * n, dtype=torch.float64)
    u1, u2 = u[..., :n], u[..., n:]
    return (torch.sqrt(-2.0 * torch.log1p(-u1)) * torch.cos(2 * math.pi * u2)).to(torch.float32)
