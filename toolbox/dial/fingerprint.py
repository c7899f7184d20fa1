"""A portable fingerprint of the DIAL training mathematics: the first training batch of a fresh
team.

Why not pin a whole run: a training run is chaotic. Two CPUs (or two kernels of one CPU: AVX-512
vs AVX2 vs the scalar code) round float32 sums in different orders, a greedy decision flips where
two Q-values tie to within that rounding, and from then on the runs differ completely (after 10
batches one test reward read 0.2585 on an Intel Xeon against 0.2789 here). The first batch of a
fresh team has no such history: the initial weights come from torch's CPU generator, identical on
every machine, and the batch's loss and gradient differ between machines by float32 rounding only.
Any change to the mathematics (the loss, the DRU, a layer, gamma, the target) moves them by far
more.
"""

from __future__ import annotations

import copy

import torch

from toolbox.device import resolve_device
from toolbox.dial.config import DialConfig
from toolbox.dial.rollout import rollout_loss
from toolbox.dial.team import make_team

FINGERPRINT_RTOL = 1e-3
"""Relative tolerance on the loss and on each block's gradient norm between two machines.

The argument: float32's unit roundoff is u = 6e-8; a dot product of length k (k <= 128 here) is
exact to k*u = 8e-6 relative (no cancellation); the loss passes through at most T = 4n - 6 days
times (L + 3) layers, about 30 such products for n = 3, L = 2: at most 2.4e-4 relative if every
error added up in one direction. Measured here between torch's AVX-512, AVX2 and scalar kernels
(``ATEN_CPU_CAPABILITY``) and MKL's conditional-reproducibility mode (``MKL_CBWR=COMPATIBLE``), on
six configurations: the loss moved by <= 4.2e-7, a block's gradient norm by <= 4.2e-5. 1e-3 leaves a
factor 4 over the worst case and 24 over the largest measured difference. A real change of the
mathematics moves the loss or a block's gradient by 1 % or more (the mutations listed in
``tests/test_dial_golden.py``)."""

FINGERPRINT_ATOL = 1e-5
"""Absolute tolerance on a block's gradient norm, as a fraction of the whole gradient's norm. A
block whose exact gradient is 0 (the bias of the Linear before a BatchNorm: the normalisation
removes any shift) holds only rounding noise, up to 1.0e-6 of the total in the measurements below;
1e-5 leaves a factor 10 and is still far below any real block (the smallest real one is ~1e-3 of the
total)."""


def first_batch_fingerprint(config: DialConfig, seed: int, device=None) -> dict:
    """The loss and gradient of the first training batch of ``make_team(config, seed)`` on the
    readable path (``rollout_loss`` + autograd), its target network a copy of the team, the batch's
    random numbers from ``torch.Generator().manual_seed(seed)`` as in ``train``.

    Returns ``{"loss": float, "train_reward": float, "grad_norm": float,
    "block_grad_norms": {parameter name: float}}`` (norms in float64 of the float32 gradients).
    """
    config.validate()
    dev = resolve_device(device)
    team = make_team(config, seed, dev)
    target = copy.deepcopy(team)
    for p in target.parameters():
        p.requires_grad_(False)
    gen = torch.Generator(device=dev).manual_seed(seed)
    loss, reward = rollout_loss(team, target, config, gen, dev)
    loss.backward()
    blocks = {name: float(p.grad.double().norm()) if p.grad is not None else 0.0
              for name, p in team.named_parameters()}
    total = sum(v * v for v in blocks.values()) ** 0.5
    return {"loss": loss.item(), "train_reward": float(reward), "grad_norm": total,
            "block_grad_norms": blocks}


def fingerprint_mismatches(fresh: dict, stored: dict, rtol: float = FINGERPRINT_RTOL,
                           atol: float = FINGERPRINT_ATOL) -> list[str]:
    """Sentences naming each number of ``fresh`` that differs from ``stored`` by more than
    ``rtol`` relative (plus ``atol`` times the stored total gradient norm for a block); [] when
    equal to the tolerance. The block names must match exactly."""
    out = []
    if set(fresh["block_grad_norms"]) != set(stored["block_grad_norms"]):
        return [f"parameter blocks differ: {sorted(fresh['block_grad_norms'])} vs "
                f"{sorted(stored['block_grad_norms'])}"]

    def close(a: float, b: float, floor: float = 0.0) -> bool:
        return abs(a - b) <= rtol * abs(b) + floor

    for key in ("loss", "grad_norm"):
        if not close(fresh[key], stored[key]):
            out.append(f"{key}: {fresh[key]!r} vs stored {stored[key]!r}")
    floor = atol * stored["grad_norm"]
    for name, b in stored["block_grad_norms"].items():
        a = fresh["block_grad_norms"][name]
        if not close(a, b, floor):
            out.append(f"gradient of {name}: {a!r} vs stored {b!r}")
    return out
