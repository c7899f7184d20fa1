"""Returns and GAE against independent computations: brute-force sums and CleanRL's GAE loop
written with Python floats. GAE is :func:`toolbox.ppo.loss.gae` (the one loop every PPO runner
calls); these tests call it batch-leading, ``(..., T, E)``, through :func:`gae` below."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from toolbox.ppo.loss import gae as loop_gae
from toolbox.returns import discounted_returns


def gae(r, v, dones, last, gamma, lam, next_done=None):
    """:func:`toolbox.ppo.loss.gae` (time-major) on batch-leading ``(..., T, E)`` data; a per-run
    ``lam`` of shape ``(R, 1, 1)`` becomes ``(R, 1)``."""
    nd = torch.zeros_like(last) if next_done is None else next_done
    lam = lam.squeeze(-1) if torch.is_tensor(lam) else lam
    out = loop_gae(r.movedim(-2, 0), v.movedim(-2, 0), dones.movedim(-2, 0), last, nd, gamma, lam)
    return out.movedim(0, -2)


def _cleanrl_gae(r, v, dones, last_value, next_done, gamma, lam):
    """CleanRL ppo.py's advantage loop, one environment at a time, in plain Python floats."""
    T, E = r.shape
    adv = np.zeros((T, E))
    for e in range(E):
        lastgaelam = 0.0
        for t in reversed(range(T)):
            if t == T - 1:
                nextnonterminal, nextvalues = 1.0 - next_done[e], last_value[e]
            else:
                nextnonterminal, nextvalues = 1.0 - dones[t + 1, e], v[t + 1, e]
            delta = r[t, e] + gamma * nextvalues * nextnonterminal - v[t, e]
            lastgaelam = delta + gamma * lam * nextnonterminal * lastgaelam
            adv[t, e] = lastgaelam
    return adv


def _episode_data(rng, shape):
    r = rng.standard_normal(shape)
    v = rng.standard_normal(shape)
    dones = (rng.random(shape) < 0.2).astype(np.float64)
    return r, v, dones


def test_discounted_returns_brute_force():
    rng = np.random.default_rng(4)
    r = rng.standard_normal((30, 3))
    d = rng.random((30, 3)) < 0.2
    out = discounted_returns(torch.from_numpy(r), torch.from_numpy(d), 0.9).numpy()
    for e in range(3):
        for t in range(30):
            total, disc = 0.0, 1.0
            for s in range(t, 30):
                total += disc * r[s, e]
                if d[s, e]:
                    break
                disc *= 0.9
            assert out[t, e] == pytest.approx(total, rel=1e-12, abs=1e-12)


def test_gae_limits():
    rng = np.random.default_rng(7)
    r = torch.from_numpy(rng.standard_normal((20, 2)))
    v = torch.from_numpy(rng.standard_normal((20, 2)))
    dones = torch.from_numpy((rng.random((20, 2)) < 0.2).astype(np.float64))
    last = torch.from_numpy(rng.standard_normal(2))
    nxt_v = torch.cat([v[1:], last[None]])
    nxt_nt = 1 - torch.cat([dones[1:], torch.zeros(1, 2, dtype=torch.float64)])
    delta = r + 0.9 * nxt_v * nxt_nt - v
    torch.testing.assert_close(gae(r, v, dones, last, 0.9, 0.0), delta)  # λ = 0: one-step TD error
    # λ = 1: discounted return-to-go (bootstrapped with last value at the end) minus the value
    ret = torch.zeros_like(r)
    g = last.clone()
    for t in range(19, -1, -1):
        g = r[t] + 0.9 * nxt_nt[t] * g
        ret[t] = g
    torch.testing.assert_close(gae(r, v, dones, last, 0.9, 1.0), ret - v)



def test_discounted_returns_leading_batch_of_gammas():
    rng = np.random.default_rng(5)
    r = torch.from_numpy(rng.standard_normal((12, 2)))
    d = torch.from_numpy(rng.random((12, 2)) < 0.3)
    gammas = torch.tensor([0.5, 0.9, 0.99], dtype=torch.float64)
    out = discounted_returns(r.expand(3, 12, 2), d.expand(3, 12, 2), gammas[:, None, None])
    for i, g in enumerate(gammas.tolist()):
        torch.testing.assert_close(out[i], discounted_returns(r, d, g), rtol=0, atol=0)


@pytest.mark.parametrize("lam", [0.0, 0.5, 0.95, 1.0])
def test_gae_equals_cleanrl_loop(lam):
    rng = np.random.default_rng(8)
    r, v, dones = _episode_data(rng, (25, 3))
    last = rng.standard_normal(3)
    next_done = np.array([0.0, 1.0, 0.0])
    got = gae(torch.from_numpy(r), torch.from_numpy(v), torch.from_numpy(dones),
              torch.from_numpy(last), 0.97, lam, next_done=torch.from_numpy(next_done))
    np.testing.assert_allclose(got.numpy(), _cleanrl_gae(r, v, dones, last, next_done, 0.97, lam),
                               rtol=1e-12, atol=1e-12)


def test_gae_leading_batch_equals_each_member():
    rng = np.random.default_rng(9)
    R, T, E = 4, 16, 2
    r, v, dones = (torch.from_numpy(a) for a in _episode_data(rng, (R, T, E)))
    last = torch.from_numpy(rng.standard_normal((R, E)))
    lam = torch.tensor([0.0, 0.5, 0.9, 1.0], dtype=torch.float64).view(R, 1, 1)  # one λ per run
    got = gae(r, v, dones, last, 0.99, lam)
    assert got.shape == (R, T, E)
    for i in range(R):
        torch.testing.assert_close(got[i], gae(r[i], v[i], dones[i], last[i], 0.99, float(lam[i])),
                                   rtol=0, atol=0)
