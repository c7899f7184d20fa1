"""Per-sample gradient estimators of J(θ) = E_{z~Cat(softmax θ)}[h(f_z)] for a categorical z.

Each estimator is the gradient of a *surrogate* whose value per sample is given here; autograd
differentiates it. With π = softmax θ, z = argmax(θ + g) (Gumbel-max) and y = softmax((θ + g)/τ):

- ``reinforce`` (score function, Williams 1992): h(f_z) ∇θ log π_z. Unbiased.
- ``reinforce_baseline``: (h(f_z) − b) ∇θ log π_z with the constant b = J. Unbiased, since
  E[∇θ log π_z] = 0, and less noisy. (b = J is an oracle: in practice b is learned or estimated.)
- ``reinforce_loo``: leave-one-out baseline b_i = mean of h(f_{z_j}) over the other samples
  j ≠ i of the batch (Kool, van Hoof & Welling 2019). Unbiased: b_i does not depend on z_i.
- ``gumbel_softmax``: ∇θ h(f·y) (Jang et al. 2017; Maddison et al. 2017). Biased; bias → 0 as τ → 0.
- ``straight_through_gumbel``: straight-through Gumbel-Softmax (Jang et al. 2017, §2.2): forward
  y_hard = one_hot(argmax y), backward ∂y/∂θ, i.e. h'(f·y_hard) fᵀ ∂y/∂θ.
- ``straight_through``: the straight-through estimator of Bengio, Léonard & Courville (2013):
  forward one_hot(z), backward through π: one_hot(z) − sg(π) + π, i.e. h'(f_z) fᵀ ∂π/∂θ. For a
  linear objective this is exactly ∇θ J for every sample (zero variance); for a nonlinear h it is
  biased.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from toolbox.gumbel.inputs import check_budget, check_f, check_logits, check_n, check_tau
from toolbox.gumbel.relaxation import gumbel_softmax_from_noise, straight_through_gumbel
from toolbox.gumbel.sampling import sample_gumbel

ESTIMATORS = ("reinforce", "reinforce_baseline", "reinforce_loo", "gumbel_softmax",
              "straight_through_gumbel", "straight_through")
"""The per-sample gradient estimators this module knows (see the module docstring)."""

TAU_FREE = ("reinforce", "reinforce_baseline", "reinforce_loo", "straight_through")
"""The estimators that do not use the temperature τ."""

UNBIASED = ("reinforce", "reinforce_baseline", "reinforce_loo")
"""The estimators whose mean is ∇θ J for every objective."""

DOWNSTREAM = ("linear", "square")
"""How the objective reads a (relaxed) one-hot y: ``linear`` φ(y) = f·y, ``square``
φ(y) = (f·y)²."""


def downstream_function(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """h: the identity (``linear``) or the square (``square``), applied elementwise."""
    if name == "linear":
        return lambda s: s
    if name == "square":
        return lambda s: s * s
    raise ValueError(
        f"Unknown downstream function {name!r}; choose one of {', '.join(DOWNSTREAM)}.")


def _check_estimator(name: str) -> None:
    if name not in ESTIMATORS:
        raise ValueError(f"Unknown estimator {name!r}; choose one of {', '.join(ESTIMATORS)}.")


def expected_objective(logits, f, downstream: str = "linear") -> float:
    """J(θ) = Σ_k π_k h(f_k) for ``logits (K,)``, ``f (K,)``: the value REINFORCE's baseline b = J
    uses."""
    logits = check_logits(logits)
    v = downstream_function(downstream)(check_f(f, logits))
    return float((torch.softmax(logits, -1) * v).sum())


def exact_gradient(logits, f, downstream: str = "linear") -> torch.Tensor:
    """∇θ J(θ) for J(θ) = E_{z~Cat(softmax θ)}[h(f_z)] = Σ_k π_k h(f_k), by enumeration.

    ``logits (K,)``, ``f (K,)`` → ``(K,)``. In closed form ∂J/∂θ_j = π_j (h(f_j) − Σ_k π_k h(f_k)).
    """
    logits = check_logits(logits)
    if logits.dim() != 1:
        raise ValueError("exact_gradient takes one logit vector of shape (K,).")
    v = downstream_function(downstream)(check_f(f, logits))
    pi = torch.softmax(logits, -1)
    return pi * (v - (pi * v).sum())


def reinforce_weights(h_z: torch.Tensor, baseline: str, J: float = 0.0) -> torch.Tensor:
    """The weights h(f_z) − b of REINFORCE for rewards ``h_z (n,)``: ``(n,)``.

    ``baseline``: ``"none"`` (b = 0), ``"J"`` (b = J, a constant) or ``"loo"`` (b_i = the mean of
    the other n − 1 rewards, which needs n ≥ 2).
    """
    if baseline == "none":
        return h_z
    if baseline == "J":
        return h_z - J
    if baseline == "loo":
        n = h_z.shape[-1]
        if n < 2:
            raise ValueError("A leave-one-out baseline needs at least 2 samples.")
        return h_z - (h_z.sum(-1, keepdim=True) - h_z) / (n - 1)
    raise ValueError(f"Unknown baseline {baseline!r}; choose none, J or loo.")


def reinforce_surrogate(theta: torch.Tensor, z: torch.Tensor,
                        weights: torch.Tensor) -> torch.Tensor:
    """(h(f_z) − b) log π_z(θ) per sample: ``theta (..., n, K)``, ``z (n,)``,
    ``weights (n,)`` → ``(..., n)``.

    Its gradient in θ is the REINFORCE estimate (the weights are constants).
    """
    log_pi = torch.log_softmax(theta, -1)
    return weights.detach() * log_pi.gather(-1,
                                            z.expand(log_pi.shape[:-1]).unsqueeze(-1)).squeeze(-1)


def relaxed_surrogate(theta: torch.Tensor, g: torch.Tensor, tau, f: torch.Tensor,
                      h: Callable[[torch.Tensor], torch.Tensor],
                      hard: bool = False) -> torch.Tensor:
    """h(f·y) per sample with y = softmax((θ + g)/τ) (straight-through Gumbel-Softmax when
    ``hard``).

    ``theta (..., n, K)``, ``g (n, K)``, ``tau`` a number or a tensor broadcastable to
    ``(..., 1, 1)`` → ``(..., n)``.
    """
    y = gumbel_softmax_from_noise(theta, g, tau)
    if hard:
        y = straight_through_gumbel(y)
    return h((y * f).sum(-1))


def straight_through_surrogate(theta: torch.Tensor, z: torch.Tensor, f: torch.Tensor,
                               h: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """h(f·y) per sample with y = one_hot(z) − sg(π) + π (Bengio et al. 2013): forward f_z, backward
    ∂π/∂θ."""
    pi = torch.softmax(theta, -1)
    y = F.one_hot(z, theta.shape[-1]).to(theta.dtype) - pi.detach() + pi
    return h((y * f).sum(-1))


def per_sample_gradients(logits: torch.Tensor, f: torch.Tensor, g: torch.Tensor, taus: torch.Tensor,
                         names: Sequence[str], downstream: str = "linear") -> dict[str,
                                                                                   torch.Tensor]:
    """Every named estimator's per-sample gradients for noise ``g (n, K)`` and temperatures
    ``taus (T,)``.

    Returns ``{name: (T, n, K)}`` for the τ-dependent estimators and ``{name: (1, n, K)}`` for those
    in ``TAU_FREE``. All share the one noise draw g (common random numbers: the estimators
    differ only in how they use it). θ is expanded to one leaf per estimator; each sample's
    surrogate depends only on its own copy, so one backward pass gives every per-sample gradient.
    """
    h = downstream_function(downstream)
    n, K = g.shape
    z = (logits + g).argmax(-1)  # (n,) Gumbel-max samples z ~ Cat(π)
    h_z = h(f[z])
    J = float((torch.softmax(logits, -1) * h(f)).sum())
    leaves, total = {}, 0.0
    for name in names:  # six estimators, not a batch dimension
        _check_estimator(name)
        T = 1 if name in TAU_FREE else taus.shape[0]
        theta = logits.detach().expand(T, n, K).clone().requires_grad_(True)
        if name.startswith("reinforce"):
            baseline = {"reinforce": "none", "reinforce_baseline": "J",
                        "reinforce_loo": "loo"}[name]
            s = reinforce_surrogate(theta, z, reinforce_weights(h_z, baseline, J))
        elif name == "straight_through":
            s = straight_through_surrogate(theta, z, f, h)
        else:
            s = relaxed_surrogate(theta, g, taus[:, None, None], f, h,
                                  hard=name == "straight_through_gumbel")
        leaves[name] = theta
        total = total + s.sum()
    grads = torch.autograd.grad(total, list(leaves.values()))
    return dict(zip(leaves, grads))


def check_estimator_inputs(logits, f, downstream: str, what: str) -> tuple[torch.Tensor,
                                                                           torch.Tensor]:
    """Validated ``logits (K,)`` and ``f (K,)`` for an estimator function named ``what``."""
    logits = check_logits(logits)
    if logits.dim() != 1:
        raise ValueError(f"{what} takes one logit vector of shape (K,).")
    f = check_f(f, logits)
    downstream_function(downstream)
    return logits, f


def estimate_all_gradients(logits, f, tau, n_samples: int, generator: torch.Generator | None = None,
                           downstream: str = "linear",
                           estimators: Sequence[str] = ESTIMATORS) -> dict[str, torch.Tensor]:
    """One estimate of ∇θ J per sample for every estimator: ``{name: (n_samples, K)}``.

    ``logits (K,)``, ``f (K,)``; the noise is one call ``sample_gumbel((n, K), generator)``, shared
    by every estimator. The mean over samples estimates ``exact_gradient``.
    """
    logits, f = check_estimator_inputs(logits, f, downstream, "estimate_all_gradients")
    tau = float(check_tau(tau))
    n = check_n(n_samples)
    check_budget(len(estimators) * n, logits.numel())
    for name in estimators:
        _check_estimator(name)
    if n < 2 and "reinforce_loo" in estimators:
        raise ValueError("A leave-one-out baseline needs at least 2 samples.")
    g = sample_gumbel((n, logits.shape[0]), generator=generator,
                      device=logits.device).to(logits.dtype)
    taus = torch.tensor([tau], dtype=logits.dtype, device=logits.device)
    return {k: v[0] for k, v in per_sample_gradients(logits, f, g, taus, estimators,
                                                     downstream).items()}


def estimate_gradients(logits, f, tau, estimator: str, n_samples: int,
                       generator: torch.Generator | None = None,
                       downstream: str = "linear") -> torch.Tensor:
    """One estimate of ∇θ E_{z~Cat(softmax θ)}[h(f_z)] per sample: ``(n_samples, K)``.

    ``estimator`` is one of ``ESTIMATORS``; the same generator state gives the same noise as
    ``estimate_all_gradients``, so the two agree sample by sample.
    """
    _check_estimator(estimator)
    return estimate_all_gradients(logits, f, tau, n_samples, generator, downstream,
                                  (estimator,))[estimator]
