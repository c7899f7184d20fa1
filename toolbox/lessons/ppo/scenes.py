"""Scenes of the PPO-details lesson (widget keys: ``app_pages/ppo_details/page.py``).

All three keep the page's default view, CleanRL's 12-variant core ablation with 10 seeds × 500k
steps per variant, stored in results/ppo_grid500k.json, so no scene starts a training. Each scene
selects the variants it talks about in the curve chart's highlight selector (``ppo_highlight``)
and hides the results until the reveal; its answer is computed at display time from the stored
runs of the scene's view with ``toolbox.lessons.ppo.analysis`` (``tests/test_scenes.py`` recomputes
every number from the JSON file with numpy and scipy).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from toolbox.lessons import shared as K
from toolbox.lessons.ppo import analysis, precomputed
from toolbox.lessons.ppo.variants import (
    DEFAULT_BUDGET,
    DEFAULT_SEEDS,
    DEFAULT_VARIANTS,
    VARIANT_IDS,
    variant_config,
)
from toolbox.lessons.scenes import Answer, Question, Scene

VARIANTS, SEEDS, BUDGET, HIGHLIGHT = "ppo_variants", "ppo_seeds", "ppo_budget", "ppo_highlight"
"""The page's widget keys: the ablation's variants (ids), seeds, steps per run; the chart's
highlighted variants (names)."""
BASELINE = "all on"
_DEFAULT_VIEW = {VARIANTS: list(DEFAULT_VARIANTS), SEEDS: DEFAULT_SEEDS, BUDGET: DEFAULT_BUDGET}
_HIDDEN = (K.SPOIL_RESULTS,)


def stored_view(v: Mapping[str, Any]) -> dict:
    """The stored runs the page shows at the widget values ``v``: ``{"grid", "budget", "runs"}``
    (``toolbox.lessons.ppo.precomputed.lookup``); ValueError when that view was not trained in
    advance."""
    budget = int(v[BUDGET])
    names = [VARIANT_IDS[vid] for vid in v[VARIANTS]]
    configs = [variant_config(vid, budget) for vid in v[VARIANTS]]
    view = precomputed.lookup(precomputed.load(), configs, names, list(range(int(v[SEEDS]))))
    if view is None:
        raise ValueError("The scene's variants, seeds and budget are not among the stored runs.")
    return view


def _summary(v: Mapping[str, Any]):
    """The stored view's per-variant aggregates and its comparison rows with the baseline, by
    name."""
    view = stored_view(v)
    aggs = {n: analysis.aggregate(s, view["grid"]) for n, s in view["runs"].items()}
    rows = {r["variant"]: r for r in analysis.compare_to_baseline(view["runs"], BASELINE)}
    return view, aggs, rows


def _curves(aggs: dict, names) -> dict:
    """The evidence: the baseline and ``names``' learning curves, ``names`` highlighted."""
    shown = {n: aggs[n] for n in (BASELINE, *names)}
    return {"aggregates": shown, "highlight": list(names)}


def _verdict(row: dict) -> str:
    if row["verdict"] == analysis.SAME:
        return f"not separated from “{BASELINE}” (adjusted p = {row['p_adjusted']:.2f})"
    return f"{row['verdict']} than “{BASELINE}” (adjusted p = {row['p_adjusted']:.2g})"


def _interval(row: dict) -> str:
    lo, hi = row["difference"] - row["half_width"], row["difference"] + row["half_width"]
    where = "includes" if lo <= 0 <= hi else "excludes"
    return f"from {lo:+.1f} to {hi:+.1f}, an interval that {where} 0"


_LOWEST_OPTIONS = ("no minibatches", "no clipped surrogate", "no GAE (MC returns)",
                   "no LR annealing")


def _lowest(v: Mapping[str, Any]) -> Answer:
    _, aggs, rows = _summary(v)
    low = min(_LOWEST_OPTIONS, key=lambda n: aggs[n]["last20_mean"])
    base, worst = aggs[BASELINE], aggs[low]
    others = [n for n in _LOWEST_OPTIONS if n != low]
    cfg = {n: variant_config(vid, int(v[BUDGET])) for vid, n in VARIANT_IDS.items()}
    updates = {n: cfg[n].update_epochs * cfg[n].num_minibatches for n in (BASELINE, low)}
    n = dict(
        low=worst["last20_mean"],
        base=base["last20_mean"],
        reached=worst["reached_475"],
        runs=worst["runs"],
        updates_low=updates[low],
        updates_base=updates[BASELINE],
        **{f"other_{i}": aggs[o]["last20_mean"] for i, o in enumerate(others)},
    )
    text = (
        f"**{low[0].upper() + low[1:]}**: {n['low']:.1f} against {n['base']:.1f} with all details "
        f"on, and only {n['reached']} of its {n['runs']} runs reach 475; it is "
        f"{_verdict(rows[low])}."
        + (
            f" It makes {n['updates_low']} gradient steps per batch instead of "
            f"{n['updates_base']} (update epochs × minibatches)."
            if n["updates_low"] != n["updates_base"]
            else ""
        )
        + " Of the other choices, "
        + "; ".join(
            f"“{o}” ends at {aggs[o]['last20_mean']:.1f}, {_verdict(rows[o])}" for o in others
        )
        + "."
    )
    return Answer(text, "ppo_curves", _curves(aggs, [low, *others]), n)


def _debug_mean(summaries: list[dict], key: str) -> float:
    """Mean of a debug variable over the whole training and every seed (stored grid points)."""
    values = [[np.nan if x is None else x for x in s["debug"][key]] for s in summaries]
    return float(np.nanmean(np.asarray(values, dtype=np.float64)))


def _against_all_on(row: Mapping[str, Any], off: Mapping[str, Any],
                    on: Mapping[str, Any]) -> dict:
    """The numbers every "detail off vs all on" answer quotes: both last-20 means with their 95 %
    intervals, and the difference with its half-width."""
    return {"off": off["last20_mean"], "off_ci": off["last20_ci"], "on": on["last20_mean"],
            "on_ci": on["last20_ci"], "difference": row["difference"],
            "half_width": row["half_width"]}


def _clip(v: Mapping[str, Any]) -> Answer:
    view, aggs, rows = _summary(v)
    name = "no clipped surrogate"
    row, off, on = rows[name], aggs[name], aggs[BASELINE]
    n = {
        **_against_all_on(row, off, on),
        "clipfrac": _debug_mean(view["runs"][BASELINE], "clipfrac"),
    }
    text = (
        f"**No**: {n['off']:.1f} ± {n['off_ci']:.1f} without the clip against {n['on']:.1f} ± "
        f"{n['on_ci']:.1f} with it; the difference is {n['difference']:+.1f} ± "
        f"{n['half_width']:.1f}: {_interval(row)}. With the clip on, it acts on "
        f"{n['clipfrac']:.3%} of the samples on average over training (the debug variable "
        "`clipfrac`): with 4 epochs of small Adam steps on an easy task the ratio rarely leaves "
        "[0.8, 1.2]. A detail that does not matter on CartPole can still matter on harder tasks."
    )
    return Answer(text, "ppo_curves", _curves(aggs, [name]), n)


def _seeds(v: Mapping[str, Any]) -> Answer:
    view, aggs, rows = _summary(v)
    name = "no grad clipping"
    row, off, on = rows[name], aggs[name], aggs[BASELINE]
    worst_on = min(s["last20"] for s in view["runs"][BASELINE])
    collapsed = [s["last20"] for s in view["runs"][name] if s["last20"] < worst_on]
    n = {
        **_against_all_on(row, off, on),
        "collapsed": len(collapsed),
        "worst_on": worst_on,
    }
    scores = ", ".join(f"{x:.0f}" for x in sorted(collapsed))
    text = (
        f"**We cannot tell**: {n['off']:.1f} ± {n['off_ci']:.1f} against {n['on']:.1f} ± "
        f"{n['on_ci']:.1f}; the difference is {n['difference']:+.1f} ± {n['half_width']:.1f}, "
        f"{_interval(row)}. {n['collapsed']} of its {off['runs']} runs end below the worst "
        f"“{BASELINE}” run "
        f"({n['worst_on']:.0f}): {scores}. A few collapsed runs pull the mean down and widen the "
        "interval: ten seeds separate large effects (no minibatches) but not every difference of "
        "means."
    )
    return Answer(text, "ppo_differences", {"rows": [row]}, n)


PPO_SCENES: tuple[Scene, ...] = (
    Scene(
        id="which-details-matter",
        title="Which PPO details matter on CartPole",
        text="CleanRL's defaults (“all on”) and each core detail turned off in turn: 10 seeds × "
        "500k steps each. The chart highlights the four candidates against “all on”; the results "
        "show once you have predicted.",
        question=Question(
            "Which single change ends with the lowest return?",
            _LOWEST_OPTIONS,
            0,
        ),
        explanation=_lowest,
        settings={**_DEFAULT_VIEW, HIGHLIGHT: list(_LOWEST_OPTIONS)},
        spoilers=_HIDDEN,
    ),
    Scene(
        id="clip-on-cartpole",
        title="The clipped surrogate on CartPole",
        text="PPO is named after its clipped objective. Compare “all on” with “no clipped "
        "surrogate” (highlighted in the chart once you have predicted).",
        question=Question(
            "Does removing the clip hurt on CartPole at 500k steps?",
            ("Yes, clearly", "No: the two end at the same score", "It helps"),
            1,
        ),
        explanation=_clip,
        settings={**_DEFAULT_VIEW, HIGHLIGHT: ["no clipped surrogate"]},
        spoilers=_HIDDEN,
    ),
    Scene(
        id="ten-seeds-noise",
        title="Ten seeds: is a difference real?",
        text="Compare “all on” with “no grad clipping” (highlighted in the chart once you have "
        "predicted), and look at the difference's 95% interval.",
        question=Question(
            "Does turning gradient clipping off really lower the return?",
            (
                "Yes: its mean is 50 lower",
                "We cannot tell: the difference's 95% interval includes 0",
                "No: it is higher",
            ),
            1,
        ),
        explanation=_seeds,
        settings={**_DEFAULT_VIEW, HIGHLIGHT: ["no grad clipping"]},
        spoilers=_HIDDEN,
    ),
)
