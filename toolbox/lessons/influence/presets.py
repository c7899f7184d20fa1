"""Preset policy tables for the influence reward: what the page's first section starts from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolbox.influence.tables import MAX_INFLUENCEES, check_index

INFLUENCE_PRESETS = ("j ignores i", "j copies i", "partial influence",
                     "i's move as a signal (illustrative)")


@dataclass(frozen=True)
class InfluencePreset:
    """Tables for the influence section of the page."""

    name: str
    """Preset name (one of ``INFLUENCE_PRESETS``)."""
    pi_i: np.ndarray
    """π^i, shape (A_i,)."""
    pi_j_given_ai: np.ndarray
    """π^j(·|a^i) per influencee, shape (n_j, A_i, A_j)."""
    action_names_i: tuple[str, ...]
    action_names_j: tuple[str, ...]
    explanation: str
    """What to look at, one or two sentences (Markdown; mathematics between $ signs)."""


def influence_preset(name: str, n_influencees: int = 1) -> InfluencePreset:
    """Return a preset by name, with ``n_influencees`` (1..3) influencee tables."""
    if name not in INFLUENCE_PRESETS:
        raise ValueError(f"Unknown preset {name!r}; choose one of {', '.join(INFLUENCE_PRESETS)}.")
    n = check_index(n_influencees - 1, MAX_INFLUENCEES, "The number of influencees minus one") + 1
    if name == "j ignores i":
        pi_i = np.array([0.5, 0.3, 0.2])
        row = np.array([0.2, 0.5, 0.3])
        tables = np.broadcast_to(row, (n, 3, 3)).copy()
        names_i = names_j = tuple(f"a{k}" for k in range(3))
        text = (
            r"Every row of $\pi^j$ is the same: j's behaviour does not depend on $a^i$, so the "
            r"reward is 0 for "
            "every action.")
    elif name == "j copies i":
        pi_i = np.array([0.5, 0.3, 0.2])
        tables = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
        names_i = names_j = tuple(f"a{k}" for k in range(3))
        text = (
            r"j repeats i's action, so the marginal is $\pi^i$ itself and $r^i = -\log \pi^i(a^i)$ "
            r"per influencee: rare actions are more influential; "
            r"the expectation is the entropy $H(\pi^i)$.")
    elif name == "partial influence":
        pi_i = np.array([0.5, 0.3, 0.2])
        alpha = 0.5
        tables = np.broadcast_to((1 - alpha) / 3 + alpha * np.eye(3), (n, 3, 3)).copy()
        names_i = names_j = tuple(f"a{k}" for k in range(3))
        text = ("j copies i half of the time and otherwise acts uniformly at random: the reward "
                "lies between 'ignores' and 'copies'.")
    else:
        # Made-up numbers (not from the paper) after a story Jaques et al. tell: an agent's movement
        # can carry information (it turns towards apples it sees), and another agent that sees it
        # turn changes its own move.
        pi_i = np.array([0.6, 0.2, 0.2])
        base = np.array([[0.6, 0.2, 0.2], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
        tables = np.broadcast_to(base, (n, 3, 3)).copy()
        names_i = ("stay", "turn left", "turn right")
        names_j = ("stay", "go left", "go right")
        text = (
            "Illustrative numbers, not taken from the paper, after a story Jaques et al. tell: i "
            "turns towards apples it sees, and j, seeing i turn, follows. Turning is rewarded (it "
            "changes j's move); staying is barely rewarded.")
    return InfluencePreset(name, pi_i, tables, names_i, names_j, text)

