"""Shared inputs of the Gumbel unit tests (tests/test_gumbel_*.py): seeded generators and small
distributions."""

from __future__ import annotations

import numpy as np
import torch


def gen(seed: int = 0) -> torch.Generator:
    """A CPU generator seeded with ``seed``: each test draws its own reproducible noise."""
    return torch.Generator().manual_seed(seed)


P4 = torch.tensor([0.5, 0.3, 0.15, 0.05])
P4D = np.array([0.5, 0.3, 0.15, 0.05])  # float64 for scipy's sum check
F3 = torch.tensor([1.0, 0.0, 2.0])
THETA3 = torch.log(torch.tensor([0.5, 0.3, 0.2]))
