"""Normalization for RL: running statistics, observation normalization, reward scaling, advantages.

The classes here are the batched-torch counterparts of Gymnasium's wrappers
(``gymnasium.wrappers.utils.RunningMeanStd``, ``gymnasium.wrappers.vector.NormalizeObservation``
and ``gymnasium.wrappers.vector.NormalizeReward``) and of the advantage normalization in CleanRL's
``ppo.py`` ("The 37 implementation details of PPO", Huang et al. 2022). With the default arguments
they reproduce Gymnasium's numbers on the same streams (tests/test_normalization.py checks this).

**Many independent runs at once.** Every stateful class takes an optional ``batch_shape`` (for
example ``(R,)`` for R training runs trained side by side). It keeps one independent set of
statistics per batch member and updates all of them in one vectorized operation; the data then
carries ``batch_shape`` as its leading dimensions. ``batch_shape=()`` (the default) is exactly the
Gymnasium behaviour: one statistic shared by all environments.

The module also holds the small computations the Normalization lesson page shows (synthetic
streams, return scales, minibatch advantage statistics, BatchNorm versus LayerNorm); each is a
plain function with a unit test.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import torch

from toolbox.device import resolve_device

_Shape = Sequence[int]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _device(device) -> torch.device:
    return resolve_device(device)


def _as_tensor(x, dtype: torch.dtype, device: torch.device, name: str) -> torch.Tensor:
    try:
        t = torch.as_tensor(x, device=device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name} must be an array of numbers; got {type(x).__name__} ({err}).") from None
    if t.dtype == torch.bool:
        t = t.to(dtype)
    if not (t.is_floating_point() or t.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)):
        raise ValueError(f"{name} must hold real numbers; got dtype {t.dtype}.")
    return t.to(dtype)


def _check_finite(t: torch.Tensor, name: str) -> None:
    # one host sync; classes let a hot training loop switch it off with validate=False
    if not bool(torch.isfinite(t).all()):
        raise ValueError(
            f"{name} contains NaN or infinity. Running statistics would be poisoned for the rest "
            f"of training; find where the non-finite value comes from (a diverging update, a division by zero)."
        )


def _check_epsilon(epsilon: float, name: str = "epsilon") -> float:
    try:
        eps = float(epsilon)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number; got {epsilon!r}.") from None
    if not (eps > 0.0 and math.isfinite(eps)):
        raise ValueError(
            f"{name} must be a small positive number (for example 1e-8); got {epsilon!r}. "
            f"It keeps the division away from zero."
        )
    return eps


def _check_shape(shape, name: str) -> tuple[int, ...]:
    if isinstance(shape, int):
        shape = (shape,)
    try:
        out = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a tuple of positive integers; got {shape!r}.") from None
    if any(s <= 0 for s in out):
        raise ValueError(f"{name} must be a tuple of positive integers; got {shape!r}.")
    return out


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
    Gymnasium's ``update_mean_var_count_from_moments`` so that float64 results agree to the last bits.
    Returns ``(mean, var, count)``.
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
    r"""The running statistic after every batch of a sequence, as a parallel prefix scan of Chan merges.

    Because :func:`merge_moments` is associative (the merge-order invariance tested in
    tests/test_normalization.py), the states :math:`S_t = S_{-1} \oplus b_0 \oplus \dots \oplus b_t`
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
        count: ``batch_shape`` (a 0-d tensor by default; ``float(rms.count)`` gives Gymnasium's number).

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
        self.shape = _check_shape(shape, "shape") if shape != () else ()
        self.batch_shape = _check_shape(batch_shape, "batch_shape") if batch_shape != () else ()
        self.epsilon = _check_epsilon(epsilon)
        self.device = _device(device)
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
        x = _as_tensor(x, self.dtype, self.device, name)
        if self.validate:
            nb = len(self.batch_shape)
            ok = (
                x.dim() == nb + 1 + len(self.shape)
                and tuple(x.shape[:nb]) == self.batch_shape
                and tuple(x.shape[nb + 1 :]) == self.shape
                and x.shape[nb] >= 1
            )
            if not ok:
                expected = "(" + ", ".join([*map(str, self.batch_shape), "N", *map(str, self.shape)]) + ")"
                raise ValueError(
                    f"{name} has shape {tuple(x.shape)}, but this running statistic expects {expected}: "
                    f"{'the batch dimensions ' + str(self.batch_shape) + ', then ' if nb else ''}"
                    f"N ≥ 1 samples of shape {self.shape}."
                )
            _check_finite(x, name)
        return x

    def update(self, x) -> None:
        """Merge the N samples of ``x`` (``(*batch_shape, N, *shape)``) into the statistics."""
        x = self._prepare(x)
        dim = len(self.batch_shape)
        batch_var, batch_mean = torch.var_mean(x, dim=dim, correction=0)
        self.update_from_moments(batch_mean, batch_var, x.shape[dim])

    def update_from_moments(self, batch_mean, batch_var, batch_count) -> None:
        """Merge precomputed moments: means/vars ``(*batch_shape, *shape)``, count a number or ``batch_shape``."""
        batch_mean = torch.as_tensor(batch_mean, dtype=self.dtype, device=self.device)
        batch_var = torch.as_tensor(batch_var, dtype=self.dtype, device=self.device)
        bc = torch.as_tensor(batch_count, dtype=self.dtype, device=self.device).expand(self.batch_shape)
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
                f"cannot merge statistics of shape {other.batch_shape}+{other.shape} into {self.batch_shape}+{self.shape}."
            )
        self.update_from_moments(other.mean, other.var, other.count)

    def normalize(self, x, epsilon: float = 1e-8) -> torch.Tensor:
        r"""``(x - mean) / sqrt(var + epsilon)``; x is ``(*batch_shape, N, *shape)``."""
        x = torch.as_tensor(x, device=self.device)
        m = self.mean.unsqueeze(len(self.batch_shape))
        v = self.var.unsqueeze(len(self.batch_shape))
        return (x - m) / torch.sqrt(v + epsilon)

    def state_dict(self) -> dict:
        return {"mean": self.mean.clone(), "var": self.var.clone(), "count": self.count.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.mean = state["mean"].to(self.device, self.dtype).clone()
        self.var = state["var"].to(self.device, self.dtype).clone()
        self.count = state["count"].to(self.device, self.dtype).clone()


# ---------------------------------------------------------------------------------------------
# observation normalization
# ---------------------------------------------------------------------------------------------


class ObsNormalizer:
    r"""Observation normalization with an optional clip, as ``gymnasium.wrappers.vector.NormalizeObservation``.

    .. math:: \hat o = \operatorname{clip}\Big(\frac{o - \mu}{\sqrt{\sigma^2 + \varepsilon}}, -c, c\Big)

    where :math:`\mu, \sigma^2` are a :class:`RunningMeanStd` over all observations seen so far
    (all environments share one statistic, updated before normalizing, like Gymnasium).

    Args:
        shape: one observation's shape, e.g. ``(4,)``.
        epsilon: added to the variance under the square root (Gymnasium: 1e-8).
        clip: ``c``; 10.0 by default, the value used with Gymnasium's wrapper by CleanRL and
            "The 37 implementation details of PPO" (``TransformObservation(np.clip(obs, -10, 10))``).
            ``None`` disables clipping: then the output equals Gymnasium's wrapper exactly.
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
        self.epsilon = _check_epsilon(epsilon)
        if clip is not None:
            try:
                clip = float(clip)
            except (TypeError, ValueError):
                raise ValueError(f"clip must be a positive number or None; got {clip!r}.") from None
            if not clip > 0:
                raise ValueError(f"clip must be a positive number (10 is usual) or None; got {clip!r}.")
        self.clip = clip
        self.rms = RunningMeanStd(shape, batch_shape=batch_shape, device=device, dtype=dtype, validate=validate)
        self.update_running_mean = True

    @property
    def device(self) -> torch.device:
        return self.rms.device

    def update(self, obs) -> None:
        """Merge a batch of observations ``(*batch_shape, num_envs, *shape)`` into the statistics."""
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
# reward scaling
# ---------------------------------------------------------------------------------------------


class RewardScaler:
    r"""Reward scaling by the running std of the discounted return, as ``gymnasium.wrappers.vector.NormalizeReward``.

    Per environment a discounted return is accumulated and reset at episode ends
    (Gymnasium's ``AutoresetMode.SAME_STEP`` convention: the done environment has already been
    reset, so its next step starts a fresh return):

    .. math::
        G_t = \gamma\,(1 - d^{\text{term}}_t)\,G_{t-1} + r_t,\qquad
        \tilde r_t = \frac{r_t}{\sqrt{\operatorname{Var}[G] + \varepsilon}}

    ``Var[G]`` is a :class:`RunningMeanStd` over all ``G_t`` seen (one statistic shared by all
    environments). The reward is divided by the return's std but **not centred**: shifting
    rewards would change the optimal policy of a task with episode ends; scaling does not.

    Args:
        num_envs: number of environments E.
        gamma: discount in [0, 1); or a tensor of shape ``batch_shape``, one discount per batch
            member (e.g. a sweep over γ computed in one pass).
        epsilon: added to the variance under the square root.
        batch_shape: independent statistics per leading batch member, e.g. ``(R,)`` for R runs
            each with its own E environments; rewards are then ``(*batch_shape, E)``.
        device, dtype, validate: as :class:`RunningMeanStd`.

    Attributes: ``return_rms`` (statistics of shape ``batch_shape``), ``accumulated_reward``
    ``(*batch_shape, E)`` (after the episode-end reset), ``last_return`` ``(*batch_shape, E)``:
    the returns the last call merged into ``return_rms`` (before the reset).
    """

    def __init__(
        self,
        num_envs: int,
        gamma: float = 0.99,
        epsilon: float = 1e-8,
        *,
        batch_shape: _Shape = (),
        device=None,
        dtype: torch.dtype = torch.float64,
        validate: bool = True,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer; got {num_envs!r}.")
        self.epsilon = _check_epsilon(epsilon)
        self.num_envs = num_envs
        self.validate = validate
        self.return_rms = RunningMeanStd((), batch_shape=batch_shape, device=device, dtype=dtype, validate=validate)
        self.batch_shape = self.return_rms.batch_shape
        self.dtype = dtype
        if isinstance(gamma, (int, float)) and not isinstance(gamma, bool):
            self.gamma = check_gamma(gamma)
        else:
            # one discount per batch member (a γ sweep in one vectorized pass)
            g = torch.as_tensor(gamma, dtype=dtype, device=self.return_rms.device)
            if tuple(g.shape) != self.batch_shape:
                raise ValueError(
                    f"gamma must be a number or have shape batch_shape={self.batch_shape}; got shape {tuple(g.shape)}."
                )
            for value in g.reshape(-1).tolist():
                check_gamma(value)
            self.gamma = g.unsqueeze(-1)
        self.accumulated_reward = torch.zeros(
            self.batch_shape + (num_envs,), dtype=dtype, device=self.return_rms.device
        )
        self.last_return = self.accumulated_reward
        self.update_running_mean = True

    @property
    def device(self) -> torch.device:
        return self.return_rms.device

    def reset(self) -> None:
        """Forget the accumulated returns (a full reset of all environments); statistics are kept."""
        self.accumulated_reward.zero_()

    def _flags(self, flags, name: str) -> torch.Tensor:
        t = _as_tensor(flags, self.dtype, self.device, name)
        if self.validate and tuple(t.shape) != tuple(self.accumulated_reward.shape):
            raise ValueError(
                f"{name} has shape {tuple(t.shape)}; expected {tuple(self.accumulated_reward.shape)} "
                f"(one flag per environment)."
            )
        return t

    def scale(self, reward, terminated, truncated=None, update: bool | None = None) -> torch.Tensor:
        """Scale one step's rewards ``(*batch_shape, E)``; ``terminated``/``truncated`` are that step's flags.

        Both end the accumulated return (the environment auto-resets in the same step);
        only ``terminated`` cuts the bootstrap inside this step's return. Returns the scaled
        reward with the reward's floating dtype.
        """
        raw = torch.as_tensor(reward, device=self.device)
        out_dtype = raw.dtype if raw.is_floating_point() else torch.float32
        r = _as_tensor(raw, self.dtype, self.device, "reward")
        if self.validate:
            if tuple(r.shape) != tuple(self.accumulated_reward.shape):
                raise ValueError(
                    f"reward has shape {tuple(r.shape)}; expected {tuple(self.accumulated_reward.shape)} "
                    f"({'batch dimensions ' + str(self.batch_shape) + ' then ' if self.batch_shape else ''}"
                    f"one reward per environment)."
                )
            _check_finite(r, "reward")
        term = self._flags(terminated, "terminated")
        done = term if truncated is None else torch.maximum(term, self._flags(truncated, "truncated"))
        self.accumulated_reward = self.accumulated_reward * self.gamma * (1 - term) + r
        if update is None:
            update = self.update_running_mean
        if update:
            self.return_rms.update(self.accumulated_reward)
        # the return this step contributed to the statistics, before the episode-end reset
        self.last_return = self.accumulated_reward
        self.accumulated_reward = torch.where(done > 0, torch.zeros_like(self.accumulated_reward), self.accumulated_reward)
        scale = torch.sqrt(self.return_rms.var + self.epsilon).unsqueeze(-1)
        return (r / scale).to(out_dtype)

    __call__ = scale


def check_gamma(gamma: float) -> float:
    """``gamma`` as a float in [0, 1), or ValueError."""
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise ValueError(f"gamma must be a number in [0, 1); got {gamma!r}.") from None
    if not (0.0 <= g < 1.0):
        raise ValueError(
            f"gamma must be in [0, 1); got {gamma!r}. With γ ≥ 1 the discounted return of a "
            f"long episode grows without bound, so its running std never settles."
        )
    return g


# ---------------------------------------------------------------------------------------------
# advantages
# ---------------------------------------------------------------------------------------------


def normalize_advantages(adv, eps: float = 1e-8, dim: int | Sequence[int] | None = None) -> torch.Tensor:
    r"""Per-minibatch advantage normalization, as CleanRL's ``ppo.py`` (``norm_adv=True``).

    .. math:: \hat A_i = \frac{A_i - \operatorname{mean}(A)}{\operatorname{std}(A) + \varepsilon}

    with the *sample* standard deviation (``torch.std``, divide by n − 1), exactly CleanRL's line.

    Args:
        adv: advantages of one minibatch, any shape.
        eps: added to the std.
        dim: dimensions that form one minibatch; ``None`` (default) normalizes over all elements.
            For R runs trained at once with minibatches ``(R, M)``, pass ``dim=-1`` so every run is
            normalized with its own mean and std.
    """
    eps = _check_epsilon(eps, "eps")
    a = torch.as_tensor(adv)
    if not a.is_floating_point():
        a = a.to(torch.float32)
    n = a.numel() if dim is None else math.prod(a.shape[d] for d in ([dim] if isinstance(dim, int) else dim))
    if n < 2:
        raise ValueError(
            f"advantage normalization needs at least 2 values per minibatch to estimate a standard deviation; got {n}."
        )
    _check_finite(a, "advantages")
    if dim is None:
        return (a - a.mean()) / (a.std() + eps)
    std, mean = torch.std_mean(a, dim=dim, keepdim=True)
    return (a - mean) / (std + eps)


# =============================================================================================
# Lesson computations (what pages/normalization.py shows). Each returns tensors / dataclasses.
# =============================================================================================


MAX_STREAM_SAMPLES = 1_000_000
"""Server cap on batches × batch size of a synthetic stream (keeps one page rerun cheap)."""

STREAM_KINDS = ("shifted", "scaled", "drifting", "heavy-tailed")
STREAM_DESCRIPTIONS = {
    "shifted": "N(5, 1²): the mean is far from 0",
    "scaled": "N(0, 20²): the spread is far from 1",
    "drifting": "N(μ_t, 1²) with μ_t sliding from 0 to 10: the distribution moves while we learn it",
    "heavy-tailed": "2 + Student-t with ν = 3 (std √3): rare huge outliers",
}


def _check_int(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ValueError(f"{name} must be a whole number between {low} and {high}; got {value!r}.")
    v = int(value)
    if not low <= v <= high:
        raise ValueError(f"{name} must be between {low} and {high}; got {v}.")
    return v


def _check_clip(clip) -> float | None:
    if clip is None:
        return None
    try:
        c = float(clip)
    except (TypeError, ValueError):
        raise ValueError(f"clip must be a positive number or None; got {clip!r}.") from None
    if not (c > 0 and math.isfinite(c)):
        raise ValueError(f"clip must be a positive number (10 is usual); got {clip!r}.")
    return c


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


def sample_stream(kind: str, n_batches: int = 100, batch_size: int = 16, seed: int = 0, device=None) -> Stream:
    """Draw a stream of ``kind`` (one of :data:`STREAM_KINDS`), ``(n_batches, batch_size)``, float64, seeded."""
    if kind not in STREAM_KINDS:
        raise ValueError(f"stream kind must be one of {', '.join(STREAM_KINDS)}; got {kind!r}.")
    T = _check_int(n_batches, "the number of batches", 1, 5000)
    B = _check_int(batch_size, "the batch size", 1, 100_000)
    if T * B > MAX_STREAM_SAMPLES:
        raise ValueError(f"{T} batches × {B} samples is more than the server allows ({MAX_STREAM_SAMPLES:,}).")
    dev = _device(device)
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
    """``(T, B)`` batch t normalized with the statistics after its own update (Gymnasium's order)."""
    clipped_fraction: torch.Tensor
    """``(T,)`` fraction of batch t that hit ±clip."""
    max_abs_z: torch.Tensor
    """``(T,)`` the largest |normalized value| of batch t before clipping."""


def running_trace(x, clip: float | None = 10.0, epsilon: float = 1e-8, device=None) -> RunningTrace:
    """The :class:`ObsNormalizer` state after each batch of ``x: (T, B)`` and each batch normalized.

    Same numbers as feeding the batches one by one (Gymnasium's order: update, then normalize),
    computed with :func:`prefix_moments` in a few vectorized rounds.
    """
    clip = _check_clip(clip)
    epsilon = _check_epsilon(epsilon)
    dev = _device(device) if device is not None else torch.as_tensor(x).device
    x = _as_tensor(x, torch.float64, dev, "stream")
    if x.dim() != 2 or x.shape[1] < 1:
        raise ValueError(f"the stream must have shape (T, B); got {tuple(x.shape)}.")
    _check_finite(x, "the stream")
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


# ------------------------------------------------------------------ observations on CartPole

CARTPOLE_DIMENSIONS = ("cart position x", "cart velocity ẋ", "pole angle θ", "pole angular velocity θ̇")


@dataclass
class ObservationSample:
    obs: torch.Tensor
    """``(T, E, 4)`` raw CartPole observations (float32)."""
    normalized: torch.Tensor
    """``(T, E, 4)`` the same observations normalized online (each step after its update)."""
    mean: torch.Tensor
    """``(4,)`` final running mean."""
    std: torch.Tensor
    """``(4,)`` final running std."""
    source: str
    """Which simulator produced the observations."""


def cartpole_rollout(num_envs: int = 8, steps: int = 200, seed: int = 0, device=None) -> dict:
    """The project's batched CartPole under a uniformly random policy (seeded).

    Returns ``obs (steps + 1, E, 4)`` float32 (row 0 is the reset observation; after an episode
    end the row is already the next episode's first observation), ``rewards``, ``terminated``,
    ``truncated`` ``(steps, E)`` and ``source``. Falls back to Gymnasium's ``CartPole-v1``
    (same-step autoreset) if ``toolbox.envs.cartpole`` is unavailable.
    """
    E = _check_int(num_envs, "the number of environments", 1, 256)
    T = _check_int(steps, "the number of steps", 1, 5000)
    dev = _device(device)
    g = torch.Generator(device=dev).manual_seed(int(seed) + 1)
    actions = torch.randint(0, 2, (T, E), generator=g, device=dev)
    rows, rew, term, trunc = [], [], [], []
    try:
        from toolbox.envs.cartpole import BatchedCartPole
    except ImportError:
        import gymnasium as gym

        envs = gym.make_vec("CartPole-v1", num_envs=E, vectorization_mode="sync",
                            vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
        o, _ = envs.reset(seed=int(seed))
        rows.append(torch.as_tensor(o))
        for t in range(T):
            o, r, te, tr, _ = envs.step(actions[t].cpu().numpy())
            rows.append(torch.as_tensor(o))
            rew.append(torch.as_tensor(r))
            term.append(torch.as_tensor(te))
            trunc.append(torch.as_tensor(tr))
        envs.close()
        source = "Gymnasium CartPole-v1 (substitute for the project's batched CartPole)"
    else:
        env = BatchedCartPole(E, device=dev, seed=int(seed))
        rows.append(env.reset())
        for t in range(T):
            o, r, te, tr, _ = env.step(actions[t])
            rows.append(o)
            rew.append(r)
            term.append(te)
            trunc.append(tr)
        source = "toolbox.envs.cartpole.BatchedCartPole"
    return {
        "obs": torch.stack(rows).to(dev, torch.float32),
        "rewards": torch.stack(rew).to(dev, torch.float64),
        "terminated": torch.stack(term).to(dev, torch.bool),
        "truncated": torch.stack(trunc).to(dev, torch.bool),
        "source": source,
    }


def cartpole_observations(num_envs: int = 8, steps: int = 200, seed: int = 0, device=None) -> tuple[torch.Tensor, str]:
    """``(obs (steps + 1, num_envs, 4) float32, source)`` from :func:`cartpole_rollout`."""
    roll = cartpole_rollout(num_envs, steps, seed, device)
    return roll["obs"], roll["source"]


def normalize_observation_stream(obs, clip: float | None = 10.0, epsilon: float = 1e-8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalize ``obs (T, E, D)`` step by step as the vector wrapper would; returns ``(normalized, mean, std)``."""
    clip = _check_clip(clip)
    obs = torch.as_tensor(obs)
    if obs.dim() != 3:
        raise ValueError(f"observations must have shape (T, E, D); got {tuple(obs.shape)}.")
    norm = ObsNormalizer(tuple(obs.shape[2:]), epsilon=epsilon, clip=clip, device=obs.device, validate=False)
    out = torch.stack([norm(obs[t]) for t in range(obs.shape[0])])
    return out, norm.rms.mean, norm.rms.std


def observation_sample(num_envs: int = 8, steps: int = 200, seed: int = 0, clip: float | None = 10.0, device=None) -> ObservationSample:
    """CartPole observations (random policy) before and after online normalization."""
    obs, source = cartpole_observations(num_envs, steps, seed, device)
    z, mean, std = normalize_observation_stream(obs, clip)
    return ObservationSample(obs, z, mean, std, source)


# ------------------------------------------------------------------ reward scaling

REWARD_KINDS = ("constant", "sparse", "gaussian")
REWARD_DESCRIPTIONS = {
    "constant": "+1 on every step (CartPole's reward)",
    "sparse": "+1 only on the step that ends an episode (reaching a goal)",
    "gaussian": "N(0.5, 2²) on every step (a noisy dense reward)",
}
GAMMA_SWEEP = (0.9, 0.95, 0.99, 0.995, 0.999)


def reward_stream(kind: str = "constant", num_envs: int = 8, steps: int = 500, mean_episode_length: float = 50.0,
                  seed: int = 0, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rewards ``(T, E)`` float64 and episode ends ``terminated (T, E)`` bool; episode lengths are geometric."""
    if kind not in REWARD_KINDS:
        raise ValueError(f"reward kind must be one of {', '.join(REWARD_KINDS)}; got {kind!r}.")
    E = _check_int(num_envs, "the number of environments", 1, 256)
    T = _check_int(steps, "the number of steps", 1, 20_000)
    try:
        L = float(mean_episode_length)
    except (TypeError, ValueError):
        raise ValueError(f"the mean episode length must be a number ≥ 1; got {mean_episode_length!r}.") from None
    if not (1.0 <= L <= 1e6):
        raise ValueError(f"the mean episode length must be between 1 and 1,000,000 steps; got {mean_episode_length!r}.")
    dev = _device(device)
    g = torch.Generator(device=dev).manual_seed(int(seed))
    terminated = torch.rand(T, E, generator=g, device=dev, dtype=torch.float64) < 1.0 / L
    if kind == "constant":
        rewards = torch.ones(T, E, dtype=torch.float64, device=dev)
    elif kind == "sparse":
        rewards = terminated.double()
    else:
        rewards = 0.5 + 2.0 * torch.randn(T, E, generator=g, device=dev, dtype=torch.float64)
    return rewards, terminated


@dataclass
class RewardTrace:
    returns: torch.Tensor
    """``(T, E)`` the accumulated discounted return G_t that updated the statistic."""
    return_std: torch.Tensor
    """``(T,)`` running std of G after step t."""
    scaled: torch.Tensor
    """``(T, E)`` scaled rewards r_t / sqrt(Var[G] + ε)."""


def _reward_scaling_scan(rewards: torch.Tensor, terminated: torch.Tensor, gamma, epsilon: float):
    """:class:`RewardScaler` over a whole stream at once: ``rewards, terminated (..., T, E)``, ``gamma``
    a number or ``(..., 1)``. Returns ``G (..., T, E)``, ``var (..., T)`` (Var[G] after step t) and
    ``scaled (..., T, E)``; same numbers as calling ``scale`` step by step (tests check it against
    Gymnasium's ``NormalizeReward``)."""
    term = terminated.to(rewards.dtype)
    prev_done = torch.cat([torch.zeros_like(term[..., :1, :]), term[..., :-1, :]], dim=-2)
    # G_t = a_t G_{t-1} + r_t: the return is cut by this step's termination and by last step's reset
    a = (gamma * (1.0 - term) * (1.0 - prev_done)).movedim(-2, 0).contiguous()
    r = rewards.movedim(-2, 0).contiguous()  # time-major: one contiguous block per step
    G = torch.empty_like(r)
    acc = torch.zeros_like(r[0])
    for t in range(r.shape[0]):
        acc = torch.addcmul(r[t], a[t], acc, out=G[t])
    G = G.movedim(0, -2)
    bvar, bmean = torch.var_mean(G, dim=-1, correction=0)  # (..., T): one batch of E returns per step
    _, var, _ = prefix_moments(bmean.movedim(-1, 0), bvar.movedim(-1, 0), G.shape[-1])
    var = var.movedim(0, -1)
    return G, var, rewards / torch.sqrt(var.unsqueeze(-1) + epsilon)


def reward_scaling_trace(rewards, terminated, gamma: float = 0.99, epsilon: float = 1e-8,
                         reward_clip: float | None = 10.0) -> RewardTrace:
    """What :class:`RewardScaler` does over ``rewards (T, E)`` with episode ends ``terminated (T, E)``.

    ``reward_clip``: the scaled reward is clipped to ±c afterwards, as CleanRL does
    (``TransformReward(np.clip(r, -10, 10))``); ``None`` leaves it unclipped.
    """
    reward_clip = _check_clip(reward_clip)
    gamma = check_gamma(gamma)
    epsilon = _check_epsilon(epsilon)
    rewards = torch.as_tensor(rewards, dtype=torch.float64)
    terminated = torch.as_tensor(terminated, device=rewards.device)
    if rewards.dim() != 2 or terminated.shape != rewards.shape:
        raise ValueError(f"rewards and terminated must both have shape (T, E); got {tuple(rewards.shape)} and {tuple(terminated.shape)}.")
    _check_finite(rewards, "rewards")
    G, var, scaled = _reward_scaling_scan(rewards, terminated, gamma, epsilon)
    if reward_clip is not None:
        scaled = scaled.clamp(-reward_clip, reward_clip)
    return RewardTrace(G, torch.sqrt(var), scaled)


def discounted_returns(rewards, terminated, gamma) -> torch.Tensor:
    r"""Return-to-go (the value target without bootstrapping) ``R_t = r_t + γ (1 - d_t) R_{t+1}``, ``R_T = 0``.

    ``rewards, terminated: (..., T, E)``; ``gamma`` a number or a tensor broadcasting to ``(..., 1, 1)``.
    """
    rewards = torch.as_tensor(rewards, dtype=torch.float64)
    done = torch.as_tensor(terminated, device=rewards.device).to(torch.float64)
    # time-major and contiguous, so each step of the recursion reads and writes one block
    r = rewards.movedim(-2, 0).contiguous()
    c = (gamma * (1.0 - done)).broadcast_to(rewards.shape).movedim(-2, 0).contiguous()
    out = torch.empty_like(r)
    nxt = torch.zeros_like(r[0])
    for t in range(r.shape[0] - 1, -1, -1):
        nxt = torch.addcmul(r[t], c[t], nxt, out=out[t])
    return out.movedim(0, -2)


@dataclass
class ReturnScales:
    gammas: torch.Tensor
    """``(G,)`` the discounts."""
    horizon: torch.Tensor
    """``(G,)`` effective horizon 1 / (1 - γ)."""
    return_std: torch.Tensor
    """``(G,)`` the running std of the discounted return at the end of the stream (the divisor)."""
    raw_target_abs_max: torch.Tensor
    """``(G,)`` max |return-to-go| of the raw rewards (after warm-up): the value targets without scaling."""
    raw_target_std: torch.Tensor
    scaled_target_abs_max: torch.Tensor
    """``(G,)`` max |return-to-go| of the scaled rewards: the value targets with scaling."""
    scaled_target_std: torch.Tensor


def return_scales(rewards, terminated, gammas=GAMMA_SWEEP, epsilon: float = 1e-8,
                  reward_clip: float | None = 10.0, warmup: float = 0.5) -> ReturnScales:
    """Reward scaling for several γ at once (all discounts in one vectorized pass).

    ``reward_clip`` as in :func:`reward_scaling_trace`. The value-target statistics are taken over
    the steps after the first ``warmup`` fraction of the stream, once the running std has settled
    (the first scaled rewards are divided by a statistic that has seen almost nothing).
    """
    reward_clip = _check_clip(reward_clip)
    if not (0.0 <= float(warmup) < 1.0):
        raise ValueError(f"warmup must be a fraction in [0, 1); got {warmup!r}.")
    rewards = torch.as_tensor(rewards, dtype=torch.float64)
    terminated = torch.as_tensor(terminated, device=rewards.device)
    if rewards.dim() != 2 or terminated.shape != rewards.shape:
        raise ValueError(f"rewards and terminated must both have shape (T, E); got {tuple(rewards.shape)} and {tuple(terminated.shape)}.")
    g = torch.as_tensor(gammas, dtype=torch.float64, device=rewards.device).reshape(-1)
    if g.numel() < 1:
        raise ValueError("give at least one γ.")
    for value in g.tolist():
        check_gamma(value)
    epsilon = _check_epsilon(epsilon)
    _check_finite(rewards, "rewards")
    n_g, (T, E) = g.numel(), rewards.shape
    r_b = rewards.unsqueeze(0).expand(n_g, T, E)
    d_b = terminated.unsqueeze(0).expand(n_g, T, E)
    _, var, scaled = _reward_scaling_scan(r_b, d_b, g[:, None, None], epsilon)  # all γ in one pass
    if reward_clip is not None:
        scaled = scaled.clamp(-reward_clip, reward_clip)
    t0 = int(float(warmup) * T)
    raw_targets = discounted_returns(r_b, d_b, g[:, None, None])[..., t0:, :]
    scaled_targets = discounted_returns(scaled, d_b, g[:, None, None])[..., t0:, :]
    return ReturnScales(
        g, 1.0 / (1.0 - g), torch.sqrt(var[:, -1]),
        raw_targets.abs().flatten(1).amax(1), raw_targets.flatten(1).std(1),
        scaled_targets.abs().flatten(1).amax(1), scaled_targets.flatten(1).std(1),
    )


# ------------------------------------------------------------------ advantages per minibatch


@dataclass
class MinibatchAdvantages:
    raw: torch.Tensor
    """``(M, n)`` the advantages of each of the M minibatches (a random permutation of the batch)."""
    normalized: torch.Tensor
    """``(M, n)`` each minibatch normalized with its own mean and std."""
    globally_normalized: torch.Tensor
    """``(M, n)`` the same values normalized with the whole batch's mean and std."""
    mean: torch.Tensor
    """``(M,)`` per-minibatch mean."""
    std: torch.Tensor
    """``(M,)`` per-minibatch sample std."""
    sign_flips: torch.Tensor
    """``(M,)`` fraction of advantages whose sign differs after normalization (subtracting the mean)."""
    deviation: torch.Tensor
    """``(M,)`` mean |per-minibatch − whole-batch normalized|: the minibatch-size effect."""


def minibatch_advantages(advantages, num_minibatches: int = 4, seed: int = 0, eps: float = 1e-8) -> MinibatchAdvantages:
    """Split a PPO batch's advantages (any shape, flattened) into shuffled minibatches, as CleanRL, and normalize each."""
    adv = torch.as_tensor(advantages, dtype=torch.float64).reshape(-1)
    N = adv.numel()
    M = _check_int(num_minibatches, "the number of minibatches", 1, max(1, N))
    if N % M:
        raise ValueError(f"the batch of {N} advantages does not split into {M} equal minibatches; pick a divisor of {N}.")
    if N // M < 2:
        raise ValueError(f"{M} minibatches of {N} advantages leave {N // M} per minibatch; normalization needs at least 2.")
    _check_finite(adv, "advantages")
    g = torch.Generator(device=adv.device).manual_seed(int(seed))
    mb = adv[torch.randperm(N, generator=g, device=adv.device)].reshape(M, N // M)
    z = normalize_advantages(mb, eps=eps, dim=-1)
    zg = normalize_advantages(mb, eps=eps)
    std, mean = torch.std_mean(mb, dim=-1)
    flips = (torch.sign(z) != torch.sign(mb)).double().mean(1)
    return MinibatchAdvantages(mb, z, zg, mean, std, flips, (z - zg).abs().mean(1))


def minibatch_size_effect(advantages, sizes: Sequence[int], seed: int = 0) -> dict[str, torch.Tensor]:
    """For each minibatch size that divides the batch: spread (std over minibatches) of the per-minibatch
    mean and std, and the mean deviation from whole-batch normalization. Returns tensors of shape ``(S,)``."""
    adv = torch.as_tensor(advantages, dtype=torch.float64).reshape(-1)
    N = adv.numel()
    rows = {"size": [], "mean_spread": [], "std_spread": [], "deviation": []}
    for n in sizes:
        if n < 2 or N % n:
            continue
        r = minibatch_advantages(adv, N // n, seed)
        rows["size"].append(float(n))
        rows["mean_spread"].append(float(r.mean.std(correction=0)))
        rows["std_spread"].append(float(r.std.std(correction=0)))
        rows["deviation"].append(float(r.deviation.mean()))
    if not rows["size"]:
        raise ValueError(f"none of the minibatch sizes {list(sizes)} divides the batch of {N} into minibatches of at least 2.")
    return {k: torch.tensor(v, dtype=torch.float64) for k, v in rows.items()}


MAX_PPO_UPDATES = 50
"""Server cap on the PPO updates run before collecting the lesson's batch."""


def ppo_batch(seed: int = 0, updates: int = 0, device=None) -> tuple[dict, str]:
    """One rollout of the PPO lesson's agent (default configuration) after ``updates`` PPO updates.

    Returns ``(batch, source)`` where batch has ``obs (T, E, 4)``, ``rewards, dones, values,
    advantages, returns (T, E)``. Uses ``toolbox.ppo.train.rollout_batch``; if the PPO lesson is
    not available, an honest substitute: CartPole under a random policy with a zero value
    function, advantages by GAE (γ = 0.99, λ = 0.95) computed here (``updates`` must then be 0).
    """
    n = _check_int(updates, "the number of PPO updates", 0, MAX_PPO_UPDATES)
    dev = _device(device)
    try:
        from toolbox.ppo.config import PPOConfig  # type: ignore
        from toolbox.ppo.train import rollout_batch  # type: ignore
    except ImportError:
        if n:
            raise ValueError("training the PPO agent needs the PPO lesson (toolbox.ppo), which is not available.") from None
        return _substitute_ppo_batch(seed, dev), "substitute: random policy, zero value, GAE on the batched CartPole"
    batch = rollout_batch(PPOConfig(), int(seed), train_iterations=n, device=dev)
    agent = "untrained agent" if n == 0 else f"agent after {n} PPO updates"
    return {k: torch.as_tensor(v) for k, v in batch.items()}, f"toolbox.ppo.train.rollout_batch ({agent}, default config)"


def gae(rewards, values, dones, last_value, gamma: float = 0.99, gae_lambda: float = 0.95) -> torch.Tensor:
    r"""Generalized advantage estimation (Schulman et al. 2016), CleanRL's loop; all ``(T, E)``, ``last_value (E,)``.

    ``dones[t]`` marks that the observation at t is the first of a new episode (CleanRL's ``dones``).
    """
    T = rewards.shape[0]
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[0])
    for t in range(T - 1, -1, -1):
        next_nonterminal = 1.0 - (dones[t + 1] if t + 1 < T else torch.zeros_like(dones[0]))
        next_value = values[t + 1] if t + 1 < T else last_value
        delta = rewards[t] + gamma * next_value * next_nonterminal - values[t]
        last = delta + gamma * gae_lambda * next_nonterminal * last
        adv[t] = last
    return adv


def _substitute_ppo_batch(seed: int, dev: torch.device, num_envs: int = 4, num_steps: int = 128) -> dict:
    roll = cartpole_rollout(num_envs, num_steps, seed, dev)
    obs = roll["obs"][:-1]
    rewards = roll["rewards"].to(torch.float32)
    done = (roll["terminated"] | roll["truncated"]).to(torch.float32)
    # CleanRL's dones[t]: the observation at t starts a new episode, i.e. step t-1 ended one
    dones = torch.cat([torch.zeros_like(done[:1]), done[:-1]])
    values = torch.zeros_like(rewards)
    adv = gae(rewards, values, dones, torch.zeros_like(rewards[0]))
    return {"obs": obs, "rewards": rewards, "dones": dones, "values": values, "advantages": adv, "returns": adv + values}


# ------------------------------------------------------------------ BatchNorm on the DIAL message


@dataclass
class MessageNormDemo:
    """A DIAL message stream whose scale drifts during training, through BatchNorm and LayerNorm.

    All per-step arrays have length K (training steps); samples are ``(K, B, c)``.
    """

    scale: torch.Tensor
    """``(K,)`` the sender's logit scale s_k (grows as the sender becomes confident)."""
    bits: torch.Tensor
    """``(K, B)`` the bit each message encodes (first channel)."""
    raw: torch.Tensor
    """``(K, B, c)`` the message the receiver gets (DRU output in training)."""
    bn_train: torch.Tensor
    """``(K, B, c)`` BatchNorm1d in train mode: normalized with the batch's own statistics."""
    bn_eval: torch.Tensor
    """``(K, B, c)`` BatchNorm1d in eval mode: normalized with the running statistics."""
    layer_norm: torch.Tensor
    """``(K, B, c)`` LayerNorm over the c message channels of each sample."""
    running_mean: torch.Tensor
    """``(K, c)`` BatchNorm's running mean after step k."""
    running_var: torch.Tensor
    """``(K, c)`` BatchNorm's running variance after step k."""
    seed: int
    """The seed of the message stream and of the C-Net's initialization."""
    source: str


def _separation(x: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """d' of channel 0 between bit 1 and bit 0: (mean₁ − mean₀) / pooled std; 0 where undefined. ``(K,)``."""
    x = x[..., 0]
    b = bits.to(x.dtype)
    n1 = b.sum(-1).clamp_min(1)
    n0 = (1 - b).sum(-1).clamp_min(1)
    m1 = (x * b).sum(-1) / n1
    m0 = (x * (1 - b)).sum(-1) / n0
    var = ((x - torch.where(b > 0, m1[:, None], m0[:, None])) ** 2).sum(-1) / (n0 + n1)
    sd = torch.sqrt(var)
    return torch.where(sd > 1e-12, (m1 - m0) / sd.clamp_min(1e-12), torch.zeros_like(sd))


def message_separation(x, bits) -> torch.Tensor:
    """Public wrapper of the d' between the two bits, ``x (K, B, c)``, ``bits (K, B)`` → ``(K,)``."""
    return _separation(torch.as_tensor(x), torch.as_tensor(bits))


@functools.lru_cache(maxsize=32)
def _message_mlp(comm_bits: int, seed: int, device: str):
    """The DIAL C-Net's ``message_mlp`` (BatchNorm1d → Linear → ReLU) at its initialization for ``seed``.

    Cached (read-only afterwards): building a C-Net costs more than the whole demo.
    """
    import torch.nn as nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            from toolbox.dial.cnet import CNet

            mlp = CNet(n_agents=3, comm_bits=comm_bits).message_mlp
            source = "toolbox.dial.cnet.CNet(n_agents=3).message_mlp"
        except ImportError:
            mlp = nn.Sequential(nn.BatchNorm1d(comm_bits), nn.Linear(comm_bits, 128), nn.ReLU())
            source = "substitute: nn.Sequential(BatchNorm1d, Linear, ReLU) (DIAL C-Net unavailable)"
    return mlp.to(torch.device(device)).double().eval().requires_grad_(False), source


def message_norm_demo(comm_bits: int = 1, batch_size: int = 32, steps: int = 200, noise_std: float = 2.0,
                      momentum: float = 0.1, scale_start: float = 0.1, scale_end: float = 10.0,
                      dru: bool = True, seed: int = 0, device=None) -> MessageNormDemo:
    r"""Feed a drifting message stream through the DIAL C-Net's message BatchNorm and through LayerNorm.

    At training step k the sender's message logit is :math:`\pm s_k` (sign = the bit it wants to
    send), :math:`s_k` growing geometrically from ``scale_start`` to ``scale_end``. In DIAL's
    training the receiver gets the DRU output :math:`\sigma(\text{logit} + \mathcal N(0, \sigma^2))`
    (``dru=True``), otherwise the raw noisy logit. The BatchNorm is the first layer of
    ``toolbox.dial.cnet.CNet(n_agents=3).message_mlp`` (a plain ``nn.BatchNorm1d`` if the DIAL
    lesson is unavailable); LayerNorm normalizes each sample over its ``c`` channels.
    """
    c = _check_int(comm_bits, "the number of message bits", 1, 16)
    B = _check_int(batch_size, "the batch size", 2, 4096)
    K = _check_int(steps, "the number of training steps", 1, 1000)
    try:
        sigma = float(noise_std)
        mom = float(momentum)
        s0, s1 = float(scale_start), float(scale_end)
    except (TypeError, ValueError):
        raise ValueError("noise, momentum and scales must be numbers.") from None
    if not (0.0 <= sigma <= 100.0):
        raise ValueError(f"the DRU noise σ must be between 0 and 100; got {noise_std!r}.")
    if not (0.0 < mom <= 1.0):
        raise ValueError(f"BatchNorm's momentum must be in (0, 1]; got {momentum!r}.")
    if not (0.0 < s0 <= 1000.0 and 0.0 < s1 <= 1000.0):
        raise ValueError(f"the logit scales must be positive (at most 1000); got {scale_start!r} and {scale_end!r}.")
    dev = _device(device)
    mlp, source = _message_mlp(c, int(seed), str(dev))
    bn = mlp[0]
    g = torch.Generator(device=dev).manual_seed(int(seed))
    ratio = torch.linspace(0.0, 1.0, K, dtype=torch.float64, device=dev)
    scale = s0 * (s1 / s0) ** ratio
    bits = torch.randint(0, 2, (K, B, c), generator=g, device=dev).double()
    noise = torch.randn(K, B, c, generator=g, device=dev, dtype=torch.float64)
    logits = scale[:, None, None] * (2 * bits - 1) + sigma * noise
    raw = torch.sigmoid(logits) if dru else logits
    # BatchNorm1d's own arithmetic, vectorized over the K steps (one module call per step would
    # cost a kernel launch each; tests check every number against nn.BatchNorm1d stepped in a loop)
    with torch.no_grad():
        w, b, eps = bn.weight.detach(), bn.bias.detach(), bn.eps
        var_b, mean_b = torch.var_mean(raw, dim=1, correction=0)  # (K, c): train mode normalizes with these
        var_unbiased = raw.var(dim=1, correction=1)  # the running variance is fed the unbiased estimate
        bn_train = (raw - mean_b[:, None]) / torch.sqrt(var_b[:, None] + eps) * w + b
        # the exponential moving average is a recurrence over training steps: (K, c) stays tiny
        running_mean, running_var = torch.empty_like(mean_b), torch.empty_like(var_unbiased)
        rm, rv = bn.running_mean, bn.running_var
        for k in range(K):
            rm = torch.lerp(rm, mean_b[k], mom)  # (1 - m) r + m b
            rv = torch.lerp(rv, var_unbiased[k], mom)
            running_mean[k], running_var[k] = rm, rv
        bn_eval = (raw - running_mean[:, None]) / torch.sqrt(running_var[:, None] + eps) * w + b
        y_ln = torch.nn.functional.layer_norm(raw, (c,))
    return MessageNormDemo(scale, bits[..., 0], raw, bn_train, bn_eval, y_ln, running_mean, running_var, int(seed), source)


def message_mlp_gap(demo: MessageNormDemo, step: int) -> torch.Tensor:
    """Mean |message_mlp(x) in train mode − in eval mode| at one training step: how differently the
    receiver's next layer (Linear → ReLU after the BatchNorm) sees the same messages in the two modes."""
    k = _check_int(step, "the training step", 0, demo.scale.shape[0] - 1)
    mlp, _ = _message_mlp(demo.raw.shape[-1], demo.seed, str(demo.raw.device))
    with torch.no_grad():
        return (mlp[1:](demo.bn_eval[k]) - mlp[1:](demo.bn_train[k])).abs().mean()


def summary_stats(x, dim: int = -1) -> dict[str, torch.Tensor]:
    """Per-channel mean, std (population), min and max of ``x`` with channels along ``dim`` (all other dims pooled)."""
    x = torch.as_tensor(x, dtype=torch.float64)
    flat = x.movedim(dim, -1).reshape(-1, x.shape[dim])
    std, mean = torch.std_mean(flat, dim=0, correction=0)
    return {"mean": mean, "std": std, "min": flat.amin(0), "max": flat.amax(0)}
