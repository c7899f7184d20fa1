"""The compiled DIAL step (toolbox.dial.kernel / compiled) against the readable rollout, autograd
and the torch optimizer."""

from __future__ import annotations

import copy
import functools
import math

import numpy as np
import pytest
import torch

from toolbox.dial import kernel
from toolbox.dial.compiled import CompiledBatches, choose_backend, unsupported_reason
from toolbox.dial.config import DialConfig
from toolbox.dial.layout import BLOCKS, field_name
from toolbox.dial.rollout import rollout_loss
from toolbox.dial.team import make_team
from toolbox.dial.train import train


def _flat(params) -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in params]).numpy()


VARIANTS = {
    "dial": {},
    "nocomm": {"method": "nocomm"},
    "rial": {"method": "rial"},
    "rial, gamma 0.9, all explore": {"method": "rial", "gamma": 0.9, "eps": 1.0, "batch_size": 8},
    "n4": {"n_agents": 4, "batch_size": 8},
    "small, one layer, sigma 0, gamma 0.9":
        {"rnn_layers": 1, "rnn_size": 16, "batch_size": 5, "sigma": 0.0, "gamma": 0.9},
    "three layers, all explore": {"rnn_layers": 3, "rnn_size": 24, "batch_size": 6, "eps": 1.0},
}


# Per-block comparison of the compiled gradient with autograd of the readable rollout, both float32.
# They sum in different orders, so a block's difference is rounding: a sum of m terms of total size
# S = sum |term| is off by about sqrt(m) u S (u = 6e-8), and relative to the block's norm that grows
# where the terms cancel. Measured over these variants and team seeds 3, 5, 6 (AMD EPYC, Numba
# 0.68, torch 2.13; BatchNorm affine parameters moved as below): weights, embeddings and BatchNorm
# blocks within 1.1e-4 (the message BatchNorm's shift; median 5e-6), the GRU biases within 3.8e-4
# (three layers; 4e-5 with two). Torch's own float32 gradient is that far from a float64 run on
# the same blocks (1.2e-4, 3.8e-4), the compiled one 3x closer: the difference is torch's rounding
# where terms cancel. A GRU bias's gradient is a row sum of gate gradients that come back through
# the head's BatchNorm, whose backward sums to zero over the rows, so they cancel to about 1/100
# of their terms. Tolerances: about 3x and 5x the worst measured.
RTOL = 3e-4
RTOL_GRU_BIAS = 2e-3
EXACTLY_ZERO = ("head.0.bias",)
"""Blocks whose exact gradient is 0: a bias before BatchNorm (the normalisation removes it)."""
ATOL_ZERO = 1e-4
"""Their rounding residue relative to the whole gradient's norm (measured 1.7e-5 at most, both
ways); a formula that missed BatchNorm's mean removal would leave about 1e-2 (the size of the head
BatchNorm bias's gradient)."""


def _tolerance(name: str) -> float:
    return RTOL_GRU_BIAS if name.startswith("rnn.bias_") else RTOL


@functools.cache
def _gradients(name: str) -> dict:
    """The variant's batch gradient per named parameter block, ``{name: (compiled, autograd)}``,
    its loss both ways, and the team's BatchNorm running averages both ways."""
    c = DialConfig(**VARIANTS[name])
    ref = make_team(c, 3, "cpu")
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():  # BatchNorm scales and shifts away from 1 and 0, as after training
        for key, p in ref.named_parameters():
            if "message_mlp.0." in key or "head.1." in key:
                p.add_(0.2 * torch.randn(p.shape, generator=g))
    target = copy.deepcopy(ref)
    with torch.no_grad():  # a target network that differs from the team, as after training
        for p in target.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    team = copy.deepcopy(ref)
    loss, _ = rollout_loss(ref, target, c, torch.Generator().manual_seed(5), "cpu")
    loss.backward()

    fast = CompiledBatches(team, c)
    fast.target[:] = _flat(target.parameters())  # the layout's order: named_parameters()
    got = fast.gradient(fast.draw(torch.Generator().manual_seed(5)))
    # the team's parameters are views of the flat vector: where a view starts is its block's offset
    start = fast.flat.data_ptr()
    blocks = {}
    for (key, p), (_, q) in zip(ref.nets[0].named_parameters(), team.nets[0].named_parameters()):
        o = (q.data_ptr() - start) // q.element_size()
        want = p.grad.reshape(-1).double().numpy()
        blocks[key] = (fast.grad[o:o + q.numel()].astype(np.float64), want)
    buffers = [(key, a, b) for (key, a), b in zip(ref.named_buffers(), team.buffers())]
    return {"loss": (got, loss.item()), "blocks": blocks, "buffers": buffers}


def block_errors(blocks: dict) -> dict:
    """``{name: (error, bound)}`` per parameter block: ``||g_compiled - g_autograd||`` and what
    rounding allows, ``tol ||g_autograd||`` (for an exact zero ``ATOL_ZERO ||g||``, all blocks)."""
    total = math.sqrt(sum(float(want @ want) for _, want in blocks.values()))
    out = {}
    for name, (got, want) in blocks.items():
        scale = total if name in EXACTLY_ZERO else np.linalg.norm(want)
        bound = (ATOL_ZERO if name in EXACTLY_ZERO else _tolerance(name)) * scale
        out[name] = (float(np.linalg.norm(got - want)), float(bound))
    return out


def assert_blocks_close(blocks: dict) -> None:
    bad = {k: f"{e:.2e} > {b:.2e}" for k, (e, b) in block_errors(blocks).items() if not e <= b}
    assert not bad, bad


@pytest.mark.parametrize("name", list(VARIANTS))
def test_batch_gradient_equals_autograd_of_the_reference_rollout_per_block(name):
    r = _gradients(name)
    got, want = r["loss"]
    assert got == pytest.approx(want, rel=1e-5)
    assert_blocks_close(r["blocks"])
    for key in EXACTLY_ZERO:  # the exact zero is what autograd finds too, up to rounding
        total = math.sqrt(sum(float(w @ w) for _, w in r["blocks"].values()))
        assert np.linalg.norm(r["blocks"][key][1]) <= ATOL_ZERO * total
    # the team's BatchNorm running averages moved as in torch (one update per day)
    for key, a, b in r["buffers"]:
        if "running" in key:  # (num_batches_tracked: counted by CompiledBatches.step, not run here)
            assert torch.allclose(a, b, atol=1e-6), key


def _whole_vector_check(blocks: dict) -> bool:
    """The comparison this file made before: errors over the largest gradient, 3 outliers."""
    got = np.concatenate([g for g, _ in blocks.values()])
    want = np.concatenate([w for _, w in blocks.values()])
    err = np.abs(got - want) / np.abs(want).max()
    return err.max() < 1e-4 and (err > 2e-5).sum() <= 3


@pytest.mark.parametrize("block", ["message_mlp.0.weight", "message_mlp.0.bias",
                                   "message_mlp.1.weight", "message_action_embed.weight",
                                   "head.1.weight", "rnn.bias_hh_l1"])
def test_the_per_block_check_fails_on_a_wrong_block(block):
    """A gradient 0.1 % wrong on one small block (the message BatchNorm, RIAL's message embedding)
    fails the check; a GRU bias, whose tolerance is wider (cancellation, above), 1 % wrong. The
    whole-vector comparison this file made before passed the message BatchNorm 0.1 % wrong."""
    blocks = dict(_gradients("rial")["blocks"])
    got, want = blocks[block]
    factor = 1 + (1e-2 if block.startswith("rnn.bias_") else 1e-3)
    blocks[block] = (got * factor, want)
    with pytest.raises(AssertionError, match=block.replace(".", r"\.")):
        assert_blocks_close(blocks)
    if block.startswith("message_mlp.0."):
        assert _whole_vector_check(blocks)


def test_clip_and_rmsprop_equal_torch():
    g = torch.Generator().manual_seed(0)
    theta = torch.randn(300, generator=g)
    p = torch.nn.Parameter(theta.clone())
    opt = torch.optim.RMSprop([p], lr=5e-3, momentum=0.05)
    th, sq, buf = theta.numpy().copy(), np.zeros(300, np.float32), np.zeros(300, np.float32)
    for scale in (0.1, 50.0, 3.0):  # below, above and below the clipping norm
        grad = torch.randn(300, generator=g) * scale
        p.grad = grad.clone()
        norm = torch.nn.utils.clip_grad_norm_([p], 10.0)
        opt.step()
        got = kernel.clip_and_rmsprop(th, grad.numpy().copy(), sq, buf, 5e-3, 0.99, 1e-8, 0.05,
                                      10.0)
        assert got == pytest.approx(float(norm), rel=1e-5)
        np.testing.assert_allclose(th, p.detach().numpy(), atol=1e-6)


def test_a_step_draws_the_reference_random_numbers():
    c = DialConfig(batch_size=4)
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    team = make_team(c, 0, "cpu")
    rollout_loss(team, copy.deepcopy(team), c, g1, "cpu")
    CompiledBatches(make_team(c, 0, "cpu"), c).step(g2)
    assert torch.equal(g1.get_state(), g2.get_state())


def test_the_module_sees_the_trained_weights_and_the_target_follows_on_request():
    c = DialConfig(batch_size=4)
    team = make_team(c, 0, "cpu")
    before = copy.deepcopy(team.state_dict())
    fast = CompiledBatches(team, c)
    start_target = fast.target.copy()
    fast.step(torch.Generator().manual_seed(1))
    key = "nets.0.rnn.weight_ih_l0"
    assert not torch.equal(team.state_dict()[key], before[key])
    np.testing.assert_array_equal(_flat(team.parameters()), fast.theta)
    np.testing.assert_array_equal(fast.target, start_target)
    fast.update_target()
    np.testing.assert_array_equal(fast.target, fast.theta)
    assert int(team.nets[0].head[1].num_batches_tracked) == c.T


def test_backend_choice_and_messages():
    cpu = torch.device("cpu")
    assert choose_backend(DialConfig(), cpu) == "compiled"
    assert choose_backend(DialConfig(method="nocomm", n_agents=4), cpu) == "compiled"
    assert choose_backend(DialConfig(method="rial"), cpu) == "compiled"
    for kw in ({"param_sharing": False}, {"input_mode": "concat"}):
        assert choose_backend(DialConfig(**kw), cpu) == "tensor"
        assert unsupported_reason(DialConfig(**kw))
        with pytest.raises(ValueError, match="use backend='tensor'"):
            choose_backend(DialConfig(**kw), cpu, "compiled")
    assert choose_backend(DialConfig(), torch.device("meta")) == "tensor"
    with pytest.raises(ValueError, match="CPU only"):
        choose_backend(DialConfig(), torch.device("meta"), "compiled")
    with pytest.raises(ValueError, match="backend must be one of"):
        choose_backend(DialConfig(), cpu, "fast")


@pytest.mark.slow
def test_compiled_training_learns_the_protocol_and_follows_the_reference_early():
    c = DialConfig(n_batches=300, test_every=50, test_episodes=500, stop_at=0.95)
    r = train(c, seed=0, device="cpu", backend="compiled")
    assert r.backend == "compiled"
    assert max(r.test_normalized_reward) >= 0.95, r.test_normalized_reward
    # auto = compiled on the CPU, and reproducible; a few batches give the same test rewards as the
    # readable loop (rounding only; RMSprop's first steps turn rounding-level gradients into +-lr*10
    # moves of a few weights, so parameters are not compared)
    short = DialConfig(n_batches=3, test_every=3, test_episodes=200)
    fast = train(short, 1, backend="compiled").test_normalized_reward
    assert train(short, 1).test_normalized_reward == fast
    assert train(short, 1, backend="tensor").test_normalized_reward == fast


@pytest.mark.parametrize("method", ["dial", "rial", "nocomm"])
def test_the_layout_names_each_parameter_block_where_it_lies(method):
    c = DialConfig(method=method, rnn_size=8, rnn_layers=2, batch_size=2)
    team = make_team(c, 0, "cpu")
    fast = CompiledBatches(team, c)
    lay, start = fast.layout, fast.flat.data_ptr()
    named = dict(team.nets[0].named_parameters())
    for name, p in named.items():
        offset = getattr(lay, field_name(name))
        if name.startswith("rnn."):
            offset = offset[int(name.rsplit("_l", 1)[1])]
        assert offset == (p.data_ptr() - start) // p.element_size(), name
    present = {field_name(k) for k in named}
    assert all(getattr(lay, b) == -1 for b in BLOCKS if b not in present)
    assert (lay.n_agents, lay.rnn_layers, lay.rnn_size) == (3, 2, 8)
