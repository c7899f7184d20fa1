"""B Switch-Riddle episodes played day by day by a team: the set-up and the day step that training
and evaluation share.

Both the training rollout (``toolbox.dial.rollout``) and the greedy test (``toolbox.dial.evaluate``)
play the episodes ``active: (B, T)`` with one ``Episodes`` object; they differ only in the
arguments of ``Episodes.day``:

* training passes ``explore`` (eps-greedy uniforms) and ``noise`` (the DRU's Gaussian noise): the
  Tell and RIAL's bit are eps-greedy, DIAL's message is ``logistic(m + sigma * noise)`` and stays
  differentiable (its gradient reaches the sender through the receiver's next forward pass);
* evaluation passes neither: greedy decisions, and DIAL's message discretised, ``1{m > 0}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from toolbox.dial.config import DialConfig
from toolbox.dial.dru import dru
from toolbox.dial.switch import all_visited, step_reward
from toolbox.dial.team import Team


@dataclass
class Day:
    """What happened on one day, for every episode of the batch (``B`` episodes, ``n`` agents)."""

    out: torch.Tensor
    """``(B, n, n_outputs)`` the C-Net outputs of every agent: Q(None), Q(Tell) [, m or Q(bit 0),
    Q(bit 1)]."""
    in_room: torch.Tensor
    """``(B, n)`` bool: the agent is today's visitor."""
    who: torch.Tensor
    """``(B,)`` index of today's visitor."""
    tell: torch.Tensor
    """``(B,)`` bool: the visitor's Tell (eps-greedy in training, greedy at test)."""
    m: torch.Tensor
    """``(B,)`` the visitor's pre-DRU message (DIAL), its RIAL bit as -1/+1, or zeros (no
    channel)."""
    bit: torch.Tensor | None
    """``(B,)`` bool: RIAL's message action (None for the other methods)."""
    reward: torch.Tensor
    """``(B,)`` the day's reward (shared by every agent; 0 once an episode is over)."""
    alive: torch.Tensor
    """``(B,)`` bool: the episode was still running at the start of the day."""


class Episodes:
    """The state of ``active: (B, T)`` episodes between days: hidden states, last actions, the
    light.

    Attributes: ``h (L, B*n, H)``, ``prev_a (B, n)`` long (0 = no action yet, 1 = None, 2 = Tell),
    ``prev_m (B, n)`` long (RIAL's previous message action, else None), ``msg (B, n)`` (the bit
    each agent receives today: non-zero only for the visitor), ``alive (B,)`` bool and
    ``reward (B,)`` (summed so far).
    """

    def __init__(self, team: Team, config: DialConfig, active: torch.Tensor):
        c = config
        device = active.device
        B, T = active.shape
        n = c.n_agents
        self.team, self.config, self.active, self.T = team, c, active, T
        self.room = nn.functional.one_hot(active, n)                     # (B, T, n) long
        self.win = all_visited(active, n)                                 # (B, T)
        self.rows = torch.arange(B, device=device)
        self.h = team.initial_hidden(B, device)
        self.prev_a = torch.zeros(B, n, dtype=torch.long, device=device)
        self.prev_m = torch.zeros(B, n, dtype=torch.long,
                                  device=device) if c.method == "rial" else None
        self.msg = torch.zeros(B, n, device=device)
        self.alive = torch.ones(B, dtype=torch.bool, device=device)
        self.reward = torch.zeros(B, device=device)

    def select(self, index: torch.Tensor, t: int) -> None:
        """Keep the episodes ``index: (G,)`` (repeats allowed), in that order, and re-read day
        ``t``'s light.

        Used by ``toolbox.dial.evaluate.evaluate_distinct`` between days ``t - 1`` and ``t``: the
        state after day ``t - 1`` is taken from the listed episodes, and the bit left by yesterday's
        visitor is handed to *today's* visitor of each kept row (``active[:, t]`` may differ from
        the representative's). ``self.active`` must already hold the new rows' day sequences.
        """
        L, _, H = self.h.shape
        n = self.config.n_agents
        # only yesterday's visitor-to-be holds it
        light = self.msg.sum(1)[index]
        self.h = self.h.view(L, -1, n, H)[:, index].reshape(L, -1, H)
        self.prev_a = self.prev_a[index]
        self.prev_m = self.prev_m[index] if self.prev_m is not None else None
        self.alive, self.reward = self.alive[index], self.reward[index]
        self.room = nn.functional.one_hot(self.active, n)
        self.win = all_visited(self.active, n)
        self.rows = torch.arange(self.active.shape[0], device=self.active.device)
        self.msg = self.room[:, t].float() * light[:, None]

    def day(self, t: int, explore: torch.Tensor | None = None,
            noise: torch.Tensor | None = None) -> Day:
        """Play day ``t``: every agent's C-Net step, the visitor's decisions, the reward, tomorrow's
        inputs.

        ``explore: (B, 4)`` uniforms in [0, 1) (columns: explore the Tell?, random Tell, explore the
        bit?, random bit) makes the decisions eps-greedy; None: greedy. ``noise: (B,)`` standard
        normal makes DIAL's DRU the training one, ``logistic(m + sigma * noise)``; None: execution,
        ``1{m > 0}``.
        """
        c = self.config
        rows = self.rows
        obs = self.room[:, t]                                             # (B, n)
        in_room = obs.bool()
        who = self.active[:, t]
        out, self.h = self.team(obs, self.prev_a, self.msg, self.h, self.prev_m)
        q = out[rows, who, :2]                                            # (B, 2) the visitor's Q
        tell = q[:, 1] > q[:, 0]
        if explore is not None:
            tell = torch.where(explore[:, 0] < c.eps, explore[:, 1] < 0.5, tell)
        alive = self.alive
        r = step_reward(self.win[:, t], tell, alive)
        self.reward += r
        self.alive = alive & ~tell
        # only the visitor can Tell
        self.prev_a = obs * tell[:, None].long() + 1
        last = t == self.T - 1
        bit, sent = None, None
        if c.method == "dial":
            # (B,) differentiable in training
            m = out[rows, who, 2]
            if noise is None:
                sent = dru(m, c.sigma, False)
            # nobody receives the last day's message
            elif not last:
                sent = dru(m, c.sigma, True, noise=noise)
        elif c.method == "rial":
            # (B, 2) Q of the two message actions
            qm = out[rows, who, 2:]
            bit = qm[:, 1] > qm[:, 0]
            if explore is not None:
                bit = torch.where(explore[:, 2] < c.eps, explore[:, 3] < 0.5, bit)
            m = bit.float() * 2 - 1
            sent = bit.float()
            self.prev_m = obs * (1 + bit.long())[:, None]
        else:
            m = torch.zeros_like(r)
        if sent is not None and not last:
            # tomorrow's visitor finds the light as today's visitor left it
            self.msg = self.room[:, t + 1].float() * sent[:, None]
        return Day(out=out, in_room=in_room, who=who, tell=tell, m=m, bit=bit, reward=r,
                   alive=alive)
