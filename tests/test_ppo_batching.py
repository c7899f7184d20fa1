"""Requests from different sessions trained as one computation: each gets its own runs back."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from toolbox.ppo.config import PPOConfig
from toolbox.ppo.train import train
from toolbox.serving import Cancelled, JobRunner
from toolbox.serving.ppo_batching import PPORequest, train_requests, union_pairs

BASE = PPOConfig(total_timesteps=2 * 512)


def keep_runs(runs, fraction, elapsed_s):
    assert elapsed_s >= 0
    return [(r.config, r.seed, r.episode_returns.copy(), r.debug["value_loss"].copy(),
             fraction is None) for r in runs]


def test_union_trains_a_pair_shared_by_two_requests_once():
    a = PPORequest.make([BASE], [0, 1], keep_runs)
    b = PPORequest.make([BASE, BASE.replace(norm_adv=False)], [1], keep_runs)
    pairs, where = union_pairs([a, b])
    assert len(pairs) == 3 and where == [[0, 1], [1, 2]]
    assert a.size == 2 and b.work == 2 * BASE.total_timesteps


def test_each_request_gets_the_runs_it_would_get_alone():
    a = PPORequest.make([BASE], [0, 1], keep_runs)
    b = PPORequest.make([BASE.replace(clip_vloss=False), BASE.replace(num_envs=1, num_steps=512)],
                        [3], keep_runs)
    seen = [[], []]
    out = train_requests([a, b], [lambda f, p, i=i: seen[i].append(f) for i in range(2)],
                         callback_every=0.0)
    for req, got in zip((a, b), out):
        alone = train(list(req.configs), list(req.seeds))
        assert [(c, s) for c, s, *_ in got] == [(r.config, r.seed) for r in alone]
        for (_, _, returns, vloss, final), r in zip(got, alone):
            assert final is True
            np.testing.assert_array_equal(returns, r.episode_returns)
            # stacked-matmul rounding
            np.testing.assert_allclose(vloss, r.debug["value_loss"], rtol=1e-4, atol=1e-6)
    # each streamed its own progress
    assert all(f[-1] == 1.0 for f in seen) and all(len(f) >= 2 for f in seen)


def test_a_stopped_request_is_dropped_and_the_others_finish():
    a = PPORequest.make([BASE], [0], keep_runs)
    b = PPORequest.make([BASE], [5], keep_runs)

    def stopped(fraction, partial):
        raise Cancelled("nobody watches")

    out = train_requests([a, b], [stopped, lambda f, p: None], callback_every=0.0)
    assert out[0] is None and out[1][0][1] == 5
    with pytest.raises(Cancelled):
        train_requests([a, b], [stopped, stopped], callback_every=0.0)


def test_runner_trains_the_requests_queued_while_busy_as_one_batch():
    calls = []

    def fake_batch(payloads, reports):
        calls.append(list(payloads))
        for r in reports:
            r(1.0, "partial")
        return [f"result of {p}" for p in payloads]

    runner = JobRunner(max_concurrent=1)
    runner.register_batcher("toy", fake_batch, capacity=5)
    gate = threading.Event()
    blocker = runner.submit("busy", lambda report: gate.wait(10) and "done")
    jobs = [runner.submit(f"req{i}", batch=("toy", f"p{i}", 2),
                          session_id=f"s{i}") for i in range(3)]
    assert [j.status for j in jobs] == ["queued"] * 3
    gate.set()
    for j in [blocker, *jobs]:
        assert j.wait(10)
    # capacity 5 holds two requests of size 2: the first two train together, the third after them
    assert calls == [["p0", "p1"], ["p2"]]
    assert [j.result for j in jobs] == ["result of p0", "result of p1", "result of p2"]
    assert all(j.status == "done" and j.partial is None for j in jobs)


def test_submit_needs_a_registered_batch_group_and_exactly_one_way_to_run():
    runner = JobRunner(max_concurrent=1)
    with pytest.raises(ValueError, match="no batch runner"):
        runner.submit("x", batch=("nope", None, 1))
    with pytest.raises(ValueError, match="exactly one"):
        runner.submit("y")
