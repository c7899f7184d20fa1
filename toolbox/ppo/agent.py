"""Stacked actor-critic MLPs for many PPO runs at once (the batched tensor path; gradients by
autograd).

CleanRL's CartPole agent is two tanh MLPs, ``4 → 64 → 64 → 2`` (policy logits) and
``4 → 64 → 64 → 1`` (value). Here R runs are one computation:

* every (tower, run) pair owns one contiguous row of a flat parameter matrix ``theta (K·R, P)``,
  tower-major (rows ``0..R-1`` tower 0, ``R..2R-1`` tower 1). ``K = 2`` towers for separate
  actor and critic networks, ``K = 1`` for a shared trunk. Per-run scalars (learning rate, Adam
  state, clip coefficient) broadcast as ``(K·R, 1)`` columns, so Adam is a handful of whole-matrix
  ops;
* each layer's weights are strided views of ``theta`` fed straight to ``torch.baddbmm``;
* a tower ends in a 3-column head ``[logit_0, logit_1, value]``; with two towers the output takes
  the actor tower's logit columns and the critic tower's value column, so the other two columns get
  no gradient and stay at their initial zeros. For ``K = 1`` all three columns belong to the one
  trunk (CleanRL's shared-network layout).

The gradient is autograd's (:mod:`toolbox.ppo.update`); the compiled path's hand-written one is
checked against it block by block (``tests/test_ppo_kernels.py``).
"""

from __future__ import annotations

import math

import torch

HIDDEN = 64
OBS_DIM = 4
NUM_ACTIONS = 2
OUT = NUM_ACTIONS + 1  # [logits..., value]

# (name, rows, cols) of each block inside one tower's parameter row; weights stored (in, out)
LAYOUT = (
    ("W1", OBS_DIM, HIDDEN),
    ("b1", 1, HIDDEN),
    ("W2", HIDDEN, HIDDEN),
    ("b2", 1, HIDDEN),
    ("W3", HIDDEN, OUT),
    ("b3", 1, OUT),
)
OFFSETS: dict[str, tuple[int, int, int]] = {}
_o = 0
for _name, _r, _c in LAYOUT:
    OFFSETS[_name] = (_o, _r, _c)
    _o += _r * _c
PARAMS_PER_TOWER = _o


def views(theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """Block views ``(K·R, rows, cols)`` of a flat ``(K·R, P)`` parameter (or gradient) matrix."""
    kr = theta.shape[0]
    return {n: theta[:, o : o + r * c].view(kr, r, c) for n, (o, r, c) in OFFSETS.items()}


def init_params(seeds, shared_network: bool, orthogonal_init: bool, device=None) -> torch.Tensor:
    """Initial ``theta (K·R, P)`` for runs with integer ``seeds`` (length R).

    Orthogonal init (CleanRL's ``layer_init``): hidden layers gain √2, policy head gain 0.01,
    value head gain 1, biases 0. Otherwise PyTorch's ``nn.Linear`` default: weights and biases
    uniform in ±1/√fan_in. Each run draws from its own ``torch.Generator`` seeded with its seed, so
    its initial parameters do not depend on the other runs (this loop runs once, at set-up).
    """
    K = 1 if shared_network else 2
    R = len(seeds)
    theta = torch.zeros(K, R, PARAMS_PER_TOWER, dtype=torch.float32)

    def linear(gen, fan_in, fan_out, gain):
        w = torch.empty(fan_out, fan_in)  # torch's (out, in) layout, so draws match nn.Linear's
        if orthogonal_init:
            torch.nn.init.orthogonal_(w, gain, generator=gen)
            b = torch.zeros(fan_out)
        else:
            bound = 1.0 / math.sqrt(fan_in)
            torch.nn.init.uniform_(w, -bound, bound, generator=gen)
            b = torch.empty(fan_out).uniform_(-bound, bound, generator=gen)
        return w.T, b

    for r, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(int(seed))
        for k in range(K):
            v = views(theta[k])
            w, b = linear(gen, OBS_DIM, HIDDEN, math.sqrt(2))
            v["W1"][r], v["b1"][r, 0] = w, b
            w, b = linear(gen, HIDDEN, HIDDEN, math.sqrt(2))
            v["W2"][r], v["b2"][r, 0] = w, b
            if K == 1 or k == 0:
                w, b = linear(gen, HIDDEN, NUM_ACTIONS, 0.01)
                v["W3"][r, :, :NUM_ACTIONS], v["b3"][r, 0, :NUM_ACTIONS] = w, b
            if K == 1 or k == 1:
                w, b = linear(gen, HIDDEN, 1, 1.0)
                v["W3"][r, :, NUM_ACTIONS:], v["b3"][r, 0, NUM_ACTIONS:] = w, b
    return theta.reshape(K * R, PARAMS_PER_TOWER).to(device)


def forward(theta: torch.Tensor, obs: torch.Tensor, num_towers: int,
            v: dict | None = None) -> torch.Tensor:
    """``obs (R, B, 4)`` -> ``out (R, B, 3)`` = ``[logit_0, logit_1, value]``, differentiable in
    ``theta``.

    Per tower: ``h1 = tanh(x W1 + b1)``, ``h2 = tanh(h1 W2 + b2)``, ``y = h2 W3 + b3``; two towers
    give ``[y_actor[..., :2], y_critic[..., 2:]]``. ``v``: ``views(theta)`` made once by a caller
    that keeps ``theta`` in place (twelve tensor ops saved per call in the hot loops).
    """
    K = num_towers
    R, B, _ = obs.shape
    v = views(theta) if v is None else v
    x = obs if K == 1 else obs.unsqueeze(0).expand(K, R, B, OBS_DIM).reshape(K * R, B, OBS_DIM)
    h1 = torch.baddbmm(v["b1"], x, v["W1"]).tanh_()
    h2 = torch.baddbmm(v["b2"], h1, v["W2"]).tanh_()
    y = torch.baddbmm(v["b3"], h2, v["W3"])
    return y if K == 1 else torch.cat((y[:R, :, :NUM_ACTIONS], y[R:, :, NUM_ACTIONS:]), dim=-1)


def module_parameters(theta: torch.Tensor, num_runs: int, row: int) -> dict[str, torch.Tensor]:
    """Run ``row``'s parameters (copies) from ``theta (K·R, P)``, named and shaped as the
    ``nn.Linear`` layers of :class:`toolbox.ppo.reference.Agent` (weights ``(out, in)``).

    Separate networks (K = 2): ``actor.{0,2,4}`` from tower 0 (its head: the logit columns),
    ``critic.{0,2,4}`` from tower 1 (its head: the value column). Shared trunk (K = 1):
    ``network.{0,2}``, ``actor`` and ``critic`` heads.
    """
    K = theta.shape[0] // num_runs
    towers = [{n: t[row + k * num_runs] for n, t in views(theta).items()} for k in range(K)]
    logit_head = (towers[0]["W3"][:, :NUM_ACTIONS].T, towers[0]["b3"][0, :NUM_ACTIONS])
    value_head = (towers[-1]["W3"][:, NUM_ACTIONS:].T, towers[-1]["b3"][0, NUM_ACTIONS:])
    if K == 1:
        pairs = {"network.0": ("W1", "b1"), "network.2": ("W2", "b2")}
        named = {name: (towers[0][w].T, towers[0][b][0]) for name, (w, b) in pairs.items()}
        named.update({"actor": logit_head, "critic": value_head})
    else:
        named = {}
        for net, tower, head in (("actor", towers[0], logit_head),
                                 ("critic", towers[1], value_head)):
            named[f"{net}.0"] = (tower["W1"].T, tower["b1"][0])
            named[f"{net}.2"] = (tower["W2"].T, tower["b2"][0])
            named[f"{net}.4"] = head
    out = {}
    for name, (w, b) in named.items():
        out[f"{name}.weight"], out[f"{name}.bias"] = w.clone(), b.clone()
    return out
