"""benchmarks/ppo_continuous_side_by_side.py hands the toolbox's Pendulum hyper-parameters to
CleanRL and PureJaxRL unchanged: the mappings, the refusal of settings an upstream fixes, and the
PureJaxRL driver's pure helpers. (The benchmark is no test: it needs the upstream scripts.)"""

from __future__ import annotations

import types

import numpy as np
import pytest

from benchmarks import ppo_continuous_purejaxrl_driver as driver
from benchmarks import ppo_continuous_side_by_side as sbs
from toolbox.ppo.continuous.args import PENDULUM

# CleanRL ppo_continuous_action.py's algorithm arguments, by their Args names
CLEANRL_FIELDS = ("total_timesteps", "learning_rate", "num_envs", "num_steps", "anneal_lr",
                  "gamma", "gae_lambda", "num_minibatches", "update_epochs", "norm_adv",
                  "clip_coef", "clip_vloss", "ent_coef", "vf_coef", "max_grad_norm")


def _parse(argv: list[str]) -> dict:
    out, i = {}, 0
    while i < len(argv):
        name = argv[i][2:]
        if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            out[name.replace("-", "_")] = argv[i + 1]
            i += 2
        else:
            on = not name.startswith("no-")
            out[name.removeprefix("no-").replace("-", "_")] = on
            i += 1
    return out


def test_cleanrl_flags_carry_every_hyper_parameter():
    got = _parse(sbs.cleanrl_argv(PENDULUM, 3))
    assert got["env_id"] == "Pendulum-v1" and got["seed"] == "3"
    for name in CLEANRL_FIELDS:
        value = getattr(PENDULUM, name)
        if isinstance(value, bool):
            assert got[name] is value, name
        else:
            assert float(got[name]) == value, name
    assert "target_kl" not in got
    for off in ("cuda", "track", "capture_video", "save_model", "upload_model"):
        assert got[off] is False


def test_cleanrl_flags_follow_toggles_and_target_kl():
    got = _parse(sbs.cleanrl_argv(PENDULUM.replace(anneal_lr=False, target_kl=0.02), 1))
    assert got["anneal_lr"] is False and float(got["target_kl"]) == 0.02


def test_purejaxrl_config_is_the_pendulum_preset():
    assert sbs.purejaxrl_config(PENDULUM) == {
        "ENV_NAME": "Pendulum-v1", "NUM_ENVS": 16, "NUM_STEPS": 64, "TOTAL_TIMESTEPS": 102_400,
        "LR": 1e-3, "GAMMA": 0.9, "GAE_LAMBDA": 0.95, "NUM_MINIBATCHES": 8, "UPDATE_EPOCHS": 10,
        "CLIP_EPS": 0.2, "ENT_COEF": 0.0, "VF_COEF": 0.5, "MAX_GRAD_NORM": 0.5,
        "ACTIVATION": "tanh", "ANNEAL_LR": True, "NORMALIZE_ENV": True, "DEBUG": False}


def test_settings_an_upstream_fixes_are_refused():
    assert len(sbs.upstream_gaps(PENDULUM)) >= 2
    for change in ({"norm_obs": False}, {"shared_network": True}, {"adam_eps": 1e-8},
                   {"clip_vloss": False}):
        with pytest.raises(ValueError):
            sbs.upstream_gaps(PENDULUM.replace(**change))


def test_driver_last_k_returns_in_time_order():
    # [seeds, updates, steps, envs] = [1, 2, 2, 2]; returns 1, 2, 3 end in that time order
    ret = np.zeros((1, 2, 2, 2))
    done = np.zeros((1, 2, 2, 2), bool)
    for (u, s, e), r in {(0, 1, 0): 1.0, (1, 0, 1): 2.0, (1, 1, 0): 3.0}.items():
        ret[0, u, s, e], done[0, u, s, e] = r, True
    assert driver.last_k_returns(ret, done, 2) == [(2.5, 3)]
    assert driver.last_k_returns(ret, np.zeros_like(done), 2)[0][1] == 0


def test_driver_narrows_only_the_256_wide_layers():
    linen = types.SimpleNamespace(Dense=lambda features, **k: features, tanh="tanh")
    nn = driver._Narrowed(linen, 64)
    got = (nn.Dense(256), nn.Dense(1), nn.Dense(3, kernel_init=None), nn.tanh)
    assert got == (64, 1, 3, "tanh")
