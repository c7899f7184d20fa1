"""Precomputed PPO ablations (results/ppo_*.json): what one stored run holds, and which request it
answers.

A stored run is :func:`toolbox.lessons.ppo.analysis.run_summary` (the live page's own summary, so
stored and live numbers are the same statistic) plus ``start``: every episode that ended in the
first ``PREFIX_STEPS`` environment steps, exactly, so a retrain of that start can be compared number
for number (:func:`train_start`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from toolbox.lessons.ppo import analysis
from toolbox.lessons.ppo.variants import VARIANT_IDS, variant_config
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.result import TrainResult
from toolbox.ppo.train import make_groups
from toolbox.provenance import provenance_sentence

DEFAULT_FILE = Path(__file__).resolve().parents[3] / "results" / "ppo_grid500k.json"
"""The page's default view: 12 variants × seeds 0–9 × 500k steps (benchmarks/ppo_precompute.py)."""
PREFIX_STEPS = 5_120
"""Steps of each run's start stored exactly (10 iterations of CleanRL's 512-transition batch)."""


def run_record(result: TrainResult, grid, prefix_steps: int = PREFIX_STEPS) -> dict:
    """JSON-ready record of one finished ``TrainResult``: its :func:`analysis.run_summary` and
    ``start = {"steps": [...], "returns": [...]}``, the episodes that ended by step
    ``prefix_steps``."""
    rec = analysis.run_summary(result, grid)
    steps = np.asarray(result.episode_steps)
    keep = steps <= prefix_steps
    rec["start"] = {
        "steps": [int(s) for s in steps[keep]],
        "returns": [float(r) for r in np.asarray(result.episode_returns)[keep]],
    }
    return rec


def load(path: str | Path = DEFAULT_FILE) -> dict:
    """The stored payload: ``budget``, ``seeds``, ``variants`` (ids), ``grid``, ``runs`` {name:
    [records]}, ``meta``."""
    return json.loads(Path(path).read_text())


def stored_configs(payload: dict) -> dict[PPOConfig, str]:
    """``{config: stored variant name}`` for every variant in ``payload`` at its budget."""
    return {variant_config(v, payload["budget"]): VARIANT_IDS[v] for v in payload["variants"]}


def lookup(payload: dict | None, configs, names, seeds) -> dict | None:
    """The stored runs answering a request, or None if any (config, seed) pair of it is not stored.

    ``configs[i]`` (a ``PPOConfig``, budget included) is shown under ``names[i]``; ``seeds`` are the
    requested seeds. Returns
    ``{"grid", "budget", "runs": {names[i]: [records of those seeds, in order]}}``.
    """
    if payload is None:
        return None
    stored = stored_configs(payload)
    if any(c not in stored for c in configs) or not set(seeds) <= set(payload["seeds"]):
        return None
    runs = {}
    for c, name in zip(configs, names):
        by_seed = {rec["seed"]: rec for rec in payload["runs"][stored[c]]}
        runs[name] = [by_seed[s] for s in seeds]
    return {"grid": payload["grid"], "budget": payload["budget"], "runs": runs}


def train_start(config: PPOConfig, seed: int, iterations: int, device="cpu") -> TrainResult:
    """Train the first ``iterations`` PPO iterations of ``(config, seed)`` as the full run would
    (the learning-rate schedule still spans the whole budget), alone; returns the partial result."""
    if (
        isinstance(iterations, bool)
        or not isinstance(iterations, int)
        or not 1 <= iterations <= config.num_iterations
    ):
        raise ValueError(
            "iterations must be a whole number from 1 to "
            f"{config.num_iterations}; got {iterations!r}.")
    (group,), _ = make_groups([config], [seed], device)
    for _ in range(iterations):
        group.run_iteration()
    return group.results()[0]


def stored_start(record: dict, up_to_step: int) -> tuple[np.ndarray, np.ndarray]:
    """``(episode_steps, episode_returns)`` of a stored run's episodes that ended by
    ``up_to_step``."""
    steps = np.asarray(record["start"]["steps"], dtype=np.int64)
    keep = steps <= up_to_step
    return steps[keep], np.asarray(record["start"]["returns"], dtype=np.float64)[keep]


def describe(payload: dict, shown_runs: int) -> str:
    """One sentence saying where the shown runs come from and how they were made (from ``meta``)."""
    meta = payload.get("meta", {})
    stored = sum(len(v) for v in payload["runs"].values())
    mins = meta.get("wall_seconds", payload.get("seconds", float("nan"))) / 60
    return (
        f"Precomputed: {shown_runs} of the {stored} stored runs ({len(payload['variants'])} "
        f"variants × {len(payload['seeds'])} seeds × {payload['budget']:,} steps), trained in "
        f"{mins:.1f} min on {meta.get('threads', '?')} CPU thread(s) with torch "
        f"{meta.get('torch', '?')} at code version {str(meta.get('commit', '?'))[:7]}. These "
        "settings are shown without retraining; a test retrains the start of stored runs and gets "
        f"the same episodes. {provenance_sentence(meta)}"
    )
