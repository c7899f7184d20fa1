"""Normalization lesson ①: synthetic streams and the running statistic after every batch.

Each function returns tensors or a dataclass that ``app_pages/normalization/`` shows; the arithmetic
is ``toolbox.running_stats`` (the same numbers as Gymnasium's ``RunningMeanStd``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from toolbox.checks import as_real_tensor, check_clip, check_epsilon, check_finite, check_int
from toolbox.device import resolve_device
from toolbox.running_stats import prefix_moments

MAX_STREAM_SAMPLES = 1_000_000
"""Server cap on batches × batch size of a synthetic stream (keeps one page rerun cheap)."""

STREAM_KINDS = ("shifted", "scaled", "drifting", "heavy-tailed")
STREAM_DESCRIPTIONS = {
    "shifted": "N(5, 1²): the mean is far from 0",
    "scaled": "N(0, 20²): the spread is far from 1",
    "drifting": ("N(μ_t, 1²) with μ_t sliding from 0 to 10: "
                 "the distribution moves while we learn it"),
    "heavy-tailed": "2 + Student-t with ν = 3 (std √3): rare huge outliers",
}



@dataclass
class Stream:
    """A synthetic stream of scalar observations arriving in batches."""

    kind: str
    x: torch.Tensor
    """``(T, B)``: T batches of B samples."""
    true_mean: torch.Tensor
    """``(T,)``: the mean of the distribution batch t was drawn from."""
    true_std: torch.Tensor
    """``(T,)``: its standard deviation."""


def sample_stream(kind: str, n_batches: int = 100, batch_size: int = 16, seed: int = 0,
                  device=None) -> Stream:
    """Draw a stream of ``kind`` (one of :data:`STREAM_KINDS`), ``(n_batches, batch_size)``,
    float64, seeded."""
    if kind not in STREAM_KINDS:
        raise ValueError(f"stream kind must be one of {', '.join(STREAM_KINDS)}; got {kind!r}.")
    T = check_int(n_batches, "the number of batches", 1, 5000)
    B = check_int(batch_size, "the batch size", 1, 100_000)
    if T * B > MAX_STREAM_SAMPLES:
        raise ValueError(
            f"{T} batches × {B} samples is more than the server allows ({MAX_STREAM_SAMPLES:,}).")
    dev = resolve_device(device)
    g = torch.Generator(device=dev).manual_seed(int(seed))
    z = torch.randn(T, B, generator=g, device=dev, dtype=torch.float64)
    ones = torch.ones(T, dtype=torch.float64, device=dev)
    if kind == "shifted":
        return Stream(kind, 5.0 + z, 5.0 * ones, ones)
    if kind == "scaled":
        return Stream(kind, 20.0 * z, 0.0 * ones, 20.0 * ones)
    if kind == "drifting":
        mu = torch.linspace(0.0, 10.0, T, dtype=torch.float64, device=dev)
        return Stream(kind, mu[:, None] + z, mu, ones)
    # Student-t with ν = 3 as z / sqrt(χ²_3 / 3)
    chi2 = torch.randn(3, T, B, generator=g, device=dev, dtype=torch.float64).square().sum(0)
    t = z / torch.sqrt(chi2 / 3.0)
    return Stream(kind, 2.0 + t, 2.0 * ones, math.sqrt(3.0) * ones)


@dataclass
class RunningTrace:
    """The running statistic after each batch of a stream (what the wrapper would hold)."""

    mean: torch.Tensor
    """``(T,)`` running mean after batch t."""
    var: torch.Tensor
    """``(T,)`` running variance after batch t."""
    count: torch.Tensor
    """``(T,)`` count after batch t (ε + samples seen)."""
    normalized: torch.Tensor
    """``(T, B)`` batch t normalized with the statistics after its own update (Gymnasium's
    order)."""
    clipped_fraction: torch.Tensor
    """``(T,)`` fraction of batch t that hit ±clip."""
    max_abs_z: torch.Tensor
    """``(T,)`` the largest |normalized value| of batch t before clipping."""


def running_trace(x, clip: float | None = 10.0, epsilon: float = 1e-8, device=None) -> RunningTrace:
    """The ``toolbox.running_stats.ObsNormalizer`` state after each batch of ``x: (T, B)`` and each
    batch normalized.

    Same numbers as feeding the batches one by one (Gymnasium's order: update, then normalize),
    computed with :func:`prefix_moments` in a few vectorized rounds.
    """
    clip = check_clip(clip)
    epsilon = check_epsilon(epsilon)
    dev = resolve_device(device) if device is not None else torch.as_tensor(x).device
    x = as_real_tensor(x, torch.float64, dev, "stream")
    if x.dim() != 2 or x.shape[1] < 1:
        raise ValueError(f"the stream must have shape (T, B); got {tuple(x.shape)}.")
    check_finite(x, "the stream")
    bvar, bmean = torch.var_mean(x, dim=1, correction=0)
    mean, var, count = prefix_moments(bmean, bvar, x.shape[1])
    z = (x - mean[:, None]) / torch.sqrt(var[:, None] + epsilon)
    clipped = torch.zeros(x.shape[0], dtype=torch.float64, device=dev)
    if clip is not None:
        clipped = (z.abs() > clip).double().mean(1)
        z_out = z.clamp(-clip, clip)
    else:
        z_out = z
    return RunningTrace(mean, var, count, z_out, clipped, z.abs().amax(1))


def cumulative_moments(x) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and population variance of all samples up to each batch, from plain cumulative sums.

    ``x (T, B) -> (T,), (T,)``. An independent route to what the Chan merge computes (it differs
    only by the ε pseudo-count prior); the data are shifted by their first value first, so the
    sums of squares do not cancel catastrophically.
    """
    x = torch.as_tensor(x, dtype=torch.float64)
    y = x - x[0, 0]
    n = torch.arange(1, x.shape[0] + 1, dtype=torch.float64, device=x.device) * x.shape[1]
    s1 = torch.cumsum(y.sum(1), 0)
    s2 = torch.cumsum(y.square().sum(1), 0)
    m = s1 / n
    return m + x[0, 0], (s2 / n - m.square()).clamp_min(0.0)
