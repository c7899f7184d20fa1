r"""Which details separate from "all on": final scores over seeds, Welch's test, Holm's correction.

Pure functions of numbers (no training): a run's score is the mean return of its last episodes;
each variant's scores are compared with the baseline's by Welch's t-test

.. math::
    t = \frac{\bar x_v - \bar x_0}{\sqrt{s_v^2/n_v + s_0^2/n_0}},\qquad
    \nu = \frac{(s_v^2/n_v + s_0^2/n_0)^2}
               {\frac{(s_v^2/n_v)^2}{n_v - 1} + \frac{(s_0^2/n_0)^2}{n_0 - 1}}

with ν rounded down (a slightly conservative p-value and interval; :func:`toolbox.stats.welch`),
and the m p-values are adjusted by Holm (1979, :func:`toolbox.stats.holm`): with
:math:`p_{(1)} \le \dots \le p_{(m)}`, :math:`\tilde p_{(i)} = \max_{j\le i}\min(1,
(m-j+1)\,p_{(j)})`. A detail *separates* when :math:`\tilde p \le \alpha`; the probability of
any false separation among the m comparisons is then at most α.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from toolbox.stats import holm, welch

ALPHA = 0.05
"""Family-wise error rate of the comparisons with the baseline."""
CORRECTION = "Holm–Bonferroni"
LAST_EPISODES = 32
"""Episodes averaged into a run's final score (two rounds of 16 environments: the last 6,400
steps of a run)."""


def final_score(episode_returns: Sequence[float], last: int = LAST_EPISODES) -> float:
    """Mean return of the run's last ``last`` finished episodes (NaN with none)."""
    tail = np.asarray(episode_returns[-last:], dtype=np.float64)
    return float(tail.mean()) if tail.size else math.nan


def compare(scores: Mapping[str, Sequence[float]], baseline: str = "all on",
            alpha: float = ALPHA) -> list[dict]:
    """Every variant of ``scores`` (name -> final score per seed) against ``baseline``: its mean,
    the Welch difference with its 95% interval, t, ν, p, Holm's adjusted p over all the variants
    and ``separates`` (adjusted p ≤ α) with the direction ``lower``/``higher``. Rows in input
    order, the baseline left out."""
    if baseline not in scores:
        raise ValueError(f"the comparison needs the “{baseline}” variant among the scores.")
    base = scores[baseline]
    rows = []
    for name, values in scores.items():
        if name == baseline:
            continue
        n = int(np.isfinite(values).sum())
        row = {"variant": name, "mean": float(np.nanmean(values)), "n": n}
        rows.append({**row, **welch(values, base)})
    for row, adjusted in zip(rows, holm([r["p_value"] for r in rows])):
        row["p_adjusted"] = adjusted
        row["separates"] = adjusted <= alpha
        row["direction"] = "lower" if row["difference"] < 0 else "higher"
    return rows


def _p(x: float) -> str:
    return "< 0.001" if x < 0.001 else f"{x:.3f}"


def sentence(rows: list[dict], base_scores: Sequence[float], budget: int,
             baseline: str = "all on", alpha: float = ALPHA) -> str:
    """The finding in words, derived from :func:`compare`'s rows: which details separate from
    ``baseline`` after the correction (with difference ± 95% half-width and adjusted p), and
    which do not."""
    base = np.asarray(base_scores, dtype=np.float64)
    n, m = int(np.isfinite(base).sum()), len(rows)
    sep = sorted((r for r in rows if r["separates"]), key=lambda r: r["p_adjusted"])
    rest = [r for r in rows if not r["separates"]]

    def one(r):
        return (f"{r['variant']} ({r['difference']:+.0f} ± {r['half_width']:.0f}, "
                f"adjusted p {_p(r['p_adjusted'])})")

    text = (f"After {budget:,} steps, “{baseline}” scores {np.nanmean(base):.0f} (mean return of "
            f"the last {LAST_EPISODES} episodes, {n} seeds). Compared by Welch's t-test with the "
            f"{CORRECTION} correction over {m} variants (family-wise α = {alpha:g}), ")
    if not sep:
        text += "no detail separates from it at this budget."
    else:
        lower = [r for r in sep if r["direction"] == "lower"]
        higher = [r for r in sep if r["direction"] == "higher"]
        parts = []
        if lower:
            parts.append(f"{len(lower)} turned off score clearly lower: "
                         + "; ".join(one(r) for r in lower))
        if higher:
            parts.append(f"{len(higher)} turned off score clearly higher: "
                         + "; ".join(one(r) for r in higher))
        text += " and ".join(parts) + "."
    if rest:
        text += (" Not separated after the correction at this budget and seed count: "
                 + ", ".join(r["variant"] for r in rest) + ".")
    return text


__all__ = ["ALPHA", "CORRECTION", "LAST_EPISODES", "compare", "final_score", "holm",
           "sentence", "welch"]
