"""What the continuous-control PPO lesson shows: the stored grid, its comparison, curves, live runs.

The grid (``results/ppo_continuous_grid.json``, written by
``benchmarks/ppo_continuous_precompute.py``) holds, per variant ("all on" and each detail off) and
seed, the episodes of a run on Pendulum-v1. From those this module computes everything the page
shows: a run's learning curve (mean return of the last :data:`WINDOW` episodes ended by each step),
the mean and 95% interval over seeds, each variant's final score against "all on" (Welch's test,
Holm's correction: :func:`toolbox.lessons.ppo.analysis.compare_to_baseline`) and the finding in
words — derived from the data, never written by hand.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolbox.lessons.ppo.analysis import (
    ALPHA,
    CORRECTION,
    HIGHER,
    LOWER,
    SAME,
    compare_to_baseline,
    running_return,
)
from toolbox.ppo.continuous.args import CONTINUOUS_DETAILS, CORE_TOGGLES, PENDULUM, Args
from toolbox.stats import mean_ci

RESULTS = Path(__file__).resolve().parents[3] / "results" / "ppo_continuous_grid.json"
BASELINE = "all on"
WINDOW = 32
"""Episodes behind a run's final score: two rounds of 16 environments, the last 6,400 steps."""
ROUND = PENDULUM.num_envs * 200
"""Environment steps in which each of the 16 environments ends one 200-step episode (Pendulum
only truncates): a point of a learning curve is the mean return of one round's 16 episodes."""
GRID_SEEDS = 20
"""Seeds per variant of the stored grid (results/ppo_continuous_grid.json; a test checks the file
against it), named in the page's and the scenes' texts."""
MAX_LIVE_SEEDS = 10
"""Seeds of a live comparison, at most: 2 variants × 10 seeds × 102,400 steps train in 18 s on one
thread with the compiled runner (7.5 s for 4 seeds; measured under a load of ~3), so a class can
retrain a row of the grid live with half its seeds."""
LIVE_BUDGETS = (25_600, 51_200, PENDULUM.total_timesteps)
"""Steps per run a live comparison may train: a quick look, half, and the grid's budget."""


@dataclass(frozen=True)
class Detail:
    field: str
    """The :class:`~toolbox.ppo.continuous.args.Args` field (on = CleanRL's choice)."""
    name: str
    """Huang et al.'s name of the detail."""
    off: str
    """What "off" means, in a few words (the label of the variant)."""
    latex: str
    """The line of mathematics the detail changes."""


DETAILS: dict[str, Detail] = {d.field: d for d in (
    Detail("gaussian_policy", "Continuous actions via normal distributions (σ learned)",
           "σ fixed at 1", r"a\sim\mathcal N\big(\mu_\theta(s),\,\sigma^2\big),\ "
           r"\log\pi(a\mid s)=-\tfrac{(a-\mu)^2}{2\sigma^2}-\log\sigma-\tfrac12\log 2\pi"),
    Detail("state_independent_std", "State-independent log standard deviation",
           "σ(s) from a head", r"\log\sigma = w\ \text{(a parameter)}\quad\text{vs}\quad"
           r"\log\sigma(s)=W h(s)+b"),
    Detail("independent_actions", "Independent action components",
           "correlated Gaussian", r"\log\pi(a\mid s)=\textstyle\sum_i\log\mathcal N(a_i;\mu_i,"
           r"\sigma_i^2)"),
    Detail("shared_network", "Separate policy and value networks",
           "one shared trunk", r"\mu_\theta,\ V_\phi\ \text{separate}\quad\text{vs}\quad"
           r"\mu=W_\pi h_\psi(s),\ V=W_V h_\psi(s)"),
    Detail("clip_action", "Handling of action clipping to the valid range and storage",
           "clipped action stored", r"a_{\text{env}}=\operatorname{clip}(a,-2,2),\quad"
           r"\text{stored: } a\ \text{(unclipped)}"),
    Detail("norm_obs", "Normalization of observations", "raw observations",
           r"\hat s=\frac{s-\mu_{\text{run}}}{\sqrt{\sigma^2_{\text{run}}+\epsilon}}"),
    Detail("clip_obs", "Observation clipping", "no observation clip",
           r"\hat s\leftarrow\operatorname{clip}(\hat s,-10,10)"),
    Detail("norm_reward", "Reward scaling", "raw rewards",
           r"\hat r_t=r_t/\sqrt{\operatorname{Var}[G]+\epsilon},\quad G\leftarrow\gamma G+r_t"),
    Detail("clip_reward", "Reward clipping", "no reward clip",
           r"\hat r_t\leftarrow\operatorname{clip}(\hat r_t,-10,10)"),
    Detail("anneal_lr", "Learning-rate annealing", "constant learning rate",
           r"\alpha_k=\alpha\,(1-\tfrac{k-1}{K})"),
    Detail("norm_adv", "Advantage normalization", "raw advantages",
           r"\hat A\leftarrow(\hat A-\operatorname{mean})/(\operatorname{std}+10^{-8})"),
    Detail("clip_vloss", "Value-function loss clipping", "plain value loss",
           r"L^V=\max\big[(V-R)^2,\ (V_{\text{old}}+\operatorname{clip}(V-V_{\text{old}},"
           r"-\epsilon,\epsilon)-R)^2\big]"),
    Detail("orthogonal_init", "Orthogonal initialization and layer scaling",
           "PyTorch's default init", r"W\sim\text{orthogonal}\cdot\sqrt2,\ \ \text{policy head }"
           r"0.01,\ \text{value head }1"),
    Detail("gae", "Generalized advantage estimation", "Monte-Carlo returns",
           r"\hat A_t=\textstyle\sum_l(\gamma\lambda)^l\delta_{t+l},\ "
           r"\delta_t=r_t+\gamma V(s_{t+1})-V(s_t)"),
    Detail("clip_surrogate", "Clipped surrogate objective", "unclipped ratio",
           r"L=\min\big(\rho\hat A,\ \operatorname{clip}(\rho,1-\epsilon,1+\epsilon)\hat A\big)"),
    Detail("clip_grad", "Global gradient clipping", "no gradient clipping",
           r"g\leftarrow g\cdot\min\big(1,\ 0.5/\lVert g\rVert\big)"),
)}
"""The toggles the lesson shows: the nine continuous-action details, then the core ones."""
assert tuple(DETAILS)[:9] == CONTINUOUS_DETAILS and set(CORE_TOGGLES) <= set(DETAILS)


def variant_args(detail: str | None, budget: int | None = None) -> Args:
    """:data:`PENDULUM` ("all on") or with ``detail`` flipped from CleanRL's choice; ``budget``
    replaces ``total_timesteps``."""
    base = PENDULUM if budget is None else PENDULUM.replace(total_timesteps=int(budget))
    if detail is None:
        return base
    if detail not in DETAILS:
        raise ValueError(f"unknown detail {detail!r}; choose from {', '.join(DETAILS)}.")
    return base.replace(**{detail: not getattr(base, detail)})


def label(detail: str | None) -> str:
    """The variant's name on the page: "all on" or "<detail> off (<what off means>)"."""
    return BASELINE if detail is None else f"{detail} off ({DETAILS[detail].off})"


def detail_of(stored_label: str) -> str | None:
    """The detail behind a label of the stored grid ("all on", "norm_obs off", …)."""
    if stored_label == BASELINE:
        return None
    field = stored_label.split(" ")[0]
    if field not in DETAILS:
        raise ValueError(f"the stored grid names an unknown variant {stored_label!r}.")
    return field


def load_grid(path: str | Path = RESULTS) -> dict:
    """The stored grid with its runs keyed by :func:`label` (ValueError with a sentence if the
    file is missing or not a grid)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"the precomputed grid {p.name} is missing: run "
                         "benchmarks/ppo_continuous_precompute.py to make it.")
    try:
        payload = json.loads(p.read_text())
        runs = {label(detail_of(k)): v for k, v in payload["runs"].items()}
        budget, seeds = int(payload["budget"]), [int(s) for s in payload["seeds"]]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{p.name} is not a continuous-PPO grid ({err}).") from err
    if BASELINE not in runs:
        raise ValueError(f"{p.name} has no “{BASELINE}” runs to compare with.")
    return {"meta": payload.get("meta", {}), "budget": budget, "seeds": seeds, "runs": runs}


def final_score(episode_returns) -> float:
    """Mean return of a run's last :data:`WINDOW` episodes (NaN before any)."""
    tail = np.asarray(list(episode_returns)[-WINDOW:], dtype=np.float64)
    return float(tail.mean()) if tail.size else math.nan


def curve_grid(budget: int) -> np.ndarray:
    """The steps of a learning curve: the end of every round (multiples of :data:`ROUND`)."""
    return np.arange(ROUND, int(budget) + 1, ROUND, dtype=np.int64)


def summarize_run(record: dict, grid) -> dict:
    """One run on the step ``grid``: its curve (NaN past the steps trained) and final score.

    A stored run (``benchmarks/ppo_continuous_precompute.py``) carries its curve (``curve_steps``,
    ``curve``: each round's mean return) and ``final_score``; a live one carries its episodes
    (``episode_steps``, ``episode_returns``, ``steps_trained``), from which the same two are
    computed: the mean of the last 16 episodes ended by each round's end, and of the last 32."""
    grid = np.asarray(grid)
    if "curve" in record:
        if list(record["curve_steps"]) != grid.tolist():
            raise ValueError("a stored run's curve is not on this budget's rounds.")
        curve = np.asarray(record["curve"], dtype=np.float64)
        return {"seed": int(record["seed"]), "curve": curve, "score": float(record["final_score"])}
    curve = running_return(record["episode_steps"], record["episode_returns"], grid,
                           PENDULUM.num_envs)
    trained = record.get("steps_trained")
    if trained is not None:
        curve = np.where(grid <= trained, curve, np.nan)
    return {"seed": int(record["seed"]), "curve": curve,
            "score": final_score(record["episode_returns"])}


def aggregate(records: list[dict], grid) -> dict:
    """Mean and 95% interval over seeds of one variant's curves and final scores."""
    runs = [summarize_run(r, grid) for r in records]
    curves = np.stack([r["curve"] for r in runs]) if runs else np.zeros((0, len(grid)))
    mean, half = (np.asarray(x, dtype=np.float64) for x in mean_ci(curves, axis=0))
    score, score_half = mean_ci([r["score"] for r in runs])
    return {"grid": np.asarray(grid).tolist(), "mean": mean.tolist(), "lo": (mean - half).tolist(),
            "hi": (mean + half).tolist(), "runs": len(runs), "score_mean": float(score),
            "score_ci": float(score_half), "scores": [r["score"] for r in runs]}


def aggregates(runs: dict[str, list[dict]], budget: int) -> dict[str, dict]:
    """:func:`aggregate` of every variant on the rounds of ``budget`` (:func:`curve_grid`)."""
    grid = curve_grid(budget)
    return {name: aggregate(records, grid) for name, records in runs.items()}


def live_aggregates(names: list[str], runs: list[list[dict]], budget: int) -> dict[str, dict]:
    """What a live comparison shows so far: :func:`aggregate` of each variant that has runs
    (curves end at the steps trained)."""
    grid = curve_grid(budget)
    return {n: aggregate(r, grid) for n, r in zip(names, runs) if r}


def comparison(aggs: dict[str, dict]) -> list[dict]:
    """Every variant's final score against "all on": Welch's difference with its 95% interval,
    p-value, Holm-adjusted p-value and verdict (:func:`compare_to_baseline`)."""
    runs = {name: [{"score": s} for s in a["scores"]] for name, a in aggs.items()}
    return compare_to_baseline(runs, BASELINE, score_key="score")


def _one(r: dict) -> str:
    p = r["p_adjusted"]
    return (f"{r['variant']} ({r['difference']:+.0f} ± {r['half_width']:.0f}, adjusted p "
            f"{'< 0.001' if p < 0.001 else f'= {p:.3f}'})")


def finding(aggs: dict[str, dict], rows: list[dict], budget: int) -> str:
    """The comparison in words, derived from ``rows`` (never hand-written)."""
    base = aggs[BASELINE]
    by = {v: [r for r in rows if r["verdict"] == v] for v in (LOWER, HIGHER, SAME)}
    text = (f"After {budget:,} steps on Pendulum-v1, “{BASELINE}” scores {base['score_mean']:.0f} "
            f"± {base['score_ci']:.0f} (mean return of the last {WINDOW} episodes over "
            f"{base['runs']} seeds; random play scores about −1,200, a balanced pendulum about "
            f"−200). Compared by Welch's t-test with the {CORRECTION} correction over {len(rows)} "
            f"variants (family-wise α = {ALPHA:g}): ")
    if by[LOWER]:
        text += (f"{len(by[LOWER])} detail(s) turned off score clearly lower — "
                 + "; ".join(_one(r) for r in sorted(by[LOWER], key=lambda r: r["difference"]))
                 + ". ")
    if by[HIGHER]:
        text += (f"{len(by[HIGHER])} turned off score clearly higher at this budget — "
                 + "; ".join(_one(r) for r in by[HIGHER]) + ". ")
    if not by[LOWER] and not by[HIGHER]:
        text += "no detail separates from it at this budget. "
    if by[SAME]:
        text += ("Not separated after the correction (we cannot tell at this budget and seed "
                 "count): " + ", ".join(r["variant"] for r in by[SAME]) + ".")
    return text.strip()


def separated(rows: list[dict]) -> list[str]:
    """The variants whose verdict is not :data:`SAME`, most harmful first."""
    return [r["variant"] for r in sorted(rows, key=lambda r: r["difference"])
            if r["verdict"] != SAME]


def live_request(detail: str, n_seeds: int, budget: int = PENDULUM.total_timesteps
                 ) -> tuple[list[str], list[Args], list[int], str]:
    """A live comparison: "all on" and ``detail`` off, seeds 0 … n − 1, ``budget`` steps per run
    (one of :data:`LIVE_BUDGETS`). Returns the labels, the variants, the seeds and the job key
    (identical requests train once)."""
    if detail not in DETAILS:
        raise ValueError(f"unknown detail {detail!r}; choose from {', '.join(DETAILS)}.")
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, (int, np.integer)) or not (
            1 <= n_seeds <= MAX_LIVE_SEEDS):
        raise ValueError(f"a live comparison trains 1 to {MAX_LIVE_SEEDS} seeds; got {n_seeds!r}.")
    if budget not in LIVE_BUDGETS:
        raise ValueError(f"a live comparison trains {', '.join(f'{b:,}' for b in LIVE_BUDGETS)} "
                         f"steps per run; got {budget!r}.")
    names = [label(None), label(detail)]
    variants = [variant_args(None, budget), variant_args(detail, budget)]
    seeds = list(range(int(n_seeds)))
    text = json.dumps([[a.to_dict() for a in variants], seeds], sort_keys=True, default=str)
    return names, variants, seeds, "ppo_continuous:" + hashlib.sha1(text.encode()).hexdigest()[:16]


def live_work(variants: list[Args], seeds: list[int]) -> int:
    """Environment steps over all runs of a request (the admission's unit of work)."""
    return sum(a.total_timesteps for a in variants) * len(seeds)
