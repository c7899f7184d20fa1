"""The precomputed β grid (results/influence_learning.json) and what the page concludes from it.

The page never starts a training by itself: it shows these stored runs, and trains only when the
student presses the button. Every sentence the page says about "helps" or "distorts" is derived
here from the runs (``bonus_effect``, ``beta_sweep``), never written by hand.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch

from toolbox.influence.games import GAMES, InfluenceTrainConfig
from toolbox.influence.learning import InfluenceTrainResult
from toolbox.provenance import machine_provenance

BETA_GRID = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
"""The β values the page's slider offers; precomputed for the default budget (results/)."""

EFFECT_TOLERANCE = 0.05
"""A change of i's final extrinsic return smaller than this counts as "neutral"."""


def precomputed_configs() -> list[InfluenceTrainConfig]:
    """Every (game, β) on the grid with the default budget: what ``results/influence_learning.json``
    holds."""
    return [InfluenceTrainConfig(game=g, beta=b) for g in GAMES for b in BETA_GRID]


def save_precomputed(path: str, results: dict[str, InfluenceTrainResult],
                     decimals: int = 4) -> None:
    """Write results keyed by ``config.key()`` as compact JSON (rounded to ``decimals``)."""
    payload = {"torch": torch.__version__, "meta": machine_provenance(), "runs": {
        key: {k: np.round(np.asarray(v), decimals).tolist() for k, v in asdict(res).items()}
        for key, res in results.items()
    }}
    with open(path, "w") as fh:
        json.dump(payload, fh, separators=(",", ":"))


def load_meta(path: str) -> dict:
    """The ``meta`` of ``save_precomputed``'s file (machine and versions, ``toolbox.provenance``);
    {} if absent."""
    try:
        with open(path) as fh:
            return dict(json.load(fh).get("meta", {}))
    except (OSError, ValueError, AttributeError):
        return {}


def load_precomputed(path: str) -> dict[str, InfluenceTrainResult]:
    """Read ``save_precomputed``'s file; a missing or unreadable file gives an empty dict."""
    try:
        with open(path) as fh:
            runs = json.load(fh)["runs"]
        return {key: InfluenceTrainResult.from_json(data) for key, data in runs.items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def learning_job_key(config: InfluenceTrainConfig) -> str:
    """The shared job runner's key for training ``config`` together with its β = 0 baseline."""
    return config.key() + "|with-baseline"


def precomputed_runs(
    store: dict[str, InfluenceTrainResult], config: InfluenceTrainConfig,
) -> tuple[InfluenceTrainResult, InfluenceTrainResult, InfluenceTrainConfig] | None:
    """The stored (with bonus, β = 0) pair closest to ``config``, and the config it was run with.

    The exact settings when they are stored; otherwise the same game and β at the default budget
    (seeds, updates, …), so the page always has curves to show without training. ``None`` when
    neither is stored (a β off the grid, or a missing file).
    """
    defaults = InfluenceTrainConfig()
    for cfg in (config, replace(defaults, game=config.game, beta=config.beta)):
        on, off = store.get(cfg.key()), store.get(replace(cfg, beta=0.0).key())
        if on is not None and off is not None:
            return on, off, cfg
    return None


def final_summary(with_bonus: InfluenceTrainResult,
                  without_bonus: InfluenceTrainResult) -> dict[str, float]:
    """Means over seeds at the end of training: what the page's metrics show.

    Keys: ``extrinsic_with``, ``extrinsic_without``, ``extrinsic_gain`` (with − without),
    ``mi_with``, ``mi_without`` (nats), ``p_first_action_with`` (π^i of i's first action).
    """
    ext_on = float(with_bonus.extrinsic_i[:, -1].mean())
    ext_off = float(without_bonus.extrinsic_i[:, -1].mean())
    return dict(
        extrinsic_with=ext_on, extrinsic_without=ext_off, extrinsic_gain=ext_on - ext_off,
        mi_with=float(with_bonus.mutual_information[:, -1].mean()),
        mi_without=float(without_bonus.mutual_information[:, -1].mean()),
        p_first_action_with=float(with_bonus.pi_i[:, 0].mean()),
    )


def _effect(gain: float, tol: float) -> str:
    return "helps" if gain > tol else "distorts" if gain < -tol else "neutral"


def bonus_effect(with_bonus: InfluenceTrainResult, without_bonus: InfluenceTrainResult,
                 tol: float = EFFECT_TOLERANCE) -> str:
    """"helps", "distorts" or "neutral": i's final extrinsic return (mean over seeds) with vs
    without the bonus."""
    return _effect(final_summary(with_bonus, without_bonus)["extrinsic_gain"], tol)


@dataclass(frozen=True)
class BetaSweep:
    """i's final extrinsic return (mean over seeds) at every stored β of one game."""

    game: str
    betas: tuple[float, ...]
    """The β values found, ascending; the first is 0."""
    returns: tuple[float, ...]
    """Final extrinsic return of i at each β."""
    effects: tuple[str, ...]
    """``bonus_effect`` against β = 0 at each β ("neutral" at β = 0 itself)."""
    sentence: str
    """What the sweep shows, in one or two sentences with its numbers."""


def beta_sweep(store: dict[str, InfluenceTrainResult], game: str,
               tol: float = EFFECT_TOLERANCE) -> BetaSweep:
    """Read the stored β grid of ``game`` (default budget) and say what the bonus does along it.

    Raises ``ValueError`` when the game is unknown or its β = 0 run is not stored.
    """
    if game not in GAMES:
        raise ValueError(f"Unknown game {game!r}; choose one of {', '.join(GAMES)}.")
    base = InfluenceTrainConfig(game=game)
    found = [(b, store[replace(base, beta=b).key()]) for b in BETA_GRID if replace(base,
                                                                                   beta=b).key()
             in store]
    if not found or found[0][0] != 0.0:
        raise ValueError(
            f"No precomputed β = 0 run for {game!r}: regenerate results/influence_learning.json.")
    off = found[0][1]
    betas = tuple(b for b, _ in found)
    returns = tuple(float(r.extrinsic_i[:, -1].mean()) for _, r in found)
    effects = ("neutral",) + tuple(_effect(r - returns[0], tol) for r in returns[1:])
    sentence = _sweep_sentence(betas, returns, effects, tol, n_seeds=off.extrinsic_i.shape[0],
                               updates=int(off.steps[-1]))
    return BetaSweep(game, betas, returns, effects, sentence)


def _sweep_sentence(betas, returns, effects, tol, n_seeds: int, updates: int) -> str:
    r0 = returns[0]
    budget = (f"On the precomputed runs ({n_seeds} seeds × {updates} "
              f"updates), i's final extrinsic return is {r0:.3f} at β = 0")
    bonus = list(zip(betas[1:], returns[1:], effects[1:]))
    helps = [b for b, _, e in bonus if e == "helps"]
    distorts = [b for b, _, e in bonus if e == "distorts"]
    k_best = int(np.argmax(returns))
    top, last = (betas[k_best], returns[k_best]), (betas[-1], returns[-1])
    if len(helps) == len(bonus):
        text = (
            f"{budget}, and every β on the grid helps: it peaks at {top[1]:.3f} (β = {top[0]:g}) "
            f"and is {last[1]:.3f} at β = {last[0]:g}.")
        if last[1] < top[1] - tol:
            text += " A larger β gives back part of the gain but never falls to the β = 0 return."
        return text
    if len(distorts) == len(bonus):
        return f"{budget}, and every β on the grid distorts: {last[1]:.3f} at β = {last[0]:g}."
    parts = []
    if helps:
        parts.append(f"{_span(helps)} helps")
    if distorts:
        parts.append(f"{_span(distorts)} distorts (down to {min(returns):.3f})")
    neutral = [b for b, _, e in bonus if e == "neutral"]
    if neutral:
        parts.append(f"{_span(neutral)} changes it by less than {tol:g}")
    return f"{budget}; " + ", ".join(parts) + "."


def _span(values: list[float]) -> str:
    # "from a to b" only for a run of neighbouring grid values; otherwise every value is named
    if len(values) == 1:
        return f"β = {values[0]:g}"
    idx = [BETA_GRID.index(v) for v in values]
    if idx == list(range(idx[0], idx[0] + len(idx))):
        return f"β from {values[0]:g} to {values[-1]:g}"
    return "β = " + ", ".join(f"{v:g}" for v in values)
