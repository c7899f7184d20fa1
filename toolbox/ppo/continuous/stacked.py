r"""The reference's agent for R runs at once: one flat parameter matrix, layers fed to ``baddbmm``.

Layout (as CartPole's :mod:`toolbox.ppo.agent`): every (tower, run) pair owns one contiguous row of
``theta (K·R, P)``, tower-major (rows ``0..R-1`` tower 0, ``R..2R-1`` tower 1); ``K = 2`` towers
for separate policy and value networks, ``K = 1`` for a shared trunk. A tower is
``3 → 64 → 64 → 3`` (tanh) ending in the columns ``[μ, log σ(s), V]``:

.. math::
    h_1 = \tanh(x W_1 + b_1),\quad h_2 = \tanh(h_1 W_2 + b_2),\quad y = h_2 W_3 + b_3

With two towers μ and the state-dependent log σ come from the policy tower and V from the value
tower; the columns a tower does not serve get no gradient and stay zero. A shared-trunk run among
separate-network runs uses tower 0 for all three columns and leaves its tower 1 at zero. Each
row also carries the state-independent ``log σ`` and the (inert, one action component)
correlation ``W`` of the policy. Weights are stored ``(in, out)``, so ``x @ W`` is
``nn.Linear``'s ``x Wᵀ`` with its weight transposed.

Variants differ in per-run boolean columns: the policy's
log σ is :math:`\log\sigma = [\text{gaussian}]\,([\text{state-indep.}]\,\log\sigma_\theta +
[\text{state-dep.}]\,y_{\log\sigma})`, chosen with ``torch.where`` so the unchosen parameters get
a zero gradient (and Adam, seeing zero gradients, leaves them at their initial values).
"""

from __future__ import annotations

import torch

from toolbox.ppo.continuous.args import Args
from toolbox.ppo.continuous.reference import ACT_DIM, HIDDEN, OBS_DIM, Agent

OUT = 3  # [μ, log σ(s), V]
COL_MEAN, COL_LOGSTD, COL_VALUE = 0, 1, 2
LAYOUT = (
    ("W1", OBS_DIM, HIDDEN), ("b1", 1, HIDDEN), ("W2", HIDDEN, HIDDEN), ("b2", 1, HIDDEN),
    ("W3", HIDDEN, OUT), ("b3", 1, OUT), ("log_std", 1, ACT_DIM), ("offdiag", ACT_DIM, ACT_DIM),
)
OFFSETS: dict[str, tuple[int, int, int]] = {}
_o = 0
for _name, _rows, _cols in LAYOUT:
    OFFSETS[_name] = (_o, _rows, _cols)
    _o += _rows * _cols
P = _o
"""Entries in one tower's row of ``theta``."""


def views(theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each block of ``theta (K·R, P)`` as a strided ``(K·R, rows, cols)`` view."""
    return {name: theta[:, o:o + r * c].view(-1, r, c) for name, (o, r, c) in OFFSETS.items()}


def _reference_names(shared: bool) -> dict[str, tuple[int, str, slice | None, bool]]:
    """A run's reference parameter name -> (tower, block, column slice or None, transposed).

    A shared trunk is tower 0 and its value head is tower 0's V column; separate networks are
    the policy tower 0 and the value tower 1 (whose V column is the critic).
    """
    trunks = ("network",) if shared else ("actor_trunk", "critic_trunk")
    out = {}
    for k, trunk in enumerate(trunks):
        out[f"{trunk}.0.weight"] = (k, "W1", None, True)
        out[f"{trunk}.0.bias"] = (k, "b1", None, False)
        out[f"{trunk}.2.weight"] = (k, "W2", None, True)
        out[f"{trunk}.2.bias"] = (k, "b2", None, False)
    value_tower = 0 if shared else 1
    out["actor_mean.weight"] = (0, "W3", slice(COL_MEAN, COL_MEAN + 1), True)
    out["actor_mean.bias"] = (0, "b3", slice(COL_MEAN, COL_MEAN + 1), False)
    out["actor_logstd_head.weight"] = (0, "W3", slice(COL_LOGSTD, COL_LOGSTD + 1), True)
    out["actor_logstd_head.bias"] = (0, "b3", slice(COL_LOGSTD, COL_LOGSTD + 1), False)
    out["critic.weight"] = (value_tower, "W3", slice(COL_VALUE, COL_VALUE + 1), True)
    out["critic.bias"] = (value_tower, "b3", slice(COL_VALUE, COL_VALUE + 1), False)
    out["actor_logstd"] = (0, "log_std", None, False)
    out["actor_offdiag"] = (0, "offdiag", None, False)
    return out


def _rows(v: dict, R: int, k: int, block: str, cols: slice | None) -> torch.Tensor:
    """Tower ``k``'s part of ``block`` for all runs: ``(R, rows, cols)`` (a view)."""
    x = v[block][k * R:(k + 1) * R]
    return x if cols is None else x[..., cols]


def init_theta(run_args: list[Args], seeds: list[int], K: int, dtype, device) -> torch.Tensor:
    """``theta (K·R, P)`` holding, for each run, the reference :class:`Agent` built from its own
    ``Args`` and seed (so every run starts exactly as its reference run); absent blocks are 0."""
    R = len(seeds)
    theta = torch.zeros(K * R, P, dtype=dtype)
    v = views(theta)
    for r, (args, seed) in enumerate(zip(run_args, seeds)):
        names = _reference_names(args.shared_network)
        for name, value in Agent(args, seed, dtype).state_dict().items():
            k, block, cols, transposed = names[name]
            target = _rows(v, R, k, block, cols)[r]
            target.copy_(value.T if transposed else value.reshape(target.shape))
    return theta.to(device)


def reference_params(theta: torch.Tensor, K: int, shared: list[bool]) -> dict[str, torch.Tensor]:
    """Every parameter in the reference's name and shape, with a leading run axis ``(R, ...)``
    (zeros for a run whose structure lacks it)."""
    R = theta.shape[0] // K
    v = views(theta.detach())
    out: dict[str, list] = {}
    for r in range(R):
        for name, (k, block, cols, transposed) in _reference_names(shared[r]).items():
            x = _rows(v, R, k, block, cols)[r]
            if transposed:
                x = x.T  # nn.Linear's weight (out, in)
            elif block not in ("log_std", "offdiag"):
                x = x.reshape(-1)  # a bias (out,)
            out.setdefault(name, [None] * R)[r] = x
    return {name: torch.stack([x if x is not None else torch.zeros_like(next(
        y for y in xs if y is not None)) for x in xs]) for name, xs in out.items()}


def forward(v: dict[str, torch.Tensor], x: torch.Tensor, K: int, cols) -> tuple[torch.Tensor, ...]:
    """Every run's agent on its own data: ``x (R, N, 3)`` -> ``mean, log_std (R, N, 1)``,
    ``value (R, N)``.

    ``v``: the blocks of ``theta`` (:func:`views`); ``cols`` holds the per-run toggle columns
    ``gaussian_policy`` and ``state_independent_std`` as ``(R, 1, 1)`` bool tensors, and
    ``shared_network`` ``(R, 1)`` when shared and separate runs train together (else None).
    """
    R, N = x.shape[0], x.shape[1]
    xs = x if K == 1 else x.unsqueeze(0).expand(K, R, N, OBS_DIM).reshape(K * R, N, OBS_DIM)
    h = torch.baddbmm(v["b1"], xs, v["W1"]).tanh()
    h = torch.baddbmm(v["b2"], h, v["W2"]).tanh()
    y = torch.baddbmm(v["b3"], h, v["W3"])  # (K·R, N, 3)
    mean = y[:R, :, COL_MEAN:COL_MEAN + 1]
    value = y[(K - 1) * R:, :, COL_VALUE]
    if cols.shared_network is not None:  # [detail:shared_network] V from the one trunk
        value = torch.where(cols.shared_network, y[:R, :, COL_VALUE], value)
    # [detail:gaussian_policy] [detail:state_independent_std]
    head = y[:R, :, COL_LOGSTD:COL_LOGSTD + 1]
    log_std = torch.where(cols.state_independent_std, v["log_std"][:R], head)
    log_std = torch.where(cols.gaussian_policy, log_std, torch.zeros((), dtype=x.dtype))
    return mean, log_std.expand_as(mean), value


def grad_norms(grad: torch.Tensor, K: int) -> torch.Tensor:
    r"""Per run, ``clip_grad_norm_``'s norm :math:`\lVert g\rVert` over all its parameters:
    ``grad (K·R, P)`` -> ``(R,)``."""
    return torch.linalg.vector_norm(torch.linalg.vector_norm(grad, dim=1).view(K, -1), dim=0)

