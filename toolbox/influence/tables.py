"""Probability tables: reading them as tensors, checking every row is a distribution, fixing them.

A table is a tensor whose last axis is a distribution over actions (or signals): ``(A,)`` for a
policy, ``(A_i, A_j)`` for π^j(a^j | s, a^i), ``(n_j, A_i, A_j)`` for several influencees. Every
function here raises ``ValueError`` with a sentence naming the table, the row and the problem
(negative, missing or non-finite entry, a row not summing to 1, an empty table).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from toolbox.device import default_device

ROW_TOLERANCE = 1e-6
"""How far a row of probabilities may sum from 1 before it is rejected."""

MAX_ACTIONS = 6
MAX_INFLUENCEES = 3
DTYPE = torch.float64


def as_tensor(x: Any, name: str, device: torch.device | None) -> torch.Tensor:
    """Lists, NumPy arrays or tensors → float64 tensor; anything else → a readable ValueError."""
    if isinstance(x, torch.Tensor):
        t = x.detach()
        if t.is_complex():
            raise ValueError(f"{name} contains complex numbers; probabilities are real numbers.")
        return t.to(device=device or t.device, dtype=DTYPE)
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} could not be read as a table of numbers: every row must have the same "
            f"length and every entry must be a number."
        ) from None
    return torch.tensor(arr, dtype=DTYPE, device=device or default_device())


def _row_label(name: str, index: tuple[int, ...], row_names: Sequence[str] | None) -> str:
    if row_names is not None and len(index) >= 1:
        return f"{name}, {row_names[index[-1]]}" if len(index) == 1 else (
            f"{name} (influencee {index[0] + 1}), {row_names[index[-1]]}"
        )
    if not index:
        return name
    return f"{name}, row {', '.join(str(i) for i in index)}"


def check_distribution_rows(
    x: Any,
    name: str,
    ndim: int | Sequence[int] = 1,
    row_names: Sequence[str] | None = None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Check that every row (last axis) of ``x`` is a probability distribution; return it.

    ``ndim`` is the allowed number of dimensions (an int or several). ``row_names`` names the
    rows of the last-but-one axis for messages (e.g. ``["a^i=0", "a^i=1"]``). Rows are
    renormalized exactly after the check, so a row inside the 1e-6 tolerance behaves as a
    distribution (and KLs cannot come out slightly negative).

    Raises ``ValueError`` for: an unreadable or empty table, a wrong number of dimensions,
    negative or non-finite entries, rows not summing to 1 within ``ROW_TOLERANCE``.
    """
    t = as_tensor(x, name, device)
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if t.numel() == 0:
        raise ValueError(f"{name} is empty: it needs at least one row with at least one action.")
    if t.dim() not in allowed:
        want = " or ".join(str(d) for d in allowed)
        raise ValueError(
            f"{name} has {t.dim()} dimension(s) (shape {tuple(t.shape)}), but {want} are expected."
        )
    bad = ~torch.isfinite(t)
    if bad.any():
        idx = tuple(int(i) for i in torch.nonzero(bad)[0])
        raise ValueError(
            f"{_row_label(name, idx[:-1], row_names)} has a missing or non-finite entry (column "
            f"{idx[-1]}): every entry must be a finite number."
        )
    neg = t < 0
    if neg.any():
        idx = tuple(int(i) for i in torch.nonzero(neg)[0])
        raise ValueError(
            f"{_row_label(name, idx[:-1], row_names)} has a negative entry ({t[idx].item():g} in "
            f"column {idx[-1]}): probabilities cannot be negative."
        )
    sums = t.sum(-1)
    off = (sums - 1.0).abs() > ROW_TOLERANCE
    if off.any():
        idx = tuple(int(i) for i in torch.nonzero(off)[0]) if off.dim() else ()
        s = sums[idx].item() if idx else sums.item()
        raise ValueError(
            f"{_row_label(name, idx, row_names)} sums to {s:.6g}, not 1 (tolerance "
            f"{ROW_TOLERANCE:g}): a row of probabilities must add up to 1. Use 'Normalize rows'."
        )
    return t / sums.unsqueeze(-1)


def check_pair(pi_i: Any, pi_j_given_ai: Any, device=None) -> tuple[torch.Tensor, torch.Tensor,
                                                                    bool]:
    """Validate π^i (A_i,) and π^j(·|a^i) (A_i, A_j) or (n_j, A_i, A_j). Returns (pi_i, pi_j,
    several)."""
    pi_i = check_distribution_rows(pi_i, "π^i (agent i's policy)", 1, device=device)
    device = pi_i.device
    a_i = pi_i.shape[0]
    row_names = [f"row a^i={a}" for a in range(a_i)]
    raw = as_tensor(pi_j_given_ai, "π^j(·|a^i) (the influencee's table)", device)
    several = raw.dim() == 3
    pi_j = check_distribution_rows(
        raw, "π^j(·|a^i) (the influencee's table)", (2, 3),
        row_names=row_names if raw.dim() >= 2 and raw.shape[-2] == a_i else None, device=device,
    )
    if pi_j.shape[-2] != a_i:
        raise ValueError(
            f"π^j(·|a^i) has {pi_j.shape[-2]} row(s) but π^i has {a_i} action(s): the influencee's "
            f"table needs exactly one row per action of agent i."
        )
    return pi_i, pi_j, several


def check_index(index: Any, n: int, what: str) -> int:
    try:
        k = int(index)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} must be a whole number between 0 and {n - 1}, not {index!r}.") from None
    if k != index and not (isinstance(index, float) and float(k) == index):
        raise ValueError(f"{what} must be a whole number between 0 and {n - 1}, not {index!r}.")
    if not 0 <= k < n:
        raise ValueError(f"{what} is {k}, out of range: there are {n} of them (0 to {n - 1}).")
    return k



def normalize_rows(x: Any, name: str = "table", device=None) -> torch.Tensor:
    """Divide every row (last axis) by its sum. Entries must be finite and ≥ 0, rows not all
    zero."""
    t = as_tensor(x, name, device)
    if t.numel() == 0:
        raise ValueError(f"{name} is empty: nothing to normalize.")
    bad = ~torch.isfinite(t)
    if bad.any():
        idx = tuple(int(i) for i in torch.nonzero(bad)[0])
        raise ValueError(
            f"{_row_label(name, idx[:-1], None)} has a missing "
            "or non-finite entry; fix it before normalizing.")
    if (t < 0).any():
        idx = tuple(int(i) for i in torch.nonzero(t < 0)[0])
        raise ValueError(
            f"{_row_label(name, idx[:-1], None)} has a "
            "negative entry; probabilities cannot be negative.")
    sums = t.sum(-1, keepdim=True)
    if (sums == 0).any():
        idx = tuple(int(i) for i in torch.nonzero(sums.squeeze(-1) == 0)[0]) if t.dim() > 1 else ()
        raise ValueError(
            f"{_row_label(name, idx, None)} is all zeros: it cannot be normalized to sum to 1.")
    return t / sums


def resize_rows(x: Any, shape: Sequence[int]) -> np.ndarray:
    """Crop or pad a table to ``shape`` (new cells 0, new rows uniform) and renormalize rows that
    were valid.

    A convenience for the page when the number of actions changes; rows that cannot be
    normalized (all zero after cropping, negative, non-finite) are replaced by uniform rows.
    """
    src = np.asarray(x, dtype=np.float64)
    out = np.zeros(shape, dtype=np.float64)
    common = tuple(slice(0, min(a, b)) for a, b in zip(src.shape, shape))
    out[common] = src[common]
    rows = out.reshape(-1, shape[-1])
    sums = rows.sum(-1, keepdims=True)
    ok = np.isfinite(rows).all(-1, keepdims=True) & (rows >= 0).all(-1, keepdims=True) & (sums > 0)
    rows = np.where(ok, rows / np.where(ok, sums, 1.0), 1.0 / shape[-1])
    return rows.reshape(shape)


def distribution_labels(row: Any, decimals: int = 3, max_denominator: int = 12) -> tuple[str, ...]:
    """Text for a distribution ``row (A,)`` whose shown values add up to 1 as shown.

    Entries that are fractions with a small denominator (2/3, 1/3, 3/7) are written as fractions;
    otherwise all are rounded to ``decimals`` places with the rounding remainder given to the
    entries with the largest remainders, so that e.g. (2/3, 1/3) never shows as 0.666 + 0.333.
    """
    from fractions import Fraction

    p = check_distribution_rows(row, "the distribution", 1, device=torch.device("cpu")).numpy()
    fracs = [Fraction(float(x)).limit_denominator(max_denominator) for x in p]
    if all(abs(float(f) - x) < 1e-9 for f, x in zip(fracs, p)):
        return tuple(str(f) for f in fracs)
    unit = 10 ** decimals
    scaled = p * unit
    floor = np.floor(scaled).astype(np.int64)
    missing = int(unit - floor.sum())
    for k in np.argsort(-(scaled - floor), kind="stable")[:missing]:
        floor[k] += 1
    return tuple(f"{v / unit:.{decimals}f}" for v in floor)
