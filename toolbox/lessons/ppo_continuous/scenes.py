"""Scenes of the continuous-control PPO lesson (widget keys: ``toolbox.lessons.shared.PC_*``).

Every scene keeps the page's stored grid (results/ppo_continuous_grid.json), so no scene starts a
training; it picks the detail the curves show and hides the results until the reveal. Answers are
computed at display time from the stored runs (:mod:`toolbox.lessons.ppo_continuous.data`);
``tests/test_ppo_continuous_lesson.py`` recomputes their numbers with SciPy.
"""

from __future__ import annotations

from typing import Any, Mapping

from toolbox.lessons import shared as K
from toolbox.lessons.ppo.analysis import SAME
from toolbox.lessons.ppo_continuous import data as C
from toolbox.lessons.scenes import Answer, Question, Scene

_HIDDEN = (K.SPOIL_RESULTS, K.SPOIL_FIGURES)
COSTLIEST_OPTIONS = ("norm_obs", "norm_reward", "gaussian_policy", "clip_action")
"""The four continuous details the second scene asks about (fields of ``Args``)."""
COUNT_OPTIONS = ("None of them", "1 or 2", "3 to 5", "6 or more")


def _grid():
    grid = C.load_grid()
    aggs = C.aggregates(grid["runs"], grid["budget"])
    rows = {r["variant"]: r for r in C.comparison(aggs)}
    return grid, aggs, rows


def _row_text(row: dict) -> str:
    p = row["p_adjusted"]
    where = "not separated from" if row["verdict"] == SAME else row["verdict"] + " than"
    return (f"{row['difference']:+.0f} ± {row['half_width']:.0f} against “{C.BASELINE}” — "
            f"{where} it (Holm-adjusted p {'< 0.001' if p < 0.001 else f'= {p:.3f}'})")


def _curves(aggs: dict, names: list[str]) -> dict:
    return {"aggregates": {n: aggs[n] for n in (C.BASELINE, *names)}, "highlight": names,
            "solved": None, "y_range": None,
            "title": f"Mean return (last {C.WINDOW} episodes) vs steps"}


def _obs(v: Mapping[str, Any]) -> Answer:
    grid, aggs, rows = _grid()
    name = C.label("norm_obs")
    row = rows[name]
    n = {"difference": row["difference"], "half_width": row["half_width"],
         "p_adjusted": row["p_adjusted"], "on": aggs[C.BASELINE]["score_mean"],
         "off": aggs[name]["score_mean"]}
    text = (f"Without observation normalization the final score is {n['off']:.0f}, with it "
            f"{n['on']:.0f}: {_row_text(row)}. ")
    if row["verdict"] == SAME:
        text += "At this budget the two cannot be told apart."
    elif row["difference"] > 0:
        text += ("Switching the detail *off* helps here. Pendulum's observations are already on a "
                 "usable scale (cos θ, sin θ in ±1, θ̇ in ±8), so normalizing them buys little, "
                 "while the running mean and variance keep moving during training: the policy "
                 "and value networks chase inputs whose meaning drifts (each environment keeps "
                 "its own statistics, as CleanRL's wrapper does). A detail that is essential on "
                 "MuJoCo's unscaled observations is a cost on a task that needs none of it.")
    else:
        text += ("Unnormalized, the angular velocity (±8) dominates the first layer's input next "
                 "to cos θ and sin θ (±1).")
    return Answer(text, "ppo_curves", _curves(aggs, [name]), n)


def costliest(rows: Mapping[str, dict]) -> str:
    """Of :data:`COSTLIEST_OPTIONS`, the detail whose removal lowers the score most."""
    return min(COSTLIEST_OPTIONS, key=lambda f: rows[C.label(f)]["difference"])


def _costliest(v: Mapping[str, Any]) -> Answer:
    grid, aggs, rows = _grid()
    worst = costliest(rows)
    ranked = sorted(COSTLIEST_OPTIONS, key=lambda f: rows[C.label(f)]["difference"])
    text = ("Turned off one at a time: " + "; ".join(
        f"{C.DETAILS[f].name} — {_row_text(rows[C.label(f)])}" for f in ranked)
        + f". The costliest is {C.DETAILS[worst].name.lower()}.")
    n = {f: rows[C.label(f)]["difference"] for f in COSTLIEST_OPTIONS}
    return Answer(text, "ppo_differences",
                  {"rows": [rows[C.label(f)] for f in ranked], "episodes": C.WINDOW}, n)


def count_option(n_separated: int) -> int:
    """The index in :data:`COUNT_OPTIONS` of a number of separated details."""
    return 0 if n_separated == 0 else 1 if n_separated <= 2 else 2 if n_separated <= 5 else 3


def _count(v: Mapping[str, Any]) -> Answer:
    grid, aggs, rows = _grid()
    sep = C.separated(list(rows.values()))
    text = (f"{len(sep)} of the {len(rows)} details separate from “{C.BASELINE}” after the "
            "Holm–Bonferroni correction: " + (", ".join(sep) if sep else "none") + ". "
            + C.finding(aggs, list(rows.values()), grid["budget"]))
    return Answer(text, "ppo_differences", {"rows": list(rows.values()), "episodes": C.WINDOW},
                  {"separated": len(sep)})


PPO_CONTINUOUS_SCENES: tuple[Scene, ...] = (
    Scene(
        id="observation-normalization",
        title="Observation normalization on Pendulum",
        text="Observation normalization is on in every continuous-control PPO you will read. "
        "Pendulum observes (cos θ, sin θ, θ̇): two numbers in ±1 and one in ±8. The curves "
        "compare “all on” with observation normalization off (shown once you have predicted).",
        question=Question(
            "Turn observation normalization off: what happens to the final return?",
            ("It is clearly lower", "We cannot tell them apart", "It is clearly higher"),
            2,
        ),
        explanation=_obs,
        settings={K.PC_DETAIL: "norm_obs"},
        spoilers=_HIDDEN,
    ),
    Scene(
        id="costliest-detail",
        title="The costliest continuous detail",
        text=f"Four of the continuous-action details, each turned off in turn over {C.GRID_SEEDS} "
        "seeds.",
        question=Question(
            "Which one costs the most when turned off?",
            tuple(C.DETAILS[f].name for f in COSTLIEST_OPTIONS),
            1,
        ),
        explanation=_costliest,
        settings={K.PC_DETAIL: "norm_reward"},
        spoilers=_HIDDEN,
    ),
    Scene(
        id="how-many-separate",
        title="How many details separate",
        text=f"{len(C.DETAILS)} details, each turned off in turn, {C.GRID_SEEDS} seeds each, "
        "compared with “all on” with a correction for making many comparisons at once.",
        question=Question(
            "How many of them separate from “all on” after the correction?",
            COUNT_OPTIONS,
            2,
        ),
        explanation=_count,
        settings={K.PC_DETAIL: "clip_action"},
        spoilers=_HIDDEN,
    ),
)
