"""Statistics over seeds: mean with a Student-t confidence interval, and mean ± a band of aligned
curves.

One place for what the lessons show over several seeds (PPO's 95 % intervals, DIAL's ± one standard
deviation, the influence lesson's min–max band). The t quantile is computed here (closed-form t
distribution function for whole degrees of freedom, inverted by bisection) so that the app needs no
statistics library at run time; tests/test_stats.py checks it against SciPy.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Sequence

import numpy as np

BANDS = ("ci95", "std", "minmax")
"""What :func:`seed_band` draws around the mean: the 95 % Student-t interval, ± one population
standard deviation, or the range of the seeds."""


def t_cdf_two_sided(t, df: int) -> np.ndarray:
    """``P(|T| ≤ t)`` for Student's t with a whole number ``df ≥ 1`` of degrees of freedom;
    ``t ≥ 0`` array.

    Closed form in ``θ = arctan(t/√df)`` (Abramowitz & Stegun 26.7.3–4): for odd df
    ``(2/π)(θ + sin θ cos θ Σ_{k=0}^{(df−3)/2} c_k cos^{2k} θ)`` with ``c_0 = 1``,
    ``c_k = c_{k−1}·2k/(2k+1)``; for even df ``sin θ Σ_{k=0}^{(df−2)/2} e_k cos^{2k} θ`` with
    ``e_0 = 1``, ``e_k = e_{k−1}(2k−1)/(2k)``.
    """
    if isinstance(df, bool) or int(df) != df or df < 1:
        raise ValueError(f"degrees of freedom must be a whole number ≥ 1; got {df!r}.")
    df = int(df)
    theta = np.arctan(np.asarray(t, dtype=np.float64) / math.sqrt(df))
    c2, s = np.cos(theta) ** 2, np.sin(theta)
    term, total = np.ones_like(theta), np.ones_like(theta)
    if df % 2:
        for k in range(1, (df - 1) // 2):
            term = term * c2 * (2 * k) / (2 * k + 1)
            total = total + term
        series = s * np.cos(theta) * total if df > 1 else 0.0
        return 2.0 / math.pi * (theta + series)
    for k in range(1, df // 2):
        term = term * c2 * (2 * k - 1) / (2 * k)
        total = total + term
    return s * total


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (``0.5 < p < 1``) of Student's t with whole-number ``df``: ``t`` with
    ``P(T ≤ t) = p``, found by bisection on the two-sided distribution ``P(|T| ≤ t) = 2p − 1``.

    Remembered (a pure function of two numbers; a page asks for the same few on every load: the
    bisection cost ~1 ms a call, ~60 calls per PPO page load)."""
    if not 0.5 < p < 1:
        raise ValueError(f"the quantile level must be between 0.5 and 1; got {p!r}.")
    if isinstance(df, bool) or int(df) != df or df < 1:
        raise ValueError(f"degrees of freedom must be a whole number ≥ 1; got {df!r}.")
    return _t_quantile(float(p), int(df))


@functools.lru_cache(maxsize=512)
def _t_quantile(p: float, df: int) -> float:
    target = 2 * p - 1
    lo, hi = 0.0, 1.0
    while t_cdf_two_sided(hi, df) < target:  # the tail of df = 1 is heavy: widen until it brackets
        lo, hi = hi, 2 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf_two_sided(mid, df) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    return 0.5 * (lo + hi)


def mean_ci(x, axis: int = 0, level: float = 0.95):
    """Mean and half-width of the Student-t confidence interval over ``axis`` (NaNs ignored).

    ``x (..., S, ...)`` with the seeds along ``axis``; returns ``(mean, half)``, each shaped like
    ``x`` without ``axis``: ``half = t_{(1+level)/2, n−1} · sd / √n`` with the sample sd (n − 1) of
    the n finite values, NaN where n < 2.
    """
    x = np.asarray(x, dtype=np.float64)
    n = np.sum(np.isfinite(x), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        # a single seed has no spread: NaN half-width
        warnings.simplefilter("ignore", RuntimeWarning)
        m = np.nanmean(x, axis=axis) if x.size else np.nan
        sd = np.nanstd(x, axis=axis, ddof=1) if x.size else np.nan
        dfs = np.maximum(np.asarray(n) - 1, 1)
        uniq, inv = np.unique(dfs, return_inverse=True)  # one bisection per distinct seed count
        t = np.array([t_quantile(0.5 + level / 2, int(d)) for d in uniq])[inv].reshape(dfs.shape)
        half = np.where(n > 1, t * sd / np.sqrt(np.maximum(n, 1)), np.nan)
    return m, half


def seed_band(curves: Sequence[Sequence[float]], band: str = "ci95") -> dict[str, list[float]]:
    """Mean over seeds and a band around it, of aligned curves ``(S, K)`` (longer ones cut to the
    shortest).

    ``band``: ``"ci95"`` (mean ± the 95 % Student-t half-width, NaN for one seed), ``"std"`` (mean ±
    the population standard deviation, 0 for one seed) or ``"minmax"`` (lowest and highest seed).
    Returns ``{"mean", "lo", "hi"}``, lists of length K (``"std"`` adds ``"std"``).
    """
    if band not in BANDS:
        raise ValueError(f"the band must be one of {', '.join(BANDS)}; got {band!r}.")
    if len(curves) == 0:
        raise ValueError("No curves to summarise.")
    k = min(len(c) for c in curves)
    x = np.array([list(c)[:k] for c in curves], dtype=np.float64).reshape(len(curves), k)
    mean = x.mean(axis=0)
    if band == "ci95":
        _, half = mean_ci(x, axis=0)
        return {"mean": mean.tolist(), "lo": (mean - half).tolist(), "hi": (mean + half).tolist()}
    if band == "minmax":
        return {"mean": mean.tolist(), "lo": x.min(axis=0).tolist(), "hi": x.max(axis=0).tolist()}
    std = x.std(axis=0)
    return {"mean": mean.tolist(), "std": std.tolist(), "lo": (mean - std).tolist(),
            "hi": (mean + std).tolist()}


def welch(a, b, level: float = 0.95) -> dict[str, float]:
    r"""Welch's comparison of two independent samples' means, ``mean(a) − mean(b)``.

    With :math:`v_a = s_a^2/n_a`, :math:`v_b = s_b^2/n_b`, :math:`se = \sqrt{v_a + v_b}` and the
    Welch–Satterthwaite :math:`\nu = (v_a+v_b)^2 / (v_a^2/(n_a-1) + v_b^2/(n_b-1))` rounded down
    (a slightly conservative interval and p-value; the t distribution here takes whole degrees of
    freedom): returns ``difference``, ``half_width`` :math:`t_{(1+level)/2,\lfloor\nu\rfloor}\,se`,
    ``t`` = difference / se, ``df`` = ⌊ν⌋ and the two-sided ``p_value``
    :math:`P(|T_{\lfloor\nu\rfloor}| \ge |t|)` — so ``p < 1 − level`` exactly when the interval
    excludes zero. NaNs are dropped; each side needs ≥ 2 values. Two constant samples: half-width
    0, p = 0 if their means differ and 1 if not.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        raise ValueError("comparing two variants needs at least 2 seeds with a score on each side.")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff = float(a.mean() - b.mean())
    if va + vb == 0:  # both samples constant (e.g. every run at 500): the difference is exact
        return {"difference": diff, "half_width": 0.0, "t": math.copysign(math.inf, diff),
                "df": math.inf, "p_value": 0.0 if diff != 0 else 1.0}
    nu = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    df = max(1, math.floor(nu))
    se = math.sqrt(va + vb)
    t = diff / se
    p = float(min(1.0, max(0.0, 1.0 - float(t_cdf_two_sided(abs(t), df)))))
    return {"difference": diff, "half_width": float(t_quantile(0.5 + level / 2, df) * se),
            "t": t, "df": float(df), "p_value": p}


def holm(p_values: Sequence[float]) -> list[float]:
    r"""Holm–Bonferroni adjusted p-values, in the input order.

    With the m p-values sorted ascending, :math:`\tilde p_{(i)} = \max_{j \le i} \min(1,
    (m - j + 1)\,p_{(j)})`; rejecting every hypothesis with :math:`\tilde p \le \alpha` keeps the
    probability of any false rejection among the m at most α (Holm 1979).
    """
    p = [float(x) for x in p_values]
    if any(not 0 <= x <= 1 for x in p):
        raise ValueError(f"p-values must lie in [0, 1]; got {p_values!r}.")
    m, out, running = len(p), [0.0] * len(p), 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda k: p[k])):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out
