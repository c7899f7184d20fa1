"""DIAL lesson backend: game rules vs a pure-Python rule book, oracle vs brute force and the
closed form, DRU statistics vs scipy, C-Net structure, PettingZoo API, learning, ValueErrors."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from toolbox.dial import switch
from toolbox.dial.cnet import CNet
from toolbox.dial.config import DialConfig, run_key
from toolbox.dial.dru import dru, message_distribution
from toolbox.dial.evaluate import evaluate
from toolbox.dial.protocol import decode_protocol, replay_episode
from toolbox.dial.rollout import rollout_loss
from toolbox.dial.team import Team, make_team
from toolbox.dial.train import train


# ---------------------------------------------------------------- game rules
def rulebook(days: list[int], tells: list[bool], n: int) -> tuple[float, int]:
    """The riddle's rules, one episode, plain Python: (reward, days played)."""
    seen = set()
    for t, (agent, tell) in enumerate(zip(days, tells)):
        seen.add(agent)
        if tell:
            return (1.0 if len(seen) == n else -1.0), t + 1
    return 0.0, len(days)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_episode_length_is_4n_minus_6(n):
    assert switch.episode_length(n) == 4 * n - 6
    assert switch.sample_active(n, 7, torch.Generator().manual_seed(0)).shape == (7, 4 * n - 6)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_play_and_stateful_game_match_rulebook(n):
    g = torch.Generator().manual_seed(n)
    B = 400
    active = switch.sample_active(n, B, g)
    tell = torch.rand(active.shape, generator=g) < 0.2
    reward, length = switch.play(active, n, tell)
    game = switch.SwitchGame(n, B)
    game.reset(active=active)
    total = torch.zeros(B)
    for t in range(game.T):
        r, done = game.step(tell[:, t])
        total += r
    assert done.all()
    for b in range(B):
        ref_r, ref_len = rulebook(active[b].tolist(), tell[b].tolist(), n)
        assert reward[b].item() == ref_r and length[b].item() == ref_len
        assert total[b].item() == ref_r


def test_only_the_visitor_observes_and_receives_the_light():
    game = switch.SwitchGame(3, 5)
    game.reset(generator=torch.Generator().manual_seed(1))
    obs = game.observation()
    assert obs.shape == (5, 3) and (obs.sum(1) == 1).all()
    assert (obs.argmax(1) == game.in_room()).all()
    game.step(torch.zeros(5, dtype=torch.bool), torch.ones(5))
    assert (game.light() == 1).all()


def test_oracle_brute_force_and_closed_form():
    n = 3
    T = switch.episode_length(n)
    seqs = torch.tensor(list(itertools.product(range(n), repeat=T)))  # every day sequence
    oracle = switch.oracle_reward(seqs, n)
    assert torch.equal(oracle, torch.tensor([float(len(set(s)) == n) for s in seqs.tolist()]))
    # No Tell schedule beats the oracle on any sequence (all 2^T schedules, all n^T sequences).
    tells = torch.tensor(list(itertools.product([False, True], repeat=T)))
    S, P = len(seqs), len(tells)
    r, _ = switch.play(seqs.repeat_interleave(P, 0), n, tells.repeat(S, 1))
    assert (r.view(S, P).max(1).values == oracle).all()
    # P(all visited in T days) by inclusion-exclusion.
    closed = sum((-1) ** j * math.comb(n, j) * ((n - j) / n) ** T for j in range(n + 1))
    assert oracle.double().mean().item() == pytest.approx(closed, abs=1e-12)
    sampled = switch.oracle_reward(switch.sample_active(n, 200_000,
                                                        torch.Generator().manual_seed(0)), n)
    assert sampled.mean().item() == pytest.approx(
        closed, abs=4 * math.sqrt(closed * (1 - closed) / 200_000)
    )


def test_distinct_visitors_counts():
    active = torch.tensor([[0, 0, 1, 0, 2, 1]])
    assert switch.distinct_visitors(active, 3).tolist() == [[1, 1, 2, 2, 3, 3]]
    assert switch.all_visited(active, 3).tolist() == [[False] * 4 + [True] * 2]


def test_game_errors():
    with pytest.raises(ValueError, match="at least 2"):
        switch.episode_length(1)
    with pytest.raises(ValueError, match="episode"):
        switch.sample_active(3, 0)


# ---------------------------------------------------------------- DRU
def logistic_normal_moments(m, sigma):
    f = lambda e, k: (1 / (1 + math.exp(-(m + sigma * e)))) ** k * stats.norm.pdf(e)  # noqa: E731
    mean = integrate.quad(f, -12, 12, args=(1,))[0]
    second = integrate.quad(f, -12, 12, args=(2,))[0]
    return mean, second - mean**2


@pytest.mark.parametrize("m,sigma", [(0.0, 2.0), (1.5, 2.0), (-3.0, 0.5), (0.7, 4.0)])
def test_dru_training_moments_match_logistic_normal(m, sigma):
    x = dru(torch.full((400_000,), m), sigma, True, torch.Generator().manual_seed(0))
    mean, var = logistic_normal_moments(m, sigma)
    assert x.mean().item() == pytest.approx(mean, abs=3e-3)
    assert x.var().item() == pytest.approx(var, abs=3e-3)


def test_dru_execution_is_a_step_and_sigma_zero_is_sigmoid():
    m = torch.linspace(-3, 3, 13)
    assert torch.equal(dru(m, 2.0, False), (m > 0).float())
    assert torch.allclose(dru(m, 0.0, True), torch.sigmoid(m))
    a = dru(m, 1.0, True, torch.Generator().manual_seed(3))
    b = dru(m, 1.0, True, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    mm = m.clone().requires_grad_(True)
    dru(mm, 1.0, True, torch.Generator().manual_seed(0)).sum().backward()
    assert (mm.grad > 0).all(), "training-mode DRU passes gradients to the sender"
    with pytest.raises(ValueError, match="negative"):
        dru(m, -0.1, True)


def test_message_distribution_flip_probability():
    m = torch.tensor([-2.0, 0.5, 3.0])
    d = message_distribution(m, 2.0, n_samples=100_000, generator=torch.Generator().manual_seed(0))
    expected = stats.norm.cdf(-np.abs(m.numpy()) / 2.0)
    assert np.allclose(d["p_flip"].numpy(), expected, atol=5e-3)
    widths = d["edges"][1:] - d["edges"][:-1]
    assert torch.allclose((d["train"] * widths).sum(1), torch.ones(3), atol=1e-4)
    assert d["exec"].tolist() == [0.0, 1.0, 1.0]


# ---------------------------------------------------------------- C-Net
def test_cnet_structure_and_shapes():
    net = CNet(n_agents=3)
    assert isinstance(net.agent_embed, torch.nn.Embedding) and net.agent_embed.num_embeddings == 3
    assert isinstance(net.obs_embed, torch.nn.Embedding) and isinstance(net.action_embed,
                                                                        torch.nn.Embedding)
    assert [type(m) for m in net.message_mlp] == [torch.nn.BatchNorm1d, torch.nn.Linear,
                                                  torch.nn.ReLU]
    assert isinstance(net.rnn,
                      torch.nn.GRU) and net.rnn.num_layers == 2 and net.rnn.hidden_size == 128
    assert [type(m) for m in net.head] == [torch.nn.Linear, torch.nn.BatchNorm1d, torch.nn.ReLU,
                                           torch.nn.Linear]
    for p in net.rnn.parameters():
        assert p.abs().max() <= 0.08
    N = 10
    idx = torch.randint(0, 2, (N,))
    msg = torch.rand(N, 1)
    out, h = net(idx, idx, idx, msg, net.initial_hidden(N))
    assert out.shape == (N, 3) and h.shape == (2, N, 128)
    net.eval()
    z = net.embed(idx, idx, idx, msg)
    manual = net.agent_embed.weight[idx] + net.obs_embed.weight[idx] + net.action_embed.weight[idx]
    manual = manual + net.message_mlp(msg)
    assert torch.allclose(z, manual)


def test_cnet_concat_variant_uses_one_linear_layer():
    net = CNet(n_agents=3, input_mode="concat")
    assert not hasattr(net, "agent_embed") and net.input_layer.in_features == 4
    out, _ = net(torch.zeros(4, dtype=torch.long), torch.ones(4, dtype=torch.long),
                 torch.zeros(4, dtype=torch.long), torch.rand(4, 1), net.initial_hidden(4))
    assert out.shape == (4, 3)
    with pytest.raises(ValueError):
        CNet(input_mode="product")


# ---------------------------------------------------------------- PettingZoo
def test_pettingzoo_parallel_api_and_rules():
    from pettingzoo.test import parallel_api_test

    from toolbox.dial.pz_env import SwitchRiddleParallelEnv

    parallel_api_test(SwitchRiddleParallelEnv(3), num_cycles=100)
    env = SwitchRiddleParallelEnv(3)
    rng = random.Random(0)
    for episode in range(30):
        obs, _ = env.reset(seed=episode)
        days, tells, total = [], [], 0.0
        while env.agents:
            who = next(a for a, o in obs.items() if o[0] == 1)
            tell = rng.random() < 0.25
            days.append(int(who.split("_")[1]))
            tells.append(tell)
            actions = {a: np.array([int(tell and a == who), 1]) for a in env.agents}
            obs, rewards, term, trunc, _ = env.step(actions)
            total += rewards["prisoner_0"]
        assert (total, len(days)) == rulebook(days, tells, 3)


# ---------------------------------------------------------------- learner
def test_config_errors():
    for bad, match in [
        (dict(n_agents=1), "at least 2"),
        (dict(n_agents=11), "too large"),
        (dict(n_agents=8, n_batches=20_000), "too large for this budget"),
        (dict(sigma=-1.0), "sigma"),
        (dict(batch_size=0), "at least one episode"),
        (dict(test_episodes=0), "at least one episode"),
        (dict(n_batches=10**6), "cap"),
        (dict(method="telepathy"), "method"),
        (dict(eps=1.5), "epsilon"),
    ]:
        with pytest.raises(ValueError, match=match):
            DialConfig(**bad).validate()
    with pytest.raises(ValueError):
        train(DialConfig(sigma=-1.0), seed=0)
    DialConfig().validate()
    c = DialConfig()
    assert (c.rnn_size, c.batch_size, c.lr, c.momentum, c.eps, c.gamma, c.target_update,
            c.sigma) == (
        128, 32, 5e-4, 0.05, 0.05, 1.0, 100, 2.0)


def _message_row_grad(method: str) -> float:
    """Gradient reaching the head's message output row from one batch's TD loss."""
    c = DialConfig(method=method, batch_size=16)
    team = make_team(c, 0, "cpu")
    target = make_team(c, 1, "cpu")
    loss, _ = rollout_loss(team, target, c, torch.Generator().manual_seed(0), "cpu")
    loss.backward()
    return team.nets[0].head[3].weight.grad[2].abs().sum().item()


def test_dial_backpropagates_through_the_channel():
    # The DIAL message m is in no TD target: its weights get gradient only through the receiver.
    assert _message_row_grad("dial") > 0
    c = DialConfig(method="dial", batch_size=8, sigma=2.0)
    team = make_team(c, 0, "cpu")
    for p in team.parameters():
        p.grad = None
    loss, _ = rollout_loss(team, make_team(c, 1, "cpu"), c, torch.Generator().manual_seed(0), "cpu")
    loss.backward()
    assert team.nets[0].message_mlp[1].weight.grad.abs().sum() > 0


def test_evaluate_scores_match_the_rules():
    c = DialConfig()
    team = make_team(c, 0, "cpu")
    active = switch.sample_active(3, 300, torch.Generator().manual_seed(5))
    ev = evaluate(team, c, active)
    reward, _ = switch.play(active, 3, ev["tell"])
    assert torch.equal(reward, ev["reward"])
    assert ev["normalized"] == pytest.approx(
        reward.sum().item() / switch.oracle_reward(active, 3).sum().item()
    )
    assert team.training, "evaluate restores training mode"


@pytest.mark.parametrize("kw", [dict(method="rial"), dict(method="nocomm"),
                                dict(param_sharing=False), dict(input_mode="concat"),
                                dict(n_agents=4, method="dial")])
def test_variants_train_and_report(kw):
    c = DialConfig(n_batches=6, test_every=3, test_episodes=200, batch_size=8, **kw)
    seen = []
    r = train(c, seed=0, callback=lambda frac, res: seen.append(frac))
    assert r.epochs == [0, 3, 6] and seen == [0.0, 0.5, 1.0]
    assert len(r.test_normalized_reward) == len(r.wall_time_s) == len(r.message_hist) == 3
    assert all(-1 / 0.2 <= x <= 1.0 + 1e-9 for x in r.test_normalized_reward)
    assert r.wall_time_s == sorted(r.wall_time_s)
    assert all(abs(sum(h) - 1) < 1e-5 for h in r.message_hist) or kw.get("method") == "nocomm"
    if not c.param_sharing:
        assert len(r.policy.nets) == c.n_agents


def test_same_seed_same_curve():
    c = DialConfig(n_batches=4, test_every=2, test_episodes=100, batch_size=8)
    assert train(c, 3).test_normalized_reward == train(c, 3).test_normalized_reward


@pytest.mark.slow
def test_dial_learns_the_switch_riddle_n3():
    """Seeded learning test: DIAL with the paper's settings solves n = 3 within 600 batches."""
    c = DialConfig(n_batches=600, test_every=20, stop_at=0.95)
    r = train(c, seed=0)
    assert max(r.test_normalized_reward) >= 0.95, r.test_normalized_reward
    # The decoded protocol is consistent: with all three visited, the visitor Tells more often.
    proto = decode_protocol(r.policy, c, n_episodes=1000, seed=1)
    assert proto["p_tell_by_k"][2] > proto["p_tell_by_k"][0]
    assert proto["normalized"] >= 0.9
    replay = replay_episode(r.policy, c, seed=2)
    assert 1 <= len(replay) <= c.T and all(d["action"] in ("None", "Tell") for d in replay)


def test_protocol_statistics_against_a_loop():
    c = DialConfig()
    team = make_team(c, 0, "cpu")
    proto = decode_protocol(team, c, n_episodes=60, seed=4)
    active = switch.sample_active(3, 60, torch.Generator().manual_seed(4))
    ev = evaluate(team, c, active)
    k = switch.distinct_visitors(active, 3)
    for t in range(c.T):
        for kk in range(1, 4):
            cells = [b for b in range(60) if ev["alive"][b, t] and k[b, t] == kk]
            assert proto["count"][t][kk - 1] == len(cells)
            if cells:
                on = sum(float(ev["m"][b, t] > 0) for b in cells) / len(cells)
                assert proto["p_on"][t][kk - 1] == pytest.approx(on)
            else:
                assert proto["p_on"][t][kk - 1] is None
    with pytest.raises(ValueError):
        decode_protocol(team, c, n_episodes=0)


def test_team_without_sharing_keeps_agents_apart():
    c = DialConfig(param_sharing=False, batch_size=4)
    team = Team(c)
    assert len(team.nets) == 3
    obs = torch.zeros(4, 3, dtype=torch.long)
    out, h = team(obs, obs, torch.zeros(4, 3), team.initial_hidden(4, "cpu"))
    assert out.shape == (4, 3, 3) and h.shape == (2, 12, 128)


def test_run_keys_differ_by_method():
    assert run_key(DialConfig()) != run_key(DialConfig(method="rial"))


def test_graph_source_names_the_cnet_parts():
    from toolbox.dial.cnet import graph_source

    src = graph_source("sum")
    for part in ("agent_embed", "obs_embed", "action_embed", "message_mlp", "rnn", "head"):
        assert part in src
    assert "input_layer" in graph_source("concat")


def test_evaluate_leaves_running_statistics_untouched():
    c = DialConfig()
    team = make_team(c, 0, "cpu")
    before = {k: v.clone() for k, v in team.state_dict().items() if "running" in k}
    evaluate(team, c, switch.sample_active(3, 200, torch.Generator().manual_seed(0)))
    after = team.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    assert all(m.momentum == 0.1 for m in team.modules() if isinstance(m, torch.nn.BatchNorm1d))


@pytest.mark.parametrize("mode", ["sum", "concat"])
def test_condensed_graph_shows_every_layer_of_the_code_and_is_small(mode):
    from toolbox.dial.cnet import CNet, condensed_graph_source, graph_source

    dot = condensed_graph_source(mode)
    net = CNet(input_mode=mode)
    layers = [name for name, m in net.named_modules() if name and not list(m.children())]
    for name in layers:  # every leaf layer of the module, under the name the code gives it
        assert f'label="{name}\\n' in dot, name
    assert dot.count("[label") <= 25 and 3 * dot.count("[label") < graph_source(mode).count(
        "[label")
    assert "-> out_q" in dot and "-> out_h" in dot
    if mode == "sum":
        assert dot.count('label="+"') == 3  # three embeddings and the message MLP are added
    else:
        assert 'label="concat"' in dot


def _flushes_denormals() -> bool:
    """Whether this thread treats subnormal floats as zero (torch has no getter for it)."""
    return (torch.tensor([1e-39]) * 0.5).item() == 0.0


@pytest.mark.parametrize("backend", ["tensor", "compiled"])
def test_training_leaves_the_threads_float_mode_alone(backend):
    """DIAL once switched flush-to-zero on for the whole thread and never back; measured, it
    changed neither speed nor results, so train leaves the mode as it finds it."""
    before = _flushes_denormals()  # an extension built with -ffast-math may have switched it on
    torch.set_flush_denormal(False)
    try:
        train(DialConfig(n_batches=2, test_every=2, test_episodes=50, batch_size=8), seed=0,
              backend=backend)
        assert not _flushes_denormals(), "train switched flush-to-zero on for this thread"
    finally:
        torch.set_flush_denormal(before)
