"""Bias and spread of the gradient estimators: at one temperature (the table) and across τ (the
sweep).

The spread of an estimator is the standard deviation of a single-sample estimate, summed over
coordinates: √(Σ_k Var ĝ_k). Its bias is ‖E[ĝ] − ∇θ J‖₂, measured with Monte Carlo noise of
about √(Σ_k Var ĝ_k / n): a measured bias below that level is indistinguishable from zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from toolbox.gumbel.estimators import (
    ESTIMATORS,
    TAU_FREE,
    check_estimator_inputs,
    downstream_function,
    exact_gradient,
    expected_objective,
    per_sample_gradients,
)
from toolbox.gumbel.inputs import check_budget, check_n, check_tau
from toolbox.gumbel.sampling import sample_gumbel


@dataclass(frozen=True)
class EstimateSummary:
    """Mean and spread of per-sample gradient estimates ``(n, K)``."""

    mean: torch.Tensor
    """(K,) the average estimate."""
    std: torch.Tensor
    """(K,) per-coordinate standard deviation of a single-sample estimate."""
    se: torch.Tensor
    """(K,) standard error of the mean, std/√n."""


def summarize_estimates(estimates: torch.Tensor) -> EstimateSummary:
    """Mean, standard deviation and standard error over the sample axis of ``(n, K)``."""
    n = estimates.shape[0]
    if n < 2:
        raise ValueError("Measuring a spread needs at least 2 samples.")
    std = estimates.std(0)
    return EstimateSummary(estimates.mean(0).cpu(), std.cpu(), (std / math.sqrt(n)).cpu())


@dataclass(frozen=True)
class EstimatorRow:
    """One estimator at one τ: what the page's table and the downloadable script print."""

    mean: torch.Tensor
    """(K,) mean of the n per-sample estimates."""
    se: torch.Tensor
    """(K,) standard error of that mean per coordinate."""
    bias: float
    """‖mean − ∇θ J‖₂ (includes Monte Carlo error, see ``mc_error``)."""
    std: float
    """√(Σ_k Var ĝ_k): the spread of a single-sample estimate."""
    mc_error: float
    """√(Σ_k Var ĝ_k / n): the Monte Carlo noise level of ``bias``."""


@dataclass(frozen=True)
class EstimatorComparison:
    """Every estimator at one temperature, against the exact gradient (CPU tensors)."""

    J: float
    """The objective J(θ) = Σ_k π_k h(f_k) (REINFORCE's baseline b = J)."""
    exact: torch.Tensor
    """(K,) ∇θ J."""
    rows: dict
    """estimator name → ``EstimatorRow``, in the order of ``ESTIMATORS``."""


def compare_estimators(logits, f, tau, n_samples: int, generator: torch.Generator | None = None,
                       downstream: str = "linear") -> EstimatorComparison:
    """Mean, bias and spread of every estimator from one shared noise draw ``g (n, K)``.

    The noise is one call ``sample_gumbel((n, K), generator)``, as in ``estimate_all_gradients``.
    """
    logits, f = check_estimator_inputs(logits, f, downstream, "compare_estimators")
    tau = float(check_tau(tau))
    n = check_n(n_samples)
    if n < 2:
        raise ValueError("Measuring a spread needs at least 2 samples.")
    check_budget(len(ESTIMATORS) * n, logits.numel())
    g = sample_gumbel((n, logits.shape[0]), generator=generator,
                      device=logits.device).to(logits.dtype)
    taus = torch.tensor([tau], dtype=logits.dtype, device=logits.device)
    exact = exact_gradient(logits, f, downstream)
    rows = {}
    for name, est in per_sample_gradients(logits, f, g, taus, ESTIMATORS, downstream).items():
        est = est[0].double()
        mean, var = est.mean(0), est.var(0)
        rows[name] = EstimatorRow(mean.cpu(), (var / n).sqrt().cpu(),
                                  float((mean - exact.double()).norm()), float(var.sum().sqrt()),
                                  float((var.sum() / n).sqrt()))
    return EstimatorComparison(expected_objective(logits, f, downstream), exact.cpu(), rows)


def reinforce_spread(logits, f, baseline: float = 0.0, downstream: str = "linear") -> float:
    """Exact √(Σ_k Var ĝ_k) of REINFORCE with a constant baseline b, by enumerating the K
    categories.

    ĝ = (h(f_z) − b)(e_z − π), so E‖ĝ‖² = Σ_z π_z (h(f_z) − b)² ‖e_z − π‖² and
    Σ_k Var ĝ_k = E‖ĝ‖² − ‖∇θ J‖². (The leave-one-out baseline is not a constant: not covered.)
    """
    logits, f = check_estimator_inputs(logits, f, downstream, "reinforce_spread")
    logits, f = logits.double(), f.double()
    v = downstream_function(downstream)(f)
    pi = torch.softmax(logits, -1)
    K = pi.shape[0]
    # ‖e_z − π‖², (K,)
    sq_norm = ((torch.eye(K, dtype=pi.dtype, device=pi.device) - pi) ** 2).sum(-1)
    second_moment = (pi * (v - float(baseline)) ** 2 * sq_norm).sum()
    grad = pi * (v - (pi * v).sum())
    return float((second_moment - (grad**2).sum()).clamp_min(0).sqrt())


@dataclass(frozen=True)
class EstimatorSweep:
    """Bias and spread of each estimator's per-sample gradients on a grid of τ (CPU tensors)."""

    taus: torch.Tensor
    """(T,) temperatures."""
    exact: torch.Tensor
    """(K,) the exact gradient."""
    mean: dict
    """estimator → (T, K) mean of the per-sample estimates."""
    bias: dict
    """estimator → (T,) ‖mean − exact‖₂ (includes Monte Carlo error, see ``mc_error``)."""
    std: dict
    """estimator → (T,) √(Σ_k Var_k): the spread of a single-sample estimate."""
    mc_error: dict
    """estimator → (T,) √(Σ_k Var_k / n): the Monte Carlo noise floor of ``bias``."""


def estimator_sweep(logits, f, taus, n_samples: int, generator: torch.Generator | None = None,
                    downstream: str = "linear",
                    estimators: Sequence[str] = ESTIMATORS) -> EstimatorSweep:
    """Bias and standard deviation versus τ for each estimator, batched over τ and samples.

    All estimators and temperatures share one noise draw, so with ``downstream="linear"`` the
    straight-through Gumbel-Softmax and Gumbel-Softmax curves coincide exactly (their gradients
    are equal sample by sample); the estimators in ``TAU_FREE`` are flat. Bias is measured
    against ``exact_gradient``.
    """
    logits, f = check_estimator_inputs(logits, f, downstream, "estimator_sweep")
    taus = torch.as_tensor(taus, dtype=logits.dtype, device=logits.device).reshape(-1)
    check_tau(taus)
    n = check_n(n_samples)
    if n < 2:
        raise ValueError("Measuring a spread needs at least 2 samples.")
    check_budget(n * taus.numel() * len(estimators), logits.numel())
    exact = exact_gradient(logits, f, downstream)
    out = {"mean": {}, "bias": {}, "std": {}, "mc_error": {}}
    # one noise draw for every estimator and τ: differences between curves are not sampling luck
    g = sample_gumbel((n, logits.shape[0]), generator=generator,
                      device=logits.device).to(logits.dtype)
    T = taus.shape[0]
    for name, est in per_sample_gradients(logits, f, g, taus, estimators, downstream).items():
        mean, var = est.mean(1), est.var(1).sum(-1)
        if name in TAU_FREE:  # one evaluation broadcast over the grid
            mean, var = mean.expand(T, -1), var.expand(T)
        out["mean"][name] = mean.cpu()
        out["bias"][name] = (mean - exact).norm(dim=-1).cpu()
        out["std"][name] = var.sqrt().cpu()
        out["mc_error"][name] = (var / n).sqrt().cpu()
    return EstimatorSweep(taus.cpu(), exact.cpu(), **out)
