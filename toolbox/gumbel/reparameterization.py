"""The reparameterization trick: a sample written as a differentiable function of parameters and
noise.

- Gaussian: z = μ + σ ε, ε ~ N(0, 1), so ∂z/∂μ = 1 and ∂z/∂σ = ε.
- Gumbel-Softmax: y = softmax((θ + g)/τ) with g held fixed, so ∂y/∂θ = (diag y − y yᵀ)/τ.
- The computation graph of either sample (torchviz): the noise is a constant, no gradient reaches
  it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from toolbox.device import resolve_device
from toolbox.gumbel.inputs import check_logits, check_n, check_tau
from toolbox.gumbel.relaxation import gumbel_softmax_from_noise, straight_through_gumbel
from toolbox.gumbel.sampling import sample_gumbel

REPARAM_MAX = 1e6
"""Largest |μ| and σ the Gaussian example accepts: far inside float32 (≈ 3.4e38) with room for z."""


@dataclass(frozen=True)
class GaussianReparam:
    """z = μ + σ ε with ε ~ N(0, 1), and its gradients computed by autograd."""

    eps: torch.Tensor
    """(n,) the standard normal noise."""
    z: torch.Tensor
    """(n,) the samples μ + σ ε."""
    dz_dmu: torch.Tensor
    """(n,) ∂z/∂μ from autograd (= 1)."""
    dz_dsigma: torch.Tensor
    """(n,) ∂z/∂σ from autograd (= ε)."""


def _check_mu_sigma(mu, sigma) -> tuple[float, float]:
    try:
        mu, sigma = float(mu), float(sigma)
    except (TypeError, ValueError):
        raise ValueError("μ and σ must be numbers.") from None
    if not (math.isfinite(mu) and math.isfinite(sigma)):
        raise ValueError("μ and σ must be finite numbers.")
    if abs(mu) > REPARAM_MAX:
        raise ValueError(
            f"The mean μ must lie between −{REPARAM_MAX:,.0f} and {REPARAM_MAX:,.0f} (got {mu:g}): "
            "larger numbers do not fit the float32 arithmetic of this example.")
    if sigma <= 0:
        raise ValueError(f"The standard deviation σ must be greater than 0 (got {sigma:g}).")
    if sigma > REPARAM_MAX:
        raise ValueError(
            f"The standard deviation σ must be at most {REPARAM_MAX:,.0f} (got {sigma:g}): "
            "larger numbers do not fit the float32 arithmetic of this example.")
    return mu, sigma


def gaussian_reparameterization(mu: float, sigma: float, n: int,
                                generator: torch.Generator | None = None,
                                device: str | torch.device | None = None) -> GaussianReparam:
    """Draw z = μ + σ ε and get ∂z/∂μ, ∂z/∂σ per sample with autograd (one backward pass).

    μ and σ are expanded to leaves of shape ``(n,)`` so that a single ``backward`` of Σ z gives
    every sample's own derivative. |μ| and σ must not exceed ``REPARAM_MAX``.
    """
    mu, sigma = _check_mu_sigma(mu, sigma)
    n = check_n(n)
    dev = resolve_device(device) if device is not None else (
        generator.device if generator is not None else resolve_device(None))
    eps = torch.randn(n, generator=generator, device=dev)
    mu_t = torch.full((n,), mu, device=dev, requires_grad=True)
    sigma_t = torch.full((n,), sigma, device=dev, requires_grad=True)
    z = mu_t + sigma_t * eps
    z.sum().backward()
    return GaussianReparam(eps.detach(), z.detach(), mu_t.grad.detach(), sigma_t.grad.detach())


@dataclass(frozen=True)
class RelaxedSampleJacobian:
    """A Gumbel-Softmax sample and the Jacobian of the sample with respect to the logits."""

    g: torch.Tensor
    """(K,) the Gumbel noise used."""
    y: torch.Tensor
    """(K,) the sample softmax((θ + g)/τ) (or its straight-through one-hot when hard)."""
    jacobian: torch.Tensor
    """(K, K) ∂y_i/∂θ_j from autograd; analytically (diag(y_soft) − y_soft y_softᵀ)/τ."""
    max_abs: float
    """max_ij |∂y_i/∂θ_j|: below about 1e-30 the sample is one-hot to float32 precision."""
    top_gap: float
    """The gap between the two largest θ_k + g_k: how far this draw is from a tie."""
    grows_as_tau_shrinks: bool
    """Whether a slightly smaller τ (same noise) gives a larger max |entry|: true near a tie
    (gap ≲ τ), false once one category clearly wins, where the entries fall like e^(−gap/τ)/τ."""


def relaxed_sample_jacobian(logits, tau, hard: bool = False,
                            generator: torch.Generator | None = None) -> RelaxedSampleJacobian:
    """Draw one relaxed sample and differentiate it with respect to θ by autograd.

    The noise g is drawn once and held fixed: the randomness is moved out of the parameters
    (the reparameterization trick), so y is a deterministic, differentiable function of θ.
    """
    logits = check_logits(logits)
    if logits.dim() != 1:
        raise ValueError("relaxed_sample_jacobian takes one logit vector of shape (K,).")
    tau = float(check_tau(tau))
    g = sample_gumbel(logits.shape, generator=generator, device=logits.device).to(logits.dtype)

    def sample(theta: torch.Tensor, t: float = tau) -> torch.Tensor:
        y = gumbel_softmax_from_noise(theta, g, t)
        return straight_through_gumbel(y) if hard else y

    theta = logits.detach()
    jac = torch.autograd.functional.jacobian(sample, theta)
    # the same draw at 0.9 τ: does shrinking τ enlarge or shrink this Jacobian? (float64: the
    # entries can be far below float32's smallest normal number)
    theta64, g64 = theta.double(), g.double()
    sizes = [float(((torch.diag(y) - torch.outer(y, y)) / t).abs().max())
             for t in (tau, 0.9 * tau) for y in [torch.softmax((theta64 + g64) / t, -1)]]
    top2 = (theta64 + g64).topk(2).values
    return RelaxedSampleJacobian(g, sample(theta).detach(), jac, float(jac.abs().max()),
                                 float(top2[0] - top2[1]), sizes[1] > sizes[0])


def computation_graph_dot(kind: str, K: int = 3, hard: bool = False) -> str:
    """Graphviz DOT source (via torchviz ``make_dot``) of a reparameterized sample's graph.

    ``kind="gaussian"``: z = μ + σ ε.  ``kind="gumbel_softmax"``: y = softmax((θ + g)/τ) for K
    categories (straight-through Gumbel-Softmax when ``hard``). Noise enters as a constant: no
    gradient path leads back to it, which is the point of the trick.
    """
    from torchviz import make_dot  # imported here: only the page's graph needs it

    if kind == "gaussian":
        mu = torch.zeros(1, requires_grad=True)
        sigma = torch.ones(1, requires_grad=True)
        eps = torch.randn(1)
        z = mu + sigma * eps
        return make_dot(z, params={"mu": mu, "sigma": sigma}).source
    if kind == "gumbel_softmax":
        K = check_n(K, "number of categories K")
        theta = torch.zeros(K, requires_grad=True)
        g = sample_gumbel((K,), device="cpu")
        y = gumbel_softmax_from_noise(theta, g, 1.0)
        if hard:
            y = straight_through_gumbel(y)
        return make_dot(y, params={"theta": theta}).source
    raise ValueError(f"Unknown graph kind {kind!r}; use 'gaussian' or 'gumbel_softmax'.")
