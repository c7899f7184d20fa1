"""Argument checks shared by the reusable modules: each raises ``ValueError`` with a sentence a
student understands.

Used by ``toolbox.running_stats``, ``toolbox.reward_scaling``, ``toolbox.returns`` and the lesson
data built on them; nothing here computes mathematics.
"""

from __future__ import annotations

import math

import torch

_INTEGER_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def as_real_tensor(x, dtype: torch.dtype, device: torch.device, name: str) -> torch.Tensor:
    """``x`` as a tensor of ``dtype`` on ``device`` (bools become 0/1); ValueError for anything not
    real numbers."""
    try:
        t = torch.as_tensor(x, device=device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(
            f"{name} must be an array of numbers; got {type(x).__name__} ({err}).") from None
    if t.dtype == torch.bool:
        t = t.to(dtype)
    if not (t.is_floating_point() or t.dtype in _INTEGER_DTYPES):
        raise ValueError(f"{name} must hold real numbers; got dtype {t.dtype}.")
    return t.to(dtype)


def check_finite(t: torch.Tensor, name: str) -> None:
    """ValueError if ``t`` holds a NaN or an infinity (one host sync)."""
    # classes let a hot training loop switch this off with validate=False
    if not bool(torch.isfinite(t).all()):
        raise ValueError(
            f"{name} contains NaN or infinity. Running statistics would be poisoned for the rest "
            "of training; find where the non-finite value comes "
            "from (a diverging update, a division by zero)."
        )


def check_epsilon(epsilon: float, name: str = "epsilon") -> float:
    """``epsilon`` as a positive finite float, or ValueError."""
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


def check_shape(shape, name: str) -> tuple[int, ...]:
    """``shape`` (an int or a sequence of ints) as a tuple of positive ints, or ValueError."""
    if isinstance(shape, int):
        shape = (shape,)
    try:
        out = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a tuple of positive integers; got {shape!r}.") from None
    if any(s <= 0 for s in out):
        raise ValueError(f"{name} must be a tuple of positive integers; got {shape!r}.")
    return out


def check_int(value, name: str, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]`` (bools and floats refused), or ValueError."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ValueError(f"{name} must be a whole number between {low} and {high}; got {value!r}.")
    v = int(value)
    if not low <= v <= high:
        raise ValueError(f"{name} must be between {low} and {high}; got {v}.")
    return v


def check_clip(clip) -> float | None:
    """A clip bound: ``None`` (no clipping) or a positive finite float, else ValueError."""
    if clip is None:
        return None
    try:
        c = float(clip)
    except (TypeError, ValueError):
        raise ValueError(f"clip must be a positive number or None; got {clip!r}.") from None
    if not (c > 0 and math.isfinite(c)):
        raise ValueError(f"clip must be a positive number (10 is usual); got {clip!r}.")
    return c


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
