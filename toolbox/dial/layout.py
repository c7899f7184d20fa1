"""The compiled DIAL kernel's named arguments (:mod:`toolbox.dial.kernel`).

* :class:`CNetLayout`: where each parameter block of the C-Net sits in one flat float32 vector, its
  fields generated from the network's own parameter names (``"head.0.weight"`` ->
  ``head_0_weight``; the GRU's ``"rnn.weight_ih_l1"`` -> ``rnn_weight_ih[1]``, one offset per
  layer), plus the sizes the kernel needs (``n_agents``, ``rnn_layers``, ``rnn_size``,
  ``n_outputs``);
* :class:`BatchSettings`, :class:`Draws`, :class:`BatchNormStats`: the batch's settings, its
  random numbers and the team's BatchNorm running statistics.

Numba passes named tuples to compiled code field by field, so the kernel reads ``lay.head_0_weight``
where it read ``off[7]``.
"""

from __future__ import annotations

import re
from collections import namedtuple

import numpy as np
import torch

from toolbox.dial.cnet import CNet


def field_name(parameter: str) -> str:
    """The layout's field for one of ``CNet.named_parameters()``'s names: dots become underscores
    and a GRU layer's suffix ``_l<k>`` goes (``"rnn.bias_hh_l0"`` -> ``"rnn_bias_hh"``, an
    array)."""
    if parameter.startswith("rnn."):
        parameter = re.sub(r"_l\d+$", "", parameter)
    return parameter.replace(".", "_")


# a C-Net with every optional part (message MLP, RIAL's message embedding): the names of all blocks
_EVERY_BLOCK = CNet(n_agents=1, rnn_size=1, comm_bits=1, message_actions=2, rnn_layers=1)
BLOCKS = tuple(dict.fromkeys(field_name(k) for k, _ in _EVERY_BLOCK.named_parameters()))
"""The parameter blocks, in ``named_parameters()`` order (the flat vector's order)."""
GRU_BLOCKS = tuple(b for b in BLOCKS if b.startswith("rnn_"))
"""Blocks with one offset per GRU layer (an int64 array of ``rnn_layers`` offsets)."""
SIZES = ("n_agents", "rnn_layers", "rnn_size", "n_outputs")

CNetLayout = namedtuple("CNetLayout", SIZES + BLOCKS)
CNetLayout.__doc__ = """Sizes of the C-Net and each parameter block's offset in the flat vector
(-1 for a block this network does not have: no message MLP without a channel, no message
embedding but for RIAL). Weights are stored as in torch, ``(out, in)``."""

BatchSettings = namedtuple("BatchSettings", "comm rial gamma eps sigma")
BatchSettings.__doc__ = """``comm``: a channel (DIAL or RIAL); ``rial``: the bit is a Q-learned
action; ``gamma``, ``eps`` (exploration), ``sigma`` (DRU noise) as in ``DialConfig``."""

Draws = namedtuple("Draws", "active explore noise")
Draws.__doc__ = """The batch's random numbers, in the readable rollout's order: the visitors
``active (B, T)`` int64, exploration uniforms ``explore (B, T, 4)`` and DRU noise
``noise (B, T, 2)`` (team, target), float32."""

BatchNormStats = namedtuple("BatchNormStats", "msg_mean msg_var head_mean head_var")
BatchNormStats.__doc__ = """Running averages of the message BatchNorm ``(1,)`` and the head's
``(H,)``, moved in place as torch does (unused placeholders without a channel)."""


def flatten(net: CNet) -> tuple[torch.Tensor, CNetLayout]:
    """Copy ``net``'s parameters into one flat float32 vector and make each parameter a view of it
    (so the module always sees the current weights); returns the vector and its layout."""
    params = list(net.named_parameters())
    flat = torch.zeros(sum(p.numel() for _, p in params))
    offsets: dict[str, list[int]] = {b: [] for b in BLOCKS}
    o = 0
    for name, p in params:
        k = p.numel()
        flat[o:o + k] = p.detach().reshape(-1)
        p.data = flat[o:o + k].view(p.shape)
        offsets[field_name(name)].append(o)
        o += k
    L = net.rnn.num_layers
    fields = {b: np.asarray(offsets[b], dtype=np.int64) for b in GRU_BLOCKS}
    for b in BLOCKS:
        if b not in GRU_BLOCKS:
            fields[b] = offsets[b][0] if offsets[b] else -1
    return flat, CNetLayout(n_agents=net.n_agents, rnn_layers=L, rnn_size=net.rnn_size,
                            n_outputs=net.n_outputs, **fields)
