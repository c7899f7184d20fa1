"""Seeded network initialization that never touches torch's process-wide random generator.

``torch.manual_seed(seed)`` before building a network seeds the one generator every thread of the
process draws from: a network built at the same time in another thread (a second training on the
server, a warm-up) takes numbers out of that stream, and the seeded network comes out different
from what its seed says. :func:`build` constructs the network on the ``meta`` device (no numbers
drawn, no memory) and then draws every parameter from the caller's own ``torch.Generator``,
replaying PyTorch's default initializations in the order the constructor would have drawn them. A
network built by ``build(factory, torch.Generator().manual_seed(s))`` therefore equals one built by
``torch.manual_seed(s); factory()`` in a quiet process, number for number
(``tests/test_nn_init.py``), without depending on what other threads do.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

import torch
from torch import nn

M = TypeVar("M", bound=nn.Module)


def default_init_(module: nn.Module, generator: torch.Generator | None) -> None:
    """Draw every parameter of ``module`` and its sub-modules from ``generator`` as their
    constructors do, in the order they do it: a module's own parameters, then each child's
    (recursively, in registration order), then the module's ``init_from(generator)`` when it has
    one (draws its constructor makes after building its children, e.g. the C-Net's GRU range).

    PyTorch's defaults: ``Linear``'s Kaiming-uniform weight (a = √5) and U(±1/√fan_in) bias,
    ``Embedding``'s N(0, 1) (padding row zeroed), a recurrent layer's U(±1/√hidden) for each
    weight in turn; normalization layers reset to ones, zeros and fresh running statistics. A
    module of another kind that holds parameters of its own raises ``TypeError``: its default
    initialization is not known here."""
    m = module
    if isinstance(m, nn.Linear):
        nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
        if m.bias is not None:
            bound = 1 / math.sqrt(m.in_features) if m.in_features > 0 else 0
            nn.init.uniform_(m.bias, -bound, bound, generator=generator)
    elif isinstance(m, nn.Embedding):
        nn.init.normal_(m.weight, generator=generator)
        if m.padding_idx is not None:
            with torch.no_grad():
                m.weight[m.padding_idx].fill_(0)
    elif isinstance(m, nn.RNNBase):
        stdv = 1.0 / math.sqrt(m.hidden_size) if m.hidden_size > 0 else 0
        for w in m.parameters():
            nn.init.uniform_(w, -stdv, stdv, generator=generator)
    elif isinstance(m, nn.modules.batchnorm._NormBase):
        m.reset_parameters()  # deterministic: ones, zeros, fresh running statistics
    elif next(m.parameters(recurse=False), None) is not None:
        raise TypeError(f"no seeded default initialization for {type(m).__name__}; "
                        "add its PyTorch default to toolbox.nn_init.default_init_.")
    for child in m.children():
        default_init_(child, generator)
    extra = getattr(m, "init_from", None)
    if callable(extra):
        extra(generator)


def build(factory: Callable[[], M], generator: torch.Generator, device="cpu") -> M:
    """``factory()`` built on the ``meta`` device, then materialized on ``device`` with every
    parameter drawn from ``generator`` by :func:`default_init_`."""
    with torch.device("meta"):
        module = factory()
    module = module.to_empty(device=device)
    default_init_(module, generator)
    return module
