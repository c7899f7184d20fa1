"""The Switch Riddle as a PettingZoo ``ParallelEnv`` (one episode; the batched game underneath).

Agents ``prisoner_0 .. prisoner_{n-1}``. Each day every agent acts at once with
``MultiDiscrete([2, 2])`` = (environment action: 0 None / 1 Tell, bit to leave on the light);
only the agent in the room's action has an effect. Observation ``MultiDiscrete([2, 2])`` =
(in the room today, light bit left by the previous visitor — seen only by the agent in the room).
Tell ends the episode (``terminations``) with +1 for all if everyone has visited, else -1; after
T = 4n - 6 days without a Tell the episode ends with 0 (``truncations``).
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv

from toolbox.dial.switch import SwitchGame, episode_length


class SwitchRiddleParallelEnv(ParallelEnv):
    metadata = {"name": "switch_riddle_v0", "render_modes": ["ansi"], "is_parallelizable": True}

    def __init__(self, n_agents: int = 3, render_mode: str | None = None):
        self.T = episode_length(n_agents)
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi'; got {render_mode!r}.")
        self.n = n_agents
        self.render_mode = render_mode
        self.possible_agents = [f"prisoner_{i}" for i in range(n_agents)]
        self.agents: list[str] = []
        self._obs_space = spaces.MultiDiscrete([2, 2])
        self._act_space = spaces.MultiDiscrete([2, 2])
        self._gen = None
        self.game = SwitchGame(n_agents, 1, device="cpu")

    def observation_space(self, agent):
        return self._obs_space

    def action_space(self, agent):
        return self._act_space

    def _observe(self) -> dict:
        who = int(self.game.in_room()[0])
        light = int(self.game.light()[0])
        return {a: np.array([int(i == who), light if i == who else 0], dtype=np.int64)
                for i, a in enumerate(self.possible_agents) if a in self.agents}

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None or self._gen is None:
            self._gen = torch.Generator().manual_seed(
                int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (2**63)))
        self.game.reset(self._gen)
        self.agents = self.possible_agents[:]
        who = int(self.game.in_room()[0])
        return self._observe(), {a: {"day": 0, "in_room": who} for a in self.agents}

    def step(self, actions: dict):
        if not self.agents:
            raise ValueError("The episode is over; call reset() first.")
        who = int(self.game.in_room()[0])
        act = np.asarray(actions.get(self.possible_agents[who], (0, 0)))
        tell = torch.tensor([bool(act[0] == 1)])
        r, done = self.game.step(tell, torch.tensor([float(act[1])]))
        reward = float(r[0])
        over = bool(done[0])
        term = bool(tell[0])
        rewards = {a: reward for a in self.agents}
        terminations = {a: term for a in self.agents}
        truncations = {a: over and not term for a in self.agents}
        day = self.game.day
        infos = {a: {"day": day, "in_room": int(self.game.in_room()[0])} for a in self.agents}
        obs = self._observe()
        if over:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def render(self):
        if self.render_mode == "ansi":
            return (f"day {self.game.day}/{self.T}, in room: "
                    f"prisoner_{int(self.game.in_room()[0])}, light {int(self.game.light()[0])}")
        return None

    def close(self):
        pass
