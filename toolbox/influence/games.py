"""Sequential matrix games and the training settings for learning with an influence bonus."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class MatrixGame:
    """A sequential matrix game: i picks a^i, j sees a^i and picks a^j, both are paid."""

    name: str
    """Short name shown on the page."""
    action_names_i: tuple[str, ...]
    action_names_j: tuple[str, ...]
    r_i: tuple[tuple[float, ...], ...]
    """i's payoff R^i(a^i, a^j), shape (A_i, A_j)."""
    r_j: tuple[tuple[float, ...], ...]
    """j's payoff R^j(a^i, a^j), shape (A_i, A_j)."""
    lesson: str
    """What the game shows about the bonus."""


GAMES: dict[str, MatrixGame] = {
    "stag hunt": MatrixGame(
        "stag hunt", ("stag", "hare"), ("stag", "hare"),
        r_i=((4.0, 0.0), (3.0, 3.0)),
        r_j=((3.25, 3.0), (0.0, 3.0)),
        lesson=(
            "Hunting hare is safe for i (3 whatever j does); stag pays 4 only if j follows. Early "
            "on j is random, so stag looks worse (2 < 3) and i stops playing it before j has "
            "learned to answer stag with stag: without the bonus the pair is stuck at hare (3). "
            "The bonus pays i for an action that changes j's move, so i keeps playing stag, j "
            "learns to follow, and the pair can reach stag (4). The bonus also pays i for keeping "
            "j's move uncertain, which pulls against committing to stag: how the two balance at "
            "each β is read from the runs below."
        ),
    ),
    "pure coordination": MatrixGame(
        "pure coordination", ("A", "B"), ("A", "B"),
        r_i=((2.0, 0.0), (0.0, 1.0)),
        r_j=((2.0, 0.0), (0.0, 1.0)),
        lesson=(
            "Both are paid when j matches i, 2 on A and 1 on B. Without the bonus i settles on A "
            "and j copies: return 2, and no influence is needed to get there. The bonus pays i for "
            "keeping j's move uncertain, so it pulls i towards also playing B, which costs "
            "extrinsic return: here the bonus can only distort."
        ),
    ),
}

MAX_SEEDS = 64
MAX_ITERATIONS = 3000
MAX_EPISODES = 4096
MAX_BETA = 20.0


@dataclass(frozen=True)
class InfluenceTrainConfig:
    """Policy-gradient training of two tabular softmax policies with an influence bonus."""

    game: str = "stag hunt"
    """Key of ``GAMES``."""
    beta: float = 0.5
    """Weight β of the influence bonus in i's reward r = R^i + β · KL[π^j(·|a^i) ‖ p(a^j)]."""
    n_seeds: int = 8
    """Independent runs trained together as one batched computation."""
    iterations: int = 600
    """Policy-gradient updates."""
    episodes: int = 128
    """Episodes sampled per seed per update."""
    lr: float = 0.5
    """Step size of plain gradient ascent on the logits."""
    init_scale: float = 0.1
    """Standard deviation of the initial logits (symmetry breaking between seeds)."""
    seed: int = 0
    """Seed of the torch.Generator (initial logits and sampling)."""
    record_every: int = 20
    """Record the curves every this many updates."""

    def validate(self) -> None:
        """Raise ValueError for settings outside the server's budget or meaningless ones."""
        if self.game not in GAMES:
            raise ValueError(f"Unknown game {self.game!r}; choose one of {', '.join(GAMES)}.")
        if not (math.isfinite(self.beta) and 0.0 <= self.beta <= MAX_BETA):
            raise ValueError(f"β must be a number between 0 and {MAX_BETA:g}, not {self.beta}.")
        for value, lo, hi, label in (
            (self.n_seeds, 1, MAX_SEEDS, "The number of seeds"),
            (self.iterations, 1, MAX_ITERATIONS, "The number of updates"),
            (self.episodes, 1, MAX_EPISODES, "The number of episodes per update"),
            (self.record_every, 1, MAX_ITERATIONS, "The recording interval"),
        ):
            if not (isinstance(value, (int, np.integer)) and lo <= value <= hi):
                raise ValueError(
                    f"{label} must be a whole number between "
                    f"{lo} and {hi} (server limit), not {value}.")
        if not (math.isfinite(self.lr) and 0.0 < self.lr <= 10.0):
            raise ValueError(f"The step size must be between 0 and 10, not {self.lr}.")
        if not (math.isfinite(self.init_scale) and 0.0 <= self.init_scale <= 5.0):
            raise ValueError(
                f"The initial logit scale must be between 0 and 5, not {self.init_scale}.")

    def key(self) -> str:
        """A string that identifies the run (for the shared job runner and caches)."""
        return "influence-train:" + ",".join(f"{k}={v}" for k, v in asdict(self).items())
