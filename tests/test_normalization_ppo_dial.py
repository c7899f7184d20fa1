"""The Normalization lesson's data ④–⑤ (toolbox.lessons.normalization): a real PPO batch per
minibatch, BatchNorm on a DIAL message; and the page's figure builders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from toolbox.dial.cnet import CNet
from toolbox.figures import normalization as FN
from toolbox.lessons import normalization as N

CPU = torch.device("cpu")


def test_minibatch_advantages_against_numpy():
    adv = np.random.default_rng(5).standard_normal(64) * 3 + 1
    mb = N.minibatch_advantages(torch.from_numpy(adv), 4, seed=0)
    assert mb.raw.shape == (4, 16)
    np.testing.assert_allclose(np.sort(mb.raw.numpy().ravel()), np.sort(adv))
    for i in range(4):
        a = mb.raw[i].numpy()
        np.testing.assert_allclose(mb.normalized[i].numpy(),
                                   (a - a.mean()) / (a.std(ddof=1) + 1e-8), rtol=1e-12)
        np.testing.assert_allclose(mb.globally_normalized[i].numpy(),
                                   (a - adv.mean()) / (adv.std(ddof=1) + 1e-8), rtol=1e-12)
        assert float(mb.sign_flips[i]) == pytest.approx(
            np.mean(np.sign(a) != np.sign(a - a.mean())))
    one = N.minibatch_advantages(torch.from_numpy(adv), 1)
    assert float(one.deviation[0]) < 1e-12
    with pytest.raises(ValueError, match="equal minibatches"):
        N.minibatch_advantages(torch.from_numpy(adv), 5)
    with pytest.raises(ValueError, match="at least 2"):
        N.minibatch_advantages(torch.from_numpy(adv), 64)


def test_minibatch_size_effect_shrinks_with_size():
    adv = torch.from_numpy(np.random.default_rng(6).standard_normal(512))
    eff = N.minibatch_size_effect(adv, (4, 16, 64, 512, 3))
    assert eff["size"].tolist() == [4, 16, 64, 512]
    dev = eff["deviation"].tolist()
    assert dev[0] > dev[1] > dev[2] > dev[3] and dev[3] < 1e-12


def test_ppo_batch_shapes():
    batch, source = N.ppo_batch(0, device=CPU)
    assert set(batch) >= {"obs", "rewards", "dones", "values", "advantages", "returns"}
    T, E = batch["advantages"].shape
    assert batch["obs"].shape == (T, E, 4) and T * E >= 64
    assert torch.isfinite(batch["advantages"]).all()
    torch.testing.assert_close(batch["returns"], batch["advantages"] + batch["values"])
    assert source == "toolbox.ppo.train.rollout_batch (untrained agent, default config)"


def test_ppo_batch_rejects_too_many_updates():
    with pytest.raises(ValueError, match="PPO updates"):
        N.ppo_batch(0, updates=N.MAX_PPO_UPDATES + 1, device=CPU)
    with pytest.raises(ValueError, match="PPO updates"):
        N.ppo_batch(0, updates=-1, device=CPU)


def test_message_norm_demo_against_stepped_batchnorm_module():
    K, B = 12, 16
    demo = N.message_norm_demo(comm_bits=1, batch_size=B, steps=K, noise_std=1.0, momentum=0.2,
                               seed=0, device=CPU)
    # reference: the C-Net's own message_mlp (same init
    # seed), stepped through train/eval mode in a loop
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        mlp = CNet(n_agents=3, comm_bits=1).message_mlp.double()
    mlp[0].momentum = 0.2
    with torch.no_grad():
        for k in range(K):
            x = demo.raw[k]
            mlp.train()
            torch.testing.assert_close(demo.bn_train[k], mlp[0](x))
            h_train = mlp[1:](demo.bn_train[k])
            torch.testing.assert_close(demo.running_mean[k], mlp[0].running_mean)
            torch.testing.assert_close(demo.running_var[k], mlp[0].running_var)
            mlp.eval()
            torch.testing.assert_close(demo.bn_eval[k], mlp[0](x))
            torch.testing.assert_close(N.message_mlp_gap(demo, k), (mlp(x) - h_train).abs().mean())
    x = demo.raw[0]  # and the textbook formula at init (γ = 1, β = 0, ε = 1e-5)
    torch.testing.assert_close(demo.bn_train[0],
                               (x - x.mean(0)) / torch.sqrt(x.var(0, correction=0) + 1e-5))
    assert demo.source == "toolbox.dial.cnet.CNet(n_agents=3).message_mlp"
    assert torch.all(demo.layer_norm == 0), "LayerNorm over one channel erases the message"
    sep = {n: N.message_separation(getattr(demo, n), demo.bits) for n in ("raw", "bn_train",
                                                                          "layer_norm")}
    # d′ is invariant to a positive affine map
    torch.testing.assert_close(sep["bn_train"], sep["raw"])
    assert torch.all(sep["layer_norm"] == 0)


def test_message_separation_brute_force():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 40, 1)) + 0.5
    bits = rng.integers(0, 2, (3, 40))
    x[..., 0] += 2.0 * bits
    got = N.message_separation(torch.from_numpy(x), torch.from_numpy(bits)).numpy()
    for k in range(3):
        a, b = x[k, bits[k] == 1, 0], x[k, bits[k] == 0, 0]
        pooled = np.sqrt((((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()) / 40)
        assert got[k] == pytest.approx((a.mean() - b.mean()) / pooled, rel=1e-12)


def test_message_norm_demo_layernorm_several_bits_and_drift():
    demo = N.message_norm_demo(comm_bits=3, batch_size=64, steps=40, noise_std=2.0, dru=False,
                               seed=1, device=CPU)
    x = demo.raw
    torch.testing.assert_close(demo.layer_norm, F.layer_norm(x, (3,)))
    raw_sd = x[..., 0].std(1)
    bn_sd = demo.bn_train[..., 0].std(1, correction=0)
    assert raw_sd[-1] / raw_sd[0] > 2, "the message scale drifts"
    # train-mode BatchNorm: unit scale at every step
    np.testing.assert_allclose(bn_sd.numpy(), 1.0, atol=1e-3)
    # eval mode lags: at the end it is off unit scale more than train mode
    assert abs(float(demo.bn_eval[-1, :, 0].std()) - 1) > abs(float(bn_sd[-1]) - 1)


@pytest.mark.parametrize("kwargs, match", [
    ({"momentum": 0.0}, "momentum"), ({"momentum": 1.5}, "momentum"), ({"noise_std": -1}, "noise"),
    ({"batch_size": 1}, "batch size"), ({"comm_bits": 0}, "bits"), ({"scale_start": 0}, "scales"),
])
def test_message_norm_demo_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        N.message_norm_demo(steps=2, device=CPU, **kwargs)


def test_figures_build():
    s = N.sample_stream("drifting", 10, 4, device=CPU)
    tr = N.running_trace(s.x)
    assert len(FN.running_estimate_figure(s, tr, 5).data) >= 4
    assert len(FN.batch_histogram_figure(s.x[0], tr.normalized[0], 10.0).data) == 2
    o = N.observation_sample(2, 10, device=CPU)
    assert len(FN.observation_histograms_figure(o.obs, o.normalized,
                                                N.CARTPOLE_DIMENSIONS).data) == 8
    r, d = N.reward_stream("constant", 2, 30, 5.0, device=CPU)
    assert len(FN.reward_trace_figure(r, N.reward_scaling_trace(r, d), 0, d).data) == 5
    assert len(FN.return_scales_figure(N.return_scales(r, d)).data) == 3
    mb = N.minibatch_advantages(torch.randn(32, dtype=torch.float64), 4)
    assert len(FN.advantage_histogram_figure(mb.raw[0], mb.normalized[0], 0).data) == 2
    assert len(FN.minibatch_stats_figure(mb).data) == 2
    assert len(FN.minibatch_size_figure(N.minibatch_size_effect(mb.raw, (2, 8))).data) == 3
    demo = N.message_norm_demo(steps=3, batch_size=8, device=CPU)
    assert len(FN.message_norm_figure(demo, 1).data) == 8
    assert len(FN.message_histogram_figure(demo, 1).data) == 8

