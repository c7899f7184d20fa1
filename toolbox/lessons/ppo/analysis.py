"""Learning-curve statistics for PPO ablations: per-run summaries, across-seed means with 95% CIs,
CSV.

A run's curve at step ``s`` is the mean return of its last ``window`` (20) episodes that ended
by ``s`` — the same statistic as the final score, so the curve's last point is the table's value.
Across seeds: mean and the 95% Student-t interval ``mean ± t_{0.975, n−1} · sd / √n``
(:func:`toolbox.stats.mean_ci`, which needs no statistics library at run time).

A live (unfinished) run's curve ends at the steps it has trained: grid points beyond them are NaN,
never a copy of the last value.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from toolbox.stats import holm, mean_ci, t_cdf_two_sided, t_quantile, welch  # noqa: F401 - also this module's public names

WINDOW = 20
SOLVED = 475.0
DEBUG_SHOWN = ("approx_kl", "clipfrac", "explained_variance", "entropy")


def step_grid(budget: int, points: int = 50) -> np.ndarray:
    """``points`` evenly spaced steps ``budget/points, …, budget`` (int)."""
    return np.linspace(budget / points, budget, points).round().astype(np.int64)


def running_return(episode_steps, episode_returns, grid, window: int = WINDOW) -> np.ndarray:
    """Mean of the last ``window`` episode returns ended by each grid step; NaN before the first
    episode."""
    steps = np.asarray(episode_steps)
    rets = np.asarray(episode_returns, dtype=np.float64)
    csum = np.concatenate([[0.0], np.cumsum(rets)])
    n = np.searchsorted(steps, np.asarray(grid), side="right")  # episodes ended by each grid step
    lo = np.maximum(n - window, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (csum[n] - csum[lo]) / (n - lo)
    out[n == 0] = np.nan
    return out


def steps_to_threshold(episode_steps, episode_returns, threshold: float = SOLVED,
                       window: int = WINDOW) -> float:
    """First step at which the mean of the last ``window`` returns reaches ``threshold`` (NaN if
    never)."""
    rets = np.asarray(episode_returns, dtype=np.float64)
    if len(rets) < window:
        return math.nan
    csum = np.concatenate([[0.0], np.cumsum(rets)])
    means = (csum[window:] - csum[:-window]) / window  # means[i] = episodes i .. i+window-1
    hit = np.nonzero(means >= threshold)[0]
    return float(np.asarray(episode_steps)[hit[0] + window - 1]) if len(hit) else math.nan


def trained_mask(result, grid) -> np.ndarray:
    """``(len(grid),)`` bool: the grid steps a run has reached. A finished run covers the whole grid
    (its last iteration may end a few steps short of the budget); an unfinished one only the steps
    up to its last completed iteration, so a live curve stops where training is instead of running
    flat to the end of the budget."""
    grid = np.asarray(grid)
    it_steps = np.asarray(result.iteration_steps)
    done = int(it_steps[-1]) if len(it_steps) else 0
    if done >= result.config.num_iterations * result.config.batch_size:
        return np.ones(grid.shape, dtype=bool)
    return grid <= done


def run_summary(result, grid) -> dict:
    """Compact, JSON-ready summary of one ``TrainResult`` on a step grid (NaN/None past the steps
    trained)."""
    reached = trained_mask(result, grid)
    curve = np.where(reached, running_return(result.episode_steps, result.episode_returns, grid),
                     np.nan)
    last = result.episode_returns[-WINDOW:]
    it_steps = np.asarray(result.iteration_steps)
    debug = {}
    for k in DEBUG_SHOWN:
        v = np.asarray(result.debug.get(k, []), dtype=np.float64)
        if len(v):
            idx = np.clip(np.searchsorted(it_steps, grid, side="right") - 1, 0, len(v) - 1)
            debug[k] = [None if not (ok and np.isfinite(x)) else round(float(x),
                                                                       6) for ok, x in zip(reached,
                                                                                           v[idx])]
    return {
        "seed": int(result.seed),
        "curve": [None if not np.isfinite(x) else round(float(x), 3) for x in curve],
        "last20": float(np.mean(last)) if len(last) else math.nan,
        "steps_to_475": steps_to_threshold(result.episode_steps, result.episode_returns),
        "debug": debug,
    }


def _arr(values):
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def aggregate(summaries: list[dict], grid) -> dict:
    """Across-seed statistics of one variant from its runs' :func:`run_summary` dicts."""
    grid = np.asarray(grid)
    curves = np.stack([_arr(s["curve"]) for s in summaries]) if summaries else np.zeros((0,
                                                                                         len(grid)))
    mean, half = mean_ci(curves, axis=0)
    last, last_h = mean_ci([s["last20"] for s in summaries])
    reach = np.array([s["steps_to_475"] for s in summaries], dtype=np.float64)
    # area under the curve, normalised to [0, 500]: the average return over training
    auc_runs = np.nanmean(np.where(np.isfinite(curves), curves, 0.0),
                          axis=1) if len(curves) else np.array([])
    auc, auc_h = mean_ci(auc_runs)
    debug = {}
    for k in DEBUG_SHOWN:
        rows = [_arr(s["debug"][k]) for s in summaries if k in s.get("debug", {})]
        if rows:
            tail = np.stack(rows)[:, -max(1, len(grid) // 10):]  # last 10% of training
            debug[k] = float(np.nanmean(tail)) if np.isfinite(tail).any() else math.nan
    return {
        "grid": grid.tolist(),
        "mean": mean.tolist(),
        "lo": (mean - half).tolist(),
        "hi": (mean + half).tolist(),
        "last20_mean": float(last),
        "last20_ci": float(last_h),
        "reached_475": int(np.isfinite(reach).sum()),
        "runs": len(summaries),
        "steps_to_475": float(np.nanmean(reach)) if np.isfinite(reach).any() else math.nan,
        "auc_mean": float(auc),
        "auc_ci": float(auc_h),
        "debug": debug,
    }


def live_payload(partial, names: list[str], seeds: list[int], grid, fraction: float,
                 elapsed_s: float) -> dict:
    """What a live training shows between updates: the grid, the runs summarized so far (curves end
    at the steps trained) and ``progress``, the :func:`progress_text` with the estimated time
    left."""
    return {"grid": np.asarray(grid).tolist(), "runs": summarize(partial, names, seeds, grid),
            "progress": progress_text(fraction, elapsed_s)}


def summarize(results, names: list[str], seeds: list[int], grid) -> dict[str, list[dict]]:
    """Group ``train`` results (configs outer, seeds inner) into
    ``{variant name: [run summaries]}``."""
    out: dict[str, list[dict]] = {}
    for i, name in enumerate(names):
        out[name] = [run_summary(r, grid) for r in results[i * len(seeds) : (i + 1) * len(seeds)]]
    return out


def curves_csv(runs: dict[str, list[dict]], grid) -> str:
    """CSV with one row per (variant, seed, step): the run's running last-20 return."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["variant", "seed", "step", "return_last20"])
    for name, summaries in runs.items():
        for s in summaries:
            for step, v in zip(grid, s["curve"]):
                w.writerow([name, s["seed"], int(step), "" if v is None else v])
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# which variants separate from a baseline, in words
# ---------------------------------------------------------------------------------------------


def difference_ci(a, b, level: float = 0.95) -> tuple[float, float]:
    """Mean difference ``mean(a) − mean(b)`` and the half-width of its Welch interval
    (:func:`toolbox.stats.welch`, ν rounded down). Needs ≥ 2 values on each side."""
    w = welch(a, b, level)
    return w["difference"], w["half_width"]


LOWER, HIGHER, SAME = "clearly lower", "clearly higher", "not separated"
ALPHA = 0.05
"""Family-wise error rate of the comparisons with the baseline (Holm–Bonferroni)."""
CORRECTION = "Holm–Bonferroni"


def welch_p_value(a, b) -> float:
    """Two-sided p-value of Welch's t-test of ``mean(a) = mean(b)`` (:func:`toolbox.stats.welch`):
    ``p < 1 − level`` exactly when :func:`difference_ci`'s interval excludes zero."""
    return welch(a, b)["p_value"]


holm_adjust = holm
"""Holm–Bonferroni adjusted p-values in the input order (:func:`toolbox.stats.holm`)."""


def compare_to_baseline(runs: dict[str, list[dict]], baseline: str = "all on",
                        score_key: str = "last20") -> list[dict]:
    """For every variant but ``baseline``: its final score's difference to the baseline's (run
    summaries' ``score_key``, ``last20`` on CartPole), the 95% Welch interval of that difference,
    Welch's p-value, the :func:`holm_adjust`-ed p-value over all the rows, and a verdict — ``LOWER``
    or ``HIGHER`` when the adjusted p-value is at most ``ALPHA``, ``SAME`` otherwise. Rows in
    ``runs`` order."""
    if baseline not in runs:
        raise ValueError(f"the comparison needs the “{baseline}” variant in the results.")
    base = [s[score_key] for s in runs[baseline]]
    rows = []
    for name, summaries in runs.items():
        if name == baseline:
            continue
        scores = [s[score_key] for s in summaries]
        diff, half = difference_ci(scores, base)
        rows.append({"variant": name, "difference": diff, "half_width": half,
                     "p_value": welch_p_value(scores, base)})
    for r, adjusted in zip(rows, holm_adjust([r["p_value"] for r in rows])):
        r["p_adjusted"] = adjusted
        r["verdict"] = SAME if adjusted > ALPHA else LOWER if r["difference"] < 0 else HIGHER
    return rows


def _p(x: float) -> str:
    return "< 0.001" if x < 0.001 else f"= {x:.3f}"


def _names(rows, p_values: bool = False) -> str:
    def one(r):
        extra = f", p {_p(r['p_value'])}, adjusted p {_p(r['p_adjusted'])}" if p_values else ""
        return f"“{r['variant']}” ({r['difference']:+.0f} ± {r['half_width']:.0f}{extra})"

    return "none" if not rows else ", ".join(one(r) for r in rows)


def explain_comparison(rows: list[dict], baseline_agg: dict, budget: int,
                       baseline: str = "all on") -> str:
    """Plain-words summary of :func:`compare_to_baseline` rows (Markdown-free, numbers from them):
    the groups by verdict after the multiple-comparison correction, the rows whose own 95% interval
    excludes zero but that the correction does not separate, and what “not separated” means."""
    by = {v: [r for r in rows if r["verdict"] == v] for v in (LOWER, HIGHER, SAME)}
    n, m = baseline_agg["runs"], len(rows)
    if m > 1:
        how = (f"Each variant is compared with “{baseline}” by Welch's t-test, and the {m} "
               f"p-values are corrected for multiple comparisons with the {CORRECTION} method (at "
               f"most {ALPHA:.0%} chance of any false separation among them). ")
    else:
        how = (f"The variant is compared with “{baseline}” by Welch's t-test at {ALPHA:.0%} (one "
               "comparison: no correction needed). ")
    text = (
        f"After {budget:,} steps, “{baseline}” scores {baseline_agg['last20_mean']:.0f} ± "
        f"{baseline_agg['last20_ci']:.0f} (mean of the last 20 episodes, {n} seeds; differences "
        f"below with their 95% intervals). {how}Clearly lower than “{baseline}”: "
        f"{_names(by[LOWER], True)}. Clearly higher: {_names(by[HIGHER], True)}. "
    )
    alone = [r for r in by[SAME] if r["p_value"] < ALPHA]
    if alone:
        text += (f"Off zero by its own 95% interval but not after the correction: "
                 f"{_names(alone, True)} — among {m} comparisons at 5% each, one such result by "
                 "chance alone would not be surprising. ")
    rest = [r for r in by[SAME] if r["p_value"] >= ALPHA]
    if rest:
        wide = max(rest, key=lambda r: r["half_width"])
        lo, hi = wide["difference"] - wide["half_width"], wide["difference"] + wide["half_width"]
        text += (
            f"Not separated from “{baseline}”, each interval including zero: {_names(rest)} — with "
            f"{n} seeds at this budget we cannot tell whether these details change the final score "
            f"on CartPole (the widest, “{wide['variant']}”, spans {lo:+.0f} to {hi:+.0f}); they "
            "may matter on harder tasks."
        )
    return text.strip()


# ---------------------------------------------------------------------------------------------
# time left of a live training
# ---------------------------------------------------------------------------------------------


def time_left(fraction: float, elapsed_s: float) -> float:
    """Seconds left if the rest runs at the rate so far: ``elapsed · (1 − f) / f``; NaN before any
    progress."""
    if not (isinstance(fraction, (int, float)) and 0 <= fraction <= 1) or not (
        isinstance(elapsed_s, (int, float)) and elapsed_s >= 0
    ):
        raise ValueError(
            "progress must be a fraction in [0, 1] and "
            f"elapsed time ≥ 0; got {fraction!r}, {elapsed_s!r}.")
    return math.nan if fraction == 0 else elapsed_s * (1 - fraction) / fraction


def _duration(s: float) -> str:
    s = int(round(s))
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60:02d} s"


def progress_text(fraction: float, elapsed_s: float) -> str:
    """E.g. ``"40% trained in 1 min 20 s · about 2 min 00 s left"`` (the estimate is omitted at
    0%)."""
    left = time_left(fraction, elapsed_s)
    head = f"{fraction:.0%} trained in {_duration(elapsed_s)}"
    return head + (" · estimating the time left…" if math.isnan(
        left) else f" · about {_duration(left)} left")


def score_rows(aggregates: dict[str, dict]) -> list[dict]:
    """The score table, one row per variant (from :func:`aggregate`): final score as mean ± 95% CI
    over seeds (the mean alone for one seed), steps to 475 with how many runs got there, and AUC."""
    rows = []
    for name, a in aggregates.items():
        reach = (
            "—"
            if a["reached_475"] == 0
            else f"{a['steps_to_475']:,.0f} ({a['reached_475']}/{a['runs']} runs)"
        )
        score = f"{a['last20_mean']:.1f} ± {a['last20_ci']:.1f}" if a[
            "runs"] > 1 else f"{a['last20_mean']:.1f}"
        rows.append({
            "variant": name,
            "final score: last-20 return (mean ± 95% CI)": score,
            "steps to 475": reach,
            "AUC (mean return over training)": f"{a['auc_mean']:.1f}",
        })
    return rows


def default_highlight(names: list[str], rows: list[dict] | None,
                      baseline: str = "all on") -> list[str]:
    """The variants the curve chart highlights against ``baseline`` unless the reader picks others:
    those separated from it (:func:`compare_to_baseline` rows after the correction) and the reader's
    own “your toggles”; with no comparison, every variant when there are at most 4, else none."""
    picked = [r["variant"] for r in rows or [] if r["verdict"] != SAME]
    picked += [n for n in names if n == "your toggles" and n not in picked]
    if not picked and not rows and len(names) <= 4:
        picked = [n for n in names if n != baseline]
    return [n for n in names if n in picked]


def debug_rows(aggregates: dict[str, dict]) -> list[dict]:
    """The debug-variable table, one row per variant: each of ``DEBUG_SHOWN`` at 3 significant
    digits."""
    return [{"variant": n, **{k: float(f"{v:.3g}") for k, v in a["debug"].items()}}
            for n, a in aggregates.items()]
