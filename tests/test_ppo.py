"""PPO learner (batched trainer): each piece against an independent reference (autograd on CleanRL's
loss, torch.optim.Adam, clip_grad_norm_, a numpy GAE loop), batch-independence of a run's
randomness, errors, and one short learning run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.distributions import Categorical

from toolbox.envs.cartpole import cartpole_dynamics
from toolbox.lessons.ppo.variants import variants
from toolbox.ppo import agent as A
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.result import DEBUG_KEYS
from toolbox.ppo.train import make_groups, rollout_batch, train
from toolbox.provenance import PROVENANCE_KEYS, machine_provenance

BASE = PPOConfig(total_timesteps=4096)
MIXED = [
    BASE,
    BASE.replace(clip_surrogate=False),
    BASE.replace(clip_vloss=False),
    BASE.replace(norm_adv=False),
    BASE.replace(ent_coef=0.05, vf_coef=1.0, clip_coef=0.1),
]


def _tower(theta_row):
    v = A.views(theta_row.unsqueeze(0))
    return {k: t[0].clone().requires_grad_(True) for k, t in v.items()}


def _mlp(p, x):
    h = torch.tanh(x @ p["W1"] + p["b1"])
    h = torch.tanh(h @ p["W2"] + p["b2"])
    return h @ p["W3"] + p["b3"]


def _cleanrl_loss(cfg: PPOConfig, logits, value, a, old_logp, adv, ret, old_v):
    """CleanRL ppo.py's minibatch loss, written directly with autograd."""
    dist = Categorical(logits=logits)
    newlogprob, entropy = dist.log_prob(a), dist.entropy()
    logratio = newlogprob - old_logp
    ratio = logratio.exp()
    approx_kl = ((ratio - 1) - logratio).mean()
    clipfrac = ((ratio - 1.0).abs() > cfg.clip_coef).float().mean()
    if cfg.norm_adv:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    pg1 = -adv * ratio
    pg2 = -adv * torch.clamp(ratio, 1 - cfg.clip_coef, 1 + cfg.clip_coef)
    pg_loss = torch.max(pg1, pg2).mean() if cfg.clip_surrogate else pg1.mean()
    if cfg.clip_vloss:
        unclipped = (value - ret) ** 2
        v_clipped = old_v + torch.clamp(value - old_v, -cfg.clip_coef, cfg.clip_coef)
        v_loss = 0.5 * torch.max(unclipped, (v_clipped - ret) ** 2).mean()
    else:
        v_loss = 0.5 * ((value - ret) ** 2).mean()
    loss = pg_loss - cfg.ent_coef * entropy.mean() + cfg.vf_coef * v_loss
    return loss, approx_kl, clipfrac, pg_loss, v_loss


def _random_minibatch(g, M=128, seed=0):
    gen = torch.Generator().manual_seed(seed)
    R = g.R
    obs = torch.randn(R, M, 4, generator=gen)
    with torch.no_grad():
        logits, value = g.policy_value(obs)
    a = torch.randint(0, 2, (R, M), generator=gen).float()
    logp = torch.log_softmax(logits, -1)
    cur = torch.where(a > 0, logp[..., 1], logp[..., 0])
    # ratios on both sides of the clip range
    old_logp = cur + 0.3 * torch.randn(R, M, generator=gen)
    adv = torch.randn(R, M, generator=gen)
    ret = value + torch.randn(R, M, generator=gen)
    old_v = value + 0.3 * torch.randn(R, M, generator=gen)
    return torch.cat([obs, torch.stack([a, old_logp, adv, ret, old_v], -1)], -1)


@pytest.mark.parametrize("shared", [False, True])
def test_batched_gradient_equals_autograd_of_cleanrl_loss_per_run(shared):
    """The group's loss batched over runs (per-run toggles as columns) gives each run the gradient
    of CleanRL's loss written directly for that run alone."""
    configs = [c.replace(shared_network=shared) for c in MIXED]
    (g,), _ = make_groups(configs, [11], device="cpu")
    # train a little so that parameters are generic (heads no longer near zero)
    g.theta.add_(0.05 * torch.randn(g.theta.shape,
                                    generator=torch.Generator().manual_seed(1)) * (g.theta != 0))
    mb = _random_minibatch(g)
    stats = g.loss_and_grad(mb)
    R, K = g.R, g.K
    for r, cfg in enumerate(configs):
        towers = [_tower(g.theta[r + k * R]) for k in range(K)]
        x = mb[r, :, :4]
        outs = [_mlp(p, x) for p in towers]
        logits = outs[0][:, :2]
        value = outs[-1][:, 2]
        loss, kl, cf, pg, vl = _cleanrl_loss(cfg, logits, value, *mb[r, :, 4:].unbind(-1))
        loss.backward()
        kl, cf, pg, vl = (t.detach() for t in (kl, cf, pg, vl))
        for k, p in enumerate(towers):
            ref = torch.cat([p[n].grad.reshape(-1) for n, _, _ in A.LAYOUT])
            ours = g.grad[r + k * R]
            torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-6)
        assert abs(float(stats["approx_kl"][r]) - float(kl)) < 1e-6
        assert abs(float(stats["clipfrac"][r]) - float(cf)) < 1e-6
        assert abs(float(stats["policy_loss"][r]) - float(pg)) < 1e-5
        assert abs(float(stats["value_loss"][r]) - float(vl)) < 1e-4
    assert 0.05 < float(
        stats["clipfrac"][0]) < 0.95, "the test minibatch should exercise both clip branches"


def test_grad_clipping_per_run_equals_clip_grad_norm():
    cfgs = [BASE, BASE.replace(max_grad_norm=2.0), BASE.replace(clip_grad=False),
            BASE.replace(max_grad_norm=1e3)]
    (g,), _ = make_groups(cfgs, [0], device="cpu")
    g.grad.copy_(torch.randn(g.grad.shape, generator=torch.Generator().manual_seed(0)))
    before = g.grad.clone()
    norms = g.clip_grad()
    for r, c in enumerate(cfgs):
        rows = [before[r + k * g.R].clone() for k in range(g.K)]
        for t in rows:
            t.grad = t.clone()
        ref_norm = torch.nn.utils.clip_grad_norm_(rows,
                                                  c.max_grad_norm if c.clip_grad else float("inf"))
        assert abs(float(norms[r]) - float(ref_norm)) < 1e-3
        for k, t in enumerate(rows):
            torch.testing.assert_close(g.grad[r + k * g.R], t.grad)


def test_adam_per_run_equals_torch_optim_adam():
    """One optimizer over the stacked rows, groups by (lr, annealing, ε): each run moves as its own
    ``torch.optim.Adam`` would, with its own learning rate and ε, annealed or not."""
    cfgs = [BASE, BASE.replace(adam_eps=1e-8, learning_rate=1e-3), BASE.replace(anneal_lr=False)]
    (g,), _ = make_groups(cfgs, [0], device="cpu")
    assert len(g.optimizer.param_groups) == 3
    refs = []
    for r, c in enumerate(cfgs):
        ps = [g.theta[r + k * g.R].clone().requires_grad_(True) for k in range(g.K)]
        refs.append((ps, torch.optim.Adam(ps, lr=c.learning_rate, eps=c.adam_eps)))
    gen = torch.Generator().manual_seed(0)
    for frac in (1.0, 0.75, 0.5):
        g.set_learning_rates(frac)
        g.grad.copy_(torch.randn(g.grad.shape, generator=gen) * 1e-3)
        for r, (ps, opt) in enumerate(refs):
            opt.param_groups[0]["lr"] = cfgs[r].learning_rate * (frac if cfgs[r].anneal_lr else 1.0)
            for k, p in enumerate(ps):
                p.grad = g.grad[r + k * g.R].clone()
            opt.step()
        g.optimizer.step()
    for r, (ps, _) in enumerate(refs):
        for k, p in enumerate(ps):
            torch.testing.assert_close(g.theta[r + k * g.R], p.detach(), rtol=1e-5, atol=1e-7)
    # a run stopped early (target KL) does not move
    before = g.theta.clone()
    g.set_active([True, False, True])
    g.optimizer.step()
    assert torch.equal(g.theta[1::g.R], before[1::g.R]) and not torch.equal(g.theta[0], before[0])


def _numpy_gae(rewards, values, dones, next_value, next_done, gamma, lam, use_gae):
    T = rewards.shape[0]
    adv = np.zeros_like(rewards)
    ret = np.zeros_like(rewards)
    last = 0.0
    for t in reversed(range(T)):
        nnt = 1.0 - (next_done if t == T - 1 else dones[t + 1])
        nv = next_value if t == T - 1 else values[t + 1]
        if use_gae:
            delta = rewards[t] + gamma * nv * nnt - values[t]
            adv[t] = last = delta + gamma * lam * nnt * last
        else:
            nr = next_value if t == T - 1 else ret[t + 1]
            ret[t] = rewards[t] + gamma * nnt * nr
    return adv if use_gae else ret - values


def test_gae_and_monte_carlo_returns_match_numpy_reference():
    cfgs = [BASE.replace(num_steps=64), BASE.replace(num_steps=64, gae=False)]
    (g,), _ = make_groups(cfgs, [2], device="cpu")
    for _ in range(3):  # episodes of a random policy end inside these rollouts
        g.next_rollout()
    assert float(g.dones.sum()) > 0
    with torch.no_grad():
        _, nv = g.policy_value(g.next_obs)
    for r, c in enumerate(cfgs):
        ref = _numpy_gae(
            g.rewards[:, r].double().numpy(), g.values[:, r].double().numpy(),
            g.dones[:, r].double().numpy(), nv[r].double().numpy(), g.next_done[r].double().numpy(),
            c.gamma, c.gae_lambda, c.gae,
        )
        np.testing.assert_allclose(g.advantages[:, r].numpy(), ref, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(g.returns[:, r], g.advantages[:, r] + g.values[:, r])


def test_learning_rate_annealing_schedule():
    cfgs = [PPOConfig(total_timesteps=2048), PPOConfig(total_timesteps=2048, anneal_lr=False)]
    res = train(cfgs, [0], device="cpu")
    k = np.arange(1, 5)
    np.testing.assert_allclose(res[0].debug["learning_rate"], 2.5e-4 * (1 - (k - 1) / 4), rtol=1e-6)
    np.testing.assert_allclose(res[1].debug["learning_rate"], 2.5e-4, rtol=1e-6)
    assert list(res[0].iteration_steps) == [512, 1024, 1536, 2048]


def test_run_randomness_independent_of_the_batch():
    cfg = BASE
    (alone,), _ = make_groups([cfg], [3], device="cpu")
    groups, where = make_groups([cfg.replace(orthogonal_init=False), cfg], [1, 3, 5], device="cpu")
    gi, row = where[4]  # (cfg, seed 3)
    grid = groups[gi]
    assert torch.equal(alone.theta[0], grid.theta[row]) and torch.equal(alone.theta[1],
                                                                        grid.theta[row + grid.R])
    for g in (alone, grid):
        g.next_rollout()
    torch.testing.assert_close(alone.obs_buf[:, 0], grid.obs_buf[:, row])
    assert torch.equal(alone.actions[:, 0], grid.actions[:, row])
    # and different seeds do differ
    assert not torch.equal(grid.obs_buf[:, row], grid.obs_buf[:, row - 1])


def test_truncation_bootstrap_adds_discounted_value_of_final_state():
    cfgs = [BASE, BASE.replace(bootstrap_truncation=True)]
    (g,), _ = make_groups(cfgs, [0], device="cpu")
    g.env.elapsed[:] = 499  # the next step hits the 500-step time limit in every environment
    s0 = g.env.state.clone()
    g.next_rollout()
    final = cartpole_dynamics(s0, g.actions[0].reshape(-1)).float().view(g.R, g.E, 4)
    with torch.no_grad():
        _, v_final = g.policy_value(final)
    torch.testing.assert_close(g.rewards[0, 0], torch.ones(g.E))
    torch.testing.assert_close(g.rewards[0, 1], 1.0 + 0.99 * v_final[1])
    assert torch.all(g.dones[1] == 1)


def test_target_kl_stops_epochs_early():
    res = train([BASE.replace(target_kl=1e-6, total_timesteps=1536),
                 BASE.replace(total_timesteps=1536)], [0], device="cpu")
    stopped, full = res[0].debug["epochs_run"], res[1].debug["epochs_run"]
    assert np.all(full == 4)
    # the first update moves the policy by far more than
    # 1e-6 nats; late ones (tiny annealed lr) may not
    assert stopped[0] == 1 and stopped.mean() < 2


def test_rollout_batch_contract():
    b = rollout_batch(PPOConfig(), seed=0, train_iterations=1, device="cpu")
    assert set(b) == {"obs", "rewards", "dones", "values", "advantages", "returns"}
    assert b["obs"].shape == (128, 4, 4) and all(b[k].shape == (128, 4) for k in b if k != "obs")
    torch.testing.assert_close(b["returns"], b["advantages"] + b["values"])
    assert torch.all(b["rewards"] == 1.0)


@pytest.mark.parametrize(
    "configs,seeds,match",
    [
        ([PPOConfig(num_minibatches=3)], [0], "does not divide"),
        ([PPOConfig()], [], "at least one seed"),
        ([PPOConfig(ent_coef=-0.1)], [0], "ent_coef"),
        ([PPOConfig(learning_rate=-1.0)], [0], "learning_rate"),
    ],
)
def test_bad_settings_raise_value_error(configs, seeds, match):
    with pytest.raises(ValueError, match=match):
        train(configs, seeds, device="cpu")


def test_variant_menu_is_valid():
    v = variants()
    assert v["all on"] == PPOConfig()
    for c in v.values():
        c.validate()
        assert c.batch_size == 512


@pytest.mark.slow
def test_short_run_learns_cartpole():
    """Three seeds, 40,960 steps: CleanRL's defaults lift the return far above a random policy's
    (about 22)."""
    res = train(PPOConfig(total_timesteps=40_960), [1, 2, 3], device="cpu")
    last20 = [float(r.episode_returns[-20:].mean()) for r in res]
    assert np.mean(last20) > 100 and min(last20) > 50, last20


def test_num_threads_is_restored_and_checked():
    before = torch.get_num_threads()
    res = train(PPOConfig(total_timesteps=512), [0], device="cpu", num_threads=1)
    assert torch.get_num_threads() == before and len(res) == 1
    with pytest.raises(ValueError, match="num_threads"):
        train(PPOConfig(total_timesteps=512), [0], device="cpu", num_threads=0)


STORED = Path(__file__).parent / "data" / "ppo_stored_run.json"
STORED_A = PPOConfig(total_timesteps=5120)
STORED_B = STORED_A.replace(norm_obs=True, norm_reward=True, bootstrap_truncation=True,
                            target_kl=0.015, anneal_lr=False, adam_eps=1e-8, orthogonal_init=False,
                            clip_vloss=False, gae=False)


def _stored_run() -> list[dict]:
    res = train([STORED_A, STORED_B], [0, 1], device="cpu", backend="tensor")
    return [{"episode_steps": r.episode_steps.tolist(),
             "episode_returns": r.episode_returns.tolist(),
             "debug": {k: v.tolist() for k, v in r.debug.items()}} for r in res]


def write_stored_numbers() -> None:
    """Regenerate tests/data/ppo_stored_run.json — only for an intended change of the numbers (say
    why in the commit):
    ``python -c "from tests.test_ppo import write_stored_numbers; write_stored_numbers()"``."""
    STORED.write_text(json.dumps({"meta": machine_provenance(), "runs": _stored_run()}))


STORED_RTOL = 1e-3
"""Tolerance for each debug number, as a fraction of the largest stored value of its kind.

The argument: the stored run is float32 arithmetic over 10 iterations (160 minibatch updates);
another CPU rounds sums in another order (vector width, fused multiply-adds), which moves a
minibatch mean by a few float32 units (6e-8 relative) and Adam carries that forward. Measured on one
machine between torch's AVX-512 and scalar kernels and MKL's reproducible mode: at most 2.7e-5 (the
policy loss, a difference of nearly equal terms), 1.4e-7 on an Intel Xeon. 1e-3 leaves a factor 37.
Mutations tried (clip coefficient 0.2 -> 0.21, GAE's next value taken one step
early, GAE's decay without gamma, entropy coefficient 0.01 -> 0.012) each fail this test.

Episodes (lengths and returns) are integers and compared exactly: they change only if an action
sample falls within rounding (~1e-6) of its probability's boundary, which no kernel variant above
produced."""


@pytest.mark.slow
def test_numbers_equal_the_stored_run():
    """The batched tensor trainer reproduces the run stored before the speed work: 2 configs (many
    toggles flipped in the second) x 2 seeds x 10 iterations on the CPU, within ``STORED_RTOL`` on
    any CPU."""
    record = json.loads(STORED.read_text())
    assert set(PROVENANCE_KEYS) <= set(record["meta"])
    stored, fresh = record["runs"], _stored_run()
    assert len(fresh) == len(stored) == 4
    for new, old in zip(fresh, stored):
        assert new["episode_steps"] == old["episode_steps"]
        assert new["episode_returns"] == old["episode_returns"]
        for key in DEBUG_KEYS:
            want = np.float64(old["debug"][key])
            scale = max(float(np.abs(want).max()), 1e-12)
            np.testing.assert_allclose(np.float64(new["debug"][key]), want, rtol=0,
                                       atol=STORED_RTOL * scale, err_msg=key)
