"""The agents' team of C-Nets: one shared network (agent index embedded) or one network per
agent."""

from __future__ import annotations

import torch
from torch import nn

from toolbox import nn_init
from toolbox.dial.cnet import CNet
from toolbox.dial.config import DialConfig


class Team(nn.Module):
    """The agents' C-Nets: one shared network (rows = episodes x agents) or one per agent.

    ``forward(obs (B, n), prev_action (B, n), message (B, n), hidden (L, B*n, H), prev_message)``
    returns ``out (B, n, n_outputs)`` and the new hidden state.
    """

    def __init__(self, config: DialConfig):
        super().__init__()
        c = config
        self.n, self.shared = c.n_agents, c.param_sharing
        n_out = {"dial": 3, "rial": 4, "nocomm": 2}[c.method]
        kwargs = dict(n_agents=c.n_agents, rnn_size=c.rnn_size, n_actions=2,
                      comm_bits=1 if c.comm else 0, n_outputs=n_out, rnn_layers=c.rnn_layers,
                      input_mode=c.input_mode, message_actions=2 if c.method == "rial" else 0,
                      init_range=c.init_range)
        self.nets = nn.ModuleList([CNet(**kwargs) for _ in range(1 if self.shared else c.n_agents)])
        self._ids: dict = {}

    def agent_ids(self, B: int, device) -> torch.Tensor:
        key = (B, str(device))
        if key not in self._ids:
            self._ids[key] = torch.arange(self.n, device=device).repeat(B)
        return self._ids[key]

    def initial_hidden(self, B: int, device) -> torch.Tensor:
        net = self.nets[0]
        return torch.zeros(net.rnn.num_layers, B * self.n, net.rnn_size, device=device)

    def forward(self, obs, prev_action, message, hidden, prev_message=None):
        B, n = obs.shape
        if self.shared:
            pm = prev_message.reshape(-1) if prev_message is not None else None
            out, hidden = self.nets[0](self.agent_ids(B, obs.device), obs.reshape(-1),
                                       prev_action.reshape(-1), message.reshape(-1, 1), hidden, pm)
            return out.view(B, n, -1), hidden
        # One network per agent: each sees only its own rows (B of them).
        L, _, H = hidden.shape
        h = hidden.view(L, B, n, H)
        outs, hs = [], []
        for i, net in enumerate(self.nets):
            ids = torch.full((B,), i, dtype=torch.long, device=obs.device)
            pm = prev_message[:, i] if prev_message is not None else None
            o, hi = net(ids, obs[:, i], prev_action[:, i], message[:, i, None],
                        h[:, :, i].contiguous(), pm)
            outs.append(o)
            hs.append(hi)
        return torch.stack(outs, 1), torch.stack(hs, 2).reshape(L, B * n, H)


def make_team(config: DialConfig, seed: int, device) -> Team:
    """A freshly initialised team; the initialisation depends only on ``seed``: the numbers of
    ``torch.manual_seed(seed); Team(config)``, drawn from a generator of its own
    (:func:`toolbox.nn_init.build`), so a network built at the same time in another thread cannot
    change them."""
    team = nn_init.build(lambda: Team(config), torch.Generator().manual_seed(int(seed)))
    return team.to(device)
