"""The Switch Riddle (Foerster et al. 2016, Section 6.1), batched over episodes on the device.

n prisoners (agents); each day one of them, chosen uniformly at random, is taken to the
interrogation room, where a light bulb (the 1-bit channel) can be read and set. The prisoner in
the room observes *that* he is in the room (obs 1; everyone else obs 0), receives the bit set by
the previous day's visitor, and may do **None** or **Tell** ("every prisoner has been here").

* Episode length ``T = 4n - 6`` days (the paper's choice).
* Tell ends the episode: reward +1 to every agent if all n have visited the room, -1 otherwise.
* If T days pass without a Tell the episode ends with reward 0.
* The oracle (who sees the whole day sequence) Tells on the first day every agent has been in
  the room, so its reward is ``1{all n visited by day T}``.

Because the sequence of visitors does not depend on the agents' actions, an episode batch is
fully described by ``active: (B, T)`` (agent in the room each day). Everything here is batched:
no Python loop over episodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from toolbox.device import resolve_device

NONE, TELL = 0, 1
"""Environment actions of the agent in the room (agents outside can only do None)."""

REWARD_ALL_VISITED = 1.0
REWARD_WRONG_TELL = -1.0


def episode_length(n_agents: int) -> int:
    """``T = 4n - 6`` days, the horizon of the paper's Switch Riddle."""
    if n_agents < 2:
        raise ValueError(
            f"The Switch Riddle needs at least 2 agents (prisoners); got n = {n_agents}.")
    return 4 * n_agents - 6


def sample_active(
    n_agents: int,
    batch_size: int,
    generator: torch.Generator | None = None,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Draw the visitor of every day: ``active: (B, T)`` long in ``[0, n)``, uniform and i.i.d.

    The generator must live on ``device`` (``torch.Generator(device=...)``).
    """
    T = episode_length(n_agents)
    if batch_size < 1:
        raise ValueError(f"Need at least one episode; got batch_size = {batch_size}.")
    dev = resolve_device(device) if generator is None else generator.device
    return torch.randint(0, n_agents, (batch_size, T), generator=generator, device=dev)


def visited(active: torch.Tensor, n_agents: int) -> torch.Tensor:
    """``visited[b, t, i]``: agent i has been in the room on some day ``<= t``. Shape
    ``(B, T, n)``."""
    onehot = torch.nn.functional.one_hot(active, n_agents)
    return onehot.cummax(dim=1).values.bool()


def distinct_visitors(active: torch.Tensor, n_agents: int) -> torch.Tensor:
    """Number of distinct agents that have been in the room up to and including day t:
    ``(B, T)``."""
    return visited(active, n_agents).sum(-1)


def all_visited(active: torch.Tensor, n_agents: int) -> torch.Tensor:
    """``(B, T)`` bool: by the end of day t every agent has been in the room (a Tell would win)."""
    return distinct_visitors(active, n_agents) == n_agents


def oracle_reward(active: torch.Tensor, n_agents: int) -> torch.Tensor:
    """``(B,)`` reward of the all-seeing oracle: +1 iff all n agents visit within T days, else 0."""
    return all_visited(active, n_agents)[:, -1].to(torch.float32)


def step_reward(active_t_all_visited: torch.Tensor, tell: torch.Tensor,
                alive: torch.Tensor) -> torch.Tensor:
    """Reward of one day for a batch: ``r = 1{alive, tell} * (+1 if all visited else -1)``.

    All arguments are ``(B,)`` bool; the result is ``(B,)`` float (shared by every agent).
    """
    win = torch.where(active_t_all_visited, REWARD_ALL_VISITED, REWARD_WRONG_TELL)
    return (tell & alive).to(win.dtype) * win


def play(active: torch.Tensor, n_agents: int, tell: torch.Tensor) -> tuple[torch.Tensor,
                                                                           torch.Tensor]:
    """Score whole episodes given the day sequence and a Tell decision of each day's visitor.

    ``active: (B, T)``, ``tell: (B, T)`` bool (what the agent in the room does on day t if the
    episode is still running). Returns ``reward: (B,)`` and ``length: (B,)`` (days played).
    """
    T = active.shape[1]
    done = all_visited(active, n_agents)
    tell = tell.bool()
    any_tell = tell.any(1)
    first = torch.where(any_tell, tell.float().argmax(1), torch.full_like(any_tell, T - 1,
                                                                          dtype=torch.long))
    win = done.gather(1, first[:, None]).squeeze(1)
    reward = torch.where(any_tell, torch.where(win, REWARD_ALL_VISITED, REWARD_WRONG_TELL), 0.0)
    return reward, first + 1


@dataclass
class SwitchGame:
    """A stateful, batched Switch Riddle: ``reset`` then ``step`` day by day.

    The learner uses the functional helpers above (the visitor sequence is exogenous); this class
    is what the PettingZoo wrapper drives and what the tests compare against a pure-Python rule
    book. Messages: ``step`` takes the bit set by today's visitor; ``light()`` is the bit the
    current visitor receives (the previous day's visitor's bit, 0 on day 0).
    """

    n_agents: int = 3
    batch_size: int = 1
    device: str | torch.device | None = None

    def __post_init__(self) -> None:
        self.T = episode_length(self.n_agents)
        self.device = resolve_device(self.device)
        self.reset()

    def reset(self, generator: torch.Generator | None = None,
              active: torch.Tensor | None = None) -> None:
        if active is None:
            active = sample_active(self.n_agents, self.batch_size, generator, self.device)
        self.active = active.to(self.device)
        self.batch_size = self.active.shape[0]
        self._all = all_visited(self.active, self.n_agents)
        self.day = 0
        self.alive = torch.ones(self.batch_size, dtype=torch.bool, device=self.device)
        self.bit = torch.zeros(self.batch_size, device=self.device)
        self.total_reward = torch.zeros(self.batch_size, device=self.device)

    def in_room(self) -> torch.Tensor:
        """``(B,)`` index of today's visitor."""
        return self.active[:, min(self.day, self.T - 1)]

    def observation(self) -> torch.Tensor:
        """``(B, n)`` long: 1 for the agent in the room today, 0 for everyone else."""
        return torch.nn.functional.one_hot(self.in_room(), self.n_agents)

    def light(self) -> torch.Tensor:
        """``(B,)`` the bit today's visitor receives (set by yesterday's visitor)."""
        return self.bit

    def step(self, tell: torch.Tensor, message: torch.Tensor | None = None) -> tuple[torch.Tensor,
                                                                                     torch.Tensor]:
        """Advance one day. ``tell``/``message``: ``(B,)`` from today's visitor.

        Returns ``(reward (B,), done (B,))``; episodes already over get reward 0.
        """
        if self.day >= self.T:
            raise ValueError("The episode is over (T days have passed); call reset() first.")
        r = step_reward(self._all[:, self.day], tell.bool(), self.alive)
        self.total_reward += r
        self.alive = self.alive & ~tell.bool()
        if message is not None:
            self.bit = message.to(self.bit.dtype)
        self.day += 1
        done = ~self.alive | (self.day >= self.T)
        return r, done
