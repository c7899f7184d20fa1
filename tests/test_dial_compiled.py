"""The compiled DIAL step (toolbox.dial.kernel / compiled) against the readable rollout + autograd + torch optimizer."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from toolbox.dial import kernel
from toolbox.dial.compiled import CompiledBatches, _parameters, choose_backend, unsupported_reason
from toolbox.dial.config import DialConfig
from toolbox.dial.rollout import rollout_loss
from toolbox.dial.switch import sample_active
from toolbox.dial.team import make_team
from toolbox.dial.train import train


def _flat(params) -> np.ndarray:
    return torch.cat([p.detach().reshape(-1) for p in params if p is not None]).numpy()


VARIANTS = {
    "dial": dict(),
    "nocomm": dict(method="nocomm"),
    "rial": dict(method="rial"),
    "rial, gamma 0.9, all explore": dict(method="rial", gamma=0.9, eps=1.0, batch_size=8),
    "n4": dict(n_agents=4, batch_size=8),
    "small, one layer, sigma 0, gamma 0.9": dict(rnn_layers=1, rnn_size=16, batch_size=5, sigma=0.0, gamma=0.9),
    "three layers, all explore": dict(rnn_layers=3, rnn_size=24, batch_size=6, eps=1.0),
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_batch_gradient_equals_autograd_of_the_reference_rollout(name):
    c = DialConfig(**VARIANTS[name])
    ref = make_team(c, 3, "cpu")
    target = copy.deepcopy(ref)
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():  # a target network that differs from the team, as after training
        for p in target.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    team = copy.deepcopy(ref)
    loss, _ = rollout_loss(ref, target, c, torch.Generator().manual_seed(5), "cpu")
    loss.backward()

    fast = CompiledBatches(team, c)
    fast.target[:] = _flat(_parameters(target))
    gen = torch.Generator().manual_seed(5)
    B, T, n = c.batch_size, c.T, c.n_agents
    active = sample_active(n, B, gen, "cpu")
    explore, noise = torch.rand(B, T, 4, generator=gen), torch.randn(B, T, 2, generator=gen)
    net = team.nets[0]
    got = kernel.batch_gradient(fast.theta, fast.target, fast.grad, fast.offsets, n, net.rnn.num_layers, net.rnn_size,
                                fast.K, c.comm, c.method == "rial", c.gamma, c.eps, c.sigma, active.numpy(), explore.numpy(), noise.numpy(),
                                *fast._bn_arrays)
    assert got == pytest.approx(float(loss), rel=1e-5)
    want = _flat([p.grad if p is not None else None for p in _parameters(ref)])
    # float32 sums in another order: within 1e-4 of the largest gradient everywhere (a wrong formula is off
    # by its own size), and 2e-5 for all but a handful of elements (sums of cancelling terms)
    err = np.abs(fast.grad - want) / np.abs(want).max()
    assert err.max() < 1e-4 and (err > 2e-5).sum() <= 3, (err.max(), (err > 2e-5).sum())
    # the team's BatchNorm running averages moved as in torch (one update per day)
    for (name, a), b in zip(ref.named_buffers(), team.buffers()):
        if "running" in name:  # (num_batches_tracked is counted by CompiledBatches.step, not called here)
            assert torch.allclose(a, b, atol=1e-6), name


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
        got = kernel.clip_and_rmsprop(th, grad.numpy().copy(), sq, buf, 5e-3, 0.99, 1e-8, 0.05, 10.0)
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
    assert not torch.equal(team.state_dict()["nets.0.rnn.weight_ih_l0"], before["nets.0.rnn.weight_ih_l0"])
    np.testing.assert_array_equal(_flat(_parameters(team)), fast.theta)
    np.testing.assert_array_equal(fast.target, start_target)
    fast.update_target()
    np.testing.assert_array_equal(fast.target, fast.theta)
    assert int(team.nets[0].head[1].num_batches_tracked) == c.T


def test_backend_choice_and_messages():
    cpu = torch.device("cpu")
    assert choose_backend(DialConfig(), cpu) == "compiled"
    assert choose_backend(DialConfig(method="nocomm", n_agents=4), cpu) == "compiled"
    assert choose_backend(DialConfig(method="rial"), cpu) == "compiled"
    for kw in (dict(param_sharing=False), dict(input_mode="concat")):
        assert choose_backend(DialConfig(**kw), cpu) == "torch"
        assert unsupported_reason(DialConfig(**kw))
        with pytest.raises(ValueError, match="use backend='torch'"):
            choose_backend(DialConfig(**kw), cpu, "compiled")
    assert choose_backend(DialConfig(), torch.device("meta")) == "torch"
    with pytest.raises(ValueError, match="CPU only"):
        choose_backend(DialConfig(), torch.device("meta"), "compiled")
    with pytest.raises(ValueError, match="backend must be one of"):
        choose_backend(DialConfig(), cpu, "fast")


def test_compiled_training_learns_the_protocol_and_follows_the_reference_early():
    c = DialConfig(n_batches=300, test_every=50, test_episodes=500, stop_at=0.95)
    r = train(c, seed=0, device="cpu", backend="compiled")
    assert r.backend == "compiled"
    assert max(r.test_normalized_reward) >= 0.95, r.test_normalized_reward
    # auto = compiled on the CPU, and reproducible; a few batches give the same test rewards as the readable
    # loop (rounding only; RMSprop's first steps turn rounding-level gradients into +-lr*10 moves of a few
    # weights, so parameters are not compared)
    short = DialConfig(n_batches=3, test_every=3, test_episodes=200)
    fast = train(short, 1, backend="compiled").test_normalized_reward
    assert train(short, 1).test_normalized_reward == fast
    assert train(short, 1, backend="torch").test_normalized_reward == fast
