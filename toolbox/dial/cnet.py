"""The C-Net of DIAL/RIAL for the Switch Riddle (Foerster et al. 2016, Section 6.1 and appendix).

Inputs of different kinds and ranges are mapped into one R^H space and **added**:

    z_t^a = TaskEmbed(a) + ObsEmbed(o_t^a) + ActionEmbed(u_{t-1}^a) + MLP(m_{t-1})

* ``agent_embed``: lookup table over agent indices (parameter sharing: one network, the index
  tells the agents apart);
* ``obs_embed``: lookup table over the observation (0 outside, 1 in the room);
* ``action_embed``: lookup table over the previous environment action (0 = no action yet,
  1 = None, 2 = Tell);
* ``message_mlp``: ``BatchNorm1d(c) -> Linear(c, H) -> ReLU`` on the received message
  (a continuous value, so it needs a normaliser and a layer instead of a table).

A 2-layer GRU carries the action-observation history, ``h_t = GRU(z_t, h_{t-1})``, and the
``head`` ``Linear(H, H) -> BatchNorm1d(H) -> ReLU -> Linear(H, |U| + |M|)`` outputs Q-values of the
environment actions and, for DIAL, the real-valued message ``m_t`` (for RIAL, Q-values of the two
message actions).

Where the head comes from: ``Linear -> BatchNorm -> ReLU -> Linear`` is the head of the Colab
notebook this project started from (its seed code). The paper's output MLP and the authors' code
(iassael/learning-to-communicate, Lua Torch) are ``Linear -> ReLU -> Linear``, without BatchNorm;
minqi/learning-to-communicate-pytorch is an unofficial PyTorch port. The BatchNorm in the head is
why the test needs batch statistics (see ``toolbox.dial.evaluate``).

``input_mode="concat"`` is the comparison variant: the raw inputs (agent index, observation,
previous action, message — numbers of different ranges) concatenated into one vector and
mapped by a single ``Linear``. (Concatenating *one-hot* codes and applying a Linear layer is
exactly a sum of lookup-table rows — a table is a Linear layer on one-hot input.)
"""

from __future__ import annotations

import torch
from torch import nn

INPUT_MODES = ("sum", "concat")


class CNet(nn.Module):
    """Recurrent Q-network with message output. Shapes: ``N`` rows (episodes x agents),
    ``H`` = rnn_size.

    ``forward(agent (N,), obs (N,), prev_action (N,), message (N, c), hidden (L, N, H),
    prev_message (N,) or None) -> (out (N, n_outputs), hidden (L, N, H))``.
    """

    def __init__(
        self,
        n_agents: int = 3,
        rnn_size: int = 128,
        n_actions: int = 2,
        comm_bits: int = 1,
        n_outputs: int | None = None,
        rnn_layers: int = 2,
        input_mode: str = "sum",
        message_actions: int = 0,
        init_range: float = 0.08,
    ):
        super().__init__()
        if input_mode not in INPUT_MODES:
            raise ValueError(f"input_mode must be one of {INPUT_MODES}; got {input_mode!r}.")
        if n_agents < 1 or rnn_size < 1:
            raise ValueError("CNet needs at least one agent and a positive rnn_size.")
        self.n_agents, self.rnn_size, self.comm_bits = n_agents, rnn_size, comm_bits
        self.input_mode = input_mode
        self.n_outputs = n_outputs if n_outputs is not None else n_actions + comm_bits
        if input_mode == "sum":
            self.agent_embed = nn.Embedding(n_agents, rnn_size)
            self.obs_embed = nn.Embedding(2, rnn_size)
            self.action_embed = nn.Embedding(n_actions + 1, rnn_size)
            # RIAL's previous message action (0 = none yet, 1/2 = bit 0/1), as in the reference.
            self.message_action_embed = nn.Embedding(message_actions + 1,
                                                     rnn_size) if message_actions else None
            self.message_mlp = (
                nn.Sequential(nn.BatchNorm1d(comm_bits), nn.Linear(comm_bits, rnn_size), nn.ReLU())
                if comm_bits > 0 else None
            )
        else:
            n_raw = 3 + comm_bits + (1 if message_actions else 0)
            self.input_layer = nn.Linear(n_raw, rnn_size)
        self.rnn = nn.GRU(rnn_size, rnn_size, num_layers=rnn_layers)
        self.head = nn.Sequential(
            nn.Linear(rnn_size, rnn_size), nn.BatchNorm1d(rnn_size), nn.ReLU(),
            nn.Linear(rnn_size, self.n_outputs)
        )
        self.init_range = init_range
        self.init_from(None)

    def init_from(self, generator: torch.Generator | None) -> None:
        """The constructor's last draws, after PyTorch's defaults: the reference draws the GRU's
        weights from uniform(±init_range); other layers keep the defaults (so embeddings start
        N(0, 1)). ``generator`` None: torch's global one (see :mod:`toolbox.nn_init`)."""
        for p in self.rnn.parameters():
            nn.init.uniform_(p, -self.init_range, self.init_range, generator=generator)

    def embed(self, agent, obs, prev_action, message, prev_message=None) -> torch.Tensor:
        """The GRU input ``z: (N, H)``: sum of embeddings, or Linear of the concatenated raw
        inputs."""
        if self.input_mode == "concat":
            cols = [agent.float()[:, None], obs.float()[:, None], prev_action.float()[:, None]]
            if self.comm_bits:
                cols.append(message.reshape(-1, self.comm_bits))
            if prev_message is not None:
                cols.append(prev_message.float()[:, None])
            return self.input_layer(torch.cat(cols, 1))
        z = self.agent_embed(agent) + self.obs_embed(obs) + self.action_embed(prev_action)
        if self.message_mlp is not None:
            z = z + self.message_mlp(message.reshape(-1, self.comm_bits))
        if self.message_action_embed is not None and prev_message is not None:
            z = z + self.message_action_embed(prev_message)
        return z

    def forward(self, agent, obs, prev_action, message, hidden, prev_message=None):
        z = self.embed(agent, obs, prev_action, message, prev_message)
        out, hidden = self.rnn(z.unsqueeze(0), hidden)
        return self.head(out.squeeze(0)), hidden

    def initial_hidden(self, n_rows: int, device=None) -> torch.Tensor:
        return torch.zeros(self.rnn.num_layers, n_rows, self.rnn_size, device=device)

    def stage_shapes(self, n_rows: int = 96) -> list[tuple[str, tuple[int, ...]]]:
        """Tensor shape after each stage for a batch of ``n_rows`` (episodes x agents), for
        teaching.

        Returns ``[(stage, shape)]``; maths in a stage name is written as inline TeX between ``$``
        (rendered by the page's Markdown).
        """
        H, L = self.rnn_size, self.rnn.num_layers
        if self.input_mode == "concat":
            n_raw = self.input_layer.in_features
            return [("raw inputs concatenated", (n_rows, n_raw)),
                    ("input_layer: Linear", (n_rows, H)), ("rnn: GRU (L layers)", (L, n_rows, H)),
                    ("head", (n_rows, self.n_outputs))]
        rows = [("agent index $a$", (n_rows,)), ("agent_embed($a$)", (n_rows, H)),
                ("observation $o_t$", (n_rows,)), ("obs_embed($o_t$)", (n_rows, H)),
                ("previous action $u_{t-1}$", (n_rows,)), ("action_embed($u_{t-1}$)", (n_rows, H))]
        if self.message_mlp is not None:
            rows += [("message $m_{t-1}$", (n_rows, self.comm_bits)),
                     ("message_mlp($m_{t-1}$)", (n_rows, H))]
        rows += [("$z_t$ = sum", (n_rows, H)), ("rnn hidden $h_t$", (L, n_rows, H)),
                 ("head: $Q(u)$ [+ $m_t$]", (n_rows, self.n_outputs))]
        return rows


def graph_source(input_mode: str = "sum", n_agents: int = 3, rnn_size: int = 128,
                 n_rows: int = 6) -> str:
    """Graphviz DOT source of one C-Net step's autograd graph (torchviz), parameters named."""
    from torchviz import make_dot

    net = CNet(n_agents=n_agents, rnn_size=rnn_size, input_mode=input_mode)
    idx = torch.arange(n_rows) % 2
    out, _ = net(idx % n_agents, idx, idx, torch.rand(n_rows, 1), net.initial_hidden(n_rows))
    return make_dot(out, params=dict(net.named_parameters())).source


_PASS_THROUGH = {"reshape", "unsqueeze", "squeeze", "float", "getitem", "_assert_is_none", "view"}
"""Shape-only operations the condensed graph steps over (they move no information between
stages)."""


def _module_label(name: str, module: nn.Module) -> str:
    kind = type(module).__name__
    if isinstance(module, nn.Embedding):
        detail = f"{module.num_embeddings}×{module.embedding_dim}"  # short: the graph fits a column
    elif isinstance(module, nn.Linear):
        detail = f"{module.in_features} → {module.out_features}"
    elif isinstance(module, nn.GRU):
        detail = f"{module.num_layers} layers, {module.hidden_size}"
    elif isinstance(module, nn.BatchNorm1d):
        detail = f"{module.num_features}"
    else:
        detail = ""
    return f"{name}\\n{kind}" + (f"({detail})" if detail else "")


def condensed_graph_source(input_mode: str = "sum", n_agents: int = 3, rnn_size: int = 128) -> str:
    """Graphviz DOT of one C-Net step at the level of its layers (about 15 nodes instead of ~120).

    Traced from the code with ``torch.fx`` (so it follows the module as written, never a drawing
    made by hand): inputs, every layer (``name`` as in the code, its type and size) and the
    operations that combine streams (``+`` of the embeddings, ``concat``); shape-only steps
    (reshape, unsqueeze, indexing) are stepped over.
    """
    import torch.fx as fx

    net = CNet(n_agents=n_agents, rnn_size=rnn_size, input_mode=input_mode)
    gm = fx.symbolic_trace(net, concrete_args={"prev_message": None})
    shown: dict[str, list[str]] = {}  # fx node name -> the drawn nodes it stands for
    # tight spacing: the graph is scaled to its column, so space between boxes shrinks the text
    lines = ["digraph cnet {", "  rankdir=TB; nodesep=0.12; ranksep=0.22;",
             '  node [shape=box, style="rounded,filled", '
             'fontname="Helvetica", fontsize=16, margin="0.06,0.03"];']
    for node in gm.graph.nodes:
        sources = []
        for arg in _flatten_nodes(node):
            sources += shown.get(arg.name, [])
        name = node.name
        if node.op == "placeholder":
            if name.startswith("prev_message"):
                continue
            lines.append(f'  {name} [label="{name}", fillcolor="#e8f0fe"];')
            shown[name] = [name]
        elif node.op == "call_module":
            label = _module_label(str(node.target), gm.get_submodule(node.target))
            lines.append(f'  {name} [label="{label}", fillcolor="#dbeafe"];')
            shown[name] = [name]
        elif node.op == "call_function" and getattr(node.target, "__name__", "") in ("add", "cat"):
            symbol = "+" if node.target.__name__ == "add" else "concat"
            lines.append(f'  {name} [label="{symbol}", shape=circle, fillcolor="#fef3c7"];')
            shown[name] = [name]
        elif node.op == "output":
            q, h = node.args[0]
            lines.append('  out_q [label="Q(u), m_t", fillcolor="#dcfce7"];')
            lines.append('  out_h [label="h_t (next hidden)", fillcolor="#dcfce7"];')
            lines += [f"  {s} -> out_q;" for s in shown.get(q.name, [])]
            lines += [f"  {s} -> out_h;" for s in shown.get(h.name, [])]
            continue
        else:  # a shape-only step: stands for whatever feeds it
            shown[name] = sources
            continue
        lines += [f"  {s} -> {name};" for s in dict.fromkeys(sources)]
    lines.append("}")
    return "\n".join(lines)


def _flatten_nodes(node) -> list:
    """The fx nodes among ``node``'s arguments (nested lists and tuples included), in order."""
    found: list = []

    def visit(a):
        if hasattr(a, "op") and hasattr(a, "name"):
            found.append(a)
        elif isinstance(a, (list, tuple)):
            for b in a:
                visit(b)
        elif isinstance(a, dict):
            for b in a.values():
                visit(b)

    visit(node.args)
    visit(node.kwargs)
    return found
