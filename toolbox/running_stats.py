"""Running statistics for RL: Chan's moment merge, running mean/variance, observation normalization,
advantages.

The classes are the batched-torch counterparts of Gymnasium's wrappers
(``gymnasium.wrappers.utils.RunningMeanStd`` and ``gymnasium.wrappers.vector.NormalizeObservation``)
and of the advantage normalization in CleanRL's ``ppo.py`` ("The 37 implementation details of
PPO", Huang et al. 2022). With the default arguments they reproduce Gymnasium's numbers on the
same streams (tests/test_running_stats.py checks this). Reward scaling, which keeps a running
statistic of the discounted return, is in ``toolbox.reward_scaling``.

**Many independent runs at once.** Every stateful class takes an optional ``batch_shape`` (for
example ``(R,)`` for R training runs trained side by side). It keeps one independent set of
statistics per batch member and updates all of them in one vectorized operation; the data then
carries ``batch_shape`` as its leading dimensions. ``batch_shape=()`` (the default) is exactly the
Gymnasium behaviour: one statistic shared by all environments.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from toolbox.checks import as_real_tensor, check_clip, check_epsilon, check_finite, check_shape
from toolbox.device import resolve_device

_Shape = Sequence[int]


def merge_moments(
    mean: torch.Tensor,
    var: torch.Tensor,
    count: torch.Tensor | float,
    batch_mean: torch.Tensor,
    batch_var: torch.Tensor,
    batch_count: torch.Tensor | float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | float]:
    r"""The parallel (Chan, Golub & LeVeque 1979) merge of two sets of moments.

    .. math::
        \delta = \bar x_B - \bar x_A,\quad n = n_A + n_B,\quad
        \bar x = \bar x_A + \delta\,\frac{n_B}{n},\quad
        \sigma^2 = \frac{n_A\sigma_A^2 + n_B\sigma_B^2 + \delta^2\,\frac{n_A n_B}{n}}{n}

    Variances are population variances (divide by the count). All arguments broadcast; counts
    must already be shaped to broadcast against the means. The operation order follows
    Gymnasium's ``update_mean_var_count_from_moments`` so that float64 results agree to the last
    bits. Returns ``(mean, var, count)``.
    """
    delta = batch_mean - mean
    tot_count = count + batch_count
    new_mean = mean + delta * batch_count / tot_count
    m_a = var * count
    m_b = batch_var * batch_count
    m2 = m_a + m_b + torch.square(delta) * count * batch_count / tot_count
    return new_mean, m2 / tot_count, tot_count


def prefix_moments(
    batch_mean: torch.Tensor,
    batch_var: torch.Tensor,
    batch_count,
    epsilon: float = 1e-4,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The running statistic after every batch of a sequence, as a parallel prefix scan of Chan
    merges.

    Because :func:`merge_moments` is associative (the merge-order invariance tested in
    tests/test_running_stats.py), the states :math:`S_t = S_{-1} \oplus b_0 \oplus \dots \oplus b_t`
    of a :class:`RunningMeanStd` fed T batches in order can be computed in
    :math:`\lceil\log_2(T+1)\rceil` vectorized rounds (Hillis & Steele's scan) instead of T
    sequential updates; :math:`S_{-1}` is the prior (mean 0, var 1, count ε).

    Args:
        batch_mean, batch_var: ``(T, ...)`` per-batch mean and population variance.
        batch_count: number of samples per batch, a number or a tensor broadcasting to ``(T, ...)``.
        epsilon: the prior pseudo-count.

    Returns ``(mean, var, count)``, each ``(T, ...)``: the statistics after batch t. Equal to the
    sequential updates up to floating-point rounding.
    """
    mean = torch.cat([torch.zeros_like(batch_mean[:1]), batch_mean])
    var = torch.cat([torch.ones_like(batch_var[:1]), batch_var])
    count = torch.as_tensor(batch_count, dtype=batch_mean.dtype, device=batch_mean.device)
    count = torch.broadcast_to(count, batch_mean.shape)
    count = torch.cat([torch.full_like(count[:1], float(epsilon)), count])
    d = 1
    while d < mean.shape[0]:
        # every element merges the partial result d places before it (earlier data on the left)
        m, v, n = merge_moments(mean[:-d], var[:-d], count[:-d], mean[d:], var[d:], count[d:])
        mean = torch.cat([mean[:d], m])
        var = torch.cat([var[:d], v])
        count = torch.cat([count[:d], n])
        d *= 2
    return mean[1:], var[1:], count[1:]


# ---------------------------------------------------------------------------------------------
# running mean and variance
# ---------------------------------------------------------------------------------------------


class RunningMeanStd:
    r"""Running mean and (population) variance of a stream that arrives in batches.

    Starts from ``mean = 0``, ``var = 1``, ``count = epsilon`` (a tiny pseudo-count, so the first
    division is well defined and the prior is forgotten after one batch) and merges each batch's
    moments with :func:`merge_moments` (Chan et al.'s parallel algorithm). Numerically the same as
    ``gymnasium.wrappers.utils.RunningMeanStd``.

    Args:
        shape: shape of one sample, e.g. ``(4,)`` for CartPole observations, ``()`` for returns.
        epsilon: initial pseudo-count.
        batch_shape: leading dimensions of independent statistics, e.g. ``(R,)`` for R runs.
            ``()`` (default) keeps one statistic, exactly like Gymnasium.
        device: torch device (default ``toolbox.device.default_device()``).
        dtype: dtype of the statistics (default float64, as Gymnasium).
        validate: check shapes and finiteness of every batch (one host sync per update). A hot
            training loop that has already checked its data may pass ``False``.

    Attributes (tensors on ``device``):
        mean: ``(*batch_shape, *shape)``.
        var: ``(*batch_shape, *shape)``.
        count: ``batch_shape`` (a 0-d tensor by default; ``float(rms.count)`` gives Gymnasium's
        number).

    ``update(x)`` takes ``x`` of shape ``(*batch_shape, N, *shape)``: N new samples for every
    batch member, reduced over the N axis in one vectorized operation.
    """

    def __init__(
        self,
        shape: _Shape = (),
        epsilon: float = 1e-4,
        *,
        batch_shape: _Shape = (),
        device=None,
        dtype: torch.dtype = torch.float64,
        validate: bool = True,
    ) -> None:
        self.shape = check_shape(shape, "shape") if shape != () else ()
        self.batch_shape = check_shape(batch_shape, "batch_shape") if batch_shape != () else ()
        self.epsilon = check_epsilon(epsilon)
        self.device = resolve_device(device)
        self.dtype = dtype
        self.validate = validate
        full = self.batch_shape + self.shape
        self.mean = torch.zeros(full, dtype=dtype, device=self.device)
        self.var = torch.ones(full, dtype=dtype, device=self.device)
        self.count = torch.full(self.batch_shape, self.epsilon, dtype=dtype, device=self.device)

    @property
    def std(self) -> torch.Tensor:
        """``sqrt(var)``, shape ``(*batch_shape, *shape)``."""
        return torch.sqrt(self.var)

    def _count_b(self, count: torch.Tensor) -> torch.Tensor:
        # counts are per batch member; give them trailing singleton dims to broadcast over `shape`
        return count.reshape(count.shape + (1,) * len(self.shape))

    def _prepare(self, x, name: str = "batch") -> torch.Tensor:
        x = as_real_tensor(x, self.dtype, self.device, name)
        if self.validate:
            nb = len(self.batch_shape)
            ok = (
                x.dim() == nb + 1 + len(self.shape)
                and tuple(x.shape[:nb]) == self.batch_shape
                and tuple(x.shape[nb + 1 :]) == self.shape
                and x.shape[nb] >= 1
            )
            if not ok:
                expected = "(" + ", ".join([*map(str, self.batch_shape), "N",
                                            *map(str, self.shape)]) + ")"
                raise ValueError(
                    f"{name} has shape {tuple(x.shape)}, but this running statistic expects "
                    f"{expected}: "
                    f"{'the batch dimensions ' + str(self.batch_shape) + ', then ' if nb else ''}N "
                    f"≥ 1 samples of shape {self.shape}."
                )
            check_finite(x, name)
        return x

    def update(self, x) -> None:
        """Merge the N samples of ``x`` (``(*batch_shape, N, *shape)``) into the statistics."""
        x = self._prepare(x)
        dim = len(self.batch_shape)
        batch_var, batch_mean = torch.var_mean(x, dim=dim, correction=0)
        self.update_from_moments(batch_mean, batch_var, x.shape[dim])

    def update_from_moments(self, batch_mean, batch_var, batch_count) -> None:
        """Merge precomputed moments: means/vars ``(*batch_shape, *shape)``, count a number or
        ``batch_shape``."""
        batch_mean = torch.as_tensor(batch_mean, dtype=self.dtype, device=self.device)
        batch_var = torch.as_tensor(batch_var, dtype=self.dtype, device=self.device)
        bc = torch.as_tensor(batch_count, dtype=self.dtype,
                             device=self.device).expand(self.batch_shape)
        mean, var, count = merge_moments(
            self.mean, self.var, self._count_b(self.count), batch_mean, batch_var, self._count_b(bc)
        )
        self.mean, self.var = mean, var
        self.count = count.reshape(self.batch_shape)

    def merge(self, other: "RunningMeanStd") -> None:
        """Merge another running statistic of the same shapes into this one (Chan's update).

        Note that both carry their own ``epsilon`` pseudo-count with the prior (0, 1).
        """
        if other.shape != self.shape or other.batch_shape != self.batch_shape:
            raise ValueError(
                f"cannot merge statistics of shape {other.batch_shape}+{other.shape} into "
                f"{self.batch_shape}+{self.shape}."
            )
        self.update_from_moments(other.mean, other.var, other.count)

    def normalize(self, x, epsilon: float = 1e-8) -> torch.Tensor:
        r"""``(x - mean) / sqrt(var + epsilon)``; x is ``(*batch_shape, N, *shape)``."""
        x = torch.as_tensor(x, device=self.device)
        m = self.mean.unsqueeze(len(self.batch_shape))
        v = self.var.unsqueeze(len(self.batch_shape))
        return (x - m) / torch.sqrt(v + epsilon)

    def state_dict(self) -> dict:
        """Copies of ``mean``, ``var`` and ``count`` (a snapshot the statistic's later updates do
        not change)."""
        return {"mean": self.mean.clone(), "var": self.var.clone(), "count": self.count.clone()}


# ---------------------------------------------------------------------------------------------
# observation normalization
# ---------------------------------------------------------------------------------------------


class ObsNormalizer:
    r"""Observation normalization with an optional clip, as
    ``gymnasium.wrappers.vector.NormalizeObservation``.

    .. math::
        \hat o = \operatorname{clip}\Big(\frac{o - \mu}{\sqrt{\sigma^2 + \varepsilon}}, -c, c\Big)

    where :math:`\mu, \sigma^2` are a :class:`RunningMeanStd` over all observations seen so far
    (all environments share one statistic, updated before normalizing, like Gymnasium).

    Args:
        shape: one observation's shape, e.g. ``(4,)``.
        epsilon: added to the variance under the square root (Gymnasium: 1e-8).
        clip: ``c``; 10.0 by default, the value used with Gymnasium's wrapper by CleanRL and
            "The 37 implementation details of PPO"
            (``TransformObservation(np.clip(obs, -10, 10))``). ``None`` disables clipping: then the
            output equals Gymnasium's wrapper exactly.
        batch_shape: independent statistics per leading batch member (e.g. ``(R,)`` runs).
        device, dtype, validate: as :class:`RunningMeanStd`. Gymnasium keeps CartPole's statistic
            in float32 (the observation space's dtype); the default here is float64.

    ``__call__(obs, update=True)`` / ``normalize``: ``obs`` is ``(*batch_shape, num_envs, *shape)``;
    the result has the input's floating dtype (float32 for integer input).
    """

    def __init__(
        self,
        shape: _Shape,
        epsilon: float = 1e-8,
        clip: float | None = 10.0,
        *,
        batch_shape: _Shape = (),
        device=None,
        dtype: torch.dtype = torch.float64,
        validate: bool = True,
    ) -> None:
        self.epsilon = check_epsilon(epsilon)
        self.clip = check_clip(clip)
        self.rms = RunningMeanStd(shape, batch_shape=batch_shape, device=device, dtype=dtype,
                                  validate=validate)
        self.update_running_mean = True

    @property
    def device(self) -> torch.device:
        return self.rms.device

    def update(self, obs) -> None:
        """Merge a batch of observations ``(*batch_shape, num_envs, *shape)`` into the
        statistics."""
        self.rms.update(obs)

    def normalize(self, obs) -> torch.Tensor:
        """Normalize with the current statistics, without updating them (evaluation mode)."""
        raw = torch.as_tensor(obs, device=self.device)
        out_dtype = raw.dtype if raw.is_floating_point() else torch.float32
        x = self.rms._prepare(raw, "observation")
        z = self.rms.normalize(x, self.epsilon)
        if self.clip is not None:
            z = torch.clamp(z, -self.clip, self.clip)
        return z.to(out_dtype)

    def __call__(self, obs, update: bool | None = None) -> torch.Tensor:
        """Update (unless ``update=False`` or ``update_running_mean`` is off) then normalize."""
        if update is None:
            update = self.update_running_mean
        if update:
            self.update(obs)
        return self.normalize(obs)


# ---------------------------------------------------------------------------------------------
# advantages
# ---------------------------------------------------------------------------------------------


def normalize_advantages(adv, eps: float = 1e-8, dim: int | Sequence[int] | None = None,
                         validate: bool = True) -> torch.Tensor:
    r"""Per-minibatch advantage normalization, as CleanRL's ``ppo.py`` (``norm_adv=True``).

    .. math:: \hat A_i = \frac{A_i - \operatorname{mean}(A)}{\operatorname{std}(A) + \varepsilon}

    with the *sample* standard deviation (``torch.std``, divide by n − 1), exactly CleanRL's line.

    Args:
        adv: advantages of one minibatch, any shape.
        eps: added to the std.
        dim: dimensions that form one minibatch; ``None`` (default) normalizes over all elements.
            For R runs trained at once with minibatches ``(R, M)``, pass ``dim=-1`` so every run is
            normalized with its own mean and std.
        validate: check that every advantage is finite. A trusted caller in a hot loop passes
            ``False``: the check reads a flag back to the host, which on a GPU waits for all the
            queued work, each call.
    """
    eps = check_epsilon(eps, "eps")
    a = torch.as_tensor(adv)
    if not a.is_floating_point():
        a = a.to(torch.float32)
    n = a.numel() if dim is None else math.prod(a.shape[d] for d in ([dim] if isinstance(dim,
                                                                                         int)
                                                                     else dim))
    if n < 2:
        raise ValueError(
            "advantage normalization needs at least 2 values per "
            f"minibatch to estimate a standard deviation; got {n}."
        )
    if validate:
        check_finite(a, "advantages")
    if dim is None:
        return (a - a.mean()) / (a.std() + eps)
    std, mean = torch.std_mean(a, dim=dim, keepdim=True)
    return (a - mean) / (std + eps)


