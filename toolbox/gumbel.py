"""Gumbel-max sampling, the Gumbel-Softmax relaxation, and gradient estimators for categoricals.

References
----------
- E. J. Gumbel (1954), *Statistical theory of extreme values and some practical applications*.
- E. Jang, S. Gu, B. Poole (2017), *Categorical Reparameterization with Gumbel-Softmax*, ICLR.
- C. J. Maddison, A. Mnih, Y. W. Teh (2017), *The Concrete Distribution*, ICLR.

Notation (from the papers): ``logits`` θ with shape ``(..., K)`` define π = softmax(θ);
``g ~ Gumbel(0, 1)`` i.i.d.; ``tau`` τ > 0 is the temperature.

- Gumbel-max trick:      z = argmax_k (θ_k + g_k)  is distributed as Cat(π).
- Gumbel-Softmax sample: y = softmax((θ + g) / τ), a point of the probability simplex.
- Straight-through:      forward one_hot(argmax y), backward ∂y/∂θ.

Every stochastic function takes a ``torch.Generator`` so that the same inputs and seed give the
same numbers on the same device; noise is drawn on the device of the logits (or ``device=``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from toolbox.device import resolve_device

ESTIMATORS = ("reinforce", "gumbel_softmax", "straight_through")
"""The per-sample gradient estimators ``estimate_gradients`` knows."""

DOWNSTREAM = ("linear", "square")
"""How the objective reads a (relaxed) one-hot y: ``linear`` φ(y) = f·y, ``square`` φ(y) = (f·y)²."""

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


def _check_tau(tau) -> torch.Tensor | float:
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


def _check_logits(logits) -> torch.Tensor:
    """Logits are a float tensor ``(..., K)`` with K ≥ 2 and only finite entries."""
    if not isinstance(logits, torch.Tensor):
        try:
            logits = torch.as_tensor(logits, dtype=torch.get_default_dtype())
        except (TypeError, ValueError, RuntimeError):
            raise ValueError("The logits must be a list of numbers, one per category.") from None
    if logits.dim() == 0:
        raise ValueError("The logits must be a vector with one number per category, not a single number.")
    if not logits.is_floating_point():
        logits = logits.to(torch.get_default_dtype())
    if logits.shape[-1] < 2:
        raise ValueError(
            f"A categorical distribution needs at least K = 2 categories; got K = {logits.shape[-1]}."
        )
    if not bool(torch.isfinite(logits).all()):
        raise ValueError(
            "The logits contain NaN or infinity; every logit must be a finite number "
            "(a category you never want drawn needs a very negative logit, not -inf)."
        )
    return logits


def _check_n(n, what: str = "number of samples") -> int:
    if isinstance(n, bool) or not (isinstance(n, numbers.Integral) or (isinstance(n, float) and n.is_integer())):
        raise ValueError(f"The {what} must be a whole number, got {n!r}.")
    n = int(n)
    if n < 1:
        raise ValueError(f"The {what} must be at least 1, got {n}.")
    return n


def _check_budget(n: int, numel: int) -> None:
    if n * numel > MAX_ELEMENTS:
        raise ValueError(
            f"Drawing {n:,} samples of {numel:,} categories is more than this server does at once "
            f"({MAX_ELEMENTS:,} numbers); ask for fewer samples."
        )


def _check_f(f, logits: torch.Tensor) -> torch.Tensor:
    """f: one finite value per category, shape (K,)."""
    if not isinstance(f, torch.Tensor):
        try:
            f = torch.as_tensor(f, dtype=logits.dtype)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError("The values f(k) must be a list of numbers, one per category.") from None
    f = f.to(device=logits.device, dtype=logits.dtype)
    if f.dim() != 1 or f.shape[0] != logits.shape[-1]:
        raise ValueError(
            f"The values f(k) need one number per category: there are K = {logits.shape[-1]} categories but f has "
            f"{f.numel()} value(s)."
        )
    if not bool(torch.isfinite(f).all()):
        raise ValueError("The values f(k) must be finite numbers (not NaN or infinity).")
    return f


def check_f_values(f: Sequence[float], K: int) -> list[float]:
    """Validate typed objective values f(k): K finite numbers. Returns them as floats."""
    return _check_f(f, torch.zeros(_check_n(K, "number of categories K"))).tolist()


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
        raise ValueError(f"A categorical distribution needs at least K = 2 categories; got K = {k}.")
    if not bool(torch.isfinite(probs).all()):
        raise ValueError("The probabilities contain NaN or infinity; each must be a number between 0 and 1.")
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


def preset_probabilities(name: str, K: int, device: str | torch.device | None = None) -> torch.Tensor:
    """A named probability vector of length K (shape ``(K,)``), for the lesson's presets.

    ``decreasing``: π_k ∝ K − k;  ``uniform``: π_k = 1/K;  ``one dominant``: π_0 = 0.7, the rest
    share 0.3;  ``zipf``: π_k ∝ 1/(k + 1).
    """
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    K = _check_n(K, "number of categories K")
    if K < 2:
        raise ValueError(f"A categorical distribution needs at least K = 2 categories; got K = {K}.")
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
    return _check_logits(torch.as_tensor(values, dtype=torch.get_default_dtype(), device=resolve_device(device)))


def default_f(K: int) -> list[float]:
    """The lesson's default objective values f(k) = k: later categories are worth more."""
    return [float(k) for k in range(_check_n(K, "number of categories K"))]


# ----------------------------------------------------------------------------------------------
# sampling


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


def gumbel_softmax_from_noise(logits: torch.Tensor, g: torch.Tensor, tau) -> torch.Tensor:
    """y = softmax((θ + g)/τ) for given noise ``g`` (broadcastable to ``logits`` ``(..., K)``)."""
    return torch.softmax((logits + g) / tau, dim=-1)


def gumbel_softmax(logits, tau, hard: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    """A Gumbel-Softmax (Concrete) sample y = softmax((θ + g)/τ), shape ``(..., K)`` like ``logits``.

    Same distribution as ``torch.nn.functional.gumbel_softmax(logits, tau, hard)``. With
    ``hard=True`` the forward value is one_hot(argmax y) and the gradient is ∂y/∂θ
    (straight-through: y_hard − stop_grad(y) + y). ``tau`` may be a tensor broadcastable to
    ``(..., 1)`` to use several temperatures at once. The noise is one call
    ``sample_gumbel(logits.shape, generator, logits.device)``.
    """
    logits = _check_logits(logits)
    tau = _check_tau(tau)
    g = sample_gumbel(logits.shape, generator=generator, device=logits.device).to(logits.dtype)
    y = gumbel_softmax_from_noise(logits, g, tau)
    if not hard:
        return y
    return _straight_through(y)


def _straight_through(y: torch.Tensor) -> torch.Tensor:
    index = y.argmax(dim=-1, keepdim=True)
    y_hard = torch.zeros_like(y).scatter_(-1, index, 1.0)
    # forward value y_hard, gradient of y: the straight-through estimator (Bengio et al. 2013).
    return y_hard - y.detach() + y


def gumbel_max_sample(logits, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """n categorical samples by the Gumbel-max trick: z = argmax_k (θ_k + g_k).

    ``logits (..., K)`` → ``LongTensor (n, ...)`` of category indices in 0..K−1, each row an
    independent draw from Cat(softmax θ).
    """
    logits = _check_logits(logits)
    n = _check_n(n)
    _check_budget(n, logits.numel())
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


def gumbel_max_experiment(logits, n: int, generator: torch.Generator | None = None) -> GumbelMaxExperiment:
    """Draw n samples z = argmax(θ + g) for ``logits (K,)``, count them and test them against π."""
    logits = _check_logits(logits)
    if logits.dim() != 1:
        raise ValueError("gumbel_max_experiment takes one logit vector of shape (K,).")
    z = gumbel_max_sample(logits, n, generator=generator)
    K = logits.shape[0]
    counts = category_counts(z, K).cpu()
    probs = torch.softmax(logits.double(), -1).cpu()
    return GumbelMaxExperiment(probs, counts, counts.double() / counts.sum(), chi_square_test(counts, probs))


# ----------------------------------------------------------------------------------------------
# temperature


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


def relaxed_experiment(logits, tau, n: int, generator: torch.Generator | None = None) -> RelaxedExperiment:
    """Draw n relaxed samples from ``logits (K,)`` at temperature τ (one batched softmax)."""
    logits = _check_logits(logits)
    if logits.dim() != 1:
        raise ValueError("relaxed_experiment takes one logit vector of shape (K,).")
    n = _check_n(n)
    _check_budget(n, logits.numel())
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


def temperature_sweep(logits, taus, n_samples: int, generator: torch.Generator | None = None) -> TemperatureSweep:
    """Mean entropy, mean max-coordinate and mean of relaxed samples for every τ in ``taus``.

    One noise draw ``g (n, K)`` is shared by all temperatures (common random numbers), so the
    curves are smooth in τ; the work is one batched softmax of shape ``(T, n, K)``.
    """
    logits = _check_logits(logits)
    if logits.dim() != 1:
        raise ValueError("temperature_sweep takes one logit vector of shape (K,).")
    taus = torch.as_tensor(taus, dtype=logits.dtype, device=logits.device).reshape(-1)
    _check_tau(taus)
    n = _check_n(n_samples)
    _check_budget(n * taus.numel(), logits.numel())
    g = sample_gumbel((n, logits.shape[0]), generator=generator, device=logits.device).to(logits.dtype)
    log_y = torch.log_softmax((logits + g).unsqueeze(0) / taus[:, None, None], dim=-1)  # (T, n, K)
    y = log_y.exp()
    return TemperatureSweep(
        taus=taus.cpu(),
        mean_entropy=sample_entropy(log_y).mean(1).cpu(),
        mean_max=y.amax(-1).mean(1).cpu(),
        mean_sample=y.mean(1).cpu(),
    )


def log_grid(low: float, high: float, num: int, device: str | torch.device | None = None) -> torch.Tensor:
    """``num`` points from ``low`` to ``high`` evenly spaced in log10 (like numpy.geomspace)."""
    if not (low > 0 and high > low and num >= 2):
        raise ValueError("A log grid needs 0 < low < high and at least 2 points.")
    return torch.logspace(math.log10(low), math.log10(high), num, device=resolve_device(device))


# ----------------------------------------------------------------------------------------------
# reparameterization


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


def gaussian_reparameterization(mu: float, sigma: float, n: int,
                                generator: torch.Generator | None = None,
                                device: str | torch.device | None = None) -> GaussianReparam:
    """Draw z = μ + σ ε and get ∂z/∂μ, ∂z/∂σ per sample with autograd (one backward pass).

    μ and σ are expanded to leaves of shape ``(n,)`` so that a single ``backward`` of Σ z gives
    every sample's own derivative.
    """
    if not (math.isfinite(mu) and math.isfinite(sigma)):
        raise ValueError("μ and σ must be finite numbers.")
    if sigma <= 0:
        raise ValueError(f"The standard deviation σ must be greater than 0 (got {sigma:g}).")
    n = _check_n(n)
    dev = resolve_device(device) if device is not None else (generator.device if generator is not None else resolve_device(None))
    eps = torch.randn(n, generator=generator, device=dev)
    mu_t = torch.full((n,), float(mu), device=dev, requires_grad=True)
    sigma_t = torch.full((n,), float(sigma), device=dev, requires_grad=True)
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


def relaxed_sample_jacobian(logits, tau, hard: bool = False,
                            generator: torch.Generator | None = None) -> RelaxedSampleJacobian:
    """Draw one relaxed sample and differentiate it with respect to θ by autograd.

    The noise g is drawn once and held fixed: the randomness is moved out of the parameters
    (the reparameterization trick), so y is a deterministic, differentiable function of θ.
    """
    logits = _check_logits(logits)
    if logits.dim() != 1:
        raise ValueError("relaxed_sample_jacobian takes one logit vector of shape (K,).")
    tau = _check_tau(tau)
    g = sample_gumbel(logits.shape, generator=generator, device=logits.device).to(logits.dtype)

    def sample(theta: torch.Tensor) -> torch.Tensor:
        y = gumbel_softmax_from_noise(theta, g, tau)
        return _straight_through(y) if hard else y

    theta = logits.detach()
    jac = torch.autograd.functional.jacobian(sample, theta)
    return RelaxedSampleJacobian(g, sample(theta).detach(), jac)


def computation_graph_dot(kind: str, K: int = 3, hard: bool = False) -> str:
    """Graphviz DOT source (via torchviz ``make_dot``) of a reparameterized sample's graph.

    ``kind="gaussian"``: z = μ + σ ε.  ``kind="gumbel_softmax"``: y = softmax((θ + g)/τ) for K
    categories (straight-through when ``hard``). Noise enters as a constant: no gradient path
    leads back to it, which is the point of the trick.
    """
    from torchviz import make_dot  # imported here: only the page's graph needs it

    if kind == "gaussian":
        mu = torch.zeros(1, requires_grad=True)
        sigma = torch.ones(1, requires_grad=True)
        eps = torch.randn(1)
        z = mu + sigma * eps
        return make_dot(z, params={"mu": mu, "sigma": sigma}).source
    if kind == "gumbel_softmax":
        K = _check_n(K, "number of categories K")
        theta = torch.zeros(K, requires_grad=True)
        g = sample_gumbel((K,), device="cpu")
        y = gumbel_softmax_from_noise(theta, g, 1.0)
        if hard:
            y = _straight_through(y)
        return make_dot(y, params={"theta": theta}).source
    raise ValueError(f"Unknown graph kind {kind!r}; use 'gaussian' or 'gumbel_softmax'.")


# ----------------------------------------------------------------------------------------------
# gradient estimators


def _downstream(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if name == "linear":
        return lambda s: s
    if name == "square":
        return lambda s: s * s
    raise ValueError(f"Unknown downstream function {name!r}; choose one of {', '.join(DOWNSTREAM)}.")


def objective_values(f, downstream: str = "linear") -> torch.Tensor:
    """The value of the objective at each category: h(f_k), with h the identity or the square."""
    f = torch.as_tensor(f)
    return _downstream(downstream)(f)


def exact_gradient(logits, f, downstream: str = "linear") -> torch.Tensor:
    """∇θ J(θ) for J(θ) = E_{z~Cat(softmax θ)}[h(f_z)] = Σ_k π_k h(f_k), by enumeration.

    ``logits (K,)``, ``f (K,)`` → ``(K,)``. In closed form ∂J/∂θ_j = π_j (h(f_j) − Σ_k π_k h(f_k)).
    ``downstream="linear"`` (h(s) = s) is the lesson's default.
    """
    logits = _check_logits(logits)
    if logits.dim() != 1:
        raise ValueError("exact_gradient takes one logit vector of shape (K,).")
    f = _check_f(f, logits)
    v = _downstream(downstream)(f)
    pi = torch.softmax(logits, -1)
    return pi * (v - (pi * v).sum())


def _estimates(logits: torch.Tensor, f: torch.Tensor, taus: torch.Tensor, estimator: str,
               g: torch.Tensor, downstream: str) -> torch.Tensor:
    """Per-sample gradient estimates for every τ: ``(T, n, K)`` (REINFORCE ignores τ).

    θ is expanded to a leaf of shape ``(T, n, K)``; each sample's surrogate depends only on its
    own copy, so one ``backward`` of the sum returns every per-sample gradient at once. The
    Gumbel noise ``g (n, K)`` is shared by every τ (common random numbers).
    """
    h = _downstream(downstream)
    T, (n, K) = taus.shape[0], g.shape
    theta = logits.detach().expand(T, n, K).clone().requires_grad_(True)
    if estimator == "reinforce":
        # score function (Williams 1992): h(f_z) ∇θ log π_z, z = argmax(θ + g) ~ Cat(π)
        z = (logits + g).argmax(-1)  # (n,)
        log_pi_z = torch.log_softmax(theta, -1).gather(-1, z.expand(T, n).unsqueeze(-1)).squeeze(-1)
        surrogate = h(f[z]).expand(T, n) * log_pi_z
    else:
        y = gumbel_softmax_from_noise(theta, g, taus[:, None, None])
        if estimator == "straight_through":
            y = _straight_through(y)
        surrogate = h((y * f).sum(-1))  # φ(y) = h(f·y): the relaxed objective
    (grad,) = torch.autograd.grad(surrogate.sum(), theta)
    return grad


def estimate_gradients(logits, f, tau, estimator: str, n_samples: int,
                       generator: torch.Generator | None = None, downstream: str = "linear") -> torch.Tensor:
    """One estimate of ∇θ E_{z~Cat(softmax θ)}[h(f_z)] per sample: ``(n_samples, K)``.

    - ``"reinforce"``: h(f_z) ∇θ log π_z, z ~ Cat(π) by Gumbel-max (unbiased; τ is not used).
    - ``"gumbel_softmax"``: ∇θ h(f·y), y = softmax((θ + g)/τ) (biased, bias → 0 as τ → 0).
    - ``"straight_through"``: forward y_hard = one_hot(argmax y), backward ∂y/∂θ, i.e.
      h'(f·y_hard) fᵀ ∂y/∂θ. With ``downstream="linear"`` h' = 1 and this equals the
      Gumbel-Softmax gradient sample for sample; only the forward value f_z differs.

    ``logits (K,)``, ``f (K,)``; the mean over samples estimates ``exact_gradient``.
    """
    logits = _check_logits(logits)
    if logits.dim() != 1:
        raise ValueError("estimate_gradients takes one logit vector of shape (K,).")
    f = _check_f(f, logits)
    if estimator not in ESTIMATORS:
        raise ValueError(f"Unknown estimator {estimator!r}; choose one of {', '.join(ESTIMATORS)}.")
    tau = _check_tau(tau)
    _downstream(downstream)
    n = _check_n(n_samples)
    _check_budget(n, logits.numel())
    taus = torch.as_tensor([float(tau)], dtype=logits.dtype, device=logits.device)
    g = sample_gumbel((n, logits.shape[0]), generator=generator, device=logits.device).to(logits.dtype)
    return _estimates(logits, f, taus, estimator, g, downstream)[0]


def estimate_all_gradients(logits, f, tau, n_samples: int, generator: torch.Generator | None = None,
                           downstream: str = "linear") -> dict[str, torch.Tensor]:
    """``estimate_gradients`` for every estimator at once: ``{name: (n_samples, K)}``.

    One noise draw serves all three (common random numbers: the estimators differ only in how
    they use the same g), and one backward pass computes every per-sample gradient. Equal to
    calling ``estimate_gradients`` per estimator, each with a generator in the same state.
    """
    logits = _check_logits(logits)
    if logits.dim() != 1:
        raise ValueError("estimate_all_gradients takes one logit vector of shape (K,).")
    f = _check_f(f, logits)
    tau = float(_check_tau(tau))
    h = _downstream(downstream)
    n = _check_n(n_samples)
    _check_budget(3 * n, logits.numel())
    K = logits.shape[0]
    g = sample_gumbel((n, K), generator=generator, device=logits.device).to(logits.dtype)
    theta = logits.detach().expand(3, n, K).clone().requires_grad_(True)  # one copy per estimator
    z = (logits + g).argmax(-1)
    reinforce = h(f[z]) * torch.log_softmax(theta[0], -1).gather(-1, z.unsqueeze(-1)).squeeze(-1)
    relaxed = gumbel_softmax_from_noise(theta[1], g, tau)
    straight = _straight_through(gumbel_softmax_from_noise(theta[2], g, tau))
    total = reinforce.sum() + h((relaxed * f).sum(-1)).sum() + h((straight * f).sum(-1)).sum()
    (grad,) = torch.autograd.grad(total, theta)
    return dict(zip(ESTIMATORS, grad.unbind(0)))


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
                    downstream: str = "linear", estimators: Sequence[str] = ESTIMATORS) -> EstimatorSweep:
    """Bias and standard deviation versus τ for each estimator, batched over τ and samples.

    All estimators and temperatures share one noise draw, so with ``downstream="linear"`` the
    straight-through and Gumbel-Softmax curves coincide exactly (their gradients are equal
    sample by sample). Bias is measured against ``exact_gradient``.
    """
    logits = _check_logits(logits)
    if logits.dim() != 1:
        raise ValueError("estimator_sweep takes one logit vector of shape (K,).")
    f = _check_f(f, logits)
    taus = torch.as_tensor(taus, dtype=logits.dtype, device=logits.device).reshape(-1)
    _check_tau(taus)
    n = _check_n(n_samples)
    if n < 2:
        raise ValueError("Measuring a spread needs at least 2 samples.")
    _check_budget(n * taus.numel(), logits.numel())
    exact = exact_gradient(logits, f, downstream)
    out = {"mean": {}, "bias": {}, "std": {}, "mc_error": {}}
    # one noise draw for every estimator and τ: differences between curves are not sampling luck
    g = sample_gumbel((n, logits.shape[0]), generator=generator, device=logits.device).to(logits.dtype)
    for name in estimators:  # three estimators, not a batch dimension
        if name not in ESTIMATORS:
            raise ValueError(f"Unknown estimator {name!r}; choose one of {', '.join(ESTIMATORS)}.")
        t = taus[:1] if name == "reinforce" else taus
        est = _estimates(logits, f, t, name, g, downstream)  # (T', n, K)
        mean = est.mean(1)
        var = est.var(1).sum(-1)
        if name == "reinforce":  # τ-independent: one evaluation broadcast over the grid
            mean, var = mean.expand(taus.shape[0], -1), var.expand(taus.shape[0])
        out["mean"][name] = mean.cpu()
        out["bias"][name] = (mean - exact).norm(dim=-1).cpu()
        out["std"][name] = var.sqrt().cpu()
        out["mc_error"][name] = (var / n).sqrt().cpu()
    return EstimatorSweep(taus.cpu(), exact.cpu(), **out)
