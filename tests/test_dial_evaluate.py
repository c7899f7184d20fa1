"""The greedy test with either kind of BatchNorm statistics (toolbox.dial.evaluate)."""

from __future__ import annotations

import pytest
import torch

from toolbox.dial import switch
from toolbox.dial.config import DialConfig
from toolbox.dial.evaluate import batchnorm_comparison, evaluate, evaluate_distinct
from toolbox.dial.train import train


@pytest.fixture(scope="module")
def trained():
    c = DialConfig(n_agents=3, n_batches=8, test_every=8, test_episodes=50)
    return train(c, seed=0, device="cpu").policy, c


def test_running_statistics_make_each_episode_independent_of_the_batch(trained):
    team, c = trained
    active = switch.sample_active(3, 300, torch.Generator().manual_seed(5))
    alone = evaluate(team, c, active[:40], "running")
    pooled = evaluate(team, c, active, "running")
    # eval mode: an episode's play depends on that episode only (decentralisable)
    assert torch.equal(alone["tell"], pooled["tell"][:40])
    assert torch.allclose(alone["m"], pooled["m"][:40], atol=1e-5)
    # batch statistics: the same 40 episodes are played differently inside a larger batch
    b_alone = evaluate(team, c, active[:40], "batch")
    b_pooled = evaluate(team, c, active, "batch")
    assert not torch.allclose(b_alone["m"], b_pooled["m"][:40], atol=1e-3)


def test_running_mode_matches_the_team_in_eval_mode_and_restores_it(trained):
    team, c = trained
    before = {k: v.clone() for k, v in team.state_dict().items()}
    active = switch.sample_active(3, 64, torch.Generator().manual_seed(1))
    ev = evaluate(team, c, active, "running")
    assert team.training
    assert all(torch.equal(v, team.state_dict()[k]) for k, v in before.items())
    # independent computation of day 0: every agent's C-Net in eval mode on its first inputs
    team.eval()
    with torch.no_grad():
        obs = torch.nn.functional.one_hot(active[:, 0], 3)
        zeros = torch.zeros_like(obs)
        out, _ = team(obs, zeros, torch.zeros(64, 3), team.initial_hidden(64, "cpu"))
    team.train()
    who = active[:, 0]
    q = out[torch.arange(64), who]
    assert torch.equal(ev["tell"][:, 0], q[:, 1] > q[:, 0])
    assert torch.allclose(ev["m"][:, 0], q[:, 2])


def test_batchnorm_comparison_reports_both_modes_on_the_same_episodes(trained):
    team, c = trained
    got = batchnorm_comparison(team, c, 300, seed=9, device="cpu")
    active = switch.sample_active(3, 300, torch.Generator().manual_seed(9))
    assert got == {"batch": evaluate(team, c, active, "batch")["normalized"],
                   "running": evaluate(team, c, active, "running")["normalized"], "n_episodes": 300}
    with pytest.raises(ValueError, match="batchnorm must be one of"):
        evaluate(team, c, active, "population")
    with pytest.raises(ValueError, match="at least one test episode"):
        batchnorm_comparison(team, c, 0)


@pytest.mark.parametrize("kw", [dict(), dict(method="rial"), dict(method="nocomm"),
                                dict(param_sharing=False), dict(input_mode="concat"),
                                dict(n_agents=4)])
@pytest.mark.parametrize("mode", ["batch", "running"])
def test_distinct_histories_give_the_full_test(kw, mode):
    """evaluate_distinct (one row per distinct prefix of visitors, count-weighted
    BatchNorm) = evaluate."""
    c = DialConfig(n_batches=6, test_every=6, test_episodes=20, **kw)
    team = train(c, seed=1, device="cpu").policy
    active = switch.sample_active(c.n_agents, 400, torch.Generator().manual_seed(4))
    full, fast = evaluate(team, c, active, mode), evaluate_distinct(team, c, active, mode)
    assert fast["normalized"] == full["normalized"]
    for k in ("bit_in", "tell", "alive", "reward", "oracle"):
        assert torch.equal(fast[k], full[k]), k
    assert torch.allclose(fast["m"], full["m"], atol=1e-4, rtol=1e-5)
    assert team.training and all(
        m.momentum == 0.1 for m in team.modules() if isinstance(m, torch.nn.BatchNorm1d)
    )
    assert not any(m._forward_hooks for m in team.modules())


def test_distinct_histories_weight_batchnorm_by_count():
    """Why the counts matter: one row per distinct day-0 prefix, unweighted, is normalised
    differently."""
    c = DialConfig(n_batches=6, test_every=6, test_episodes=20)
    team = train(c, seed=1, device="cpu").policy
    active = switch.sample_active(3, 400, torch.Generator().manual_seed(4))
    full = evaluate(team, c, active, "batch")
    assert torch.allclose(evaluate_distinct(team, c, active, "batch")["m"][:, 0], full["m"][:, 0],
                          atol=1e-5)
    reps = [int((active[:, 0] == a).nonzero()[0]) for a in range(3)]
    one_each = evaluate(team, c, active[reps], "batch")
    assert not torch.allclose(one_each["m"][:, 0], full["m"][reps, 0], atol=1e-3)


def test_tests_of_one_shared_team_take_turns(trained):
    """Sessions testing one trained team at once: each sees its own batch's numbers and the team is
    left as found."""
    import threading

    team, c = trained
    actives = [switch.sample_active(3, 200, torch.Generator().manual_seed(s)) for s in range(6)]
    want = [evaluate(team, c, a, mode)["normalized"] for a in actives for mode in ("batch",
                                                                                   "running")]
    got = [None] * len(want)

    def play(i):
        a, mode = actives[i // 2], ("batch", "running")[i % 2]
        got[i] = (evaluate_distinct if i % 3 else evaluate)(team, c, a, mode)["normalized"]

    threads = [threading.Thread(target=play, args=(i,)) for i in range(len(want))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == want
    assert team.training and all(
        m.momentum == 0.1 for m in team.modules() if isinstance(m, torch.nn.BatchNorm1d)
    )
