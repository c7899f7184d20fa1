"""The readable PPO (toolbox.ppo.reference) and the batched trainer (toolbox.ppo.train) compute the
same iterations: rollout, advantages, every minibatch step of every epoch and the parameters after
the update, for every variant of the ablation menu, to float rounding. Also: a run trained inside a
batched group of runs gets the same numbers as that run trained alone."""

from __future__ import annotations

import numpy as np
import pytest

from tests.ppo_paths import SEED, budget, cases, compare
from toolbox.lessons.ppo.variants import variants
from toolbox.ppo.config import PPOConfig
from toolbox.ppo.reference import train_one
from toolbox.ppo.result import DEBUG_KEYS
from toolbox.ppo.train import train


def _compare(config: PPOConfig, prepare=None):
    """The batched tensor path on the CPU against the reference (see tests/ppo_paths.py)."""
    return compare(config, prepare, device="cpu")


@pytest.mark.parametrize("name", list(variants()))
def test_reference_equals_batched_trainer(name):
    result = _compare(variants()[name])
    # the comparison reaches the ratio's clip range, so both branches of the max are compared
    if name == "all on":
        assert result.debug["clipfrac"][-1] > 0.05


def test_reference_equals_batched_trainer_when_target_kl_stops_epochs():
    config, _ = cases()["target KL stops epochs"]
    _compare(config)
    res = train_one(budget(config), SEED, device="cpu")
    assert res.debug["epochs_run"][0] < config.update_epochs  # the early stop did happen


def test_reference_equals_batched_trainer_at_time_limits():
    """Every environment reaches the 500-step limit at its own step of the first rollout: truncation
    bootstrap, reward scaling's return reset and the episode log all see truncations."""
    _compare(*cases()["time limits"])


def test_a_run_in_a_group_equals_the_run_alone():
    base = PPOConfig(num_steps=32, total_timesteps=3 * 128)
    configs = [base, base.replace(norm_obs=True, norm_reward=True),
               base.replace(adam_eps=1e-8, anneal_lr=False), base.replace(clip_surrogate=False,
                                                                          clip_vloss=False,
                                                                          norm_adv=False,
                                                                          target_kl=0.01)]
    seeds = [0, 5]
    together = train(configs, seeds, device="cpu")
    for i, (c, s) in enumerate((c, s) for c in configs for s in seeds):
        (alone,) = train([c], [s], device="cpu")
        np.testing.assert_array_equal(together[i].episode_returns, alone.episode_returns)
        np.testing.assert_array_equal(together[i].episode_steps, alone.episode_steps)
        for key in DEBUG_KEYS:
            np.testing.assert_allclose(together[i].debug[key], alone.debug[key], rtol=1e-5,
                                       atol=1e-6, err_msg=key)


def test_train_one_returns_a_whole_run():
    res = train_one(PPOConfig(total_timesteps=1024), 0, device="cpu")
    assert list(res.iteration_steps) == [512, 1024]
    assert set(res.debug) == set(DEBUG_KEYS) and all(len(v) == 2 for v in res.debug.values())
    assert len(res.episode_returns) == len(res.episode_steps) > 0
    with pytest.raises(ValueError, match="iterations"):
        train_one(PPOConfig(total_timesteps=1024), 0, iterations=-1, device="cpu")


TOGGLES = ("anneal_lr", "gae", "norm_adv", "clip_surrogate", "clip_vloss", "ent_coef", "clip_grad",
           "shared_network", "orthogonal_init", "adam_eps", "norm_obs", "norm_reward",
           "bootstrap_truncation", "target_kl", "num_envs", "num_minibatches")


def test_every_toggle_has_marked_lines_in_the_reference():
    """``# [detail:<field>]`` … ``# [/detail:<field>]`` blocks (what the PPO page shows) are
    balanced, name PPOConfig fields, and each toggle has at least one block with code in it."""
    import dataclasses
    import re

    from toolbox.lessons.ppo.source import reference_source

    lines = reference_source().splitlines()  # reference.py, then the loss it calls (loss.py)
    fields = {f.name for f in dataclasses.fields(PPOConfig)}
    open_at: dict[str, int] = {}
    code_lines: dict[str, int] = {}
    for i, line in enumerate(lines):
        m = re.fullmatch(r"\s*# \[(/?)detail:(\w+)\]\s*", line)
        if m is None:
            for name in open_at:
                code_lines[name] = code_lines.get(name, 0) + (
                    not line.strip().startswith("#") and bool(line.strip())
                )
            continue
        closing, name = m.group(1) == "/", m.group(2)
        assert name in fields, f"line {i + 1}: {name} is not a PPOConfig field"
        if closing:
            assert name in open_at, f"line {i + 1}: {name} closed but not open"
            del open_at[name]
        else:
            assert name not in open_at, f"line {i + 1}: {name} opened twice"
            open_at[name] = i
    assert not open_at, f"blocks never closed: {sorted(open_at)}"
    assert sorted(n for n in TOGGLES if code_lines.get(n, 0) == 0) == []
